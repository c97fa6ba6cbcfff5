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
static_assert(DIRECT_OCT == 8, "fma8 and the float4 pairs assume 8 filters per thread");
constexpr int64_t DIRECT_SMEM_FLOATS = 12 << 10; /* 48 KiB, the default per-block limit */

struct DirectGeo {
    int C, Hp, Wp, KH, KW, sh, sw, dh, dw, OH, OW, OC, OCp, ph, pw, H, W;
};

/* xs (C, Hp, Wp) = the image x (C, H, W) with its zero border, by the block */
__device__ __forceinline__ void load_padded_image(float *xs, const float *__restrict__ x, const DirectGeo &q) {
    const int HWp = q.Hp * q.Wp;
    for (int t = threadIdx.x; t < q.C * HWp; t += blockDim.x) {
        const int c = t / HWp, rem = t - c * HWp, h = rem / q.Wp, w = rem - h * q.Wp;
        const int ih = h - q.ph, iw = w - q.pw;
        xs[t] = ih >= 0 && ih < q.H && iw >= 0 && iw < q.W ? __ldg(x + (c * q.H + ih) * q.W + iw) : 0.f;
    }
}

/* acc[k] += v * (a, b)[k] for the DIRECT_OCT = 8 filters (or channels) of a thread */
__device__ __forceinline__ void fma8(float *acc, float v, const float4 a, const float4 b) {
    acc[0] = fmaf(v, a.x, acc[0]);
    acc[1] = fmaf(v, a.y, acc[1]);
    acc[2] = fmaf(v, a.z, acc[2]);
    acc[3] = fmaf(v, a.w, acc[3]);
    acc[4] = fmaf(v, b.x, acc[4]);
    acc[5] = fmaf(v, b.y, acc[5]);
    acc[6] = fmaf(v, b.z, acc[6]);
    acc[7] = fmaf(v, b.w, acc[7]);
}

int64_t direct_smem_floats(const mfs__conv2d_dims *d) {
    const int64_t OCp = mfs__round_up(d->OC, DIRECT_OCT);
    return d->C * (d->H + 2 * d->pad_h) * (d->W + 2 * d->pad_w) + d->C * d->KH * d->KW * OCp;
}
/* The weight gradient's: the padded image and a band of output rows of the
 * image's dout, (rows OW, OCp), as many rows as fit (0: not one row). */
int64_t direct_dw_band_rows(const mfs__conv2d_dims *d) {
    const int64_t OCp = mfs__round_up(d->OC, DIRECT_OCT);
    const int64_t room = DIRECT_SMEM_FLOATS - d->C * (d->H + 2 * d->pad_h) * (d->W + 2 * d->pad_w);
    const int64_t rows = room > 0 ? room / (d->OW * OCp) : 0;
    return rows < d->OH ? rows : d->OH;
}
int64_t direct_dw_smem_floats(const mfs__conv2d_dims *d) {
    return d->C * (d->H + 2 * d->pad_h) * (d->W + 2 * d->pad_w) +
           direct_dw_band_rows(d) * d->OW * mfs__round_up(d->OC, DIRECT_OCT);
}
/* the input gradient's: the weight (KH KW OC, Cp) (dout is read through L1) */
int64_t direct_dx_smem_floats(const mfs__conv2d_dims *d) {
    return d->KH * d->KW * d->OC * mfs__round_up(d->C, DIRECT_OCT);
}

/* The weight gradient's work split: an item is one tap r (CKK of them, and
 * one more for the bias, whose "input" is 1) times one group of DIRECT_OCT
 * filters; when there are fewer items than threads, ps segments of the
 * output rows share an item (ps partial sums). DW_BLOCKS blocks at most, each
 * over every gridDim-th image, write ps * items * DIRECT_OCT partials; a
 * second kernel sums them in a fixed order. */
constexpr int DW_BLOCKS = 32;
struct DwSplit {
    int items, ps, blocks;
};
DwSplit dw_split(const mfs__conv2d_dims *d) {
    DwSplit w;
    w.items = (int)((d->C * d->KH * d->KW + 1) * (mfs__round_up(d->OC, DIRECT_OCT) / DIRECT_OCT));
    w.ps = w.items >= THREADS ? 1 : THREADS / w.items;
    if (w.ps > d->OH) w.ps = (int)d->OH;
    w.blocks = (int)(d->B < DW_BLOCKS ? (d->B > 0 ? d->B : 1) : DW_BLOCKS);
    return w;
}
int64_t dw_partial_floats(const DwSplit &w) { return (int64_t)w.blocks * w.ps * w.items * DIRECT_OCT; }

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
        load_padded_image(xs, inp + (int64_t)img * q.C * q.H * q.W, q);
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
                            fma8(acc[u], xr[base[u] + j * q.dw], wa, wb);
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

