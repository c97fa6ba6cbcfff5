/* Logistic Regression's loss and gradient on the GPU. X and the labels are
 * copied to the device once per fit (mfs__logreg_cuda_create); an evaluation
 * (mfs__logreg_cuda_eval) uploads the (kk, d) coefficients and runs
 *   Z = X W^T             tiled SGEMM of src_cuda/linalg (M = n, N = kk)
 *   residual_kernel       one thread per row: z += b, the row's log-loss
 *                         (stable softplus / log-sum-exp) summed in double,
 *                         Z <- P - Y in place; with sample weights s_i both
 *                         the loss and the residual row are scaled by s_i
 *   colsum_kernel         db[k] = sum_i Z[i, k] in double, one block per class
 *   G = Z^T X             SGEMM with K = n split into chunks summed in double
 * and downloads G (kk, d), db and the blocks' losses, which the host sums in
 * block order (a fixed order: the same bits every run). The L-BFGS
 * loop, the penalty and the 1/n scaling stay on the host
 * (src_c/classical/logistic_regression.c), as the CPU path's.
 * Legend: n rows, d features, kk coefficient rows (1 for two classes). */
#include <math.h>
#include <new>
#include "src_cuda/linalg/gemm.cuh"

namespace {
constexpr int ROW_THREADS = 256;
constexpr int64_t LOGREG_KCHUNK = 16384;

/* z (n, kk) with row stride pz: add b, write the residual s_i (p - onehot(y))
 * over it (s_i = sw[i], or 1 without weights), and the block's sum of the rows'
 * s_i log-loss_i to block_loss[block]. kk = 1: sigmoid, target y == 1. */
__global__ void __launch_bounds__(ROW_THREADS)
residual_kernel(float *__restrict__ Z, int64_t n, int kk, int64_t pz, const float *__restrict__ b,
                const int32_t *__restrict__ y, const float *__restrict__ sw, double *__restrict__ block_loss) {
    __shared__ double scratch[32];
    double l = 0.0;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float *z = Z + i * pz;
        const int32_t yi = y[i];
        const float wi = sw ? sw[i] : 1.f;
        if (kk == 1) {
            const float v = z[0] + b[0], t = yi == 1 ? 1.f : 0.f;
            const float e = expf(-fabsf(v));
            const float sig = v >= 0.f ? 1.f / (1.f + e) : e / (1.f + e);
            z[0] = (sig - t) * wi;
            l += ((double)(fmaxf(v, 0.f) + log1pf(e)) - (double)t * v) * (double)wi;
        } else {
            float zmax = -INFINITY;
            for (int k = 0; k < kk; k++) zmax = fmaxf(zmax, z[k] + b[k]);
            float s = 0.f;
            for (int k = 0; k < kk; k++) s += expf(z[k] + b[k] - zmax);
            const float inv = 1.f / s, zy = z[yi] + b[yi];
            for (int k = 0; k < kk; k++) z[k] = (expf(z[k] + b[k] - zmax) * inv - (k == yi ? 1.f : 0.f)) * wi;
            l += ((double)logf(s) + (double)zmax - (double)zy) * (double)wi;
        }
    }
    l = mfs__block_sum(l, scratch);
    if (threadIdx.x == 0) block_loss[blockIdx.x] = l;
}

/* out[k] = sum_i Z[i, k] in double; block k sums column k. */
__global__ void __launch_bounds__(ROW_THREADS)
colsum_kernel(const float *__restrict__ Z, int64_t n, int64_t pz, double *__restrict__ out) {
    __shared__ double scratch[32];
    const int k = blockIdx.x;
    double s = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += Z[i * pz + k];
    s = mfs__block_sum(s, scratch);
    if (threadIdx.x == 0) out[k] = s;
}
} /* namespace */

struct mfs__logreg_cuda {
    mfs_mem_counter *mem = nullptr;
    int64_t n = 0, d = 0, kk = 0, px = 0, pw = 0, pz = 0, pg = 0;
    mfs_dev_buf<float> X, W, b, Z, G; /* (n, px), (kk, pw), (kk), (n, pz), (kk, pg) */
    mfs_dev_buf<int32_t> y;           /* (n) */
    mfs_dev_buf<float> sw;            /* (n) sample weights, or empty: all 1 */
    mfs_dev_buf<double> red;          /* db (kk) then the blocks' losses (blocks) */
    int64_t blocks = 0;               /* of residual_kernel */
    double *host = nullptr;           /* staging, from mfs__malloc: the block losses (blocks), then G (kk, d) floats */
};

