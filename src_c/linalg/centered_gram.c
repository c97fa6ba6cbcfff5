/* Centered cross-products for least squares and PCA, without copying X whole:
 * rows are centered a block at a time into a small buffer, each block's
 * product comes from the GEMM in float32, and blocks are summed in double.
 * Rows may be scaled by sqrt(sample weight) (weighted least squares).
 * Centering first keeps the float32 products accurate when the mean is large
 * against the spread; summing blocks in double bounds the accumulated error. */
#include <string.h>
#include "core/internal.h"
#include "linalg/linalg.h"

enum { BLOCK_ROWS = 4096 };

mfs_status mfs__centered_cross(const float *X, const float *Y, int64_t n, int64_t d, int64_t t,
                               const double *xmean, const double *ymean, const float *sw,
                               double *G, double *C) {
    int64_t rows = n < BLOCK_ROWS ? n : BLOCK_ROWS;
    float *xb = NULL, *yb = NULL, *gb = NULL, *cb = NULL;
    mfs_status s = mfs__alloc((void **)&xb, (size_t)(rows * d + d * d) * sizeof(float), "mfs_fit", "a centered block");
    if (s != MFS_OK) return s;
    gb = xb + rows * d;
    if (Y) {
        s = mfs__alloc((void **)&yb, (size_t)(rows * t + d * t) * sizeof(float), "mfs_fit", "a centered block");
        if (s != MFS_OK) { mfs__free(xb); return s; }
        cb = yb + rows * t;
    }
    memset(G, 0, (size_t)(d * d) * sizeof(double));
    if (Y) memset(C, 0, (size_t)(d * t) * sizeof(double));
    for (int64_t i0 = 0; i0 < n && s == MFS_OK; i0 += rows) {
        int64_t b = n - i0 < rows ? n - i0 : rows;
        const float *src = X + i0 * d;
        #pragma omp parallel for num_threads(mfs__num_threads()) schedule(static) if (b * d > 65536)
        for (int64_t i = 0; i < b; i++)
            for (int64_t j = 0; j < d; j++)
                xb[i * d + j] = (float)(((double)src[i * d + j] - (xmean ? xmean[j] : 0.0)) * (sw ? sw[i0 + i] : 1.0f));
        s = mfs__sgemm(1, 0, d, d, b, 1.0f, xb, d, xb, d, 0.0f, gb, d);
        if (s != MFS_OK) break;
        for (int64_t k = 0; k < d * d; k++) G[k] += gb[k];
        if (Y) {
            const float *ysrc = Y + i0 * t;
            for (int64_t i = 0; i < b; i++)
                for (int64_t j = 0; j < t; j++)
                    yb[i * t + j] = (float)(((double)ysrc[i * t + j] - (ymean ? ymean[j] : 0.0)) * (sw ? sw[i0 + i] : 1.0f));
            s = mfs__sgemm(1, 0, d, t, b, 1.0f, xb, d, yb, t, 0.0f, cb, t);
            if (s != MFS_OK) break;
            for (int64_t k = 0; k < d * t; k++) C[k] += cb[k];
        }
    }
    mfs__free(xb);
    mfs__free(yb);
    return s;
}
