/* The dense layers of the layer library (see layers.h for the conventions and
 * the legend): linear, activations, the fused losses, dropout, layer norm.
 * The GEMMs go to the library's packed AVX-512 SGEMM; everything else is
 * a single elementwise or row-wise pass, OpenMP-parallel when large enough
 * to pay for the parallel region. Every reduction has a fixed order, so the
 * results do not depend on the thread count (only the GEMM's blocking does). */
#include <math.h>
#include <string.h>
#include "core/internal.h"
#include "core/rng.h"
#include "linalg/linalg.h"
#include "neural/layers.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* Elements below which a parallel region costs more than it saves. */
#define PAR_MIN 32768

/* Column sums of x (B, C) added into acc (C), in row order for every column
 * (deterministic); columns are split among threads in blocks of 64. */
void mfs__colsum_add(float *restrict acc, const float *restrict x, int64_t B, int64_t C) {
    const int64_t CB = 64;
    int64_t nblk = (C + CB - 1) / CB;
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (B * C >= PAR_MIN && nblk > 1)
    for (int64_t blk = 0; blk < nblk; blk++) {
        int64_t j0 = blk * CB, j1 = j0 + CB < C ? j0 + CB : C;
        float s[64];
        for (int64_t j = j0; j < j1; j++) s[j - j0] = 0.0f;
        for (int64_t b = 0; b < B; b++) {
            const float *row = x + b * C;
#pragma omp simd
            for (int64_t j = j0; j < j1; j++) s[j - j0] += row[j];
        }
        for (int64_t j = j0; j < j1; j++) acc[j] += s[j - j0];
    }
}

/* ---- linear --------------------------------------------------------------- */

mfs_status mfs__linear_forward(float *out, const float *inp, const float *weight,
                               const float *bias, int64_t B, int64_t C_in, int64_t C_out) {
    /* out starts as the bias rows and the GEMM adds inp @ weight (beta = 1):
     * the bias costs one write pass instead of a read-modify-write after. */
    float beta = 0.0f;
    if (bias) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (B * C_out >= PAR_MIN)
        for (int64_t b = 0; b < B; b++) memcpy(out + b * C_out, bias, (size_t)C_out * sizeof(float));
        beta = 1.0f;
    }
    return mfs__sgemm(0, 0, B, C_out, C_in, 1.0f, inp, C_in, weight, C_out, beta, out, C_out);
}

mfs_status mfs__linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                                const float *inp, const float *weight, int64_t B, int64_t C_in,
                                int64_t C_out) {
#ifdef _OPENMP
    /* Two threads: the weight and the input gradient are independent
     * products of the same size (2 B C_in C_out flops each), so each thread
     * runs one of them whole, serially. Split two ways instead, each product
     * packs its shared operand on both threads and waits at its own join;
     * side by side nothing is packed twice and there is one join.
     * dev/mlp/bench_mlp.c measures the step. */
    if (dinp && mfs__num_threads() == 2 && !omp_in_parallel() && 2.0 * (double)B * C_in * C_out >= 4e6) {
        mfs_status s0 = MFS_OK, s1 = MFS_OK;
#pragma omp parallel sections num_threads(2)
        {
#pragma omp section
            {
                s0 = mfs__sgemm(1, 0, C_in, C_out, B, 1.0f, inp, C_in, dout, C_out, 1.0f, dweight, C_out);
                if (s0 == MFS_OK && dbias) mfs__colsum_add(dbias, dout, B, C_out);
            }
#pragma omp section
            s1 = mfs__sgemm(0, 1, B, C_in, C_out, 1.0f, dout, C_out, weight, C_out, 0.0f, dinp, C_in);
        }
        /* a failure on the other thread left its message there */
        if (s0 != MFS_OK || s1 != MFS_OK)
            return mfs__error(s0 != MFS_OK ? s0 : s1, "linear backward: no memory for the GEMM's packing buffers");
        return MFS_OK;
    }
#endif
    /* dweight (C_in, C_out) += inp^T (C_in, B) @ dout (B, C_out) */
    MFS_TRY(mfs__sgemm(1, 0, C_in, C_out, B, 1.0f, inp, C_in, dout, C_out, 1.0f, dweight, C_out));
    if (dbias) mfs__colsum_add(dbias, dout, B, C_out);
    /* dinp (B, C_in) = dout (B, C_out) @ weight^T (C_out, C_in) */
    if (dinp) MFS_TRY(mfs__sgemm(0, 1, B, C_in, C_out, 1.0f, dout, C_out, weight, C_out, 0.0f, dinp, C_in));
    return MFS_OK;
}

