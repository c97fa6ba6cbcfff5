/* The dense layers of src_c/neural/layers.h on the GPU: the same names with
 * _cuda, the same arguments as device pointers, enqueued on the calling
 * thread's stream (never synchronized here). Linear layers go to the device
 * SGEMM of src_cuda/linalg; elementwise layers are one thread per element;
 * row-wise layers (softmax, layer norm) one warp per row with shuffles; the
 * column sums of the bias / norm gradients one thread per column in row order
 * (deterministic). Dropout draws the same Philox mask as the CPU. */
#include <math.h>
#include "core/rng.h"
#include "neural/layers.h"
#include "src_cuda/linalg/gemm.cuh"

namespace {
constexpr int THREADS = 256;

unsigned blocks_for(int64_t work, int threads = THREADS) {
    int64_t b = (work + threads - 1) / threads;
    if (b < 1) b = 1;
    if (b > 0x7fffffff) b = 0x7fffffff;
    return (unsigned)b;
}

#define LAUNCHED(fn, name) MFS_CUDA_LAUNCHED(fn, name)

__device__ __forceinline__ float sigmoid_d(float x) {
    float e = expf(-fabsf(x));
    return x >= 0.f ? 1.f / (1.f + e) : e / (1.f + e);
}

__device__ __forceinline__ float act_fwd(float x, int act) {
    switch (act) {
    case MFS__ACT_RELU: return x > 0.f ? x : 0.f;
    case MFS__ACT_TANH: return tanhf(x);
    case MFS__ACT_SIGMOID: return sigmoid_d(x);
    case MFS__ACT_GELU: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    default: return x;
    }
}

/* dinp from dout, the output y and the input x of the activation */
__device__ __forceinline__ float act_bwd(float g, float y, float x, int act) {
    switch (act) {
    case MFS__ACT_RELU: return y > 0.f ? g : 0.f;
    case MFS__ACT_TANH: return g * (1.f - y * y);
    case MFS__ACT_SIGMOID: return g * y * (1.f - y);
    case MFS__ACT_GELU: {
        float cdf = 0.5f * (1.f + erff(x * 0.70710678118654752f));
        float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
        return g * (cdf + x * pdf);
    }
    default: return g;
    }
}

__global__ void bias_rows_kernel(float *out, const float *bias, int64_t B, int64_t C) {
    int64_t q = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (q < B * C) out[q] = bias[q % C];
}

/* acc[c] += sum_b x[b, c], rows in order */
__global__ void colsum_add_kernel(float *acc, const float *x, int64_t B, int64_t C) {
    int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float s = 0.f;
    for (int64_t b = 0; b < B; b++) s += x[b * C + c];
    acc[c] += s;
}

__global__ void act_fwd_kernel(float *out, const float *inp, int64_t N, int act) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < N) out[i] = act_fwd(inp[i], act);
}

__global__ void act_bwd_kernel(float *dinp, const float *dout, const float *out, const float *inp, int64_t N,
                               int act) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < N) dinp[i] = act_bwd(dout[i], out ? out[i] : 0.f, inp ? inp[i] : 0.f, act);
}

/* one warp per row */
__global__ void softmax_ce_fwd_kernel(float *probs, float *losses, const float *logits, const int32_t *targets,
                                      int64_t B, int64_t K) {
    int64_t row = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    if (row >= B) return;
    const float *z = logits + row * K;
    float *p = probs + row * K;
    float m = -INFINITY;
    for (int64_t k = lane; k < K; k += 32) m = fmaxf(m, z[k]);
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    float s = 0.f;
    for (int64_t k = lane; k < K; k += 32) {
        float e = expf(z[k] - m);
        p[k] = e;
        s += e;
    }
    s = mfs__warp_sum(s);
    float inv = 1.f / s;
    for (int64_t k = lane; k < K; k += 32) p[k] *= inv;
    if (losses && lane == 0) losses[row] = logf(s) + m - z[targets[row]];
}

__global__ void softmax_ce_bwd_kernel(float *dlogits, const float *probs, const int32_t *targets, int64_t B,
                                      int64_t K, float scale) {
    int64_t q = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= B * K) return;
    int64_t b = q / K, k = q % K;
    dlogits[q] = scale * (probs[q] - (targets[b] == k ? 1.f : 0.f));
}

