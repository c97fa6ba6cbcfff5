/* Batch norm on the GPU: the mirror of src_c/neural/batchnorm.c with device
 * pointers. One block per channel: the block reduces the channel's B * HW
 * values (float per thread, a fixed tree across the block: deterministic),
 * two passes for the variance as on the CPU, then normalizes them. */
#include <math.h>
#include "src_cuda/core/cuda_internal.cuh"
#include "src_c/neural/layers.h"

namespace {
constexpr int THREADS = 256;

__global__ void bn_fwd_kernel(float *out, float *mean, float *rstd, float *running_mean, float *running_var,
                              const float *inp, const float *weight, const float *bias, int64_t B, int64_t C,
                              int64_t HW, float eps, float momentum, int training) {
    __shared__ double scratch[32];
    __shared__ float s_mu, s_rs;
    const int64_t c = blockIdx.x, n = B * HW;
    if (training) {
        double s = 0;
        for (int64_t t = threadIdx.x; t < n; t += blockDim.x) s += inp[((t / HW) * C + c) * HW + t % HW];
        s = mfs__block_sum(s, scratch);
        if (threadIdx.x == 0) s_mu = (float)(s / (double)n);
        __syncthreads();
        const float mu = s_mu;
        double v = 0;
        for (int64_t t = threadIdx.x; t < n; t += blockDim.x) {
            const float e = inp[((t / HW) * C + c) * HW + t % HW] - mu;
            v += (double)e * e;
        }
        v = mfs__block_sum(v, scratch);
        if (threadIdx.x == 0) {
            const double var = v / (double)n, unbiased = n > 1 ? v / (double)(n - 1) : var;
            s_rs = (float)(1.0 / sqrt(var + (double)eps));
            running_mean[c] = (1.f - momentum) * running_mean[c] + momentum * mu;
            running_var[c] = (1.f - momentum) * running_var[c] + momentum * (float)unbiased;
        }
    } else if (threadIdx.x == 0) {
        s_mu = running_mean[c];
        s_rs = (float)(1.0 / sqrt((double)running_var[c] + (double)eps));
    }
    __syncthreads();
    const float mu = s_mu, rs = s_rs;
    if (threadIdx.x == 0) {
        mean[c] = mu;
        rstd[c] = rs;
    }
    const float scale = rs * weight[c], shift = bias[c] - mu * scale;
    for (int64_t t = threadIdx.x; t < n; t += blockDim.x) {
        const int64_t i = ((t / HW) * C + c) * HW + t % HW;
        out[i] = inp[i] * scale + shift;
    }
}

__global__ void bn_bwd_kernel(float *dinp, float *dweight, float *dbias, const float *dout, const float *mean,
                              const float *rstd, const float *inp, const float *weight, int64_t B, int64_t C,
                              int64_t HW, int training) {
    __shared__ double scratch[32];
    __shared__ double s_g, s_gx;
    const int64_t c = blockIdx.x, n = B * HW;
    const float mu = mean[c], rs = rstd[c];
    double sg = 0, sgx = 0;
    for (int64_t t = threadIdx.x; t < n; t += blockDim.x) {
        const int64_t i = ((t / HW) * C + c) * HW + t % HW;
        sg += dout[i];
        sgx += (double)dout[i] * ((inp[i] - mu) * rs);
    }
    sg = mfs__block_sum(sg, scratch);
    if (threadIdx.x == 0) s_g = sg;
    sgx = mfs__block_sum(sgx, scratch);
    if (threadIdx.x == 0) {
        s_gx = sgx;
        dweight[c] += (float)sgx;
        dbias[c] += (float)s_g;
    }
    __syncthreads();
    if (!dinp) return;
    const float a = weight[c] * rs, mg = (float)(s_g / (double)n), mgx = (float)(s_gx / (double)n);
    for (int64_t t = threadIdx.x; t < n; t += blockDim.x) {
        const int64_t i = ((t / HW) * C + c) * HW + t % HW;
        dinp[i] = training ? a * (dout[i] - mg - (inp[i] - mu) * rs * mgx) : a * dout[i];
    }
}
} /* namespace */

extern "C" mfs_status mfs__batchnorm_forward_cuda(float *out, float *mean, float *rstd, float *running_mean,
                                                  float *running_var, const float *inp, const float *weight,
                                                  const float *bias, int64_t B, int64_t C, int64_t HW, float eps,
                                                  float momentum, int32_t training) {
    bn_fwd_kernel<<<(unsigned)C, THREADS, 0, MFS_STREAM>>>(out, mean, rstd, running_mean, running_var, inp, weight,
                                                           bias, B, C, HW, eps, momentum, training);
    MFS_CUDA_LAUNCHED("mfs__batchnorm_forward_cuda", "bn_fwd_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__batchnorm_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout,
                                                   const float *mean, const float *rstd, const float *inp,
                                                   const float *weight, int64_t B, int64_t C, int64_t HW,
                                                   int32_t training) {
    bn_bwd_kernel<<<(unsigned)C, THREADS, 0, MFS_STREAM>>>(dinp, dweight, dbias, dout, mean, rstd, inp, weight, B, C,
                                                           HW, training);
    MFS_CUDA_LAUNCHED("mfs__batchnorm_backward_cuda", "bn_bwd_kernel");
    return MFS_OK;
}
