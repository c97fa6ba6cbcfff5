/* Normal equations of Linear Regression on the GPU: X and Y copied once,
 * centered in place (and scaled by sqrt(sample_weight) row by row), then
 * XtX = Xc^T Xc (triangle-only GEMM) and XtY = Xc^T Yc in float32, K split
 * into chunks of 16384 rows summed in double (as the CPU's blockwise
 * products; the PCA Gram of src_cuda/linalg/gram.cu is all double).
 * The (d, d) solve stays on the CPU (src_c/classical/linear_regression.c). */
#include "src_cuda/linalg/gemm.cuh"

namespace {
constexpr int64_t LINREG_KCHUNK = 16384;

/* rows of X (n, d) with row stride pitch, in place: X[i, :] *= s[i] */
__global__ void scale_rows_kernel(float *__restrict__ X, int64_t n, int64_t d, int64_t pitch,
                                  const float *__restrict__ s) {
    const int64_t total = n * d;
    for (int64_t q = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; q < total; q += (int64_t)gridDim.x * blockDim.x) {
        const int64_t i = q / d, j = q % d;
        X[i * pitch + j] *= __ldg(s + i);
    }
}

mfs_status scale_rows(const char *fn, float *X, int64_t n, int64_t d, int64_t pitch, const float *s) {
    const int64_t blocks = mfs__ceil_div(n * d, 256), cap = (int64_t)mfs__cuda_sm_count() * 32;
    scale_rows_kernel<<<(unsigned)(blocks < cap ? blocks : cap), 256, 0, MFS_STREAM>>>(X, n, d, pitch, s);
    MFS_CUDA_LAUNCHED(fn, "scale_rows_kernel");
    return MFS_OK;
}

mfs_status upload_mean(const char *fn, mfs_dev_buf<double> &buf, const double *mean, int64_t d,
                       mfs_mem_counter *mem) {
    MFS_TRY(buf.alloc(fn, d, mem));
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(buf.ptr, mean, (size_t)d * sizeof(double),
                                       cudaMemcpyHostToDevice, MFS_STREAM));
    return MFS_OK;
}
} /* namespace */

extern "C" mfs_status mfs__linreg_normal_cuda(const float *X, const float *Y, int64_t n, int64_t d,
                                              int64_t t, const double *xmean, const double *ymean,
                                              const float *sw, float *XtX, float *XtY, mfs_mem_counter *mem) {
    const char *fn = "mfs__linreg_normal_cuda";
    if (n < 0 || d < 1 || t < 1 || !X || !Y || !XtX || !XtY)
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: needs X, Y, XtX, XtY and n >= 0, d >= 1, t >= 1 (n=%lld, d=%lld, t=%lld)",
                          fn, (long long)n, (long long)d, (long long)t);
    MFS_TRY(mfs__cuda_require(fn));
    mem = mfs__cuda_counter(mem);
    mfs_dev_buf<float> dX, dY, dXtX, dXtY, dsw;
    mfs_dev_buf<double> dxm, dym;
    int64_t px = 0, py = 0;
    MFS_TRY(mfs__upload_matrix(fn, dX, X, n, d, d, &px, mem));
    MFS_TRY(mfs__upload_matrix(fn, dY, Y, n, t, t, &py, mem));
    if (xmean && n > 0) {
        MFS_TRY(upload_mean(fn, dxm, xmean, d, mem));
        MFS_TRY(mfs__center_dev(fn, dX.ptr, n, d, px, dxm.ptr));
    }
    if (ymean && n > 0) {
        MFS_TRY(upload_mean(fn, dym, ymean, t, mem));
        MFS_TRY(mfs__center_dev(fn, dY.ptr, n, t, py, dym.ptr));
    }
    if (sw && n > 0) {
        MFS_TRY(dsw.alloc(fn, n, mem));
        MFS_CUDA_CHECK(fn, cudaMemcpyAsync(dsw.ptr, sw, (size_t)n * sizeof(float), cudaMemcpyHostToDevice, MFS_STREAM));
        MFS_TRY(scale_rows(fn, dX.ptr, n, d, px, dsw.ptr));
        MFS_TRY(scale_rows(fn, dY.ptr, n, t, py, dsw.ptr));
    }
    MFS_TRY(dXtX.alloc(fn, d * d, mem));
    MFS_TRY(dXtY.alloc(fn, d * t, mem));
    if (n == 0) {
        MFS_CUDA_CHECK(fn, cudaMemsetAsync(dXtX.ptr, 0, dXtX.bytes, MFS_STREAM));
        MFS_CUDA_CHECK(fn, cudaMemsetAsync(dXtY.ptr, 0, dXtY.bytes, MFS_STREAM));
    } else {
        MFS_TRY(mfs__sgemm_dev(fn, 1, 0, d, d, n, 1.f, dX.ptr, px, dX.ptr, px, 0.f, dXtX.ptr, d, 1,
                               LINREG_KCHUNK, mem));
        MFS_TRY(mfs__sgemm_dev(fn, 1, 0, d, t, n, 1.f, dX.ptr, px, dY.ptr, py, 0.f, dXtY.ptr, t, 0,
                               LINREG_KCHUNK, mem));
    }
    MFS_TRY(mfs__download_matrix(fn, XtX, d, dXtX.ptr, d, d, d));
    return mfs__download_matrix(fn, XtY, t, dXtY.ptr, d, t, t);
}