__global__ void sigmoid_ce_fwd_kernel(float *probs, float *losses, const float *logits, const float *targets,
                                      int64_t B, int64_t K) {
    int64_t b = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= B) return;
    float l = 0.f;
    for (int64_t k = 0; k < K; k++) {
        float z = logits[b * K + k], e = expf(-fabsf(z));
        probs[b * K + k] = z >= 0.f ? 1.f / (1.f + e) : e / (1.f + e);
        l += (z > 0.f ? z : 0.f) + log1pf(e) - targets[b * K + k] * z;
    }
    if (losses) losses[b] = l;
}

__global__ void scaled_diff_kernel(float *out, const float *a, const float *b, int64_t N, float scale) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < N) out[i] = scale * (a[i] - b[i]);
}

__global__ void mse_fwd_kernel(float *losses, const float *pred, const float *target, int64_t B, int64_t K) {
    int64_t b = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= B) return;
    float l = 0.f;
    for (int64_t k = 0; k < K; k++) {
        float r = pred[b * K + k] - target[b * K + k];
        l += r * r;
    }
    losses[b] = l;
}

/* one thread per block of 4 elements: one Philox call, as the CPU */
__global__ void dropout_kernel(float *out, const float *inp, int64_t N, float p, uint64_t seed, uint64_t stream) {
    int64_t blk = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t i0 = blk * 4;
    if (i0 >= N) return;
    mfs_u32x4 r = mfs_philox(seed, stream, (uint64_t)blk);
    float scale = 1.f / (1.f - p);
    for (int j = 0; j < 4 && i0 + j < N; j++) {
        float u = mfs_u32_to_unit_float(r.v[j]);
        out[i0 + j] = u >= p ? inp[i0 + j] * scale : 0.f;
    }
}

/* one warp per row; mean and variance in double as the CPU */
__global__ void layernorm_fwd_kernel(float *out, float *mean, float *rstd, const float *inp, const float *w,
                                     const float *bias, int64_t B, int64_t C, float eps) {
    int64_t row = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    if (row >= B) return;
    const float *x = inp + row * C;
    double s = 0.0;
    for (int64_t c = lane; c < C; c += 32) s += x[c];
    s = mfs__warp_sum(s);
    double m = s / (double)C, v = 0.0;
    for (int64_t c = lane; c < C; c += 32) {
        double d = x[c] - m;
        v += d * d;
    }
    v = mfs__warp_sum(v) / (double)C;
    float mf = (float)m, r = (float)(1.0 / sqrt(v + (double)eps));
    float *o = out + row * C;
    for (int64_t c = lane; c < C; c += 32) o[c] = (x[c] - mf) * r * w[c] + bias[c];
    if (lane == 0) {
        mean[row] = mf;
        rstd[row] = r;
    }
}

__global__ void layernorm_bwd_params_kernel(float *dw, float *db, const float *dout, const float *mean,
                                            const float *rstd, const float *inp, int64_t B, int64_t C) {
    int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float sw = 0.f, sb = 0.f;
    for (int64_t b = 0; b < B; b++) {
        float g = dout[b * C + c];
        sw += g * (inp[b * C + c] - mean[b]) * rstd[b];
        sb += g;
    }
    dw[c] += sw;
    db[c] += sb;
}

__global__ void layernorm_bwd_inp_kernel(float *dinp, const float *dout, const float *mean, const float *rstd,
                                         const float *inp, const float *w, int64_t B, int64_t C) {
    int64_t row = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    if (row >= B) return;
    const float *x = inp + row * C, *g = dout + row * C;
    float m = mean[row], r = rstd[row];
    double s1 = 0.0, s2 = 0.0;
    for (int64_t c = lane; c < C; c += 32) {
        float dxh = g[c] * w[c];
        s1 += dxh;
        s2 += dxh * (x[c] - m) * r;
    }
    s1 = mfs__warp_sum(s1);
    s2 = mfs__warp_sum(s2);
    float a = (float)(s1 / (double)C), q = (float)(s2 / (double)C);
    float *d = dinp + row * C;
    for (int64_t c = lane; c < C; c += 32) {
        float xh = (x[c] - m) * r;
        d[c] = r * (g[c] * w[c] - a - xh * q);
    }
}
}  // namespace

