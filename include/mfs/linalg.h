/* libmfs linear algebra, public part: the from-scratch SGEMM that every model
 * stands on, exposed so C users and the benchmark can call it directly. */
#ifndef MFS_LINALG_H
#define MFS_LINALG_H
#include "mfs/core.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif

/** C = alpha * op(A) * op(B) + beta * C, row-major, single precision.
 *  op(A) is (M, K): A is (M, K) with row stride lda, or (K, M) if trans_a.
 *  op(B) is (K, N): B is (K, N) with row stride ldb, or (N, K) if trans_b.
 *  C is (M, N) with row stride ldc. Runs on mfs_get_num_threads() threads.
 *  Errors: MFS_E_INVALID_ARG (NULL pointers, negative sizes, strides smaller
 *  than a row), MFS_E_NOMEM. beta == 0 ignores C's contents (NaN included). */
MFS_API mfs_status mfs_sgemm(int32_t trans_a, int32_t trans_b, int64_t M, int64_t N,
                             int64_t K, float alpha, const float *A, int64_t lda,
                             const float *B, int64_t ldb, float beta, float *C,
                             int64_t ldc);

/** D[i, j] = ||X[i] - Y[j]||^2 for X (m, d), Y (n, d); D is (m, n). Computed
 *  through the GEMM (||x||^2 - 2 x.y + ||y||^2, clamped at 0). */
MFS_API mfs_status mfs_pairwise_sqdist(const float *X, int64_t m, const float *Y,
                                       int64_t n, int64_t d, float *D);

#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
