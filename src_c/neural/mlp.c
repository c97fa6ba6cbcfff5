/* Multi-layer perceptrons: scikit-learn's MLPClassifier / MLPRegressor on the
 * network machinery of network.h.
 *
 * Letters: n training rows, d features, h_i hidden widths, K outputs (classes,
 * labels or targets), m rows to predict, L layers (hidden + output).
 *
 * The network: for each hidden width a linear layer with the activation fused
 * (and a dropout layer when dropout > 0), then a linear output layer whose
 * output activation and loss follow scikit-learn: softmax + cross-entropy for
 * K >= 3 classes, one logistic unit + binary cross-entropy for 2 classes,
 * K logistic units for multilabel, identity + squared loss for regression.
 * Initialization as scikit-learn's _init_coef: W and b of layer i uniform in
 * +-sqrt(factor / (fan_in + fan_out)), factor 2 for logistic, else 6, drawn
 * W then b, layer after layer, from the core RNG (stream 1 of random_state).
 * Training: mfs__net_train (train.c); the fitted state is the one parameter
 * allocation, the optimizer state and the counters (so a saved model can warm
 * start). */
#include <math.h>
#include <string.h>
#include "core/internal.h"
#include "core/rng.h"
#include "mfs/mlp.h"
#include "neural/network.h"
#include "src_cuda/cuda_api.h"

typedef mfs_mlp_params mlp_params;

void mfs_mlp_params_default(mfs_mlp_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->task = MFS_MLP_TASK_CLASSIFICATION;
    p->n_classes = 0;
    p->n_hidden = 1;
    p->hidden_layer_sizes[0] = 100;
    p->activation = MFS_ACTIVATION_RELU;
    mfs_train_params_default(&p->train);
}

static mfs_status check_params(const void *params) {
    const mlp_params *p = (const mlp_params *)params;
    static const char fn[] = "mfs_model_create";
    if (p->task < MFS_MLP_TASK_REGRESSION || p->task > MFS_MLP_TASK_MULTILABEL)
        return mfs__error(MFS_E_INVALID_ARG, "%s: task is %d, expected 0 (regression), 1 (classification) or 2 (multilabel)",
                          fn, (int)p->task);
    if (p->n_classes < 0 || p->n_classes == 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_classes is %d, expected >= 2 (or 0: from the labels)", fn,
                          (int)p->n_classes);
    if (p->n_hidden < 0 || p->n_hidden > MFS_MLP_MAX_HIDDEN)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_hidden is %d, expected 0..%d hidden layers", fn, (int)p->n_hidden,
                          MFS_MLP_MAX_HIDDEN);
    for (int i = 0; i < p->n_hidden; i++)
        if (p->hidden_layer_sizes[i] < 1)
            return mfs__error(MFS_E_INVALID_ARG, "%s: hidden_layer_sizes[%d] is %d, every layer needs >= 1 unit", fn, i,
                              (int)p->hidden_layer_sizes[i]);
    if (p->activation < MFS_ACTIVATION_IDENTITY || p->activation > MFS_ACTIVATION_GELU)
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: activation is %d, expected 0 (identity), 1 (relu), 2 (tanh), 3 (logistic) or 4 (gelu)", fn,
                          (int)p->activation);
    return mfs__train_params_check(fn, &p->train);
}

mfs_status mfs_mlp_create(const mfs_mlp_params *params, mfs_device device, mfs_model **out) {
    return mfs__model_new("mfs_mlp_create", MFS_MODEL_MLP, params, sizeof *params, device, out);
}

/* Output units of the network for K classes / labels / targets. */
static int64_t out_units(const mlp_params *p, int64_t K) {
    return p->task == MFS_MLP_TASK_CLASSIFICATION && K == 2 ? 1 : K;
}

static int32_t loss_of(const mlp_params *p, int64_t K) {
    if (p->task == MFS_MLP_TASK_REGRESSION) return MFS__LOSS_MSE;
    if (p->task == MFS_MLP_TASK_MULTILABEL || K == 2) return MFS__LOSS_SIGMOID_CE;
    return MFS__LOSS_SOFTMAX_CE;
}

