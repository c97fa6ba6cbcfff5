/* Decision trees (CART): scikit-learn's DecisionTreeClassifier / Regressor.
 * The model resolves its parameters against the data (fractions to counts,
 * max_features to a count, AUTO to EXACT or HIST), grows one tree with the
 * shared builder (tree.c) and keeps scikit-learn's tree_ arrays as its fitted
 * state. Predict walks the flat arrays, OpenMP over rows (CPU), or one GPU
 * thread per row (CUDA: the leaves come from the GPU, the values are then read
 * on the host, so labels and probabilities equal the CPU's).
 *
 * Letters: n training rows, d features, m rows to predict, N nodes, V values
 * per node (K classes or T outputs). */
#include <math.h>
#include <string.h>
#include "classical/tree.h"
#include "core/internal.h"
#include "mfs/decision_tree.h"
#include "src_cuda/cuda_api.h"

typedef mfs_decision_tree_params dt_params;

enum { DT_INFO_LEN = 5 }; /* max_depth, n_leaves, n_classes (0: regression), n_outputs, y ndim */

void mfs_decision_tree_params_default(mfs_decision_tree_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->criterion = MFS_TREE_CRITERION_GINI;
    p->split_algorithm = MFS_TREE_SPLIT_AUTO;
    p->max_depth = -1;
    p->max_features_mode = MFS_TREE_MAX_FEATURES_ALL;
    p->max_features = 0;
    p->min_samples_split = 2;
    p->min_samples_leaf = 1;
    p->min_weight_fraction_leaf = 0;
    p->min_impurity_decrease = 0;
    p->max_leaf_nodes = -1;
    p->random_state = 0;
    p->n_classes = 0;
}

static int is_integral(double x) { return isfinite(x) && x == floor(x); }

static mfs_status check_params(const void *params) {
    const dt_params *p = (const dt_params *)params;
    static const char fn[] = "mfs_model_create";
    if (p->criterion < MFS_TREE_CRITERION_GINI || p->criterion > MFS_TREE_CRITERION_SQUARED_ERROR)
        return mfs__error(MFS_E_INVALID_ARG, "%s: criterion is %d, expected 0 (gini), 1 (entropy) or 2 (squared_error)",
                          fn, (int)p->criterion);
    if (p->split_algorithm < MFS_TREE_SPLIT_AUTO || p->split_algorithm > MFS_TREE_SPLIT_HIST)
        return mfs__error(MFS_E_INVALID_ARG, "%s: split_algorithm is %d, expected 0 (auto), 1 (exact) or 2 (hist)", fn,
                          (int)p->split_algorithm);
    if (p->max_depth == 0 || p->max_depth < -1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_depth is %d, it must be >= 1 (or -1: None)", fn,
                          (int)p->max_depth);
    switch (p->max_features_mode) {
    case MFS_TREE_MAX_FEATURES_ALL:
    case MFS_TREE_MAX_FEATURES_SQRT:
    case MFS_TREE_MAX_FEATURES_LOG2:
        break;
    case MFS_TREE_MAX_FEATURES_COUNT:
        if (!(p->max_features >= 1) || !is_integral(p->max_features))
            return mfs__error(MFS_E_INVALID_ARG, "%s: max_features is %g, a count must be an integer >= 1", fn,
                              p->max_features);
        break;
    case MFS_TREE_MAX_FEATURES_FRACTION:
        if (!(p->max_features > 0 && p->max_features <= 1))
            return mfs__error(MFS_E_INVALID_ARG, "%s: max_features is %g, a fraction must be in (0, 1]", fn,
                              p->max_features);
        break;
    default:
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_features_mode is %d, expected 0..4", fn,
                          (int)p->max_features_mode);
    }
    const double mss = p->min_samples_split;
    if (!((mss > 0 && mss <= 1) || (mss >= 2 && is_integral(mss))))
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: min_samples_split is %g, expected an integer >= 2 or a fraction in (0, 1]", fn, mss);
    const double msl = p->min_samples_leaf;
    if (!((msl > 0 && msl < 1) || (msl >= 1 && is_integral(msl))))
        return mfs__error(MFS_E_INVALID_ARG,
                          "%s: min_samples_leaf is %g, expected an integer >= 1 or a fraction in (0, 1)", fn, msl);
    if (!(p->min_weight_fraction_leaf >= 0 && p->min_weight_fraction_leaf <= 0.5))
        return mfs__error(MFS_E_INVALID_ARG, "%s: min_weight_fraction_leaf is %g, expected a number in [0, 0.5]", fn,
                          p->min_weight_fraction_leaf);
    if (!(p->min_impurity_decrease >= 0) || !isfinite(p->min_impurity_decrease))
        return mfs__error(MFS_E_INVALID_ARG, "%s: min_impurity_decrease is %g, expected a finite number >= 0", fn,
                          p->min_impurity_decrease);
    if (p->max_leaf_nodes != -1 && p->max_leaf_nodes < 2)
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_leaf_nodes is %lld, expected >= 2 (or -1: None)", fn,
                          (long long)p->max_leaf_nodes);
    if (p->n_classes < 0)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_classes is %d, expected >= 1 (or 0: from the labels)", fn,
                          (int)p->n_classes);
    if (p->criterion == MFS_TREE_CRITERION_SQUARED_ERROR && p->n_classes != 0)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_classes is %d, a squared_error (regression) tree needs 0", fn,
                          (int)p->n_classes);
    return MFS_OK;
}

