/* Max-pool 2d, average-pool 2d and flatten on the CPU (see layers.h for the
 * contract and the letters). Every (image, channel) plane is independent: the
 * planes are split over threads, so no two threads write the same pixel and the
 * results do not depend on the thread count. The common 2x2 / stride 2 / no
 * padding case of max-pool has its own loop. */
#include <math.h>
#include <string.h>
#include "core/internal.h"
#include "neural/layers.h"
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

mfs_status mfs__pool2d_dims_init(mfs__pool2d_dims *d, const char *fn, int64_t B, int64_t C, int64_t H,
                                 int64_t W, int64_t KH, int64_t KW, int64_t stride_h, int64_t stride_w,
                                 int64_t pad_h, int64_t pad_w) {
    memset(d, 0, sizeof *d);
    const int64_t v[] = {B, C, H, W, KH, KW, stride_h, stride_w};
    static const char *const names[] = {"batch", "channels", "height", "width", "kernel height",
                                        "kernel width", "stride (height)", "stride (width)"};
    for (int i = 0; i < (int)(sizeof v / sizeof v[0]); i++)
        if (v[i] < 1 || v[i] > ((int64_t)1 << 31))
            return mfs__error(MFS_E_INVALID_ARG, "%s: pool2d %s is %lld, it must be in 1..2^31", fn, names[i],
                              (long long)v[i]);
    if (pad_h < 0 || pad_w < 0 || 2 * pad_h > KH || 2 * pad_w > KW)
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: pool2d padding is (%lld, %lld), it must be >= 0 and at most half the kernel "
                          "(%lld, %lld)",
                          fn, (long long)pad_h, (long long)pad_w, (long long)KH, (long long)KW);
    if (H + 2 * pad_h < KH || W + 2 * pad_w < KW)
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: pool2d input is %lld x %lld (padded %lld x %lld), smaller than its %lld x %lld window",
                          fn, (long long)H, (long long)W, (long long)(H + 2 * pad_h), (long long)(W + 2 * pad_w),
                          (long long)KH, (long long)KW);
    d->B = B; d->C = C; d->H = H; d->W = W;
    d->KH = KH; d->KW = KW;
    d->stride_h = stride_h; d->stride_w = stride_w;
    d->pad_h = pad_h; d->pad_w = pad_w;
    d->OH = (H + 2 * pad_h - KH) / stride_h + 1;
    d->OW = (W + 2 * pad_w - KW) / stride_w + 1;
    return MFS_OK;
}