/* The network for d inputs and K_out output units. */
static mfs_status build_net(const char *fn, const mlp_params *p, int64_t d, int64_t K_out, int32_t loss,
                            mfs__net *net) {
    const int64_t in_shape[3] = {d, 1, 1};
    mfs__net_init(net, in_shape, loss);
    for (int i = 0; i < p->n_hidden; i++) {
        mfs__layer L = mfs__layer_linear(p->hidden_layer_sizes[i], p->activation);
        MFS_TRY(mfs__net_add(net, fn, &L));
        if (p->train.dropout > 0.0) {
            mfs__layer D = mfs__layer_dropout((float)p->train.dropout);
            MFS_TRY(mfs__net_add(net, fn, &D));
        }
    }
    mfs__layer O = mfs__layer_linear(K_out, MFS__ACT_IDENTITY);
    return mfs__net_add(net, fn, &O);
}

/* The linear layers of an MLP network, in order (dropout layers skipped). */
static int linear_layers(const mfs__net *net, const mfs__layer **out) {
    int c = 0;
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].kind == MFS__LAYER_LINEAR) out[c++] = &net->layers[i];
    return c;
}

/* scikit-learn's Glorot-uniform initialization from the core RNG. */
static void init_params(const mlp_params *p, const mfs__net *net, float *params) {
    mfs_rng r = mfs_rng_make((uint64_t)p->train.random_state, 1);
    const double factor = p->activation == MFS_ACTIVATION_LOGISTIC ? 2.0 : 6.0;
    const mfs__layer *lin[MFS__NET_MAX_LAYERS];
    int nl = linear_layers(net, lin);
    for (int i = 0; i < nl; i++) {
        const mfs__layer *L = lin[i];
        const double bound = sqrt(factor / (double)(L->in_size + L->out_size));
        for (int64_t j = 0; j < L->w_n; j++) params[L->w_off + j] = (float)(-bound + 2.0 * bound * mfs_rng_uniform(&r));
        for (int64_t j = 0; j < L->b_n; j++) params[L->b_off + j] = (float)(-bound + 2.0 * bound * mfs_rng_uniform(&r));
    }
}

/* The targets of a fit: K and, by task, labels and/or float targets (the
 * float 0/1 column of a binary problem is built here: *owned). */
