/* Logistic Regression: binary (one coefficient row, class 1 against class 0)
 * and multinomial (softmax, K rows), L2 penalty with scikit-learn's C,
 * unpenalized intercept, fitted by L-BFGS with a strong-Wolfe line search.
 *
 * Objective (scikit-learn's, scaled by 1/S as its lbfgs path does; S = n, or
 * with the optional "sample_weight" input s_i >= 0, S = sum_i s_i):
 *     f(W, b) = (1/S) [ sum_i s_i loss_i + 1/(2C) ||W||^2 ]
 *     loss_i  = logsumexp(z_i) - z_i[y_i],  z_i = W x_i + b   (softplus(z) - y z for K = 2)
 *     grad_W  = (1/S) [ (S_w (P - Y))^T X + W / C ],  grad_b = (1/S) sum_i s_i (p_i - y_i)
 * (without weights s_i = 1 and the arithmetic is the unweighted one, no
 * multiplications by 1).
 * One evaluation is one pass over X in row blocks that stay in L2: per block,
 * Z = X_b W^T, the residual P - Y in place, then (P - Y)^T X_b, added to a
 * per-chunk double accumulator; with many classes both products are GEMMs,
 * with few they are dot products and axpys per row (see logits() for why).
 * X is read from memory once per evaluation and nothing of size n is
 * allocated (but a float32 copy of the sample weights when they are given).
 * docs/models/logistic_regression.md has the details.
 *
 * Legend: n samples, d features, K classes, kk coefficient rows (1 if K = 2
 * else K), P = kk*d (+ kk with an intercept) optimization variables. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "core/internal.h"
#include "linalg/linalg.h"
#include "mfs/logistic_regression.h"
#include "src_cuda/cuda_api.h"

static const char FIT[] = "mfs_fit";

enum {
    LBFGS_M = 10, /* correction pairs kept (scipy's maxcor default) */
    MAXLS = 50    /* evaluations per line search (scikit-learn passes maxls=50) */
};

void mfs_logistic_regression_params_default(mfs_logistic_regression_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->C = 1.0;
    p->tol = 1e-4;
    p->fit_intercept = 1;
    p->max_iter = 100;
}

