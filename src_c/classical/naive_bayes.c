/* Naive Bayes: Gaussian, multinomial and Bernoulli, from streaming sufficient
 * statistics (scikit-learn's GaussianNB / MultinomialNB / BernoulliNB).
 *
 * Letters: n rows of a training batch, d features, K classes, m rows to
 * predict, B rows of a predict block, kw columns of the GEMM operands.
 *
 * Fit is a reset plus one partial_fit. Each batch adds to per-class statistics
 * kept in double: discrete models add feature_count += Y^T X (one pass, rows
 * scattered to their class row); the Gaussian merges the batch's per-class mean
 * and squared deviations into the running ones with the exact update of Chan,
 * Golub & LeVeque, epsilon (var_smoothing * the batch's largest feature
 * variance) handled exactly as scikit-learn does (taken out of var_ before the
 * merge, the new one put back after). Threads split the feature columns, so the
 * statistics have the same bits for every thread count.
 *
 * Predict computes the joint log-likelihood jll (m, K) block by block and turns
 * it into argmax / log-softmax / softmax in log space (logsumexp with the row
 * maximum factored out: no underflow however many features):
 *  - discrete: jll = A W^T + b, A = X (multinomial) or X > binarize (Bernoulli),
 *    W the log-probabilities centered over classes per feature (the dropped term
 *    sum_j x_j mean_k W_kj is the same for every class and cancels in the
 *    softmax; centering shrinks the float32 terms the GEMM sums), summed in
 *    float32 GEMM chunks of NB_KCHUNK features and in double across chunks;
 *  - Gaussian: sum_j (x_j - mu_kj)^2 / var_kj = x'^2 . (1/var) - 2 x' . (mu'/var)
 *    + const with x' = x - c, mu' = mu - c (c: the mean of the training data),
 *    one GEMM over [x', x'^2] for the features where that expansion is accurate
 *    in float32 (every class's (mu' )^2 / var <= NB_KAPPA_MAX), and the exact
 *    difference in double for the others (a class with a near-constant feature
 *    has var ~ epsilon and the expansion would cancel catastrophically: see
 *    docs/models/naive_bayes.md and dev/naive_bayes/precision_experiment.py). */
#include <math.h>
#include <string.h>
#include "core/internal.h"
#include "linalg/linalg.h"
#include "mfs/naive_bayes.h"
#include "src_cuda/cuda_api.h"
#ifdef _OPENMP
#include <omp.h>
#endif

enum {
    NB_BLOCK = 512,   /* rows per predict block: the unit of parallel work */
    NB_KCHUNK = 256   /* GEMM columns summed in float32 before a double add */
};
/* Gaussian features with max_k (mu_kj - c_j)^2 / var_kj above this bypass the
 * GEMM: the expansion's float32 cancellation error grows with it (dev/naive_bayes). */
static const double NB_KAPPA_MAX = 10.0;
static const double NB_TWO_PI = 6.283185307179586476925286766559;

typedef mfs_naive_bayes_params nb_params;

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

void mfs_naive_bayes_params_default(mfs_naive_bayes_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->variant = MFS_NAIVE_BAYES_VARIANT_GAUSSIAN;
    p->n_classes = 0;
    p->var_smoothing = 1e-9;
    p->alpha = 1.0;
    p->fit_prior = 1;
    p->binarize = 0.0;
}

static mfs_status check_params(const void *params) {
    const nb_params *p = (const nb_params *)params;
    static const char fn[] = "mfs_model_create";
    if (p->variant < MFS_NAIVE_BAYES_VARIANT_GAUSSIAN || p->variant > MFS_NAIVE_BAYES_VARIANT_BERNOULLI)
        return mfs__error(MFS_E_INVALID_ARG, "%s: variant is %d, expected 0 (gaussian), 1 (multinomial) or 2 (bernoulli)",
                          fn, (int)p->variant);
    if (p->n_classes < 0)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_classes is %d, expected >= 1 (or 0: from the labels)", fn,
                          (int)p->n_classes);
    if (!(p->var_smoothing >= 0.0) || !isfinite(p->var_smoothing))
        return mfs__error(MFS_E_INVALID_ARG, "%s: var_smoothing is %g, it must be a finite number >= 0", fn,
                          p->var_smoothing);
    if (!(p->alpha >= 0.0) || !isfinite(p->alpha))
        return mfs__error(MFS_E_INVALID_ARG, "%s: alpha is %g, it must be a finite number >= 0", fn, p->alpha);
    if (p->fit_prior != 0 && p->fit_prior != 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: fit_prior is %d, expected 0 or 1", fn, (int)p->fit_prior);
    if (!isnan(p->binarize) && !(p->binarize >= 0.0 && isfinite(p->binarize)))
        return mfs__error(MFS_E_INVALID_ARG, "%s: binarize is %g, it must be a finite number >= 0 or NaN (None)", fn,
                          p->binarize);
    return MFS_OK;
}

mfs_status mfs_naive_bayes_create(const mfs_naive_bayes_params *params, mfs_device device, mfs_model **out) {
    return mfs__model_new("mfs_naive_bayes_create", MFS_MODEL_NAIVE_BAYES, params, sizeof *params, device, out);
}

static int is_gaussian(const nb_params *p) { return p->variant == MFS_NAIVE_BAYES_VARIANT_GAUSSIAN; }

/* Number of classes of a fitted model (rows of class_count). */
static int64_t n_classes_of(const mfs_model *m) {
    const mfs_tensor *t = mfs__array_find(m, "class_count");
    return t ? t->shape[0] : 0;
}