mfs_status mfs_decision_tree_create(const mfs_decision_tree_params *params, mfs_device device, mfs_model **out) {
    return mfs__model_new("mfs_decision_tree_create", MFS_MODEL_DECISION_TREE, params, sizeof *params, device, out);
}

/* scikit-learn's max_features_ for d features. */
static mfs_status resolve_max_features(const char *fn, const dt_params *p, int64_t d, int64_t *mf) {
    switch (p->max_features_mode) {
    case MFS_TREE_MAX_FEATURES_SQRT: *mf = (int64_t)sqrt((double)d); break;
    case MFS_TREE_MAX_FEATURES_LOG2: *mf = (int64_t)log2((double)d); break;
    case MFS_TREE_MAX_FEATURES_COUNT:
        *mf = (int64_t)p->max_features;
        if (*mf > d)
            return mfs__error(MFS_E_INVALID_ARG, "%s: max_features is %lld, X has only %lld features", fn,
                              (long long)*mf, (long long)d);
        return MFS_OK;
    case MFS_TREE_MAX_FEATURES_FRACTION: *mf = (int64_t)(p->max_features * (double)d); break;
    default: *mf = d; return MFS_OK;
    }
    if (*mf < 1) *mf = 1;
    return MFS_OK;
}

/* The optional "sample_weight" input as doubles (n), or NULL. */
static mfs_status read_weights(const mfs_model *m, const char *fn, int64_t n, double **out) {
    *out = NULL;
    if (!mfs__input_find(m, "sample_weight")) return MFS_OK;
    MFS_TRY(mfs__alloc((void **)out, (size_t)n * sizeof(double), fn, "sample_weight"));
    mfs_status s = mfs__input_weights(m, fn, "sample_weight", n, 0, "rows of X", *out, NULL);
    if (s != MFS_OK) {
        mfs__free(*out);
        *out = NULL;
    }
    return s;
}