/* blocks of a kernel with one image per block at a time: 8 per SM, at most B */
unsigned image_blocks(const mfs__conv2d_dims *d) {
    int64_t blocks = (int64_t)mfs__cuda_sm_count() * 8;
    if (blocks > d->B) blocks = d->B;
    return (unsigned)(blocks < 1 ? 1 : blocks);
}

DirectGeo direct_geo(const mfs__conv2d_dims *d) {
    const DirectGeo g = {(int)d->C, (int)(d->H + 2 * d->pad_h), (int)(d->W + 2 * d->pad_w), (int)d->KH,
                         (int)d->KW, (int)d->stride_h, (int)d->stride_w, (int)d->dil_h, (int)d->dil_w,
                         (int)d->OH, (int)d->OW, (int)d->OC, (int)mfs__round_up(d->OC, DIRECT_OCT),
                         (int)d->pad_h, (int)d->pad_w, (int)d->H, (int)d->W};
    return g;
}

/* Partials of dW (OC, CKK) and db (OC) over the images of this block:
 *   part[((block ps + seg) items + item) DIRECT_OCT + k], item = og taps + r,
 * the sum over the block's images and over the output rows seg, seg + ps, ...
 * of dout[o = og 8 + k, oh, ow] times the padded input under tap r (1 for the
 * bias tap r = CKK). The image's dout goes through shared memory in bands of
 * band output rows. Threads of a warp share the filter group og (dout reads
 * are broadcasts) and walk the same pixel in step. */
__global__ void __launch_bounds__(THREADS)
conv_direct_dw_kernel(float *__restrict__ part, const float *__restrict__ dout, const float *__restrict__ inp,
                      DirectGeo q, int B, int items, int ps, int band) {
    extern __shared__ float4 smem4[];
    const int CKK = q.C * q.KH * q.KW, taps = CKK + 1, HWp = q.Hp * q.Wp, OHW = q.OH * q.OW;
    float *gs = reinterpret_cast<float *>(smem4); /* (band OW, OCp): rows b0.. of the image's dout, pixel-major */
    float *xs = gs + band * q.OW * q.OCp;         /* (C, Hp, Wp) */
    float *mine = part + (int64_t)blockIdx.x * ps * items * DIRECT_OCT;
    for (int t = threadIdx.x; t < ps * items * DIRECT_OCT; t += blockDim.x) mine[t] = 0.f;
    for (int img = blockIdx.x; img < B; img += gridDim.x) {
        __syncthreads(); /* the previous image is done (and the zeros are written) */
        load_padded_image(xs, inp + (int64_t)img * q.C * q.H * q.W, q);
        for (int b0 = 0; b0 < q.OH; b0 += band) {
            const int b1 = b0 + band < q.OH ? b0 + band : q.OH, bp = (b1 - b0) * q.OW;
            if (b0 > 0) __syncthreads(); /* the previous band is done */
            const float *g = dout + (int64_t)img * q.OC * OHW + b0 * q.OW;
            for (int t = threadIdx.x; t < q.OCp * bp; t += blockDim.x) { /* coalesced reads, o-major */
                const int o = t / bp, p = t - o * bp;
                gs[p * q.OCp + o] = o < q.OC ? __ldg(g + (int64_t)o * OHW + p) : 0.f;
            }
            __syncthreads();
            for (int it = threadIdx.x; it < items * ps; it += blockDim.x) {
                const int seg = it / items, item = it - seg * items;
                const int og = item / taps, r = item - og * taps;
                int xoff = 0;
                if (r < CKK) {
                    const int c = r / (q.KH * q.KW), i = (r / q.KW) % q.KH, j = r % q.KW;
                    xoff = c * HWp + i * q.dh * q.Wp + j * q.dw;
                }
                float acc[DIRECT_OCT];
                for (int k = 0; k < DIRECT_OCT; k++) acc[k] = 0.f;
                const float4 *g4 = reinterpret_cast<const float4 *>(gs) + og * (DIRECT_OCT / 4);
                for (int oh = b0 + ((seg - b0 % ps) + ps) % ps; oh < b1; oh += ps) { /* oh = seg mod ps */
                    const float *xr = xs + xoff + oh * q.sh * q.Wp;
                    for (int ow = 0; ow < q.OW; ow++) {
                        const float v = r < CKK ? xr[ow * q.sw] : 1.f;
                        const int p4 = ((oh - b0) * q.OW + ow) * (q.OCp / 4);
                        fma8(acc, v, g4[p4], g4[p4 + 1]);
                    }
                }
                float *dst = mine + ((int64_t)seg * items + item) * DIRECT_OCT; /* this thread's own slots */
                for (int k = 0; k < DIRECT_OCT; k++) dst[k] += acc[k];
            }
        }
    }
}