/* The optional "class_prior" input: (K,) finite, >= 0, summing to 1 (within
 * numpy's isclose tolerance, as scikit-learn checks). */
static mfs_status read_prior(const mfs_model *m, const char *fn, int64_t K, double *prior, int *given) {
    const mfs_tensor *t = mfs__input_find(m, "class_prior");
    *given = 0;
    if (!t) return MFS_OK;
    if ((t->dtype != MFS_DTYPE_FLOAT32 && t->dtype != MFS_DTYPE_FLOAT64) || t->ndim != 1)
        return mfs__error(MFS_E_SHAPE, "%s: class_prior must be a float32 or float64 vector, got a %d-D array of dtype %d",
                          fn, (int)t->ndim, (int)t->dtype);
    if (t->shape[0] != K)
        return mfs__error(MFS_E_SHAPE, "%s: class_prior has %lld values, the model has %lld classes", fn,
                          (long long)t->shape[0], (long long)K);
    double sum = 0;
    for (int64_t k = 0; k < K; k++) {
        double v = t->dtype == MFS_DTYPE_FLOAT32 ? (double)((const float *)t->data)[k] : ((const double *)t->data)[k];
        if (!(v >= 0) || !isfinite(v))
            return mfs__error(MFS_E_VALUE, "%s: class_prior[%lld] = %g, priors must be finite and >= 0", fn,
                              (long long)k, v);
        prior[k] = v;
        sum += v;
    }
    if (!(fabs(sum - 1.0) <= 1e-8 + 1e-5))
        return mfs__error(MFS_E_VALUE, "%s: class_prior sums to %.10g, it must sum to 1", fn, sum);
    *given = 1;
    return MFS_OK;
}

/* Threads for a pass over n x d values split by columns. */
static int column_threads(int64_t n, int64_t d) {
    int nt = mfs__num_threads();
    if (n * d < (1 << 16)) nt = 1;
    if (nt > d) nt = (int)d;
    return nt < 1 ? 1 : nt;
}

/* Per-class count nk (K), mean (K, d) and sum of squared deviations m2 (K, d)
 * of one batch: two passes in double, threads split the columns. With sample
 * weights w (NULL: all 1) these are the weighted ones: nk = sum w_i, mean =
 * sum w_i x_i / nk, m2 = sum w_i (x_i - mean)^2 (scikit-learn's np.average). */
static void gaussian_batch(const float *X, const int32_t *y, const double *w, int64_t n, int64_t d, int64_t K,
                           double *nk, double *mean, double *m2) {
    memset(nk, 0, (size_t)K * sizeof(double));
    memset(mean, 0, (size_t)(K * d) * sizeof(double));
    memset(m2, 0, (size_t)(K * d) * sizeof(double));
    for (int64_t i = 0; i < n; i++) nk[y[i]] += w ? w[i] : 1.0;
    const int nt = column_threads(n, d);
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int t = nt > 1 ? thread_id() : 0, T = nt > 1 ? team_size() : 1;
        const int64_t j0 = d * t / T, j1 = d * (t + 1) / T;
        for (int64_t i = 0; i < n; i++) {
            const float *x = X + i * d;
            double *s = mean + (int64_t)y[i] * d;
            if (w) {
                const double wi = w[i];
                for (int64_t j = j0; j < j1; j++) s[j] += wi * (double)x[j];
            } else {
                for (int64_t j = j0; j < j1; j++) s[j] += x[j];
            }
        }
        for (int64_t k = 0; k < K; k++)
            if (nk[k] > 0)
                for (int64_t j = j0; j < j1; j++) mean[k * d + j] /= nk[k];
        for (int64_t i = 0; i < n; i++) {
            const float *x = X + i * d;
            const double *mu = mean + (int64_t)y[i] * d;
            double *q = m2 + (int64_t)y[i] * d;
            const double wi = w ? w[i] : 1.0;
            for (int64_t j = j0; j < j1; j++) {
                const double e = (double)x[j] - mu[j];
                q[j] += wi * (e * e);
            }
        }
    }
}

/* max_j of the unweighted variance of column j of X (np.var(X, axis=0).max()),
 * two passes in double, threads split the columns. scikit-learn's epsilon
 * ignores sample weights, so the weighted per-class statistics cannot give it. */
static double column_var_max(const float *X, int64_t n, int64_t d) {
    double vmax = 0;
    const int nt = column_threads(n, d);
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int t = nt > 1 ? thread_id() : 0, T = nt > 1 ? team_size() : 1;
        const int64_t j0 = d * t / T, j1 = d * (t + 1) / T;
        double mine = 0;
        for (int64_t j = j0; j < j1; j++) {
            double mu = 0, q = 0;
            for (int64_t i = 0; i < n; i++) mu += X[i * d + j];
            mu /= (double)n;
            for (int64_t i = 0; i < n; i++) {
                const double e = (double)X[i * d + j] - mu;
                q += e * e;
            }
            if (q / (double)n > mine) mine = q / (double)n;
        }
#pragma omp critical(nb_var_max)
        if (mine > vmax) vmax = mine;
    }
    return vmax;
}

/* Fetch (first == 0) or create (first == 1) a fitted float64 array. */
static mfs_status state_array(mfs_model *m, int first, const char *name, int32_t ndim, int64_t K, int64_t d,
                              double **out) {
    int64_t shape[2] = {K, d};
    if (ndim == 0) shape[0] = 0;
    if (first) return mfs__array_new(m, name, MFS_DTYPE_FLOAT64, ndim, shape, (void **)out);
    mfs_tensor *t = mfs__array_find(m, name);
    if (!t || t->dtype != MFS_DTYPE_FLOAT64 || t->ndim != ndim)
        return mfs__error(MFS_E_INTERNAL, "naive_bayes: the fitted array '%s' is missing", name);
    *out = (double *)t->data;
    return MFS_OK;
}

