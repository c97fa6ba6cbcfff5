/* Convolutional networks (CNNClassifier / CNNRegressor): the architecture of
 * mfs_cnn_params described as a network of src_c/neural (conv2d, batch norm,
 * activation, pooling, flatten, dense layers) and handed to the generic
 * trainer (train.c: solvers, schedules, early stopping, callback, the whole
 * loop on the GPU for MFS_DEVICE_CUDA) and to mfs__net_predict.
 *
 * The fitted state is the network's flat allocations as named arrays:
 * "params" (every weight and bias, layer after layer, then the batch-norm
 * running statistics), "optimizer_state", "counters", plus "n_outputs" (the
 * width of the last layer, which the params alone do not fix), "loss_curve"
 * and "validation_scores". The architecture itself is rebuilt from the params
 * struct, so a model file needs nothing else, and a network trained on the GPU
 * predicts on the CPU. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "core/internal.h"
#include "core/rng.h"
#include "mfs/cnn.h"
#include "neural/network.h"

typedef mfs_cnn_params cnn_params;

enum { CNN_INIT_STREAM = 1, CNN_MAX_OUTPUTS = 1 << 20 };

void mfs_cnn_params_default(mfs_cnn_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->task = MFS_MLP_TASK_CLASSIFICATION;
    p->input_shape[0] = 1;
    p->input_shape[1] = 28;
    p->input_shape[2] = 28;
    p->n_conv = 2;
    for (int i = 0; i < MFS_CNN_MAX_CONV; i++) {
        p->conv_filters[i] = i == 0 ? 16 : 32;
        p->conv_kernel_size[i] = 3;
        p->conv_stride[i] = 1;
        p->conv_padding[i] = 1;
        p->conv_pool[i] = 2;
        p->conv_pool_type[i] = MFS_CNN_POOL_MAX;
    }
    p->n_hidden = 1;
    for (int i = 0; i < MFS_CNN_MAX_HIDDEN; i++) p->hidden_layer_sizes[i] = 128;
    p->activation = MFS_ACTIVATION_RELU;
    p->batch_norm_momentum = 0.1;
    p->batch_norm_eps = 1e-5;
    mfs_train_params_default(&p->train);
}

mfs_status mfs_cnn_create(const mfs_cnn_params *params, mfs_device device, mfs_model **out) {
    return mfs__model_new("mfs_cnn_create", MFS_MODEL_CNN, params, sizeof *params, device, out);
}

/* Walk the architecture's shapes, checking every conv and pool geometry with
 * a message naming the block (fn: the public function). */
static mfs_status check_architecture(const cnn_params *p, const char *fn) {
    int64_t C = p->input_shape[0], H = p->input_shape[1], W = p->input_shape[2];
    for (int i = 0; i < p->n_conv; i++) {
        mfs__conv2d_dims d;
        char where[64];
        snprintf(where, sizeof where, "%s: conv block %d", fn, i);
        MFS_TRY(mfs__conv2d_dims_init(&d, where, 1, C, H, W, p->conv_filters[i], p->conv_kernel_size[i],
                                      p->conv_kernel_size[i], p->conv_stride[i], p->conv_stride[i], p->conv_padding[i],
                                      p->conv_padding[i], 1, 1));
        C = d.OC;
        H = d.OH;
        W = d.OW;
        if (p->conv_pool[i] >= 2) {
            mfs__pool2d_dims q;
            MFS_TRY(mfs__pool2d_dims_init(&q, where, 1, C, H, W, p->conv_pool[i], p->conv_pool[i], p->conv_pool[i],
                                          p->conv_pool[i], 0, 0));
            H = q.OH;
            W = q.OW;
        }
    }
    return MFS_OK;
}