static mfs_status read_targets(const char *fn, const mlp_params *p, const mfs_array *y, int64_t n, int64_t K_fixed,
                               int64_t *K, const int32_t **labels, const float **targets, float **owned) {
    *labels = NULL;
    *targets = NULL;
    *owned = NULL;
    if (p->task == MFS_MLP_TASK_REGRESSION) {
        int64_t t;
        MFS_TRY(mfs__check_targets(fn, y, n, &t));
        if (K_fixed > 0 && t != K_fixed)
            return mfs__error(MFS_E_SHAPE, "%s: y has %lld targets, the model was fitted on %lld", fn, (long long)t,
                              (long long)K_fixed);
        *K = t;
        *targets = (const float *)y->data;
        return MFS_OK;
    }
    if (p->task == MFS_MLP_TASK_MULTILABEL) {
        int64_t t;
        MFS_TRY(mfs__check_targets(fn, y, n, &t));
        if (y->ndim != 2)
            return mfs__error(MFS_E_SHAPE, "%s: multilabel y must be a 2-D (n, n_labels) indicator matrix", fn);
        if (K_fixed > 0 && t != K_fixed)
            return mfs__error(MFS_E_SHAPE, "%s: y has %lld labels, the model was fitted on %lld", fn, (long long)t,
                              (long long)K_fixed);
        const float *v = (const float *)y->data;
        for (int64_t i = 0; i < n * t; i++)
            if (v[i] != 0.0f && v[i] != 1.0f)
                return mfs__error(MFS_E_VALUE, "%s: y[%lld, %lld] = %g, a multilabel indicator must be 0 or 1", fn,
                                  (long long)(i / t), (long long)(i % t), (double)v[i]);
        *K = t;
        *targets = v;
        return MFS_OK;
    }
    /* classification: int32 labels */
    int64_t Kc = K_fixed > 0 ? K_fixed : p->n_classes;
    if (y->dtype != MFS_DTYPE_INT32)
        return mfs__error(MFS_E_UNSUPPORTED, "%s: a classifier takes y as int32 labels 0..K-1, got dtype %d", fn,
                          (int)y->dtype);
    if (Kc == 0) {
        if (y->ndim != 1 || y->shape[0] != n)
            return mfs__error(MFS_E_SHAPE, "%s: y must have shape (%lld,)", fn, (long long)n);
        const int32_t *v = (const int32_t *)y->data;
        int32_t mx = -1;
        for (int64_t i = 0; i < n; i++) {
            if (v[i] < 0) return mfs__error(MFS_E_VALUE, "%s: y[%lld] = %d, labels must be >= 0", fn, (long long)i, (int)v[i]);
            if (v[i] > mx) mx = v[i];
        }
        Kc = (int64_t)mx + 1;
    }
    MFS_TRY(mfs__check_labels(fn, y, n, (int32_t)Kc));
    if (Kc < 2)
        return mfs__error(MFS_E_VALUE, "%s: a classifier needs at least 2 classes, y has %lld", fn, (long long)Kc);
    *K = Kc;
    *labels = (const int32_t *)y->data;
    if (Kc == 2) {
        float *t = NULL;
        MFS_TRY(mfs__alloc((void **)&t, (size_t)n * sizeof(float), fn, "the binary targets"));
        for (int64_t i = 0; i < n; i++) t[i] = (*labels)[i] == 1 ? 1.0f : 0.0f;
        *owned = t;
        *targets = t;
    }
    return MFS_OK;
}

/* Classes (or targets / labels) K of a fitted model. */
static int64_t n_out_of(const mfs_model *m) {
    const mlp_params *p = (const mlp_params *)m->params;
    const mfs_tensor *u = mfs__array_find(m, "layer_units");
    int64_t last = ((const int64_t *)u->data)[u->shape[0] - 1];
    return p->task == MFS_MLP_TASK_CLASSIFICATION && last == 1 ? 2 : last;
}

/* Store a float64 vector array (may be empty). */
static mfs_status put_f64(mfs_model *m, const char *name, const double *v, int64_t n) {
    double *dst = NULL;
    const int64_t shape[1] = {n};
    MFS_TRY(mfs__array_new(m, name, MFS_DTYPE_FLOAT64, 1, shape, (void **)&dst));
    if (n > 0) memcpy(dst, v, (size_t)n * sizeof(double));
    return MFS_OK;
}

/* fit (incremental = 0) and partial_fit (1). The model's arrays are replaced
 * only when training succeeded. */
