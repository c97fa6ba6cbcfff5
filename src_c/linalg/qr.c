/* Householder QR (optionally with column pivoting, as LAPACK's dgeqp3/dlaqp2)
 * in double on row-major storage, and the least-squares solver built on it.
 * The updates run over whole rows so the inner loops are contiguous. */
#include <float.h>
#include <math.h>
#include <string.h>
#include "core/internal.h"
#include "linalg/dense.h"
#include "linalg/linalg.h"

/* Euclidean norm of column j of A (rows [r0, m)). */
static double col_norm(const double *A, int64_t m, int64_t n, int64_t r0, int64_t j) {
    double s = 0.0;
    for (int64_t i = r0; i < m; i++) s += A[i * n + j] * A[i * n + j];
    return sqrt(s);
}

mfs_status mfs__qr_factor(double *A, int64_t m, int64_t n, double *tau, int64_t *perm) {
    int64_t kmax = m < n ? m : n;
    double *work = NULL;
    /* w (n) for the reflector application, vn1/vn2 (n) for the pivot norms */
    MFS_TRY(mfs__alloc((void **)&work, (size_t)(3 * (n > 0 ? n : 1)) * sizeof(double), "mfs__qr_factor", "workspace"));
    double *w = work, *vn1 = work + n, *vn2 = work + 2 * n;
    const double tol3z = sqrt(DBL_EPSILON);
    if (perm) {
        for (int64_t j = 0; j < n; j++) perm[j] = j;
        for (int64_t j = 0; j < n; j++) vn1[j] = vn2[j] = col_norm(A, m, n, 0, j);
    }
    for (int64_t k = 0; k < kmax; k++) {
        if (perm) {
            int64_t p = k;
            for (int64_t j = k + 1; j < n; j++) if (vn1[j] > vn1[p]) p = j;
            if (p != k) {
                for (int64_t i = 0; i < m; i++) {
                    double t = A[i * n + k]; A[i * n + k] = A[i * n + p]; A[i * n + p] = t;
                }
                int64_t ti = perm[k]; perm[k] = perm[p]; perm[p] = ti;
                double t = vn1[k]; vn1[k] = vn1[p]; vn1[p] = t;
                t = vn2[k]; vn2[k] = vn2[p]; vn2[p] = t;
            }
        }
        /* Reflector H = I - tau v v^T with v[k] = 1 mapping A[k:, k] to beta e_1. */
        double alpha = A[k * n + k];
        double xnorm = col_norm(A, m, n, k + 1, k);
        if (xnorm == 0.0) {
            tau[k] = 0.0;
        } else {
            double beta = -copysign(hypot(alpha, xnorm), alpha);
            tau[k] = (beta - alpha) / beta;
            double scale = 1.0 / (alpha - beta);
            for (int64_t i = k + 1; i < m; i++) A[i * n + k] *= scale;
            A[k * n + k] = beta;
            /* A[k:, k+1:] -= tau v (v^T A[k:, k+1:]) */
            int64_t nc = n - k - 1;
            if (nc > 0) {
                double *wk = w + k + 1;
                memcpy(wk, A + k * n + k + 1, (size_t)nc * sizeof(double));
                for (int64_t i = k + 1; i < m; i++) {
                    double vi = A[i * n + k];
                    const double *row = A + i * n + k + 1;
                    for (int64_t j = 0; j < nc; j++) wk[j] += vi * row[j];
                }
                double t = tau[k];
                for (int64_t j = 0; j < nc; j++) wk[j] *= t;
                double *row = A + k * n + k + 1;
                for (int64_t j = 0; j < nc; j++) row[j] -= wk[j];
                for (int64_t i = k + 1; i < m; i++) {
                    double vi = A[i * n + k];
                    double *r = A + i * n + k + 1;
                    for (int64_t j = 0; j < nc; j++) r[j] -= vi * wk[j];
                }
            }
        }
        if (perm) {
            /* Downdate the partial column norms; recompute when cancellation
             * has eaten too many digits (LAPACK Working Note 176). */
            for (int64_t j = k + 1; j < n; j++) {
                if (vn1[j] == 0.0) continue;
                double r = fabs(A[k * n + j]) / vn1[j];
                double temp = 1.0 - r * r;
                if (temp < 0.0) temp = 0.0;
                double ratio = vn1[j] / vn2[j];
                if (temp * ratio * ratio <= tol3z) {
                    vn1[j] = vn2[j] = col_norm(A, m, n, k + 1, j);
                } else {
                    vn1[j] *= sqrt(temp);
                }
            }
        }
    }
    mfs__free(work);
    return MFS_OK;
}