static mfs_status check_params(const void *params) {
    const cnn_params *p = (const cnn_params *)params;
    static const char fn[] = "mfs_model_create";
#define BAD(...) return mfs__error(MFS_E_INVALID_ARG, __VA_ARGS__)
    if (p->task != MFS_MLP_TASK_CLASSIFICATION && p->task != MFS_MLP_TASK_REGRESSION)
        BAD("%s: task is %d, expected 0 (regression) or 1 (classification)", fn, (int)p->task);
    if (p->n_classes < 0 || p->n_classes == 1 || p->n_classes > CNN_MAX_OUTPUTS)
        BAD("%s: n_classes is %d, expected >= 2 (or 0: from the labels)", fn, (int)p->n_classes);
    for (int k = 0; k < 3; k++)
        if (p->input_shape[k] < 1 || p->input_shape[k] > 65536)
            BAD("%s: input_shape is (%d, %d, %d), every size must be in 1..65536", fn, (int)p->input_shape[0],
                (int)p->input_shape[1], (int)p->input_shape[2]);
    if (p->n_conv < 0 || p->n_conv > MFS_CNN_MAX_CONV)
        BAD("%s: n_conv is %d, expected 0..%d", fn, (int)p->n_conv, MFS_CNN_MAX_CONV);
    for (int i = 0; i < p->n_conv; i++) {
        if (p->conv_filters[i] < 1 || p->conv_filters[i] > 65536)
            BAD("%s: conv block %d has %d filters, expected 1..65536", fn, i, (int)p->conv_filters[i]);
        if (p->conv_kernel_size[i] < 1 || p->conv_kernel_size[i] > 1024)
            BAD("%s: conv block %d has kernel_size %d, expected 1..1024", fn, i, (int)p->conv_kernel_size[i]);
        if (p->conv_stride[i] < 1 || p->conv_stride[i] > 1024)
            BAD("%s: conv block %d has stride %d, expected 1..1024", fn, i, (int)p->conv_stride[i]);
        if (p->conv_padding[i] < 0 || 2 * p->conv_padding[i] > p->conv_kernel_size[i])
            BAD("%s: conv block %d has padding %d, expected 0..kernel_size / 2 = %d", fn, i, (int)p->conv_padding[i],
                (int)p->conv_kernel_size[i] / 2);
        if (p->conv_pool[i] < 0 || p->conv_pool[i] > 1024)
            BAD("%s: conv block %d has pool %d, expected 0 (none) or 2..1024", fn, i, (int)p->conv_pool[i]);
        if (p->conv_pool_type[i] != MFS_CNN_POOL_MAX && p->conv_pool_type[i] != MFS_CNN_POOL_AVG)
            BAD("%s: conv block %d has pool_type %d, expected 0 (max) or 1 (avg)", fn, i, (int)p->conv_pool_type[i]);
        if (p->conv_batch_norm[i] != 0 && p->conv_batch_norm[i] != 1)
            BAD("%s: conv block %d has batch_norm %d, expected 0 or 1", fn, i, (int)p->conv_batch_norm[i]);
    }
    if (p->n_hidden < 0 || p->n_hidden > MFS_CNN_MAX_HIDDEN)
        BAD("%s: n_hidden is %d, expected 0..%d", fn, (int)p->n_hidden, MFS_CNN_MAX_HIDDEN);
    for (int i = 0; i < p->n_hidden; i++)
        if (p->hidden_layer_sizes[i] < 1)
            BAD("%s: hidden_layer_sizes[%d] is %d, it must be >= 1", fn, i, (int)p->hidden_layer_sizes[i]);
    if (p->activation < MFS_ACTIVATION_IDENTITY || p->activation > MFS_ACTIVATION_GELU)
        BAD("%s: activation is %d, expected 0 (identity), 1 (relu), 2 (tanh), 3 (logistic) or 4 (gelu)", fn,
            (int)p->activation);
    MFS_TRY(mfs__train_params_check(fn, &p->train));
    if (!(p->batch_norm_momentum > 0 && p->batch_norm_momentum <= 1))
        BAD("%s: batch_norm_momentum is %g, it must be in (0, 1]", fn, p->batch_norm_momentum);
    if (!(p->batch_norm_eps > 0) || !isfinite(p->batch_norm_eps))
        BAD("%s: batch_norm_eps is %g, it must be > 0", fn, p->batch_norm_eps);
#undef BAD
    return check_architecture(p, fn);
}

