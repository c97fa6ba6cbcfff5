/* conv2d forward and backward on the CPU: im2col + the library's SGEMM, images
 * split over threads (see layers.h for the contract and the letters).
 *
 * Per image b (threads take contiguous runs of images, each with its own
 * im2col buffer in the caller's workspace):
 *   forward   col (CKK, OHW) = im2col(inp_b); out_b (OC, OHW) = weight (OC, CKK) @ col + bias
 *   backward  dweight (OC, CKK) += dout_b (OC, OHW) @ col^T      (per-thread partial)
 *             dcol (CKK, OHW) = weight^T @ dout_b; dinp_b = col2im(dcol)
 * A 1x1 convolution with stride 1 and no padding skips im2col: inp_b is its
 * own column matrix. With few im2col rows (CKK <= SMALL_K, e.g. the first
 * layer of an image network) the forward product and the weight gradient are
 * plain vector loops instead of GEMMs (packing would dominate). The weight gradient is summed per thread (thread 0 into
 * dweight itself, the others into partials) and the partials are added in
 * thread order, so it is fixed for a given thread count; everything else is
 * independent of it. The GEMMs inside the image loop run on their thread
 * (nested regions are inactive); with one image per call the loop runs on one
 * thread and the GEMM itself uses them all. */
#include <string.h>
#include "core/internal.h"
#include "linalg/linalg.h"
#include "neural/layers.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static inline int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static inline int team_size(void) {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

mfs_status mfs__conv2d_dims_init(mfs__conv2d_dims *d, const char *fn, int64_t B, int64_t C, int64_t H,
                                 int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t stride_h,
                                 int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t dil_h,
                                 int64_t dil_w) {
    memset(d, 0, sizeof *d);
    const int64_t v[] = {B, C, H, W, OC, KH, KW, stride_h, stride_w, dil_h, dil_w};
    static const char *const names[] = {"batch", "channels", "height", "width", "filters", "kernel height",
                                        "kernel width", "stride (height)", "stride (width)",
                                        "dilation (height)", "dilation (width)"};
    for (int i = 0; i < (int)(sizeof v / sizeof v[0]); i++)
        if (v[i] < 1 || v[i] > ((int64_t)1 << 31))
            return mfs__error(MFS_E_INVALID_ARG, "%s: conv2d %s is %lld, it must be in 1..2^31", fn, names[i],
                              (long long)v[i]);
    const int64_t ekh = dil_h * (KH - 1) + 1, ekw = dil_w * (KW - 1) + 1; /* dilated kernel */
    if (pad_h < 0 || pad_w < 0 || 2 * pad_h > ekh || 2 * pad_w > ekw)
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: conv2d padding is (%lld, %lld), it must be >= 0 and at most half the "
                          "(dilated) kernel (%lld, %lld)",
                          fn, (long long)pad_h, (long long)pad_w, (long long)ekh, (long long)ekw);
    if (H + 2 * pad_h < ekh || W + 2 * pad_w < ekw)
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: conv2d input is %lld x %lld (padded %lld x %lld), smaller than its "
                          "%lld x %lld (dilated) kernel",
                          fn, (long long)H, (long long)W, (long long)(H + 2 * pad_h), (long long)(W + 2 * pad_w),
                          (long long)ekh, (long long)ekw);
    d->B = B; d->C = C; d->H = H; d->W = W;
    d->OC = OC; d->KH = KH; d->KW = KW;
    d->stride_h = stride_h; d->stride_w = stride_w;
    d->pad_h = pad_h; d->pad_w = pad_w;
    d->dil_h = dil_h; d->dil_w = dil_w;
    d->OH = (H + 2 * pad_h - ekh) / stride_h + 1;
    d->OW = (W + 2 * pad_w - ekw) / stride_w + 1;
    d->slots = max64(1, min64(mfs__num_threads(), B));
    return MFS_OK;
}

