/* Centered cross-products for least squares and PCA, without copying X whole:
 * rows are centered a block at a time into a small buffer, each block's
 * product comes from the GEMM in float32, and blocks are summed in double.
 * Rows may be scaled by sqrt(sample weight) (weighted least squares).
 * Centering first keeps the float32 products accurate when the mean is large
 * against the spread; summing blocks in double bounds the accumulated error. */
#include <string.h>
#include "core/internal.h"
#include "linalg/linalg.h"
#ifdef _OPENMP
#include <omp.h>
#endif

enum { BLOCK_ROWS = 4096 };

mfs_status mfs__centered_cross(const float *X, const float *Y, int64_t n, int64_t d, int64_t t,
                               const double *xmean, const double *ymean, const float *sw,
                               double *G, double *C) {
    /* Each block is [Xb | Yb] (b, d + t), centered and weighted; one GEMM gives
     * [[Xb^T Xb, Xb^T Yb], [., .]]. Threads take whole blocks (one parallel
     * region, no barrier per block) into private double sums, which are added
     * in thread order at the end: the result depends only on the thread count. */
    const int64_t w = d + (Y ? t : 0);
    const int64_t rows = n < BLOCK_ROWS ? n : BLOCK_ROWS;
    const int64_t nblocks = (n + rows - 1) / rows;
    int nt = mfs__num_threads();
    if (nt > nblocks) nt = (int)nblocks;
    if (nt < 1) nt = 1;
    const size_t per_thread = (size_t)(rows * w) + (size_t)(w * w); /* floats: block + product */
    float *fbuf = NULL;
    double *acc = NULL;
    mfs_status s = mfs__alloc((void **)&fbuf, per_thread * (size_t)nt * sizeof(float), "mfs_fit", "centered blocks");
    if (s != MFS_OK) return s;
    s = mfs__alloc((void **)&acc, (size_t)(w * w) * (size_t)nt * sizeof(double), "mfs_fit", "block sums");
    if (s != MFS_OK) { mfs__free(fbuf); return s; }
    memset(acc, 0, (size_t)(w * w) * (size_t)nt * sizeof(double));
    int failed = 0;
    #pragma omp parallel num_threads(nt)
    {
        int tid = 0, nth = 1;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        nth = omp_get_num_threads();
#endif
        float *xb = fbuf + per_thread * (size_t)tid, *pb = xb + rows * w;
        double *mine = acc + (size_t)(w * w) * (size_t)tid;
        for (int64_t blk = tid; blk < nblocks; blk += nth) {
            int64_t i0 = blk * rows, b = n - i0 < rows ? n - i0 : rows;
            for (int64_t i = 0; i < b; i++) {
                const float *xr = X + (i0 + i) * d;
                float *dst = xb + i * w;
                double r = sw ? (double)sw[i0 + i] : 1.0;
                for (int64_t j = 0; j < d; j++) dst[j] = (float)(((double)xr[j] - (xmean ? xmean[j] : 0.0)) * r);
                if (Y) {
                    const float *yr = Y + (i0 + i) * t;
                    for (int64_t j = 0; j < t; j++) dst[d + j] = (float)(((double)yr[j] - (ymean ? ymean[j] : 0.0)) * r);
                }
            }
            /* inside the parallel region the GEMM runs on this thread alone */
            if (mfs__sgemm(1, 0, w, w, b, 1.0f, xb, w, xb, w, 0.0f, pb, w) != MFS_OK) {
                #pragma omp atomic write
                failed = 1;
                break;
            }
            for (int64_t k = 0; k < w * w; k++) mine[k] += pb[k];
        }
    }
    if (failed) {
        s = mfs__error(MFS_E_NOMEM, "mfs_fit: out of memory in the blockwise Gram");
    } else {
        for (int64_t p = 0; p < d; p++)
            for (int64_t q = 0; q < w; q++) {
                double v = 0;
                for (int th = 0; th < nt; th++) v += acc[(size_t)(w * w) * (size_t)th + (size_t)(p * w + q)];
                if (q < d) G[p * d + q] = v;
                else C[p * t + (q - d)] = v;
            }
    }
    mfs__free(fbuf);
    mfs__free(acc);
    return s;
}