/* The network of p with K outputs. */
static mfs_status build_net(const cnn_params *p, int64_t K, mfs__net *net, const char *fn) {
    const int64_t in_shape[3] = {p->input_shape[0], p->input_shape[1], p->input_shape[2]};
    mfs__net_init(net, in_shape, p->task == MFS_MLP_TASK_CLASSIFICATION ? MFS__LOSS_SOFTMAX_CE : MFS__LOSS_MSE);
    mfs__layer L;
#define ADD(layer) do { L = (layer); MFS_TRY(mfs__net_add(net, fn, &L)); } while (0)
#define SHAPE (net->layers[net->n_layers - 1].out_shape)
    const int64_t *shape = in_shape;
    for (int i = 0; i < p->n_conv; i++) {
        const int bn = p->conv_batch_norm[i];
        ADD(mfs__layer_conv2d(shape, p->conv_filters[i], p->conv_kernel_size[i], p->conv_stride[i],
                              p->conv_padding[i], !bn, bn ? MFS__ACT_IDENTITY : p->activation));
        if (bn) {
            ADD(mfs__layer_batchnorm((float)p->batch_norm_eps, (float)p->batch_norm_momentum));
            if (p->activation != MFS_ACTIVATION_IDENTITY) ADD(mfs__layer_activation(p->activation));
        }
        shape = SHAPE;
        if (p->conv_pool[i] >= 2) {
            const int32_t k = p->conv_pool[i];
            ADD(p->conv_pool_type[i] == MFS_CNN_POOL_AVG ? mfs__layer_avgpool2d(shape, k, k, 0)
                                                          : mfs__layer_maxpool2d(shape, k, k, 0));
            shape = SHAPE;
        }
    }
    ADD(mfs__layer_flatten(shape));
    for (int i = 0; i < p->n_hidden; i++) {
        ADD(mfs__layer_linear(p->hidden_layer_sizes[i], p->activation));
        if (p->train.dropout > 0) ADD(mfs__layer_dropout((float)p->train.dropout));
    }
    ADD(mfs__layer_linear(K, MFS__ACT_IDENTITY));
#undef SHAPE
#undef ADD
    return MFS_OK;
}

/* Glorot-uniform weights and biases (scikit-learn's MLP init; a conv's fans
 * count its kernel area), batch norm 1 / 0 and running statistics 0 / 1.
 * Drawn in parameter order from the core RNG, so the same seed gives the same
 * network on every device and thread count. */
static void init_params(const mfs__net *net, const cnn_params *p, float *params, float *buffers) {
    mfs_rng r = mfs_rng_make((uint64_t)p->train.random_state, CNN_INIT_STREAM);
    for (int i = 0; i < net->n_layers; i++) {
        const mfs__layer *L = &net->layers[i];
        if (L->kind == MFS__LAYER_BATCHNORM) {
            const int64_t C = L->in_shape[0];
            for (int64_t c = 0; c < C; c++) {
                params[L->b_off + c] = 1.0f;
                params[L->b_off + C + c] = 0.0f;
                buffers[L->buf_off + c] = 0.0f;
                buffers[L->buf_off + C + c] = 1.0f;
            }
            continue;
        }
        if (L->kind != MFS__LAYER_LINEAR && L->kind != MFS__LAYER_CONV2D) continue;
        double fan_in, fan_out;
        if (L->kind == MFS__LAYER_CONV2D) {
            const double area = (double)L->kernel * L->kernel;
            fan_in = (double)L->in_shape[0] * area;
            fan_out = (double)L->out_shape[0] * area;
        } else {
            fan_in = (double)L->in_size;
            fan_out = (double)L->out_size;
        }
        const double factor = p->activation == MFS_ACTIVATION_LOGISTIC ? 2.0 : 6.0;
        const double bound = sqrt(factor / (fan_in + fan_out));
        for (int64_t q = 0; q < L->w_n + L->b_n; q++)
            params[L->w_off + q] = (float)((2.0 * mfs_rng_uniform(&r) - 1.0) * bound);
    }
}