/* Apply reflector k to B (m, nrhs): B[k:] -= tau v (v^T B[k:]). */
static void apply_reflector(const double *QR, int64_t m, int64_t n, int64_t k, double tau,
                            double *B, int64_t nrhs, double *w) {
    if (tau == 0.0) return;
    memcpy(w, B + k * nrhs, (size_t)nrhs * sizeof(double));
    for (int64_t i = k + 1; i < m; i++) {
        double vi = QR[i * n + k];
        const double *b = B + i * nrhs;
        for (int64_t j = 0; j < nrhs; j++) w[j] += vi * b[j];
    }
    for (int64_t j = 0; j < nrhs; j++) w[j] *= tau;
    for (int64_t j = 0; j < nrhs; j++) B[k * nrhs + j] -= w[j];
    for (int64_t i = k + 1; i < m; i++) {
        double vi = QR[i * n + k];
        double *b = B + i * nrhs;
        for (int64_t j = 0; j < nrhs; j++) b[j] -= vi * w[j];
    }
}

void mfs__qr_apply_qt(const double *QR, int64_t m, int64_t n, const double *tau,
                      double *B, int64_t nrhs, double *work) {
    int64_t kmax = m < n ? m : n;
    for (int64_t k = 0; k < kmax; k++) apply_reflector(QR, m, n, k, tau[k], B, nrhs, work);
}

void mfs__qr_apply_q(const double *QR, int64_t m, int64_t n, const double *tau,
                     double *B, int64_t nrhs, double *work) {
    int64_t kmax = m < n ? m : n;
    for (int64_t k = kmax - 1; k >= 0; k--) apply_reflector(QR, m, n, k, tau[k], B, nrhs, work);
}

mfs_status mfs__orth(const float *A, int64_t m, int64_t k, float *Q) {
    double *buf = NULL;
    size_t mk = (size_t)m * (size_t)k;
    MFS_TRY(mfs__alloc((void **)&buf, (2 * mk + 2 * (size_t)k + 1) * sizeof(double), "mfs__orth", "workspace"));
    double *QR = buf, *E = buf + mk, *tau = buf + 2 * mk, *w = tau + k;
    for (size_t i = 0; i < mk; i++) QR[i] = (double)A[i];
    mfs_status st = mfs__qr_factor(QR, m, k, tau, NULL);
    if (st == MFS_OK) {
        memset(E, 0, mk * sizeof(double));
        for (int64_t j = 0; j < k && j < m; j++) E[j * k + j] = 1.0;
        mfs__qr_apply_q(QR, m, k, tau, E, k, w);
        for (size_t i = 0; i < mk; i++) Q[i] = (float)E[i];
    }
    mfs__free(buf);
    return st;
}

mfs_status mfs__lstsq_qr(double *A, int64_t m, int64_t n, double *B, int64_t nrhs,
                         double rcond, double *X, int64_t *rank) {
    int64_t kmax = m < n ? m : n;
    double *tau = NULL, *w = NULL;
    int64_t *perm = NULL;
    mfs_status st = mfs__alloc((void **)&tau, (size_t)(kmax + 1) * sizeof(double), "mfs__lstsq_qr", "tau");
    if (st == MFS_OK) st = mfs__alloc((void **)&w, (size_t)(nrhs + 1) * sizeof(double), "mfs__lstsq_qr", "workspace");
    if (st == MFS_OK) st = mfs__alloc((void **)&perm, (size_t)(n + 1) * sizeof(int64_t), "mfs__lstsq_qr", "permutation");
    if (st == MFS_OK) st = mfs__qr_factor(A, m, n, tau, perm);
    if (st == MFS_OK) {
        mfs__qr_apply_qt(A, m, n, tau, B, nrhs, w);
        /* Numerical rank: pivots above rcond * |R[0,0]| (non-increasing with pivoting). */
        double r00 = kmax > 0 ? fabs(A[0]) : 0.0;
        int64_t r = 0;
        while (r < kmax && r00 > 0.0 && fabs(A[r * n + r]) > rcond * r00) r++;
        *rank = r;
        /* Back substitution R[:r, :r] Z = (Q^T B)[:r], in place in B's first r rows. */
        for (int64_t i = r - 1; i >= 0; i--) {
            double *bi = B + i * nrhs;
            for (int64_t j = i + 1; j < r; j++) {
                double rij = A[i * n + j];
                const double *bj = B + j * nrhs;
                for (int64_t c = 0; c < nrhs; c++) bi[c] -= rij * bj[c];
            }
            double inv = 1.0 / A[i * n + i];
            for (int64_t c = 0; c < nrhs; c++) bi[c] *= inv;
        }
        memset(X, 0, (size_t)n * (size_t)nrhs * sizeof(double));
        for (int64_t i = 0; i < r; i++)
            memcpy(X + perm[i] * nrhs, B + i * nrhs, (size_t)nrhs * sizeof(double));
    }
    mfs__free(tau);
    mfs__free(w);
    mfs__free(perm);
    return st;
}
