/* Naive Bayes prediction on the GPU: the joint log-likelihood and its
 * log-softmax. Discrete models: A W^T on the device GEMM (A = X, or X >
 * binarize for Bernoulli), then one thread per row adds the class bias and
 * normalizes in double. Gaussian: one thread per (row, class) sums
 * (x - theta)^2 / var over the features in double (the exact form: the
 * expansion the CPU sends through its GEMM needs a per-feature fallback, and
 * fp64 on the GPU is cheap at these sizes). Rows go in blocks so device memory
 * stays bounded for any n. Fitting (sufficient statistics, one pass over X)
 * stays on the CPU: src_c/classical/naive_bayes.c. */
#include <math.h>
#include "src_cuda/linalg/gemm.cuh"

namespace {
constexpr int64_t NB_BLOCK_BYTES = (int64_t)256 << 20; /* X block on the device */
constexpr int NB_THREADS = 256;

__global__ void binarize_kernel(float *X, int64_t rows, int64_t d, int64_t pitch, float thr) {
    const int64_t q = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= rows * d) return;
    const int64_t i = q / d, j = q % d;
    float *x = X + i * pitch + j;
    *x = *x > thr ? 1.f : 0.f;
}

/* jll (rows, K) with row stride ld: jll_k = bias_k - 0.5 sum_j (x_j - theta_kj)^2 prec_kj */
__global__ void gaussian_jll_kernel(const float *X, int64_t rows, int64_t d, int64_t px, int64_t K,
                                    const double *theta, const double *prec, const double *bias,
                                    double *jll) {
    const int64_t q = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= rows * K) return;
    const int64_t i = q / K, k = q % K;
    const float *x = X + i * px;
    const double *th = theta + k * d, *pr = prec + k * d;
    double s = 0;
    for (int64_t j = 0; j < d; j++) {
        const double e = (double)x[j] - th[j];
        s += e * e * pr[j];
    }
    jll[i * K + k] = bias[k] - 0.5 * s;
}

/* One thread per row: jll (+ bias when given) -> log-softmax and argmax. */
template <typename T>
__global__ void finish_kernel(const T *jll, int64_t rows, int64_t K, int64_t ld, const double *bias,
                              float *log_proba, int32_t *labels) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows) return;
    const T *j = jll + i * ld;
    int64_t best = 0;
    double mx = -INFINITY;
    for (int64_t k = 0; k < K; k++) {
        const double v = (double)j[k] + (bias ? bias[k] : 0.0);
        if (k == 0 || v > mx) {
            mx = v;
            best = k;
        }
    }
    if (labels) labels[i] = (int32_t)best;
    if (!log_proba) return;
    double s = 0;
    for (int64_t k = 0; k < K; k++) s += exp((double)j[k] + (bias ? bias[k] : 0.0) - mx);
    const double lse = mx + log(s);
    for (int64_t k = 0; k < K; k++) log_proba[i * K + k] = (float)((double)j[k] + (bias ? bias[k] : 0.0) - lse);
}

mfs_status upload_doubles(const char *fn, mfs_dev_buf<double> &buf, const double *host, int64_t count,
                          mfs_mem_counter *mem) {
    MFS_TRY(buf.alloc(fn, count, mem));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(buf.ptr, host, (size_t)count * sizeof(double), cudaMemcpyHostToDevice,
                                       MFS_STREAM));
    return MFS_OK;
}

int64_t block_rows(int64_t n, int64_t d, int64_t K) {
    const int64_t row_bytes = (mfs__round_up(d, 4) + 2 * K) * (int64_t)sizeof(float) + K * (int64_t)sizeof(double);
    int64_t rows = NB_BLOCK_BYTES / row_bytes;
    if (rows < 1024) rows = 1024;
    return rows > n ? n : rows;
}

/* Copy a block of results back: log_proba (b, K) and labels (b). */
mfs_status download_block(const char *fn, const float *dLP, const int32_t *dL, int64_t b, int64_t K,
                          float *log_proba, int32_t *labels) {
    if (log_proba)
        MFS_CUDA_CHECK(fn, cudaMemcpyAsync(log_proba, dLP, (size_t)(b * K) * sizeof(float), cudaMemcpyDeviceToHost,
                                           MFS_STREAM));
    if (labels)
        MFS_CUDA_CHECK(fn, cudaMemcpyAsync(labels, dL, (size_t)b * sizeof(int32_t), cudaMemcpyDeviceToHost,
                                           MFS_STREAM));
    MFS_CUDA_CHECK(fn, cudaStreamSynchronize(MFS_STREAM));
    return MFS_OK;
}

mfs_status upload_block(const char *fn, mfs_dev_buf<float> &dX, const float *X, int64_t b, int64_t d,
                        int64_t *px, mfs_mem_counter *mem) {
    if (!dX.ptr) return mfs__upload_matrix(fn, dX, X, b, d, d, px, mem);
    MFS_CUDA_CHECK(fn, cudaMemcpy2DAsync(dX.ptr, (size_t)*px * sizeof(float), X, (size_t)d * sizeof(float),
                                         (size_t)d * sizeof(float), (size_t)b, cudaMemcpyHostToDevice, MFS_STREAM));
    return MFS_OK;
}

mfs_status check_args(const char *fn, const float *X, int64_t n, int64_t d, int64_t K, const void *w,
                      const void *bias, const void *lp, const void *labels) {
    if (n < 0 || d < 1 || K < 1 || !X || !w || !bias || (!lp && !labels))
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: needs X, the weights, bias, an output and n >= 0, d >= 1, K >= 1 (n=%lld, d=%lld, K=%lld)",
                          fn, (long long)n, (long long)d, (long long)K);
    return MFS_OK;
}
} /* namespace */

