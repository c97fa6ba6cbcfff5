/* Thin SVD and randomized SVD.
 *
 * Thin SVD, in double: a column-pivoted Householder QR A P = Q R, then
 * one-sided (Hestenes) Jacobi on the rows of R (Drmac-Veselic: the pivoted R
 * is graded, so few sweeps are needed), which finds an orthogonal Y with
 * Y R = Sigma Ut, rows of Ut orthonormal. Then A = (Q Y^T) Sigma (Ut P^T).
 * Jacobi is accurate to the last digits (relative accuracy even for small
 * singular values); sweeps use a round-robin ordering, whose n/2 disjoint
 * rotations per step run in parallel.
 *
 * Randomized SVD (Halko, Martinsson, Tropp 2011; scikit-learn's
 * randomized_svd): range finder with a Gaussian test matrix from the core
 * Philox RNG, power iterations re-orthonormalized by QR, then the thin SVD of
 * the small projected matrix. */
#include <float.h>
#include <math.h>
#include <string.h>
#include "core/internal.h"
#include "core/rng.h"
#include "linalg/dense.h"
#include "linalg/linalg.h"

/* Orthogonalize the rows of W (p, q), p <= q, by plane rotations, applying the
 * same rotations to the rows of Y (p, p). Returns sweeps used, or -1. */
static int jacobi_rows(double *W, int64_t p, int64_t q, double *Y) {
    const double tol = sqrt((double)q) * DBL_EPSILON;
    int64_t pe = p + (p & 1); /* even number of players; index p is a bye */
    int nt = p >= 48 ? mfs__num_threads() : 1;
    int64_t *slot = NULL;
    if (mfs__alloc((void **)&slot, (size_t)pe * sizeof(int64_t), "mfs__svd_thin", "ordering") != MFS_OK) return -2;
    for (int sweep = 1; sweep <= 60; sweep++) {
        int64_t rotations = 0;
        for (int64_t i = 0; i < pe; i++) slot[i] = i;
        for (int64_t step = 0; step < pe - 1; step++) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1) reduction(+ : rotations)
            for (int64_t t = 0; t < pe / 2; t++) {
                int64_t i = slot[t], j = slot[pe - 1 - t];
                if (i >= p || j >= p) continue;
                if (i > j) { int64_t s = i; i = j; j = s; }
                double *wi = W + i * q, *wj = W + j * q;
                double a = 0.0, b = 0.0, g = 0.0;
                for (int64_t k = 0; k < q; k++) { a += wi[k] * wi[k]; b += wj[k] * wj[k]; g += wi[k] * wj[k]; }
                if (a == 0.0 || b == 0.0 || fabs(g) <= tol * sqrt(a) * sqrt(b)) continue;
                double zeta = (b - a) / (2.0 * g);
                double tt = copysign(1.0, zeta) / (fabs(zeta) + sqrt(1.0 + zeta * zeta));
                double c = 1.0 / sqrt(1.0 + tt * tt), s = c * tt;
                for (int64_t k = 0; k < q; k++) {
                    double x = wi[k], y = wj[k];
                    wi[k] = c * x - s * y;
                    wj[k] = s * x + c * y;
                }
                double *yi = Y + i * p, *yj = Y + j * p;
                for (int64_t k = 0; k < p; k++) {
                    double x = yi[k], y = yj[k];
                    yi[k] = c * x - s * y;
                    yj[k] = s * x + c * y;
                }
                rotations++;
            }
            /* round robin: slot 0 stays, the others rotate by one */
            int64_t last = slot[pe - 1];
            for (int64_t i = pe - 1; i > 1; i--) slot[i] = slot[i - 1];
            slot[1] = last;
        }
        if (rotations == 0) { mfs__free(slot); return sweep; }
    }
    mfs__free(slot);
    return -1;
}

/* Thin SVD of a tall A (m, n), m >= n, double, destroyed. U (m, n), S (n)
 * descending, Vt (n, n); no sign fixing. */