/* A 1x1 kernel, stride 1, no padding: the image is its own column matrix. */
static int is_pointwise(const mfs__conv2d_dims *d) {
    return d->KH == 1 && d->KW == 1 && d->stride_h == 1 && d->stride_w == 1 && d->pad_h == 0 && d->pad_w == 0;
}

static int64_t col_floats(const mfs__conv2d_dims *d) {
    return is_pointwise(d) ? 0 : d->C * d->KH * d->KW * d->OH * d->OW;
}

/* Rounded to 16 floats so every buffer of the workspace starts 64-byte aligned. */
static int64_t round16(int64_t x) { return (x + 15) / 16 * 16; }

size_t mfs__conv2d_workspace_size(const mfs__conv2d_dims *d) {
    const int64_t cols = round16(col_floats(d)), part = round16(d->OC * d->C * d->KH * d->KW);
    return (size_t)(d->slots * cols + (d->slots - 1) * part) * sizeof(float);
}

/* The valid output columns [*ow0, *ow1) of kernel column j: those whose input
 * column ow * S - P + j * D lies in [0, W). */
static void valid_range(int64_t n_out, int64_t n_in, int64_t S, int64_t off, int64_t *o0, int64_t *o1) {
    /* in = o * S + off */
    int64_t a = off >= 0 ? 0 : (-off + S - 1) / S;
    int64_t b = n_in - 1 - off < 0 ? 0 : (n_in - 1 - off) / S + 1;
    a = min64(a, n_out);
    b = min64(b, n_out);
    if (b < a) b = a;
    *o0 = a;
    *o1 = b;
}

/* col (CKK, OHW) of one image x (C, H, W); rows ordered (c, i, j) as the weight. */
static void im2col(float *restrict col, const float *restrict x, const mfs__conv2d_dims *d) {
    const int64_t H = d->H, W = d->W, OH = d->OH, OW = d->OW, S = d->stride_w;
    for (int64_t c = 0; c < d->C; c++)
        for (int64_t i = 0; i < d->KH; i++)
            for (int64_t j = 0; j < d->KW; j++) {
                float *dst = col + ((c * d->KH + i) * d->KW + j) * OH * OW;
                const int64_t offw = j * d->dil_w - d->pad_w;
                int64_t w0, w1;
                valid_range(OW, W, S, offw, &w0, &w1);
                for (int64_t oh = 0; oh < OH; oh++) {
                    float *row = dst + oh * OW;
                    const int64_t ih = oh * d->stride_h - d->pad_h + i * d->dil_h;
                    if (ih < 0 || ih >= H) {
                        memset(row, 0, (size_t)OW * sizeof(float));
                        continue;
                    }
                    const float *src = x + (c * H + ih) * W;
                    for (int64_t ow = 0; ow < w0; ow++) row[ow] = 0.0f;
                    if (S == 1)
                        memcpy(row + w0, src + w0 + offw, (size_t)(w1 - w0) * sizeof(float));
                    else
                        for (int64_t ow = w0; ow < w1; ow++) row[ow] = src[ow * S + offw];
                    for (int64_t ow = w1; ow < OW; ow++) row[ow] = 0.0f;
                }
            }
}

/* dx (C, H, W) = the adjoint of im2col applied to dcol (CKK, OHW): every
 * column entry added back to the pixel it was copied from. */
static void col2im(float *restrict dx, const float *restrict dcol, const mfs__conv2d_dims *d) {
    const int64_t H = d->H, W = d->W, OH = d->OH, OW = d->OW, S = d->stride_w;
    memset(dx, 0, (size_t)(d->C * H * W) * sizeof(float));
    for (int64_t c = 0; c < d->C; c++)
        for (int64_t i = 0; i < d->KH; i++)
            for (int64_t j = 0; j < d->KW; j++) {
                const float *src = dcol + ((c * d->KH + i) * d->KW + j) * OH * OW;
                const int64_t offw = j * d->dil_w - d->pad_w;
                int64_t w0, w1;
                valid_range(OW, W, S, offw, &w0, &w1);
                for (int64_t oh = 0; oh < OH; oh++) {
                    const int64_t ih = oh * d->stride_h - d->pad_h + i * d->dil_h;
                    if (ih < 0 || ih >= H) continue;
                    float *dst = dx + (c * H + ih) * W;
                    const float *row = src + oh * OW;
                    if (S == 1) /* contiguous: vectorized */
                        for (int64_t ow = w0; ow < w1; ow++) dst[ow + offw] += row[ow];
                    else
                        for (int64_t ow = w0; ow < w1; ow++) dst[ow * S + offw] += row[ow];
                }
            }
}

