/* Max-pool 2d, average-pool 2d and flatten on the GPU: the mirror of
 * src_c/neural/pool.c with device pointers. Forward: one thread per output.
 * Backward: one thread per input pixel gathers from the windows that contain
 * it (no atomics: deterministic, overlapping windows included). */
#include <math.h>
#include "src_cuda/core/cuda_internal.cuh"
#include "src_c/neural/layers.h"

namespace {
constexpr int THREADS = 256;

struct PGeo {
    int H, W, KH, KW, sh, sw, ph, pw, OH, OW;
};

PGeo pgeo_of(const mfs__pool2d_dims *d) {
    PGeo g = {(int)d->H, (int)d->W, (int)d->KH, (int)d->KW, (int)d->stride_h, (int)d->stride_w,
              (int)d->pad_h, (int)d->pad_w, (int)d->OH, (int)d->OW};
    return g;
}

unsigned grid_for(int64_t n) {
    int64_t b = mfs__ceil_div(n > 0 ? n : 1, THREADS), cap = (int64_t)mfs__cuda_sm_count() * 32;
    return (unsigned)(b < cap ? b : cap);
}

__global__ void maxpool_fwd_kernel(float *out, int32_t *argmax, const float *inp, PGeo q, int64_t P) {
    const int64_t OHW = (int64_t)q.OH * q.OW, total = P * OHW;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total;
         t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t p = t / OHW;
        const int oh = (int)((t % OHW) / q.OW), ow = (int)(t % q.OW);
        const float *x = inp + p * q.H * (int64_t)q.W;
        const int h0 = oh * q.sh - q.ph, w0 = ow * q.sw - q.pw;
        const int ha = max(h0, 0), hb = min(h0 + q.KH, q.H), wa = max(w0, 0), wb = min(w0 + q.KW, q.W);
        float m = -INFINITY;
        int at = ha * q.W + wa;
        for (int h = ha; h < hb; h++)
            for (int w = wa; w < wb; w++) {
                const float v = x[h * q.W + w];
                if (v > m || isnan(v)) { /* NaN always taken, as PyTorch */
                    m = v;
                    at = h * q.W + w;
                }
            }
        out[t] = m;
        argmax[t] = at;
    }
}

/* The output windows [oa, ob) along one axis that contain input coordinate x. */
__device__ __forceinline__ void windows_of(int x, int pad, int k, int s, int n_out, int &oa, int &ob) {
    const int a = x + pad - k + 1; /* o * s >= a */
    oa = a <= 0 ? 0 : (a + s - 1) / s;
    ob = min((x + pad) / s + 1, n_out);
}

__global__ void maxpool_bwd_kernel(float *dinp, const float *dout, const int32_t *argmax, PGeo q, int64_t P) {
    const int64_t HW = (int64_t)q.H * q.W, OHW = (int64_t)q.OH * q.OW, total = P * HW;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total;
         t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t p = t / HW;
        const int pix = (int)(t % HW), h = pix / q.W, w = pix % q.W;
        int oa, ob, pa, pb;
        windows_of(h, q.ph, q.KH, q.sh, q.OH, oa, ob);
        windows_of(w, q.pw, q.KW, q.sw, q.OW, pa, pb);
        float s = 0.f;
        for (int oh = oa; oh < ob; oh++)
            for (int ow = pa; ow < pb; ow++) {
                const int64_t o = p * OHW + (int64_t)oh * q.OW + ow;
                if (argmax[o] == pix) s += dout[o];
            }
        dinp[t] = s;
    }
}

__global__ void avgpool_fwd_kernel(float *out, const float *inp, PGeo q, int64_t P) {
    const int64_t OHW = (int64_t)q.OH * q.OW, total = P * OHW;
    const float inv = 1.f / (float)(q.KH * q.KW);
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total;
         t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t p = t / OHW;
        const int oh = (int)((t % OHW) / q.OW), ow = (int)(t % q.OW);
        const float *x = inp + p * q.H * (int64_t)q.W;
        const int h0 = oh * q.sh - q.ph, w0 = ow * q.sw - q.pw;
        const int ha = max(h0, 0), hb = min(h0 + q.KH, q.H), wa = max(w0, 0), wb = min(w0 + q.KW, q.W);
        float s = 0.f;
        for (int h = ha; h < hb; h++)
            for (int w = wa; w < wb; w++) s += x[h * q.W + w];
        out[t] = s * inv;
    }
}

