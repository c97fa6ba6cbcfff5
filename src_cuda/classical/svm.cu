/* Kernel SVM on the GPU: the kernel rows the host SMO loop asks for, and the
 * decision values of many rows. The SMO loop itself (working-set selection,
 * the two-variable update, the gradient, shrinking, the row cache) stays on the
 * host in src_c/classical/svm.c: each iteration depends on the last, and the
 * cache makes most rows free; a missing row is one launch here.
 *
 * Rows: X is kept transposed on the device, XT (d, n), so that thread k reads
 * feature j of row order[k] next to thread k+1's (order is the identity until
 * shrinking permutes it, and stays mostly sequential after). Each thread sums
 * its dot product over the features in order, in double, as the CPU's dots_t
 * does, so a kernel value equals the CPU's up to the last bits of exp.
 * Decision values: K(X, SV) by 16 x 16 tiles through shared memory, products
 * summed in double, then dec = K W - rho (W (nsv, P) the coefficient of each SV
 * in each class pair); rows in blocks so device memory stays bounded. */
#include <math.h>
#include <new>
#include "src_cuda/linalg/gemm.cuh"

namespace {
constexpr int SVM_THREADS = 256;
constexpr int TILE = 16, KC = 32;
constexpr int64_t SVM_BLOCK_BYTES = (int64_t)256 << 20; /* K(X, SV) block on the device */

struct kparams_d {
    int32_t kernel, degree;
    double gamma, coef0;
};

__device__ __forceinline__ double powi_d(double base, int times) {
    double tmp = base, ret = 1.0;
    for (int t = times; t > 0; t /= 2) {
        if (t % 2 == 1) ret *= tmp;
        tmp = tmp * tmp;
    }
    return ret;
}

/* kernel numbering of include/mfs/svm.h: 0 linear, 1 poly, 2 rbf, 3 sigmoid */
__device__ __forceinline__ double kfun_d(const kparams_d &kp, double dot, double sqa, double sqb) {
    switch (kp.kernel) {
    case 0: return dot;
    case 1: return powi_d(kp.gamma * dot + kp.coef0, kp.degree);
    case 2: return exp(-kp.gamma * (sqa + sqb - 2 * dot));
    default: return tanh(kp.gamma * dot + kp.coef0);
    }
}

/* XT (d, n) from X (n, d) row-major; sq (n) squared norms in double. */
__global__ void transpose_kernel(const float *X, int64_t n, int64_t d, int64_t px, float *XT, double *sq) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    double s = 0;
    for (int64_t j = 0; j < d; j++) {
        const float v = X[i * px + j];
        XT[j * n + i] = v;
        s += (double)v * (double)v;
    }
    sq[i] = s;
}

__global__ void row_kernel(const float *XT, int64_t n, int64_t d, const int32_t *order, int64_t row, int64_t start,
                           int64_t len, const double *sq, kparams_d kp, float *out) {
    const int64_t k = start + (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= len) return;
    const int64_t idx = order[k];
    double acc = 0;
    for (int64_t j = 0; j < d; j++) acc += (double)XT[j * n + row] * (double)XT[j * n + idx];
    out[k - start] = (float)kfun_d(kp, acc, sq[row], sq[idx]);
}

__global__ void sqnorm_kernel(const float *X, int64_t n, int64_t d, int64_t px, double *sq) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    double s = 0;
    for (int64_t j = 0; j < d; j++) s += (double)X[i * px + j] * (double)X[i * px + j];
    sq[i] = s;
}

/* Kv (m, nsv) = K(X rows, SV rows), tiles of TILE x TILE outputs, features in
 * chunks of KC staged through shared memory; products summed in double. */