static int64_t n_outputs_of(const mfs_model *m) {
    const mfs_tensor *t = mfs__array_get(m, "n_outputs", MFS_DTYPE_INT64, 0);
    return t ? *(const int64_t *)t->data : 0;
}

/* An input array for warm start: float type, 1-D, n values; NULL if absent. */
static mfs_status warm_input(const mfs_model *m, const char *fn, const char *name, mfs_dtype dtype, int64_t n,
                             const void **out) {
    const mfs_tensor *t = mfs__input_find(m, name);
    *out = NULL;
    if (!t) return MFS_OK;
    if (t->dtype != dtype || t->ndim != 1 || t->shape[0] != n)
        return mfs__error(MFS_E_SHAPE, "%s: warm start: '%s' must be a %s vector of %lld values, got a %d-D array%s%lld",
                          fn, name, dtype == MFS_DTYPE_FLOAT64 ? "float64" : "float32", (long long)n,
                          (int)t->ndim, t->ndim == 1 ? " of " : "", t->ndim == 1 ? (long long)t->shape[0] : 0LL);
    *out = t->data;
    return MFS_OK;
}

static mfs_status train(mfs_model *m, const mfs_array *X, const mfs_array *y, int partial) {
    const cnn_params *p = (const cnn_params *)m->params;
    const char *fn = partial ? "mfs_partial_fit" : "mfs_fit";
    const int64_t n = X->shape[0], d = X->shape[1];
    const int64_t in_size = (int64_t)p->input_shape[0] * p->input_shape[1] * p->input_shape[2];
    if (d != in_size)
        return mfs__error(MFS_E_SHAPE, "%s: X has %lld columns, input_shape (%d, %d, %d) needs %lld", fn,
                          (long long)d, (int)p->input_shape[0], (int)p->input_shape[1], (int)p->input_shape[2],
                          (long long)in_size);
    const int cls = p->task == MFS_MLP_TASK_CLASSIFICATION;
    int64_t K;
    mfs__train_data data = {(const float *)X->data, NULL, NULL, NULL, n};
    if (cls) {
        if (y->dtype != MFS_DTYPE_INT32 || y->ndim != 1)
            return mfs__error(MFS_E_SHAPE, "%s: a classifier needs y as an int32 vector of labels", fn);
        const int32_t *lab = (const int32_t *)y->data;
        int32_t mx = 0;
        if (y->shape[0] != n)
            return mfs__error(MFS_E_SHAPE, "%s: y has %lld labels, X has %lld rows", fn, (long long)y->shape[0],
                              (long long)n);
        for (int64_t i = 0; i < n; i++)
            if (lab[i] > mx) mx = lab[i];
        K = p->n_classes ? p->n_classes : (int64_t)mx + 1;
        if (m->fitted && partial) K = n_outputs_of(m);
        if (K < 2) return mfs__error(MFS_E_VALUE, "%s: a classifier needs at least 2 classes, got %lld", fn, (long long)K);
        MFS_TRY(mfs__check_labels(fn, y, n, (int32_t)K));
        data.labels = lab;
    } else {
        int64_t t = 0;
        MFS_TRY(mfs__check_targets(fn, y, n, &t));
        K = t;
        if (m->fitted && partial && K != n_outputs_of(m))
            return mfs__error(MFS_E_SHAPE, "%s: y has %lld outputs, the model was fitted on %lld", fn, (long long)K,
                              (long long)n_outputs_of(m));
        data.targets = (const float *)y->data;
    }
    mfs__net net;
    MFS_TRY(build_net(p, K, &net, fn));
    const int64_t P = net.n_params, Q = net.n_buffers, S = P * mfs__optim_state_per_param(p->train.solver);
    const int cont = partial && m->fitted; /* partial_fit after a fit: continue from the model's arrays */

    /* the previous state, when continuing or warm-starting */
    const void *w_params = NULL, *w_opt = NULL, *w_counters = NULL; /* params: P + Q floats */
    if (cont) {
        const mfs_tensor *tp = mfs__array_get(m, "params", MFS_DTYPE_FLOAT32, 1);
        const mfs_tensor *to = mfs__array_get(m, "optimizer_state", MFS_DTYPE_FLOAT32, 1);
        const mfs_tensor *tc = mfs__array_get(m, "counters", MFS_DTYPE_FLOAT64, 1);
        if (!tp || tp->shape[0] != P + Q || !to || to->shape[0] != S || !tc || tc->shape[0] != MFS__CNT_COUNT)
            return mfs__error(MFS_E_INTERNAL, "%s: the fitted arrays do not match the network", fn);
        w_params = tp->data;
        w_opt = to->data;
        w_counters = tc->data;
    } else if (p->train.warm_start) {
        MFS_TRY(warm_input(m, fn, "init_params", MFS_DTYPE_FLOAT32, P + Q, &w_params));
        MFS_TRY(warm_input(m, fn, "init_optimizer", MFS_DTYPE_FLOAT32, S, &w_opt));
        MFS_TRY(warm_input(m, fn, "init_counters", MFS_DTYPE_FLOAT64, MFS__CNT_COUNT, &w_counters));
    }

    /* new state: a private copy, so a failed fit leaves the model as it was */
    const size_t bytes = (size_t)(P + Q + S) * sizeof(float);
    float *buf = NULL;
    MFS_TRY(mfs__alloc((void **)&buf, bytes ? bytes : 4, fn, "the network state"));
    float *params = buf, *buffers = buf + P, *opt = buffers + Q; /* params and buffers adjacent */
    mfs__train_state st;
    memset(&st, 0, sizeof st);
    st.params = params;
    st.buffers = buffers;
    st.opt = opt;
    if (w_params) {
        memcpy(params, w_params, (size_t)(P + Q) * sizeof(float));
        st.warm = w_opt && w_counters;
        if (st.warm) {
            memcpy(opt, w_opt, (size_t)S * sizeof(float));
            memcpy(st.counters, w_counters, sizeof st.counters);
        }
    } else {
        memset(buf, 0, bytes);
        init_params(&net, p, params, buffers);
    }

    mfs__train_config cfg = mfs__train_config_from(&p->train, n, partial);

    void *ud = NULL;
    mfs__train_cb cb = mfs__train_callback(&ud);
    float *weights = NULL;
    mfs_status s = mfs__net_sample_weights(m, fn, n, &weights);
    data.weights = weights;
    if (s == MFS_OK) s = mfs__net_train(fn, &net, &cfg, &data, &st, m->device, &m->mem, cb, ud);
    mfs__free(weights);
    /* partial_fit appends this call's epochs to the loss curve, as scikit-learn
     * (and the MLP) do: the old curve is copied before the arrays are replaced */
    double *curve = st.loss_curve;
    int64_t n_curve = st.n_epochs;
    const mfs_tensor *old_lc = cont ? mfs__array_get(m, "loss_curve", MFS_DTYPE_FLOAT64, 1) : NULL;
    if (s == MFS_OK && old_lc && old_lc->shape[0] > 0) {
        const int64_t n_old = old_lc->shape[0];
        curve = (double *)mfs__malloc((size_t)(n_old + st.n_epochs) * sizeof(double));
        if (!curve) {
            s = mfs__error(MFS_E_NOMEM, "%s: out of memory for the loss curve", fn);
        } else {
            memcpy(curve, old_lc->data, (size_t)n_old * sizeof(double));
            if (st.n_epochs) memcpy(curve + n_old, st.loss_curve, (size_t)st.n_epochs * sizeof(double));
            n_curve = n_old + st.n_epochs;
        }
    }
    if (s == MFS_OK) {
        /* publish: replace the fitted arrays */
        int64_t shape[1];
        void *dst;
        mfs__arrays_clear(m);
        shape[0] = P + Q;
        if ((s = mfs__array_new(m, "params", MFS_DTYPE_FLOAT32, 1, shape, &dst)) == MFS_OK)
            memcpy(dst, params, (size_t)(P + Q) * sizeof(float));
        shape[0] = S;
        if (s == MFS_OK && (s = mfs__array_new(m, "optimizer_state", MFS_DTYPE_FLOAT32, 1, shape, &dst)) == MFS_OK)
            memcpy(dst, opt, (size_t)S * sizeof(float));
        shape[0] = MFS__CNT_COUNT;
        if (s == MFS_OK && (s = mfs__array_new(m, "counters", MFS_DTYPE_FLOAT64, 1, shape, &dst)) == MFS_OK)
            memcpy(dst, st.counters, sizeof st.counters);
        if (s == MFS_OK && (s = mfs__array_new(m, "n_outputs", MFS_DTYPE_INT64, 0, shape, &dst)) == MFS_OK)
            *(int64_t *)dst = K;
        shape[0] = n_curve;
        if (s == MFS_OK && (s = mfs__array_new(m, "loss_curve", MFS_DTYPE_FLOAT64, 1, shape, &dst)) == MFS_OK &&
            n_curve)
            memcpy(dst, curve, (size_t)n_curve * sizeof(double));
        shape[0] = st.n_epochs;
        if (s == MFS_OK && st.val_scores &&
            (s = mfs__array_new(m, "validation_scores", MFS_DTYPE_FLOAT64, 1, shape, &dst)) == MFS_OK && st.n_epochs)
            memcpy(dst, st.val_scores, (size_t)st.n_epochs * sizeof(double));
        if (s != MFS_OK) mfs__arrays_clear(m);
    }
    if (curve != st.loss_curve) mfs__free(curve);
    mfs__free(st.loss_curve);
    mfs__free(st.val_scores);
    mfs__free(buf);
    return s;
}

