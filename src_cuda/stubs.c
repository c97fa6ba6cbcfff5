/* The CUDA entry points of a CPU-only build (MFS_CUDA=OFF or no nvcc): no
 * device, and every operation answers MFS_E_DEVICE with a message, so model
 * files call the _cuda functions without an #ifdef. */
#include "src_cuda/cuda_api.h"

#define MFS_NO_CUDA(fn) mfs__error(MFS_E_DEVICE, "%s: libmfs was built without CUDA", fn)

int32_t mfs__cuda_device_count(void) { return 0; }

mfs_status mfs__cuda_require(const char *fn) { return MFS_NO_CUDA(fn ? fn : "mfs__cuda_require"); }

mfs_status mfs__cuda_alloc(void **dev, size_t bytes, mfs_mem_counter *mem) {
    (void)bytes; (void)mem;
    if (dev) *dev = NULL;
    return MFS_NO_CUDA("mfs__cuda_alloc");
}

void mfs__cuda_release(void *dev, size_t bytes, mfs_mem_counter *mem) {
    (void)dev; (void)bytes; (void)mem; /* nothing can have been allocated */
}

mfs_status mfs__cuda_alloc_scratch(void **dev, size_t bytes, mfs_mem_counter *mem) {
    (void)bytes; (void)mem;
    if (dev) *dev = NULL;
    return MFS_NO_CUDA("mfs__cuda_alloc");
}

void mfs__cuda_release_scratch(void *dev, size_t bytes, mfs_mem_counter *mem) {
    (void)dev; (void)bytes; (void)mem;
}

mfs_status mfs__cuda_upload(void *dev, const void *host, size_t bytes) {
    (void)dev; (void)host; (void)bytes;
    return MFS_NO_CUDA("mfs__cuda_upload");
}

int mfs__cuda_stage_acquire(void *buf[2], size_t *bytes) {
    (void)buf; (void)bytes;
    return 0; /* callers fall back to mfs__cuda_upload, which reports the missing CUDA */
}

mfs_status mfs__cuda_stage_wait(int i) {
    (void)i;
    return MFS_NO_CUDA("mfs__cuda_stage_wait");
}

mfs_status mfs__cuda_stage_send(void *dev, int i, size_t bytes) {
    (void)dev; (void)i; (void)bytes;
    return MFS_NO_CUDA("mfs__cuda_stage_send");
}

mfs_status mfs__cuda_stage_release(void) { return MFS_NO_CUDA("mfs__cuda_stage_release"); }

mfs_status mfs__cuda_download(void *host, const void *dev, size_t bytes) {
    (void)host; (void)dev; (void)bytes;
    return MFS_NO_CUDA("mfs__cuda_download");
}