__global__ void avgpool_bwd_kernel(float *dinp, const float *dout, PGeo q, int64_t P) {
    const int64_t HW = (int64_t)q.H * q.W, OHW = (int64_t)q.OH * q.OW, total = P * HW;
    const float inv = 1.f / (float)(q.KH * q.KW);
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total;
         t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t p = t / HW;
        const int pix = (int)(t % HW), h = pix / q.W, w = pix % q.W;
        int oa, ob, pa, pb;
        windows_of(h, q.ph, q.KH, q.sh, q.OH, oa, ob);
        windows_of(w, q.pw, q.KW, q.sw, q.OW, pa, pb);
        float s = 0.f;
        for (int oh = oa; oh < ob; oh++)
            for (int ow = pa; ow < pb; ow++) s += dout[p * OHW + (int64_t)oh * q.OW + ow];
        dinp[t] = s * inv;
    }
}
} /* namespace */

extern "C" mfs_status mfs__maxpool2d_forward_cuda(float *out, int32_t *argmax, const float *inp,
                                                  const struct mfs__pool2d_dims *d) {
    const int64_t P = d->B * d->C;
    maxpool_fwd_kernel<<<grid_for(P * d->OH * d->OW), THREADS, 0, MFS_STREAM>>>(out, argmax, inp, pgeo_of(d), P);
    MFS_CUDA_LAUNCHED("mfs__maxpool2d_forward_cuda", "maxpool_fwd_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__maxpool2d_backward_cuda(float *dinp, const float *dout, const int32_t *argmax,
                                                   const struct mfs__pool2d_dims *d) {
    const int64_t P = d->B * d->C;
    maxpool_bwd_kernel<<<grid_for(P * d->H * d->W), THREADS, 0, MFS_STREAM>>>(dinp, dout, argmax, pgeo_of(d), P);
    MFS_CUDA_LAUNCHED("mfs__maxpool2d_backward_cuda", "maxpool_bwd_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__avgpool2d_forward_cuda(float *out, const float *inp, const struct mfs__pool2d_dims *d) {
    const int64_t P = d->B * d->C;
    avgpool_fwd_kernel<<<grid_for(P * d->OH * d->OW), THREADS, 0, MFS_STREAM>>>(out, inp, pgeo_of(d), P);
    MFS_CUDA_LAUNCHED("mfs__avgpool2d_forward_cuda", "avgpool_fwd_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__avgpool2d_backward_cuda(float *dinp, const float *dout, const struct mfs__pool2d_dims *d) {
    const int64_t P = d->B * d->C;
    avgpool_bwd_kernel<<<grid_for(P * d->H * d->W), THREADS, 0, MFS_STREAM>>>(dinp, dout, pgeo_of(d), P);
    MFS_CUDA_LAUNCHED("mfs__avgpool2d_backward_cuda", "avgpool_bwd_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__flatten_forward_cuda(float *out, const float *inp, int64_t N) {
    if (out != inp)
        MFS_CUDA_CHECK("mfs__flatten_forward_cuda",
                       cudaMemcpyAsync(out, inp, (size_t)N * sizeof(float), cudaMemcpyDeviceToDevice, MFS_STREAM));
    return MFS_OK;
}

extern "C" mfs_status mfs__flatten_backward_cuda(float *dinp, const float *dout, int64_t N) {
    if (dinp != dout)
        MFS_CUDA_CHECK("mfs__flatten_backward_cuda",
                       cudaMemcpyAsync(dinp, dout, (size_t)N * sizeof(float), cudaMemcpyDeviceToDevice, MFS_STREAM));
    return MFS_OK;
}
