/* Linear Regression (OLS) and Ridge: min ||y - X w - b||^2 + alpha ||w||^2.
 *
 * Centering X and y removes the intercept from the problem (b = ymean - xmean.w),
 * so the penalty never touches it. The normal equations (Xc^T Xc + alpha I) w =
 * Xc^T yc are formed blockwise (src_c/linalg/centered_gram.c: float32 GEMM per
 * block, summed in double) and solved by Cholesky in double. When Cholesky fails
 * or the factor shows a condition number beyond what the float32 Gram can carry,
 * the solve falls back to a pivoted QR of Xc in double (full rank) or the
 * eigen-decomposition pseudo-inverse (rank-deficient: the minimum-norm solution,
 * as scikit-learn's lstsq gives). */
#include <math.h>
#include <string.h>
#include "core/internal.h"
#include "linalg/linalg.h"
#include "mfs/linear_regression.h"
#include "src_cuda/cuda_api.h"

static const char FIT[] = "mfs_fit";

void mfs_linear_regression_params_default(mfs_linear_regression_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->alpha = 0.0;
    p->fit_intercept = 1;
    p->solver = MFS_LINEAR_REGRESSION_SOLVER_AUTO;
}

static mfs_status check_params(const void *params) {
    const mfs_linear_regression_params *p = (const mfs_linear_regression_params *)params;
    static const char fn[] = "mfs_model_create";
    if (!(p->alpha >= 0.0) || !isfinite(p->alpha))
        return mfs__error(MFS_E_INVALID_ARG, "%s: alpha is %g, it must be a finite number >= 0", fn, p->alpha);
    if (p->fit_intercept != 0 && p->fit_intercept != 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: fit_intercept is %d, expected 0 or 1", fn, (int)p->fit_intercept);
    if (p->solver < 0 || p->solver > MFS_LINEAR_REGRESSION_SOLVER_QR)
        return mfs__error(MFS_E_INVALID_ARG, "%s: solver is %d, expected 0 (auto), 1 (cholesky) or 2 (qr)", fn, (int)p->solver);
    return MFS_OK;
}

mfs_status mfs_linear_regression_create(const mfs_linear_regression_params *params,
                                        mfs_device device, mfs_model **out) {
    return mfs__model_new("mfs_linear_regression_create", MFS_MODEL_LINEAR_REGRESSION, params,
                          sizeof *params, device, out);
}

/* Minimum-norm solve of G w = c (G symmetric PSD (d, d), c (d, t)) through the
 * eigen-decomposition, dropping eigenvalues below cutoff; ridge adds alpha. */
static mfs_status eigen_solve(double *G, int64_t d, double alpha, const double *c, int64_t t,
                              double cutoff_rel, double *w, int64_t *rank) {
    double *ev = NULL, *V = NULL, *tmp = NULL;
    mfs_status s = mfs__alloc((void **)&ev, (size_t)(d + d * d + d * t) * sizeof(double), FIT, "an eigen solve");
    if (s != MFS_OK) return s;
    V = ev + d;
    tmp = V + d * d;
    s = mfs__eigh(G, d, ev, V);
    if (s == MFS_OK) {
        double wmax = ev[0] > 0 ? ev[0] : 0;
        *rank = 0;
        /* tmp = diag(1/(ev+alpha)) V^T c over kept eigenpairs */
        for (int64_t k = 0; k < d; k++) {
            int keep = alpha > 0 ? (ev[k] + alpha > 0) : (ev[k] > cutoff_rel * wmax && ev[k] > 0);
            if (keep) (*rank)++;
            for (int64_t j = 0; j < t; j++) {
                double acc = 0;
                if (keep) {
                    for (int64_t i = 0; i < d; i++) acc += V[i * d + k] * c[i * t + j];
                    acc /= ev[k] + alpha;
                }
                tmp[k * t + j] = acc;
            }
        }
        for (int64_t i = 0; i < d; i++)
            for (int64_t j = 0; j < t; j++) {
                double acc = 0;
                for (int64_t k = 0; k < d; k++) acc += V[i * d + k] * tmp[k * t + j];
                w[i * t + j] = acc;
            }
    }
    mfs__free(ev);
    return s;
}

/* The precise path: Xc in double, pivoted QR (or ridge via the eigen solve). */
static mfs_status solve_precise(const float *X, const float *Y, int64_t n, int64_t d, int64_t t,
                                const double *xm, const double *ym, const float *sw, double alpha,
                                double *w, int64_t *rank) {
    size_t nd, cells;
    if (mfs__mul_overflows((size_t)n, (size_t)(d + t), &cells) || mfs__mul_overflows(cells, sizeof(double), &nd))
        return mfs__error(MFS_E_OVERFLOW, "%s: the problem is too large for the QR solver", FIT);
    double *A = NULL;
    MFS_TRY(mfs__alloc((void **)&A, nd + (size_t)(2 * d * d + d * t) * sizeof(double), FIT, "the QR solver"));
    double *B = A + n * d, *G = B + n * t, *Gc = G + d * d, *c = Gc + d * d;
    for (int64_t i = 0; i < n; i++) {
        double r = sw ? sw[i] : 1.0;
        for (int64_t j = 0; j < d; j++) A[i * d + j] = ((double)X[i * d + j] - (xm ? xm[j] : 0.0)) * r;
        for (int64_t j = 0; j < t; j++) B[i * t + j] = ((double)Y[i * t + j] - (ym ? ym[j] : 0.0)) * r;
    }
    /* Gram and cross-products in double, kept for the rank-deficient / ridge case */
    memset(G, 0, (size_t)(d * d) * sizeof(double));
    memset(c, 0, (size_t)(d * t) * sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        const double *a = A + i * d, *b = B + i * t;
        for (int64_t p = 0; p < d; p++) {
            for (int64_t q = 0; q <= p; q++) G[p * d + q] += a[p] * a[q];
            for (int64_t j = 0; j < t; j++) c[p * t + j] += a[p] * b[j];
        }
    }
    for (int64_t p = 0; p < d; p++)
        for (int64_t q = 0; q < p; q++) G[q * d + p] = G[p * d + q];
    /* singular values below eps32 * max(n, d) * s_max count as zero (as
     * scikit-learn's lstsq on float32 data); in eigenvalues that is squared */
    double rcond = 1.1920929e-07 * (double)(n > d ? n : d);
    mfs_status s;
    if (alpha > 0) {
        memcpy(Gc, G, (size_t)(d * d) * sizeof(double));
        s = eigen_solve(Gc, d, alpha, c, t, 0.0, w, rank);
        *rank = d;
    } else {
        /* unit-norm columns (zero columns stay zero): rank detection is then
         * about collinearity, not units */
        double *cs = Gc; /* d scratch before Gc is needed */
        for (int64_t j = 0; j < d; j++) cs[j] = G[j * d + j] > 0 ? 1.0 / sqrt(G[j * d + j]) : 1.0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < d; j++) A[i * d + j] *= cs[j];
        s = mfs__lstsq_qr(A, n, d, B, t, rcond, w, rank);
        for (int64_t j = 0; s == MFS_OK && j < d; j++)
            for (int64_t k = 0; k < t; k++) w[j * t + k] *= cs[j];
        if (s == MFS_OK && *rank < d) {
            memcpy(Gc, G, (size_t)(d * d) * sizeof(double));
            s = eigen_solve(Gc, d, 0.0, c, t, rcond * rcond, w, rank);
        }
    }
    mfs__free(A);
    return s;
}