/* Few im2col rows (CKK <= SMALL_K: the first layer of an image network, C = 1
 * and 3x3): the GEMM's packing costs more than its products, so these two
 * products run as plain vector loops over the OHW positions. */
enum { SMALL_K = 16, LANES = 16 };

/* y (OC, OHW) = W (OC, CKK) col (CKK, OHW), bias added (NULL: none): one axpy
 * per (filter, row), the filter's output row stays in L1. */
static void small_k_forward(float *restrict y, const float *restrict W, const float *restrict col,
                            const float *restrict bias, int64_t OC, int64_t CKK, int64_t OHW) {
    for (int64_t o = 0; o < OC; o++) {
        float *yo = y + o * OHW;
        const float bo = bias ? bias[o] : 0.0f;
        for (int64_t q = 0; q < OHW; q++) yo[q] = bo;
        for (int64_t r = 0; r < CKK; r++) {
            const float w = W[o * CKK + r];
            const float *c = col + r * OHW;
            for (int64_t q = 0; q < OHW; q++) yo[q] += w * c[q];
        }
    }
}

/* dW (OC, CKK) += g (OC, OHW) col^T: dot products summed in LANES
 * independent lanes (vectorized without reassociating a single sum), then the
 * lanes in order. */
static void small_k_dweight(float *restrict dw, const float *restrict g, const float *restrict col, int64_t OC,
                            int64_t CKK, int64_t OHW) {
    const int64_t nv = OHW / LANES * LANES;
    for (int64_t o = 0; o < OC; o++) {
        const float *go = g + o * OHW;
        /* rows in groups of 4 sharing each load of go: four independent
         * accumulator chains (one chain was bound by the FMA latency) */
        int64_t r = 0;
        for (; r + 4 <= CKK; r += 4) {
            const float *c0 = col + r * OHW, *c1 = c0 + OHW, *c2 = c1 + OHW, *c3 = c2 + OHW;
            float a0[LANES] = {0}, a1[LANES] = {0}, a2[LANES] = {0}, a3[LANES] = {0};
            for (int64_t q = 0; q < nv; q += LANES)
                for (int l = 0; l < LANES; l++) {
                    const float gv = go[q + l];
                    a0[l] += gv * c0[q + l];
                    a1[l] += gv * c1[q + l];
                    a2[l] += gv * c2[q + l];
                    a3[l] += gv * c3[q + l];
                }
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int64_t q = nv; q < OHW; q++) {
                s0 += go[q] * c0[q];
                s1 += go[q] * c1[q];
                s2 += go[q] * c2[q];
                s3 += go[q] * c3[q];
            }
            for (int l = 0; l < LANES; l++) { s0 += a0[l]; s1 += a1[l]; s2 += a2[l]; s3 += a3[l]; }
            dw[o * CKK + r] += s0;
            dw[o * CKK + r + 1] += s1;
            dw[o * CKK + r + 2] += s2;
            dw[o * CKK + r + 3] += s3;
        }
        for (; r < CKK; r++) {
            const float *c = col + r * OHW;
            float acc[LANES] = {0};
            for (int64_t q = 0; q < nv; q += LANES)
                for (int l = 0; l < LANES; l++) acc[l] += go[q + l] * c[q + l];
            float s = 0;
            for (int64_t q = nv; q < OHW; q++) s += go[q] * c[q];
            for (int l = 0; l < LANES; l++) s += acc[l];
            dw[o * CKK + r] += s;
        }
    }
}