/* dweight (OC, CKK) += and dbias (OC) += (when not NULL) the sums of the
 * nparts partials of conv_direct_dw_kernel, in partial order (double). */
__global__ void conv_direct_dw_reduce_kernel(float *__restrict__ dweight, float *__restrict__ dbias,
                                             const float *__restrict__ part, int nparts, int items, int OC, int CKK) {
    const int taps = CKK + 1;
    for (int t = blockIdx.x * blockDim.x + threadIdx.x; t < OC * taps; t += gridDim.x * blockDim.x) {
        const int o = t / taps, r = t - o * taps;
        const int item = (o / DIRECT_OCT) * taps + r, k = o % DIRECT_OCT;
        double sum = 0.0;
        for (int v = 0; v < nparts; v++) sum += part[((int64_t)v * items + item) * DIRECT_OCT + k];
        if (r < CKK) dweight[(int64_t)o * CKK + r] += (float)sum;
        else if (dbias) dbias[o] += (float)sum;
    }
}

/* dinp (B, C, H, W) = the gather, for each input pixel, of dout times the
 * weight over every (tap, filter) that read it; one image per block at a
 * time, DIRECT_OCT input channels at one pixel per thread (float4 weight
 * broadcasts from ws (KH KW OC, Cp); dout through L1, adjacent threads at
 * adjacent pixels). */
__global__ void __launch_bounds__(THREADS)
conv_direct_dx_kernel(float *__restrict__ dinp, const float *__restrict__ dout, const float *__restrict__ weight,
                      DirectGeo q, int B) {
    extern __shared__ float4 smem4[];
    const int OHW = q.OH * q.OW, HW = q.H * q.W, KK = q.KH * q.KW;
    const int Cp = (q.C + DIRECT_OCT - 1) / DIRECT_OCT * DIRECT_OCT, groups = Cp / DIRECT_OCT;
    float *ws = reinterpret_cast<float *>(smem4); /* ((i KW + j) OC + o, Cp) */
    for (int t = threadIdx.x; t < KK * q.OC * Cp; t += blockDim.x) {
        const int c = t % Cp, rest = t / Cp, o = rest % q.OC, ij = rest / q.OC;
        ws[t] = c < q.C ? __ldg(weight + ((int64_t)o * q.C + c) * KK + ij) : 0.f;
    }
    __syncthreads();
    for (int img = blockIdx.x; img < B; img += gridDim.x) {
        const float *gs = dout + (int64_t)img * q.OC * OHW;
        float *dimg = dinp + (int64_t)img * q.C * HW;
        for (int item = threadIdx.x; item < groups * HW; item += blockDim.x) {
            const int cg = item / HW, t = item - cg * HW, h = t / q.W, w = t - h * q.W;
            float acc[DIRECT_OCT];
            for (int k = 0; k < DIRECT_OCT; k++) acc[k] = 0.f;
            for (int i = 0; i < q.KH; i++) {
                const int a = h + q.ph - i * q.dh;
                if (a < 0 || a % q.sh) continue;
                const int oh = a / q.sh;
                if (oh >= q.OH) continue;
                for (int j = 0; j < q.KW; j++) {
                    const int b = w + q.pw - j * q.dw;
                    if (b < 0 || b % q.sw) continue;
                    const int ow = b / q.sw;
                    if (ow >= q.OW) continue;
                    const float *gp = gs + oh * q.OW + ow;
                    const float4 *wp = reinterpret_cast<const float4 *>(ws) + ((i * q.KW + j) * q.OC) * (Cp / 4) +
                                       cg * (DIRECT_OCT / 4);
                    for (int o = 0; o < q.OC; o++, wp += Cp / 4) {
                        fma8(acc, __ldg(gp + (int64_t)o * OHW), wp[0], wp[1]);
                    }
                }
            }
            for (int k = 0; k < DIRECT_OCT; k++) {
                const int c = cg * DIRECT_OCT + k;
                if (c >= q.C) break;
                dimg[(int64_t)c * HW + t] = acc[k];
            }
        }
    }
}

} /* namespace */