static mfs_status gaussian_update(mfs_model *m, const char *fn, const float *X, const int32_t *y, const double *w,
                                  int64_t n, int64_t d, int64_t K, int first) {
    const nb_params *p = (const nb_params *)m->params;
    double *nk = NULL;
    MFS_TRY(mfs__alloc((void **)&nk, (size_t)(2 * K + 2 * K * d) * sizeof(double), fn, "the batch statistics"));
    double *prior = nk + K, *mean = prior + K, *m2 = mean + K * d;
    int given = 0;
    mfs_status s = read_prior(m, fn, K, prior, &given);
    if (s != MFS_OK) goto done;
    gaussian_batch(X, y, w, n, d, K, nk, mean, m2);
    /* epsilon from the batch's variance per feature (np.var(X, axis=0), without
     * the weights, as scikit-learn). Unweighted, the per-class statistics give it
     * exactly: M2 = sum_k M2_k + n_k (mu_k - mu)^2 */
    double vmax = w ? column_var_max(X, n, d) : 0;
    for (int64_t j = 0; j < d && !w; j++) {
        double mu = 0, q = 0;
        for (int64_t k = 0; k < K; k++) mu += nk[k] * mean[k * d + j];
        mu /= (double)n;
        for (int64_t k = 0; k < K; k++) {
            const double e = mean[k * d + j] - mu;
            q += m2[k * d + j] + nk[k] * e * e;
        }
        if (q / (double)n > vmax) vmax = q / (double)n;
    }
    const double eps = p->var_smoothing * vmax;
    double *theta, *var, *cc, *cp, *epsilon;
    if ((s = state_array(m, first, "theta", 2, K, d, &theta)) != MFS_OK ||
        (s = state_array(m, first, "var", 2, K, d, &var)) != MFS_OK ||
        (s = state_array(m, first, "class_count", 1, K, 0, &cc)) != MFS_OK ||
        (s = state_array(m, first, "class_prior", 1, K, 0, &cp)) != MFS_OK ||
        (s = state_array(m, first, "epsilon", 0, 0, 0, &epsilon)) != MFS_OK)
        goto done;
    if (!first)
        for (int64_t q = 0; q < K * d; q++) var[q] -= eps; /* as scikit-learn: the new epsilon */
    for (int64_t k = 0; k < K; k++) {
        /* scikit-learn's _update_mean_variance leaves mean and variance as they
         * are when the batch's weight of the class is np.isclose to 0 (<= 1e-8),
         * but still adds that weight to class_count_ */
        if (nk[k] <= 1e-8) {
            cc[k] += nk[k];
            continue;
        }
        double *mu = theta + k * d, *v = var + k * d;
        const double *bm = mean + k * d, *bq = m2 + k * d;
        const double np_ = cc[k], nn = nk[k];
        if (np_ == 0) {
            for (int64_t j = 0; j < d; j++) {
                mu[j] = bm[j];
                v[j] = bq[j] / nn;
            }
        } else {
            const double nt = np_ + nn, w = nn * np_ / nt;
            for (int64_t j = 0; j < d; j++) {
                const double e = mu[j] - bm[j];
                const double ssd = np_ * v[j] + bq[j] + w * e * e;
                mu[j] = (nn * bm[j] + np_ * mu[j]) / nt;
                v[j] = ssd / nt;
            }
        }
        cc[k] += nn;
    }
    for (int64_t q = 0; q < K * d; q++) var[q] += eps;
    *epsilon = eps;
    double total = 0;
    for (int64_t k = 0; k < K; k++) total += cc[k];
    for (int64_t k = 0; k < K; k++) cp[k] = given ? prior[k] : cc[k] / total;
done:
    mfs__free(nk);
    return s;
}