static mfs_status svd_tall(double *A, int64_t m, int64_t n, double *U, double *S, double *Vt) {
    size_t nn = (size_t)n * (size_t)n;
    double *buf = NULL;
    int64_t *iwork = NULL;
    MFS_TRY(mfs__alloc((void **)&buf, (2 * nn + 2 * (size_t)n + (size_t)n + 1) * sizeof(double), "mfs__svd_thin", "workspace"));
    mfs_status st = mfs__alloc((void **)&iwork, 2 * (size_t)n * sizeof(int64_t), "mfs__svd_thin", "permutation");
    if (st != MFS_OK) { mfs__free(buf); return st; }
    double *W = buf, *Y = buf + nn, *tau = Y + nn, *sig = tau + n, *w = sig + n;
    int64_t *perm = iwork, *order = iwork + n;

    st = mfs__qr_factor(A, m, n, tau, perm);
    if (st != MFS_OK) goto done;
    memset(W, 0, nn * sizeof(double));
    memset(Y, 0, nn * sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = i; j < n; j++) W[i * n + j] = A[i * n + j];
        Y[i * n + i] = 1.0;
    }
    int sweeps = jacobi_rows(W, n, n, Y);
    if (sweeps == -2) { st = MFS_E_NOMEM; goto done; }
    if (sweeps < 0) {
        st = mfs__error(MFS_E_NOT_CONVERGED, "mfs__svd_thin: Jacobi did not converge in 60 sweeps (%lld x %lld)",
                        (long long)m, (long long)n);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t k = 0; k < n; k++) s += W[i * n + k] * W[i * n + k];
        sig[i] = sqrt(s);
        order[i] = i;
    }
    for (int64_t i = 1; i < n; i++) {
        int64_t t = order[i], j = i;
        while (j > 0 && sig[order[j - 1]] < sig[t]) { order[j] = order[j - 1]; j--; }
        order[j] = t;
    }
    /* Vt rows: normalized rows of W, columns un-permuted. Rows of W whose norm
     * is zero (exact rank deficiency) are completed to an orthonormal basis. */
    for (int64_t c = 0; c < n; c++) {
        const double *wr = W + order[c] * n;
        double s = sig[order[c]];
        S[c] = s;
        double *v = Vt + c * n;
        if (s > 1e-300) {
            for (int64_t k = 0; k < n; k++) v[perm[k]] = wr[k] / s;
            continue;
        }
        for (int64_t e = 0; e < n; e++) {
            for (int64_t k = 0; k < n; k++) v[k] = k == (c + e) % n ? 1.0 : 0.0;
            for (int pass = 0; pass < 2; pass++)
                for (int64_t r = 0; r < c; r++) {
                    const double *o = Vt + r * n;
                    double d = 0.0;
                    for (int64_t k = 0; k < n; k++) d += o[k] * v[k];
                    for (int64_t k = 0; k < n; k++) v[k] -= d * o[k];
                }
            double nv = 0.0;
            for (int64_t k = 0; k < n; k++) nv += v[k] * v[k];
            nv = sqrt(nv);
            if (nv > 0.5) { for (int64_t k = 0; k < n; k++) v[k] /= nv; break; }
        }
    }
    /* U = Q [Y^T; 0] with columns in order: U[i, c] = Y[order[c], i]. */
    memset(U, 0, (size_t)m * (size_t)n * sizeof(double));
    for (int64_t c = 0; c < n; c++) {
        const double *yr = Y + order[c] * n;
        for (int64_t i = 0; i < n; i++) U[i * n + c] = yr[i];
    }
    mfs__qr_apply_q(A, m, n, tau, U, n, w);
done:
    mfs__free(buf);
    mfs__free(iwork);
    return st;
}

/* svd_flip(u_based_decision=False): largest-|.| entry of each row of Vt > 0. */
static void sign_flip(double *U, int64_t m, int64_t k, double *Vt, int64_t n) {
    for (int64_t c = 0; c < k; c++) {
        double *v = Vt + c * n;
        int64_t arg = 0;
        for (int64_t j = 1; j < n; j++) if (fabs(v[j]) > fabs(v[arg])) arg = j;
        if (v[arg] < 0.0) {
            for (int64_t j = 0; j < n; j++) v[j] = -v[j];
            for (int64_t i = 0; i < m; i++) U[i * k + c] = -U[i * k + c];
        }
    }
}