static mfs_status check_params(const void *params) {
    const mfs_logistic_regression_params *p = (const mfs_logistic_regression_params *)params;
    static const char fn[] = "mfs_model_create";
    if (!(p->C > 0.0))
        return mfs__error(MFS_E_INVALID_ARG, "%s: C is %g, it must be > 0 (inf: no penalty)", fn, p->C);
    if (!(p->tol >= 0.0) || !isfinite(p->tol))
        return mfs__error(MFS_E_INVALID_ARG, "%s: tol is %g, it must be a finite number >= 0", fn, p->tol);
    if (p->fit_intercept != 0 && p->fit_intercept != 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: fit_intercept is %d, expected 0 or 1", fn, (int)p->fit_intercept);
    if (p->max_iter < 0)
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_iter is %d, it must be >= 0", fn, (int)p->max_iter);
    return MFS_OK;
}

mfs_status mfs_logistic_regression_create(const mfs_logistic_regression_params *params,
                                          mfs_device device, mfs_model **out) {
    return mfs__model_new("mfs_logistic_regression_create", MFS_MODEL_LOGISTIC_REGRESSION, params,
                          sizeof *params, device, out);
}

/* ---- rows: residuals, probabilities ------------------------------------------ */

/* Rows per block: X_b (rows, d) and its packed copy stay in L2 between the
 * two GEMMs of one block. */
static int64_t block_rows(int64_t d) {
    int64_t b = ((int64_t)384 * 1024) / (d * (int64_t)sizeof(float));
    if (b < 32) b = 32;
    if (b > 4096) b = 4096;
    return (b + 15) / 16 * 16;
}

/* softplus(v) = log(1 + e^v) without overflow */
static inline float softplusf(float v) { return fmaxf(v, 0.0f) + log1pf(expf(-fabsf(v))); }

/* z (kk) holds the decision values of one sample with label y; replaces them
 * by the residual p - onehot(y) (p = sigmoid(z) for kk = 1) and returns the
 * sample's log-loss. */
static inline double row_residual(float *z, int64_t kk, int32_t y) {
    if (kk == 1) {
        float v = z[0], t = (float)(y == 1);
        float e = expf(-fabsf(v));
        float sig = v >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
        z[0] = sig - t;
        return (double)(fmaxf(v, 0.0f) + log1pf(e)) - (double)t * v;
    }
    float zmax = z[0];
    for (int64_t k = 1; k < kk; k++) zmax = z[k] > zmax ? z[k] : zmax;
    float zy = z[y], s = 0.0f;
    for (int64_t k = 0; k < kk; k++) {
        z[k] = expf(z[k] - zmax);
        s += z[k];
    }
    float inv = 1.0f / s;
    for (int64_t k = 0; k < kk; k++) z[k] *= inv;
    z[y] -= 1.0f;
    return (double)logf(s) + (double)zmax - (double)zy;
}

/* Below this many coefficient rows the products run as dot products and
 * axpys along d, row by row, instead of through the GEMM: with kk of the
 * GEMM's 16..32 kernel columns in use it computes mostly padding, and it
 * spends its time packing X_b (a transposing copy for X_b W^T, a copy and a
 * fresh packing buffer per call for R^T X_b). The row path reads each row of
 * X once from memory and once from L1. Measured in dev/logistic_regression
 * (bench_eval.c); a variable so that the tests can force either path. */
int mfs__logreg_gemm_min_rows = 16;

/* Z (nb, kk) = X_b (nb, d) W^T + b for one block of rows (predict). */
static mfs_status logits(const float *Xb, int64_t nb, int64_t d, const float *W, const float *b,
                         int64_t kk, float *Z) {
    if (kk >= mfs__logreg_gemm_min_rows) {
        for (int64_t r = 0; r < nb; r++)
            for (int64_t k = 0; k < kk; k++) Z[r * kk + k] = b[k];
        return mfs__sgemm(0, 1, nb, kk, d, 1.0f, Xb, d, W, d, 1.0f, Z, kk);
    }
    for (int64_t r = 0; r < nb; r++) {
        const float *x = Xb + r * d;
        for (int64_t k = 0; k < kk; k++) {
            const float *w = W + k * d;
            float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
            for (int64_t j = 0; j < d; j++) acc += x[j] * w[j];
            Z[r * kk + k] = b[k] + acc;
        }
    }
    return MFS_OK;
}

enum { OUT_DECISION, OUT_PROBA, OUT_LOG_PROBA, OUT_LABEL };

/* Finish one row of decision values z (kk) into out for `what`. Probabilities
 * and labels come from the same arithmetic, so the label is always the argmax
 * of predict_proba (ties: the lowest index). */
static inline void row_output(float *z, int64_t kk, int what, void *out, int64_t i) {
    if (what == OUT_DECISION) {
        memcpy((float *)out + i * kk, z, (size_t)kk * sizeof(float));
        return;
    }
    if (kk == 1) {
        float v = z[0];
        if (what == OUT_LOG_PROBA) {
            float *o = (float *)out + 2 * i;
            o[0] = -softplusf(v);
            o[1] = -softplusf(-v);
            return;
        }
        /* both from e = exp(-|v|): the smaller probability keeps its relative
         * precision (1 - p would cancel) */
        float e = expf(-fabsf(v)), big = 1.0f / (1.0f + e), small = e / (1.0f + e);
        float p1 = v >= 0 ? big : small, p0 = v >= 0 ? small : big;
        if (what == OUT_PROBA) {
            float *o = (float *)out + 2 * i;
            o[0] = p0;
            o[1] = p1;
        } else {
            ((int32_t *)out)[i] = p1 > p0 ? 1 : 0;
        }
        return;
    }
    float zmax = z[0];
    for (int64_t k = 1; k < kk; k++) zmax = z[k] > zmax ? z[k] : zmax;
    if (what == OUT_LOG_PROBA) {
        float s = 0.0f;
        for (int64_t k = 0; k < kk; k++) s += expf(z[k] - zmax);
        float ls = logf(s), *o = (float *)out + i * kk;
        for (int64_t k = 0; k < kk; k++) o[k] = (z[k] - zmax) - ls;
        return;
    }
    float s = 0.0f;
    for (int64_t k = 0; k < kk; k++) {
        z[k] = expf(z[k] - zmax);
        s += z[k];
    }
    float inv = 1.0f / s;
    for (int64_t k = 0; k < kk; k++) z[k] *= inv;
    if (what == OUT_PROBA) {
        memcpy((float *)out + i * kk, z, (size_t)kk * sizeof(float));
    } else {
        int32_t best = 0;
        for (int64_t k = 1; k < kk; k++)
            if (z[k] > z[best]) best = (int32_t)k;
        ((int32_t *)out)[i] = best;
    }
}

/* ---- the loss and its gradient ------------------------------------------------ */

typedef struct {
    const float *X;     /* (n, d) */
    const int32_t *y;   /* (n) */
    const float *sw;    /* (n) sample weights, or NULL: all 1 */
    int64_t n, d, kk;
    double sw_sum;      /* S: n, or the sum of the weights */
    int fit_intercept;
    double inv_c;       /* 1/C, 0 for C = inf */
    const double *cs;   /* (d) preconditioning: the solver's variables are W' = W cs (cs_j = 2^e_j); or NULL */
    int64_t P;          /* optimization variables */
    float *Wf, *bf;     /* (kk, d), (kk): the point being evaluated, in float32 */
    double *dW, *db;    /* (kk, d), (kk): raw sums (P - Y)^T X and sum (P - Y) */
    int nt;             /* CPU: threads and their scratch */
    int64_t B;
    int64_t nch;        /* chunks of blocks: the unit of work and of summation */
    float *zs;          /* nt * (B*kk + kk*d) */
    double *acc;        /* nch * (kk*d + kk + 1) */
    mfs__logreg_cuda *gpu;
    int64_t n_evals;
} problem;

/* Strides of the per-thread scratch (Z then G_b) and of the per-chunk
 * accumulators, padded to whole 64-byte lines plus one: threads write them
 * every row, and a line shared by two threads (false sharing) made two
 * threads slower than one. */
static size_t scratch_floats(int64_t B, int64_t kk, int64_t d) {
    return ((size_t)(B * kk + kk * d) + 15) / 16 * 16 + 16;
}
static size_t acc_doubles(int64_t kk, int64_t d) { return ((size_t)(kk * d + kk + 1) + 7) / 8 * 8 + 8; }

static mfs_status problem_scratch(problem *pr, const char *fn) {
    pr->nt = mfs__num_threads();
    if (pr->nt < 1) pr->nt = 1;
    pr->B = block_rows(pr->d);
    if (pr->B > pr->n) pr->B = pr->n;
    size_t zf = scratch_floats(pr->B, pr->kk, pr->d), ad = acc_doubles(pr->kk, pr->d);
    /* A fixed number of chunks, whatever the thread count: threads take them
     * dynamically (a thread the OS preempts holds up one chunk, not half the
     * pass) and their sums are added in chunk order, so the result has the
     * same bits for every thread count. At most 32 chunks, and their
     * accumulators within 64 MiB. */
    int64_t nblk = (pr->n + pr->B - 1) / pr->B;
    pr->nch = nblk < 32 ? nblk : 32;
    while (pr->nch > 1 && (double)pr->nch * (double)ad * sizeof(double) > 64.0 * 1024 * 1024) pr->nch /= 2;
    MFS_TRY(mfs__alloc((void **)&pr->zs, zf * (size_t)pr->nt * sizeof(float), fn, "the per-thread blocks"));
    mfs_status s = mfs__alloc((void **)&pr->acc, ad * (size_t)pr->nch * sizeof(double), fn, "the gradient accumulators");
    if (s != MFS_OK) {
        mfs__free(pr->zs);
        pr->zs = NULL;
    }
    return s;
}

/* Raw data term at (Wf, bf): *loss = sum_i s_i loss_i, dW = (S_w (P - Y))^T X,
 * db = sum_i s_i (p_i - y_i) (s_i = 1 without weights). One pass over X. */
static mfs_status eval_cpu(problem *pr, double *loss) {
    const int64_t n = pr->n, d = pr->d, kk = pr->kk, B = pr->B;
    const int64_t nblk = (n + B - 1) / B;
    const size_t zf = scratch_floats(B, kk, d), ad = acc_doubles(kk, d);
    const int64_t nch = pr->nch;
    memset(pr->acc, 0, ad * (size_t)nch * sizeof(double));
    int failed = 0;
#pragma omp parallel num_threads(pr->nt) if (nch > 1)
    {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        float *Z = pr->zs + zf * (size_t)t, *Gb = Z + B * kk;
#pragma omp for schedule(dynamic, 1)
        for (int64_t c = 0; c < nch; c++) {
        double *ga = pr->acc + ad * (size_t)c, *gba = ga + kk * d, *la = gba + kk;
        for (int64_t blk = c * nblk / nch; blk < (c + 1) * nblk / nch; blk++) {
            const int64_t i0 = blk * B, nb = (n - i0) < B ? (n - i0) : B;
            const float *Xb = pr->X + i0 * d;
            if (kk < mfs__logreg_gemm_min_rows) {
                /* row path: z = W x + b, r = p - y, G_b += r x^T */
                memset(Gb, 0, (size_t)(kk * d) * sizeof(float));
                double l = 0.0;
                for (int64_t r = 0; r < nb; r++) {
                    const float *x = Xb + r * d;
                    float *z = Z + r * kk;
                    for (int64_t k = 0; k < kk; k++) {
                        const float *w = pr->Wf + k * d;
                        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
                        for (int64_t j = 0; j < d; j++) acc += x[j] * w[j];
                        z[k] = pr->bf[k] + acc;
                    }
                    double li = row_residual(z, kk, pr->y[i0 + r]);
                    if (pr->sw) {
                        const float wi = pr->sw[i0 + r];
                        li *= (double)wi;
                        for (int64_t k = 0; k < kk; k++) z[k] *= wi;
                    }
                    l += li;
                    for (int64_t k = 0; k < kk; k++) {
                        const float rk = z[k];
                        float *gk = Gb + k * d;
                        gba[k] += rk;
#pragma omp simd
                        for (int64_t j = 0; j < d; j++) gk[j] += rk * x[j];
                    }
                }
                *la += l;
                for (int64_t j = 0; j < kk * d; j++) ga[j] += Gb[j];
                continue;
            }
            if (logits(Xb, nb, d, pr->Wf, pr->bf, kk, Z) != MFS_OK) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            double l = 0.0;
            for (int64_t r = 0; r < nb; r++) {
                double li = row_residual(Z + r * kk, kk, pr->y[i0 + r]);
                if (pr->sw) {
                    const float wi = pr->sw[i0 + r];
                    li *= (double)wi;
                    for (int64_t k = 0; k < kk; k++) Z[r * kk + k] *= wi;
                }
                l += li;
                for (int64_t k = 0; k < kk; k++) gba[k] += Z[r * kk + k];
            }
            *la += l;
            /* Gb (kk, d) = R^T (kk, nb) X_b (nb, d) */
            if (mfs__sgemm(1, 0, kk, d, nb, 1.0f, Z, kk, Xb, d, 0.0f, Gb, d) != MFS_OK) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            for (int64_t j = 0; j < kk * d; j++) ga[j] += Gb[j];
        }
        }
    }
    if (failed) return mfs__error(MFS_E_NOMEM, "%s: out of memory for the GEMM's packing buffers", FIT);
    /* the chunk sums in chunk order */
    memset(pr->dW, 0, (size_t)(kk * d) * sizeof(double));
    memset(pr->db, 0, (size_t)kk * sizeof(double));
    double l = 0.0;
    for (int64_t c = 0; c < nch; c++) {
        const double *ga = pr->acc + ad * (size_t)c;
        for (int64_t j = 0; j < kk * d; j++) pr->dW[j] += ga[j];
        for (int64_t k = 0; k < kk; k++) pr->db[k] += ga[kk * d + k];
        l += ga[kk * d + kk];
    }
    *loss = l;
    return MFS_OK;
}

/* For tests (declared there): the raw data term of the CPU evaluation, with
 * sample weights sw (n) or NULL (unweighted). */
mfs_status mfs__logreg_loss_grad_weighted(const float *X, const int32_t *y, const float *sw, int64_t n, int64_t d,
                                          int64_t kk, const float *coef, const float *intercept, double *loss,
                                          double *dcoef, double *dintercept) {
    problem pr;
    memset(&pr, 0, sizeof pr);
    pr.X = X; pr.y = y; pr.sw = sw; pr.n = n; pr.d = d; pr.kk = kk;
    pr.Wf = (float *)coef; pr.bf = (float *)intercept; pr.dW = dcoef; pr.db = dintercept;
    MFS_TRY(problem_scratch(&pr, "mfs__logreg_loss_grad"));
    mfs_status s = eval_cpu(&pr, loss);
    mfs__free(pr.zs);
    mfs__free(pr.acc);
    return s;
}

/* The unweighted data term (tests and dev/logistic_regression/bench_eval.c). */
mfs_status mfs__logreg_loss_grad(const float *X, const int32_t *y, int64_t n, int64_t d, int64_t kk,
                                 const float *coef, const float *intercept, double *loss,
                                 double *dcoef, double *dintercept) {
    return mfs__logreg_loss_grad_weighted(X, y, NULL, n, d, kk, coef, intercept, loss, dcoef, dintercept);
}

/* f and g (P) at x (P): coef (kk, d) then, with an intercept, b (kk). */
static mfs_status objective(problem *pr, const double *x, double *f, double *g) {
    const int64_t kk = pr->kk, d = pr->d, nw = kk * d;
    if (pr->cs) /* W = W' / cs: exact (a power of two), so the float32 W and X W are those of X / cs and W' */
        for (int64_t j = 0; j < nw; j++) pr->Wf[j] = (float)(x[j] / pr->cs[j % d]);
    else
        for (int64_t j = 0; j < nw; j++) pr->Wf[j] = (float)x[j];
    for (int64_t k = 0; k < kk; k++) pr->bf[k] = pr->fit_intercept ? (float)x[nw + k] : 0.0f;
    double loss = 0.0;
    if (pr->gpu) MFS_TRY(mfs__logreg_cuda_eval(pr->gpu, pr->Wf, pr->bf, &loss, pr->dW, pr->db));
    else MFS_TRY(eval_cpu(pr, &loss));
    pr->n_evals++;
    const double inv_n = 1.0 / pr->sw_sum; /* 1/S */
    double w2 = 0.0;
    if (pr->cs) { /* x holds W' = W cs: grad_W' = grad_W / cs, the penalty 1/(2C) sum W^2 */
        for (int64_t j = 0; j < nw; j++) {
            const double c = pr->cs[j % d], w = x[j] / c;
            w2 += w * w;
            g[j] = (pr->dW[j] + pr->inv_c * w) / c * inv_n;
        }
    } else {
        for (int64_t j = 0; j < nw; j++) {
            w2 += x[j] * x[j];
            g[j] = (pr->dW[j] + pr->inv_c * x[j]) * inv_n;
        }
    }
    if (pr->fit_intercept)
        for (int64_t k = 0; k < kk; k++) g[nw + k] = pr->db[k] * inv_n;
    *f = (loss + 0.5 * pr->inv_c * w2) * inv_n;
    if (!isfinite(*f)) *f = INFINITY;
    return MFS_OK;
}

/* ---- L-BFGS ------------------------------------------------------------------ */

static double max_abs(const double *a, int64_t P) {
    double m = 0.0;
    for (int64_t j = 0; j < P; j++) m = fabs(a[j]) > m ? fabs(a[j]) : m;
    return m;
}

/* Minimizer of the cubic through (a, fa, ga) and (b, fb, gb) (Nocedal & Wright
 * eq. 3.59); NaN when it has none. */
static double cubic_min(double a, double fa, double ga, double b, double fb, double gb) {
    double d1 = ga + gb - 3.0 * (fa - fb) / (a - b);
    double disc = d1 * d1 - ga * gb;
    if (!(disc >= 0.0)) return NAN;
    double d2 = copysign(sqrt(disc), b - a);
    double den = gb - ga + 2.0 * d2;
    if (den == 0.0) return NAN;
    return b - (b - a) * (gb + d2 - d1) / den;
}

typedef struct {
    double a, f, g; /* step, phi, phi' */
} ls_point;

/* Line search along p from x (f0, g0) for a step satisfying the strong Wolfe
 * conditions (c1 = 1e-4, c2 = 0.9; Nocedal & Wright Alg. 3.5/3.6 with
 * safeguarded cubic interpolation). Near the optimum, f differences sink to
 * the float32 rounding of the loss, so a step is also accepted under Hager &
 * Zhang's approximate Wolfe conditions when f(a) <= f0 + 1e-6 |f0|:
 * c2 phi'(0) <= phi'(a) <= (2 delta - 1) phi'(0), delta = 0.1.
 * On success *ok = 1 and (xt, gt, *ft, *step) hold the accepted point. When no
 * point passes in MAXLS evaluations, the best point with sufficient decrease
 * is taken if there is one, else *ok = 0. */
static mfs_status line_search(problem *pr, const double *x, double f0, const double *p, double dphi0,
                              double a1, double *xt, double *gt, double *glo, double *ft, double *step,
                              int *ok) {
    const int64_t P = pr->P;
    const double c1 = 1e-4, c2 = 0.9, eps_f = 1e-6 * fabs(f0);
    *ok = 0;
    int evals = 0;
#define PHI(pt)                                                      \
    do {                                                             \
        for (int64_t j = 0; j < P; j++) xt[j] = x[j] + (pt).a * p[j]; \
        MFS_TRY(objective(pr, xt, &(pt).f, gt));                     \
        (pt).g = isfinite((pt).f) ? mfs__dot_f64(gt, p, P) : NAN;             \
        evals++;                                                     \
    } while (0)
#define ACCEPTABLE(pt)                                                                           \
    (((pt).f <= f0 + c1 * (pt).a * dphi0 && fabs((pt).g) <= -c2 * dphi0) ||                      \
     ((pt).f <= f0 + eps_f && (pt).g >= c2 * dphi0 && (pt).g <= (2 * 0.1 - 1) * dphi0))
    ls_point prev = {0.0, f0, dphi0}, cur = {a1, 0, 0}, lo, hi;
    int have_lo_g = 0; /* glo holds the gradient at lo (lo.a > 0) */
    for (;;) {
        PHI(cur);
        if (isfinite(cur.f) && ACCEPTABLE(cur)) goto accept;
        if (!isfinite(cur.f) || cur.f > f0 + c1 * cur.a * dphi0 || (evals > 1 && cur.f >= prev.f)) {
            lo = prev;
            hi = cur;
            have_lo_g = prev.a > 0;
            break;
        }
        if (cur.g >= 0) {
            lo = cur;
            hi = prev;
            memcpy(glo, gt, (size_t)P * sizeof(double));
            have_lo_g = 1;
            break;
        }
        if (evals >= MAXLS) { lo = cur; memcpy(glo, gt, (size_t)P * sizeof(double)); have_lo_g = 1; goto fallback; }
        prev = cur;
        memcpy(glo, gt, (size_t)P * sizeof(double)); /* prev may become lo */
        cur.a = cur.a * 2.0;
    }
    /* zoom: lo satisfies sufficient decrease and has the lowest f so far */
    while (evals < MAXLS) {
        double w = fabs(hi.a - lo.a);
        if (w <= 1e-14 * (lo.a > hi.a ? lo.a : hi.a)) break;
        double t = isfinite(hi.f) ? cubic_min(lo.a, lo.f, lo.g, hi.a, hi.f, hi.g) : NAN;
        double left = (lo.a < hi.a ? lo.a : hi.a) + 0.1 * w, right = (lo.a < hi.a ? hi.a : lo.a) - 0.1 * w;
        if (!(t >= left && t <= right)) t = 0.5 * (lo.a + hi.a);
        ls_point tp = {t, 0, 0};
        PHI(tp);
        if (isfinite(tp.f) && ACCEPTABLE(tp)) { cur = tp; goto accept; }
        if (!isfinite(tp.f) || tp.f > f0 + c1 * tp.a * dphi0 || tp.f >= lo.f) {
            hi = tp;
        } else {
            if (tp.g * (hi.a - lo.a) >= 0) hi = lo;
            lo = tp;
            memcpy(glo, gt, (size_t)P * sizeof(double));
            have_lo_g = 1;
        }
    }
fallback:
    if (have_lo_g && lo.a > 0 && lo.f < f0) {
        for (int64_t j = 0; j < P; j++) xt[j] = x[j] + lo.a * p[j];
        memcpy(gt, glo, (size_t)P * sizeof(double));
        *ft = lo.f;
        *step = lo.a;
        *ok = 1;
    }
    return MFS_OK;
accept:
    *ft = cur.f;
    *step = cur.a;
    *ok = 1;
    return MFS_OK;
#undef PHI
#undef ACCEPTABLE
}

/* Minimize from x (P: zeros, or the warm start), in place. Stops when max |g|
 * <= tol, when the relative decrease of f is <= 64 eps (scipy's ftol as
 * scikit-learn sets it), after max_iter iterations, or when no step along the
 * steepest descent direction decreases f (f is then flat to float32 rounding,
 * with max |g| still above tol: badly scaled data; *stalled = 1, scipy's
 * ABNORMAL_TERMINATION_IN_LNSRCH). x (P) in and out, *n_iter out. */
static mfs_status lbfgs(problem *pr, double tol, int32_t max_iter, double *x, int32_t *n_iter, int *stalled) {
    const int64_t P = pr->P, M = LBFGS_M;
    double *buf = NULL;
    MFS_TRY(mfs__alloc((void **)&buf, (size_t)(5 * P + 2 * M * P + 2 * M) * sizeof(double), FIT, "the L-BFGS state"));
    double *g = buf, *p = g + P, *xt = p + P, *gt = xt + P, *glo = gt + P, *S = glo + P, *Yv = S + M * P,
           *rho = Yv + M * P, *al = rho + M;
    int64_t head = 0, npairs = 0; /* ring of correction pairs; head = next slot */
    double f;
    mfs_status s;
    *n_iter = 0;
    *stalled = 0;
    s = objective(pr, x, &f, g);
    for (int32_t it = 1; s == MFS_OK && it <= max_iter; it++) {
        if (max_abs(g, P) <= tol) break; /* preconditioned: the gradient in W' */
        /* two-loop recursion: p = -H g */
        for (int64_t j = 0; j < P; j++) p[j] = -g[j];
        for (int64_t c = 0; c < npairs; c++) {
            int64_t i = (head - 1 - c + M) % M;
            al[i] = rho[i] * mfs__dot_f64(S + i * P, p, P);
            for (int64_t j = 0; j < P; j++) p[j] -= al[i] * Yv[i * P + j];
        }
        if (npairs > 0) {
            int64_t i = (head - 1 + M) % M;
            double gamma = mfs__dot_f64(S + i * P, Yv + i * P, P) / mfs__dot_f64(Yv + i * P, Yv + i * P, P);
            for (int64_t j = 0; j < P; j++) p[j] *= gamma;
        }
        for (int64_t c = npairs - 1; c >= 0; c--) {
            int64_t i = (head - 1 - c + M) % M;
            double beta = rho[i] * mfs__dot_f64(Yv + i * P, p, P);
            for (int64_t j = 0; j < P; j++) p[j] += S[i * P + j] * (al[i] - beta);
        }
        double dphi0 = mfs__dot_f64(g, p, P);
        if (!(dphi0 < 0)) { /* not a descent direction: restart from steepest descent */
            npairs = 0;
            for (int64_t j = 0; j < P; j++) p[j] = -g[j];
            dphi0 = mfs__dot_f64(g, p, P);
        }
        /* first step of a (re)start: unit length, as L-BFGS-B */
        double a1 = npairs == 0 ? fmin(1.0, 1.0 / sqrt(mfs__dot_f64(p, p, P))) : 1.0;
        double ft = f, step = 0;
        int ok = 0;
        s = line_search(pr, x, f, p, dphi0, a1, xt, gt, glo, &ft, &step, &ok);
        if (s != MFS_OK) break;
        if (!ok) {
            if (npairs == 0) { /* steepest descent cannot decrease f either */
                *stalled = 1;
                break;
            }
            npairs = 0;             /* forget the curvature pairs and retry */
            it--;
            continue;
        }
        /* correction pair s = xt - x, y = gt - g, kept when curvature is positive */
        double *sv = S + head * P, *yv = Yv + head * P;
        for (int64_t j = 0; j < P; j++) {
            sv[j] = xt[j] - x[j];
            yv[j] = gt[j] - g[j];
        }
        double sy = mfs__dot_f64(sv, yv, P);
        if (sy > 1e-10 * mfs__dot_f64(yv, yv, P) && sy > 0) {
            rho[head] = 1.0 / sy;
            head = (head + 1) % M;
            if (npairs < M) npairs++;
        }
        double fprev = f;
        memcpy(x, xt, (size_t)P * sizeof(double));
        memcpy(g, gt, (size_t)P * sizeof(double));
        f = ft;
        *n_iter = it;
        /* scipy's ftol test; a step taken under approximate Wolfe may raise f
         * by float32 rounding, which is no reason to stop */
        double scale = fmax(fmax(fabs(fprev), fabs(f)), 1.0);
        if (fprev >= f && fprev - f <= 64 * DBL_EPSILON * scale) break;
    }
    mfs__free(buf);
    return s;
}

/* ---- fit ------------------------------------------------------------------- */

static mfs_status fit(mfs_model *m, const mfs_array *Xa, const mfs_array *ya) {
    const mfs_logistic_regression_params *prm = (const mfs_logistic_regression_params *)m->params;
    const int64_t n = Xa->shape[0], d = Xa->shape[1];
    const int weighted = mfs__input_find(m, "sample_weight") != NULL;
    MFS_TRY(mfs__check_labels(FIT, ya, n, INT32_MAX));
    const int32_t *y = (const int32_t *)ya->data;
    int32_t ymax = 0;
    for (int64_t i = 0; i < n; i++) ymax = y[i] > ymax ? y[i] : ymax;
    if (ymax == 0)
        return mfs__error(MFS_E_VALUE, "%s: y has 1 class (every label is 0), logistic regression needs samples of at least 2 classes", FIT);
    const int64_t K = (int64_t)ymax + 1;
    if (K > n)
        return mfs__error(MFS_E_VALUE, "%s: y has labels up to %d but only %lld samples; labels must be 0..K-1 with every class present",
                          FIT, (int)ymax, (long long)n);
    const int64_t kk = K == 2 ? 1 : K;
    const int64_t nw = kk * d, P = nw + (prm->fit_intercept ? kk : 0);
    size_t cells;
    if (mfs__mul_overflows((size_t)kk, (size_t)(d + 1), &cells) || cells > ((size_t)1 << 40))
        return mfs__error(MFS_E_OVERFLOW, "%s: %lld classes x %lld features is too large", FIT, (long long)K, (long long)d);
    /* work: x (P) and dW, db as doubles; counts (K); Wf, bf as floats */
    double *x = NULL, *w64 = NULL, *cs = NULL; /* cs: the preconditioning below */
    float *sw = NULL;
    double sw_sum = (double)n;
    MFS_TRY(mfs__alloc((void **)&x, (size_t)(P + nw + kk + K) * sizeof(double) + (size_t)(nw + kk) * sizeof(float),
                       FIT, "the coefficients"));
    double *dW = x + P, *db = dW + nw;
    int64_t *count = (int64_t *)(db + kk);
    float *Wf = (float *)(count + K), *bf = Wf + nw;
    mfs_status s = MFS_OK;
    memset(count, 0, (size_t)K * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) count[y[i]]++;
    for (int64_t k = 0; k < K; k++)
        if (count[k] == 0) {
            s = mfs__error(MFS_E_VALUE, "%s: class %lld has no samples; labels must be 0..%lld with every class present",
                           FIT, (long long)k, (long long)K - 1);
            goto done;
        }
    if (weighted) {
        /* scikit-learn's sample_weight: s_i >= 0 multiplies row i's loss and
         * gradient; the objective is divided by S = sum_i s_i instead of n.
         * Used as float32 (the precision of the residuals they scale). */
        s = mfs__alloc((void **)&w64, (size_t)n * sizeof(double), FIT, "sample_weight");
        if (s == MFS_OK) s = mfs__input_weights(m, FIT, "sample_weight", n, 0, "rows of X", w64, NULL);
        if (s == MFS_OK) s = mfs__alloc((void **)&sw, (size_t)n * sizeof(float), FIT, "sample_weight");
        if (s != MFS_OK) goto done;
        sw_sum = 0.0;
        for (int64_t i = 0; i < n; i++) {
            sw[i] = (float)w64[i];
            if (!isfinite(sw[i])) {
                s = mfs__error(MFS_E_VALUE, "%s: sample_weight[%lld] = %g does not fit in float32", FIT, (long long)i, w64[i]);
                goto done;
            }
            sw_sum += (double)sw[i];
        }
        mfs__free(w64);
        w64 = NULL;
        if (!(sw_sum > 0.0)) {
            s = mfs__error(MFS_E_VALUE, "%s: sample_weight sums to 0; at least one weight must be > 0", FIT);
            goto done;
        }
    }
    /* Columns of very different scales (raw features: 1e-4 next to 1e6) make
     * the objective so ill-conditioned that L-BFGS crawls (scikit-learn's
     * too), and float32 evaluations stall it short of the optimum. Then
     * L-BFGS runs in the variables W'_kj = W_kj cs_j, cs_j = 2^e_j the power
     * of two nearest sqrt(h_j), h_j = sum_i s_i x_ij^2 / (4 S) + 1/(C S) an
     * estimate of the objective's curvature along W_j (a logistic loss curves
     * by p (1 - p) <= 1/4): the same objective and minimizer, its diagonal
     * near 1 (Jacobi preconditioning). X is not copied: each evaluation
     * takes W = W' / cs (exact: a power of two) and divides the gradient by
     * cs. tol then applies to the gradient in W' (grad_W / cs): the same test
     * on X as on X 2^k. When every |e_j| <= 10 and they span at most 10
     * (curvatures within 2^20 of each other and of 1) nothing changes: the
     * iterates are the unpreconditioned ones. */
    {
        const float *X0 = (const float *)Xa->data;
        int emin = INT32_MAX, emax = INT32_MIN;
        s = mfs__alloc((void **)&cs, (size_t)(d > 0 ? d : 1) * sizeof(double), FIT, "the column scales");
        if (s != MFS_OK) goto done;
        /* the mean from at most ~4096 evenly spaced rows: the test below is
         * coarse (factors of 2^20), and a pass over all of X cost ~10% of a
         * fit of 100,000 x 100 */
        const int64_t step = n > 4096 ? n / 4096 : 1;
        double ss = 0.0;
        for (int64_t j = 0; j < d; j++) cs[j] = 0.0;
        for (int64_t i = 0; i < n; i += step) {
            const double si = sw ? (double)sw[i] : 1.0;
            if (si == 0) continue;
            ss += si;
            for (int64_t j = 0; j < d; j++) cs[j] += si * (double)X0[i * d + j] * (double)X0[i * d + j];
        }
        const double pen = isinf(prm->C) ? 0.0 : 1.0 / (prm->C * sw_sum);
        for (int64_t j = 0; j < d; j++) {
            const double h = (ss > 0 ? 0.25 * cs[j] / ss : 0.0) + pen;
            int e = 0;
            if (h > 0 && isfinite(h)) {
                e = (int)lround(0.5 * log2(h));
                emin = e < emin ? e : emin;
                emax = e > emax ? e : emax;
            }
            cs[j] = ldexp(1.0, e); /* a zero column without a penalty: 1 */
        }
        if (emin == INT32_MAX || (emax - emin <= 10 && emax <= 10 && emin >= -10)) {
            mfs__free(cs);
            cs = NULL;
        }
    }
    /* the starting point: zeros, or the optional inputs "coef_init" (kk, d)
     * and "intercept_init" (kk,) (scikit-learn's warm_start), in the solver's
     * variables W' = W cs */
    memset(x, 0, (size_t)P * sizeof(double));
    {
        const mfs_tensor *ci = mfs__input_find(m, "coef_init"), *ii = mfs__input_find(m, "intercept_init");
        if (ii && !ci) {
            s = mfs__error(MFS_E_INVALID_ARG, "%s: intercept_init is given without coef_init", FIT);
            goto done;
        }
        if (ci) {
            if (ci->dtype != MFS_DTYPE_FLOAT32 || ci->ndim != 2 || ci->shape[0] != kk || ci->shape[1] != d) {
                s = mfs__error(MFS_E_SHAPE, "%s: coef_init must be float32 of shape (%lld, %lld) (%lld coefficient rows "
                               "for %lld classes, %lld features), got a %d-D array of shape (%lld, %lld)", FIT,
                               (long long)kk, (long long)d, (long long)kk, (long long)K, (long long)d, (int)ci->ndim,
                               (long long)(ci->ndim > 0 ? ci->shape[0] : 0), (long long)(ci->ndim > 1 ? ci->shape[1] : 0));
                goto done;
            }
            const float *c0 = (const float *)ci->data;
            if (!mfs__all_finite(c0, nw)) {
                s = mfs__error(MFS_E_VALUE, "%s: coef_init contains NaN or infinity", FIT);
                goto done;
            }
            for (int64_t j = 0; j < nw; j++) x[j] = cs ? (double)c0[j] * cs[j % d] : (double)c0[j];
        }
        if (ii) {
            if (!prm->fit_intercept) {
                s = mfs__error(MFS_E_INVALID_ARG, "%s: intercept_init is given but fit_intercept is 0", FIT);
                goto done;
            }
            if (ii->dtype != MFS_DTYPE_FLOAT32 || ii->ndim != 1 || ii->shape[0] != kk) {
                s = mfs__error(MFS_E_SHAPE, "%s: intercept_init must be float32 of shape (%lld,), got a %d-D array "
                               "with %lld values", FIT, (long long)kk, (int)ii->ndim,
                               (long long)(ii->ndim > 0 ? ii->shape[0] : 0));
                goto done;
            }
            const float *b0 = (const float *)ii->data;
            if (!mfs__all_finite(b0, kk)) {
                s = mfs__error(MFS_E_VALUE, "%s: intercept_init contains NaN or infinity", FIT);
                goto done;
            }
            for (int64_t k = 0; k < kk; k++) x[nw + k] = (double)b0[k];
        }
    }
    problem pr;
    memset(&pr, 0, sizeof pr);
    pr.X = (const float *)Xa->data; pr.y = y; pr.sw = sw; pr.sw_sum = sw_sum; pr.n = n; pr.d = d; pr.kk = kk;
    pr.cs = cs;
    pr.fit_intercept = prm->fit_intercept;
    pr.inv_c = isinf(prm->C) ? 0.0 : 1.0 / prm->C;
    pr.P = P; pr.Wf = Wf; pr.bf = bf; pr.dW = dW; pr.db = db;
    if (m->device == MFS_DEVICE_CUDA) s = mfs__logreg_cuda_create(pr.X, y, sw, n, d, kk, &m->mem, &pr.gpu);
    else s = problem_scratch(&pr, FIT);
    if (s != MFS_OK) goto done;
    int32_t n_iter = 0;
    int stalled = 0;
    s = lbfgs(&pr, prm->tol, prm->max_iter, x, &n_iter, &stalled);
    mfs__logreg_cuda_free(pr.gpu);
    mfs__free(pr.zs);
    mfs__free(pr.acc);
    if (s != MFS_OK) goto done;
    {
        int64_t cshape[2] = {kk, d}, ishape[1] = {kk}, one[1] = {1};
        float *coef, *icpt;
        int32_t *nc, *ni, *st;
        s = mfs__array_new(m, "coef", MFS_DTYPE_FLOAT32, 2, cshape, (void **)&coef);
        if (s == MFS_OK) s = mfs__array_new(m, "intercept", MFS_DTYPE_FLOAT32, 1, ishape, (void **)&icpt);
        if (s == MFS_OK) s = mfs__array_new(m, "n_classes", MFS_DTYPE_INT32, 0, NULL, (void **)&nc);
        if (s == MFS_OK) s = mfs__array_new(m, "n_iter", MFS_DTYPE_INT32, 1, one, (void **)&ni);
        if (s == MFS_OK) s = mfs__array_new(m, "stalled", MFS_DTYPE_INT32, 0, NULL, (void **)&st);
        if (s != MFS_OK) goto done;
        for (int64_t j = 0; j < nw; j++) coef[j] = (float)(cs ? x[j] / cs[j % d] : x[j]);
        /* softmax is unchanged by a common shift of the intercepts, which the
         * penalty does not fix: report the zero-mean one (L-BFGS from 0 keeps
         * the mean at 0 up to rounding, as scikit-learn's) */
        double mean = 0.0;
        if (prm->fit_intercept && kk > 1) {
            for (int64_t k = 0; k < kk; k++) mean += x[nw + k];
            mean /= (double)kk;
        }
        for (int64_t k = 0; k < kk; k++) icpt[k] = prm->fit_intercept ? (float)(x[nw + k] - mean) : 0.0f;
        *nc = (int32_t)K;
        ni[0] = n_iter;
        *st = stalled;
    }
done:
    mfs__free(cs);
    mfs__free(sw);
    mfs__free(w64);
    mfs__free(x);
    return s;
}

/* ---- predict ------------------------------------------------------------------ */

static int64_t coef_rows(const mfs_model *m) { return mfs__array_find(m, "coef")->shape[0]; }

typedef struct {
    const float *X, *W, *b;
    int64_t d, kk, B;
    int what;
    void *out;
    float *Zs; /* (B, kk) decision values per thread */
} apply_ctx;

static mfs_status apply_block(void *c, int64_t r0, int64_t r1, int thread) {
    const apply_ctx *p = (const apply_ctx *)c;
    float *Z = p->Zs + (size_t)(p->B * p->kk) * (size_t)thread;
    MFS_TRY(logits(p->X + r0 * p->d, r1 - r0, p->d, p->W, p->b, p->kk, Z));
    for (int64_t r = 0; r < r1 - r0; r++) row_output(Z + r * p->kk, p->kk, p->what, p->out, r0 + r);
    return MFS_OK;
}

static mfs_status apply_rows(const mfs_model *m, const mfs_array *Xa, mfs_array *out, int what, const char *fn) {
    const mfs_tensor *ct = mfs__array_find(m, "coef"), *it = mfs__array_find(m, "intercept");
    const float *W = (const float *)ct->data, *b = (const float *)it->data, *X = (const float *)Xa->data;
    const int64_t n = Xa->shape[0], d = Xa->shape[1], kk = ct->shape[0];
    if (m->device == MFS_DEVICE_CUDA) {
        /* decision values on the GPU (one GEMM), the cheap row transforms here */
        float *Z = NULL;
        size_t bytes;
        if (mfs__mul_overflows((size_t)n, (size_t)kk * sizeof(float), &bytes))
            return mfs__error(MFS_E_OVERFLOW, "%s: X is too large", fn);
        MFS_TRY(mfs__alloc((void **)&Z, bytes, fn, "the decision values"));
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = 0; k < kk; k++) Z[i * kk + k] = b[k];
        mfs_status s = mfs_sgemm_cuda(0, 1, n, kk, d, 1.0f, X, d, W, d, 1.0f, Z, kk);
        if (s == MFS_OK)
            for (int64_t i = 0; i < n; i++) row_output(Z + i * kk, kk, what, out->data, i);
        mfs__free(Z);
        return s;
    }
    /* the CPU checks X block by block as it reads it (host_checks_finite):
     * one pass over X, not two */
    const int64_t B = block_rows(d) < n ? block_rows(d) : n;
    int nt = mfs__num_threads();
    if (nt < 1) nt = 1;
    apply_ctx c = {X, W, b, d, kk, B, what, out->data, NULL};
    MFS_TRY(mfs__alloc((void **)&c.Zs, (size_t)(B * kk) * (size_t)nt * sizeof(float), fn, "the decision values"));
    mfs_status s = mfs__row_blocks_checked(fn, "X", X, n, d, B, apply_block, &c);
    mfs__free(c.Zs);
    return s;
}