/* Threads for a loop over P planes of n pixels: one for small layers. */
static int plane_threads(int64_t P, int64_t n) {
    int nt = mfs__num_threads();
    if (P * n < (1 << 15)) nt = 1;
    if (nt > P) nt = (int)P;
    return nt < 1 ? 1 : nt;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* One output row of the 2x2 / stride 2 max-pool from input rows r0, r1: the
 * first maximum in row-major window order (NaN always taken, as PyTorch),
 * written with selects on restrict pointers so that the compiler vectorizes
 * it (the stride-2 loads become permutes). base: the plane index of r0[0]. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void max2x2_row(float *restrict yo, int32_t *restrict ao, const float *restrict r0, const float *restrict r1,
                       int64_t OW, int32_t base, int32_t w32) {
    for (int64_t ow = 0; ow < OW; ow++) {
        const float v0 = r0[2 * ow], v1 = r0[2 * ow + 1], v2 = r1[2 * ow], v3 = r1[2 * ow + 1];
        float m = v0;
        int32_t k = 0;
        int t = (v1 > m) | (v1 != v1);
        m = t ? v1 : m;
        k = t ? 1 : k;
        t = (v2 > m) | (v2 != v2);
        m = t ? v2 : m;
        k = t ? w32 : k;
        t = (v3 > m) | (v3 != v3);
        m = t ? v3 : m;
        k = t ? w32 + 1 : k;
        yo[ow] = m;
        ao[ow] = base + 2 * (int32_t)ow + k;
    }
}

/* The same for rows too short for the vector loop (OW < 16, e.g. 14 or 7):
 * scalar, but branch-free (bit selects), since on real data the comparisons
 * are unpredictable. */
static inline uint32_t f2u(float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    return u;
}
static inline float u2f(uint32_t u) {
    float v;
    memcpy(&v, &u, 4);
    return v;
}
static void max2x2_row_short(float *restrict yo, int32_t *restrict ao, const float *restrict r0,
                             const float *restrict r1, int64_t OW, int32_t base, int32_t w32) {
#if defined(__AVX512F__)
    /* AVX-512: the row in masked vectors, even and odd columns split by a
     * permute, the same comparisons as lanes (first maximum, NaN taken) */
    if (OW <= 16) {
        const __mmask16 lo = (__mmask16)(OW >= 8 ? 0xFFFF : (1u << (2 * OW)) - 1u);
        const __mmask16 hi = (__mmask16)(OW <= 8 ? 0 : (1u << (2 * (OW - 8))) - 1u);
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        __m512 a0 = _mm512_maskz_loadu_ps(lo, r0), a1 = _mm512_maskz_loadu_ps(hi, r0 + 16);
        __m512 b0 = _mm512_maskz_loadu_ps(lo, r1), b1 = _mm512_maskz_loadu_ps(hi, r1 + 16);
        __m512 v0 = _mm512_permutex2var_ps(a0, even, a1), v1 = _mm512_permutex2var_ps(a0, odd, a1);
        __m512 v2 = _mm512_permutex2var_ps(b0, even, b1), v3 = _mm512_permutex2var_ps(b0, odd, b1);
        __m512 m = v0;
        __m512i k = _mm512_setzero_si512();
        __mmask16 t = _mm512_cmp_ps_mask(v1, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v1, v1, _CMP_UNORD_Q);
        m = _mm512_mask_blend_ps(t, m, v1);
        k = _mm512_mask_blend_epi32(t, k, _mm512_set1_epi32(1));
        t = _mm512_cmp_ps_mask(v2, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v2, v2, _CMP_UNORD_Q);
        m = _mm512_mask_blend_ps(t, m, v2);
        k = _mm512_mask_blend_epi32(t, k, _mm512_set1_epi32(w32));
        t = _mm512_cmp_ps_mask(v3, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v3, v3, _CMP_UNORD_Q);
        m = _mm512_mask_blend_ps(t, m, v3);
        k = _mm512_mask_blend_epi32(t, k, _mm512_set1_epi32(w32 + 1));
        const __mmask16 om = (__mmask16)(OW >= 16 ? 0xFFFF : (1u << OW) - 1u);
        const __m512i at = _mm512_add_epi32(_mm512_add_epi32(_mm512_set1_epi32(base), k),
                                            _mm512_slli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1));
        _mm512_mask_storeu_ps(yo, om, m);
        _mm512_mask_storeu_epi32(ao, om, at);
        return;
    }
#endif
    for (int64_t ow = 0; ow < OW; ow++) {
        const float v[4] = {r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1]};
        const int32_t at[4] = {0, 1, w32, w32 + 1};
        uint32_t m = f2u(v[0]);
        int32_t k = 0;
        for (int c = 1; c < 4; c++) {
            const float mf = u2f(m);
            const uint32_t take = 0u - (uint32_t)((v[c] > mf) | (v[c] != v[c]));
            m = (f2u(v[c]) & take) | (m & ~take);
            k = (int32_t)(((uint32_t)at[c] & take) | ((uint32_t)k & ~take));
        }
        yo[ow] = u2f(m);
        ao[ow] = base + 2 * (int32_t)ow + k;
    }
}