extern "C" mfs_status mfs__logreg_cuda_create(const float *X, const int32_t *y, const float *sw, int64_t n,
                                              int64_t d, int64_t kk, mfs_mem_counter *mem, mfs__logreg_cuda **out) {
    const char *fn = "mfs__logreg_cuda_create";
    if (!out) return mfs__error(MFS_E_INVALID_ARG, "%s: out is NULL", fn);
    *out = nullptr;
    if (!X || !y || n < 1 || d < 1 || kk < 1 || kk > INT32_MAX)
        return mfs__error(MFS_E_INVALID_ARG, "%s: needs X, y and n >= 1, d >= 1, kk >= 1 (n=%lld, d=%lld, kk=%lld)",
                          fn, (long long)n, (long long)d, (long long)kk);
    MFS_TRY(mfs__cuda_require(fn));
    void *mem_s = mfs__calloc(1, sizeof(mfs__logreg_cuda));
    if (!mem_s) return mfs__error(MFS_E_NOMEM, "%s: out of memory for the GPU state", fn);
    mfs__logreg_cuda *s = new (mem_s) mfs__logreg_cuda();
    s->mem = mfs__cuda_counter(mem);
    s->n = n; s->d = d; s->kk = kk;
    s->pw = mfs__round_up(d, 4);
    s->pz = mfs__round_up(kk, 4);
    s->pg = mfs__round_up(d, 4);
    mfs_status st = MFS_OK;
    size_t gbytes = 0;
    s->blocks = mfs__ceil_div(n, ROW_THREADS);
    const int64_t max_blocks = 8 * (int64_t)(mfs__cuda_sm_count() > 0 ? mfs__cuda_sm_count() : 16);
    if (s->blocks > max_blocks) s->blocks = max_blocks;
    if ((st = mfs__cuda_bytes(fn, kk * d + 2 * s->blocks, sizeof(float), &gbytes)) == MFS_OK &&
        !(s->host = (double *)mfs__malloc(gbytes)))
        st = mfs__error(MFS_E_NOMEM, "%s: out of memory for the gradient", fn);
    if (st == MFS_OK) st = mfs__upload_matrix(fn, s->X, X, n, d, d, &s->px, s->mem);
    if (st == MFS_OK) st = s->y.alloc(fn, n, s->mem);
    if (st == MFS_OK && sw) st = s->sw.alloc(fn, n, s->mem);
    if (st == MFS_OK) st = s->W.alloc(fn, kk * s->pw, s->mem);
    if (st == MFS_OK) st = s->b.alloc(fn, kk, s->mem);
    if (st == MFS_OK) st = s->Z.alloc(fn, n * s->pz, s->mem);
    if (st == MFS_OK) st = s->G.alloc(fn, kk * s->pg, s->mem);
    if (st == MFS_OK) st = s->red.alloc(fn, kk + s->blocks, s->mem);
    if (st == MFS_OK) {
        cudaError_t e = cudaMemcpyAsync(s->y.ptr, y, (size_t)n * sizeof(int32_t), cudaMemcpyHostToDevice, MFS_STREAM);
        if (e == cudaSuccess && sw)
            e = cudaMemcpyAsync(s->sw.ptr, sw, (size_t)n * sizeof(float), cudaMemcpyHostToDevice, MFS_STREAM);
        if (e == cudaSuccess) e = cudaMemsetAsync(s->W.ptr, 0, s->W.bytes, MFS_STREAM); /* zero padding */
        if (e != cudaSuccess) st = mfs__cuda_fail(fn, "uploading the labels", e);
    }
    if (st != MFS_OK) {
        mfs__logreg_cuda_free(s);
        return st;
    }
    *out = s;
    return MFS_OK;
}

extern "C" mfs_status mfs__logreg_cuda_eval(mfs__logreg_cuda *s, const float *coef, const float *intercept,
                                            double *loss, double *dcoef, double *dintercept) {
    const char *fn = "mfs__logreg_cuda_eval";
    if (!s || !coef || !intercept || !loss || !dcoef || !dintercept)
        return mfs__error(MFS_E_INVALID_ARG, "%s: a pointer argument is NULL", fn);
    const int64_t n = s->n, d = s->d, kk = s->kk;
    MFS_CUDA_CHECK(fn, cudaMemcpy2DAsync(s->W.ptr, (size_t)s->pw * sizeof(float), coef, (size_t)d * sizeof(float),
                                         (size_t)d * sizeof(float), (size_t)kk, cudaMemcpyHostToDevice, MFS_STREAM));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(s->b.ptr, intercept, (size_t)kk * sizeof(float), cudaMemcpyHostToDevice, MFS_STREAM));
    /* Z (n, kk) = X W^T */
    MFS_TRY(mfs__sgemm_dev(fn, 0, 1, n, kk, d, 1.f, s->X.ptr, s->px, s->W.ptr, s->pw, 0.f, s->Z.ptr, s->pz, 0, 0,
                           s->mem));
    residual_kernel<<<(unsigned)s->blocks, ROW_THREADS, 0, MFS_STREAM>>>(s->Z.ptr, n, (int)kk, s->pz, s->b.ptr,
                                                                       s->y.ptr, s->sw.ptr, s->red.ptr + kk);
    MFS_CUDA_LAUNCHED(fn, "residual_kernel");
    colsum_kernel<<<(unsigned)kk, ROW_THREADS, 0, MFS_STREAM>>>(s->Z.ptr, n, s->pz, s->red.ptr);
    MFS_CUDA_LAUNCHED(fn, "colsum_kernel");
    /* G (kk, d) = Z^T X, the n products in chunks summed in double */
    MFS_TRY(mfs__sgemm_dev(fn, 1, 0, kk, d, n, 1.f, s->Z.ptr, s->pz, s->X.ptr, s->px, 0.f, s->G.ptr, s->pg, 0,
                           LOGREG_KCHUNK, s->mem));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(dintercept, s->red.ptr, (size_t)kk * sizeof(double), cudaMemcpyDeviceToHost,
                                       MFS_STREAM));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(s->host, s->red.ptr + kk, (size_t)s->blocks * sizeof(double),
                                       cudaMemcpyDeviceToHost, MFS_STREAM));
    float *g_host = (float *)(s->host + s->blocks);
    MFS_TRY(mfs__download_matrix(fn, g_host, d, s->G.ptr, kk, d, s->pg)); /* synchronizes */
    for (int64_t j = 0; j < kk * d; j++) dcoef[j] = g_host[j];
    double l = 0.0;
    for (int64_t i = 0; i < s->blocks; i++) l += s->host[i]; /* in block order: the same bits every run */
    *loss = l;
    return MFS_OK;
}

extern "C" void mfs__logreg_cuda_free(mfs__logreg_cuda *s) {
    if (!s) return;
    mfs__free(s->host);
    s->~mfs__logreg_cuda(); /* releases the device buffers */
    mfs__free(s);
}
