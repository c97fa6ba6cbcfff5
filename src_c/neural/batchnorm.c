/* Batch norm forward and backward on the CPU (see layers.h for the contract):
 * per channel over the B * HW values of (B, C, HW), so a 2d batch norm is
 * (B, C, H * W) and a 1d one (B, C, 1). Channels are split over threads and
 * each channel's sums run in a fixed order (float within an image row, double
 * across images), so the results do not depend on the thread count. The
 * variance is the two-pass centered sum (no E[x^2] - E[x]^2 cancellation). */
#include <math.h>
#include "core/internal.h"
#include "neural/layers.h"

static int channel_threads(int64_t C, int64_t n) {
    int nt = mfs__num_threads();
    if (C * n < (1 << 14)) nt = 1;
    if (nt > C) nt = (int)C;
    return nt < 1 ? 1 : nt;
}

void mfs__batchnorm_forward(float *out, float *mean, float *rstd, float *running_mean, float *running_var,
                            const float *inp, const float *weight, const float *bias, int64_t B,
                            int64_t C, int64_t HW, float eps, float momentum, int32_t training) {
    const int64_t n = B * HW;
    const int nt = channel_threads(C, n);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t c = 0; c < C; c++) {
        float mu, rs;
        if (training) {
            double s = 0;
            for (int64_t b = 0; b < B; b++) {
                const float *x = inp + (b * C + c) * HW;
                float r = 0;
                for (int64_t q = 0; q < HW; q++) r += x[q];
                s += r;
            }
            const double m = s / (double)n;
            double v = 0;
            for (int64_t b = 0; b < B; b++) {
                const float *x = inp + (b * C + c) * HW;
                const float mf = (float)m;
                float r = 0;
                for (int64_t q = 0; q < HW; q++) {
                    const float e = x[q] - mf;
                    r += e * e;
                }
                v += r;
            }
            const double var = v / (double)n, unbiased = n > 1 ? v / (double)(n - 1) : var;
            mu = (float)m;
            rs = (float)(1.0 / sqrt(var + (double)eps));
            running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * (float)m;
            running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (float)unbiased;
        } else {
            mu = running_mean[c];
            rs = (float)(1.0 / sqrt((double)running_var[c] + (double)eps));
        }
        mean[c] = mu;
        rstd[c] = rs;
        /* out = x * scale + shift */
        const float scale = rs * weight[c], shift = bias[c] - mu * scale;
        for (int64_t b = 0; b < B; b++) {
            const float *x = inp + (b * C + c) * HW;
            float *y = out + (b * C + c) * HW;
            for (int64_t q = 0; q < HW; q++) y[q] = x[q] * scale + shift;
        }
    }
}

void mfs__batchnorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                             const float *mean, const float *rstd, const float *inp, const float *weight,
                             int64_t B, int64_t C, int64_t HW, int32_t training) {
    const int64_t n = B * HW;
    const int nt = channel_threads(C, n);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t c = 0; c < C; c++) {
        const float mu = mean[c], rs = rstd[c];
        double sg = 0, sgx = 0; /* sum dout, sum dout * xhat */
        for (int64_t b = 0; b < B; b++) {
            const float *x = inp + (b * C + c) * HW, *g = dout + (b * C + c) * HW;
            float r = 0, rx = 0;
            for (int64_t q = 0; q < HW; q++) {
                r += g[q];
                rx += g[q] * (x[q] - mu) * rs;
            }
            sg += r;
            sgx += rx;
        }
        dweight[c] += (float)sgx;
        dbias[c] += (float)sg;
        if (!dinp) continue;
        const float w = weight[c];
        if (training) {
            /* dinp = rstd w (dout - mean(dout) - xhat mean(dout xhat)) */
            const float a = w * rs, mg = (float)(sg / (double)n), mgx = (float)(sgx / (double)n);
            for (int64_t b = 0; b < B; b++) {
                const float *x = inp + (b * C + c) * HW, *g = dout + (b * C + c) * HW;
                float *dx = dinp + (b * C + c) * HW;
                for (int64_t q = 0; q < HW; q++) dx[q] = a * (g[q] - mg - (x[q] - mu) * rs * mgx);
            }
        } else {
            const float a = w * rs;
            for (int64_t b = 0; b < B; b++) {
                const float *g = dout + (b * C + c) * HW;
                float *dx = dinp + (b * C + c) * HW;
                for (int64_t q = 0; q < HW; q++) dx[q] = a * g[q];
            }
        }
    }
}

/* ---- batch norm as a network layer (network.h) -------------------------------------
 * Parameters weight, bias (C each) in the non-decayed range; buffers
 * running_mean, running_var; saved mean, rstd (C each). */
#include <string.h>
#include "neural/network.h"
#include "src_cuda/cuda_api.h"

static int64_t bn_hw(const mfs__layer *L) { return L->in_shape[1] * L->in_shape[2]; }

static mfs_status bn_fwd(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved, const float *inp,
                         const float *params, int64_t B) {
    const int64_t C = L->in_shape[0];
    float *rs = ctx->buffers + L->buf_off;
    mfs__batchnorm_forward(out, saved, saved + C, rs, rs + C, inp, params + L->b_off, params + L->b_off + C, B, C,
                           bn_hw(L), L->eps, L->momentum, ctx->training);
    return MFS_OK;
}
static mfs_status bn_bwd(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams, const float *dout,
                         const float *saved, const float *inp, const float *out, const float *params, int64_t B) {
    const int64_t C = L->in_shape[0];
    mfs__batchnorm_backward(dinp, dparams + L->b_off, dparams + L->b_off + C, dout, saved, saved + C, inp,
                            params + L->b_off, B, C, bn_hw(L), ctx->training);
    return MFS_OK;
}
static mfs_status bn_fwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved, const float *inp,
                              const float *params, int64_t B) {
    const int64_t C = L->in_shape[0];
    float *rs = ctx->buffers + L->buf_off;
    return mfs__batchnorm_forward_cuda(out, saved, saved + C, rs, rs + C, inp, params + L->b_off,
                                       params + L->b_off + C, B, C, bn_hw(L), L->eps, L->momentum, ctx->training);
}
static mfs_status bn_bwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                              const float *dout, const float *saved, const float *inp, const float *out,
                              const float *params, int64_t B) {
    const int64_t C = L->in_shape[0];
    return mfs__batchnorm_backward_cuda(dinp, dparams + L->b_off, dparams + L->b_off + C, dout, saved, saved + C, inp,
                                        params + L->b_off, B, C, bn_hw(L), ctx->training);
}
static void bn_finish(mfs__layer *x) {
    const int64_t C = x->in_shape[0];
    x->b_n = 2 * C;
    x->buf_n = 2 * C;
    x->saved_fixed = 2 * C;
}

static const mfs__layer_ops BATCHNORM_OPS = {"batchnorm", bn_fwd, bn_bwd, bn_fwd_cuda, bn_bwd_cuda, bn_finish};

mfs__layer mfs__layer_batchnorm(float eps, float momentum) {
    mfs__layer L;
    memset(&L, 0, sizeof L);
    L.ops = &BATCHNORM_OPS;
    L.kind = MFS__LAYER_BATCHNORM;
    L.eps = eps;
    L.momentum = momentum;
    return L;
}