__global__ void kv_kernel(const float *X, int64_t m, int64_t px, const float *SV, int64_t nsv, int64_t ps, int64_t d,
                          const double *xsq, const double *svsq, kparams_d kp, double *Kv) {
    __shared__ float xs[TILE][KC + 1], ss[TILE][KC + 1];
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * TILE + tx;
    const int64_t r0 = (int64_t)blockIdx.y * TILE, s0 = (int64_t)blockIdx.x * TILE;
    double acc = 0;
    for (int64_t j0 = 0; j0 < d; j0 += KC) {
        for (int q = tid; q < TILE * KC; q += TILE * TILE) {
            const int rr = q / KC, jj = q % KC;
            const int64_t j = j0 + jj;
            xs[rr][jj] = (r0 + rr < m && j < d) ? X[(r0 + rr) * px + j] : 0.f;
            ss[rr][jj] = (s0 + rr < nsv && j < d) ? SV[(s0 + rr) * ps + j] : 0.f;
        }
        __syncthreads();
        const int w = d - j0 < KC ? (int)(d - j0) : KC;
        for (int jj = 0; jj < w; jj++) acc += (double)xs[ty][jj] * (double)ss[tx][jj];
        __syncthreads();
    }
    const int64_t r = r0 + ty, s = s0 + tx;
    if (r < m && s < nsv) Kv[r * nsv + s] = kfun_d(kp, acc, xsq[r], svsq[s]);
}

/* dec (m, P) = Kv W - rho: one thread per output, consecutive threads on
 * consecutive pairs of one row (W reads coalesced, Kv broadcast). */
__global__ void dec_kernel(const double *Kv, int64_t m, int64_t nsv, const double *W, const double *rho, int64_t P,
                           double *dec) {
    const int64_t q = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= m * P) return;
    const int64_t r = q / P, p = q % P;
    const double *kv = Kv + r * nsv;
    double s = 0;
    for (int64_t k = 0; k < nsv; k++) s += kv[k] * W[k * P + p];
    dec[q] = s - rho[p];
}
} /* namespace */

struct mfs__svm_cuda {
    mfs_mem_counter *mem = nullptr;
    int64_t n = 0, d = 0;
    kparams_d kp{};
    mfs_dev_buf<float> XT, out; /* (d, n), (n) */
    mfs_dev_buf<double> sq;     /* (n) */
    mfs_dev_buf<int32_t> order; /* (n) */
};

extern "C" void mfs__svm_cuda_free(mfs__svm_cuda *s) {
    if (!s) return;
    s->~mfs__svm_cuda(); /* releases the device buffers */
    mfs__free(s);
}

extern "C" mfs_status mfs__svm_cuda_create(const float *X, int64_t n, int64_t d, int32_t kernel, int32_t degree,
                                           double gamma, double coef0, mfs_mem_counter *mem, mfs__svm_cuda **out) {
    const char *fn = "mfs__svm_cuda_create";
    if (!out) return mfs__error(MFS_E_INVALID_ARG, "%s: out is NULL", fn);
    *out = nullptr;
    if (!X || n < 1 || d < 1 || n > INT32_MAX || kernel < 0 || kernel > 3 || degree < 0)
        return mfs__error(MFS_E_INVALID_ARG, "%s: needs X and 1 <= n <= 2^31-1, d >= 1, kernel 0..3, degree >= 0 "
                          "(n=%lld, d=%lld, kernel=%d, degree=%d)", fn, (long long)n, (long long)d, (int)kernel,
                          (int)degree);
    MFS_TRY(mfs__cuda_require(fn));
    void *mem_s = mfs__calloc(1, sizeof(mfs__svm_cuda));
    if (!mem_s) return mfs__error(MFS_E_NOMEM, "%s: out of memory for the GPU state", fn);
    mfs__svm_cuda *s = new (mem_s) mfs__svm_cuda();
    s->mem = mfs__cuda_counter(mem);
    s->n = n;
    s->d = d;
    s->kp.kernel = kernel;
    s->kp.degree = degree;
    s->kp.gamma = gamma;
    s->kp.coef0 = coef0;
    mfs_status st;
    {
        mfs_dev_buf<float> dX;
        int64_t px = 0;
        if ((st = mfs__upload_matrix(fn, dX, X, n, d, d, &px, s->mem)) == MFS_OK &&
            (st = s->XT.alloc(fn, n * d, s->mem)) == MFS_OK && (st = s->sq.alloc(fn, n, s->mem)) == MFS_OK &&
            (st = s->out.alloc(fn, n, s->mem)) == MFS_OK && (st = s->order.alloc(fn, n, s->mem)) == MFS_OK) {
            transpose_kernel<<<(unsigned)mfs__ceil_div(n, SVM_THREADS), SVM_THREADS, 0, MFS_STREAM>>>(
                dX.ptr, n, d, px, s->XT.ptr, s->sq.ptr);
            cudaError_t e = cudaGetLastError();
            if (e == cudaSuccess) e = cudaStreamSynchronize(MFS_STREAM);
            if (e != cudaSuccess) st = mfs__cuda_fail(fn, "transpose_kernel", e);
        }
    }
    if (st != MFS_OK) {
        mfs__svm_cuda_free(s);
        return st;
    }
    *out = s;
    return MFS_OK;
}

