/* PCA on the GPU: fitting needs only the centered Gram matrix
 * (src_cuda/linalg/gram.cu; the (d, d) eigendecomposition stays on the CPU);
 * transform is the projection out = (X - mean) @ components^T, one GEMM after
 * centering in place. Rows go in blocks so device memory stays bounded for
 * any n. */
#include "src_cuda/linalg/gemm.cuh"

namespace {
constexpr int64_t PCA_BLOCK_BYTES = (int64_t)256 << 20; /* X block on the device */
}

extern "C" mfs_status mfs__pca_transform_cuda(const float *X, int64_t n, int64_t d,
                                              const double *mean, const float *components,
                                              int64_t k, float *out, mfs_mem_counter *mem) {
    const char *fn = "mfs__pca_transform_cuda";
    if (n < 0 || d < 1 || k < 1 || !X || !components || !out)
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: needs X, components, out and n >= 0, d >= 1, k >= 1 (n=%lld, d=%lld, k=%lld)",
                          fn, (long long)n, (long long)d, (long long)k);
    MFS_TRY(mfs__cuda_require(fn));
    if (n == 0) return MFS_OK;
    mem = mfs__cuda_counter(mem);
    mfs_dev_buf<float> dC, dX, dOut;
    mfs_dev_buf<double> dmean;
    int64_t pc = 0, px = 0;
    MFS_TRY(mfs__upload_matrix(fn, dC, components, k, d, d, &pc, mem));
    if (mean) {
        MFS_TRY(dmean.alloc(fn, d, mem));
        MFS_CUDA_CHECK(fn, cudaMemcpyAsync(dmean.ptr, mean, (size_t)d * sizeof(double),
                                           cudaMemcpyHostToDevice, MFS_STREAM));
    }
    const int64_t row_bytes = (mfs__round_up(d, 4) + mfs__round_up(k, 4)) * (int64_t)sizeof(float);
    int64_t rows = PCA_BLOCK_BYTES / row_bytes;
    if (rows < 1024) rows = 1024;
    if (rows > n) rows = n;
    const int64_t pout = mfs__round_up(k, 4);
    MFS_TRY(dOut.alloc(fn, rows * pout, mem));
    for (int64_t i0 = 0; i0 < n; i0 += rows) {
        const int64_t b = n - i0 < rows ? n - i0 : rows;
        /* the buffer is reused: allocated by the first block, the largest */
        if (!dX.ptr) {
            MFS_TRY(mfs__upload_matrix(fn, dX, X + i0 * d, b, d, d, &px, mem));
        } else {
            MFS_CUDA_CHECK(fn, cudaMemcpy2DAsync(dX.ptr, (size_t)px * sizeof(float), X + i0 * d,
                                                 (size_t)d * sizeof(float), (size_t)d * sizeof(float),
                                                 (size_t)b, cudaMemcpyHostToDevice, MFS_STREAM));
        }
        if (mean) MFS_TRY(mfs__center_dev(fn, dX.ptr, b, d, px, dmean.ptr));
        MFS_TRY(mfs__sgemm_dev(fn, 0, 1, b, k, d, 1.f, dX.ptr, px, dC.ptr, pc, 0.f, dOut.ptr, pout, 0, 0,
                               mem));
        MFS_TRY(mfs__download_matrix(fn, out + i0 * k, k, dOut.ptr, b, k, pout));
    }
    return MFS_OK;
}