/* Copy a built tree into the model's named arrays. */
static mfs_status store_tree(mfs_model *m, const mfs__tree *t, int64_t d, int32_t K, int32_t T, int32_t y_ndim) {
    const int64_t N = t->n_nodes, V = t->n_values;
    int64_t s1[1] = {N}, s2[2] = {N, V}, sd[1] = {d}, si[1] = {DT_INFO_LEN};
    void *p;
    MFS_TRY(mfs__array_new(m, "children_left", MFS_DTYPE_INT32, 1, s1, &p));
    memcpy(p, t->children_left, (size_t)N * 4);
    MFS_TRY(mfs__array_new(m, "children_right", MFS_DTYPE_INT32, 1, s1, &p));
    memcpy(p, t->children_right, (size_t)N * 4);
    MFS_TRY(mfs__array_new(m, "feature", MFS_DTYPE_INT32, 1, s1, &p));
    memcpy(p, t->feature, (size_t)N * 4);
    MFS_TRY(mfs__array_new(m, "threshold", MFS_DTYPE_FLOAT64, 1, s1, &p));
    memcpy(p, t->threshold, (size_t)N * 8);
    MFS_TRY(mfs__array_new(m, "value", MFS_DTYPE_FLOAT64, 2, s2, &p));
    memcpy(p, t->value, (size_t)(N * V) * 8);
    MFS_TRY(mfs__array_new(m, "impurity", MFS_DTYPE_FLOAT64, 1, s1, &p));
    memcpy(p, t->impurity, (size_t)N * 8);
    MFS_TRY(mfs__array_new(m, "n_node_samples", MFS_DTYPE_INT64, 1, s1, &p));
    memcpy(p, t->n_node_samples, (size_t)N * 8);
    MFS_TRY(mfs__array_new(m, "weighted_n_node_samples", MFS_DTYPE_FLOAT64, 1, s1, &p));
    memcpy(p, t->weighted_n_node_samples, (size_t)N * 8);
    MFS_TRY(mfs__array_new(m, "feature_importances", MFS_DTYPE_FLOAT64, 1, sd, &p));
    mfs__tree_importances(t->children_left, t->children_right, t->feature, t->impurity, t->weighted_n_node_samples, N,
                          d, 1, (double *)p);
    MFS_TRY(mfs__array_new(m, "info", MFS_DTYPE_INT64, 1, si, &p));
    int64_t *info = (int64_t *)p;
    info[0] = t->max_depth;
    info[1] = t->n_leaves;
    info[2] = K;
    info[3] = T;
    info[4] = y_ndim;
    return MFS_OK;
}

static mfs_status fit(mfs_model *m, const mfs_array *Xa, const mfs_array *ya) {
    static const char fn[] = "mfs_fit";
    const dt_params *p = (const dt_params *)m->params;
    const int64_t n = Xa->shape[0], d = Xa->shape[1];
    const int cls = p->criterion != MFS_TREE_CRITERION_SQUARED_ERROR;
    int32_t K = 0;
    int64_t T = 1;
    if (cls) {
        if (ya->dtype != MFS_DTYPE_INT32)
            return mfs__error(MFS_E_UNSUPPORTED, "%s: criterion %s needs int32 class labels, y has dtype %d", fn,
                              p->criterion == MFS_TREE_CRITERION_GINI ? "gini" : "entropy", (int)ya->dtype);
        K = p->n_classes;
        if (K == 0 && ya->ndim == 1 && ya->shape[0] == n && ya->data) {
            int32_t mx = 0;
            for (int64_t i = 0; i < n; i++)
                if (((const int32_t *)ya->data)[i] > mx) mx = ((const int32_t *)ya->data)[i];
            K = mx == INT32_MAX ? INT32_MAX : mx + 1;
        }
        MFS_TRY(mfs__check_labels(fn, ya, n, K));
    } else {
        if (ya->dtype != MFS_DTYPE_FLOAT32)
            return mfs__error(MFS_E_UNSUPPORTED, "%s: criterion squared_error needs float32 targets, y has dtype %d", fn,
                              (int)ya->dtype);
        MFS_TRY(mfs__check_targets(fn, ya, n, &T));
        if (T > INT32_MAX) return mfs__error(MFS_E_SHAPE, "%s: y has %lld targets", fn, (long long)T);
    }
    double ccp_alpha;
    MFS_TRY(mfs__tree_read_ccp_alpha(m, fn, &ccp_alpha));
    double *w = NULL;
    MFS_TRY(read_weights(m, fn, n, &w));
    double W = 0;
    if (w)
        for (int64_t i = 0; i < n; i++) W += w[i];
    else
        W = (double)n;
    mfs__tree_config c;
    memset(&c, 0, sizeof c);
    c.criterion = p->criterion;
    c.n_classes = K;
    c.n_outputs = (int32_t)T;
    c.max_depth = p->max_depth;
    c.split_algorithm = mfs__tree_resolve_split(p->split_algorithm, n);
    c.n_threads = mfs__num_threads();
    /* scikit-learn's resolution of the fractions */
    c.min_samples_leaf = p->min_samples_leaf >= 1 ? (int64_t)p->min_samples_leaf
                                                  : (int64_t)ceil(p->min_samples_leaf * (double)n);
    if (c.min_samples_leaf < 1) c.min_samples_leaf = 1;
    if (p->min_samples_split >= 2) {
        c.min_samples_split = (int64_t)p->min_samples_split;
    } else {
        c.min_samples_split = (int64_t)ceil(p->min_samples_split * (double)n);
        if (c.min_samples_split < 2) c.min_samples_split = 2;
    }
    if (c.min_samples_split < 2 * c.min_samples_leaf) c.min_samples_split = 2 * c.min_samples_leaf;
    c.min_weight_leaf = p->min_weight_fraction_leaf * W;
    c.min_impurity_decrease = p->min_impurity_decrease;
    c.max_leaf_nodes = p->max_leaf_nodes;
    c.seed = (uint64_t)p->random_state;
    c.stream = 0;
    mfs_status s = resolve_max_features(fn, p, d, &c.max_features);
    if (s != MFS_OK) {
        mfs__free(w);
        return s;
    }
    mfs__tree_data data;
    mfs__tree tree;
    memset(&tree, 0, sizeof tree);
    s = mfs__tree_data_make(fn, (const float *)Xa->data, n, d, c.split_algorithm, c.n_threads, &m->mem, &data);
    if (s == MFS_OK) {
        s = mfs__tree_build(fn, &c, &data, ya->data, w, &m->mem, &tree);
        mfs__tree_data_free(&data);
    }
    if (s == MFS_OK && ccp_alpha > 0.0) s = mfs__tree_prune_ccp(fn, &tree, ccp_alpha);
    if (s == MFS_OK) s = store_tree(m, &tree, d, K, (int32_t)T, cls ? 1 : ya->ndim);
    mfs__tree_free(&tree);
    mfs__free(w);
    return s;
}