static mfs_status train(mfs_model *m, const char *fn, const mfs_array *Xa, const mfs_array *ya, int incremental) {
    const mlp_params *p = (const mlp_params *)m->params;
    const int64_t n = Xa->shape[0], d = Xa->shape[1];
    /* where training starts: fresh, from the model's own state (partial_fit
     * of a fitted model), or from the init_* inputs (warm_start) */
    const int from_self = incremental && m->fitted;
    const mfs_tensor *ip = NULL, *io = NULL, *ic = NULL;
    if (!from_self && p->train.warm_start) {
        ip = mfs__input_find(m, "init_params");
        io = mfs__input_find(m, "init_optimizer");
        ic = mfs__input_find(m, "init_counters");
    }
    int64_t K_fixed = 0;
    if (from_self) K_fixed = n_out_of(m);
    int64_t K = 0;
    const int32_t *labels = NULL;
    const float *targets = NULL;
    float *owned = NULL;
    MFS_TRY(read_targets(fn, p, ya, n, K_fixed, &K, &labels, &targets, &owned));
    const int64_t K_out = out_units(p, K);
    mfs__net net;
    mfs_status s = build_net(fn, p, d, K_out, loss_of(p, K), &net);
    if (s != MFS_OK) {
        mfs__free(owned);
        return s;
    }
    const int64_t P = net.n_params, S = P * mfs__optim_state_per_param(p->train.solver);
    float *params = NULL, *opt = NULL;
    mfs__train_state st;
    memset(&st, 0, sizeof st);
    if ((s = mfs__alloc((void **)&params, (size_t)P * sizeof(float), fn, "the parameters")) != MFS_OK ||
        (s = mfs__alloc((void **)&opt, (size_t)(S > 0 ? S : 1) * sizeof(float), fn, "the optimizer state")) != MFS_OK)
        goto done;
    st.params = params;
    st.opt = opt;
    st.buffers = NULL;
    if (from_self) {
        const mfs_tensor *tp = mfs__array_find(m, "params"), *to = mfs__array_find(m, "optimizer_state"),
                         *tc = mfs__array_find(m, "counters");
        memcpy(params, tp->data, (size_t)P * sizeof(float));
        memcpy(opt, to->data, (size_t)S * sizeof(float));
        memcpy(st.counters, tc->data, sizeof st.counters);
        st.warm = 1;
    } else if (ip) {
        if (ip->dtype != MFS_DTYPE_FLOAT32 || ip->ndim != 1 || ip->shape[0] != P) {
            s = mfs__error(MFS_E_SHAPE,
                           "%s: warm_start: init_params has %lld values, this architecture (%lld features, %lld "
                           "outputs) has %lld parameters",
                           fn, (long long)(ip->ndim == 1 ? ip->shape[0] : -1), (long long)d, (long long)K_out,
                           (long long)P);
            goto done;
        }
        memcpy(params, ip->data, (size_t)P * sizeof(float));
        st.warm = 1;
        /* the optimizer state and counters continue when they fit this solver */
        if (io && io->dtype == MFS_DTYPE_FLOAT32 && io->ndim == 1 && io->shape[0] == S &&
            mfs__all_finite((const float *)io->data, S))
            memcpy(opt, io->data, (size_t)S * sizeof(float));
        else
            memset(opt, 0, (size_t)S * sizeof(float));
        if (ic && ic->dtype == MFS_DTYPE_FLOAT64 && ic->ndim == 1 && ic->shape[0] == MFS__CNT_COUNT) {
            memcpy(st.counters, ic->data, sizeof st.counters);
            if (!(io && io->shape[0] == S)) st.counters[MFS__CNT_STEPS] = 0; /* a fresh optimizer */
        } else {
            for (int c = 0; c < MFS__CNT_COUNT; c++) st.counters[c] = 0.0;
            st.counters[MFS__CNT_BEST_LOSS] = p->train.early_stopping ? NAN : INFINITY;
            st.counters[MFS__CNT_BEST_SCORE] = p->train.early_stopping ? -INFINITY : NAN;
        }
    } else {
        init_params(p, &net, params);
    }
    {
        mfs__train_config cfg = mfs__train_config_from(&p->train, n, incremental);
        if (incremental && p->train.early_stopping) {
            s = mfs__error(MFS_E_INVALID_ARG, "%s: partial_fit does not support early_stopping=1", fn);
            goto done;
        }
        void *user = NULL;
        mfs__train_cb cb = mfs__train_callback(&user);
        float *weights = NULL;
        s = mfs__net_sample_weights(m, fn, n, &weights);
        if (s != MFS_OK) goto done;
        mfs__train_data data = {(const float *)Xa->data, labels, targets, weights, n};
        s = mfs__net_train(fn, &net, &cfg, &data, &st, m->device, &m->mem, cb, user);
        mfs__free(weights);
        if (s != MFS_OK) goto done;
    }
    /* the fitted state */
    {
        double *old_curve = NULL, *old_val = NULL;
        int64_t n_old = 0, n_old_val = 0;
        if (from_self) { /* partial_fit appends to the curves, as scikit-learn */
            const mfs_tensor *lc = mfs__array_find(m, "loss_curve"), *vc = mfs__array_find(m, "validation_scores");
            if (lc) {
                n_old = lc->shape[0];
                old_curve = (double *)mfs__malloc((size_t)(n_old + st.n_epochs + 1) * sizeof(double));
                if (!old_curve) {
                    s = mfs__error(MFS_E_NOMEM, "%s: out of memory for the loss curve", fn);
                    goto done;
                }
                memcpy(old_curve, lc->data, (size_t)n_old * sizeof(double));
                if (st.n_epochs) memcpy(old_curve + n_old, st.loss_curve, (size_t)st.n_epochs * sizeof(double));
            }
            (void)vc;
            (void)old_val;
            (void)n_old_val;
        }
        const int64_t units_n = net.n_layers + 1;
        int64_t shape[1] = {0};
        int64_t *units = NULL;
        const mfs__layer *lin[MFS__NET_MAX_LAYERS];
        int nl = linear_layers(&net, lin);
        shape[0] = nl + 1;
        (void)units_n;
        if ((s = mfs__array_new(m, "layer_units", MFS_DTYPE_INT64, 1, shape, (void **)&units)) != MFS_OK) {
            mfs__free(old_curve);
            goto done;
        }
        units[0] = d;
        for (int i = 0; i < nl; i++) units[i + 1] = lin[i]->out_size;
        /* the trained buffers become the model's arrays (no second copy at
         * the end of the fit, which used to set its peak memory) */
        shape[0] = P;
        if ((s = mfs__array_adopt(m, "params", MFS_DTYPE_FLOAT32, 1, shape, params)) != MFS_OK) {
            mfs__free(old_curve);
            goto done;
        }
        params = NULL;
        shape[0] = S;
        if ((s = mfs__array_adopt(m, "optimizer_state", MFS_DTYPE_FLOAT32, 1, shape, opt)) != MFS_OK) {
            mfs__free(old_curve);
            goto done;
        }
        opt = NULL;
        if ((s = put_f64(m, "counters", st.counters, MFS__CNT_COUNT)) != MFS_OK ||
            (s = old_curve ? put_f64(m, "loss_curve", old_curve, n_old + st.n_epochs)
                           : put_f64(m, "loss_curve", st.loss_curve, st.n_epochs)) != MFS_OK) {
            mfs__free(old_curve);
            goto done;
        }
        mfs__free(old_curve);
        if (st.val_scores && (s = put_f64(m, "validation_scores", st.val_scores, st.n_epochs)) != MFS_OK) goto done;
    }
done:
    mfs__free(st.loss_curve);
    mfs__free(st.val_scores);
    mfs__free(params);
    mfs__free(opt);
    mfs__free(owned);
    return s;
}