static mfs_status fit(mfs_model *m, const mfs_array *X, const mfs_array *y) { return train(m, X, y, 0); }
static mfs_status partial_fit(mfs_model *m, const mfs_array *X, const mfs_array *y) { return train(m, X, y, 1); }

/* out (n, K) float32: probabilities (classification) or predictions. */
static mfs_status forward(const mfs_model *m, const char *fn, const mfs_array *X, float *out) {
    const cnn_params *p = (const cnn_params *)m->params;
    mfs__net net;
    MFS_TRY(build_net(p, n_outputs_of(m), &net, fn));
    const float *params = (const float *)mfs__array_find(m, "params")->data;
    return mfs__net_predict(fn, &net, params, net.n_buffers ? params + net.n_params : NULL,
                            (const float *)X->data, X->shape[0], out, m->device, (mfs_mem_counter *)&m->mem);
}

static mfs_status predict(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    const cnn_params *p = (const cnn_params *)m->params;
    if (p->task != MFS_MLP_TASK_CLASSIFICATION) return forward(m, "mfs_predict", X, (float *)out->data);
    const int64_t n = X->shape[0], K = n_outputs_of(m);
    float *P = NULL;
    MFS_TRY(mfs__alloc((void **)&P, (size_t)(n * K) * sizeof(float), "mfs_predict", "the probabilities"));
    mfs_status s = forward(m, "mfs_predict", X, P);
    if (s == MFS_OK) {
        int32_t *lab = (int32_t *)out->data;
        for (int64_t i = 0; i < n; i++) {
            const float *r = P + i * K;
            int64_t best = 0;
            for (int64_t k = 1; k < K; k++)
                if (r[k] > r[best]) best = k;
            lab[i] = (int32_t)best;
        }
    }
    mfs__free(P);
    return s;
}