/* ---- activations ------------------------------------------------------------- */

void mfs__relu_forward(float *out, const float *inp, int64_t N) {
#pragma omp parallel for simd schedule(static) num_threads(mfs__num_threads()) if (N >= PAR_MIN)
    for (int64_t i = 0; i < N; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void mfs__relu_backward(float *dinp, const float *dout, const float *out, int64_t N) {
#pragma omp parallel for simd schedule(static) num_threads(mfs__num_threads()) if (N >= PAR_MIN)
    for (int64_t i = 0; i < N; i++) dinp[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

void mfs__tanh_forward(float *out, const float *inp, int64_t N) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (N >= PAR_MIN / 8)
    for (int64_t i = 0; i < N; i++) out[i] = tanhf(inp[i]);
}

void mfs__tanh_backward(float *dinp, const float *dout, const float *out, int64_t N) {
#pragma omp parallel for simd schedule(static) num_threads(mfs__num_threads()) if (N >= PAR_MIN)
    for (int64_t i = 0; i < N; i++) dinp[i] = dout[i] * (1.0f - out[i] * out[i]);
}

/* 1 / (1 + e^-x) without overflow: e^-|x| is in (0, 1]. */
static inline float sigmoidf(float x) {
    float e = expf(-fabsf(x));
    return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

void mfs__sigmoid_forward(float *out, const float *inp, int64_t N) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (N >= PAR_MIN / 8)
    for (int64_t i = 0; i < N; i++) out[i] = sigmoidf(inp[i]);
}

void mfs__sigmoid_backward(float *dinp, const float *dout, const float *out, int64_t N) {
#pragma omp parallel for simd schedule(static) num_threads(mfs__num_threads()) if (N >= PAR_MIN)
    for (int64_t i = 0; i < N; i++) dinp[i] = dout[i] * out[i] * (1.0f - out[i]);
}

#define MFS_SQRT1_2 0.70710678118654752440f
#define MFS_INV_SQRT_2PI 0.39894228040143267794f

void mfs__gelu_forward(float *out, const float *inp, int64_t N) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (N >= PAR_MIN / 8)
    for (int64_t i = 0; i < N; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + erff(x * MFS_SQRT1_2));
    }
}

void mfs__gelu_backward(float *dinp, const float *dout, const float *inp, int64_t N) {
    /* d/dx x Phi(x) = Phi(x) + x phi(x) */
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (N >= PAR_MIN / 8)
    for (int64_t i = 0; i < N; i++) {
        float x = inp[i];
        float cdf = 0.5f * (1.0f + erff(x * MFS_SQRT1_2));
        float pdf = MFS_INV_SQRT_2PI * expf(-0.5f * x * x);
        dinp[i] = dout[i] * (cdf + x * pdf);
    }
}

void mfs__identity_forward(float *out, const float *inp, int64_t N) {
    if (out != inp) memcpy(out, inp, (size_t)N * sizeof(float));
}

void mfs__identity_backward(float *dinp, const float *dout, int64_t N) {
    if (dinp != dout) memcpy(dinp, dout, (size_t)N * sizeof(float));
}

void mfs__activation_forward(float *out, const float *inp, int64_t N, int32_t act) {
    switch (act) {
    case MFS__ACT_RELU: mfs__relu_forward(out, inp, N); break;
    case MFS__ACT_TANH: mfs__tanh_forward(out, inp, N); break;
    case MFS__ACT_SIGMOID: mfs__sigmoid_forward(out, inp, N); break;
    case MFS__ACT_GELU: mfs__gelu_forward(out, inp, N); break;
    default: mfs__identity_forward(out, inp, N); break;
    }
}

void mfs__activation_backward(float *dinp, const float *dout, const float *out, const float *inp,
                              int64_t N, int32_t act) {
    switch (act) {
    case MFS__ACT_RELU: mfs__relu_backward(dinp, dout, out, N); break;
    case MFS__ACT_TANH: mfs__tanh_backward(dinp, dout, out, N); break;
    case MFS__ACT_SIGMOID: mfs__sigmoid_backward(dinp, dout, out, N); break;
    case MFS__ACT_GELU: mfs__gelu_backward(dinp, dout, inp, N); break;
    default: mfs__identity_backward(dinp, dout, N); break;
    }
}

/* ---- fused epilogue / prologue of a linear layer ---------------------------------- */

static inline float act_value(float v, int32_t act) {
    switch (act) {
    case MFS__ACT_RELU: return v > 0.0f ? v : 0.0f;
    case MFS__ACT_TANH: return tanhf(v);
    case MFS__ACT_SIGMOID: return sigmoidf(v);
    default: return v;
    }
}

void mfs__bias_activation_forward(float *out, const float *bias, int64_t B, int64_t C, int32_t act) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (B * C >= PAR_MIN / (act == MFS__ACT_RELU || act == MFS__ACT_IDENTITY ? 1 : 8))
    for (int64_t b = 0; b < B; b++) {
        float *row = out + b * C;
        if (act == MFS__ACT_RELU) { /* the common case, vectorized */
            if (bias) {
#pragma omp simd
                for (int64_t j = 0; j < C; j++) { float v = row[j] + bias[j]; row[j] = v > 0.0f ? v : 0.0f; }
            } else {
#pragma omp simd
                for (int64_t j = 0; j < C; j++) row[j] = row[j] > 0.0f ? row[j] : 0.0f;
            }
        } else {
            for (int64_t j = 0; j < C; j++) row[j] = act_value(row[j] + (bias ? bias[j] : 0.0f), act);
        }
    }
}

