/* Linear support vector classification: L2-regularized L1- or L2-loss SVM
 * solved in the dual by coordinate descent with liblinear's shrinking (Hsieh,
 * Chang, Lin, Keerthi & Sundararajan, ICML 2008), one-vs-rest for K > 2, as
 * scikit-learn's LinearSVC (penalty='l2', dual=True); or, for the L2 loss, in
 * the primal by Newton-CG (dual=False, below solve_binary).
 *
 * Letters: n rows, d features, K classes, k binary problems (1 or K), m rows
 * to predict.
 *
 * Dual of min_w 1/2 |w|^2 + C sum_i loss(1 - y_i w.x_i):
 *   min_a 1/2 a^T (Q + D) a - e^T a,  0 <= a_i <= U,  Q_ij = y_i y_j x_i.x_j,
 *   hinge: U = C_i, D = 0; squared hinge: U = inf, D_ii = 1 / (2 C_i);
 * w = sum_i a_i y_i x_i is kept up to date, so a coordinate step costs two
 * passes over one row (w.x_i, then w += delta y_i x_i), in double. Each pass
 * over the data visits the active coordinates in a random order (Fisher-Yates
 * from the core Philox RNG: seed random_state, stream = the binary problem),
 * drops coordinates stuck at a bound (projected gradient outside the last
 * pass's range) and stops when the projected-gradient spread is <= tol, after
 * a last check over all coordinates. The intercept is a constant feature of
 * value intercept_scaling whose weight is regularized like the others.
 *
 * sample_weight (an input, liblinear's W as scikit-learn ships it) scales
 * each row's C: C_i = W_i Cp or W_i Cn (U and D above per row); rows of
 * weight 0 are removed before training, as liblinear's remove_zero_weight. */
#include <math.h>
#include <string.h>
#include "core/internal.h"
#include "core/rng.h"
#include "linalg/linalg.h"
#include "mfs/linear_svm.h"
#include "src_cuda/cuda_api.h"
#ifdef _OPENMP
#include <omp.h>
#endif

typedef mfs_linear_svm_params lsvm_params;

void mfs_linear_svm_params_default(mfs_linear_svm_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->loss = MFS_LINEAR_SVM_LOSS_SQUARED_HINGE;
    p->fit_intercept = 1;
    p->max_iter = 1000;
    p->C = 1.0;
    p->tol = 1e-4;
    p->intercept_scaling = 1.0;
    p->random_state = 0;
}