static mfs_status fit(mfs_model *m, const mfs_array *X, const mfs_array *y) {
    return train(m, "mfs_fit", X, y, 0);
}

static mfs_status partial_fit(mfs_model *m, const mfs_array *X, const mfs_array *y) {
    return train(m, "mfs_partial_fit", X, y, 1);
}

/* The network of a fitted model (check_state has vouched for its arrays). */
static mfs_status fitted_net(const mfs_model *m, const char *fn, mfs__net *net) {
    const mlp_params *p = (const mlp_params *)m->params;
    int64_t K = n_out_of(m);
    return build_net(fn, p, m->n_features_in, out_units(p, K), loss_of(p, K), net);
}

enum { OUT_LABELS = 0, OUT_PROBA = 1, OUT_LOG_PROBA = 2, OUT_VALUES = 3 };

static mfs_status apply(const mfs_model *m, const char *fn, const mfs_array *Xa, int what, void *out) {
    const mlp_params *p = (const mlp_params *)m->params;
    mfs__net net;
    MFS_TRY(fitted_net(m, fn, &net));
    const int64_t n = Xa->shape[0], Ko = net.out_size, K = n_out_of(m);
    const float *params = (const float *)mfs__array_find(m, "params")->data;
    /* regression values and multiclass probabilities land in out directly */
    const int direct = (what == OUT_VALUES) || (what == OUT_PROBA && Ko == K);
    float *P = direct ? (float *)out : NULL;
    if (!direct) MFS_TRY(mfs__alloc((void **)&P, (size_t)(n * Ko) * sizeof(float), fn, "the network outputs"));
    mfs_status s = mfs__net_predict(fn, &net, params, NULL, (const float *)Xa->data, n, P, m->device,
                                    (mfs_mem_counter *)&m->mem);
    if (s == MFS_OK && !direct) {
        if (what == OUT_LABELS && p->task == MFS_MLP_TASK_CLASSIFICATION) {
            int32_t *lab = (int32_t *)out;
            for (int64_t i = 0; i < n; i++) {
                if (Ko == 1) {
                    lab[i] = P[i] > 0.5f ? 1 : 0;
                } else {
                    int64_t best = 0;
                    for (int64_t k = 1; k < Ko; k++)
                        if (P[i * Ko + k] > P[i * Ko + best]) best = k;
                    lab[i] = (int32_t)best;
                }
            }
        } else if (what == OUT_LABELS) { /* multilabel indicator */
            int32_t *lab = (int32_t *)out;
            for (int64_t i = 0; i < n * Ko; i++) lab[i] = P[i] > 0.5f ? 1 : 0;
        } else { /* binary probabilities [1 - p, p], or log of probabilities */
            float *o = (float *)out;
            for (int64_t i = 0; i < n; i++) {
                if (Ko == 1 && K == 2) {
                    o[2 * i] = 1.0f - P[i];
                    o[2 * i + 1] = P[i];
                } else {
                    for (int64_t k = 0; k < Ko; k++) o[i * Ko + k] = P[i * Ko + k];
                }
            }
            if (what == OUT_LOG_PROBA)
                for (int64_t i = 0; i < n * K; i++) o[i] = logf(o[i]);
        }
    }
    if (!direct) mfs__free(P);
    return s;
}

