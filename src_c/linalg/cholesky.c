/* Cholesky factorization and triangular solves in double (row-major). The
 * factorization is the dot-product (Crout) form: every inner loop runs along
 * a row, and the rows below the diagonal of one column are independent, so
 * large matrices split them over threads. */
#include <math.h>
#include "core/internal.h"
#include "linalg/linalg.h"

static double dot(const double *a, const double *b, int64_t n) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int64_t k = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += a[k] * b[k]; s1 += a[k + 1] * b[k + 1];
        s2 += a[k + 2] * b[k + 2]; s3 += a[k + 3] * b[k + 3];
    }
    for (; k < n; k++) s0 += a[k] * b[k];
    return (s0 + s1) + (s2 + s3);
}

mfs_status mfs__cholesky(double *A, int64_t n) {
    int failed = 0;
    int nt = n >= 256 ? mfs__num_threads() : 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
    for (int64_t j = 0; j < n; j++) {
#pragma omp single
        {
            double *lj = A + j * n;
            double d = lj[j] - dot(lj, lj, j);
            if (!(d > 0.0)) failed = 1; /* also catches NaN */
            else lj[j] = sqrt(d);
        }
        /* implicit barrier: every thread sees failed and L[j, j] */
        if (failed) break;
        const double *lj = A + j * n;
        double inv = 1.0 / lj[j];
#pragma omp for schedule(static)
        for (int64_t i = j + 1; i < n; i++) {
            double *li = A + i * n;
            li[j] = (li[j] - dot(li, lj, j)) * inv;
        }
    }
    if (failed) return MFS_E_VALUE;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++) A[i * n + j] = 0.0;
    return MFS_OK;
}

void mfs__trsm_lower(const double *L, int64_t n, int trans, double *B, int64_t nrhs) {
    if (!trans) {
        /* forward: B[i] = (B[i] - sum_{j<i} L[i,j] B[j]) / L[i,i] */
        for (int64_t i = 0; i < n; i++) {
            double *bi = B + i * nrhs;
            const double *li = L + i * n;
            for (int64_t j = 0; j < i; j++) {
                double l = li[j];
                if (l == 0.0) continue;
                const double *bj = B + j * nrhs;
                for (int64_t c = 0; c < nrhs; c++) bi[c] -= l * bj[c];
            }
            double inv = 1.0 / li[i];
            for (int64_t c = 0; c < nrhs; c++) bi[c] *= inv;
        }
    } else {
        /* backward with L^T: B[i] = (B[i] - sum_{j>i} L[j,i] B[j]) / L[i,i];
         * done column-oriented: once B[i] is final, subtract it from rows above. */
        for (int64_t i = n - 1; i >= 0; i--) {
            double *bi = B + i * nrhs;
            double inv = 1.0 / L[i * n + i];
            for (int64_t c = 0; c < nrhs; c++) bi[c] *= inv;
            const double *li = L + i * n;
            for (int64_t j = 0; j < i; j++) {
                double l = li[j]; /* L[i, j] = L^T[j, i] */
                if (l == 0.0) continue;
                double *bj = B + j * nrhs;
                for (int64_t c = 0; c < nrhs; c++) bj[c] -= l * bi[c];
            }
        }
    }
}

void mfs__cholesky_solve(const double *L, int64_t n, double *B, int64_t nrhs) {
    mfs__trsm_lower(L, n, 0, B, nrhs);
    mfs__trsm_lower(L, n, 1, B, nrhs);
}