mfs_status mfs_sgemm_cuda(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                          const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                          float *C, int64_t ldc) {
    (void)trans_a; (void)trans_b; (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda;
    (void)B; (void)ldb; (void)beta; (void)C; (void)ldc;
    return MFS_NO_CUDA("mfs_sgemm_cuda");
}

mfs_status mfs__centered_gram_cuda(const float *X, int64_t n, int64_t d, const double *mean,
                                   float *G, mfs_mem_counter *mem) {
    (void)X; (void)n; (void)d; (void)mean; (void)G; (void)mem;
    return MFS_NO_CUDA("mfs__centered_gram_cuda");
}

mfs_status mfs__linreg_normal_cuda(const float *X, const float *Y, int64_t n, int64_t d, int64_t t,
                                   const double *xmean, const double *ymean, const float *sw, float *XtX,
                                   float *XtY, mfs_mem_counter *mem) {
    (void)X; (void)Y; (void)n; (void)d; (void)t; (void)xmean; (void)ymean; (void)sw; (void)XtX; (void)XtY;
    (void)mem;
    return MFS_NO_CUDA("mfs__linreg_normal_cuda");
}

mfs_status mfs__kmeans_lloyd_cuda(const float *X, int64_t n, int64_t d, int64_t k, int32_t max_iter,
                                  double tol, float *centers, int32_t *labels, double *inertia,
                                  int32_t *n_iter, mfs_mem_counter *mem) {
    (void)X; (void)n; (void)d; (void)k; (void)max_iter; (void)tol; (void)centers; (void)labels;
    (void)inertia; (void)n_iter; (void)mem;
    return MFS_NO_CUDA("mfs__kmeans_lloyd_cuda");
}

mfs_status mfs__kmeans_assign_cuda(const float *X, int64_t n, int64_t d, const float *centers,
                                   int64_t k, int32_t *labels, float *dist, mfs_mem_counter *mem) {
    (void)X; (void)n; (void)d; (void)centers; (void)k; (void)labels; (void)dist; (void)mem;
    return MFS_NO_CUDA("mfs__kmeans_assign_cuda");
}

mfs_status mfs__pca_transform_cuda(const float *X, int64_t n, int64_t d, const double *mean,
                                   const float *components, int64_t k, float *out,
                                   mfs_mem_counter *mem) {
    (void)X; (void)n; (void)d; (void)mean; (void)components; (void)k; (void)out; (void)mem;
    return MFS_NO_CUDA("mfs__pca_transform_cuda");
}

mfs_status mfs__naive_bayes_discrete_cuda(const float *X, int64_t n, int64_t d, int64_t K, const float *W,
                                          const double *bias, double binarize, float *log_proba,
                                          int32_t *labels, mfs_mem_counter *mem) {
    (void)X; (void)n; (void)d; (void)K; (void)W; (void)bias; (void)binarize; (void)log_proba; (void)labels;
    (void)mem;
    return MFS_NO_CUDA("mfs__naive_bayes_discrete_cuda");
}

mfs_status mfs__naive_bayes_gaussian_cuda(const float *X, int64_t n, int64_t d, int64_t K, const double *theta,
                                          const double *prec, const double *bias, float *log_proba,
                                          int32_t *labels, mfs_mem_counter *mem) {
    (void)X; (void)n; (void)d; (void)K; (void)theta; (void)prec; (void)bias; (void)log_proba; (void)labels;
    (void)mem;
    return MFS_NO_CUDA("mfs__naive_bayes_gaussian_cuda");
}

mfs_status mfs__knn_candidates_cuda(const float *T, int64_t n, const float *Q, int64_t m, int64_t d,
                                    int32_t metric, const float *mean, int64_t k, int64_t *idx,
                                    mfs_mem_counter *mem) {
    (void)T; (void)n; (void)Q; (void)m; (void)d; (void)metric; (void)mean; (void)k; (void)idx; (void)mem;
    return MFS_NO_CUDA("mfs__knn_candidates_cuda");
}

mfs_status mfs__logreg_cuda_create(const float *X, const int32_t *y, const float *sample_weight,
                                   int64_t n, int64_t d, int64_t kk, mfs_mem_counter *mem,
                                   mfs__logreg_cuda **out) {
    (void)X; (void)y; (void)sample_weight; (void)n; (void)d; (void)kk; (void)mem;
    if (out) *out = NULL;
    return MFS_NO_CUDA("mfs__logreg_cuda_create");
}

mfs_status mfs__logreg_cuda_eval(mfs__logreg_cuda *state, const float *coef,
                                 const float *intercept, double *loss, double *dcoef,
                                 double *dintercept) {
    (void)state; (void)coef; (void)intercept; (void)loss; (void)dcoef; (void)dintercept;
    return MFS_NO_CUDA("mfs__logreg_cuda_eval");
}

void mfs__logreg_cuda_free(mfs__logreg_cuda *state) { (void)state; /* nothing was allocated */ }

/* ---- decision_tree + random_forest: stubs of its entry points below this line ---- */

mfs_status mfs__tree_apply_cuda(const int32_t *children_left, const int32_t *children_right,
                                const int32_t *feature, const double *threshold, int64_t n_nodes,
                                const int64_t *node_offset, int64_t n_trees, const float *X, int64_t m,
                                int64_t d, int32_t *leaves, mfs_mem_counter *mem) {
    (void)children_left; (void)children_right; (void)feature; (void)threshold; (void)n_nodes;
    (void)node_offset; (void)n_trees; (void)X; (void)m; (void)d; (void)leaves; (void)mem;
    return MFS_NO_CUDA("mfs__tree_apply_cuda");
}

mfs_status mfs__tree_predict_cuda(const int32_t *children_left, const int32_t *children_right,
                                  const int32_t *feature, const double *threshold, const double *value,
                                  int64_t n_nodes, int32_t V, const int64_t *node_offset, int64_t n_trees,
                                  const float *X, int64_t m, int64_t d, float *out, mfs_mem_counter *mem) {
    (void)children_left; (void)children_right; (void)feature; (void)threshold; (void)value; (void)n_nodes;
    (void)V; (void)node_offset; (void)n_trees; (void)X; (void)m; (void)d; (void)out; (void)mem;
    return MFS_NO_CUDA("mfs__tree_predict_cuda");
}

mfs_status mfs__random_forest_predict_cuda(const float *X, int64_t n, int64_t d, int64_t T,
                                           const int64_t *offsets, const int32_t *depth,
                                           const mfs__forest_node *nodes,
                                           int64_t N, const double *value, int64_t V, float *mean,
                                           int32_t *labels, mfs_mem_counter *mem) {
    (void)X; (void)n; (void)d; (void)T; (void)offsets; (void)depth; (void)nodes; (void)N; (void)value; (void)V;
    (void)mean; (void)labels; (void)mem;
    return MFS_NO_CUDA("mfs__random_forest_predict_cuda");
}

/* ---- svm + linear_svm: stubs of its entry points below this line ---- */

mfs_status mfs__svm_cuda_create(const float *X, int64_t n, int64_t d, int32_t kernel, int32_t degree,
                                double gamma, double coef0, mfs_mem_counter *mem, mfs__svm_cuda **out) {
    (void)X; (void)n; (void)d; (void)kernel; (void)degree; (void)gamma; (void)coef0; (void)mem;
    if (out) *out = NULL;
    return MFS_NO_CUDA("mfs__svm_cuda_create");
}

mfs_status mfs__svm_cuda_order(mfs__svm_cuda *state, const int32_t *order, int64_t len) {
    (void)state; (void)order; (void)len;
    return MFS_NO_CUDA("mfs__svm_cuda_order");
}

mfs_status mfs__svm_cuda_row(mfs__svm_cuda *state, int64_t row, int64_t start, int64_t len, float *out) {
    (void)state; (void)row; (void)start; (void)len; (void)out;
    return MFS_NO_CUDA("mfs__svm_cuda_row");
}

void mfs__svm_cuda_free(mfs__svm_cuda *state) { (void)state; /* nothing was allocated */ }

mfs_status mfs__svm_decision_cuda(const float *X, int64_t m, int64_t d, const float *SV, int64_t nsv,
                                  const double *W, const double *rho, int64_t P, int32_t kernel,
                                  int32_t degree, double gamma, double coef0, double *dec,
                                  mfs_mem_counter *mem) {
    (void)X; (void)m; (void)d; (void)SV; (void)nsv; (void)W; (void)rho; (void)P; (void)kernel;
    (void)degree; (void)gamma; (void)coef0; (void)dec; (void)mem;
    return MFS_NO_CUDA("mfs__svm_decision_cuda");
}

/* ---- neural (mlp, cnn, layers): stubs of its entry points below this line ---- */
/* mlp: dense layers and the trainer's device steps */
mfs_status mfs__linear_forward_cuda(float *out, const float *inp, const float *weight, const float *bias,
                                    int64_t B, int64_t C_in, int64_t C_out, mfs_mem_counter *mem) {
    (void)out; (void)inp; (void)weight; (void)bias; (void)B; (void)C_in; (void)C_out; (void)mem;
    return MFS_NO_CUDA("mfs__linear_forward_cuda");
}
mfs_status mfs__linear_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout,
                                     const float *inp, const float *weight, int64_t B, int64_t C_in,
                                     int64_t C_out, mfs_mem_counter *mem) {
    (void)dinp; (void)dweight; (void)dbias; (void)dout; (void)inp; (void)weight; (void)B; (void)C_in;
    (void)C_out; (void)mem;
    return MFS_NO_CUDA("mfs__linear_backward_cuda");
}
mfs_status mfs__activation_forward_cuda(float *out, const float *inp, int64_t N, int32_t act) {
    (void)out; (void)inp; (void)N; (void)act;
    return MFS_NO_CUDA("mfs__activation_forward_cuda");
}
mfs_status mfs__activation_backward_cuda(float *dinp, const float *dout, const float *out, const float *inp,
                                         int64_t N, int32_t act) {
    (void)dinp; (void)dout; (void)out; (void)inp; (void)N; (void)act;
    return MFS_NO_CUDA("mfs__activation_backward_cuda");
}
mfs_status mfs__softmax_crossentropy_forward_cuda(float *probs, float *losses, const float *logits,
                                                  const int32_t *targets, int64_t B, int64_t K) {
    (void)probs; (void)losses; (void)logits; (void)targets; (void)B; (void)K;
    return MFS_NO_CUDA("mfs__softmax_crossentropy_forward_cuda");
}
mfs_status mfs__softmax_crossentropy_backward_cuda(float *dlogits, const float *probs, const int32_t *targets,
                                                   int64_t B, int64_t K, float scale) {
    (void)dlogits; (void)probs; (void)targets; (void)B; (void)K; (void)scale;
    return MFS_NO_CUDA("mfs__softmax_crossentropy_backward_cuda");
}
mfs_status mfs__sigmoid_crossentropy_forward_cuda(float *probs, float *losses, const float *logits,
                                                  const float *targets, int64_t B, int64_t K) {
    (void)probs; (void)losses; (void)logits; (void)targets; (void)B; (void)K;
    return MFS_NO_CUDA("mfs__sigmoid_crossentropy_forward_cuda");
}
mfs_status mfs__sigmoid_crossentropy_backward_cuda(float *dlogits, const float *probs, const float *targets,
                                                   int64_t B, int64_t K, float scale) {
    (void)dlogits; (void)probs; (void)targets; (void)B; (void)K; (void)scale;
    return MFS_NO_CUDA("mfs__sigmoid_crossentropy_backward_cuda");
}
mfs_status mfs__mse_forward_cuda(float *losses, const float *pred, const float *target, int64_t B, int64_t K) {
    (void)losses; (void)pred; (void)target; (void)B; (void)K;
    return MFS_NO_CUDA("mfs__mse_forward_cuda");
}
mfs_status mfs__mse_backward_cuda(float *dpred, const float *pred, const float *target, int64_t B, int64_t K,
                                  float scale) {
    (void)dpred; (void)pred; (void)target; (void)B; (void)K; (void)scale;
    return MFS_NO_CUDA("mfs__mse_backward_cuda");
}
mfs_status mfs__dropout_forward_cuda(float *out, const float *inp, int64_t N, float p, uint64_t seed,
                                     uint64_t stream) {
    (void)out; (void)inp; (void)N; (void)p; (void)seed; (void)stream;
    return MFS_NO_CUDA("mfs__dropout_forward_cuda");
}
mfs_status mfs__dropout_backward_cuda(float *dinp, const float *dout, int64_t N, float p, uint64_t seed,
                                      uint64_t stream) {
    (void)dinp; (void)dout; (void)N; (void)p; (void)seed; (void)stream;
    return MFS_NO_CUDA("mfs__dropout_backward_cuda");
}
mfs_status mfs__layernorm_forward_cuda(float *out, float *mean, float *rstd, const float *inp,
                                       const float *weight, const float *bias, int64_t B, int64_t C, float eps) {
    (void)out; (void)mean; (void)rstd; (void)inp; (void)weight; (void)bias; (void)B; (void)C; (void)eps;
    return MFS_NO_CUDA("mfs__layernorm_forward_cuda");
}
mfs_status mfs__layernorm_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout,
                                        const float *mean, const float *rstd, const float *inp,
                                        const float *weight, int64_t B, int64_t C) {
    (void)dinp; (void)dweight; (void)dbias; (void)dout; (void)mean; (void)rstd; (void)inp; (void)weight;
    (void)B; (void)C;
    return MFS_NO_CUDA("mfs__layernorm_backward_cuda");
}
mfs_status mfs__nn_first_nonfinite_cuda(const float *x, int64_t n, int64_t *first) {
    (void)x;
    if (first) *first = n;
    return MFS_NO_CUDA("mfs__nn_first_nonfinite_cuda");
}