static mfs_status predict(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    const mlp_params *p = (const mlp_params *)m->params;
    return apply(m, "mfs_predict", X, p->task == MFS_MLP_TASK_REGRESSION ? OUT_VALUES : OUT_LABELS, out->data);
}

static mfs_status predict_proba(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply(m, "mfs_predict_proba", X, OUT_PROBA, out->data);
}

static mfs_status predict_log_proba(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return apply(m, "mfs_predict_log_proba", X, OUT_LOG_PROBA, out->data);
}

static mfs_status output_shape(const mfs_model *m, mfs_method method, int64_t rows, mfs_dtype *dtype, int32_t *ndim,
                               int64_t *shape) {
    const mlp_params *p = (const mlp_params *)m->params;
    const int64_t K = n_out_of(m);
    shape[0] = rows;
    if (method == MFS_METHOD_PREDICT) {
        if (p->task == MFS_MLP_TASK_REGRESSION) {
            *dtype = MFS_DTYPE_FLOAT32;
            *ndim = K == 1 ? 1 : 2; /* one target: (m,), as scikit-learn */
            shape[1] = K;
        } else if (p->task == MFS_MLP_TASK_MULTILABEL) {
            *dtype = MFS_DTYPE_INT32;
            *ndim = 2;
            shape[1] = K;
        } else {
            *dtype = MFS_DTYPE_INT32;
            *ndim = 1;
        }
        return MFS_OK;
    }
    if ((method == MFS_METHOD_PREDICT_PROBA || method == MFS_METHOD_PREDICT_LOG_PROBA) &&
        p->task != MFS_MLP_TASK_REGRESSION) {
        *dtype = MFS_DTYPE_FLOAT32;
        *ndim = 2;
        shape[1] = K;
        return MFS_OK;
    }
    return mfs__error(MFS_E_UNSUPPORTED, "mfs_output_shape: an mlp %s has predict%s only",
                      p->task == MFS_MLP_TASK_REGRESSION ? "regressor" : "classifier",
                      p->task == MFS_MLP_TASK_REGRESSION ? "" : ", predict_proba and predict_log_proba");
}

