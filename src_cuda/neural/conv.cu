/* conv2d forward and backward on the GPU: the mirror of src_c/neural/conv.c
 * with device pointers (see src_c/neural/layers.h for the contract).
 *
 * Images go in chunks of G = d->slots (at most CONV_CHUNK_FLOATS of
 * workspace), each chunk as one wide GEMM:
 *   forward   col (CKK, G OHW) = im2col of the G images side by side
 *             tmp (OC, G OHW) = weight (OC, CKK) @ col; out = NCHW(tmp) + bias
 *   backward  gT (OC, G OHW) = dout of the chunk, channel-major
 *             dweight (OC, CKK) += gT @ col^T; dbias += row sums of gT
 *             col = weight^T @ gT; dinp = col2im(col), a gather (one thread per
 *             input pixel sums its taps: no atomics, deterministic)
 * Workspace: col (CKK, G OHW) and tmp / gT (OC, G OHW). */
#include "src_cuda/linalg/gemm.cuh"
#include "src_c/neural/layers.h"

namespace {
constexpr int THREADS = 256;
constexpr int64_t CONV_CHUNK_FLOATS = (int64_t)32 << 20; /* 128 MiB of columns at most */

/* Images per GEMM: d->slots (the caller's choice), at most B and at most
 * CONV_CHUNK_FLOATS of workspace. */
int64_t chunk_images(const mfs__conv2d_dims *d) {
    const int64_t per = (d->C * d->KH * d->KW + d->OC) * d->OH * d->OW;
    int64_t g = CONV_CHUNK_FLOATS / (per > 0 ? per : 1);
    if (g > d->slots) g = d->slots;
    if (g > d->B) g = d->B;
    return g < 1 ? 1 : g;
}

struct Geo {
    int C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW;
};

Geo geo_of(const mfs__conv2d_dims *d) {
    Geo g = {(int)d->C, (int)d->H, (int)d->W, (int)d->KH, (int)d->KW, (int)d->stride_h, (int)d->stride_w,
             (int)d->pad_h, (int)d->pad_w, (int)d->dil_h, (int)d->dil_w, (int)d->OH, (int)d->OW};
    return g;
}

/* col[(c, i, j), g * OHW + oh * OW + ow] for the G images from inp (G, C, H, W). */
__global__ void im2col_kernel(float *col, const float *inp, Geo q, int64_t G) {
    const int64_t OHW = (int64_t)q.OH * q.OW, ncol = G * OHW;
    const int64_t total = (int64_t)q.C * q.KH * q.KW * ncol;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total;
         t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = t / ncol, s = t % ncol;
        const int64_t g = s / OHW, p = s % OHW;
        const int oh = (int)(p / q.OW), ow = (int)(p % q.OW);
        const int j = (int)(r % q.KW), i = (int)((r / q.KW) % q.KH), c = (int)(r / ((int64_t)q.KW * q.KH));
        const int ih = oh * q.sh - q.ph + i * q.dh, iw = ow * q.sw - q.pw + j * q.dw;
        float v = 0.f;
        if (ih >= 0 && ih < q.H && iw >= 0 && iw < q.W) v = inp[((g * q.C + c) * q.H + ih) * (int64_t)q.W + iw];
        col[t] = v;
    }
}

/* dinp (G, C, H, W) = the gather of col (CKK, G OHW) back to each pixel. */
__global__ void col2im_kernel(float *dinp, const float *col, Geo q, int64_t G) {
    const int64_t OHW = (int64_t)q.OH * q.OW, ncol = G * OHW;
    const int64_t total = G * q.C * (int64_t)q.H * q.W;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total;
         t += (int64_t)gridDim.x * blockDim.x) {
        const int iw = (int)(t % q.W), ih = (int)((t / q.W) % q.H);
        const int64_t gc = t / ((int64_t)q.W * q.H);
        const int c = (int)(gc % q.C);
        const int64_t g = gc / q.C;
        float s = 0.f;
        for (int i = 0; i < q.KH; i++) {
            const int a = ih + q.ph - i * q.dh;
            if (a < 0 || a % q.sh) continue;
            const int oh = a / q.sh;
            if (oh >= q.OH) continue;
            for (int j = 0; j < q.KW; j++) {
                const int b = iw + q.pw - j * q.dw;
                if (b < 0 || b % q.sw) continue;
                const int ow = b / q.sw;
                if (ow >= q.OW) continue;
                s += col[(((int64_t)c * q.KH + i) * q.KW + j) * ncol + g * OHW + (int64_t)oh * q.OW + ow];
            }
        }
        dinp[t] = s;
    }
}

/* out (G, OC, OHW) = tmp (OC, G OHW) re-laid + bias (or NULL). */
__global__ void to_nchw_kernel(float *out, const float *tmp, const float *bias, int64_t OC, int64_t OHW, int64_t G) {
    const int64_t total = G * OC * OHW;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total;
         t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t p = t % OHW, o = (t / OHW) % OC, g = t / (OHW * OC);
        out[t] = tmp[o * G * OHW + g * OHW + p] + (bias ? bias[o] : 0.f);
    }
}