static mfs_status predict_proba(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    const cnn_params *p = (const cnn_params *)m->params;
    if (p->task != MFS_MLP_TASK_CLASSIFICATION)
        return mfs__error(MFS_E_UNSUPPORTED, "mfs_predict_proba: a regression CNN has no probabilities");
    return forward(m, "mfs_predict_proba", X, (float *)out->data);
}

static mfs_status output_shape(const mfs_model *m, mfs_method method, int64_t rows, mfs_dtype *dtype,
                               int32_t *ndim, int64_t *shape) {
    const cnn_params *p = (const cnn_params *)m->params;
    const int cls = p->task == MFS_MLP_TASK_CLASSIFICATION;
    shape[0] = rows;
    if (method == MFS_METHOD_PREDICT && cls) {
        *dtype = MFS_DTYPE_INT32;
        *ndim = 1;
        return MFS_OK;
    }
    if (method == MFS_METHOD_PREDICT || (method == MFS_METHOD_PREDICT_PROBA && cls)) {
        *dtype = MFS_DTYPE_FLOAT32;
        *ndim = 2;
        shape[1] = n_outputs_of(m);
        return MFS_OK;
    }
    return mfs__error(MFS_E_UNSUPPORTED, "mfs_output_shape: cnn has predict%s only", cls ? " and predict_proba" : "");
}