static mfs_status check_params(const void *params) {
    const lsvm_params *p = (const lsvm_params *)params;
    static const char fn[] = "mfs_model_create";
    if (p->loss != MFS_LINEAR_SVM_LOSS_HINGE && p->loss != MFS_LINEAR_SVM_LOSS_SQUARED_HINGE)
        return mfs__error(MFS_E_INVALID_ARG, "%s: loss is %d, expected 0 (hinge) or 1 (squared_hinge)", fn, (int)p->loss);
    if (p->fit_intercept != 0 && p->fit_intercept != 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: fit_intercept is %d, expected 0 or 1", fn, (int)p->fit_intercept);
    if (p->max_iter < 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_iter is %d, it must be >= 1", fn, (int)p->max_iter);
    if (p->solver != MFS_LINEAR_SVM_SOLVER_DUAL && p->solver != MFS_LINEAR_SVM_SOLVER_PRIMAL)
        return mfs__error(MFS_E_INVALID_ARG, "%s: solver is %d, expected 0 (dual) or 1 (primal)", fn, (int)p->solver);
    if (p->solver == MFS_LINEAR_SVM_SOLVER_PRIMAL && p->loss != MFS_LINEAR_SVM_LOSS_SQUARED_HINGE)
        return mfs__error(MFS_E_INVALID_ARG, "%s: the primal solver needs loss 1 (squared_hinge): the hinge loss is "
                          "not differentiable; use solver 0 (dual)", fn);
    if (!(p->C > 0) || !isfinite(p->C))
        return mfs__error(MFS_E_INVALID_ARG, "%s: C is %g, it must be a finite number > 0", fn, p->C);
    if (!(p->tol > 0) || !isfinite(p->tol))
        return mfs__error(MFS_E_INVALID_ARG, "%s: tol is %g, it must be a finite number > 0", fn, p->tol);
    if (!(p->intercept_scaling > 0) || !isfinite(p->intercept_scaling))
        return mfs__error(MFS_E_INVALID_ARG, "%s: intercept_scaling is %g, it must be a finite number > 0", fn,
                          p->intercept_scaling);
    return MFS_OK;
}

mfs_status mfs_linear_svm_create(const mfs_linear_svm_params *params, mfs_device device, mfs_model **out) {
    return mfs__model_new("mfs_linear_svm_create", MFS_MODEL_LINEAR_SVM, params, sizeof *params, device, out);
}

static inline void swap_i32(int32_t *a, int64_t i, int64_t j) {
    int32_t t = a[i];
    a[i] = a[j];
    a[j] = t;
}

/* One binary problem: labels s (n) +1/-1, per-class C (Cp for +1, Cn for
 * -1), times W_i per row when sample weights W (n, all > 0) are given. w
 * (d + 1) out (w[d]: the weight of the constant feature, 0 without an
 * intercept). QD, alpha (n), index (n) scratch; Dg, Ub (n) scratch when W is
 * given (each row's D_ii and upper bound). */
static int32_t solve_binary(const float *X, int64_t n, int64_t d, const int8_t *s, double Cp, double Cn,
                            const double *W, const lsvm_params *p, uint64_t stream, double *w, double *QD,
                            double *alpha, int32_t *index, double *Dg, double *Ub) {
    const int l2 = p->loss == MFS_LINEAR_SVM_LOSS_SQUARED_HINGE;
    const double bias = p->fit_intercept ? p->intercept_scaling : 0.0;
    const double diag_p = l2 ? 0.5 / Cp : 0, diag_n = l2 ? 0.5 / Cn : 0;
    const double ub_p = l2 ? HUGE_VAL : Cp, ub_n = l2 ? HUGE_VAL : Cn;
    const double eps = p->tol;
    mfs_rng rng = mfs_rng_make((uint64_t)p->random_state, stream);
    for (int64_t j = 0; j <= d; j++) w[j] = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *x = X + i * d;
        double q = bias * bias;
        for (int64_t j = 0; j < d; j++) q += (double)x[j] * x[j];
        if (W) {
            const double Ci = W[i] * (s[i] > 0 ? Cp : Cn); /* liblinear: C_[i] = W[i] * Cp */
            Dg[i] = l2 ? 0.5 / Ci : 0;
            Ub[i] = l2 ? HUGE_VAL : Ci;
            QD[i] = q + Dg[i];
        } else {
            QD[i] = q + (s[i] > 0 ? diag_p : diag_n);
        }
        alpha[i] = 0;
        index[i] = (int32_t)i;
    }
    int64_t active = n;
    double PGmax_old = HUGE_VAL, PGmin_old = -HUGE_VAL;
    int32_t iter = 0;
    while (iter < p->max_iter) {
        double PGmax_new = -HUGE_VAL, PGmin_new = HUGE_VAL;
        for (int64_t i = 0; i < active; i++) swap_i32(index, i, i + (int64_t)mfs_rng_below(&rng, (uint64_t)(active - i)));
        for (int64_t t = 0; t < active; t++) {
            const int64_t i = index[t];
            const float *x = X + i * d;
            const double yi = s[i];
            double wx = w[d] * bias;
            for (int64_t j = 0; j < d; j++) wx += w[j] * x[j];
            const double G = yi * wx - 1 + alpha[i] * (W ? Dg[i] : (s[i] > 0 ? diag_p : diag_n));
            const double U = W ? Ub[i] : (s[i] > 0 ? ub_p : ub_n);
            double PG = 0;
            if (alpha[i] == 0) {
                if (G > PGmax_old) { /* stuck at 0: shrink */
                    active--;
                    swap_i32(index, t, active);
                    t--;
                    continue;
                } else if (G < 0) {
                    PG = G;
                }
            } else if (alpha[i] == U) {
                if (G < PGmin_old) { /* stuck at U: shrink */
                    active--;
                    swap_i32(index, t, active);
                    t--;
                    continue;
                } else if (G > 0) {
                    PG = G;
                }
            } else {
                PG = G;
            }
            if (PG > PGmax_new) PGmax_new = PG;
            if (PG < PGmin_new) PGmin_new = PG;
            if (fabs(PG) > 1.0e-12) {
                const double old = alpha[i];
                double a = old - G / QD[i];
                a = a < 0 ? 0 : (a > U ? U : a);
                alpha[i] = a;
                const double delta = (a - old) * yi;
                for (int64_t j = 0; j < d; j++) w[j] += delta * x[j];
                w[d] += delta * bias;
            }
        }
        iter++;
        if (PGmax_new - PGmin_new <= eps) {
            if (active == n) break;
            active = n; /* check every coordinate before stopping */
            PGmax_old = HUGE_VAL;
            PGmin_old = -HUGE_VAL;
            continue;
        }
        PGmax_old = PGmax_new;
        PGmin_old = PGmin_new;
        if (PGmax_old <= 0) PGmax_old = HUGE_VAL;
        if (PGmin_old >= 0) PGmin_old = -HUGE_VAL;
    }
    return iter;
}


/* ---- primal: Newton's method with conjugate gradients ------------------------
 *
 *   f(w) = 1/2 |w|^2 + sum_i C_i max(0, 1 - y_i z_i)^2,   z_i = w.x_i (+ w_d b)
 *
 * is convex and once differentiable; on the rows I = {i : y_i z_i < 1} its
 * gradient and (generalized) Hessian are
 *
 *   g  = w + 2 sum_{i in I} C_i (z_i - y_i) x_i,    H v = v + 2 sum_{i in I} C_i (x_i.v) x_i
 *
 * (y_i^2 = 1). Each iteration solves H s = -g by conjugate gradients to
 * |r| <= 0.1 |g| (at most d + 1 + 10 steps: exact in exact arithmetic after
 * d + 1), then backtracks from step 1 while Armijo's f(w + a s) <= f(w) +
 * 0.01 a g.s fails; z + a (X s) gives every trial's f in O(n) with no pass
 * over X. It stops when |g| <= eps |g(w = 0)| with liblinear's primal
 * tolerance eps = tol * max(min(n+, n-), 1) / n, as scikit-learn's LinearSVC
 * with dual=False (which runs liblinear's trust-region variant: the same
 * optimum and stopping rule, other iterates). Rows are read in float32 and
 * every sum is in double. */

/* x_i.v over the d features and the bias feature */
static inline double row_dot(const float *x, int64_t d, double bias, const double *v) {
    double t = v[d] * bias;
    for (int64_t j = 0; j < d; j++) t += v[j] * x[j];
    return t;
}

/* the objective at z + a zs for w + a s (|w + a s|^2 = ww + 2 a ws + a^2 ss) */
static double primal_f(const int8_t *s, const double *Ci, const double *z, const double *zs, double a, int64_t n,
                       double ww, double ws, double ss) {
    double f = 0.5 * (ww + 2 * a * ws + a * a * ss);
    for (int64_t i = 0; i < n; i++) {
        const double m = 1.0 - s[i] * (z[i] + a * zs[i]);
        if (m > 0) f += Ci[i] * m * m;
    }
    return f;
}

/* g = w + 2 sum_I C_i (z_i - y_i) x_i */
static void primal_grad(const float *X, int64_t n, int64_t d, double bias, const int8_t *s, const double *Ci,
                        const double *z, const double *w, double *g) {
    for (int64_t j = 0; j <= d; j++) g[j] = w[j];
    for (int64_t i = 0; i < n; i++) {
        if (s[i] * z[i] >= 1.0) continue;
        const double c = 2.0 * Ci[i] * (z[i] - s[i]);
        const float *x = X + i * d;
        for (int64_t j = 0; j < d; j++) g[j] += c * x[j];
        g[d] += c * bias;
    }
}

/* w (d + 1) from 0; scratch: z, zs (n), g, dir, r, q, Hq (d + 1 each). Returns
 * the Newton iterations run. */
static int32_t solve_primal(const float *X, int64_t n, int64_t d, const int8_t *s, const double *Ci,
                            const lsvm_params *p, double *w, double *z, double *zs, double *g, double *dir, double *r,
                            double *q, double *Hq) {
    const double bias = p->fit_intercept ? p->intercept_scaling : 0.0;
    const int64_t D1 = d + 1;
    int64_t npos = 0;
    for (int64_t i = 0; i < n; i++) npos += s[i] > 0;
    const double nmin = (double)(npos < n - npos ? npos : n - npos);
    const double eps = p->tol * (nmin > 1 ? nmin : 1.0) / (double)n;
    for (int64_t j = 0; j < D1; j++) w[j] = 0;
    for (int64_t i = 0; i < n; i++) z[i] = 0;
    primal_grad(X, n, d, bias, s, Ci, z, w, g);
    const double gnorm0 = sqrt(mfs__dot_f64(g, g, D1));
    double f = primal_f(s, Ci, z, z, 0.0, n, 0, 0, 0);
    int32_t iter = 0;
    while (iter < p->max_iter) {
        const double gnorm = sqrt(mfs__dot_f64(g, g, D1));
        if (gnorm <= eps * gnorm0) break;
        /* conjugate gradients on H dir = -g from dir = 0 */
        for (int64_t j = 0; j < D1; j++) { dir[j] = 0; r[j] = -g[j]; q[j] = r[j]; }
        double rr = mfs__dot_f64(r, r, D1);
        for (int64_t it = 0; it < D1 + 10 && sqrt(rr) > 0.1 * gnorm; it++) {
            for (int64_t j = 0; j < D1; j++) Hq[j] = q[j];
            for (int64_t i = 0; i < n; i++) {
                if (s[i] * z[i] >= 1.0) continue;
                const float *x = X + i * d;
                const double c = 2.0 * Ci[i] * row_dot(x, d, bias, q);
                for (int64_t j = 0; j < d; j++) Hq[j] += c * x[j];
                Hq[d] += c * bias;
            }
            const double qHq = mfs__dot_f64(q, Hq, D1);
            if (!(qHq > 0)) break;
            const double a = rr / qHq;
            for (int64_t j = 0; j < D1; j++) { dir[j] += a * q[j]; r[j] -= a * Hq[j]; }
            const double rr_new = mfs__dot_f64(r, r, D1);
            const double beta = rr_new / rr;
            rr = rr_new;
            for (int64_t j = 0; j < D1; j++) q[j] = r[j] + beta * q[j];
        }
        /* backtracking line search on the exact f along dir */
        for (int64_t i = 0; i < n; i++) zs[i] = row_dot(X + i * d, d, bias, dir);
        const double gs = mfs__dot_f64(g, dir, D1), ww = mfs__dot_f64(w, w, D1), ws = mfs__dot_f64(w, dir, D1), ss = mfs__dot_f64(dir, dir, D1);
        iter++;
        if (!(gs < 0)) break; /* no descent left at this precision */
        double a = 1.0, f_new = f;
        int ok = 0;
        for (int t = 0; t < 30; t++, a *= 0.5) {
            f_new = primal_f(s, Ci, z, zs, a, n, ww, ws, ss);
            if (f_new <= f + 0.01 * a * gs) { ok = 1; break; }
        }
        if (!ok) break;
        for (int64_t j = 0; j < D1; j++) w[j] += a * dir[j];
        for (int64_t i = 0; i < n; i++) z[i] += a * zs[i];
        f = f_new;
        primal_grad(X, n, d, bias, s, Ci, z, w, g);
    }
    return iter;
}

/* scikit-learn's sample_weight as liblinear takes it: *w (nk) the weights
 * of the rows kept (those > 0), NULL without the input; when some are 0,
 * *Xk (nk, d) and *yk (nk) copies of the kept rows (else NULL). */
static mfs_status sample_weights(mfs_model *m, const char *fn, const float *X, const int32_t *y, int64_t n, int64_t d,
                                 int64_t K, double *w_max, double **w_, int64_t *nk_, float **Xk_, int32_t **yk_) {
    *w_ = NULL;
    *Xk_ = NULL;
    *yk_ = NULL;
    *nk_ = n;
    if (!mfs__input_find(m, "sample_weight")) return MFS_OK;
    double *w = NULL;
    int64_t *cnt = NULL;
    MFS_TRY(mfs__alloc((void **)&w, (size_t)n * sizeof(double), fn, "sample_weight"));
    mfs_status s = mfs__input_weights(m, fn, "sample_weight", n, 0, "rows of X", w, NULL);
    if (s == MFS_OK) s = mfs__alloc((void **)&cnt, (size_t)K * 2 * sizeof(int64_t), fn, "sample_weight");
    int64_t nk = 0;
    double wmax = 0;
    if (s == MFS_OK) {
        memset(cnt, 0, (size_t)K * 2 * sizeof(int64_t));
        for (int64_t i = 0; i < n; i++) {
            cnt[2 * y[i]]++;
            if (w[i] > 0) cnt[2 * y[i] + 1]++, nk++;
            if (w[i] > wmax) wmax = w[i];
        }
        if (nk == 0) s = mfs__error(MFS_E_VALUE, "%s: every sample_weight is 0; at least one must be > 0", fn);
        for (int64_t k = 0; k < K && s == MFS_OK; k++)
            if (cnt[2 * k] > 0 && cnt[2 * k + 1] == 0)
                s = mfs__error(MFS_E_VALUE,
                               "%s: class %lld has %lld samples, all of sample_weight 0; every class needs one of "
                               "weight > 0",
                               fn, (long long)k, (long long)cnt[2 * k]);
    }
    mfs__free(cnt);
    if (s == MFS_OK && nk < n) {
        float *Xk = NULL;
        int32_t *yk = NULL;
        if ((s = mfs__alloc((void **)&Xk, (size_t)(nk * d) * sizeof(float), fn, "the rows of weight > 0")) != MFS_OK ||
            (s = mfs__alloc((void **)&yk, (size_t)nk * sizeof(int32_t), fn, "the rows of weight > 0")) != MFS_OK) {
            mfs__free(Xk);
        } else {
            int64_t q = 0;
            for (int64_t i = 0; i < n; i++)
                if (w[i] > 0) {
                    memcpy(Xk + q * d, X + i * d, (size_t)d * sizeof(float));
                    yk[q] = y[i];
                    w[q] = w[i];
                    q++;
                }
            *Xk_ = Xk;
            *yk_ = yk;
            *nk_ = nk;
        }
    }
    if (s != MFS_OK) {
        mfs__free(w);
        return s;
    }
    *w_ = w;
    *w_max = wmax;
    return MFS_OK;
}

static mfs_status fit(mfs_model *m, const mfs_array *Xa, const mfs_array *ya) {
    const lsvm_params *p = (const lsvm_params *)m->params;
    static const char fn[] = "mfs_fit";
    const int64_t n0 = Xa->shape[0], d = Xa->shape[1];
    if (n0 > INT32_MAX) return mfs__error(MFS_E_OVERFLOW, "%s: X has %lld rows, at most %d", fn, (long long)n0, INT32_MAX);
    MFS_TRY(mfs__check_labels(fn, ya, n0, INT32_MAX));
    const int32_t *y = (const int32_t *)ya->data;
    const float *X = (const float *)Xa->data;
    int64_t K = 0;
    for (int64_t i = 0; i < n0; i++)
        if (y[i] + 1 > K) K = y[i] + 1;
    if (K < 2) return mfs__error(MFS_E_VALUE, "%s: y has a single class (0); LinearSVC needs samples of at least 2 classes", fn);
    if (K > (1 << 20)) return mfs__error(MFS_E_VALUE, "%s: y has labels up to %lld, at most 2^20 classes", fn, (long long)K - 1);
    double *sw = NULL, sw_max = 0;
    float *Xk = NULL;
    int32_t *yk = NULL;
    int64_t n = n0;
    MFS_TRY(sample_weights(m, fn, X, y, n0, d, K, &sw_max, &sw, &n, &Xk, &yk));
    if (Xk) {
        X = Xk;
        y = yk;
    }
    const int64_t k = K == 2 ? 1 : K;
    char *mem = NULL;
    const int primal = p->solver == MFS_LINEAR_SVM_SOLVER_PRIMAL;
    /* the primal's per-row C, z and X s (3 n) and its 5 vectors of d + 1 */
    const size_t extra = primal ? (size_t)n * 3 * sizeof(double) + (size_t)(d + 1) * 5 * sizeof(double) : 0;
    const size_t bytes = (size_t)K * (sizeof(double) + sizeof(int64_t)) + (size_t)n * (2 * sizeof(double) + sizeof(int32_t) + 1) +
                         (size_t)(d + 1) * sizeof(double) + (sw ? (size_t)n * 2 * sizeof(double) : 0) + extra + 64;
    mfs_status st = mfs__alloc((void **)&mem, bytes, fn, "the coordinate descent");
    if (st != MFS_OK) goto done;
    double *wC = (double *)mem, *QD = wC + K, *alpha = QD + n, *w = alpha + n;
    double *Dg = sw ? w + d + 1 : NULL, *Ub = sw ? Dg + n : NULL;
    int64_t *count = (int64_t *)(sw ? Ub + n : w + d + 1);
    int32_t *index = (int32_t *)(count + K);
    int8_t *s = (int8_t *)(index + n);
    /* the primal's scratch after the signs, 8-byte aligned */
    double *pCi = primal ? (double *)(mem + ((size_t)((char *)(s + n) - mem) + 7) / 8 * 8) : NULL;
    double *pz = pCi ? pCi + n : NULL, *pzs = pz ? pz + n : NULL, *pv = pzs ? pzs + n : NULL;
    st = mfs__input_weights(m, fn, "class_weight", K, 1, "classes in the data", wC, NULL);
    if (st != MFS_OK) goto done;
    memset(count, 0, (size_t)K * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) count[y[i]]++;
    for (int64_t c = 0; c < K; c++) {
        if (count[c] == 0) {
            st = mfs__error(MFS_E_VALUE, "%s: class %lld has no samples (labels must be 0..K-1, every one present)", fn,
                            (long long)c);
            goto done;
        }
        wC[c] *= p->C;
        if (sw && !isfinite(sw_max * wC[c])) {
            st = mfs__error(MFS_E_VALUE, "%s: the largest sample_weight, %g, times C * class_weight = %g overflows", fn,
                            sw_max, wC[c]);
            goto done;
        }
    }
    if (sw && !isfinite(sw_max * p->C)) {
        st = mfs__error(MFS_E_VALUE, "%s: the largest sample_weight, %g, times C = %g overflows", fn, sw_max, p->C);
        goto done;
    }
    double *coef, *icpt;
    int32_t *nit;
    const int64_t s_coef[2] = {k, d}, s_k[1] = {k};
    if ((st = mfs__array_new(m, "coef", MFS_DTYPE_FLOAT64, 2, s_coef, (void **)&coef)) != MFS_OK ||
        (st = mfs__array_new(m, "intercept", MFS_DTYPE_FLOAT64, 1, s_k, (void **)&icpt)) != MFS_OK ||
        (st = mfs__array_new(m, "n_iter", MFS_DTYPE_INT32, 1, s_k, (void **)&nit)) != MFS_OK)
        goto done;
    for (int64_t c = 0; c < k; c++) {
        /* K = 2: class 1 against class 0; else class c against the rest with
         * the rest's C = C (liblinear's one-vs-rest) */
        const int64_t pos = K == 2 ? 1 : c;
        for (int64_t i = 0; i < n; i++) s[i] = y[i] == pos ? 1 : -1;
        const double Cp = wC[pos], Cn = K == 2 ? wC[0] : p->C;
        if (primal) {
            for (int64_t i = 0; i < n; i++) pCi[i] = (sw ? sw[i] : 1.0) * (s[i] > 0 ? Cp : Cn);
            nit[c] = solve_primal(X, n, d, s, pCi, p, w, pz, pzs, pv, pv + (d + 1), pv + 2 * (d + 1),
                                  pv + 3 * (d + 1), pv + 4 * (d + 1));
        } else {
            nit[c] = solve_binary(X, n, d, s, Cp, Cn, sw, p, (uint64_t)c, w, QD, alpha, index, Dg, Ub);
        }
        for (int64_t j = 0; j < d; j++) coef[c * d + j] = w[j];
        icpt[c] = p->fit_intercept ? w[d] * p->intercept_scaling : 0.0;
    }
done:
    mfs__free(mem);
    mfs__free(sw);
    mfs__free(Xk);
    mfs__free(yk);
    return st;
}

enum { OUT_PREDICT = 0, OUT_DECISION = 1 };

static mfs_status apply(const mfs_model *m, const char *fn, const mfs_array *Xa, int what, void *out) {
    const mfs_tensor *ct = mfs__array_find(m, "coef");
    const double *coef = (const double *)ct->data;
    const double *icpt = (const double *)mfs__array_find(m, "intercept")->data;
    const int64_t k = ct->shape[0], d = ct->shape[1], n = Xa->shape[0];
    const float *X = (const float *)Xa->data;
    if (m->device == MFS_DEVICE_CUDA) {
        /* decision values X W^T through the device GEMM (float32 operands) */
        char *mem = NULL;
        MFS_TRY(mfs__alloc((void **)&mem, (size_t)(k * d + n * k) * sizeof(float) + 64, fn, "the decision values"));
        float *W = (float *)mem, *D = W + k * d;
        for (int64_t q = 0; q < k * d; q++) W[q] = (float)coef[q];
        mfs_status s = mfs_sgemm_cuda(0, 1, n, k, d, 1.0f, X, d, W, d, 0.0f, D, k);
        if (s == MFS_OK)
            for (int64_t r = 0; r < n; r++) {
                const float *dr = D + r * k;
                if (what == OUT_DECISION) {
                    for (int64_t c = 0; c < k; c++) ((float *)out)[r * k + c] = (float)((double)dr[c] + icpt[c]);
                } else {
                    int64_t best = 0;
                    double bv = (double)dr[0] + icpt[0];
                    for (int64_t c = 1; c < k; c++)
                        if ((double)dr[c] + icpt[c] > bv) {
                            bv = (double)dr[c] + icpt[c];
                            best = c;
                        }
                    ((int32_t *)out)[r] = (int32_t)(k == 1 ? (bv > 0) : best);
                }
            }
        mfs__free(mem);
        return s;
    }
    int nt = mfs__num_threads();
    if (n * k * d < (1 << 16)) nt = 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < n; r++) {
        const float *x = X + r * d;
        int64_t best = 0;
        double bv = -HUGE_VAL;
        for (int64_t c = 0; c < k; c++) {
            const double *wc = coef + c * d;
            double v = icpt[c];
            for (int64_t j = 0; j < d; j++) v += wc[j] * x[j];
            if (what == OUT_DECISION) ((float *)out)[r * k + c] = (float)v;
            if (c == 0 || v > bv) {
                bv = v;
                best = c;
            }
        }
        if (what == OUT_PREDICT) ((int32_t *)out)[r] = (int32_t)(k == 1 ? (bv > 0) : best);
    }
    return MFS_OK;
}