extern "C" mfs_status mfs__linear_forward_cuda(float *out, const float *inp, const float *weight, const float *bias,
                                               int64_t B, int64_t C_in, int64_t C_out, mfs_mem_counter *mem) {
    static const char fn[] = "mfs__linear_forward_cuda";
    if (B <= 0 || C_out <= 0) return MFS_OK;
    float beta = 0.f;
    if (bias) {
        bias_rows_kernel<<<blocks_for(B * C_out), THREADS, 0, MFS_STREAM>>>(out, bias, B, C_out);
        LAUNCHED(fn, "bias_rows_kernel");
        beta = 1.f;
    }
    return mfs__sgemm_dev(fn, 0, 0, B, C_out, C_in, 1.f, inp, C_in, weight, C_out, beta, out, C_out, 0, 0, mem);
}

extern "C" mfs_status mfs__linear_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout,
                                                const float *inp, const float *weight, int64_t B, int64_t C_in,
                                                int64_t C_out, mfs_mem_counter *mem) {
    static const char fn[] = "mfs__linear_backward_cuda";
    if (B <= 0) return MFS_OK;
    MFS_TRY(mfs__sgemm_dev(fn, 1, 0, C_in, C_out, B, 1.f, inp, C_in, dout, C_out, 1.f, dweight, C_out, 0, 0, mem));
    if (dbias) {
        colsum_add_kernel<<<blocks_for(C_out), THREADS, 0, MFS_STREAM>>>(dbias, dout, B, C_out);
        LAUNCHED(fn, "colsum_add_kernel");
    }
    if (dinp) MFS_TRY(mfs__sgemm_dev(fn, 0, 1, B, C_in, C_out, 1.f, dout, C_out, weight, C_out, 0.f, dinp, C_in, 0, 0, mem));
    return MFS_OK;
}

