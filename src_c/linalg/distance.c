/* Gram matrices, column means, row norms and pairwise squared distances: the
 * small kernels every classical model builds on, all through the GEMM. */
#include <string.h>
#include "core/internal.h"
#include "linalg/linalg.h"
#include "mfs/linalg.h"

/* G (d, d) = X^T X for X (n, d). */
mfs_status mfs__gram(const float *X, int64_t n, int64_t d, float *G) {
    MFS_TRY(mfs__sgemm(1, 0, d, d, n, 1.0f, X, d, X, d, 0.0f, G, d));
    /* The two triangles come from different tiles; make G exactly symmetric. */
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = 0; j < i; j++) G[j * d + i] = G[i * d + j];
    return MFS_OK;
}

/* mean (d) = column means of X (n, d), accumulated in double. */
void mfs__col_mean(const float *X, int64_t n, int64_t d, double *mean) {
    for (int64_t j = 0; j < d; j++) mean[j] = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float *x = X + i * d;
        for (int64_t j = 0; j < d; j++) mean[j] += (double)x[j];
    }
    if (n > 0)
        for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
}

/* out (n) = squared norms of the rows of X (n, d). */
void mfs__row_sqnorm(const float *X, int64_t n, int64_t d, float *out) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (n * d > 65536)
    for (int64_t i = 0; i < n; i++) {
        const float *x = X + i * d;
        double s = 0.0;
        for (int64_t j = 0; j < d; j++) s += (double)x[j] * (double)x[j];
        out[i] = (float)s;
    }
}

/* D (m, n) = ||X[i]||^2 - 2 X[i].Y[j] + ||Y[j]||^2, clamped at 0. */
mfs_status mfs__sqdist(const float *X, int64_t m, const float *Y, int64_t n, int64_t d,
                       const float *xn, const float *yn, float *D) {
    float *xn_own = NULL, *yn_own = NULL;
    if (xn == NULL) {
        MFS_TRY(mfs__alloc((void **)&xn_own, (size_t)(m > 0 ? m : 1) * sizeof(float), "mfs__sqdist", "row norms of X"));
        mfs__row_sqnorm(X, m, d, xn_own);
        xn = xn_own;
    }
    if (yn == NULL) {
        mfs_status st = mfs__alloc((void **)&yn_own, (size_t)(n > 0 ? n : 1) * sizeof(float), "mfs__sqdist", "row norms of Y");
        if (st != MFS_OK) { mfs__free(xn_own); return st; }
        mfs__row_sqnorm(Y, n, d, yn_own);
        yn = yn_own;
    }
    mfs_status st = mfs__sgemm(0, 1, m, n, d, -2.0f, X, d, Y, d, 0.0f, D, n);
    if (st == MFS_OK) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (m * n > 65536)
        for (int64_t i = 0; i < m; i++) {
            float *row = D + i * n;
            float xi = xn[i];
            for (int64_t j = 0; j < n; j++) {
                float v = row[j] + xi + yn[j];
                row[j] = v > 0.0f ? v : 0.0f;
            }
        }
    }
    mfs__free(xn_own);
    mfs__free(yn_own);
    return st;
}

mfs_status mfs_pairwise_sqdist(const float *X, int64_t m, const float *Y, int64_t n, int64_t d,
                               float *D) {
    if (m < 0) return mfs__error(MFS_E_INVALID_ARG, "mfs_pairwise_sqdist: m is %lld, must be >= 0", (long long)m);
    if (n < 0) return mfs__error(MFS_E_INVALID_ARG, "mfs_pairwise_sqdist: n is %lld, must be >= 0", (long long)n);
    if (d < 0) return mfs__error(MFS_E_INVALID_ARG, "mfs_pairwise_sqdist: d is %lld, must be >= 0", (long long)d);
    if (X == NULL && m > 0 && d > 0) return mfs__error(MFS_E_INVALID_ARG, "mfs_pairwise_sqdist: X is NULL");
    if (Y == NULL && n > 0 && d > 0) return mfs__error(MFS_E_INVALID_ARG, "mfs_pairwise_sqdist: Y is NULL");
    if (D == NULL && m > 0 && n > 0) return mfs__error(MFS_E_INVALID_ARG, "mfs_pairwise_sqdist: D is NULL");
    size_t tmp;
    if (mfs__mul_overflows((size_t)m, (size_t)n, &tmp) || mfs__mul_overflows((size_t)m, (size_t)d, &tmp) ||
        mfs__mul_overflows((size_t)n, (size_t)d, &tmp))
        return mfs__error(MFS_E_OVERFLOW, "mfs_pairwise_sqdist: sizes m=%lld, n=%lld, d=%lld overflow",
                          (long long)m, (long long)n, (long long)d);
    if (m == 0 || n == 0) return MFS_OK;
    return mfs__sqdist(X, m, Y, n, d, NULL, NULL, D);
}