static mfs_status discrete_update(mfs_model *m, const char *fn, const float *X, const int32_t *y, const double *w,
                                  int64_t n, int64_t d, int64_t K, int first) {
    const nb_params *p = (const nb_params *)m->params;
    const int bern = p->variant == MFS_NAIVE_BAYES_VARIANT_BERNOULLI;
    const int binarize = bern && !isnan(p->binarize);
    const float thr = (float)p->binarize;
    if (!bern) {
        for (int64_t q = 0; q < n * d; q++)
            if (X[q] < 0)
                return mfs__error(MFS_E_VALUE, "%s: Negative values in data: X[%lld, %lld] = %g, but MultinomialNB needs counts >= 0", fn,
                                  (long long)(q / d), (long long)(q % d), (double)X[q]);
    }
    double *prior = NULL;
    MFS_TRY(mfs__alloc((void **)&prior, (size_t)K * sizeof(double), fn, "class_prior"));
    int given = 0;
    mfs_status s = read_prior(m, fn, K, prior, &given);
    double *fc, *cc, *flp, *clp;
    if (s != MFS_OK ||
        (s = state_array(m, first, "feature_count", 2, K, d, &fc)) != MFS_OK ||
        (s = state_array(m, first, "class_count", 1, K, 0, &cc)) != MFS_OK ||
        (s = state_array(m, first, "feature_log_prob", 2, K, d, &flp)) != MFS_OK ||
        (s = state_array(m, first, "class_log_prior", 1, K, 0, &clp)) != MFS_OK)
        goto done;
    /* weighted counts: class_count += sum w_i, feature_count += sum w_i x_i
     * (x binarized for Bernoulli), scikit-learn's Y *= sample_weight */
    for (int64_t i = 0; i < n; i++) cc[y[i]] += w ? w[i] : 1.0;
    {
        const int nt = column_threads(n, d);
#pragma omp parallel num_threads(nt) if (nt > 1)
        {
            const int t = nt > 1 ? thread_id() : 0, T = nt > 1 ? team_size() : 1;
            const int64_t j0 = d * t / T, j1 = d * (t + 1) / T;
            for (int64_t i = 0; i < n; i++) {
                const float *x = X + i * d;
                double *f = fc + (int64_t)y[i] * d;
                if (w) {
                    const double wi = w[i];
                    if (binarize)
                        for (int64_t j = j0; j < j1; j++) f[j] += x[j] > thr ? wi : 0.0;
                    else
                        for (int64_t j = j0; j < j1; j++) f[j] += wi * (double)x[j];
                } else if (binarize) {
                    for (int64_t j = j0; j < j1; j++) f[j] += x[j] > thr ? 1.0 : 0.0;
                } else {
                    for (int64_t j = j0; j < j1; j++) f[j] += x[j];
                }
            }
        }
    }
    /* smoothed log-probabilities, recomputed from the counts after every batch */
    const double a = p->alpha;
    double total = 0;
    for (int64_t k = 0; k < K; k++) {
        const double *f = fc + k * d;
        double *l = flp + k * d;
        double denom = 0;
        if (bern) {
            denom = cc[k] + 2.0 * a;
        } else {
            for (int64_t j = 0; j < d; j++) denom += f[j] + a;
        }
        const double ld = log(denom);
        for (int64_t j = 0; j < d; j++) l[j] = log(f[j] + a) - ld;
        total += cc[k];
    }
    for (int64_t k = 0; k < K; k++) {
        if (given) clp[k] = log(prior[k]);
        else if (p->fit_prior) clp[k] = log(cc[k]) - log(total); /* -inf for a class not seen yet, as sklearn */
        else clp[k] = -log((double)K);
    }
done:
    mfs__free(prior);
    return s;
}

/* fit and partial_fit: validate labels and the optional "sample_weight" input
 * (n, finite, >= 0), then fold the batch into the statistics. Nothing is
 * changed before every check has passed. */
static mfs_status update(mfs_model *m, const char *fn, const mfs_array *Xa, const mfs_array *ya) {
    const nb_params *p = (const nb_params *)m->params;
    const int64_t n = Xa->shape[0], d = Xa->shape[1];
    const int first = !m->fitted;
    int64_t K = first ? p->n_classes : n_classes_of(m);
    if (K == 0) {
        /* classes from this first batch: max label + 1 */
        MFS_TRY(mfs__check_labels(fn, ya, n, INT32_MAX));
        const int32_t *v = (const int32_t *)ya->data;
        for (int64_t i = 0; i < n; i++)
            if (v[i] + 1 > K) K = v[i] + 1;
    }
    MFS_TRY(mfs__check_labels(fn, ya, n, (int32_t)K));
    const float *X = (const float *)Xa->data;
    const int32_t *y = (const int32_t *)ya->data;
    double *w = NULL;
    mfs_status s = MFS_OK;
    if (mfs__input_find(m, "sample_weight")) {
        MFS_TRY(mfs__alloc((void **)&w, (size_t)(n > 0 ? n : 1) * sizeof(double), fn, "sample_weight"));
        s = mfs__input_weights(m, fn, "sample_weight", n, 0, "rows of X", w, NULL);
        if (s == MFS_OK) {
            /* the class counts must not all be 0 afterwards: priors from them */
            double total = 0;
            for (int64_t i = 0; i < n; i++) total += w[i];
            const mfs_tensor *cc = first ? NULL : mfs__array_find(m, "class_count");
            if (cc && cc->dtype == MFS_DTYPE_FLOAT64)
                for (int64_t k = 0; k < cc->shape[0]; k++) total += ((const double *)cc->data)[k];
            if (!(total > 0))
                s = mfs__error(MFS_E_VALUE, "%s: sample weights sum to zero (and so would every class count)", fn);
        }
    }
    if (s == MFS_OK)
        s = is_gaussian(p) ? gaussian_update(m, fn, X, y, w, n, d, K, first)
                           : discrete_update(m, fn, X, y, w, n, d, K, first);
    mfs__free(w);
    return s;
}

static mfs_status fit(mfs_model *m, const mfs_array *X, const mfs_array *y) {
    return update(m, "mfs_fit", X, y); /* the generic layer has cleared the state */
}

static mfs_status partial_fit(mfs_model *m, const mfs_array *X, const mfs_array *y) {
    return update(m, "mfs_partial_fit", X, y);
}

/* ---- prediction ------------------------------------------------------------ */

/* What predict needs, derived from the fitted state once per call (K x d work,
 * so that the handle holds no scratch and predict stays reentrant). */
typedef struct nb_plan {
    int64_t K, d;
    int variant, binarize;
    float thr;
    int64_t kw;        /* columns of A and W: d (discrete), 2 ng (Gaussian) */
    float *W;          /* (K, kw) */
    double *bias;      /* (K) */
    /* Gaussian only */
    int64_t ng, nd;    /* features through the GEMM / through the exact path */
    int64_t *gidx, *didx;
    double *c;         /* Gaussian: (ng) centers of the GEMM features; discrete: (d) the
                          per-feature mean over classes taken out of W */
    double *theta_d;   /* (K, nd) */
    double *prec_d;    /* (K, nd) 1 / var */
    /* the rounding guard of the GEMM part: |A| |W2|^T + bias2 bounds the sum of
     * the absolute terms; rows whose probabilities it could move are redone exactly */
    float *W2;         /* (K, kw): [2 |mu'| / var, 1 / var] */
    double *bias2;     /* (K): sum_G mu'^2 / var */
    double *bias_full; /* (K): log prior - 0.5 sum_j log(2 pi var) */
    const double *theta, *var; /* the fitted state (K, d), read only */
    void *mem;
} nb_plan;

