/* Internal linear algebra of libmfs: no BLAS, no LAPACK. Row-major throughout.
 * These do not validate their arguments (callers have) but report allocation
 * failure and numerical failure through mfs_status with a message. */
#ifndef MFS_LINALG_INTERNAL_H
#define MFS_LINALG_INTERNAL_H
#include <stdint.h>
#include "mfs/core.h"
#ifdef __cplusplus
extern "C" {
#endif

/* a . b over n doubles, summed in index order (the solvers' vector algebra:
 * the same bits for every build and thread count). */
static inline double mfs__dot_f64(const double *a, const double *b, int64_t n) {
    double s = 0.0;
    for (int64_t j = 0; j < n; j++) s += a[j] * b[j];
    return s;
}

/* SGEMM without argument checks: C = alpha op(A) op(B) + beta C. */
mfs_status mfs__sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                      float alpha, const float *A, int64_t lda, const float *B,
                      int64_t ldb, float beta, float *C, int64_t ldc);
/* The same with the stored rows of A picked by index (a_rows non-NULL): stored
 * row r is A + a_rows[r] * lda, so op(A) is a gathered batch X[idx] (trans_a =
 * 0, M indices) or its transpose (trans_a = 1, K indices) read in place by the
 * packing: a network's first layer uses its training rows without copying them. */
mfs_status mfs__sgemm_rows(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                           float alpha, const float *A, int64_t lda, const int64_t *a_rows, const float *B,
                           int64_t ldb, float beta, float *C, int64_t ldc);

/* G = X^T X for X (n, d) (G is (d, d), symmetric, both triangles written),
 * accumulated in float32 by the GEMM. */
mfs_status mfs__gram(const float *X, int64_t n, int64_t d, float *G);

/* Centered cross-products, blockwise (src_c/linalg/centered_gram.c):
 * G (d, d) = (X - xmean)^T (X - xmean) and, when Y (n, t) is non-NULL,
 * C (d, t) = (X - xmean)^T (Y - ymean), in double. xmean/ymean may be NULL.
 * sw (n), when non-NULL, scales row i by sw[i] after centering (sqrt weights). */
mfs_status mfs__centered_cross(const float *X, const float *Y, int64_t n, int64_t d, int64_t t,
                               const double *xmean, const double *ymean, const float *sw,
                               double *G, double *C);

/* Column means of X (n, d) into mean (d), accumulated in double. */
void mfs__col_mean(const float *X, int64_t n, int64_t d, double *mean);

/* Squared row norms of X (n, d) into out (n). */
void mfs__row_sqnorm(const float *X, int64_t n, int64_t d, float *out);

/* D (m, n) = squared euclidean distances between rows of X (m, d) and Y (n, d);
 * xn / yn are the squared row norms (computed when NULL). Clamped at 0. */
mfs_status mfs__sqdist(const float *X, int64_t m, const float *Y, int64_t n, int64_t d,
                       const float *xn, const float *yn, float *D);

/* In-place Cholesky A = L L^T of a symmetric positive definite (n, n) double
 * matrix (lower triangle used and overwritten with L, upper zeroed).
 * Returns MFS_E_VALUE (no message set) if a pivot is <= 0. */
mfs_status mfs__cholesky(double *A, int64_t n);
/* Solve (L L^T) X = B in place for B (n, nrhs) given the Cholesky factor L. */
void mfs__cholesky_solve(const double *L, int64_t n, double *B, int64_t nrhs);
/* Triangular solves with L (n, n) lower: L X = B (trans=0) or L^T X = B (trans=1). */
void mfs__trsm_lower(const double *L, int64_t n, int trans, double *B, int64_t nrhs);

/* Least squares min ||A x - b|| for A (m, n) double, m >= n or not, with a
 * rank-revealing Householder QR with column pivoting; columns whose pivot is
 * below rcond * |R[0,0]| are dropped (minimum-norm-like solution on the rest:
 * their coefficients are 0). B (m, nrhs) in, X (n, nrhs) out. *rank receives
 * the numerical rank. A and B are overwritten. */
mfs_status mfs__lstsq_qr(double *A, int64_t m, int64_t n, double *B, int64_t nrhs,
                         double rcond, double *X, int64_t *rank);

/* Symmetric eigendecomposition of A (n, n) double: eigenvalues w (n) in
 * DESCENDING order, eigenvectors as the COLUMNS of V (n, n): A V = V diag(w).
 * A is overwritten. */
mfs_status mfs__eigh(double *A, int64_t n, double *w, double *V);

/* Thin SVD of A (m, n) float32, k = min(m, n): U (m, k), S (k) descending,
 * Vt (k, n); signs fixed as scikit-learn's svd_flip(u_based_decision=False):
 * the entry of largest absolute value in each row of Vt is positive. */
mfs_status mfs__svd_thin(const float *A, int64_t m, int64_t n, float *U, float *S, float *Vt);

/* Randomized SVD (Halko et al.) of A (m, n): the top k triplets, with
 * n_oversamples extra columns and n_iter power iterations (QR-normalized),
 * Gaussian test matrix from the core RNG with `seed`. U (m, k), S (k), Vt (k, n),
 * signs as mfs__svd_thin. */
mfs_status mfs__randomized_svd(const float *A, int64_t m, int64_t n, int64_t k,
                               int64_t n_oversamples, int64_t n_iter, uint64_t seed,
                               float *U, float *S, float *Vt);

#ifdef __cplusplus
}
#endif
#endif