extern "C" mfs_status mfs__svm_cuda_order(mfs__svm_cuda *s, const int32_t *order, int64_t len) {
    const char *fn = "mfs__svm_cuda_order";
    if (!s || !order || len < 0 || len > s->n)
        return mfs__error(MFS_E_INVALID_ARG, "%s: needs the state and 0 <= len <= n (len=%lld)", fn, (long long)len);
    for (int64_t k = 0; k < len; k++)
        if (order[k] < 0 || order[k] >= s->n)
            return mfs__error(MFS_E_INVALID_ARG, "%s: order[%lld] = %d is not a row of X (n=%lld)", fn, (long long)k,
                              (int)order[k], (long long)s->n);
    if (len == 0) return MFS_OK;
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(s->order.ptr, order, (size_t)len * sizeof(int32_t), cudaMemcpyHostToDevice,
                                       MFS_STREAM));
    return MFS_OK;
}

extern "C" mfs_status mfs__svm_cuda_row(mfs__svm_cuda *s, int64_t row, int64_t start, int64_t len, float *out) {
    const char *fn = "mfs__svm_cuda_row";
    if (!s || !out || row < 0 || row >= s->n || start < 0 || len > s->n || start > len)
        return mfs__error(MFS_E_INVALID_ARG, "%s: needs 0 <= row < n and 0 <= start <= len <= n (row=%lld, "
                          "start=%lld, len=%lld)", fn, (long long)row, (long long)start, (long long)len);
    const int64_t count = len - start;
    if (count == 0) return MFS_OK;
    row_kernel<<<(unsigned)mfs__ceil_div(count, SVM_THREADS), SVM_THREADS, 0, MFS_STREAM>>>(
        s->XT.ptr, s->n, s->d, s->order.ptr, row, start, len, s->sq.ptr, s->kp, s->out.ptr);
    MFS_CUDA_LAUNCHED(fn, "row_kernel");
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(out, s->out.ptr, (size_t)count * sizeof(float), cudaMemcpyDeviceToHost,
                                       MFS_STREAM));
    MFS_CUDA_CHECK(fn, cudaStreamSynchronize(MFS_STREAM));
    return MFS_OK;
}

