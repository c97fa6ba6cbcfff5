/* The trainer's device steps (src_c/neural/train.c runs the loop and calls
 * these when the model lives on the GPU): gathering a batch by index from
 * the data uploaded once, copies, the epoch-loss accumulator, and the
 * optimizer step of src_c/neural/optim.c over the flat parameters. Enqueued
 * on the calling thread's stream; nothing is synchronized per batch. */
#include <math.h>
#include "neural/network.h"
#include "src_cuda/core/cuda_internal.cuh"

namespace {
constexpr int THREADS = 256;

unsigned blocks_for(int64_t work, int threads = THREADS) {
    int64_t b = (work + threads - 1) / threads;
    if (b < 1) b = 1;
    if (b > 0x7fffffff) b = 0x7fffffff;
    return (unsigned)b;
}

__global__ void gather_rows_kernel(float *out, const float *X, const int64_t *idx, int64_t B, int64_t d) {
    int64_t q = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= B * d) return;
    int64_t b = q / d, j = q % d;
    out[q] = X[idx[b] * d + j];
}

__global__ void gather_labels_kernel(int32_t *out, const int32_t *y, const int64_t *idx, int64_t B) {
    int64_t b = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (b < B) out[b] = y[idx[b]];
}

/* dz (B, K) row b and loss[b] times w[idx[b]]: the sample weights of a batch */
__global__ void weight_rows_kernel(float *dz, float *loss, const float *w, const int64_t *idx, int64_t B, int64_t K) {
    int64_t q = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= B * K) return;
    const int64_t b = q / K;
    const float wb = w[idx[b]];
    dz[q] *= wb;
    if (q == b * K) loss[b] *= wb;
}

/* one block: *acc += coef * sum(x) (or of x^2), strided partial sums then a
 * tree: the same order every run */
__global__ void accumulate_kernel(double *acc, const float *x, int64_t n, double coef, int square) {
    __shared__ double scratch[32];
    double s = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        double v = x[i];
        s += square ? v * v : v;
    }
    s = mfs__block_sum(s, scratch);
    if (threadIdx.x == 0) *acc += coef * s;
}

/* *first = min(*first, the index of each non-finite x[i]): NaN and infinity
 * are the values whose exponent bits are all set (bit test: no reliance on
 * isfinite under --use_fast_math). Grid-stride; an atomic only on a hit. */
__global__ void first_nonfinite_kernel(unsigned long long *first, const float *__restrict__ x, int64_t n) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        if ((__float_as_uint(__ldg(x + i)) & 0x7f800000u) == 0x7f800000u) atomicMin(first, (unsigned long long)i);
}

struct OptArgs {
    int solver, nesterov;
    float lr, momentum, b1, b2, c1, c2, eps, l2, decay, adam_step, adamw_step, rbc2; /* c = 1 - b in double */
};

__global__ void optim_kernel(OptArgs a, float *p, const float *g, float *s, int64_t n_total, int64_t off, int64_t n,
                             int dec) {
    int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n) return;
    int64_t i = off + k;
    float l2 = dec ? a.l2 : 0.f;
    float gi = g[i] + l2 * p[i];
    if (a.solver == MFS__SOLVER_SGD) {
        float vi = a.momentum * s[i] - a.lr * gi;
        s[i] = vi;
        p[i] += a.nesterov ? a.momentum * vi - a.lr * gi : vi;
        return;
    }
    float *m = s, *v = s + n_total;
    if (a.solver == MFS__SOLVER_ADAM) {
        float mi = a.b1 * m[i] + a.c1 * gi;
        float vi = a.b2 * v[i] + a.c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= a.adam_step * mi / (sqrtf(vi) + a.eps);
        return;
    }
    gi = g[i];
    float mi = a.b1 * m[i] + a.c1 * gi;
    float vi = a.b2 * v[i] + a.c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float w = p[i] * (dec ? a.decay : 1.f);
    p[i] = w - a.adamw_step * mi / (sqrtf(vi) * a.rbc2 + a.eps);
}
}  // namespace

