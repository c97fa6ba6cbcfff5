/* Plain-C entry points of the CUDA half of libmfs. Model files in src_c call
 * these; in a CPU-only build src_cuda/stubs.c answers each with MFS_E_DEVICE,
 * so no model file needs an #ifdef. Arguments are HOST pointers unless the name
 * says dev_: each wrapper copies in, computes on the GPU, copies out. Device
 * memory is charged to `mem` (the model's counter, may be NULL) and globally. */
#ifndef MFS_CUDA_API_H
#define MFS_CUDA_API_H
#include <stdint.h>
#include <stddef.h>
#include "mfs/core.h"
#include "../src_c/core/internal.h"
#ifdef __cplusplus
extern "C" {
#endif

/* Number of usable devices (0 without a driver or GPU; never fails). */
int32_t mfs__cuda_device_count(void);
/* MFS_OK if a GPU is usable, else MFS_E_DEVICE with "<fn>: ..." message. */
mfs_status mfs__cuda_require(const char *fn);

/* Device buffers, counted. */
mfs_status mfs__cuda_alloc(void **dev, size_t bytes, mfs_mem_counter *mem);
void mfs__cuda_release(void *dev, size_t bytes, mfs_mem_counter *mem);
mfs_status mfs__cuda_upload(void *dev, const void *host, size_t bytes);
mfs_status mfs__cuda_download(void *host, const void *dev, size_t bytes);

/* C = alpha op(A) op(B) + beta C with host arrays (same contract as mfs_sgemm). */
mfs_status mfs_sgemm_cuda(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                          float alpha, const float *A, int64_t lda, const float *B,
                          int64_t ldb, float beta, float *C, int64_t ldc);

/* Centered Gram matrix: mean (d) of X (n, d) and G = (X - mean)^T (X - mean)
 * (d, d), for linear regression and PCA. mean may be NULL (no centering). */
mfs_status mfs__centered_gram_cuda(const float *X, int64_t n, int64_t d,
                                   const double *mean, float *G, mfs_mem_counter *mem);

/* Normal equations of centered least squares, for Linear Regression: with
 * Xc = X - xmean and Yc = Y - ymean (X (n, d), Y (n, t)), XtX = Xc^T Xc (d, d)
 * and XtY = Xc^T Yc (d, t). xmean/ymean may be NULL (no centering). */
mfs_status mfs__linreg_normal_cuda(const float *X, const float *Y, int64_t n, int64_t d,
                                   int64_t t, const double *xmean, const double *ymean,
                                   float *XtX, float *XtY, mfs_mem_counter *mem);

/* Lloyd iterations of K-Means from `centers` (k, d) (updated in place) over X
 * (n, d): at most max_iter iterations, stop when the squared shift of the
 * centers sums to <= tol (absolute, as scikit-learn's scaled tol). Empty
 * clusters are refilled with the points farthest from their center, as the CPU
 * does. labels (n), *inertia, *n_iter out. */
mfs_status mfs__kmeans_lloyd_cuda(const float *X, int64_t n, int64_t d, int64_t k,
                                  int32_t max_iter, double tol, float *centers,
                                  int32_t *labels, double *inertia, int32_t *n_iter,
                                  mfs_mem_counter *mem);
/* labels (n) of the nearest center and, if dist is non-NULL, the (n, k)
 * euclidean distances to every center. */
mfs_status mfs__kmeans_assign_cuda(const float *X, int64_t n, int64_t d,
                                   const float *centers, int64_t k, int32_t *labels,
                                   float *dist, mfs_mem_counter *mem);

/* PCA projection: out (n, k) = (X - mean) @ components^T for X (n, d), mean
 * (d) (may be NULL: no centering), components (k, d). Rows go through the GPU
 * in blocks, so n is not bounded by device memory. */
mfs_status mfs__pca_transform_cuda(const float *X, int64_t n, int64_t d, const double *mean,
                                   const float *components, int64_t k, float *out,
                                   mfs_mem_counter *mem);

/* Naive Bayes prediction: the joint log-likelihood jll (n, K) of X (n, d) and
 * its log-softmax over the classes (log-sum-exp with the row maximum factored
 * out). log_proba (n, K) and labels (n, the argmax) are each optional (NULL).
 * Discrete models: jll = A W^T + bias, W (K, d) float32, A = X, or X > binarize
 * when binarize is not NaN (Bernoulli); the GEMM runs on the device. */
mfs_status mfs__naive_bayes_discrete_cuda(const float *X, int64_t n, int64_t d, int64_t K,
                                          const float *W, const double *bias, double binarize,
                                          float *log_proba, int32_t *labels, mfs_mem_counter *mem);
/* Gaussian: jll_k = bias_k - 0.5 sum_j (x_j - theta_kj)^2 prec_kj, summed in
 * double (theta, prec (K, d) with prec = 1 / var, bias (K)). */
mfs_status mfs__naive_bayes_gaussian_cuda(const float *X, int64_t n, int64_t d, int64_t K,
                                          const double *theta, const double *prec, const double *bias,
                                          float *log_proba, int32_t *labels, mfs_mem_counter *mem);

/* k-Nearest Neighbors candidates: for each query row of Q (m, d), the k
 * training rows of T (n, d) with the smallest ranking key (euclidean:
 * ||t - c||^2 - 2 (q - c).(t - c) with c = mean when mean (d) is non-NULL,
 * else 0; cosine: -q.t / ||t||; manhattan: sum |q - t|), ties to the lower
 * index, into idx (m, k) ascending by key. Distance tiles and per-query top-k
 * run on the GPU in blocks, so device memory stays bounded; the caller
 * recomputes the exact distances of the k. metric is mfs_knn_metric. */
mfs_status mfs__knn_candidates_cuda(const float *T, int64_t n, const float *Q, int64_t m, int64_t d,
                                    int32_t metric, const float *mean, int64_t k, int64_t *idx,
                                    mfs_mem_counter *mem);

/* Logistic Regression's loss and gradient on the GPU: _create uploads X (n, d)
 * and the labels y (n) (0..K-1; kk = 1 for K = 2, where the target is y == 1,
 * else kk = K) once; each _eval takes coef (kk, d) and intercept (kk) (host)
 * and returns the raw data term: *loss = sum_i log-loss_i, dcoef (kk, d) =
 * (P - Y)^T X and dintercept (kk) = sum_i (p_i - y_i), in double (host). The
 * penalty, the 1/n scaling and the L-BFGS loop stay on the host.
 * _free(NULL) is a no-op. */
typedef struct mfs__logreg_cuda mfs__logreg_cuda;
mfs_status mfs__logreg_cuda_create(const float *X, const int32_t *y, int64_t n, int64_t d,
                                   int64_t kk, mfs_mem_counter *mem, mfs__logreg_cuda **out);
mfs_status mfs__logreg_cuda_eval(mfs__logreg_cuda *state, const float *coef,
                                 const float *intercept, double *loss, double *dcoef,
                                 double *dintercept);
void mfs__logreg_cuda_free(mfs__logreg_cuda *state);

/* ---- decision_tree + random_forest: declarations of its entry points below this line ---- */

/* ---- svm + linear_svm: declarations of its entry points below this line ---- */

/* ---- neural (mlp, cnn, layers): declarations of its entry points below this line ---- */

#ifdef __cplusplus
}
#endif
#endif