extern "C" mfs_status mfs__svm_decision_cuda(const float *X, int64_t m, int64_t d, const float *SV, int64_t nsv,
                                             const double *W, const double *rho, int64_t P, int32_t kernel,
                                             int32_t degree, double gamma, double coef0, double *dec,
                                             mfs_mem_counter *mem) {
    const char *fn = "mfs__svm_decision_cuda";
    if (!X || !SV || !W || !rho || !dec || m < 0 || d < 1 || nsv < 1 || P < 1 || kernel < 0 || kernel > 3)
        return mfs__error(MFS_E_INVALID_ARG, "%s: needs X, SV, W, rho, dec and m >= 0, d >= 1, nsv >= 1, P >= 1, "
                          "kernel 0..3 (m=%lld, d=%lld, nsv=%lld, P=%lld)", fn, (long long)m, (long long)d,
                          (long long)nsv, (long long)P);
    MFS_TRY(mfs__cuda_require(fn));
    if (m == 0) return MFS_OK;
    mem = mfs__cuda_counter(mem);
    kparams_d kp;
    kp.kernel = kernel;
    kp.degree = degree;
    kp.gamma = gamma;
    kp.coef0 = coef0;
    mfs_dev_buf<float> dSV, dX;
    mfs_dev_buf<double> dW, drho, dsvsq, dxsq, dKv, ddec;
    int64_t ps = 0, px = 0;
    MFS_TRY(mfs__upload_matrix(fn, dSV, SV, nsv, d, d, &ps, mem));
    MFS_TRY(dW.alloc(fn, nsv * P, mem));
    MFS_TRY(drho.alloc(fn, P, mem));
    MFS_TRY(dsvsq.alloc(fn, nsv, mem));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(dW.ptr, W, (size_t)(nsv * P) * sizeof(double), cudaMemcpyHostToDevice, MFS_STREAM));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(drho.ptr, rho, (size_t)P * sizeof(double), cudaMemcpyHostToDevice, MFS_STREAM));
    sqnorm_kernel<<<(unsigned)mfs__ceil_div(nsv, SVM_THREADS), SVM_THREADS, 0, MFS_STREAM>>>(dSV.ptr, nsv, d, ps,
                                                                                            dsvsq.ptr);
    MFS_CUDA_LAUNCHED(fn, "sqnorm_kernel");
    int64_t rows = SVM_BLOCK_BYTES / ((nsv + P) * (int64_t)sizeof(double) + d * (int64_t)sizeof(float));
    if (rows < 64) rows = 64;
    if (rows > (int64_t)65535 * TILE) rows = (int64_t)65535 * TILE; /* grid.y of kv_kernel */
    if (rows > m) rows = m;
    MFS_TRY(dKv.alloc(fn, rows * nsv, mem));
    MFS_TRY(ddec.alloc(fn, rows * P, mem));
    MFS_TRY(dxsq.alloc(fn, rows, mem));
    for (int64_t r0 = 0; r0 < m; r0 += rows) {
        const int64_t b = m - r0 < rows ? m - r0 : rows;
        if (!dX.ptr) {
            MFS_TRY(mfs__upload_matrix(fn, dX, X + r0 * d, b, d, d, &px, mem));
        } else {
            MFS_CUDA_CHECK(fn, cudaMemcpy2DAsync(dX.ptr, (size_t)px * sizeof(float), X + r0 * d, (size_t)d * sizeof(float),
                                                 (size_t)d * sizeof(float), (size_t)b, cudaMemcpyHostToDevice, MFS_STREAM));
        }
        sqnorm_kernel<<<(unsigned)mfs__ceil_div(b, SVM_THREADS), SVM_THREADS, 0, MFS_STREAM>>>(dX.ptr, b, d, px,
                                                                                              dxsq.ptr);
        MFS_CUDA_LAUNCHED(fn, "sqnorm_kernel");
        dim3 grid((unsigned)mfs__ceil_div(nsv, TILE), (unsigned)mfs__ceil_div(b, TILE)), block(TILE, TILE);
        kv_kernel<<<grid, block, 0, MFS_STREAM>>>(dX.ptr, b, px, dSV.ptr, nsv, ps, d, dxsq.ptr, dsvsq.ptr, kp, dKv.ptr);
        MFS_CUDA_LAUNCHED(fn, "kv_kernel");
        dec_kernel<<<(unsigned)mfs__ceil_div(b * P, SVM_THREADS), SVM_THREADS, 0, MFS_STREAM>>>(dKv.ptr, b, nsv, dW.ptr,
                                                                                               drho.ptr, P, ddec.ptr);
        MFS_CUDA_LAUNCHED(fn, "dec_kernel");
        MFS_CUDA_CHECK(fn, cudaMemcpyAsync(dec + r0 * P, ddec.ptr, (size_t)(b * P) * sizeof(double),
                                           cudaMemcpyDeviceToHost, MFS_STREAM));
        MFS_CUDA_CHECK(fn, cudaStreamSynchronize(MFS_STREAM));
    }
    return MFS_OK;
}