/* MFS_CONV_DIRECT_FWD when the forward takes the direct kernel (the padded
 * image and the weight fit in shared memory), | MFS_CONV_DIRECT_BWD when the
 * backward does (the padded image and one output row of dout; the weight).
 * Depends on the geometry only. */
extern "C" int mfs__conv2d_direct_cuda(const struct mfs__conv2d_dims *d) {
    if (d->B > INT32_MAX) return 0;
    int f = 0;
    if (direct_smem_floats(d) <= DIRECT_SMEM_FLOATS) f |= MFS_CONV_DIRECT_FWD;
    if (direct_dw_band_rows(d) >= 1 && direct_dx_smem_floats(d) <= DIRECT_SMEM_FLOATS) f |= MFS_CONV_DIRECT_BWD;
    return f;
}

extern "C" size_t mfs__conv2d_workspace_size_cuda(const struct mfs__conv2d_dims *d) {
    const int f = mfs__conv2d_direct_cuda(d);
    const int64_t G = chunk_images(d), OHW = d->OH * d->OW;
    /* im2col columns and GEMM output, when either pass needs them */
    int64_t floats = f == (MFS_CONV_DIRECT_FWD | MFS_CONV_DIRECT_BWD)
                         ? 0
                         : mfs__round_up(G * OHW * (d->C * d->KH * d->KW), 64) + G * OHW * d->OC;
    if (f & MFS_CONV_DIRECT_BWD) {
        const int64_t part = dw_partial_floats(dw_split(d));
        if (part > floats) floats = part;
    }
    return (size_t)floats * sizeof(float) + 256;
}

extern "C" mfs_status mfs__conv2d_forward_cuda(float *out, const float *inp, const float *weight, const float *bias,
                                               const struct mfs__conv2d_dims *d, float *work) {
    const char *fn = "mfs__conv2d_forward_cuda";
    const int64_t G0 = chunk_images(d), OHW = d->OH * d->OW, CKK = d->C * d->KH * d->KW;
    const Geo q = geo_of(d);
    if (mfs__conv2d_direct_cuda(d) & MFS_CONV_DIRECT_FWD) {
        const DirectGeo g = direct_geo(d);
        conv_direct_kernel<<<image_blocks(d), THREADS, (size_t)direct_smem_floats(d) * sizeof(float), MFS_STREAM>>>(
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
    if (mfs__conv2d_direct_cuda(d) & MFS_CONV_DIRECT_BWD) {
        const DirectGeo g = direct_geo(d);
        const DwSplit w = dw_split(d);
        conv_direct_dw_kernel<<<(unsigned)w.blocks, THREADS, (size_t)direct_dw_smem_floats(d) * sizeof(float),
                                MFS_STREAM>>>(work, dout, inp, g, (int)d->B, w.items, w.ps,
                                              (int)direct_dw_band_rows(d));
        MFS_CUDA_LAUNCHED(fn, "conv_direct_dw_kernel");
        const int n_out = (int)(OC * (CKK + 1));
        conv_direct_dw_reduce_kernel<<<(unsigned)mfs__ceil_div(n_out, THREADS), THREADS, 0, MFS_STREAM>>>(
            dweight, dbias, work, w.blocks * w.ps, w.items, (int)OC, (int)CKK);
        MFS_CUDA_LAUNCHED(fn, "conv_direct_dw_reduce_kernel");
        if (dinp) {
            conv_direct_dx_kernel<<<image_blocks(d), THREADS, (size_t)direct_dx_smem_floats(d) * sizeof(float),
                                    MFS_STREAM>>>(dinp, dout, weight, g, (int)d->B);
            MFS_CUDA_LAUNCHED(fn, "conv_direct_dx_kernel");
        }
        return MFS_OK;
    }
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