void mfs__maxpool2d_forward(float *out, int32_t *argmax, const float *inp, const mfs__pool2d_dims *d) {
    const int64_t P = d->B * d->C, H = d->H, W = d->W, OH = d->OH, OW = d->OW;
    const int fast = d->KH == 2 && d->KW == 2 && d->stride_h == 2 && d->stride_w == 2 && d->pad_h == 0 &&
                     d->pad_w == 0;
    const int nt = plane_threads(P, H * W);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t p = 0; p < P; p++) {
        const float *x = inp + p * H * W;
        float *y = out + p * OH * OW;
        int32_t *a = argmax + p * OH * OW;
        if (fast) {
            for (int64_t oh = 0; oh < OH; oh++)
                (OW >= 16 ? max2x2_row : max2x2_row_short)(y + oh * OW, a + oh * OW, x + 2 * oh * W,
                                                           x + (2 * oh + 1) * W, OW, (int32_t)(2 * oh * W), (int32_t)W);
            continue;
        }
        for (int64_t oh = 0; oh < OH; oh++) {
            const int64_t h0 = oh * d->stride_h - d->pad_h;
            const int64_t ha = max64(h0, 0), hb = min64(h0 + d->KH, H);
            for (int64_t ow = 0; ow < OW; ow++) {
                const int64_t w0 = ow * d->stride_w - d->pad_w;
                const int64_t wa = max64(w0, 0), wb = min64(w0 + d->KW, W);
                float m = -INFINITY;
                int64_t at = ha * W + wa; /* the window always holds a pixel (padding <= kernel / 2) */
                for (int64_t h = ha; h < hb; h++)
                    for (int64_t w = wa; w < wb; w++) {
                        const float v = x[h * W + w];
                        /* NaN propagates as in PyTorch: a NaN is always taken */
                        if (v > m || v != v) {
                            m = v;
                            at = h * W + w;
                        }
                    }
                y[oh * OW + ow] = m;
                a[oh * OW + ow] = (int32_t)at;
            }
        }
    }
}

void mfs__maxpool2d_backward(float *dinp, const float *dout, const int32_t *argmax, const mfs__pool2d_dims *d) {
    const int64_t P = d->B * d->C, HW = d->H * d->W, OHW = d->OH * d->OW;
    const int nt = plane_threads(P, HW);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t p = 0; p < P; p++) {
        float *dx = dinp + p * HW;
        const float *g = dout + p * OHW;
        const int32_t *a = argmax + p * OHW;
        memset(dx, 0, (size_t)HW * sizeof(float));
        for (int64_t q = 0; q < OHW; q++) dx[a[q]] += g[q];
    }
}

void mfs__avgpool2d_forward(float *out, const float *inp, const mfs__pool2d_dims *d) {
    const int64_t P = d->B * d->C, H = d->H, W = d->W, OH = d->OH, OW = d->OW;
    const float inv = 1.0f / (float)(d->KH * d->KW);
    const int nt = plane_threads(P, H * W);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t p = 0; p < P; p++) {
        const float *x = inp + p * H * W;
        float *y = out + p * OH * OW;
        for (int64_t oh = 0; oh < OH; oh++) {
            const int64_t h0 = oh * d->stride_h - d->pad_h;
            const int64_t ha = max64(h0, 0), hb = min64(h0 + d->KH, H);
            for (int64_t ow = 0; ow < OW; ow++) {
                const int64_t w0 = ow * d->stride_w - d->pad_w;
                const int64_t wa = max64(w0, 0), wb = min64(w0 + d->KW, W);
                float s = 0;
                for (int64_t h = ha; h < hb; h++)
                    for (int64_t w = wa; w < wb; w++) s += x[h * W + w];
                y[oh * OW + ow] = s * inv;
            }
        }
    }
}

void mfs__avgpool2d_backward(float *dinp, const float *dout, const mfs__pool2d_dims *d) {
    const int64_t P = d->B * d->C, H = d->H, W = d->W, OH = d->OH, OW = d->OW;
    const float inv = 1.0f / (float)(d->KH * d->KW);
    const int nt = plane_threads(P, H * W);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t p = 0; p < P; p++) {
        float *dx = dinp + p * H * W;
        const float *g = dout + p * OH * OW;
        memset(dx, 0, (size_t)(H * W) * sizeof(float));
        for (int64_t oh = 0; oh < OH; oh++) {
            const int64_t h0 = oh * d->stride_h - d->pad_h;
            const int64_t ha = max64(h0, 0), hb = min64(h0 + d->KH, H);
            for (int64_t ow = 0; ow < OW; ow++) {
                const int64_t w0 = ow * d->stride_w - d->pad_w;
                const int64_t wa = max64(w0, 0), wb = min64(w0 + d->KW, W);
                const float v = g[oh * OW + ow] * inv;
                for (int64_t h = ha; h < hb; h++)
                    for (int64_t w = wa; w < wb; w++) dx[h * W + w] += v;
            }
        }
    }
}