static mfs_status predict(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply(m, "mfs_predict", X, OUT_PREDICT, out->data);
}
static mfs_status decision_function(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply(m, "mfs_decision_function", X, OUT_DECISION, out->data);
}

static mfs_status output_shape(const mfs_model *m, mfs_method method, int64_t rows, mfs_dtype *dtype, int32_t *ndim,
                               int64_t *shape) {
    const mfs_tensor *ct = mfs__array_find(m, "coef");
    const int64_t k = ct ? ct->shape[0] : 1;
    shape[0] = rows;
    *ndim = 1;
    if (method == MFS_METHOD_PREDICT) {
        *dtype = MFS_DTYPE_INT32;
        return MFS_OK;
    }
    if (method == MFS_METHOD_DECISION_FUNCTION) {
        *dtype = MFS_DTYPE_FLOAT32;
        if (k > 1) {
            *ndim = 2;
            shape[1] = k;
        }
        return MFS_OK;
    }
    return mfs__error(MFS_E_UNSUPPORTED, "mfs_output_shape: linear_svm has predict and decision_function only");
}

static mfs_status check_state(const mfs_model *m) {
    const int64_t d = m->n_features_in;
    const mfs_tensor *c = mfs__array_get(m, "coef", MFS_DTYPE_FLOAT64, 2);
    if (!c || c->shape[1] != d || c->shape[0] < 1 || c->shape[0] == 2 || c->shape[0] > (1 << 20))
        return mfs__error(MFS_E_FORMAT, "linear_svm: 'coef' missing or not float64 (1 or K >= 3, %lld)", (long long)d);
    const mfs_tensor *b = mfs__array_get(m, "intercept", MFS_DTYPE_FLOAT64, 1);
    if (!b || b->shape[0] != c->shape[0])
        return mfs__error(MFS_E_FORMAT, "linear_svm: 'intercept' missing or not float64 (%lld,)", (long long)c->shape[0]);
    const mfs_tensor *it = mfs__array_get(m, "n_iter", MFS_DTYPE_INT32, 1);
    if (!it || it->shape[0] != c->shape[0])
        return mfs__error(MFS_E_FORMAT, "linear_svm: 'n_iter' missing or not int32 (%lld,)", (long long)c->shape[0]);
    return MFS_OK;
}

const mfs_model_vtable mfs__linear_svm_vtable = {
    .kind = MFS_MODEL_LINEAR_SVM,
    .name = "linear_svm",
    .params_size = sizeof(mfs_linear_svm_params),
    .supervised = 1,
    .check_params = check_params,
    .fit = fit,
    .predict = predict,
    .output_shape = output_shape,
    .check_state = check_state,
    .decision_function = decision_function,
};