static void plan_free(nb_plan *pl) { mfs__free(pl->mem); }

static mfs_status plan_make(const mfs_model *m, const char *fn, nb_plan *pl) {
    const nb_params *p = (const nb_params *)m->params;
    memset(pl, 0, sizeof *pl);
    const int64_t K = n_classes_of(m), d = m->n_features_in;
    pl->K = K;
    pl->d = d;
    pl->variant = p->variant;
    pl->binarize = p->variant == MFS_NAIVE_BAYES_VARIANT_BERNOULLI && !isnan(p->binarize);
    pl->thr = (float)p->binarize;
    const int gauss = is_gaussian(p);
    /* one allocation: W (K, 2d) floats, bias K, c d, theta_d/prec_d (K, d), idx 2d */
    size_t bytes = (size_t)(4 * K * d) * sizeof(float) + (size_t)(3 * K + d + 2 * K * d) * sizeof(double) +
                   (size_t)(2 * d) * sizeof(int64_t);
    MFS_TRY(mfs__alloc(&pl->mem, bytes, fn, "the prediction weights"));
    char *b = (char *)pl->mem;
    pl->bias = (double *)b; b += (size_t)K * sizeof(double);
    pl->bias2 = (double *)b; b += (size_t)K * sizeof(double);
    pl->bias_full = (double *)b; b += (size_t)K * sizeof(double);
    pl->c = (double *)b; b += (size_t)d * sizeof(double);
    pl->theta_d = (double *)b; b += (size_t)(K * d) * sizeof(double);
    pl->prec_d = (double *)b; b += (size_t)(K * d) * sizeof(double);
    pl->gidx = (int64_t *)b; b += (size_t)d * sizeof(int64_t);
    pl->didx = (int64_t *)b; b += (size_t)d * sizeof(int64_t);
    pl->W = (float *)b; b += (size_t)(2 * K * d) * sizeof(float);
    pl->W2 = (float *)b;
    if (!gauss) {
        const double *flp = (const double *)mfs__array_find(m, "feature_log_prob")->data;
        const double *clp = (const double *)mfs__array_find(m, "class_log_prior")->data;
        const int bern = p->variant == MFS_NAIVE_BAYES_VARIANT_BERNOULLI;
        pl->kw = d;
        double *v = pl->theta_d; /* scratch (K, d): the uncentered weights */
        for (int64_t k = 0; k < K; k++) {
            double negsum = 0;
            for (int64_t j = 0; j < d; j++) {
                const double l = flp[k * d + j];
                if (bern) {
                    const double neg = log1p(-exp(l)); /* log(1 - P(x_j = 1)) */
                    v[k * d + j] = l - neg;
                    negsum += neg;
                } else {
                    v[k * d + j] = l;
                }
            }
            pl->bias[k] = clp[k] + negsum;
        }
        for (int64_t j = 0; j < d; j++) {
            double mean = 0;
            for (int64_t k = 0; k < K; k++) mean += v[k * d + j];
            mean /= (double)K;
            if (!isfinite(mean)) mean = 0; /* alpha = 0 and a zero count: keep -inf as is */
            pl->c[j] = mean; /* the dropped term's weight, for the joint log-likelihood itself */
            for (int64_t k = 0; k < K; k++) pl->W[k * d + j] = (float)(v[k * d + j] - mean);
        }
        return MFS_OK;
    }
    const double *theta = (const double *)mfs__array_find(m, "theta")->data;
    const double *var = (const double *)mfs__array_find(m, "var")->data;
    pl->theta = theta;
    pl->var = var;
    const double *cc = (const double *)mfs__array_find(m, "class_count")->data;
    const double *cp = (const double *)mfs__array_find(m, "class_prior")->data;
    double total = 0;
    for (int64_t k = 0; k < K; k++) total += cc[k];
    for (int64_t k = 0; k < K; k++) {
        double ls = 0;
        for (int64_t j = 0; j < d; j++) ls += log(NB_TWO_PI * var[k * d + j]);
        pl->bias[k] = log(cp[k]) - 0.5 * ls;
        pl->bias_full[k] = pl->bias[k];
    }
    if (m->device == MFS_DEVICE_CUDA) { /* the GPU computes every feature exactly */
        pl->nd = d;
        for (int64_t q = 0; q < K * d; q++) {
            pl->theta_d[q] = theta[q];
            pl->prec_d[q] = 1.0 / var[q];
        }
        return MFS_OK;
    }
    /* c: the mean of the training data (class means weighted by counts) */
    for (int64_t j = 0; j < d; j++) {
        double c = 0;
        if (total > 0)
            for (int64_t k = 0; k < K; k++) c += cc[k] * theta[k * d + j];
        c = total > 0 ? c / total : 0;
        double kappa = 0;
        for (int64_t k = 0; k < K; k++) {
            const double e = theta[k * d + j] - c, r = e * e / var[k * d + j];
            if (!(r <= kappa)) kappa = r; /* NaN (var 0) counts as large */
        }
        if (kappa <= NB_KAPPA_MAX) {
            pl->c[pl->ng] = c;
            pl->gidx[pl->ng++] = j;
        } else {
            pl->didx[pl->nd++] = j;
        }
    }
    pl->kw = 2 * pl->ng;
    for (int64_t k = 0; k < K; k++) {
        double cst = 0;
        for (int64_t g = 0; g < pl->ng; g++) {
            const int64_t j = pl->gidx[g];
            const double prec = 1.0 / var[k * d + j], mu = theta[k * d + j] - pl->c[g];
            pl->W[k * pl->kw + g] = (float)(mu * prec);
            pl->W[k * pl->kw + pl->ng + g] = (float)(-0.5 * prec);
            pl->W2[k * pl->kw + g] = (float)(2.0 * fabs(mu) * prec);
            pl->W2[k * pl->kw + pl->ng + g] = (float)prec;
            cst += mu * mu * prec;
        }
        pl->bias[k] -= 0.5 * cst;
        pl->bias2[k] = cst;
        for (int64_t q = 0; q < pl->nd; q++) {
            const int64_t j = pl->didx[q];
            pl->theta_d[k * pl->nd + q] = theta[k * d + j];
            pl->prec_d[k * pl->nd + q] = 1.0 / var[k * d + j];
        }
    }
    return MFS_OK;
}

