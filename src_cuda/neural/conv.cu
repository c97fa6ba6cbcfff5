/* conv2d forward and backward on the GPU: the mirror of src_c/neural/conv.c
 * with device pointers (see src_c/neural/layers.h for the contract).
 *
 * The forward of small images (an image and the weight within 48 KiB) is a
 * direct convolution from shared memory (conv_direct_kernel, below). Otherwise
 * images go in chunks of G = d->slots (at most CONV_CHUNK_FLOATS of
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

/* The re-layout kernels run on 2-D grids: y walks rows whose index fixes the
 * slow coordinates once per row (a column of the im2col matrix's rows, an
 * (image, channel) plane), x walks the contiguous run inside the row, so the
 * per-element index math is one or two 32-bit divisions. (On an H100 the
 * first version, with 64-bit div/mod of a flat index per element, made
 * im2col 27% of the CNN's predict.) Every size here is < 2^31: a chunk's
 * workspace is bounded by CONV_CHUNK_FLOATS. Grid-stride in both directions. */
constexpr int ROW_BLOCKS_MAX = 65535;

dim3 grid_2d(int64_t rows, int64_t cols) {
    int64_t x = mfs__ceil_div(cols > 0 ? cols : 1, THREADS), y = rows > 0 ? rows : 1;
    const int64_t cap = (int64_t)mfs__cuda_sm_count() * 64;
    if (y > ROW_BLOCKS_MAX) y = ROW_BLOCKS_MAX;
    if (x * y > cap) x = mfs__ceil_div(cap, y) > 0 ? mfs__ceil_div(cap, y) : 1;
    return dim3((unsigned)x, (unsigned)y);
}

/* col[r, g * OHW + p] for r = (c, i, j) and the G images of inp (G, C, H, W):
 * the input pixel (c, oh*sh - ph + i*dh, ow*sw - pw + j*dw), or 0 in the padding. */
__global__ void im2col_kernel(float *__restrict__ col, const float *__restrict__ inp, Geo q, int G) {
    const int OHW = q.OH * q.OW, ncol = G * OHW, CKK = q.C * q.KH * q.KW;
    for (int r = blockIdx.y; r < CKK; r += gridDim.y) {
        const int j = r % q.KW, i = (r / q.KW) % q.KH, c = r / (q.KW * q.KH);
        float *out = col + (int64_t)r * ncol;
        for (int s = blockIdx.x * blockDim.x + threadIdx.x; s < ncol; s += gridDim.x * blockDim.x) {
            const int g = s / OHW, p = s - g * OHW;
            const int oh = p / q.OW, ow = p - oh * q.OW;
            const int ih = oh * q.sh - q.ph + i * q.dh, iw = ow * q.sw - q.pw + j * q.dw;
            float v = 0.f;
            if (ih >= 0 && ih < q.H && iw >= 0 && iw < q.W)
                v = __ldg(inp + ((int64_t)(g * q.C + c) * q.H + ih) * q.W + iw);
            out[s] = v;
        }
    }
}

/* dinp (G, C, H, W) = the gather of col (CKK, G OHW) back to each pixel. */
__global__ void col2im_kernel(float *__restrict__ dinp, const float *__restrict__ col, Geo q, int G) {
    const int OHW = q.OH * q.OW, ncol = G * OHW, HW = q.H * q.W;
    for (int plane = blockIdx.y; plane < G * q.C; plane += gridDim.y) { /* plane = g * C + c */
        const int c = plane % q.C, g = plane / q.C;
        const float *cg = col + (int64_t)g * OHW;
        for (int t = blockIdx.x * blockDim.x + threadIdx.x; t < HW; t += gridDim.x * blockDim.x) {
            const int ih = t / q.W, iw = t - ih * q.W;
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
                    s += cg[((int64_t)(c * q.KH + i) * q.KW + j) * ncol + oh * q.OW + ow];
                }
            }
            dinp[(int64_t)plane * HW + t] = s;
        }
    }
}

/* out (G, OC, OHW) = tmp (OC, G OHW) re-laid + bias (or NULL), then ReLU
 * when relu (as act_fwd_kernel: x > 0 ? x : 0, NaN to 0). */