/* The optional "sample_weight" input (n,) float32, >= 0, not all zero, as
 * square roots: weighted least squares scales centered rows by sqrt(w). */
static mfs_status sqrt_weights(const mfs_model *m, int64_t n, float **out) {
    *out = NULL;
    const mfs_tensor *w = mfs__input_find(m, "sample_weight");
    if (!w) return MFS_OK;
    if (w->dtype != MFS_DTYPE_FLOAT32 || w->ndim != 1 || w->shape[0] != n)
        return mfs__error(MFS_E_SHAPE, "%s: sample_weight must be float32 of shape (%lld,), got %d-D with %lld values",
                          FIT, (long long)n, (int)w->ndim, (long long)(w->ndim ? w->shape[0] : 1));
    const float *v = (const float *)w->data;
    double total = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!(v[i] >= 0))
            return mfs__error(MFS_E_VALUE, "%s: sample_weight[%lld] = %g, weights must be >= 0", FIT, (long long)i, v[i]);
        total += v[i];
    }
    if (!(total > 0)) return mfs__error(MFS_E_VALUE, "%s: sample weights sum to 0", FIT);
    MFS_TRY(mfs__alloc((void **)out, (size_t)n * sizeof(float), FIT, "sqrt(sample_weight)"));
    for (int64_t i = 0; i < n; i++) (*out)[i] = sqrtf(v[i]);
    return MFS_OK;
}