/* sum over chunks of op(A) W^T for A (B, kw) (row stride lda), W (K, kw):
 * float32 GEMM per NB_KCHUNK columns, added into acc (B, K) in double. */
static mfs_status gemm_chunks(const float *A, int64_t lda, const float *W, int64_t B, int64_t K, int64_t kw,
                              float *tmp, double *acc) {
    for (int64_t k0 = 0; k0 < kw; k0 += NB_KCHUNK) {
        const int64_t kc = kw - k0 < NB_KCHUNK ? kw - k0 : NB_KCHUNK;
        MFS_TRY(mfs__sgemm(0, 1, B, K, kc, 1.0f, A + k0, lda, W + k0, kw, 0.0f, tmp, K));
        for (int64_t q = 0; q < B * K; q++) acc[q] += tmp[q];
    }
    return MFS_OK;
}

/* The exact Gaussian jll of one row x (d) over every feature, in double. */
static void gaussian_row_exact(const nb_plan *pl, const float *x, double *jll) {
    const int64_t d = pl->d;
    for (int64_t k = 0; k < pl->K; k++) {
        const double *th = pl->theta + k * d, *v = pl->var + k * d;
        double s = 0;
        for (int64_t j = 0; j < d; j++) {
            const double e = (double)x[j] - th[j];
            s += e * e / v[j];
        }
        jll[k] = pl->bias_full[k] - 0.5 * s;
    }
}

/* Could the float32 rounding of the GEMM part, estimated as 2^-22 times the sum
 * of the absolute terms (err), move a probability of this row by 1e-6? With
 * p the softmax and t its argmax, dp_k = p_k (e_k - sum_l p_l e_l). */
static int gaussian_row_needs_exact(const double *jll, const double *err, int64_t K) {
    int64_t t = 0;
    for (int64_t k = 1; k < K; k++)
        if (jll[k] > jll[t]) t = k;
    double z = 0;
    for (int64_t k = 0; k < K; k++) z += exp(jll[k] - jll[t]);
    const double scale = 0x1p-22, pt = 1.0 / z, et = scale * err[t];
    double rest = 0, sp = 0; /* sum over l != t of p_l e_l, and of p_l */
    for (int64_t k = 0; k < K; k++)
        if (k != t) {
            const double pk = exp(jll[k] - jll[t]) / z;
            rest += pk * scale * err[k];
            sp += pk;
        }
    if (!isfinite(et) || !isfinite(rest)) return 1;
    if (pt * (sp * et + rest) > 1e-6) return 1;
    for (int64_t k = 0; k < K; k++)
        if (k != t) {
            const double pk = exp(jll[k] - jll[t]) / z;
            if (pk * (scale * err[k] + pt * et + rest) > 1e-6) return 1;
        }
    return 0;
}

/* jll (B, K) in double for rows X (B, d). A (B, 2 kw), tmp (B, K) and err
 * (B, K) are scratch. */
static mfs_status jll_block(const nb_plan *pl, const float *X, int64_t B, float *A, float *tmp, double *jll,
                            double *err) {
    const int64_t K = pl->K, d = pl->d, kw = pl->kw;
    const int gauss = pl->variant == MFS_NAIVE_BAYES_VARIANT_GAUSSIAN;
    for (int64_t q = 0; q < B * K; q++) jll[q] = 0;
    if (kw > 0) {
        const float *Ap = A;
        int64_t lda = kw;
        if (pl->variant == MFS_NAIVE_BAYES_VARIANT_MULTINOMIAL || (pl->variant == MFS_NAIVE_BAYES_VARIANT_BERNOULLI && !pl->binarize)) {
            Ap = X; /* the counts themselves */
            lda = d;
        } else if (pl->variant == MFS_NAIVE_BAYES_VARIANT_BERNOULLI) {
            for (int64_t r = 0; r < B; r++)
                for (int64_t j = 0; j < d; j++) A[r * kw + j] = X[r * d + j] > pl->thr ? 1.0f : 0.0f;
        } else {
            /* A = [x', x'^2], and after it A2 = [|x'|, x'^2] for the rounding guard */
            const int64_t ng = pl->ng;
            float *A2 = A + B * kw;
            for (int64_t r = 0; r < B; r++) {
                const float *x = X + r * d;
                float *a = A + r * kw, *a2 = A2 + r * kw;
                for (int64_t g = 0; g < ng; g++) {
                    const double xc = (double)x[pl->gidx[g]] - pl->c[g];
                    a[g] = (float)xc;
                    a[ng + g] = (float)(xc * xc);
                    a2[g] = fabsf(a[g]);
                    a2[ng + g] = a[ng + g];
                }
            }
        }
        MFS_TRY(gemm_chunks(Ap, lda, pl->W, B, K, kw, tmp, jll));
    }
    for (int64_t r = 0; r < B; r++)
        for (int64_t k = 0; k < K; k++) jll[r * K + k] += pl->bias[k];
    if (pl->nd > 0) {
        const int64_t nd = pl->nd;
        for (int64_t r = 0; r < B; r++) {
            const float *x = X + r * d;
            for (int64_t k = 0; k < K; k++) {
                const double *th = pl->theta_d + k * nd, *pr = pl->prec_d + k * nd;
                double s = 0;
                for (int64_t q = 0; q < nd; q++) {
                    const double e = (double)x[pl->didx[q]] - th[q];
                    s += e * e * pr[q];
                }
                jll[r * K + k] -= 0.5 * s;
            }
        }
    }
    if (gauss && kw > 0) {
        for (int64_t q = 0; q < B * K; q++) err[q] = 0;
        MFS_TRY(gemm_chunks(A + B * kw, kw, pl->W2, B, K, kw, tmp, err));
        for (int64_t r = 0; r < B; r++) {
            for (int64_t k = 0; k < K; k++) err[r * K + k] += pl->bias2[k];
            if (gaussian_row_needs_exact(jll + r * K, err + r * K, K))
                gaussian_row_exact(pl, X + r * d, jll + r * K);
        }
    }
    return MFS_OK;
}