mfs_status mfs__svd_thin(const float *A, int64_t m, int64_t n, float *U, float *S, float *Vt) {
    if (m <= 0 || n <= 0) return MFS_OK;
    int tall = m >= n;
    int64_t r = tall ? m : n, c = tall ? n : m; /* the tall problem is (r, c) */
    size_t rc = (size_t)r * (size_t)c, cc = (size_t)c * (size_t)c;
    double *buf = NULL;
    MFS_TRY(mfs__alloc((void **)&buf, (2 * rc + cc + (size_t)c) * sizeof(double), "mfs__svd_thin", "workspace"));
    double *Ad = buf, *Ud = buf + rc, *Vd = Ud + rc, *Sd = Vd + cc;
    if (tall) {
        for (size_t i = 0; i < rc; i++) Ad[i] = (double)A[i];
    } else {
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) Ad[j * m + i] = (double)A[i * n + j];
    }
    mfs_status st = svd_tall(Ad, r, c, Ud, Sd, Vd);
    if (st == MFS_OK) {
        int64_t k = c;
        if (tall) {
            /* A = Ud S Vd: U = Ud (m, k), Vt = Vd (k, n) */
            sign_flip(Ud, m, k, Vd, n);
            for (size_t i = 0; i < rc; i++) U[i] = (float)Ud[i];
            for (size_t i = 0; i < cc; i++) Vt[i] = (float)Vd[i];
        } else {
            /* A^T = Ud S Vd, so A = Vd^T S Ud^T: U = Vd^T (m, k), Vt = Ud^T (k, n).
             * Flip on Vt's rows = Ud's columns, U's columns = Vd's rows. */
            for (int64_t cc2 = 0; cc2 < k; cc2++) {
                int64_t arg = 0;
                for (int64_t j = 1; j < n; j++)
                    if (fabs(Ud[j * k + cc2]) > fabs(Ud[arg * k + cc2])) arg = j;
                double sgn = Ud[arg * k + cc2] < 0.0 ? -1.0 : 1.0;
                for (int64_t j = 0; j < n; j++) Vt[cc2 * n + j] = (float)(sgn * Ud[j * k + cc2]);
                for (int64_t i = 0; i < m; i++) U[i * k + cc2] = (float)(sgn * Vd[cc2 * m + i]);
            }
        }
        for (int64_t i = 0; i < k; i++) S[i] = (float)Sd[i];
    }
    mfs__free(buf);
    return st;
}

mfs_status mfs__randomized_svd(const float *A, int64_t m, int64_t n, int64_t k,
                               int64_t n_oversamples, int64_t n_iter, uint64_t seed,
                               float *U, float *S, float *Vt) {
    int64_t mn = m < n ? m : n;
    if (k <= 0 || m <= 0 || n <= 0) return MFS_OK;
    if (k > mn) k = mn;
    int64_t l = k + (n_oversamples > 0 ? n_oversamples : 0);
    if (l > mn) l = mn;
    size_t ml = (size_t)m * (size_t)l, nl = (size_t)n * (size_t)l, ln = (size_t)l * (size_t)n;
    size_t ll = (size_t)l * (size_t)l;
    float *buf = NULL;
    MFS_TRY(mfs__alloc((void **)&buf, (2 * ml + 2 * nl + ln + ll + (size_t)l) * sizeof(float),
                       "mfs__randomized_svd", "workspace"));
    float *Y = buf, *Q = Y + ml, *Z = Q + ml, *P = Z + nl, *B = P + nl, *Ub = B + ln, *Sb = Ub + ll;

    /* Gaussian test matrix Omega (n, l), drawn row by row from stream 0. */
    mfs_rng rng = mfs_rng_make(seed, 0);
    for (size_t i = 0; i < nl; i++) P[i] = (float)mfs_rng_normal(&rng);
    mfs_status st = mfs__sgemm(0, 0, m, l, n, 1.0f, A, n, P, l, 0.0f, Y, l); /* Y = A Omega */
    for (int64_t it = 0; st == MFS_OK && it < n_iter; it++) {
        st = mfs__orth(Y, m, l, Q);
        if (st == MFS_OK) st = mfs__sgemm(1, 0, n, l, m, 1.0f, A, n, Q, l, 0.0f, Z, l); /* Z = A^T Q */
        if (st == MFS_OK) st = mfs__orth(Z, n, l, P);
        if (st == MFS_OK) st = mfs__sgemm(0, 0, m, l, n, 1.0f, A, n, P, l, 0.0f, Y, l); /* Y = A P */
    }
    if (st == MFS_OK) st = mfs__orth(Y, m, l, Q);
    if (st == MFS_OK) st = mfs__sgemm(1, 0, l, n, m, 1.0f, Q, l, A, n, 0.0f, B, n); /* B = Q^T A */
    /* B (l, n) with l <= n: its thin SVD gives Ub (l, l), Sb (l), Vb (l, n) in Vt's place. */
    float *Vb = NULL;
    if (st == MFS_OK) st = mfs__alloc((void **)&Vb, ln * sizeof(float), "mfs__randomized_svd", "Vt of the projection");
    if (st == MFS_OK) st = mfs__svd_thin(B, l, n, Ub, Sb, Vb);
    if (st == MFS_OK) {
        st = mfs__sgemm(0, 0, m, k, l, 1.0f, Q, l, Ub, l, 0.0f, U, k); /* U = Q Ub[:, :k] */
        memcpy(S, Sb, (size_t)k * sizeof(float));
        memcpy(Vt, Vb, (size_t)k * (size_t)n * sizeof(float));
    }
    mfs__free(Vb);
    mfs__free(buf);
    return st;
}