extern "C" mfs_status mfs__nn_gather_rows_cuda(float *out, const float *X, const int64_t *idx, int64_t B, int64_t d) {
    if (B * d <= 0) return MFS_OK;
    gather_rows_kernel<<<blocks_for(B * d), THREADS, 0, MFS_STREAM>>>(out, X, idx, B, d);
    MFS_CUDA_LAUNCHED("mfs__nn_gather_rows_cuda", "gather_rows_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__nn_gather_labels_cuda(int32_t *out, const int32_t *y, const int64_t *idx, int64_t B) {
    if (B <= 0) return MFS_OK;
    gather_labels_kernel<<<blocks_for(B), THREADS, 0, MFS_STREAM>>>(out, y, idx, B);
    MFS_CUDA_LAUNCHED("mfs__nn_gather_labels_cuda", "gather_labels_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__nn_weight_rows_cuda(float *dz, float *loss, const float *w, const int64_t *idx, int64_t B,
                                               int64_t K) {
    if (B * K <= 0) return MFS_OK;
    weight_rows_kernel<<<blocks_for(B * K), THREADS, 0, MFS_STREAM>>>(dz, loss, w, idx, B, K);
    MFS_CUDA_LAUNCHED("mfs__nn_weight_rows_cuda", "weight_rows_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__nn_copy_cuda(float *dst, const float *src, int64_t n) {
    if (n <= 0 || dst == src) return MFS_OK;
    MFS_CUDA_CHECK("mfs__nn_copy_cuda",
                   cudaMemcpyAsync(dst, src, (size_t)n * sizeof(float), cudaMemcpyDeviceToDevice, MFS_STREAM));
    return MFS_OK;
}

extern "C" mfs_status mfs__nn_zero_cuda(float *x, int64_t n) {
    if (n <= 0) return MFS_OK;
    MFS_CUDA_CHECK("mfs__nn_zero_cuda", cudaMemsetAsync(x, 0, (size_t)n * sizeof(float), MFS_STREAM));
    return MFS_OK;
}

extern "C" mfs_status mfs__nn_accumulate_cuda(double *acc, const float *x, int64_t n, double coef) {
    if (n <= 0) return MFS_OK;
    accumulate_kernel<<<1, 1024, 0, MFS_STREAM>>>(acc, x, n, coef, 0);
    MFS_CUDA_LAUNCHED("mfs__nn_accumulate_cuda", "accumulate_kernel");
    return MFS_OK;
}

extern "C" mfs_status mfs__nn_first_nonfinite_cuda(const float *x, int64_t n, int64_t *first) {
    static const char fn[] = "mfs__nn_first_nonfinite_cuda";
    *first = n;
    if (n <= 0) return MFS_OK;
    mfs_dev_buf<unsigned long long> d;
    MFS_TRY(d.alloc(fn, 1, nullptr));
    unsigned long long h = (unsigned long long)n;
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(d.ptr, &h, sizeof h, cudaMemcpyHostToDevice, MFS_STREAM));
    int64_t blocks = (n + THREADS - 1) / THREADS, cap = (int64_t)mfs__cuda_sm_count() * 16;
    first_nonfinite_kernel<<<(unsigned)(blocks < cap ? blocks : cap), THREADS, 0, MFS_STREAM>>>(d.ptr, x, n);
    MFS_CUDA_LAUNCHED(fn, "first_nonfinite_kernel");
    MFS_CUDA_CHECK(fn, cudaMemcpyAsync(&h, d.ptr, sizeof h, cudaMemcpyDeviceToHost, MFS_STREAM));
    MFS_CUDA_CHECK(fn, cudaStreamSynchronize(MFS_STREAM));
    *first = (int64_t)h;
    return MFS_OK;
}

extern "C" mfs_status mfs__optim_step_cuda(const struct mfs__optim *o, const struct mfs__net *net, float *p,
                                           const float *g, float *s, double *acc, double coef) {
    static const char fn[] = "mfs__optim_step_cuda";
    /* the L2 term of the loss, before the update: sum of squares of the weights */
    if (acc) {
        for (int l = 0; l < net->n_layers; l++) {
            const mfs__layer *L = &net->layers[l];
            if (L->w_n <= 0) continue;
            accumulate_kernel<<<1, 1024, 0, MFS_STREAM>>>(acc, p + L->w_off, L->w_n, coef, 1);
            MFS_CUDA_LAUNCHED(fn, "accumulate_kernel");
        }
    }
    OptArgs a;
    a.solver = o->solver;
    a.nesterov = o->nesterov;
    a.lr = (float)o->lr;
    a.momentum = (float)o->momentum;
    a.b1 = (float)o->beta_1;
    a.b2 = (float)o->beta_2;
    a.c1 = (float)(1.0 - o->beta_1);
    a.c2 = (float)(1.0 - o->beta_2);
    a.eps = (float)o->epsilon;
    a.l2 = (float)o->l2;
    a.decay = (float)(1.0 - o->lr * o->weight_decay);
    const double t = (double)o->t;
    a.adam_step = (float)(o->lr * sqrt(1.0 - pow(o->beta_2, t)) / (1.0 - pow(o->beta_1, t)));
    a.adamw_step = (float)(o->lr / (1.0 - pow(o->beta_1, t)));
    a.rbc2 = (float)(1.0 / sqrt(1.0 - pow(o->beta_2, t)));
    for (int l = 0; l < net->n_layers; l++) {
        const mfs__layer *L = &net->layers[l];
        if (L->w_n > 0) {
            optim_kernel<<<blocks_for(L->w_n), THREADS, 0, MFS_STREAM>>>(a, p, g, s, net->n_params, L->w_off, L->w_n, 1);
            MFS_CUDA_LAUNCHED(fn, "optim_kernel");
        }
        if (L->b_n > 0) {
            optim_kernel<<<blocks_for(L->b_n), THREADS, 0, MFS_STREAM>>>(a, p, g, s, net->n_params, L->b_off, L->b_n, 0);
            MFS_CUDA_LAUNCHED(fn, "optim_kernel");
        }
    }
    return MFS_OK;
}