void mfs__activation_backward_colsum(float *dpre, float *dbias, const float *dout, const float *out,
                                     int64_t B, int64_t C, int32_t act) {
    /* column blocks of 64 per thread, rows in order inside (as mfs__colsum_add) */
    const int64_t CB = 64;
    int64_t nblk = (C + CB - 1) / CB;
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (B * C >= PAR_MIN && nblk > 1)
    for (int64_t blk = 0; blk < nblk; blk++) {
        int64_t j0 = blk * CB, j1 = j0 + CB < C ? j0 + CB : C;
        float s[64];
        for (int64_t j = j0; j < j1; j++) s[j - j0] = 0.0f;
        for (int64_t b = 0; b < B; b++) {
            const float *g = dout + b * C, *y = out + b * C;
            float *d = dpre + b * C;
            if (act == MFS__ACT_RELU) {
#pragma omp simd
                for (int64_t j = j0; j < j1; j++) { float v = y[j] > 0.0f ? g[j] : 0.0f; d[j] = v; s[j - j0] += v; }
            } else if (act == MFS__ACT_TANH) { /* the same expressions as the unfused backward */
                for (int64_t j = j0; j < j1; j++) { float v = g[j] * (1.0f - y[j] * y[j]); d[j] = v; s[j - j0] += v; }
            } else if (act == MFS__ACT_SIGMOID) {
                for (int64_t j = j0; j < j1; j++) { float v = g[j] * y[j] * (1.0f - y[j]); d[j] = v; s[j - j0] += v; }
            } else {
                for (int64_t j = j0; j < j1; j++) { float v = g[j]; d[j] = v; s[j - j0] += v; }
            }
        }
        if (dbias)
            for (int64_t j = j0; j < j1; j++) dbias[j] += s[j - j0];
    }
}

