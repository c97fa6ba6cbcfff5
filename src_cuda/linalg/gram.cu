/* Centered Gram matrix on the GPU: X copied once, centered in place (the
 * subtraction in double, as the CPU does), then G = Xc^T Xc by the SGEMM in its
 * triangle-only mode (half the products) with K split into chunks of at most
 * GRAM_KCHUNK rows summed in double, which bounds float32 error growth with n
 * the way the CPU's 4096-row blocks do. */
#include "src_cuda/linalg/gemm.cuh"

namespace {
constexpr int64_t GRAM_KCHUNK = 16384;

/* One thread per element, grid-stride; mean read through the read-only cache. */
__global__ void center_kernel(float *__restrict__ X, int64_t n, int64_t d, int64_t pitch,
                              const double *__restrict__ mean) {
    const int64_t total = n * d;
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < total;
         idx += (int64_t)gridDim.x * blockDim.x) {
        const int64_t i = idx / d, j = idx % d;
        float *p = X + i * pitch + j;
        *p = (float)((double)*p - __ldg(mean + j));
    }
}
} /* namespace */

mfs_status mfs__center_dev(const char *fn, float *X, int64_t n, int64_t d, int64_t pitch,
                           const double *mean) {
    if (n <= 0 || d <= 0 || !mean) return MFS_OK;
    int64_t blocks = mfs__ceil_div(n * d, 256), cap = (int64_t)mfs__cuda_sm_count() * 32;
    center_kernel<<<(unsigned)(blocks < cap ? blocks : cap), 256, 0, MFS_STREAM>>>(X, n, d, pitch, mean);
    MFS_CUDA_LAUNCHED(fn, "center_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__centered_gram_cuda(const float *X, int64_t n, int64_t d,
                                              const double *mean, float *G, mfs_mem_counter *mem) {
    const char *fn = "mfs__centered_gram_cuda";
    if (n < 0 || d < 1 || !X || !G)
        return mfs__error(MFS_E_INVALID_ARG, "%s: needs X and G and n >= 0, d >= 1 (n=%lld, d=%lld)", fn,
                          (long long)n, (long long)d);
    MFS_TRY(mfs__cuda_require(fn));
    mem = mfs__cuda_counter(mem);
    mfs_dev_buf<float> dX, dG;
    mfs_dev_buf<double> dmean;
    int64_t pitch = 0;
    MFS_TRY(mfs__upload_matrix(fn, dX, X, n, d, d, &pitch, mem));
    if (mean && n > 0) {
        MFS_TRY(dmean.alloc(fn, d, mem));
        MFS_CUDA_CHECK(fn, cudaMemcpyAsync(dmean.ptr, mean, (size_t)d * sizeof(double),
                                           cudaMemcpyHostToDevice, MFS_STREAM));
        MFS_TRY(mfs__center_dev(fn, dX.ptr, n, d, pitch, dmean.ptr));
    }
    MFS_TRY(dG.alloc(fn, d * d, mem));
    if (n == 0) {
        MFS_CUDA_CHECK(fn, cudaMemsetAsync(dG.ptr, 0, dG.bytes, MFS_STREAM));
    } else {
        MFS_TRY(mfs__sgemm_dev(fn, 1, 0, d, d, n, 1.f, dX.ptr, pitch, dX.ptr, pitch, 0.f, dG.ptr, d,
                               1, GRAM_KCHUNK, mem));
    }
    return mfs__download_matrix(fn, G, d, dG.ptr, d, d, d);
}