/* Threads for a loop over images: at most slots (the workspace's buffers);
 * one image, or a tiny layer, runs on one thread (and the GEMM uses them all). */
static int image_threads(const mfs__conv2d_dims *d) {
    int nt = mfs__num_threads();
    if (nt > d->slots) nt = (int)d->slots;
    if (nt > d->B) nt = (int)d->B;
    const double flops = 2.0 * (double)d->B * (double)(d->OC * d->C * d->KH * d->KW) * (double)(d->OH * d->OW);
    if (flops < 2e5) nt = 1;
    return nt < 1 ? 1 : nt;
}

mfs_status mfs__conv2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                               const mfs__conv2d_dims *d, float *work) {
    const int64_t CKK = d->C * d->KH * d->KW, OHW = d->OH * d->OW, HWin = d->C * d->H * d->W;
    const int64_t cols = round16(col_floats(d));
    const int pw = is_pointwise(d);
    const int nt = image_threads(d);
    int failed = 0;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < d->B; b++) {
        float *col = work + (nt > 1 ? thread_id() : 0) * cols;
        const float *x = inp + b * HWin;
        float *y = out + b * d->OC * OHW;
        if (pw) col = (float *)x;
        else im2col(col, x, d);
        if (CKK <= SMALL_K) {
            small_k_forward(y, weight, col, bias, d->OC, CKK, OHW);
            continue;
        }
        if (mfs__sgemm(0, 0, d->OC, OHW, CKK, 1.0f, weight, CKK, col, OHW, 0.0f, y, OHW) != MFS_OK) {
#pragma omp atomic write
            failed = 1;
            continue;
        }
        if (bias)
            for (int64_t o = 0; o < d->OC; o++) {
                const float bo = bias[o];
                float *yo = y + o * OHW;
                for (int64_t q = 0; q < OHW; q++) yo[q] += bo;
            }
    }
    if (failed) return mfs__error(MFS_E_NOMEM, "mfs__conv2d_forward: out of memory in the GEMM");
    return MFS_OK;
}

mfs_status mfs__conv2d_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                                const float *inp, const float *weight, const mfs__conv2d_dims *d,
                                float *work) {
    const int64_t CKK = d->C * d->KH * d->KW, OHW = d->OH * d->OW, HWin = d->C * d->H * d->W;
    const int64_t OC = d->OC, cols = round16(col_floats(d)), part = round16(OC * CKK);
    const int pw = is_pointwise(d);
    const int nt = image_threads(d);
    float *partials = work + d->slots * cols;
    int failed = 0;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int t = nt > 1 ? thread_id() : 0, T = nt > 1 ? team_size() : 1;
        float *col = work + t * cols;
        float *dw = t == 0 ? dweight : partials + (t - 1) * part;
        if (t > 0) memset(dw, 0, (size_t)(OC * CKK) * sizeof(float));
        /* contiguous runs of images, thread t the t-th: the partial sums have
         * a fixed order for a given team size */
        const int64_t b0 = d->B * t / T, b1 = d->B * (t + 1) / T;
        for (int64_t b = b0; b < b1; b++) {
            const float *x = inp + b * HWin, *g = dout + b * OC * OHW;
            const float *cb = col;
            if (pw) cb = x;
            else im2col(col, x, d);
            int bad = 0;
            if (CKK <= SMALL_K) small_k_dweight(dw, g, cb, OC, CKK, OHW);
            else bad = mfs__sgemm(0, 1, OC, CKK, OHW, 1.0f, g, OHW, cb, OHW, 1.0f, dw, CKK) != MFS_OK;
            if (!bad && dinp) {
                float *dx = dinp + b * HWin;
                if (pw) {
                    bad = mfs__sgemm(1, 0, CKK, OHW, OC, 1.0f, weight, CKK, g, OHW, 0.0f, dx, OHW) != MFS_OK;
                } else {
                    bad = mfs__sgemm(1, 0, CKK, OHW, OC, 1.0f, weight, CKK, g, OHW, 0.0f, col, OHW) != MFS_OK;
                    if (!bad) col2im(dx, col, d);
                }
            }
            if (bad) {
#pragma omp atomic write
                failed = 1;
            }
        }
        if (T > 1) {
#pragma omp barrier
#pragma omp for schedule(static)
            for (int64_t q = 0; q < OC * CKK; q++) {
                float s = dweight[q];
                for (int u = 1; u < T; u++) s += partials[(u - 1) * part + q];
                dweight[q] = s;
            }
        }
        if (dbias) {
#pragma omp for schedule(static)
            for (int64_t o = 0; o < OC; o++) {
                double s = 0;
                for (int64_t b = 0; b < d->B; b++) {
                    const float *g = dout + (b * OC + o) * OHW;
                    /* a simd reduction (fixed order for a given build): the
                     * scalar chain of adds here was a fifth of a CNN step */
                    float r = 0;
#pragma omp simd reduction(+ : r)
                    for (int64_t q = 0; q < OHW; q++) r += g[q];
                    s += r;
                }
                dbias[o] += (float)s;
            }
        }
    }
    if (failed) return mfs__error(MFS_E_NOMEM, "mfs__conv2d_backward: out of memory in the GEMM");
    return MFS_OK;
}