/* The fitted arrays of a model (checked by check_state after a load). */
typedef struct dt_view {
    const int32_t *cl, *cr, *feature;
    const double *threshold, *value;
    int64_t N, V, K, T, y_ndim;
} dt_view;

static dt_view view_of(const mfs_model *m) {
    dt_view v;
    v.cl = (const int32_t *)mfs__array_find(m, "children_left")->data;
    v.cr = (const int32_t *)mfs__array_find(m, "children_right")->data;
    v.feature = (const int32_t *)mfs__array_find(m, "feature")->data;
    v.threshold = (const double *)mfs__array_find(m, "threshold")->data;
    const mfs_tensor *val = mfs__array_find(m, "value");
    v.value = (const double *)val->data;
    v.N = val->shape[0];
    v.V = val->shape[1];
    const int64_t *info = (const int64_t *)mfs__array_find(m, "info")->data;
    v.K = info[2];
    v.T = info[3];
    v.y_ndim = info[4];
    return v;
}

/* Leaves (m) of the rows of X, on the model's device. */
static mfs_status leaves_of(const mfs_model *m, const char *fn, const dt_view *v, const float *X, int64_t rows,
                            int32_t **out) {
    MFS_TRY(mfs__alloc((void **)out, (size_t)rows * sizeof(int32_t), fn, "the leaf indices"));
    const int64_t d = m->n_features_in;
    if (m->device == MFS_DEVICE_CUDA) {
        const int64_t off = 0;
        mfs_status s = mfs__tree_apply_cuda(v->cl, v->cr, v->feature, v->threshold, v->N, &off, 1, X, rows, d, *out,
                                            (mfs_mem_counter *)&m->mem);
        if (s != MFS_OK) {
            mfs__free(*out);
            *out = NULL;
        }
        return s;
    }
    mfs__tree_apply(v->cl, v->cr, v->feature, v->threshold, X, rows, d, mfs__num_threads(), *out);
    return MFS_OK;
}

enum { OUT_PREDICT = 0, OUT_PROBA = 1 };