enum { OUT_LABELS = 0, OUT_PROBA = 1, OUT_LOG_PROBA = 2, OUT_JLL = 3 };

/* One row of jll (K) -> label, probabilities or log-probabilities, in log space. */
static void finish_row(const double *j, int64_t K, int what, void *out, int64_t r) {
    int64_t best = 0;
    for (int64_t k = 1; k < K; k++)
        if (j[k] > j[best]) best = k;
    if (what == OUT_LABELS) {
        ((int32_t *)out)[r] = (int32_t)best;
        return;
    }
    if (what == OUT_JLL) { /* scikit-learn's predict_joint_log_proba: log P(x, c), unnormalized */
        for (int64_t k = 0; k < K; k++) ((float *)out)[r * K + k] = (float)j[k];
        return;
    }
    const double mx = j[best];
    double s = 0;
    for (int64_t k = 0; k < K; k++) s += exp(j[k] - mx);
    const double lse = mx + log(s);
    float *o = (float *)out + r * K;
    for (int64_t k = 0; k < K; k++)
        o[k] = what == OUT_PROBA ? (float)exp(j[k] - lse) : (float)(j[k] - lse);
}

static mfs_status predict_cuda(const mfs_model *m, const nb_plan *pl, const float *X, int64_t n,
                               int what, void *out) {
    const int64_t K = pl->K;
    float *lp = what == OUT_LABELS ? NULL : (float *)out;
    int32_t *labels = what == OUT_LABELS ? (int32_t *)out : NULL;
    mfs_status s;
    if (pl->variant == MFS_NAIVE_BAYES_VARIANT_GAUSSIAN)
        s = mfs__naive_bayes_gaussian_cuda(X, n, pl->d, K, pl->theta_d, pl->prec_d, pl->bias, lp, labels,
                                           (mfs_mem_counter *)&m->mem);
    else
        s = mfs__naive_bayes_discrete_cuda(X, n, pl->d, K, pl->W, pl->bias, pl->binarize ? (double)pl->thr : NAN,
                                           lp, labels, (mfs_mem_counter *)&m->mem);
    if (s != MFS_OK) return s;
    if (what == OUT_PROBA)
        for (int64_t q = 0; q < n * K; q++) lp[q] = expf(lp[q]);
    return MFS_OK;
}

typedef struct {
    const nb_plan *pl;
    const float *X;
    int what;
    void *out;
    char *scratch; /* per thread: `per` bytes */
    size_t per;
} nb_ctx;

/* rows [r0, r1) (at most NB_BLOCK) of X into the method's output */
static mfs_status nb_block(void *c, int64_t r0, int64_t r1, int thread) {
    const nb_ctx *p = (const nb_ctx *)c;
    const nb_plan *pl = p->pl;
    const int64_t K = pl->K, B = r1 - r0;
    char *mine = p->scratch + p->per * (size_t)thread;
    double *jll = (double *)mine, *err = jll + NB_BLOCK * K;
    float *tmp = (float *)(err + NB_BLOCK * K), *A = tmp + NB_BLOCK * K;
    MFS_TRY(jll_block(pl, p->X + r0 * pl->d, B, A, tmp, jll, err));
    if (p->what == OUT_JLL && pl->variant != MFS_NAIVE_BAYES_VARIANT_GAUSSIAN) {
        /* the class-independent term the centered weights dropped, sum_j a_j mean_k W_kj */
        for (int64_t r = 0; r < B; r++) {
            const float *x = p->X + (r0 + r) * pl->d;
            double t = 0;
            for (int64_t j = 0; j < pl->d; j++) {
                const double a = pl->binarize ? (double)(x[j] > pl->thr) : (double)x[j];
                t += a * pl->c[j];
            }
            for (int64_t k = 0; k < K; k++) jll[r * K + k] += t;
        }
    }
    for (int64_t r = 0; r < B; r++) finish_row(jll + r * K, K, p->what, p->out, r0 + r);
    return MFS_OK;
}