static mfs_status fit(mfs_model *m, const mfs_array *Xa, const mfs_array *ya) {
    const mfs_linear_regression_params *p = (const mfs_linear_regression_params *)m->params;
    int64_t n = Xa->shape[0], d = Xa->shape[1], t;
    MFS_TRY(mfs__check_targets(FIT, ya, n, &t));
    const float *X = (const float *)Xa->data, *Y = (const float *)ya->data;
    float *sw = NULL; /* sqrt(sample_weight), when given */
    MFS_TRY(sqrt_weights(m, n, &sw));
    /* scratch: xmean (d), ymean (t), G (d,d), c (d,t), L (d,d), w (d,t) */
    double *xm = NULL;
    size_t scratch = (size_t)(2 * d + t + 2 * d * d + 2 * d * t) * sizeof(double);
    mfs_status s0 = mfs__alloc((void **)&xm, scratch, FIT, "the normal equations");
    if (s0 != MFS_OK) { mfs__free(sw); return s0; }
    double *ym = xm + d, *G = ym + t, *c = G + d * d, *L = c + d * t, *w = L + d * d, *sc = w + d * t;
    mfs_status s = MFS_OK;
    const int center = p->fit_intercept;
    if (center && !sw) {
        mfs__col_mean(X, n, d, xm);
        mfs__col_mean(Y, n, t, ym);
    } else {
        memset(xm, 0, (size_t)(d + t) * sizeof(double));
    }
    int64_t rank = d;
    int solved = 0;
    if (sw) {
        /* weighted means: sum_i w_i x_i / sum_i w_i (sw holds sqrt(w)) */
        if (center) {
            memset(xm, 0, (size_t)(d + t) * sizeof(double));
            double wsum = 0;
            for (int64_t i = 0; i < n; i++) {
                double wi = (double)sw[i] * sw[i];
                wsum += wi;
                for (int64_t j = 0; j < d; j++) xm[j] += wi * X[i * d + j];
                for (int64_t j = 0; j < t; j++) ym[j] += wi * Y[i * t + j];
            }
            for (int64_t j = 0; j < d; j++) xm[j] /= wsum;
            for (int64_t j = 0; j < t; j++) ym[j] /= wsum;
        }
    }
    if (p->solver != MFS_LINEAR_REGRESSION_SOLVER_QR) {
        if (m->device == MFS_DEVICE_CUDA) {
            float *g32 = NULL;
            s = mfs__alloc((void **)&g32, (size_t)(d * d + d * t) * sizeof(float), FIT, "the Gram matrix");
            if (s == MFS_OK) {
                s = mfs__linreg_normal_cuda(X, Y, n, d, t, center ? xm : NULL, center ? ym : NULL, sw, g32,
                                            g32 + d * d, &m->mem);
                for (int64_t k = 0; s == MFS_OK && k < d * d; k++) G[k] = g32[k];
                for (int64_t k = 0; s == MFS_OK && k < d * t; k++) c[k] = g32[d * d + k];
                mfs__free(g32);
            }
        } else {
            s = mfs__centered_cross(X, Y, n, d, t, center ? xm : NULL, center ? ym : NULL, sw, G, c);
        }
        if (s != MFS_OK) goto done;
        /* The Gram's float32 blocks overflow for values near float32's limit
         * (y ~ 1e37 made X^T y infinite, and the coefficients inf/NaN with
         * MFS_OK): the double QR path has no such limit */
        int finite = 1;
        for (int64_t k = 0; k < d * d; k++) finite &= isfinite(G[k]) != 0;
        for (int64_t k = 0; k < d * t; k++) finite &= isfinite(c[k]) != 0;
        if (!finite) {
            if (p->solver == MFS_LINEAR_REGRESSION_SOLVER_CHOLESKY) {
                s = mfs__error(MFS_E_VALUE, "%s: X^T X or X^T y overflows float32 (values near 3.4e38); use solver auto or qr", FIT);
                goto done;
            }
            goto precise;
        }
        /* Equilibrate: with D = sqrt(diag G), solve (D^-1 G D^-1 + alpha D^-2) v = D^-1 c
         * and w = D^-1 v. Features in different units (1e-3 next to 1e3) then do
         * not read as ill-conditioning; only real collinearity does. */
        for (int64_t j = 0; j < d; j++) sc[j] = G[j * d + j] > 0 ? 1.0 / sqrt(G[j * d + j]) : 1.0;
        for (int64_t i = 0; i < d; i++)
            for (int64_t j = 0; j < d; j++) L[i * d + j] = G[i * d + j] * sc[i] * sc[j];
        for (int64_t j = 0; j < d; j++) L[j * d + j] += p->alpha * sc[j] * sc[j];
        if (mfs__cholesky(L, d) == MFS_OK) {
            /* cond(G) ~ (max Ljj / min Ljj)^2; the float32 Gram carries ~1e-6
             * relative error, so beyond cond 1e4 the answer loses float32 accuracy */
            double lo = INFINITY, hi = 0;
            for (int64_t j = 0; j < d; j++) {
                double v = fabs(L[j * d + j]);
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
            double cond = (hi / lo) * (hi / lo);
            if (p->solver == MFS_LINEAR_REGRESSION_SOLVER_CHOLESKY && cond > 1e7) {
                /* beyond 1/eps32 the pivots are rounding noise: numerically singular */
                s = mfs__error(MFS_E_VALUE, "%s: X^T X + alpha I is numerically singular (condition ~%.1e); use solver auto or qr", FIT, cond);
                goto done;
            }
            if (p->solver == MFS_LINEAR_REGRESSION_SOLVER_CHOLESKY || cond < 1e4) {
                for (int64_t i = 0; i < d; i++)
                    for (int64_t j = 0; j < t; j++) w[i * t + j] = c[i * t + j] * sc[i];
                mfs__cholesky_solve(L, d, w, t);
                for (int64_t i = 0; i < d; i++)
                    for (int64_t j = 0; j < t; j++) w[i * t + j] *= sc[i];
                solved = 1;
            }
        } else if (p->solver == MFS_LINEAR_REGRESSION_SOLVER_CHOLESKY) {
            s = mfs__error(MFS_E_VALUE, "%s: X^T X + alpha I is singular (rank-deficient X); use solver auto or qr", FIT);
            goto done;
        }
    }
precise:
    if (!solved) {
        s = solve_precise(X, Y, n, d, t, center ? xm : NULL, center ? ym : NULL, sw, p->alpha, w, &rank);
        if (s != MFS_OK) goto done;
    }
    {
        /* coef (t, d) from w (d, t); 1-D y gives coef (d,) and intercept () */
        int64_t cshape[2] = {t, d}, ishape[1] = {t};
        int ndim_y = ya->ndim;
        float *coef, *icpt;
        int32_t *rk;
        s = ndim_y == 1 ? mfs__array_new(m, "coef", MFS_DTYPE_FLOAT32, 1, &cshape[1], (void **)&coef)
                        : mfs__array_new(m, "coef", MFS_DTYPE_FLOAT32, 2, cshape, (void **)&coef);
        if (s == MFS_OK) s = mfs__array_new(m, "intercept", MFS_DTYPE_FLOAT32, ndim_y == 1 ? 0 : 1, ishape, (void **)&icpt);
        if (s == MFS_OK) s = mfs__array_new(m, "rank", MFS_DTYPE_INT32, 0, NULL, (void **)&rk);
        if (s != MFS_OK) goto done;
        /* the model stores float32: a solution beyond its range is an error, not inf */
        for (int64_t k = 0; k < d * t; k++)
            if (!(fabs(w[k]) <= 3.4028234663852886e38)) {
                s = mfs__error(MFS_E_VALUE, "%s: a coefficient is %g, beyond float32's range (3.4e38), in which the model is stored; scale X or y", FIT, w[k]);
                goto done;
            }
        for (int64_t j = 0; j < t; j++) {
            double b = center ? ym[j] : 0.0;
            for (int64_t i = 0; i < d; i++) {
                coef[j * d + i] = (float)w[i * t + j];
                b -= xm[i] * w[i * t + j];
            }
            icpt[j] = center ? (float)b : 0.0f;
            if (!isfinite(icpt[j])) {
                s = mfs__error(MFS_E_VALUE, "%s: the intercept is %g, beyond float32's range (3.4e38), in which the model is stored; scale X or y", FIT, b);
                goto done;
            }
        }
        *rk = (int32_t)rank;
    }
done:
    mfs__free(xm);
    mfs__free(sw);
    return s;
}

static int64_t n_targets(const mfs_model *m) {
    const mfs_tensor *c = mfs__array_find(m, "coef");
    return c->ndim == 1 ? 1 : c->shape[0];
}

typedef struct {
    const float *X, *W, *b;
    float *o;
    int64_t d, t;
} predict_ctx;

/* rows [r0, r1): o = b + X W^T (a dot product per row and target for a few
 * targets, sgemm's path for them) */
static mfs_status predict_block(void *c, int64_t r0, int64_t r1, int thread) {
    const predict_ctx *p = (const predict_ctx *)c;
    (void)thread;
    for (int64_t i = r0; i < r1; i++)
        for (int64_t j = 0; j < p->t; j++) p->o[i * p->t + j] = p->b[j];
    return mfs__sgemm(0, 1, r1 - r0, p->t, p->d, 1.0f, p->X + r0 * p->d, p->d, p->W, p->d, 1.0f,
                      p->o + r0 * p->t, p->t);
}

static mfs_status predict(const mfs_model *m, const mfs_array *Xa, mfs_array *out) {
    const mfs_tensor *coef = mfs__array_find(m, "coef"), *icpt = mfs__array_find(m, "intercept");
    int64_t n = Xa->shape[0], d = Xa->shape[1], t = n_targets(m);
    const float *X = (const float *)Xa->data;
    float *o = (float *)out->data, *b = (float *)icpt->data;
    if (m->device == MFS_DEVICE_CUDA) { /* X was checked before the call (device_checks_finite is 0) */
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < t; j++) o[i * t + j] = b[j];
        return mfs_sgemm_cuda(0, 1, n, t, d, 1.0f, X, d, (const float *)coef->data, d, 1.0f, o, t);
    }
    /* the CPU checks X block by block as it reads it: one pass over X, not two */
    predict_ctx c = {X, (const float *)coef->data, b, o, d, t};
    return mfs__row_blocks_checked("mfs_predict", "X", X, n, d, mfs__check_block_rows(d), predict_block, &c);
}

