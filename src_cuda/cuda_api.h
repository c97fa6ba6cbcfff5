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
/* A call's scratch: from libmfs's stream-ordered pool (cudaMallocFromPoolAsync
 * on the calling thread's stream, which keeps up to 256 MiB between calls),
 * or cudaMalloc where the device has no memory pools. Allocate and release
 * on the same thread, for work enqueued on its stream. */
mfs_status mfs__cuda_alloc_scratch(void **dev, size_t bytes, mfs_mem_counter *mem);
void mfs__cuda_release_scratch(void *dev, size_t bytes, mfs_mem_counter *mem);
mfs_status mfs__cuda_upload(void *dev, const void *host, size_t bytes);
mfs_status mfs__cuda_download(void *host, const void *dev, size_t bytes);
/* Pinned staging for large uploads (mfs__upload_staged in src_c/neural/train.c):
 * acquire gives two pinned host buffers of *bytes each and returns 1, or
 * returns 0 (no error set) when they are in use by another thread, could not
 * be pinned, or belong to another device: then use mfs__cuda_upload. After
 * a 1: wait(i) blocks until the copy last sent from buffer i has run,
 * send(dev, i, n) enqueues n bytes of buffer i to dev on the calling
 * thread's stream, and release (always, once) waits for every copy and
 * gives the buffers back. */
int mfs__cuda_stage_acquire(void *buf[2], size_t *bytes);
mfs_status mfs__cuda_stage_wait(int i);
mfs_status mfs__cuda_stage_send(void *dev, int i, size_t bytes);
mfs_status mfs__cuda_stage_release(void);

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
 * and XtY = Xc^T Yc (d, t). xmean/ymean may be NULL (no centering); sw (n),
 * if not NULL, scales each centered row of X and Y by sw[i] (sqrt of the
 * sample weight: weighted least squares). */
mfs_status mfs__linreg_normal_cuda(const float *X, const float *Y, int64_t n, int64_t d,
                                   int64_t t, const double *xmean, const double *ymean,
                                   const float *sw, float *XtX, float *XtY, mfs_mem_counter *mem);

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

/* Logistic Regression's loss and gradient on the GPU: _create uploads X (n, d),
 * the labels y (n) (0..K-1; kk = 1 for K = 2, where the target is y == 1,
 * else kk = K) and the sample weights s (n) (NULL: all 1) once; each _eval
 * takes coef (kk, d) and intercept (kk) (host) and returns the raw data term:
 * *loss = sum_i s_i log-loss_i, dcoef (kk, d) = (S (P - Y))^T X and
 * dintercept (kk) = sum_i s_i (p_i - y_i), in double (host). The
 * penalty, the 1/n scaling and the L-BFGS loop stay on the host.
 * _free(NULL) is a no-op. */
typedef struct mfs__logreg_cuda mfs__logreg_cuda;
mfs_status mfs__logreg_cuda_create(const float *X, const int32_t *y, const float *sample_weight,
                                   int64_t n, int64_t d, int64_t kk, mfs_mem_counter *mem,
                                   mfs__logreg_cuda **out);
mfs_status mfs__logreg_cuda_eval(mfs__logreg_cuda *state, const float *coef,
                                 const float *intercept, double *loss, double *dcoef,
                                 double *dintercept);
void mfs__logreg_cuda_free(mfs__logreg_cuda *state);

/* ---- decision_tree + random_forest: declarations of its entry points below this line ---- */

/* Tree inference (decision_tree, and random_forest's trees): n_trees trees
 * stored back to back in flat arrays of n_nodes nodes in all; tree t starts at
 * node node_offset[t] (n_trees) and its children ids are tree-local, leaves
 * have children -1 (scikit-learn's layout, see src_c/classical/tree.h). One GPU
 * thread per (row, tree) walks X (m, d) rows: x goes left when
 * (double)x[feature] <= threshold. The tree arrays are uploaded per call.
 * _apply: leaves (m, n_trees) int32, the tree-local leaf of each row in each tree.
 * _predict: out (m, V) float32 = the mean over the trees of value[leaf] (value
 * (n_nodes, V) float64, averaged in double). */
mfs_status mfs__tree_apply_cuda(const int32_t *children_left, const int32_t *children_right,
                                const int32_t *feature, const double *threshold, int64_t n_nodes,
                                const int64_t *node_offset, int64_t n_trees, const float *X, int64_t m,
                                int64_t d, int32_t *leaves, mfs_mem_counter *mem);
mfs_status mfs__tree_predict_cuda(const int32_t *children_left, const int32_t *children_right,
                                  const int32_t *feature, const double *threshold, const double *value,
                                  int64_t n_nodes, int32_t V, const int64_t *node_offset, int64_t n_trees,
                                  const float *X, int64_t m, int64_t d, float *out, mfs_mem_counter *mem);