/* gT (OC, G OHW) = dout (G, OC, OHW) channel-major. */
__global__ void from_nchw_kernel(float *gT, const float *dout, int64_t OC, int64_t OHW, int64_t G) {
    const int64_t total = G * OC * OHW;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total;
         t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t p = t % OHW, o = (t / OHW) % OC, g = t / (OHW * OC);
        gT[o * G * OHW + g * OHW + p] = dout[t];
    }
}

/* dbias[o] += sum of row o of gT (OC, n): one block per row. */
__global__ void row_sum_add_kernel(float *dbias, const float *gT, int64_t n) {
    __shared__ float scratch[32];
    const float *r = gT + (int64_t)blockIdx.x * n;
    float s = 0.f;
    for (int64_t q = threadIdx.x; q < n; q += blockDim.x) s += r[q];
    s = mfs__block_sum(s, scratch);
    if (threadIdx.x == 0) dbias[blockIdx.x] += s;
}

unsigned grid_for(int64_t n) {
    int64_t b = mfs__ceil_div(n > 0 ? n : 1, THREADS), cap = (int64_t)mfs__cuda_sm_count() * 32;
    return (unsigned)(b < cap ? b : cap);
}
} /* namespace */

extern "C" size_t mfs__conv2d_workspace_size_cuda(const struct mfs__conv2d_dims *d) {
    const int64_t G = chunk_images(d), OHW = d->OH * d->OW;
    return (size_t)(G * OHW * (d->C * d->KH * d->KW) + G * OHW * d->OC) * sizeof(float) + 256;
}

extern "C" mfs_status mfs__conv2d_forward_cuda(float *out, const float *inp, const float *weight, const float *bias,
                                               const struct mfs__conv2d_dims *d, float *work) {
    const char *fn = "mfs__conv2d_forward_cuda";
    const int64_t G0 = chunk_images(d), OHW = d->OH * d->OW, CKK = d->C * d->KH * d->KW;
    const Geo q = geo_of(d);
    float *col = work, *tmp = work + mfs__round_up(G0 * OHW * CKK, 64);
    for (int64_t b0 = 0; b0 < d->B; b0 += G0) {
        const int64_t G = d->B - b0 < G0 ? d->B - b0 : G0;
        im2col_kernel<<<grid_for(CKK * G * OHW), THREADS, 0, MFS_STREAM>>>(col, inp + b0 * d->C * d->H * d->W, q, G);
        MFS_CUDA_LAUNCHED(fn, "im2col_kernel");
        MFS_TRY(mfs__sgemm_dev(fn, 0, 0, d->OC, G * OHW, CKK, 1.f, weight, CKK, col, G * OHW, 0.f, tmp, G * OHW, 0, 0,
                               nullptr));
        to_nchw_kernel<<<grid_for(G * d->OC * OHW), THREADS, 0, MFS_STREAM>>>(out + b0 * d->OC * OHW, tmp, bias,
                                                                             d->OC, OHW, G);
        MFS_CUDA_LAUNCHED(fn, "to_nchw_kernel");
    }
    return MFS_OK;
}

extern "C" mfs_status mfs__conv2d_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout,
                                                const float *inp, const float *weight,
                                                const struct mfs__conv2d_dims *d, float *work) {
    const char *fn = "mfs__conv2d_backward_cuda";
    const int64_t G0 = chunk_images(d), OHW = d->OH * d->OW, CKK = d->C * d->KH * d->KW, OC = d->OC;
    const int64_t in_img = d->C * d->H * d->W;
    const Geo q = geo_of(d);
    float *col = work, *gT = work + mfs__round_up(G0 * OHW * CKK, 64);
    for (int64_t b0 = 0; b0 < d->B; b0 += G0) {
        const int64_t G = d->B - b0 < G0 ? d->B - b0 : G0, n = G * OHW;
        from_nchw_kernel<<<grid_for(G * OC * OHW), THREADS, 0, MFS_STREAM>>>(gT, dout + b0 * OC * OHW, OC, OHW, G);
        MFS_CUDA_LAUNCHED(fn, "from_nchw_kernel");
        if (dbias) {
            row_sum_add_kernel<<<(unsigned)OC, THREADS, 0, MFS_STREAM>>>(dbias, gT, n);
            MFS_CUDA_LAUNCHED(fn, "row_sum_add_kernel");
        }
        im2col_kernel<<<grid_for(CKK * n), THREADS, 0, MFS_STREAM>>>(col, inp + b0 * in_img, q, G);
        MFS_CUDA_LAUNCHED(fn, "im2col_kernel");
        MFS_TRY(mfs__sgemm_dev(fn, 0, 1, OC, CKK, n, 1.f, gT, n, col, n, 1.f, dweight, CKK, 0, 0, nullptr));
        if (dinp) {
            MFS_TRY(mfs__sgemm_dev(fn, 1, 0, CKK, n, OC, 1.f, weight, CKK, gT, n, 0.f, col, n, 0, 0, nullptr));
            col2im_kernel<<<grid_for(G * in_img), THREADS, 0, MFS_STREAM>>>(dinp + b0 * in_img, col, q, G);
            MFS_CUDA_LAUNCHED(fn, "col2im_kernel");
        }
    }
    return MFS_OK;
}