extern "C" mfs_status mfs__naive_bayes_discrete_cuda(const float *X, int64_t n, int64_t d, int64_t K,
                                                     const float *W, const double *bias, double binarize,
                                                     float *log_proba, int32_t *labels, mfs_mem_counter *mem) {
    const char *fn = "mfs__naive_bayes_discrete_cuda";
    MFS_TRY(check_args(fn, X, n, d, K, W, bias, log_proba, labels));
    MFS_TRY(mfs__cuda_require(fn));
    if (n == 0) return MFS_OK;
    mem = mfs__cuda_counter(mem);
    mfs_dev_buf<float> dW, dX, dJ, dLP;
    mfs_dev_buf<int32_t> dL;
    mfs_dev_buf<double> dbias;
    int64_t pw = 0, px = 0;
    MFS_TRY(mfs__upload_matrix(fn, dW, W, K, d, d, &pw, mem));
    MFS_TRY(upload_doubles(fn, dbias, bias, K, mem));
    const int64_t rows = block_rows(n, d, K), pj = mfs__round_up(K, 4);
    MFS_TRY(dJ.alloc(fn, rows * pj, mem));
    if (log_proba) MFS_TRY(dLP.alloc(fn, rows * K, mem));
    if (labels) MFS_TRY(dL.alloc(fn, rows, mem));
    for (int64_t i0 = 0; i0 < n; i0 += rows) {
        const int64_t b = n - i0 < rows ? n - i0 : rows;
        MFS_TRY(upload_block(fn, dX, X + i0 * d, b, d, &px, mem));
        if (!isnan(binarize)) {
            const int64_t total = b * d;
            binarize_kernel<<<(unsigned)mfs__ceil_div(total, NB_THREADS), NB_THREADS, 0, MFS_STREAM>>>(
                dX.ptr, b, d, px, (float)binarize);
            MFS_CUDA_LAUNCHED(fn, "binarize_kernel");
        }
        MFS_TRY(mfs__sgemm_dev(fn, 0, 1, b, K, d, 1.f, dX.ptr, px, dW.ptr, pw, 0.f, dJ.ptr, pj, 0, 0, mem));
        finish_kernel<float><<<(unsigned)mfs__ceil_div(b, NB_THREADS), NB_THREADS, 0, MFS_STREAM>>>(
            dJ.ptr, b, K, pj, dbias.ptr, dLP.ptr, dL.ptr);
        MFS_CUDA_LAUNCHED(fn, "finish_kernel");
        MFS_TRY(download_block(fn, dLP.ptr, dL.ptr, b, K, log_proba ? log_proba + i0 * K : nullptr,
                               labels ? labels + i0 : nullptr));
    }
    return MFS_OK;
}

extern "C" mfs_status mfs__naive_bayes_gaussian_cuda(const float *X, int64_t n, int64_t d, int64_t K,
                                                     const double *theta, const double *prec,
                                                     const double *bias, float *log_proba, int32_t *labels,
                                                     mfs_mem_counter *mem) {
    const char *fn = "mfs__naive_bayes_gaussian_cuda";
    MFS_TRY(check_args(fn, X, n, d, K, theta, bias, log_proba, labels));
    if (!prec) return mfs__error(MFS_E_INVALID_ARG, "%s: prec is NULL", fn);
    MFS_TRY(mfs__cuda_require(fn));
    if (n == 0) return MFS_OK;
    mem = mfs__cuda_counter(mem);
    mfs_dev_buf<float> dX, dLP;
    mfs_dev_buf<double> dtheta, dprec, dbias, dJ;
    mfs_dev_buf<int32_t> dL;
    int64_t px = 0;
    MFS_TRY(upload_doubles(fn, dtheta, theta, K * d, mem));
    MFS_TRY(upload_doubles(fn, dprec, prec, K * d, mem));
    MFS_TRY(upload_doubles(fn, dbias, bias, K, mem));
    const int64_t rows = block_rows(n, d, K);
    MFS_TRY(dJ.alloc(fn, rows * K, mem));
    if (log_proba) MFS_TRY(dLP.alloc(fn, rows * K, mem));
    if (labels) MFS_TRY(dL.alloc(fn, rows, mem));
    for (int64_t i0 = 0; i0 < n; i0 += rows) {
        const int64_t b = n - i0 < rows ? n - i0 : rows;
        MFS_TRY(upload_block(fn, dX, X + i0 * d, b, d, &px, mem));
        gaussian_jll_kernel<<<(unsigned)mfs__ceil_div(b * K, NB_THREADS), NB_THREADS, 0, MFS_STREAM>>>(
            dX.ptr, b, d, px, K, dtheta.ptr, dprec.ptr, dbias.ptr, dJ.ptr);
        MFS_CUDA_LAUNCHED(fn, "gaussian_jll_kernel");
        finish_kernel<double><<<(unsigned)mfs__ceil_div(b, NB_THREADS), NB_THREADS, 0, MFS_STREAM>>>(
            dJ.ptr, b, K, K, nullptr, dLP.ptr, dL.ptr);
        MFS_CUDA_LAUNCHED(fn, "finish_kernel");
        MFS_TRY(download_block(fn, dLP.ptr, dL.ptr, b, K, log_proba ? log_proba + i0 * K : nullptr,
                               labels ? labels + i0 : nullptr));
    }
    return MFS_OK;
}