/* A loaded file: the arrays the network of the params needs, with its sizes. */
static mfs_status check_state(const mfs_model *m) {
    const cnn_params *p = (const cnn_params *)m->params;
    const int64_t K = n_outputs_of(m);
    if (K < 1 || K > CNN_MAX_OUTPUTS || (p->task == MFS_MLP_TASK_CLASSIFICATION && K < 2))
        return mfs__error(MFS_E_FORMAT, "cnn: 'n_outputs' missing or out of range (%lld)", (long long)K);
    if (p->task == MFS_MLP_TASK_CLASSIFICATION && p->n_classes && p->n_classes != K)
        return mfs__error(MFS_E_FORMAT, "cnn: n_classes is %d, the network has %lld outputs", (int)p->n_classes,
                          (long long)K);
    mfs__net net;
    if (build_net(p, K, &net, "mfs_model_load") != MFS_OK)
        return mfs__error(MFS_E_FORMAT, "cnn: the architecture of the file is invalid: %s", mfs_last_error());
    if (m->n_features_in != net.in_size)
        return mfs__error(MFS_E_FORMAT, "cnn: n_features_in is %lld, input_shape needs %lld",
                          (long long)m->n_features_in, (long long)net.in_size);
    const mfs_tensor *tp = mfs__array_get(m, "params", MFS_DTYPE_FLOAT32, 1);
    if (!tp || tp->shape[0] != net.n_params + net.n_buffers)
        return mfs__error(MFS_E_FORMAT, "cnn: 'params' missing or not float32 (%lld,)",
                          (long long)(net.n_params + net.n_buffers));
    const int64_t S = net.n_params * mfs__optim_state_per_param(p->train.solver);
    const mfs_tensor *to = mfs__array_get(m, "optimizer_state", MFS_DTYPE_FLOAT32, 1);
    if (!to || to->shape[0] != S)
        return mfs__error(MFS_E_FORMAT, "cnn: 'optimizer_state' missing or not float32 (%lld,)", (long long)S);
    const mfs_tensor *tc = mfs__array_get(m, "counters", MFS_DTYPE_FLOAT64, 1);
    if (!tc || tc->shape[0] != MFS__CNT_COUNT)
        return mfs__error(MFS_E_FORMAT, "cnn: 'counters' missing or not float64 (%d,)", MFS__CNT_COUNT);
    return MFS_OK;
}

const mfs_model_vtable mfs__cnn_vtable = {
    .kind = MFS_MODEL_CNN,
    .name = "cnn",
    .params_size = sizeof(mfs_cnn_params),
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
};