/* ---- softmax + cross-entropy ---------------------------------------------------- */

void mfs__softmax_crossentropy_forward(float *probs, float *losses, const float *logits,
                                       const int32_t *targets, int64_t B, int64_t K) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (B * K >= PAR_MIN / 8)
    for (int64_t b = 0; b < B; b++) {
        const float *z = logits + b * K;
        float *p = probs + b * K;
        float m = z[0];
        for (int64_t k = 1; k < K; k++) m = z[k] > m ? z[k] : m;
        float s = 0.0f;
        for (int64_t k = 0; k < K; k++) { p[k] = expf(z[k] - m); s += p[k]; }
        float inv = 1.0f / s;
        for (int64_t k = 0; k < K; k++) p[k] *= inv;
        if (losses) losses[b] = logf(s) + m - z[targets[b]];
    }
}

void mfs__softmax_crossentropy_backward(float *dlogits, const float *probs, const int32_t *targets,
                                        int64_t B, int64_t K, float scale) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (B * K >= PAR_MIN)
    for (int64_t b = 0; b < B; b++) {
        const float *p = probs + b * K;
        float *d = dlogits + b * K;
        for (int64_t k = 0; k < K; k++) d[k] = scale * p[k];
        d[targets[b]] -= scale;
    }
}

/* ---- sigmoid + binary cross-entropy ---------------------------------------------- */

void mfs__sigmoid_crossentropy_forward(float *probs, float *losses, const float *logits,
                                       const float *targets, int64_t B, int64_t K) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (B * K >= PAR_MIN / 8)
    for (int64_t b = 0; b < B; b++) {
        const float *z = logits + b * K, *t = targets + b * K;
        float *p = probs + b * K;
        float l = 0.0f;
        for (int64_t k = 0; k < K; k++) {
            float e = expf(-fabsf(z[k]));
            p[k] = z[k] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
            /* softplus(z) - t z, softplus(z) = max(z, 0) + log1p(e^-|z|) */
            l += (z[k] > 0.0f ? z[k] : 0.0f) + log1pf(e) - t[k] * z[k];
        }
        if (losses) losses[b] = l;
    }
}

void mfs__sigmoid_crossentropy_backward(float *dlogits, const float *probs, const float *targets,
                                        int64_t B, int64_t K, float scale) {
    int64_t N = B * K;
#pragma omp parallel for simd schedule(static) num_threads(mfs__num_threads()) if (N >= PAR_MIN)
    for (int64_t i = 0; i < N; i++) dlogits[i] = scale * (probs[i] - targets[i]);
}

/* ---- mean squared error ------------------------------------------------------------- */

void mfs__mse_forward(float *losses, const float *pred, const float *target, int64_t B, int64_t K) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (B * K >= PAR_MIN)
    for (int64_t b = 0; b < B; b++) {
        float l = 0.0f;
        for (int64_t k = 0; k < K; k++) {
            float r = pred[b * K + k] - target[b * K + k];
            l += r * r;
        }
        losses[b] = l;
    }
}

void mfs__mse_backward(float *dpred, const float *pred, const float *target, int64_t B, int64_t K,
                       float scale) {
    int64_t N = B * K;
    float s2 = 2.0f * scale;
#pragma omp parallel for simd schedule(static) num_threads(mfs__num_threads()) if (N >= PAR_MIN)
    for (int64_t i = 0; i < N; i++) dpred[i] = s2 * (pred[i] - target[i]);
}

/* ---- dropout --------------------------------------------------------------------------- */

/* out[i] = inp[i] * (keep_i ? 1 / (1 - p) : 0) over blocks of 4 elements, one
 * Philox block each (the counter is the block index). */