extern "C" mfs_status mfs__activation_forward_cuda(float *out, const float *inp, int64_t N, int32_t act) {
    if (N <= 0) return MFS_OK;
    if (act == MFS__ACT_IDENTITY && out == inp) return MFS_OK;
    act_fwd_kernel<<<blocks_for(N), THREADS, 0, MFS_STREAM>>>(out, inp, N, act);
    LAUNCHED("mfs__activation_forward_cuda", "act_fwd_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__activation_backward_cuda(float *dinp, const float *dout, const float *out,
                                                    const float *inp, int64_t N, int32_t act) {
    if (N <= 0) return MFS_OK;
    act_bwd_kernel<<<blocks_for(N), THREADS, 0, MFS_STREAM>>>(dinp, dout, out, inp, N, act);
    LAUNCHED("mfs__activation_backward_cuda", "act_bwd_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__softmax_crossentropy_forward_cuda(float *probs, float *losses, const float *logits,
                                                             const int32_t *targets, int64_t B, int64_t K) {
    if (B <= 0) return MFS_OK;
    softmax_ce_fwd_kernel<<<blocks_for(B * 32), THREADS, 0, MFS_STREAM>>>(probs, losses, logits, targets, B, K);
    LAUNCHED("mfs__softmax_crossentropy_forward_cuda", "softmax_ce_fwd_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__softmax_crossentropy_backward_cuda(float *dlogits, const float *probs,
                                                              const int32_t *targets, int64_t B, int64_t K,
                                                              float scale) {
    if (B <= 0) return MFS_OK;
    softmax_ce_bwd_kernel<<<blocks_for(B * K), THREADS, 0, MFS_STREAM>>>(dlogits, probs, targets, B, K, scale);
    LAUNCHED("mfs__softmax_crossentropy_backward_cuda", "softmax_ce_bwd_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__sigmoid_crossentropy_forward_cuda(float *probs, float *losses, const float *logits,
                                                             const float *targets, int64_t B, int64_t K) {
    if (B <= 0) return MFS_OK;
    sigmoid_ce_fwd_kernel<<<blocks_for(B), THREADS, 0, MFS_STREAM>>>(probs, losses, logits, targets, B, K);
    LAUNCHED("mfs__sigmoid_crossentropy_forward_cuda", "sigmoid_ce_fwd_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__sigmoid_crossentropy_backward_cuda(float *dlogits, const float *probs,
                                                              const float *targets, int64_t B, int64_t K,
                                                              float scale) {
    if (B * K <= 0) return MFS_OK;
    scaled_diff_kernel<<<blocks_for(B * K), THREADS, 0, MFS_STREAM>>>(dlogits, probs, targets, B * K, scale);
    LAUNCHED("mfs__sigmoid_crossentropy_backward_cuda", "scaled_diff_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__mse_forward_cuda(float *losses, const float *pred, const float *target, int64_t B,
                                            int64_t K) {
    if (B <= 0) return MFS_OK;
    mse_fwd_kernel<<<blocks_for(B), THREADS, 0, MFS_STREAM>>>(losses, pred, target, B, K);
    LAUNCHED("mfs__mse_forward_cuda", "mse_fwd_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__mse_backward_cuda(float *dpred, const float *pred, const float *target, int64_t B,
                                             int64_t K, float scale) {
    if (B * K <= 0) return MFS_OK;
    scaled_diff_kernel<<<blocks_for(B * K), THREADS, 0, MFS_STREAM>>>(dpred, pred, target, B * K, 2.f * scale);
    LAUNCHED("mfs__mse_backward_cuda", "scaled_diff_kernel");
    return MFS_OK;
}

static mfs_status dropout_apply(const char *fn, float *out, const float *inp, int64_t N, float p, uint64_t seed,
                                uint64_t stream) {
    if (N <= 0) return MFS_OK;
    if (p <= 0.f) {
        if (out != inp)
            MFS_CUDA_CHECK(fn, cudaMemcpyAsync(out, inp, (size_t)N * sizeof(float), cudaMemcpyDeviceToDevice, MFS_STREAM));
        return MFS_OK;
    }
    dropout_kernel<<<blocks_for((N + 3) / 4), THREADS, 0, MFS_STREAM>>>(out, inp, N, p, seed, stream);
    LAUNCHED(fn, "dropout_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__dropout_forward_cuda(float *out, const float *inp, int64_t N, float p, uint64_t seed,
                                                uint64_t stream) {
    return dropout_apply("mfs__dropout_forward_cuda", out, inp, N, p, seed, stream);
}

extern "C" mfs_status mfs__dropout_backward_cuda(float *dinp, const float *dout, int64_t N, float p, uint64_t seed,
                                                 uint64_t stream) {
    return dropout_apply("mfs__dropout_backward_cuda", dinp, dout, N, p, seed, stream);
}

extern "C" mfs_status mfs__layernorm_forward_cuda(float *out, float *mean, float *rstd, const float *inp,
                                                  const float *weight, const float *bias, int64_t B, int64_t C,
                                                  float eps) {
    if (B <= 0) return MFS_OK;
    layernorm_fwd_kernel<<<blocks_for(B * 32), THREADS, 0, MFS_STREAM>>>(out, mean, rstd, inp, weight, bias, B, C,
                                                                         eps);
    LAUNCHED("mfs__layernorm_forward_cuda", "layernorm_fwd_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__layernorm_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout,
                                                   const float *mean, const float *rstd, const float *inp,
                                                   const float *weight, int64_t B, int64_t C) {
    static const char fn[] = "mfs__layernorm_backward_cuda";
    if (B <= 0) return MFS_OK;
    layernorm_bwd_params_kernel<<<blocks_for(C), THREADS, 0, MFS_STREAM>>>(dweight, dbias, dout, mean, rstd, inp, B,
                                                                           C);
    LAUNCHED(fn, "layernorm_bwd_params_kernel");
    if (dinp) {
        layernorm_bwd_inp_kernel<<<blocks_for(B * 32), THREADS, 0, MFS_STREAM>>>(dinp, dout, mean, rstd, inp, weight,
                                                                                 B, C);
        LAUNCHED(fn, "layernorm_bwd_inp_kernel");
    }
    return MFS_OK;
}