static mfs_status apply(const mfs_model *m, const char *fn, const mfs_array *Xa, int what, void *out) {
    nb_plan pl;
    MFS_TRY(plan_make(m, fn, &pl));
    const int64_t n = Xa->shape[0], K = pl.K, kw = pl.kw;
    const float *X = (const float *)Xa->data;
    mfs_status s = MFS_OK;
    if (m->device == MFS_DEVICE_CUDA && what != OUT_JLL) { /* the joint log-likelihood: on the CPU */
        s = predict_cuda(m, &pl, X, n, what, out);
        plan_free(&pl);
        return s;
    }
    /* blocks of NB_BLOCK rows over the threads, each checked for NaN and
     * infinity just before it is read (host_checks_finite): X crosses
     * memory once, not twice */
    int nt = mfs__num_threads();
    if (nt < 1) nt = 1;
    /* per thread: jll and err (B, K) doubles, tmp (B, K) and A (B, 2 kw) floats */
    const size_t per = (size_t)(NB_BLOCK * (2 * kw + K)) * sizeof(float) + (size_t)(2 * NB_BLOCK * K) * sizeof(double);
    nb_ctx c = {&pl, X, what, out, NULL, per};
    s = mfs__alloc((void **)&c.scratch, per * (size_t)nt, fn, "the prediction blocks");
    if (s == MFS_OK) s = mfs__row_blocks_checked(fn, "X", X, n, pl.d, NB_BLOCK, nb_block, &c);
    mfs__free(c.scratch);
    plan_free(&pl);
    return s;
}

static mfs_status predict(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply(m, "mfs_predict", X, OUT_LABELS, out->data);
}
static mfs_status predict_proba(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply(m, "mfs_predict_proba", X, OUT_PROBA, out->data);
}
static mfs_status predict_log_proba(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply(m, "mfs_predict_log_proba", X, OUT_LOG_PROBA, out->data);
}
static mfs_status decision_function(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply(m, "mfs_decision_function", X, OUT_JLL, out->data);
}

static mfs_status output_shape(const mfs_model *m, mfs_method method, int64_t rows, mfs_dtype *dtype,
                               int32_t *ndim, int64_t *shape) {
    shape[0] = rows;
    if (method == MFS_METHOD_PREDICT) {
        *dtype = MFS_DTYPE_INT32;
        *ndim = 1;
        return MFS_OK;
    }
    if (method == MFS_METHOD_PREDICT_PROBA || method == MFS_METHOD_PREDICT_LOG_PROBA ||
        method == MFS_METHOD_DECISION_FUNCTION) {
        *dtype = MFS_DTYPE_FLOAT32;
        *ndim = 2;
        shape[1] = n_classes_of(m);
        return MFS_OK;
    }
    return mfs__error(MFS_E_UNSUPPORTED, "mfs_output_shape: naive_bayes has predict, predict_proba, predict_log_proba "
                      "and decision_function (the joint log-likelihood) only");
}

/* A loaded file: every array a fitted model needs, float64, with shapes that
 * agree with each other and with n_features_in. */
static mfs_status check_state(const mfs_model *m) {
    const nb_params *p = (const nb_params *)m->params;
    const int64_t d = m->n_features_in;
    const mfs_tensor *cc = mfs__array_get(m, "class_count", MFS_DTYPE_FLOAT64, 1);
    if (!cc || cc->shape[0] < 1 || cc->shape[0] > INT32_MAX)
        return mfs__error(MFS_E_FORMAT, "naive_bayes: 'class_count' missing or not a float64 vector");
    const int64_t K = cc->shape[0];
    if (p->n_classes != 0 && p->n_classes != K)
        return mfs__error(MFS_E_FORMAT, "naive_bayes: n_classes is %d, the arrays have %lld classes",
                          (int)p->n_classes, (long long)K);
    static const char *const gauss2[] = {"theta", "var"}, *const gauss1[] = {"class_prior"};
    static const char *const disc2[] = {"feature_count", "feature_log_prob"}, *const disc1[] = {"class_log_prior"};
    const int g = is_gaussian(p);
    for (int i = 0; i < 2; i++) {
        const char *name = g ? gauss2[i] : disc2[i];
        const mfs_tensor *t = mfs__array_get(m, name, MFS_DTYPE_FLOAT64, 2);
        if (!t || t->shape[0] != K || t->shape[1] != d)
            return mfs__error(MFS_E_FORMAT, "naive_bayes: '%s' missing or not float64 (%lld, %lld)", name,
                              (long long)K, (long long)d);
    }
    const char *name1 = g ? gauss1[0] : disc1[0];
    const mfs_tensor *t = mfs__array_get(m, name1, MFS_DTYPE_FLOAT64, 1);
    if (!t || t->shape[0] != K)
        return mfs__error(MFS_E_FORMAT, "naive_bayes: '%s' missing or not float64 (%lld,)", name1, (long long)K);
    if (g && !mfs__array_get(m, "epsilon", MFS_DTYPE_FLOAT64, 0))
        return mfs__error(MFS_E_FORMAT, "naive_bayes: 'epsilon' missing or not a float64 scalar");
    return MFS_OK;
}

const mfs_model_vtable mfs__naive_bayes_vtable = {
    .kind = MFS_MODEL_NAIVE_BAYES,
    .name = "naive_bayes",
    .params_size = sizeof(mfs_naive_bayes_params),
    .supervised = 1,
    .check_params = check_params,
    .fit = fit,
    .predict = predict,
    .predict_proba = predict_proba,
    .output_shape = output_shape,
    .check_state = check_state,
    .partial_fit = partial_fit,
    .predict_log_proba = predict_log_proba,
    .decision_function = decision_function,
    .host_checks_finite = 1, /* every predict-type method checks X per block of rows */
};