/* ---- conv2d as a network layer (network.h) ------------------------------------
 * Forward: conv into out (GELU: into saved, then gelu into out), the activation
 * in place. Backward: the activation's gradient into the scratch (dpre), then
 * the conv backward with its workspace after it. The scratch holds the CPU
 * workspace planned for the thread count at build time. On the GPU, a conv of
 * small images (mfs__conv2d_direct_cuda) needs only the weight gradient's
 * partial sums, also in the fixed scratch. Otherwise the scratch
 * also holds the im2col columns and GEMM output of the whole batch, up to
 * CONV_GPU_FLOATS (scratch_per_row_gpu, planned on the device side only), so
 * each conv is one im2col, one GEMM and one re-layout per pass: per-image
 * chunks had cost three kernel launches per image (on an H100 the CNN's
 * predict ran at 99k images/s against PyTorch's 1.17M). */
#include "neural/network.h"
#include "src_cuda/cuda_api.h"

/* GPU conv workspace per layer: at most 8M floats (32 MiB) in a predict, so
 * a block of 1024 28x28 images still goes in a few GEMMs of >= 40k columns;
 * at most 1M floats (4 MiB) in a training step, whose peak memory is the
 * fit's: the benchmark CNN's whole batch of 64 took 8.4 MiB in its second
 * conv, which put the fit's peak at 1.18x PyTorch's (dev/gpu/NOTES.md), and
 * a batch's conv is then still 2 or 3 GEMMs */
enum { CONV_GPU_FLOATS = 8 << 20, CONV_GPU_FIT_FLOATS = 1 << 20 };

static void conv_dims(const mfs__layer *L, int64_t B, mfs__conv2d_dims *d) {
    /* the geometry was validated when the layer was added */
    if (mfs__conv2d_dims_init(d, "conv2d", B, L->in_shape[0], L->in_shape[1], L->in_shape[2], L->out_shape[0],
                              L->kernel, L->kernel, L->stride, L->stride, L->padding, L->padding, 1, 1) != MFS_OK)
        mfs__clear_error();
}


/* CPU: as many slots as the planned workspace holds (and the threads now). */
static void conv_fit_slots(const mfs__layer *L, mfs__conv2d_dims *d) {
    const int64_t cols = round16(col_floats(d)), part = round16(d->OC * d->C * d->KH * d->KW);
    const int64_t fit = (L->scratch_fixed - 16 + part) / (cols + part);
    if (d->slots > fit) d->slots = fit < 1 ? 1 : fit;
}

