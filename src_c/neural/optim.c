/* Optimizers over a network's one flat parameter allocation: SGD with momentum
 * (scikit-learn's formula) and Nesterov, Adam (scikit-learn's formula), AdamW
 * (PyTorch's); L2 as scikit-learn (alpha / B times the weights added to their
 * gradient, biases exempt); learning-rate schedules.
 *
 * SGD, scikit-learn's form (velocity in units of the step):
 *     v = momentum v - lr g;  w += v            (Nesterov: w += momentum v - lr g)
 * PyTorch's form keeps v' = momentum v' + g and steps w -= lr v' (Nesterov:
 * w -= lr (g + momentum v')); with a constant lr the two give the same
 * weights (v = -lr v'), they differ when the learning rate changes (the
 * velocity of scikit-learn's form carries the old lr). We follow scikit-learn.
 * Adam, scikit-learn's form:
 *     m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *     w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
 * (PyTorch divides sqrt(v) by sqrt(1 - b2^t) before adding eps: the same step
 * up to where eps sits.) AdamW: the Adam step (PyTorch's placement of eps)
 * after w -= lr * weight_decay * w on the decayed parameters.
 *
 * One pass over the parameters, elementwise, OpenMP over blocks; it consumes
 * the gradient, leaving it zero for the next backward pass (the lines are in
 * cache here, where a separate memset was one more pass over all of them); the L2 sum of
 * squares for the loss is reduced per block in double and the blocks summed in
 * order, so the result does not depend on the thread count. */
#include <math.h>
#include "core/internal.h"
#include "neural/network.h"

int64_t mfs__optim_state_per_param(int32_t solver) {
    return solver == MFS__SOLVER_SGD ? 1 : 2;
}

enum { OPT_BLOCK = 4096 };

/* The update of params [i0, i1), all decayed (dec = 1) or none. */
static double step_range(const mfs__optim *o, float *restrict p, float *restrict g, float *restrict s,
                         int64_t n_total, int64_t i0, int64_t i1, int dec, int want_ss) {
    double ss = 0.0;
    const float l2 = dec ? (float)o->l2 : 0.0f;
    /* The L2 loss term, only when asked for: a scalar chain of double adds
     * here was two thirds of the whole Adam step. The simd reduction fixes
     * the summation order for a given build (per block, so the thread count
     * does not change it). */
    if (dec && want_ss) {
#pragma omp simd reduction(+ : ss)
        for (int64_t i = i0; i < i1; i++) ss += (double)p[i] * (double)p[i];
    }
    if (o->solver == MFS__SOLVER_SGD) {
        const float mu = (float)o->momentum, lr = (float)o->lr;
        float *v = s;
        if (o->nesterov) {
            for (int64_t i = i0; i < i1; i++) {
                float gi = g[i] + l2 * p[i];
                float vi = mu * v[i] - lr * gi;
                g[i] = 0.0f;
                v[i] = vi;
                p[i] += mu * vi - lr * gi;
            }
        } else {
            for (int64_t i = i0; i < i1; i++) {
                float gi = g[i] + l2 * p[i];
                float vi = mu * v[i] - lr * gi;
                g[i] = 0.0f;
                v[i] = vi;
                p[i] += vi;
            }
        }
        return ss;
    }
    const double t = (double)o->t;
    /* 1 - beta in double, then float (as the numpy reference and PyTorch):
     * 1.0f - (float)beta is 0 for a beta within 6e-8 of 1, where float
     * rounds it to 1, and Adam would then never learn (or, with v frozen at
     * 0, diverge) */
    const float b1 = (float)o->beta_1, b2 = (float)o->beta_2, eps = (float)o->epsilon;
    const float c1 = (float)(1.0 - o->beta_1), c2 = (float)(1.0 - o->beta_2);
    float *m = s, *v = s + n_total;
    if (o->solver == MFS__SOLVER_ADAM) {
        const float step = (float)(o->lr * sqrt(1.0 - pow(o->beta_2, t)) / (1.0 - pow(o->beta_1, t)));
        for (int64_t i = i0; i < i1; i++) {
            float gi = g[i] + l2 * p[i];
            g[i] = 0.0f;
            float mi = b1 * m[i] + c1 * gi;
            float vi = b2 * v[i] + c2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            p[i] -= step * mi / (sqrtf(vi) + eps);
        }
        return ss;
    }
    /* AdamW (PyTorch): decay first, then the bias-corrected Adam step */
    const float decay = dec ? (float)(1.0 - o->lr * o->weight_decay) : 1.0f;
    const float step = (float)(o->lr / (1.0 - pow(o->beta_1, t)));
    const float rbc2 = (float)(1.0 / sqrt(1.0 - pow(o->beta_2, t)));
    for (int64_t i = i0; i < i1; i++) {
        float gi = g[i];
        g[i] = 0.0f;
        float mi = b1 * m[i] + c1 * gi;
        float vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float w = p[i] * decay;
        p[i] = w - step * mi / (sqrtf(vi) * rbc2 + eps);
    }
    return ss;
}