static mfs_status predict(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply_rows(m, X, out, OUT_LABEL, "mfs_predict");
}
static mfs_status predict_proba(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply_rows(m, X, out, OUT_PROBA, "mfs_predict_proba");
}
static mfs_status predict_log_proba(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply_rows(m, X, out, OUT_LOG_PROBA, "mfs_predict_log_proba");
}
static mfs_status decision_function(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply_rows(m, X, out, OUT_DECISION, "mfs_decision_function");
}

static mfs_status output_shape(const mfs_model *m, mfs_method method, int64_t rows,
                               mfs_dtype *dtype, int32_t *ndim, int64_t *shape) {
    const int64_t kk = coef_rows(m), K = kk == 1 ? 2 : kk;
    shape[0] = rows;
    switch (method) {
    case MFS_METHOD_PREDICT:
        *dtype = MFS_DTYPE_INT32;
        *ndim = 1;
        return MFS_OK;
    case MFS_METHOD_PREDICT_PROBA:
    case MFS_METHOD_PREDICT_LOG_PROBA:
        *dtype = MFS_DTYPE_FLOAT32;
        *ndim = 2;
        shape[1] = K;
        return MFS_OK;
    case MFS_METHOD_DECISION_FUNCTION:
        *dtype = MFS_DTYPE_FLOAT32;
        *ndim = kk == 1 ? 1 : 2;
        shape[1] = kk == 1 ? 0 : kk;
        return MFS_OK;
    default:
        return mfs__error(MFS_E_UNSUPPORTED, "mfs_output_shape: logistic_regression has no method %d "
                          "(it has predict, predict_proba, predict_log_proba and decision_function)", (int)method);
    }
}