/* Random forest inference (src_c/classical/random_forest.c): a forest packed
 * into 16-byte nodes, children as global rows, a leaf being its own left and
 * right child, a row going left when x[feature] <= threshold (float32). Tree
 * t's root is row offsets[t] (offsets (T + 1)) and its leaves are at most
 * depth[t] steps down; value (N, V) double holds each node's class fractions
 * or target means. For X (n, d): mean (n, V) float32 = the mean over the trees
 * of the leaf values, labels (n) its argmax (the first maximum); each optional
 * (NULL). One GPU thread per row takes depth[t] steps in every tree (no
 * divergence: leaves loop on themselves) and sums in double in tree order, as
 * the CPU does, so the results equal the CPU's. Rows go in blocks, so device
 * memory holds the forest plus a bounded block. */
typedef struct mfs__forest_node {
    int32_t left, right, feature;
    float threshold;
} mfs__forest_node;
mfs_status mfs__random_forest_predict_cuda(const float *X, int64_t n, int64_t d, int64_t T,
                                           const int64_t *offsets, const int32_t *depth,
                                           const mfs__forest_node *nodes,
                                           int64_t N, const double *value, int64_t V, float *mean,
                                           int32_t *labels, mfs_mem_counter *mem);

/* ---- svm + linear_svm: declarations of its entry points below this line ---- */

/* Kernel SVM (src_c/classical/svm.c): kernel rows for the host SMO loop.
 * _create uploads X (n, d) once with the kernel (mfs_svm_kernel, degree,
 * gamma, coef0); _order sets the map position -> row of X (len entries);
 * _row writes out[k - start] = (float)K(X[row], X[order[k]]) for k in
 * [start, len), the dot products accumulated in double (as the CPU).
 * _free(NULL) is a no-op. */
typedef struct mfs__svm_cuda mfs__svm_cuda;
mfs_status mfs__svm_cuda_create(const float *X, int64_t n, int64_t d, int32_t kernel, int32_t degree,
                                double gamma, double coef0, mfs_mem_counter *mem, mfs__svm_cuda **out);
mfs_status mfs__svm_cuda_order(mfs__svm_cuda *state, const int32_t *order, int64_t len);
mfs_status mfs__svm_cuda_row(mfs__svm_cuda *state, int64_t row, int64_t start, int64_t len, float *out);
void mfs__svm_cuda_free(mfs__svm_cuda *state);
/* Decision values dec (m, P) = K(X, SV) W - rho (double) for X (m, d), SV
 * (nsv, d) float32, W (nsv, P) and rho (P) double; rows go in blocks. */
mfs_status mfs__svm_decision_cuda(const float *X, int64_t m, int64_t d, const float *SV, int64_t nsv,
                                  const double *W, const double *rho, int64_t P, int32_t kernel,
                                  int32_t degree, double gamma, double coef0, double *dec,
                                  mfs_mem_counter *mem);

/* ---- neural (mlp, cnn, layers): declarations of its entry points below this line ---- */
/* mlp: the dense layers of src_c/neural/layers.h on DEVICE pointers (same
 * names + _cuda, same arguments and shapes; the GEMM layers take the counter
 * its workspace is charged to), enqueued on the calling thread's stream, not
 * synchronized; and the trainer's device steps (src_cuda/neural/train.cu). */
mfs_status mfs__linear_forward_cuda(float *out, const float *inp, const float *weight, const float *bias,
                                    int64_t B, int64_t C_in, int64_t C_out, mfs_mem_counter *mem);
mfs_status mfs__linear_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout,
                                     const float *inp, const float *weight, int64_t B, int64_t C_in,
                                     int64_t C_out, mfs_mem_counter *mem);
mfs_status mfs__activation_forward_cuda(float *out, const float *inp, int64_t N, int32_t act);
mfs_status mfs__activation_backward_cuda(float *dinp, const float *dout, const float *out, const float *inp,
                                         int64_t N, int32_t act);
mfs_status mfs__softmax_crossentropy_forward_cuda(float *probs, float *losses, const float *logits,
                                                  const int32_t *targets, int64_t B, int64_t K);
mfs_status mfs__softmax_crossentropy_backward_cuda(float *dlogits, const float *probs, const int32_t *targets,
                                                   int64_t B, int64_t K, float scale);
mfs_status mfs__sigmoid_crossentropy_forward_cuda(float *probs, float *losses, const float *logits,
                                                  const float *targets, int64_t B, int64_t K);
mfs_status mfs__sigmoid_crossentropy_backward_cuda(float *dlogits, const float *probs, const float *targets,
                                                   int64_t B, int64_t K, float scale);
mfs_status mfs__mse_forward_cuda(float *losses, const float *pred, const float *target, int64_t B, int64_t K);
mfs_status mfs__mse_backward_cuda(float *dpred, const float *pred, const float *target, int64_t B, int64_t K,
                                  float scale);
mfs_status mfs__dropout_forward_cuda(float *out, const float *inp, int64_t N, float p, uint64_t seed,
                                     uint64_t stream);
mfs_status mfs__dropout_backward_cuda(float *dinp, const float *dout, int64_t N, float p, uint64_t seed,
                                      uint64_t stream);