/* The decayed ranges of the network, sorted (layers are appended in order). */
static int is_decayed(const mfs__net *net, int64_t i, int64_t *range_end) {
    int64_t next = net->n_params;
    for (int l = 0; l < net->n_layers; l++) {
        const mfs__layer *L = &net->layers[l];
        if (L->w_n <= 0) continue;
        if (i >= L->w_off && i < L->w_off + L->w_n) {
            *range_end = L->w_off + L->w_n;
            return 1;
        }
        if (L->w_off > i && L->w_off < next) next = L->w_off;
    }
    *range_end = next;
    return 0;
}

void mfs__optim_step(const mfs__optim *o, const mfs__net *net, float *p, float *g, float *s,
                     double *sumsq) {
    const int64_t n = net->n_params;
    const int64_t nblk = (n + OPT_BLOCK - 1) / OPT_BLOCK;
    double total = 0.0;
    /* Partial sums per block (at most a few thousand blocks), summed in order. */
    double stack_sums[256];
    double *sums = nblk <= 256 ? stack_sums : (double *)mfs__malloc((size_t)nblk * sizeof(double));
    int own = sums != stack_sums;
    int use_sums = sums != NULL;
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (n >= 65536) reduction(+ : total)
    for (int64_t b = 0; b < nblk; b++) {
        int64_t i0 = b * OPT_BLOCK, i1 = i0 + OPT_BLOCK < n ? i0 + OPT_BLOCK : n;
        double ss = 0.0;
        while (i0 < i1) { /* split the block where decayed ranges start or end */
            int64_t end;
            int dec = is_decayed(net, i0, &end);
            if (end > i1) end = i1;
            ss += step_range(o, p, g, s, n, i0, end, dec, sumsq != NULL);
            i0 = end;
        }
        if (use_sums) sums[b] = ss;
        else total += ss; /* allocation failed: still correct, order may vary */
    }
    if (use_sums) {
        total = 0.0;
        for (int64_t b = 0; b < nblk; b++) total += sums[b];
    }
    if (own) mfs__free(sums);
    if (sumsq) *sumsq = total;
}

double mfs__schedule_lr(int32_t schedule, double lr, double lr_init, double power_t, int64_t samples_seen,
                        int32_t epoch, int32_t max_iter) {
    switch (schedule) {
    case MFS__SCHEDULE_INVSCALING: return lr_init / pow((double)samples_seen + 1.0, power_t);
    case MFS__SCHEDULE_COSINE: {
        double f = max_iter > 0 ? (double)epoch / (double)max_iter : 1.0;
        if (f > 1.0) f = 1.0;
        return lr_init * 0.5 * (1.0 + cos(3.14159265358979323846 * f));
    }
    default: return lr;
    }
}
