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

mfs_status mfs__cuda_upload(void *dev, const void *host, size_t bytes) {
    (void)dev; (void)host; (void)bytes;
    return MFS_NO_CUDA("mfs__cuda_upload");
}

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
                                   const double *xmean, const double *ymean, float *XtX,
                                   float *XtY, mfs_mem_counter *mem) {
    (void)X; (void)Y; (void)n; (void)d; (void)t; (void)xmean; (void)ymean; (void)XtX; (void)XtY;
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

mfs_status mfs__logreg_cuda_create(const float *X, const int32_t *y, int64_t n, int64_t d,
                                   int64_t kk, mfs_mem_counter *mem, mfs__logreg_cuda **out) {
    (void)X; (void)y; (void)n; (void)d; (void)kk; (void)mem;
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

/* ---- svm + linear_svm: stubs of its entry points below this line ---- */

/* ---- neural (mlp, cnn, layers): stubs of its entry points below this line ---- */