static mfs_status conv_fwd(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved, const float *inp,
                           const float *params, int64_t B) {
    mfs__conv2d_dims d;
    conv_dims(L, B, &d);
    conv_fit_slots(L, &d);
    const float *W = params + L->w_off, *b = L->b_n ? params + L->b_off : NULL;
    const int64_t N = B * L->out_size;
    if (L->act == MFS__ACT_GELU) {
        MFS_TRY(mfs__conv2d_forward(saved, inp, W, b, &d, ctx->scratch));
        mfs__gelu_forward(out, saved, N);
        return MFS_OK;
    }
    MFS_TRY(mfs__conv2d_forward(out, inp, W, b, &d, ctx->scratch));
    if (L->act != MFS__ACT_IDENTITY) mfs__activation_forward(out, out, N, L->act);
    return MFS_OK;
}

static mfs_status conv_bwd(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                           const float *dout, const float *saved, const float *inp, const float *out,
                           const float *params, int64_t B) {
    mfs__conv2d_dims d;
    conv_dims(L, B, &d);
    conv_fit_slots(L, &d);
    /* the activation's backward in place on dout (the layer's to overwrite) */
    const int by_pool = (int)((ctx->relu_by_pool >> ctx->layer_index) & 1u); /* done by the next layer */
    if (L->act != MFS__ACT_IDENTITY && !by_pool)
        mfs__activation_backward((float *)dout, dout, out, saved, B * L->out_size, L->act);
    return mfs__conv2d_backward(dinp, dparams + L->w_off, L->b_n ? dparams + L->b_off : NULL, dout, inp,
                                params + L->w_off, &d, ctx->scratch);
}

/* GPU: images per GEMM that the planned scratch holds (src_cuda/neural/conv.cu's
 * workspace: G (CKK + OC) OHW floats and 64 of alignment; the plan gave
 * scratch_per_row_gpu * mfs__gpu_chunk_rows(B, cap) on top of scratch_fixed,
 * with the training cap in a training step). */
static void conv_gpu_slots(const mfs__layer *L, const mfs__fctx *ctx, mfs__conv2d_dims *d) {
    d->slots = mfs__gpu_chunk_rows(d->B, ctx->training ? L->scratch_rows_gpu_fit : L->scratch_rows_gpu);
}

static mfs_status conv_fwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved,
                                const float *inp, const float *params, int64_t B) {
    mfs__conv2d_dims d;
    conv_dims(L, B, &d);
    conv_gpu_slots(L, ctx, &d);
    const float *W = params + L->w_off, *b = L->b_n ? params + L->b_off : NULL;
    const int64_t N = B * L->out_size;
    if (L->act == MFS__ACT_GELU) {
        MFS_TRY(mfs__conv2d_forward_cuda(saved, inp, W, b, &d, ctx->scratch));
        return mfs__activation_forward_cuda(out, saved, N, L->act);
    }
    /* ReLU in the re-layout that adds the bias: one pass over the output
     * fewer (the CNN's predict on the H100 spent 1.2 of 10.1 ms in ReLU and pooling) */
    d.fused_relu = L->act == MFS__ACT_RELU;
    MFS_TRY(mfs__conv2d_forward_cuda(out, inp, W, b, &d, ctx->scratch));
    if (L->act == MFS__ACT_IDENTITY || d.fused_relu) return MFS_OK;
    return mfs__activation_forward_cuda(out, out, N, L->act);
}

static mfs_status conv_bwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                                const float *dout, const float *saved, const float *inp, const float *out,
                                const float *params, int64_t B) {
    mfs__conv2d_dims d;
    conv_dims(L, B, &d);
    conv_gpu_slots(L, ctx, &d);
    const int by_pool = (int)((ctx->relu_by_pool >> ctx->layer_index) & 1u); /* done by the next layer */
    if (L->act != MFS__ACT_IDENTITY && !by_pool)
        MFS_TRY(mfs__activation_backward_cuda((float *)dout, dout, out, saved, B * L->out_size, L->act));
    return mfs__conv2d_backward_cuda(dinp, dparams + L->w_off, L->b_n ? dparams + L->b_off : NULL, dout, inp,
                                     params + L->w_off, &d, ctx->scratch);
}