static mfs_status predict_any(const mfs_model *m, const char *fn, const mfs_array *Xa, int what, void *out) {
    const dt_view v = view_of(m);
    const int64_t rows = Xa->shape[0], V = v.V;
    int32_t *leaf = NULL;
    MFS_TRY(leaves_of(m, fn, &v, (const float *)Xa->data, rows, &leaf));
    if (v.K > 0 && what == OUT_PREDICT) {
        int32_t *lab = (int32_t *)out;
        for (int64_t i = 0; i < rows; i++) {
            const double *r = v.value + (int64_t)leaf[i] * V;
            int64_t best = 0;
            for (int64_t k = 1; k < V; k++)
                if (r[k] > r[best]) best = k; /* np.argmax: the first maximum */
            lab[i] = (int32_t)best;
        }
    } else if (v.K > 0) {
        float *pr = (float *)out;
        for (int64_t i = 0; i < rows; i++) {
            const double *r = v.value + (int64_t)leaf[i] * V;
            double s = 0;
            for (int64_t k = 0; k < V; k++) s += r[k];
            if (s == 0.0) s = 1.0; /* scikit-learn's normalizer */
            for (int64_t k = 0; k < V; k++) pr[i * V + k] = (float)(r[k] / s);
        }
    } else {
        float *o = (float *)out;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t t = 0; t < V; t++) o[i * V + t] = (float)v.value[(int64_t)leaf[i] * V + t];
    }
    mfs__free(leaf);
    return MFS_OK;
}

static mfs_status predict(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return predict_any(m, "mfs_predict", X, OUT_PREDICT, out->data);
}

static mfs_status predict_proba(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    return predict_any(m, "mfs_predict_proba", X, OUT_PROBA, out->data);
}

static mfs_status output_shape(const mfs_model *m, mfs_method method, int64_t rows, mfs_dtype *dtype, int32_t *ndim,
                               int64_t *shape) {
    const int64_t *info = (const int64_t *)mfs__array_find(m, "info")->data;
    const int64_t K = info[2], T = info[3], y_ndim = info[4];
    shape[0] = rows;
    if (method == MFS_METHOD_PREDICT) {
        if (K > 0) {
            *dtype = MFS_DTYPE_INT32;
            *ndim = 1;
        } else {
            *dtype = MFS_DTYPE_FLOAT32;
            *ndim = (int32_t)y_ndim;
            if (y_ndim == 2) shape[1] = T;
        }
        return MFS_OK;
    }
    if (method == MFS_METHOD_PREDICT_PROBA && K > 0) {
        *dtype = MFS_DTYPE_FLOAT32;
        *ndim = 2;
        shape[1] = K;
        return MFS_OK;
    }
    return mfs__error(MFS_E_UNSUPPORTED, "mfs_output_shape: a decision_tree %s has predict%s only",
                      K > 0 ? "classifier" : "regressor", K > 0 ? " and predict_proba" : "");
}

/* A loaded file: every array present with consistent shapes, the info
 * consistent with the params, and the node links safe to walk. */
static mfs_status check_state(const mfs_model *m) {
    const dt_params *p = (const dt_params *)m->params;
    const int64_t d = m->n_features_in;
    const mfs_tensor *info = mfs__array_get(m, "info", MFS_DTYPE_INT64, 1);
    const mfs_tensor *val = mfs__array_get(m, "value", MFS_DTYPE_FLOAT64, 2);
    if (!info || info->shape[0] != DT_INFO_LEN)
        return mfs__error(MFS_E_FORMAT, "decision_tree: 'info' missing or not int64 (%d,)", DT_INFO_LEN);
    if (!val || val->shape[0] < 1 || val->shape[0] > INT32_MAX || val->shape[1] < 1 || val->shape[1] > INT32_MAX)
        return mfs__error(MFS_E_FORMAT, "decision_tree: 'value' missing or not float64 (nodes, V)");
    const int64_t N = val->shape[0], V = val->shape[1];
    const int64_t *in = (const int64_t *)info->data;
    const int cls = p->criterion != MFS_TREE_CRITERION_SQUARED_ERROR;
    if (cls && (in[2] != V || in[3] != 1 || in[4] != 1))
        return mfs__error(MFS_E_FORMAT, "decision_tree: a classifier with 'info' (%lld classes, %lld outputs, ndim %lld) and %lld values per node",
                          (long long)in[2], (long long)in[3], (long long)in[4], (long long)V);
    if (!cls && (in[2] != 0 || in[3] != V || (in[4] != 1 && in[4] != 2) || (in[4] == 1 && V != 1)))
        return mfs__error(MFS_E_FORMAT, "decision_tree: a regressor with 'info' (%lld classes, %lld outputs, ndim %lld) and %lld values per node",
                          (long long)in[2], (long long)in[3], (long long)in[4], (long long)V);
    if (p->n_classes != 0 && cls && p->n_classes != V)
        return mfs__error(MFS_E_FORMAT, "decision_tree: n_classes is %d, the arrays have %lld classes", (int)p->n_classes,
                          (long long)V);
    static const char *const i32[] = {"children_left", "children_right", "feature"};
    static const char *const f64[] = {"threshold", "impurity", "weighted_n_node_samples"};
    for (int q = 0; q < 3; q++) {
        const mfs_tensor *t = mfs__array_get(m, i32[q], MFS_DTYPE_INT32, 1);
        if (!t || t->shape[0] != N)
            return mfs__error(MFS_E_FORMAT, "decision_tree: '%s' missing or not int32 (%lld,)", i32[q], (long long)N);
        t = mfs__array_get(m, f64[q], MFS_DTYPE_FLOAT64, 1);
        if (!t || t->shape[0] != N)
            return mfs__error(MFS_E_FORMAT, "decision_tree: '%s' missing or not float64 (%lld,)", f64[q], (long long)N);
    }
    const mfs_tensor *ns = mfs__array_get(m, "n_node_samples", MFS_DTYPE_INT64, 1);
    if (!ns || ns->shape[0] != N)
        return mfs__error(MFS_E_FORMAT, "decision_tree: 'n_node_samples' missing or not int64 (%lld,)", (long long)N);
    const mfs_tensor *fi = mfs__array_get(m, "feature_importances", MFS_DTYPE_FLOAT64, 1);
    if (!fi || fi->shape[0] != d)
        return mfs__error(MFS_E_FORMAT, "decision_tree: 'feature_importances' missing or not float64 (%lld,)",
                          (long long)d);
    return mfs__tree_check("decision_tree", (const int32_t *)mfs__array_find(m, "children_left")->data,
                           (const int32_t *)mfs__array_find(m, "children_right")->data,
                           (const int32_t *)mfs__array_find(m, "feature")->data,
                           (const double *)mfs__array_find(m, "threshold")->data, N, d);
}