mfs_status mfs__nn_gather_rows_cuda(float *out, const float *X, const int64_t *idx, int64_t B, int64_t d) {
    (void)out; (void)X; (void)idx; (void)B; (void)d;
    return MFS_NO_CUDA("mfs__nn_gather_rows_cuda");
}
mfs_status mfs__nn_gather_labels_cuda(int32_t *out, const int32_t *y, const int64_t *idx, int64_t B) {
    (void)out; (void)y; (void)idx; (void)B;
    return MFS_NO_CUDA("mfs__nn_gather_labels_cuda");
}
mfs_status mfs__nn_copy_cuda(float *dst, const float *src, int64_t n) {
    (void)dst; (void)src; (void)n;
    return MFS_NO_CUDA("mfs__nn_copy_cuda");
}
mfs_status mfs__nn_zero_cuda(float *x, int64_t n) {
    (void)x; (void)n;
    return MFS_NO_CUDA("mfs__nn_zero_cuda");
}
mfs_status mfs__nn_accumulate_cuda(double *acc, const float *x, int64_t n, double coef) {
    (void)acc; (void)x; (void)n; (void)coef;
    return MFS_NO_CUDA("mfs__nn_accumulate_cuda");
}
mfs_status mfs__nn_weight_rows_cuda(float *dz, float *loss, const float *w, const int64_t *idx, int64_t B, int64_t K) {
    (void)dz; (void)loss; (void)w; (void)idx; (void)B; (void)K;
    return MFS_NO_CUDA("mfs__nn_weight_rows_cuda");
}
mfs_status mfs__optim_step_cuda(const struct mfs__optim *o, const struct mfs__net *net, float *p, const float *g,
                                float *s, double *acc, double coef) {
    (void)o; (void)net; (void)p; (void)g; (void)s; (void)acc; (void)coef;
    return MFS_NO_CUDA("mfs__optim_step_cuda");
}
/* cnn: conv2d / pool / batchnorm / flatten */
size_t mfs__conv2d_workspace_size_cuda(const struct mfs__conv2d_dims *d) {
    (void)d;
    return 0;
}
int mfs__conv2d_direct_cuda(const struct mfs__conv2d_dims *d) {
    (void)d;
    return 0;
}
mfs_status mfs__conv2d_forward_cuda(float *out, const float *inp, const float *weight, const float *bias,
                                    const struct mfs__conv2d_dims *d, float *work) {
    (void)out; (void)inp; (void)weight; (void)bias; (void)d; (void)work;
    return MFS_NO_CUDA("mfs__conv2d_forward_cuda");
}
mfs_status mfs__conv2d_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout,
                                     const float *inp, const float *weight, const struct mfs__conv2d_dims *d,
                                     float *work) {
    (void)dinp; (void)dweight; (void)dbias; (void)dout; (void)inp; (void)weight; (void)d; (void)work;
    return MFS_NO_CUDA("mfs__conv2d_backward_cuda");
}
mfs_status mfs__maxpool2d_forward_cuda(float *out, int32_t *argmax, const float *inp,
                                       const struct mfs__pool2d_dims *d) {
    (void)out; (void)argmax; (void)inp; (void)d;
    return MFS_NO_CUDA("mfs__maxpool2d_forward_cuda");
}
mfs_status mfs__maxpool2d_backward_cuda(float *dinp, const float *dout, const int32_t *argmax,
                                        const struct mfs__pool2d_dims *d) {
    (void)dinp; (void)dout; (void)argmax; (void)d;
    return MFS_NO_CUDA("mfs__maxpool2d_backward_cuda");
}
mfs_status mfs__avgpool2d_forward_cuda(float *out, const float *inp, const struct mfs__pool2d_dims *d) {
    (void)out; (void)inp; (void)d;
    return MFS_NO_CUDA("mfs__avgpool2d_forward_cuda");
}
mfs_status mfs__avgpool2d_backward_cuda(float *dinp, const float *dout, const struct mfs__pool2d_dims *d) {
    (void)dinp; (void)dout; (void)d;
    return MFS_NO_CUDA("mfs__avgpool2d_backward_cuda");
}
mfs_status mfs__flatten_forward_cuda(float *out, const float *inp, int64_t N) {
    (void)out; (void)inp; (void)N;
    return MFS_NO_CUDA("mfs__flatten_forward_cuda");
}
mfs_status mfs__flatten_backward_cuda(float *dinp, const float *dout, int64_t N) {
    (void)dinp; (void)dout; (void)N;
    return MFS_NO_CUDA("mfs__flatten_backward_cuda");
}
mfs_status mfs__batchnorm_forward_cuda(float *out, float *mean, float *rstd, float *running_mean,
                                       float *running_var, const float *inp, const float *weight,
                                       const float *bias, int64_t B, int64_t C, int64_t HW, float eps,
                                       float momentum, int32_t training) {
    (void)out; (void)mean; (void)rstd; (void)running_mean; (void)running_var; (void)inp; (void)weight;
    (void)bias; (void)B; (void)C; (void)HW; (void)eps; (void)momentum; (void)training;
    return MFS_NO_CUDA("mfs__batchnorm_forward_cuda");
}
mfs_status mfs__batchnorm_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout,
                                        const float *mean, const float *rstd, const float *inp,
                                        const float *weight, int64_t B, int64_t C, int64_t HW,
                                        int32_t training) {
    (void)dinp; (void)dweight; (void)dbias; (void)dout; (void)mean; (void)rstd; (void)inp; (void)weight;
    (void)B; (void)C; (void)HW; (void)training;
    return MFS_NO_CUDA("mfs__batchnorm_backward_cuda");
}