mfs_status mfs__layernorm_forward_cuda(float *out, float *mean, float *rstd, const float *inp,
                                       const float *weight, const float *bias, int64_t B, int64_t C, float eps);
mfs_status mfs__layernorm_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout,
                                        const float *mean, const float *rstd, const float *inp,
                                        const float *weight, int64_t B, int64_t C);
/* Trainer steps: out (B, d) = X[idx[b]] rows; labels likewise; dst = src and
 * x = 0 for n floats; *acc += coef * sum(x (n)) in double (one block: a fixed
 * order); one optimizer step (mfs__optim_step of src_c/neural/optim.c) over
 * the network's flat parameters, adding coef * (sum of squares of the decayed
 * parameters before the update) to *acc when acc is non-NULL. */
struct mfs__optim;
struct mfs__net;
mfs_status mfs__nn_gather_rows_cuda(float *out, const float *X, const int64_t *idx, int64_t B, int64_t d);
mfs_status mfs__nn_gather_labels_cuda(int32_t *out, const int32_t *y, const int64_t *idx, int64_t B);
mfs_status mfs__nn_copy_cuda(float *dst, const float *src, int64_t n);
mfs_status mfs__nn_zero_cuda(float *x, int64_t n);
mfs_status mfs__nn_accumulate_cuda(double *acc, const float *x, int64_t n, double coef);
/* Sample weights: dz (B, K) row b and loss[b] are multiplied by w[idx[b]]
 * (w: the n weights, idx: the batch's rows, both on the device). */
mfs_status mfs__nn_weight_rows_cuda(float *dz, float *loss, const float *w, const int64_t *idx, int64_t B, int64_t K);
/* *first = the lowest index i < n with x[i] NaN or infinite, or n if none
 * (x on the device, first on the host; synchronizes). */
mfs_status mfs__nn_first_nonfinite_cuda(const float *x, int64_t n, int64_t *first);
mfs_status mfs__optim_step_cuda(const struct mfs__optim *o, const struct mfs__net *net, float *p, const float *g,
                                float *s, double *acc, double coef);
/* cnn: conv2d / pool / batchnorm / flatten of src_c/neural/layers.h on DEVICE
 * pointers (same names + _cuda, same arguments and shapes), enqueued on the
 * calling thread's stream, not synchronized. The conv workspace is a device
 * buffer of mfs__conv2d_workspace_size_cuda bytes (its own size: the GPU
 * batches images into one GEMM). The GEMM of src_cuda/linalg may allocate. */
struct mfs__conv2d_dims;
struct mfs__pool2d_dims;
size_t mfs__conv2d_workspace_size_cuda(const struct mfs__conv2d_dims *d);
/* Which passes of d run the direct kernels of small images, without im2col
 * (src_cuda/neural/conv.cu): MFS_CONV_DIRECT_FWD (the forward, no workspace:
 * the zero-padded image and the weight fit in 48 KiB of shared memory) |
 * MFS_CONV_DIRECT_BWD (the backward: the padded image and an output row of
 * dout, and the weight, each within 48 KiB; the workspace holds the weight
 * gradient's partial sums). 0 without CUDA. Depends on the geometry only. */
enum { MFS_CONV_DIRECT_FWD = 1, MFS_CONV_DIRECT_BWD = 2 };
int mfs__conv2d_direct_cuda(const struct mfs__conv2d_dims *d);
mfs_status mfs__conv2d_forward_cuda(float *out, const float *inp, const float *weight, const float *bias,
                                    const struct mfs__conv2d_dims *d, float *work);
mfs_status mfs__conv2d_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout,
                                     const float *inp, const float *weight, const struct mfs__conv2d_dims *d,
                                     float *work);
mfs_status mfs__maxpool2d_forward_cuda(float *out, int32_t *argmax, const float *inp,
                                       const struct mfs__pool2d_dims *d);
mfs_status mfs__maxpool2d_backward_cuda(float *dinp, const float *dout, const int32_t *argmax,
                                        const struct mfs__pool2d_dims *d);
mfs_status mfs__avgpool2d_forward_cuda(float *out, const float *inp, const struct mfs__pool2d_dims *d);
mfs_status mfs__avgpool2d_backward_cuda(float *dinp, const float *dout, const struct mfs__pool2d_dims *d);
mfs_status mfs__flatten_forward_cuda(float *out, const float *inp, int64_t N);
mfs_status mfs__flatten_backward_cuda(float *dinp, const float *dout, int64_t N);
mfs_status mfs__batchnorm_forward_cuda(float *out, float *mean, float *rstd, float *running_mean,
                                       float *running_var, const float *inp, const float *weight,
                                       const float *bias, int64_t B, int64_t C, int64_t HW, float eps,
                                       float momentum, int32_t training);
mfs_status mfs__batchnorm_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout,
                                        const float *mean, const float *rstd, const float *inp,
                                        const float *weight, int64_t B, int64_t C, int64_t HW,
                                        int32_t training);

#ifdef __cplusplus
}
#endif
#endif