__global__ void to_nchw_kernel(float *__restrict__ out, const float *__restrict__ tmp, const float *__restrict__ bias,
                               int OC, int OHW, int G, int relu) {
    for (int plane = blockIdx.y; plane < G * OC; plane += gridDim.y) { /* plane = g * OC + o */
        const int o = plane % OC, g = plane / OC;
        const float bo = bias ? __ldg(bias + o) : 0.f;
        const float *src = tmp + ((int64_t)o * G + g) * OHW;
        float *dst = out + (int64_t)plane * OHW;
        for (int p = blockIdx.x * blockDim.x + threadIdx.x; p < OHW; p += gridDim.x * blockDim.x) {
            const float v = src[p] + bo;
            dst[p] = relu ? (v > 0.f ? v : 0.f) : v;
        }
    }
}

/* gT (OC, G OHW) = dout (G, OC, OHW) channel-major. */
__global__ void from_nchw_kernel(float *__restrict__ gT, const float *__restrict__ dout, int OC, int OHW, int G) {
    for (int plane = blockIdx.y; plane < G * OC; plane += gridDim.y) {
        const int o = plane % OC, g = plane / OC;
        const float *src = dout + (int64_t)plane * OHW;
        float *dst = gT + ((int64_t)o * G + g) * OHW;
        for (int p = blockIdx.x * blockDim.x + threadIdx.x; p < OHW; p += gridDim.x * blockDim.x) dst[p] = src[p];
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

/* ---- direct forward for small images ------------------------------------------
 * When one image (C, H, W) zero-padded and the whole weight fit in shared
 * memory together (DIRECT_SMEM_FLOATS), a block convolves whole images
 * straight from shared memory and writes NCHW with bias and ReLU: no im2col
 * columns (CKK times the input), no GEMM output to re-lay, one launch per
 * conv. Each thread computes DIRECT_OCT output channels at DIRECT_PIX pixels:
 * per tap, DIRECT_PIX input loads (adjacent threads read adjacent pixels:
 * no bank conflicts) and DIRECT_OCT/4 float4 weight loads that every thread
 * of a warp shares (broadcasts), for DIRECT_PIX * DIRECT_OCT FMAs. Each output
 * is the sum over the taps r = (c, i, j) in order, as the CPU's dot products.
 * Larger images (or weights) take im2col + GEMM, whose tiles reuse better. */
constexpr int DIRECT_OCT = 8, DIRECT_PIX = 2;
constexpr int64_t DIRECT_SMEM_FLOATS = 12 << 10; /* 48 KiB, the default per-block limit */

struct DirectGeo {
    int C, Hp, Wp, KH, KW, sh, sw, dh, dw, OH, OW, OC, OCp, ph, pw, H, W;
};

int64_t direct_smem_floats(const mfs__conv2d_dims *d) {
    const int64_t OCp = mfs__round_up(d->OC, DIRECT_OCT);
    return d->C * (d->H + 2 * d->pad_h) * (d->W + 2 * d->pad_w) + d->C * d->KH * d->KW * OCp;
}

__global__ void __launch_bounds__(THREADS)
conv_direct_kernel(float *__restrict__ out, const float *__restrict__ inp, const float *__restrict__ weight,
                   const float *__restrict__ bias, DirectGeo q, int B, int relu) {
    extern __shared__ float4 smem4[];
    const int CKK = q.C * q.KH * q.KW, HWp = q.Hp * q.Wp, OHW = q.OH * q.OW;
    float *ws = reinterpret_cast<float *>(smem4); /* (CKK, OCp): tap-major, channels zero-padded */
    float *xs = ws + CKK * q.OCp;                 /* (C, Hp, Wp): the image with its zero border */
    for (int t = threadIdx.x; t < CKK * q.OCp; t += blockDim.x) {
        const int r = t / q.OCp, o = t - r * q.OCp;
        ws[t] = o < q.OC ? __ldg(weight + (int64_t)o * CKK + r) : 0.f;
    }
    const int groups = q.OCp / DIRECT_OCT, half = (OHW + DIRECT_PIX - 1) / DIRECT_PIX, items = groups * half;
    for (int img = blockIdx.x; img < B; img += gridDim.x) {
        __syncthreads(); /* the weights are in; the previous image is done */
        const float *x = inp + (int64_t)img * q.C * q.H * q.W;
        for (int t = threadIdx.x; t < q.C * HWp; t += blockDim.x) {
            const int c = t / HWp, rem = t - c * HWp, h = rem / q.Wp, w = rem - h * q.Wp;
            const int ih = h - q.ph, iw = w - q.pw;
            xs[t] = ih >= 0 && ih < q.H && iw >= 0 && iw < q.W ? __ldg(x + (c * q.H + ih) * q.W + iw) : 0.f;
        }
        __syncthreads();
        float *o_img = out + (int64_t)img * q.OC * OHW;
        for (int item = threadIdx.x; item < items; item += blockDim.x) {
            const int og = item / half, p0 = item - og * half;
            int base[DIRECT_PIX], pix[DIRECT_PIX];
            for (int u = 0; u < DIRECT_PIX; u++) {
                const int pu = p0 + u * half, p = pu < OHW ? pu : p0; /* past the end: recompute p0, unwritten */
                const int oh = p / q.OW, ow = p - oh * q.OW;
                pix[u] = pu;
                base[u] = oh * q.sh * q.Wp + ow * q.sw;
            }
            float acc[DIRECT_PIX][DIRECT_OCT];
            for (int u = 0; u < DIRECT_PIX; u++)
                for (int k = 0; k < DIRECT_OCT; k++) acc[u][k] = 0.f;
            const float4 *wp = reinterpret_cast<const float4 *>(ws) + og * (DIRECT_OCT / 4);
            for (int c = 0; c < q.C; c++)
                for (int i = 0; i < q.KH; i++) {
                    const float *xr = xs + c * HWp + i * q.dh * q.Wp;
                    for (int j = 0; j < q.KW; j++, wp += q.OCp / 4) {
                        const float4 wa = wp[0], wb = wp[1];
                        for (int u = 0; u < DIRECT_PIX; u++) {
                            const float v = xr[base[u] + j * q.dw];
                            acc[u][0] = fmaf(v, wa.x, acc[u][0]);
                            acc[u][1] = fmaf(v, wa.y, acc[u][1]);
                            acc[u][2] = fmaf(v, wa.z, acc[u][2]);
                            acc[u][3] = fmaf(v, wa.w, acc[u][3]);
                            acc[u][4] = fmaf(v, wb.x, acc[u][4]);
                            acc[u][5] = fmaf(v, wb.y, acc[u][5]);
                            acc[u][6] = fmaf(v, wb.z, acc[u][6]);
                            acc[u][7] = fmaf(v, wb.w, acc[u][7]);
                        }
                    }
                }
            for (int k = 0; k < DIRECT_OCT; k++) {
                const int o = og * DIRECT_OCT + k;
                if (o >= q.OC) break;
                const float bo = bias ? __ldg(bias + o) : 0.f;
                for (int u = 0; u < DIRECT_PIX; u++)
                    if (pix[u] < OHW) {
                        const float v = acc[u][k] + bo;
                        o_img[(int64_t)o * OHW + pix[u]] = relu ? (v > 0.f ? v : 0.f) : v;
                    }
            }
        }
    }
}

} /* namespace */

/* 1 when the forward of d takes the direct kernel (no workspace used). */
extern "C" int mfs__conv2d_direct_cuda(const struct mfs__conv2d_dims *d) {
    return d->B <= INT32_MAX && direct_smem_floats(d) <= DIRECT_SMEM_FLOATS;
}

extern "C" size_t mfs__conv2d_workspace_size_cuda(const struct mfs__conv2d_dims *d) {
    const int64_t G = chunk_images(d), OHW = d->OH * d->OW;
    return (size_t)(G * OHW * (d->C * d->KH * d->KW) + G * OHW * d->OC) * sizeof(float) + 256;
}

extern "C" mfs_status mfs__conv2d_forward_cuda(float *out, const float *inp, const float *weight, const float *bias,
                                               const struct mfs__conv2d_dims *d, float *work) {
    const char *fn = "mfs__conv2d_forward_cuda";
    const int64_t G0 = chunk_images(d), OHW = d->OH * d->OW, CKK = d->C * d->KH * d->KW;
    const Geo q = geo_of(d);
    if (mfs__conv2d_direct_cuda(d)) {
        const DirectGeo g = {(int)d->C, (int)(d->H + 2 * d->pad_h), (int)(d->W + 2 * d->pad_w), (int)d->KH,
                             (int)d->KW, (int)d->stride_h, (int)d->stride_w, (int)d->dil_h, (int)d->dil_w,
                             (int)d->OH, (int)d->OW, (int)d->OC, (int)mfs__round_up(d->OC, DIRECT_OCT),
                             (int)d->pad_h, (int)d->pad_w, (int)d->H, (int)d->W};
        int64_t blocks = (int64_t)mfs__cuda_sm_count() * 8;
        if (blocks > d->B) blocks = d->B;
        if (blocks < 1) blocks = 1;
        conv_direct_kernel<<<(unsigned)blocks, THREADS, (size_t)direct_smem_floats(d) * sizeof(float), MFS_STREAM>>>(
            out, inp, weight, bias, g, (int)d->B, d->fused_relu ? 1 : 0);
        MFS_CUDA_LAUNCHED(fn, "conv_direct_kernel");
        return MFS_OK;
    }
    float *col = work, *tmp = work + mfs__round_up(G0 * OHW * CKK, 64);
    for (int64_t b0 = 0; b0 < d->B; b0 += G0) {
        const int64_t G = d->B - b0 < G0 ? d->B - b0 : G0;
        im2col_kernel<<<grid_2d(CKK, G * OHW), THREADS, 0, MFS_STREAM>>>(col, inp + b0 * d->C * d->H * d->W, q,
                                                                          (int)G);
        MFS_CUDA_LAUNCHED(fn, "im2col_kernel");
        MFS_TRY(mfs__sgemm_dev(fn, 0, 0, d->OC, G * OHW, CKK, 1.f, weight, CKK, col, G * OHW, 0.f, tmp, G * OHW, 0, 0,
                               nullptr));
        to_nchw_kernel<<<grid_2d(G * d->OC, OHW), THREADS, 0, MFS_STREAM>>>(out + b0 * d->OC * OHW, tmp, bias,
                                                                            (int)d->OC, (int)OHW, (int)G,
                                                                            d->fused_relu ? 1 : 0);
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
        from_nchw_kernel<<<grid_2d(G * OC, OHW), THREADS, 0, MFS_STREAM>>>(gT, dout + b0 * OC * OHW, (int)OC,
                                                                           (int)OHW, (int)G);
        MFS_CUDA_LAUNCHED(fn, "from_nchw_kernel");
        if (dbias) {
            row_sum_add_kernel<<<(unsigned)OC, THREADS, 0, MFS_STREAM>>>(dbias, gT, n);
            MFS_CUDA_LAUNCHED(fn, "row_sum_add_kernel");
        }
        im2col_kernel<<<grid_2d(CKK, n), THREADS, 0, MFS_STREAM>>>(col, inp + b0 * in_img, q, (int)G);
        MFS_CUDA_LAUNCHED(fn, "im2col_kernel");
        MFS_TRY(mfs__sgemm_dev(fn, 0, 1, OC, CKK, n, 1.f, gT, n, col, n, 1.f, dweight, CKK, 0, 0, nullptr));
        if (dinp) {
            MFS_TRY(mfs__sgemm_dev(fn, 1, 0, CKK, n, OC, 1.f, weight, CKK, gT, n, 0.f, col, n, 0, 0, nullptr));
            col2im_kernel<<<grid_2d(G * d->C, d->H * d->W), THREADS, 0, MFS_STREAM>>>(dinp + b0 * in_img, col, q,
                                                                                      (int)G);
            MFS_CUDA_LAUNCHED(fn, "col2im_kernel");
        }
    }
    return MFS_OK;
}