void mfs__flatten_forward(float *out, const float *inp, int64_t N) {
    if (out != inp) memcpy(out, inp, (size_t)N * sizeof(float));
}

void mfs__flatten_backward(float *dinp, const float *dout, int64_t N) {
    if (dinp != dout) memcpy(dinp, dout, (size_t)N * sizeof(float));
}

/* ---- pooling and flatten as network layers (network.h) ---------------------------
 * Max-pool saves its argmax (int32, one per output) in its saved region. */
#include "neural/network.h"
#include "src_cuda/cuda_api.h"

static void pool_dims(const mfs__layer *L, int64_t B, mfs__pool2d_dims *d) {
    const int64_t s = L->stride > 0 ? L->stride : L->kernel;
    if (mfs__pool2d_dims_init(d, "pool2d", B, L->in_shape[0], L->in_shape[1], L->in_shape[2], L->kernel, L->kernel,
                              s, s, L->padding, L->padding) != MFS_OK)
        mfs__clear_error(); /* validated when the layer was added */
}

static mfs_status maxpool_fwd(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved,
                              const float *inp, const float *params, int64_t B) {
    mfs__pool2d_dims d;
    pool_dims(L, B, &d);
    mfs__maxpool2d_forward(out, (int32_t *)saved, inp, &d);
    return MFS_OK;
}
static mfs_status maxpool_bwd(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                              const float *dout, const float *saved, const float *inp, const float *out,
                              const float *params, int64_t B) {
    if (!dinp) return MFS_OK;
    mfs__pool2d_dims d;
    pool_dims(L, B, &d);
    if (ctx->layer_index > 0 && ((ctx->relu_by_pool >> (ctx->layer_index - 1)) & 1u)) {
        /* the ReLU before this pool: its derivative at the argmax is
         * (pooled value > 0); dout is this layer's to overwrite */
        float *g = (float *)dout;
        const int64_t N = B * L->out_size;
#pragma omp parallel for simd schedule(static) num_threads(mfs__num_threads()) if (N >= 32768)
        for (int64_t q = 0; q < N; q++) g[q] = out[q] > 0.0f ? g[q] : 0.0f;
    }
    mfs__maxpool2d_backward(dinp, dout, (const int32_t *)saved, &d);
    return MFS_OK;
}
static mfs_status maxpool_fwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved,
                                   const float *inp, const float *params, int64_t B) {
    mfs__pool2d_dims d;
    pool_dims(L, B, &d);
    return mfs__maxpool2d_forward_cuda(out, (int32_t *)saved, inp, &d);
}
static mfs_status maxpool_bwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                                   const float *dout, const float *saved, const float *inp, const float *out,
                                   const float *params, int64_t B) {
    if (!dinp) return MFS_OK;
    mfs__pool2d_dims d;
    pool_dims(L, B, &d);
    if (ctx->layer_index > 0 && ((ctx->relu_by_pool >> (ctx->layer_index - 1)) & 1u)) /* as on the host */
        MFS_TRY(mfs__activation_backward_cuda((float *)dout, dout, out, NULL, B * L->out_size, MFS__ACT_RELU));
    return mfs__maxpool2d_backward_cuda(dinp, dout, (const int32_t *)saved, &d);
}
static mfs_status avgpool_fwd(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved,
                              const float *inp, const float *params, int64_t B) {
    mfs__pool2d_dims d;
    pool_dims(L, B, &d);
    mfs__avgpool2d_forward(out, inp, &d);
    return MFS_OK;
}
static mfs_status avgpool_bwd(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                              const float *dout, const float *saved, const float *inp, const float *out,
                              const float *params, int64_t B) {
    if (!dinp) return MFS_OK;
    mfs__pool2d_dims d;
    pool_dims(L, B, &d);
    mfs__avgpool2d_backward(dinp, dout, &d);
    return MFS_OK;
}
static mfs_status avgpool_fwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved,
                                   const float *inp, const float *params, int64_t B) {
    mfs__pool2d_dims d;
    pool_dims(L, B, &d);
    return mfs__avgpool2d_forward_cuda(out, inp, &d);
}
static mfs_status avgpool_bwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                                   const float *dout, const float *saved, const float *inp, const float *out,
                                   const float *params, int64_t B) {
    if (!dinp) return MFS_OK;
    mfs__pool2d_dims d;
    pool_dims(L, B, &d);
    return mfs__avgpool2d_backward_cuda(dinp, dout, &d);
}

