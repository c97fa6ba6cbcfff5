/* Private helpers of src_c/linalg shared by the solvers and the SVDs:
 * Householder QR in double on row-major storage. Not part of linalg.h's contract. */
#ifndef MFS_LINALG_DENSE_H
#define MFS_LINALG_DENSE_H
#include <stdint.h>
#include "mfs/core.h"

/* Householder QR of A (m, n) in place, k = min(m, n) reflectors: R in the upper
 * triangle, reflector j's vector below the diagonal of column j (its leading
 * 1 implicit), tau (k). With perm (n) non-NULL: column pivoting (A P = Q R,
 * column j of A P is column perm[j] of A, |R[j,j]| non-increasing). */
mfs_status mfs__qr_factor(double *A, int64_t m, int64_t n, double *tau, int64_t *perm);
/* B (m, nrhs) <- Q^T B, and B <- Q B, with the reflectors of mfs__qr_factor.
 * work holds nrhs doubles. */
void mfs__qr_apply_qt(const double *QR, int64_t m, int64_t n, const double *tau,
                      double *B, int64_t nrhs, double *work);
void mfs__qr_apply_q(const double *QR, int64_t m, int64_t n, const double *tau,
                     double *B, int64_t nrhs, double *work);
/* Thin Q (m, k) of A (m, k) float32 with m >= k, orthonormal columns, via a
 * double Householder QR (rank-deficient input still gives orthonormal Q). */
mfs_status mfs__orth(const float *A, int64_t m, int64_t k, float *Q);
#endif