static mfs_status check_state(const mfs_model *m) {
    const mfs_tensor *c = mfs__array_get(m, "coef", MFS_DTYPE_FLOAT32, 2);
    const mfs_tensor *b = mfs__array_get(m, "intercept", MFS_DTYPE_FLOAT32, 1);
    const mfs_tensor *nc = mfs__array_get(m, "n_classes", MFS_DTYPE_INT32, 0);
    const mfs_tensor *ni = mfs__array_get(m, "n_iter", MFS_DTYPE_INT32, 1);
    if (!c || !b || !nc || !ni)
        return mfs__error(MFS_E_FORMAT, "logistic_regression: 'coef', 'intercept', 'n_classes' or 'n_iter' missing or of the wrong type");
    int64_t kk = c->shape[0], K = *(const int32_t *)nc->data;
    if (c->shape[1] != m->n_features_in)
        return mfs__error(MFS_E_FORMAT, "logistic_regression: 'coef' has %lld features, the model %lld",
                          (long long)c->shape[1], (long long)m->n_features_in);
    if (K < 2 || kk != (K == 2 ? 1 : K))
        return mfs__error(MFS_E_FORMAT, "logistic_regression: 'coef' has %lld rows for %lld classes", (long long)kk, (long long)K);
    if (b->shape[0] != kk || ni->shape[0] != 1)
        return mfs__error(MFS_E_FORMAT, "logistic_regression: 'intercept' has %lld values for %lld coefficient rows",
                          (long long)b->shape[0], (long long)kk);
    return MFS_OK;
}

const mfs_model_vtable mfs__logistic_regression_vtable = {
    .kind = MFS_MODEL_LOGISTIC_REGRESSION,
    .name = "logistic_regression",
    .params_size = sizeof(mfs_logistic_regression_params),
    .supervised = 1,
    .check_params = check_params,
    .fit = fit,
    .predict = predict,
    .predict_proba = predict_proba,
    .output_shape = output_shape,
    .check_state = check_state,
    .decision_function = decision_function,
    .predict_log_proba = predict_log_proba,
    .host_checks_finite = 1, /* every predict-type method checks X per block of rows */
};