/* A loaded file: the architecture in layer_units must be the one the params
 * describe, every array sized for it and the weights finite. */
static mfs_status check_state(const mfs_model *m) {
    const mlp_params *p = (const mlp_params *)m->params;
    const mfs_tensor *u = mfs__array_get(m, "layer_units", MFS_DTYPE_INT64, 1);
    if (!u || u->shape[0] != p->n_hidden + 2)
        return mfs__error(MFS_E_FORMAT, "mlp: 'layer_units' missing or not an int64 vector of %d values",
                          (int)p->n_hidden + 2);
    const int64_t *units = (const int64_t *)u->data;
    if (units[0] != m->n_features_in)
        return mfs__error(MFS_E_FORMAT, "mlp: layer_units[0] is %lld, the model has %lld features", (long long)units[0],
                          (long long)m->n_features_in);
    for (int i = 0; i < p->n_hidden; i++)
        if (units[i + 1] != p->hidden_layer_sizes[i])
            return mfs__error(MFS_E_FORMAT, "mlp: layer_units[%d] is %lld, hidden_layer_sizes[%d] is %d", i + 1,
                              (long long)units[i + 1], i, (int)p->hidden_layer_sizes[i]);
    const int64_t last = units[p->n_hidden + 1];
    if (last < 1 || last > (1 << 24) || (p->task == MFS_MLP_TASK_CLASSIFICATION && last == 2))
        return mfs__error(MFS_E_FORMAT, "mlp: the output layer has %lld units", (long long)last);
    mfs__net net;
    MFS_TRY(fitted_net(m, "mlp", &net));
    const mfs_tensor *tp = mfs__array_get(m, "params", MFS_DTYPE_FLOAT32, 1);
    if (!tp || tp->shape[0] != net.n_params)
        return mfs__error(MFS_E_FORMAT, "mlp: 'params' missing or not %lld float32 values", (long long)net.n_params);
    if (!mfs__all_finite((const float *)tp->data, net.n_params))
        return mfs__error(MFS_E_FORMAT, "mlp: 'params' holds NaN or infinity");
    const int64_t S = net.n_params * mfs__optim_state_per_param(p->train.solver);
    const mfs_tensor *to = mfs__array_get(m, "optimizer_state", MFS_DTYPE_FLOAT32, 1);
    if (!to || to->shape[0] != S)
        return mfs__error(MFS_E_FORMAT, "mlp: 'optimizer_state' missing or not %lld float32 values", (long long)S);
    const mfs_tensor *tc = mfs__array_get(m, "counters", MFS_DTYPE_FLOAT64, 1);
    if (!tc || tc->shape[0] != MFS__CNT_COUNT)
        return mfs__error(MFS_E_FORMAT, "mlp: 'counters' missing or not %d float64 values", MFS__CNT_COUNT);
    const mfs_tensor *lc = mfs__array_get(m, "loss_curve", MFS_DTYPE_FLOAT64, 1);
    if (!lc) return mfs__error(MFS_E_FORMAT, "mlp: 'loss_curve' missing or not a float64 vector");
    return MFS_OK;
}

const mfs_model_vtable mfs__mlp_vtable = {
    .kind = MFS_MODEL_MLP,
    .name = "mlp",
    .params_size = sizeof(mfs_mlp_params),
    .supervised = 1,
    .check_params = check_params,
    .fit = fit,
    .predict = predict,
    .predict_proba = predict_proba,
    .output_shape = output_shape,
    .check_state = check_state,
    .partial_fit = partial_fit,
    .device_checks_finite = 1, /* mfs__net_predict checks X on the GPU */
    .host_checks_finite = 1,   /* and on the CPU, per block of rows */
    .predict_log_proba = predict_log_proba,
};