mfs_status mfs_decision_tree_apply(const mfs_model *m, const mfs_array *X, mfs_array *leaves) {
    static const char fn[] = "mfs_decision_tree_apply";
    if (!m) return mfs__error(MFS_E_INVALID_ARG, "%s: model is NULL", fn);
    if (m->vt->kind != MFS_MODEL_DECISION_TREE)
        return mfs__error(MFS_E_INVALID_ARG, "%s: the model is a %s, not a decision_tree", fn, m->vt->name);
    if (!m->fitted)
        return mfs__error(MFS_E_NOT_FITTED, "%s: this decision_tree model is not fitted yet; call mfs_fit first", fn);
    if (!leaves) return mfs__error(MFS_E_INVALID_ARG, "%s: leaves is NULL", fn);
    int64_t rows, d;
    MFS_TRY(mfs__check_matrix(fn, "X", X, 0, &rows, &d));
    if (d != m->n_features_in)
        return mfs__error(MFS_E_SHAPE, "%s: X has %lld columns, the model was fitted on %lld", fn, (long long)d,
                          (long long)m->n_features_in);
    const int64_t shape[1] = {rows};
    MFS_TRY(mfs__check_output(fn, leaves, MFS_DTYPE_INT64, 1, shape));
    if (m->device == MFS_DEVICE_CUDA) MFS_TRY(mfs__cuda_require(fn));
    if (rows == 0) return MFS_OK;
    mfs_mem_counter *prev = mfs__scope_enter((mfs_mem_counter *)&m->mem);
    const dt_view v = view_of(m);
    int32_t *leaf = NULL;
    mfs_status s = leaves_of(m, fn, &v, (const float *)X->data, rows, &leaf);
    if (s == MFS_OK) {
        int64_t *o = (int64_t *)leaves->data;
        for (int64_t i = 0; i < rows; i++) o[i] = leaf[i];
    }
    mfs__free(leaf);
    mfs__scope_leave(prev);
    return s;
}

const mfs_model_vtable mfs__decision_tree_vtable = {
    .kind = MFS_MODEL_DECISION_TREE,
    .name = "decision_tree",
    .params_size = sizeof(mfs_decision_tree_params),
    .supervised = 1,
    .check_params = check_params,
    .fit = fit,
    .predict = predict,
    .predict_proba = predict_proba,
    .output_shape = output_shape,
    .check_state = check_state,
};