static void dropout_apply(float *out, const float *inp, int64_t N, float p, uint64_t seed,
                          uint64_t stream) {
    if (p <= 0.0f) {
        if (out != inp) memcpy(out, inp, (size_t)N * sizeof(float));
        return;
    }
    const float scale = 1.0f / (1.0f - p);
    int64_t nblk = (N + 3) / 4;
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (N >= PAR_MIN / 8)
    for (int64_t blk = 0; blk < nblk; blk++) {
        mfs_u32x4 r = mfs_philox(seed, stream, (uint64_t)blk);
        int64_t i0 = blk * 4;
        for (int j = 0; j < 4 && i0 + j < N; j++) {
            float u = mfs_u32_to_unit_float(r.v[j]);
            out[i0 + j] = u >= p ? inp[i0 + j] * scale : 0.0f;
        }
    }
}

void mfs__dropout_forward(float *out, const float *inp, int64_t N, float p, uint64_t seed,
                          uint64_t stream) {
    dropout_apply(out, inp, N, p, seed, stream);
}

void mfs__dropout_backward(float *dinp, const float *dout, int64_t N, float p, uint64_t seed,
                           uint64_t stream) {
    dropout_apply(dinp, dout, N, p, seed, stream);
}

/* ---- layer norm -------------------------------------------------------------------------- */

void mfs__layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                            const float *weight, const float *bias, int64_t B, int64_t C, float eps) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (B * C >= PAR_MIN)
    for (int64_t b = 0; b < B; b++) {
        const float *x = inp + b * C;
        /* two passes in double: C can be large and the rows offset */
        double m = 0.0;
        for (int64_t c = 0; c < C; c++) m += x[c];
        m /= (double)C;
        double v = 0.0;
        for (int64_t c = 0; c < C; c++) { double d = x[c] - m; v += d * d; }
        v /= (double)C;
        float mf = (float)m, r = (float)(1.0 / sqrt(v + (double)eps));
        float *o = out + b * C;
        for (int64_t c = 0; c < C; c++) o[c] = (x[c] - mf) * r * weight[c] + bias[c];
        mean[b] = mf;
        rstd[b] = r;
    }
}

void mfs__layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                             const float *mean, const float *rstd, const float *inp,
                             const float *weight, int64_t B, int64_t C) {
    /* dweight, dbias: column sums in row order (deterministic), column blocks
     * shared among threads. */
    const int64_t CB = 64;
    int64_t nblk = (C + CB - 1) / CB;
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (B * C >= PAR_MIN && nblk > 1)
    for (int64_t blk = 0; blk < nblk; blk++) {
        int64_t j0 = blk * CB, j1 = j0 + CB < C ? j0 + CB : C;
        for (int64_t b = 0; b < B; b++) {
            const float *x = inp + b * C, *g = dout + b * C;
            float m = mean[b], r = rstd[b];
            for (int64_t j = j0; j < j1; j++) {
                dweight[j] += g[j] * (x[j] - m) * r;
                dbias[j] += g[j];
            }
        }
    }
    if (!dinp) return;
    /* dinp = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dout * weight */
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (B * C >= PAR_MIN)
    for (int64_t b = 0; b < B; b++) {
        const float *x = inp + b * C, *g = dout + b * C;
        float m = mean[b], r = rstd[b];
        double s1 = 0.0, s2 = 0.0;
        for (int64_t c = 0; c < C; c++) {
            float dxh = g[c] * weight[c];
            s1 += dxh;
            s2 += dxh * (x[c] - m) * r;
        }
        float a = (float)(s1 / (double)C), q = (float)(s2 / (double)C);
        float *d = dinp + b * C;
        for (int64_t c = 0; c < C; c++) {
            float xh = (x[c] - m) * r;
            d[c] = r * (g[c] * weight[c] - a - xh * q);
        }
    }
}
