/* Symmetric eigensolver in double: Householder reduction to tridiagonal form
 * and the implicit QL algorithm with Wilkinson-type shifts (EISPACK tred2 and
 * tql2, as in JAMA). Both are written on W = V^T, so that every inner loop
 * (dot products, rank-2 updates, Givens rotations of eigenvector pairs) walks
 * a contiguous row of the row-major buffer. */
#include <float.h>
#include <math.h>
#include <string.h>
#include "core/internal.h"
#include "linalg/linalg.h"

/* W (n, n): on entry the symmetric matrix (its upper triangle, = lower
 * transposed, is read); on return W = Q^T, Q the accumulated orthogonal
 * transformation. d (n) the diagonal, e (n) the subdiagonal in e[1..n-1]. */
static void tred2(double *W, int64_t n, double *d, double *e) {
#define V(i, j) W[(int64_t)(j) * n + (i)]
    for (int64_t j = 0; j < n; j++) d[j] = V(n - 1, j);
    for (int64_t i = n - 1; i > 0; i--) {
        double scale = 0.0, h = 0.0;
        for (int64_t k = 0; k < i; k++) scale += fabs(d[k]);
        if (scale == 0.0) {
            e[i] = d[i - 1];
            for (int64_t j = 0; j < i; j++) {
                d[j] = V(i - 1, j);
                V(i, j) = 0.0;
                V(j, i) = 0.0;
            }
        } else {
            for (int64_t k = 0; k < i; k++) { d[k] /= scale; h += d[k] * d[k]; }
            double f = d[i - 1];
            double g = sqrt(h);
            if (f > 0) g = -g;
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for (int64_t j = 0; j < i; j++) e[j] = 0.0;
            for (int64_t j = 0; j < i; j++) {
                f = d[j];
                V(j, i) = f;
                g = e[j] + V(j, j) * f;
                const double *col = W + j * n; /* V(k, j) = col[k] */
                for (int64_t k = j + 1; k <= i - 1; k++) {
                    g += col[k] * d[k];
                    e[k] += col[k] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for (int64_t j = 0; j < i; j++) { e[j] /= h; f += e[j] * d[j]; }
            double hh = f / (h + h);
            for (int64_t j = 0; j < i; j++) e[j] -= hh * d[j];
            for (int64_t j = 0; j < i; j++) {
                f = d[j];
                g = e[j];
                double *col = W + j * n;
                for (int64_t k = j; k <= i - 1; k++) col[k] -= (f * e[k] + g * d[k]);
                d[j] = V(i - 1, j);
                V(i, j) = 0.0;
            }
        }
        d[i] = h;
    }
    /* Accumulate the transformations. */
    for (int64_t i = 0; i < n - 1; i++) {
        V(n - 1, i) = V(i, i);
        V(i, i) = 1.0;
        double h = d[i + 1];
        const double *ci1 = W + (i + 1) * n; /* V(k, i+1) */
        if (h != 0.0) {
            for (int64_t k = 0; k <= i; k++) d[k] = ci1[k] / h;
            for (int64_t j = 0; j <= i; j++) {
                double *cj = W + j * n;
                double g = 0.0;
                for (int64_t k = 0; k <= i; k++) g += ci1[k] * cj[k];
                for (int64_t k = 0; k <= i; k++) cj[k] -= g * d[k];
            }
        }
        for (int64_t k = 0; k <= i; k++) W[(i + 1) * n + k] = 0.0;
    }
    for (int64_t j = 0; j < n; j++) { d[j] = V(n - 1, j); V(n - 1, j) = 0.0; }
    V(n - 1, n - 1) = 1.0;
    e[0] = 0.0;
#undef V
}

/* Implicit QL on the tridiagonal (d, e); rotations applied to the rows of W
 * (the eigenvector rows). Returns 0, or -1 if an eigenvalue did not converge. */
static int tql2(double *W, int64_t n, double *d, double *e) {
    for (int64_t i = 1; i < n; i++) e[i - 1] = e[i];
    e[n - 1] = 0.0;
    double f = 0.0, tst1 = 0.0;
    const double eps = DBL_EPSILON;
    for (int64_t l = 0; l < n; l++) {
        double a = fabs(d[l]) + fabs(e[l]);
        if (a > tst1) tst1 = a;
        int64_t m = l;
        while (m < n - 1 && fabs(e[m]) > eps * tst1) m++;
        if (m > l) {
            int iter = 0;
            do {
                if (++iter > 60) return -1;
                double g = d[l];
                double p = (d[l + 1] - g) / (2.0 * e[l]);
                double r = hypot(p, 1.0);
                if (p < 0) r = -r;
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                double dl1 = d[l + 1];
                double h = g - d[l];
                for (int64_t i = l + 2; i < n; i++) d[i] -= h;
                f += h;
                p = d[m];
                double c = 1.0, c2 = c, c3 = c;
                double el1 = e[l + 1];
                double s = 0.0, s2 = 0.0;
                for (int64_t i = m - 1; i >= l; i--) {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = hypot(p, e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    double *wi = W + i * n, *wi1 = W + (i + 1) * n;
                    for (int64_t k = 0; k < n; k++) {
                        double t = wi1[k];
                        wi1[k] = s * wi[k] + c * t;
                        wi[k] = c * wi[k] - s * t;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
            } while (fabs(e[l]) > eps * tst1);
        }
        d[l] += f;
        e[l] = 0.0;
    }
    return 0;
}

mfs_status mfs__eigh(double *A, int64_t n, double *w, double *V) {
    if (n <= 0) return MFS_OK;
    double *e = NULL;
    int64_t *order = NULL;
    MFS_TRY(mfs__alloc((void **)&e, (size_t)n * sizeof(double), "mfs__eigh", "subdiagonal"));
    mfs_status st = mfs__alloc((void **)&order, (size_t)n * sizeof(int64_t), "mfs__eigh", "order");
    if (st != MFS_OK) { mfs__free(e); return st; }
    /* A is symmetric, so A itself serves as W = V^T. */
    tred2(A, n, w, e);
    if (tql2(A, n, w, e) != 0) {
        st = mfs__error(MFS_E_NOT_CONVERGED, "mfs__eigh: the QL iteration did not converge in 60 steps (n=%lld)",
                        (long long)n);
    } else {
        /* Descending order (insertion sort on indices: n is modest, and it is stable). */
        for (int64_t i = 0; i < n; i++) order[i] = i;
        for (int64_t i = 1; i < n; i++) {
            int64_t t = order[i], j = i;
            while (j > 0 && w[order[j - 1]] < w[t]) { order[j] = order[j - 1]; j--; }
            order[j] = t;
        }
        /* V[:, c] = eigenvector order[c] = row order[c] of W; w reordered via e. */
        for (int64_t c = 0; c < n; c++) {
            const double *row = A + order[c] * n;
            for (int64_t k = 0; k < n; k++) V[k * n + c] = row[k];
            e[c] = w[order[c]];
        }
        memcpy(w, e, (size_t)n * sizeof(double));
    }
    mfs__free(e);
    mfs__free(order);
    return st;
}