static void conv_finish(mfs__layer *x) {
    mfs__conv2d_dims d;
    if (mfs__conv2d_dims_init(&d, "conv2d", 1, x->in_shape[0], x->in_shape[1], x->in_shape[2], x->out_shape[0],
                              x->kernel, x->kernel, x->stride, x->stride, x->padding, x->padding, 1, 1) != MFS_OK) {
        mfs__clear_error(); /* the constructor gave an empty output: mfs__net_add refuses it */
        return;
    }
    x->w_n = d.OC * d.C * d.KH * d.KW; /* b_n: set by the constructor (0: no bias) */
    x->saved_per_row = x->act == MFS__ACT_GELU ? d.OC * d.OH * d.OW : 0;
    x->scratch_per_row = 0; /* the activation's backward runs in place */
    d.slots = mfs__num_threads();
    /* + 128: the GPU workspace rounds the columns up to 64 floats and adds 256 bytes */
    x->scratch_fixed = (int64_t)(mfs__conv2d_workspace_size(&d) / sizeof(float)) + 16 + 128;
    /* small images on the GPU: direct kernels (mfs__conv2d_direct_cuda); the
     * backward's only workspace is the weight gradient's partial sums, planned
     * for a large batch, the direct forward's none */
    const int direct = mfs__conv2d_direct_cuda(&d);
    if (direct & MFS_CONV_DIRECT_BWD) {
        mfs__conv2d_dims big = d;
        big.B = (int64_t)1 << 30;
        x->scratch_fixed_gpu = (int64_t)(mfs__conv2d_workspace_size_cuda(&big) / sizeof(float)) + 16;
    }
    const int64_t per = (d.C * d.KH * d.KW + d.OC) * d.OH * d.OW;
    const int both = direct == (MFS_CONV_DIRECT_FWD | MFS_CONV_DIRECT_BWD);
    x->scratch_per_row_gpu = both ? 0 : per;
    /* im2col rows: a predict's cap (0: none, the forward is direct), a training step's */
    x->scratch_rows_gpu = (direct & MFS_CONV_DIRECT_FWD) ? 0 : per < CONV_GPU_FLOATS ? CONV_GPU_FLOATS / per : 1;
    x->scratch_rows_gpu_fit = per < CONV_GPU_FIT_FLOATS ? CONV_GPU_FIT_FLOATS / per : 1;
}

static const mfs__layer_ops CONV2D_OPS = {"conv2d", conv_fwd, conv_bwd, conv_fwd_cuda, conv_bwd_cuda, conv_finish};

mfs__layer mfs__layer_conv2d(const int64_t in_shape[3], int64_t filters, int32_t kernel, int32_t stride,
                             int32_t padding, int32_t bias, int32_t act) {
    mfs__layer L;
    memset(&L, 0, sizeof L);
    L.ops = &CONV2D_OPS;
    L.kind = MFS__LAYER_CONV2D;
    L.act = act;
    L.kernel = kernel;
    L.stride = stride;
    L.padding = padding;
    L.out_shape[0] = filters;
    L.b_n = bias ? filters : 0;
    mfs__conv2d_dims d;
    if (mfs__conv2d_dims_init(&d, "conv2d", 1, in_shape[0], in_shape[1], in_shape[2], filters, kernel, kernel, stride,
                              stride, padding, padding, 1, 1) == MFS_OK) {
        L.out_shape[1] = d.OH;
        L.out_shape[2] = d.OW;
    } else {
        mfs__clear_error(); /* out_shape (filters, 0, 0): mfs__net_add reports it */
    }
    return L;
}