static void pool_finish(mfs__layer *x) {
    if (x->kind == MFS__LAYER_MAXPOOL2D) x->saved_per_row = x->out_size; /* argmax, int32 */
}

static const mfs__layer_ops MAXPOOL_OPS = {"maxpool2d", maxpool_fwd, maxpool_bwd, maxpool_fwd_cuda, maxpool_bwd_cuda,
                                           pool_finish};
static const mfs__layer_ops AVGPOOL_OPS = {"avgpool2d", avgpool_fwd, avgpool_bwd, avgpool_fwd_cuda, avgpool_bwd_cuda,
                                           pool_finish};

static mfs__layer pool_layer(const mfs__layer_ops *ops, int32_t kind, const int64_t in_shape[3], int32_t kernel,
                             int32_t stride, int32_t padding) {
    mfs__layer L;
    memset(&L, 0, sizeof L);
    L.ops = ops;
    L.kind = kind;
    L.kernel = kernel;
    L.stride = stride;
    L.padding = padding;
    L.out_shape[0] = in_shape[0];
    mfs__pool2d_dims d;
    const int64_t s = stride > 0 ? stride : kernel;
    if (mfs__pool2d_dims_init(&d, "pool2d", 1, in_shape[0], in_shape[1], in_shape[2], kernel, kernel, s, s, padding,
                              padding) == MFS_OK) {
        L.out_shape[1] = d.OH;
        L.out_shape[2] = d.OW;
    } else {
        mfs__clear_error(); /* out_shape (C, 0, 0): mfs__net_add reports it */
    }
    return L;
}

mfs__layer mfs__layer_maxpool2d(const int64_t in_shape[3], int32_t kernel, int32_t stride, int32_t padding) {
    return pool_layer(&MAXPOOL_OPS, MFS__LAYER_MAXPOOL2D, in_shape, kernel, stride, padding);
}

mfs__layer mfs__layer_avgpool2d(const int64_t in_shape[3], int32_t kernel, int32_t stride, int32_t padding) {
    return pool_layer(&AVGPOOL_OPS, MFS__LAYER_AVGPOOL2D, in_shape, kernel, stride, padding);
}

static mfs_status flat_fwd(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved, const float *inp,
                           const float *params, int64_t B) {
    mfs__flatten_forward(out, inp, B * L->out_size);
    return MFS_OK;
}
static mfs_status flat_bwd(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams, const float *dout,
                           const float *saved, const float *inp, const float *out, const float *params, int64_t B) {
    if (dinp) mfs__flatten_backward(dinp, dout, B * L->out_size);
    return MFS_OK;
}
static mfs_status flat_fwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved,
                                const float *inp, const float *params, int64_t B) {
    return mfs__flatten_forward_cuda(out, inp, B * L->out_size);
}
static mfs_status flat_bwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                                const float *dout, const float *saved, const float *inp, const float *out,
                                const float *params, int64_t B) {
    return dinp ? mfs__flatten_backward_cuda(dinp, dout, B * L->out_size) : MFS_OK;
}
static const mfs__layer_ops FLATTEN_OPS = {"flatten", flat_fwd, flat_bwd, flat_fwd_cuda, flat_bwd_cuda, NULL};

mfs__layer mfs__layer_flatten(const int64_t in_shape[3]) {
    mfs__layer L;
    memset(&L, 0, sizeof L);
    L.ops = &FLATTEN_OPS;
    L.kind = MFS__LAYER_FLATTEN;
    L.out_shape[0] = in_shape[0] * in_shape[1] * in_shape[2];
    L.out_shape[1] = L.out_shape[2] = 1;
    return L;
}
