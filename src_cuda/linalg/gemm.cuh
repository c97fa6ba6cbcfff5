/* Device-pointer building blocks of src_cuda/linalg shared with the model
 * files: the SGEMM on device buffers, padded uploads, centering. */
#ifndef MFS_CUDA_GEMM_CUH
#define MFS_CUDA_GEMM_CUH
#include "src_cuda/core/cuda_internal.cuh"

/* C = alpha op(A) op(B) + beta C on device buffers, row-major (same argument
 * meaning as mfs_sgemm). Enqueued on MFS_STREAM; not synchronized.
 * syrk_upper: A and B are the same matrix and op(A) op(B) is symmetric (M == N);
 *   only tiles on or above the diagonal are computed and the lower triangle is
 *   mirrored from the upper one (beta must be 0).
 * kchunk_max: if > 0, the K dimension is split into chunks of at most this many
 *   products, each summed in float32 and the chunks summed in double (as the
 *   CPU's blockwise centered products do); K is also split when the output has
 *   too few tiles to fill the GPU. Workspace is allocated (and counted to mem).
 * fn names the public function for error messages. */
mfs_status mfs__sgemm_dev(const char *fn, int trans_a, int trans_b, int64_t M, int64_t N,
                          int64_t K, float alpha, const float *A, int64_t lda, const float *B,
                          int64_t ldb, float beta, float *C, int64_t ldc, int syrk_upper,
                          int64_t kchunk_max, mfs_mem_counter *mem);

/* Copy a host matrix (rows, cols) with row stride ld into a new device buffer
 * whose row stride (*pitch) is cols rounded up to 4 floats, so that the GEMM
 * reads it with 16-byte loads. The padding is zeroed. */
mfs_status mfs__upload_matrix(const char *fn, mfs_dev_buf<float> &buf, const float *host,
                              int64_t rows, int64_t cols, int64_t ld, int64_t *pitch,
                              mfs_mem_counter *mem);

/* Copy a device matrix (rows, cols) with row stride pitch to host (row stride ld). */
mfs_status mfs__download_matrix(const char *fn, float *host, int64_t ld, const float *dev,
                                int64_t rows, int64_t cols, int64_t pitch);

/* X (n, d) with row stride pitch, in place: X[i, j] = float(X[i, j] - mean[j]),
 * mean (d) a device buffer of doubles (the subtraction is done in double). */
mfs_status mfs__center_dev(const char *fn, float *X, int64_t n, int64_t d, int64_t pitch,
                           const double *mean);

#endif