static mfs_status output_shape(const mfs_model *m, mfs_method method, int64_t rows,
                               mfs_dtype *dtype, int32_t *ndim, int64_t *shape) {
    if (method != MFS_METHOD_PREDICT)
        return mfs__error(MFS_E_UNSUPPORTED, "mfs_output_shape: linear_regression only predicts");
    const mfs_tensor *c = mfs__array_find(m, "coef");
    *dtype = MFS_DTYPE_FLOAT32;
    *ndim = c->ndim;
    shape[0] = rows;
    if (c->ndim == 2) shape[1] = c->shape[0];
    return MFS_OK;
}

static mfs_status check_state(const mfs_model *m) {
    const mfs_tensor *c = mfs__array_find(m, "coef"), *b = mfs__array_find(m, "intercept");
    if (!c || c->dtype != MFS_DTYPE_FLOAT32 || (c->ndim != 1 && c->ndim != 2))
        return mfs__error(MFS_E_FORMAT, "linear_regression: 'coef' missing or not a float32 vector/matrix");
    int64_t d = c->shape[c->ndim - 1], t = c->ndim == 1 ? 1 : c->shape[0];
    if (d != m->n_features_in || t < 1)
        return mfs__error(MFS_E_FORMAT, "linear_regression: 'coef' has %lld features, the model %lld",
                          (long long)d, (long long)m->n_features_in);
    if (!b || b->dtype != MFS_DTYPE_FLOAT32 || b->ndim != c->ndim - 1 || (b->ndim == 1 && b->shape[0] != t))
        return mfs__error(MFS_E_FORMAT, "linear_regression: 'intercept' does not match 'coef'");
    return MFS_OK;
}

const mfs_model_vtable mfs__linear_regression_vtable = {
    .kind = MFS_MODEL_LINEAR_REGRESSION,
    .name = "linear_regression",
    .params_size = sizeof(mfs_linear_regression_params),
    .supervised = 1,
    .check_params = check_params,
    .fit = fit,
    .predict = predict,
    .output_shape = output_shape,
    .check_state = check_state,
    .host_checks_finite = 1, /* predict checks X per block of rows */
};
