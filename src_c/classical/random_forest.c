/* Random forests (scikit-learn's RandomForestClassifier / RandomForestRegressor)
 * on the CART builder of tree.h.
 *
 * Letters: n training rows, d features, T trees, N nodes of all trees, V values
 * per node (K classes or t targets), m rows to predict, B rows of a block.
 *
 * Fit prepares the per-data-set split structure ONCE (feature-major bin codes
 * for the histogram finder, or the exact finder's view of X) and grows the T
 * trees in parallel, one tree per OpenMP task, each built single-threaded. A
 * tree's bootstrap is a vector of per-sample integer counts (its weights: X is
 * never copied), drawn from Philox stream 2^32 + t; its feature sampling uses
 * stream t; both keyed by random_state. A tree therefore depends only on
 * (random_state, t) and the data: the forest is the same for any thread count.
 * Each finished tree is compacted into exact-size blocks; the trees are then
 * concatenated field by field into one set of named arrays (children
 * tree-local, "tree_offsets" marking each tree's rows), so one model file holds
 * the whole forest and the fit never holds two forests. Importances and
 * out-of-bag predictions come from the concatenated arrays (OOB in parallel
 * over blocks of samples, trees summed in index order).
 *
 * Predict packs the forest into 16-byte nodes (children as global rows, leaves
 * their own children, the float32 threshold that decides exactly as the double
 * one for float32 x), then walks blocks of rows tree by tree (a tree's nodes
 * stay in cache for the whole block), 16 rows in lockstep without branches,
 * summing leaf values in double in tree order, so results do not depend on the
 * thread count either. docs/models/random_forest.md has the measurements. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "classical/tree.h"
#include "core/internal.h"
#include "core/rng.h"
#include "mfs/random_forest.h"
#include "src_cuda/cuda_api.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__GLIBC__)
#include <malloc.h> /* malloc_trim */
#endif

enum {
    RF_BLOCK = 2048,       /* rows per predict block, the unit of parallel work: each
                              tree is walked by the whole block (X block + sums in L2) */
    RF_LANES = 16,         /* rows walked in lockstep (16 int32 node indices stay in registers) */
    RF_CHECK = 8,          /* lockstep steps between checks for "all lanes on leaves" */
    RF_OOB_BLOCK = 1024    /* samples per out-of-bag block */
};
static const uint64_t RF_BOOTSTRAP_STREAM = (uint64_t)1 << 32;

typedef mfs_random_forest_params rf_params;

static inline int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

void mfs_random_forest_params_default(mfs_random_forest_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->n_estimators = 100;
    p->criterion = MFS_TREE_CRITERION_GINI;
    p->split_algorithm = MFS_TREE_SPLIT_AUTO;
    p->max_depth = -1;
    p->max_features_mode = MFS_TREE_MAX_FEATURES_SQRT;
    p->bootstrap = 1;
    p->max_features = 1.0;
    p->min_samples_split = 2.0;
    p->min_samples_leaf = 1.0;
    p->min_weight_fraction_leaf = 0.0;
    p->min_impurity_decrease = 0.0;
    p->max_leaf_nodes = -1;
    p->oob_score = 0;
    p->max_samples_mode = MFS_RANDOM_FOREST_MAX_SAMPLES_ALL;
    p->max_samples = 1.0;
    p->random_state = 0;
    p->n_classes = 0;
}

static int is_classifier(const rf_params *p) { return p->criterion != MFS_TREE_CRITERION_SQUARED_ERROR; }
static int is_integral(double v) { return isfinite(v) && v == floor(v); }

static mfs_status check_params(const void *params) {
    const rf_params *p = (const rf_params *)params;
    static const char fn[] = "mfs_model_create";
    if (p->n_estimators < 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_estimators is %d, it must be >= 1", fn, (int)p->n_estimators);
    if (p->criterion < MFS_TREE_CRITERION_GINI || p->criterion > MFS_TREE_CRITERION_SQUARED_ERROR)
        return mfs__error(MFS_E_INVALID_ARG, "%s: criterion is %d, expected 0 (gini), 1 (entropy) or 2 (squared_error)",
                          fn, (int)p->criterion);
    if (p->split_algorithm < MFS_TREE_SPLIT_AUTO || p->split_algorithm > MFS_TREE_SPLIT_HIST)
        return mfs__error(MFS_E_INVALID_ARG, "%s: split_algorithm is %d, expected 0 (auto), 1 (exact) or 2 (hist)", fn,
                          (int)p->split_algorithm);
    if (p->max_depth != -1 && p->max_depth < 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_depth is %d, it must be >= 1 or -1 (None)", fn, (int)p->max_depth);
    switch (p->max_features_mode) {
    case MFS_TREE_MAX_FEATURES_ALL:
    case MFS_TREE_MAX_FEATURES_SQRT:
    case MFS_TREE_MAX_FEATURES_LOG2: break;
    case MFS_TREE_MAX_FEATURES_COUNT:
        if (!is_integral(p->max_features) || p->max_features < 1 || p->max_features > INT32_MAX)
            return mfs__error(MFS_E_INVALID_ARG, "%s: max_features is %g with mode COUNT, it must be an integer >= 1",
                              fn, p->max_features);
        break;
    case MFS_TREE_MAX_FEATURES_FRACTION:
        if (!(p->max_features > 0.0 && p->max_features <= 1.0))
            return mfs__error(MFS_E_INVALID_ARG, "%s: max_features is %g with mode FRACTION, it must be in (0, 1]", fn,
                              p->max_features);
        break;
    default:
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_features_mode is %d, expected 0 (all), 1 (sqrt), 2 (log2), "
                          "3 (count) or 4 (fraction)", fn, (int)p->max_features_mode);
    }
    if (p->bootstrap != 0 && p->bootstrap != 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: bootstrap is %d, expected 0 or 1", fn, (int)p->bootstrap);
    if (!(p->min_samples_split >= 2.0 && is_integral(p->min_samples_split) && p->min_samples_split <= 9.2e18) &&
        !(p->min_samples_split > 0.0 && p->min_samples_split <= 1.0))
        return mfs__error(MFS_E_INVALID_ARG, "%s: min_samples_split is %g, it must be an integer >= 2 or a fraction in (0, 1]",
                          fn, p->min_samples_split);
    if (!(p->min_samples_leaf >= 1.0 && is_integral(p->min_samples_leaf) && p->min_samples_leaf <= 9.2e18) &&
        !(p->min_samples_leaf > 0.0 && p->min_samples_leaf < 1.0))
        return mfs__error(MFS_E_INVALID_ARG, "%s: min_samples_leaf is %g, it must be an integer >= 1 or a fraction in (0, 1)",
                          fn, p->min_samples_leaf);
    if (!(p->min_weight_fraction_leaf >= 0.0 && p->min_weight_fraction_leaf <= 0.5))
        return mfs__error(MFS_E_INVALID_ARG, "%s: min_weight_fraction_leaf is %g, it must be in [0, 0.5]", fn,
                          p->min_weight_fraction_leaf);
    if (!(p->min_impurity_decrease >= 0.0) || !isfinite(p->min_impurity_decrease))
        return mfs__error(MFS_E_INVALID_ARG, "%s: min_impurity_decrease is %g, it must be a finite number >= 0", fn,
                          p->min_impurity_decrease);
    if (p->max_leaf_nodes != -1 && (p->max_leaf_nodes < 2 || p->max_leaf_nodes > INT32_MAX))
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_leaf_nodes is %lld, it must be in [2, 2^31 - 1] or -1 (None)", fn,
                          (long long)p->max_leaf_nodes);
    if (p->oob_score != 0 && p->oob_score != 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: oob_score is %d, expected 0 or 1", fn, (int)p->oob_score);
    if (p->oob_score && !p->bootstrap)
        return mfs__error(MFS_E_INVALID_ARG, "%s: oob_score is 1 but bootstrap is 0: out-of-bag estimation is only "
                          "available with bootstrap", fn);
    switch (p->max_samples_mode) {
    case MFS_RANDOM_FOREST_MAX_SAMPLES_ALL: break;
    case MFS_RANDOM_FOREST_MAX_SAMPLES_COUNT:
        if (!is_integral(p->max_samples) || p->max_samples < 1 || p->max_samples > 9.2e18)
            return mfs__error(MFS_E_INVALID_ARG, "%s: max_samples is %g with mode COUNT, it must be an integer >= 1", fn,
                              p->max_samples);
        break;
    case MFS_RANDOM_FOREST_MAX_SAMPLES_FRACTION:
        if (!(p->max_samples > 0.0 && isfinite(p->max_samples)))
            return mfs__error(MFS_E_INVALID_ARG, "%s: max_samples is %g with mode FRACTION, it must be a finite number > 0",
                              fn, p->max_samples);
        break;
    default:
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_samples_mode is %d, expected 0 (all), 1 (count) or 2 (fraction)",
                          fn, (int)p->max_samples_mode);
    }
    if (p->max_samples_mode != MFS_RANDOM_FOREST_MAX_SAMPLES_ALL && !p->bootstrap)
        return mfs__error(MFS_E_INVALID_ARG, "%s: max_samples is set (mode %d) but bootstrap is 0: it is the size of "
                          "the bootstrap sample", fn, (int)p->max_samples_mode);
    if (p->random_state < 0)
        return mfs__error(MFS_E_INVALID_ARG, "%s: random_state is %lld, it must be >= 0", fn, (long long)p->random_state);
    if (p->n_classes < 0)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_classes is %d, expected >= 1 (or 0: from the labels)", fn,
                          (int)p->n_classes);
    if (!is_classifier(p) && p->n_classes != 0)
        return mfs__error(MFS_E_INVALID_ARG, "%s: n_classes is %d with criterion squared_error (regression); it must be 0",
                          fn, (int)p->n_classes);
    if (p->class_weight_subsample != 0 && p->class_weight_subsample != 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: class_weight_subsample is %d, expected 0 or 1", fn,
                          (int)p->class_weight_subsample);
    if (p->class_weight_subsample && (!is_classifier(p) || !p->bootstrap))
        return mfs__error(MFS_E_INVALID_ARG, "%s: class_weight_subsample needs a classifier (gini / entropy) with "
                          "bootstrap; without bootstrap use the \"balanced\" class weights as sample_weight", fn);
    return MFS_OK;
}

mfs_status mfs_random_forest_create(const mfs_random_forest_params *params, mfs_device device, mfs_model **out) {
    return mfs__model_new("mfs_random_forest_create", MFS_MODEL_RANDOM_FOREST, params, sizeof *params, device, out);
}

/* Pointers into a model's forest arrays (d: the features, as n_features_in
 * is only set once fit returns). */
typedef struct rf_forest {
    int64_t T, N, V, d;
    const int64_t *off;
    const int32_t *left, *right, *feature;
    const double *threshold, *value, *impurity, *wn;
    const int64_t *depth; /* (T) with stride 2: tree_info's max depth, checked at load */
} rf_forest;

static void forest_view(const mfs_model *m, int64_t d, rf_forest *f) {
    const mfs_tensor *off = mfs__array_find(m, "tree_offsets"), *val = mfs__array_find(m, "value");
    f->T = off->shape[0] - 1;
    f->off = (const int64_t *)off->data;
    f->N = f->off[f->T];
    f->V = val->shape[1];
    f->d = d;
    f->value = (const double *)val->data;
    f->left = (const int32_t *)mfs__array_find(m, "children_left")->data;
    f->right = (const int32_t *)mfs__array_find(m, "children_right")->data;
    f->feature = (const int32_t *)mfs__array_find(m, "feature")->data;
    f->threshold = (const double *)mfs__array_find(m, "threshold")->data;
    f->impurity = (const double *)mfs__array_find(m, "impurity")->data;
    f->wn = (const double *)mfs__array_find(m, "weighted_n_node_samples")->data;
    const mfs_tensor *info = mfs__array_find(m, "tree_info");
    f->depth = info ? (const int64_t *)info->data : NULL;
}

/* ---- fit ------------------------------------------------------------------- */

/* Bootstrap draws per tree (scikit-learn's _get_n_samples_bootstrap): n, the
 * count, or max(1, floor(fraction * W)) where W is the total sample weight
 * (n without weights), or an error naming max_samples. */
static mfs_status n_bootstrap(const char *fn, const rf_params *p, int64_t n, double W, int64_t *out) {
    *out = n;
    if (p->max_samples_mode == MFS_RANDOM_FOREST_MAX_SAMPLES_COUNT) {
        *out = (int64_t)p->max_samples;
    } else if (p->max_samples_mode == MFS_RANDOM_FOREST_MAX_SAMPLES_FRACTION) {
        const double k = floor(p->max_samples * W);
        if (!(k < 9.2e18))
            return mfs__error(MFS_E_INVALID_ARG, "%s: max_samples = %g times the total sample weight %g is %g draws "
                              "per tree, too many", fn, p->max_samples, W, k);
        *out = k < 1 ? 1 : (int64_t)k;
    }
    return MFS_OK;
}

/* The build configuration for n rows of d features (everything to counts, as
 * scikit-learn resolves its floats). */
static mfs_status make_config(const char *fn, const rf_params *p, int64_t n, int64_t d, int32_t K, int32_t t,
                              int32_t split, mfs__tree_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->criterion = p->criterion;
    cfg->n_classes = is_classifier(p) ? K : 0;
    cfg->n_outputs = is_classifier(p) ? 1 : t;
    cfg->max_depth = p->max_depth;
    cfg->split_algorithm = split;
    cfg->n_threads = 1;
    cfg->min_samples_split = p->min_samples_split >= 2.0 ? (int64_t)p->min_samples_split
                                                         : (int64_t)ceil(p->min_samples_split * (double)n);
    if (cfg->min_samples_split < 2) cfg->min_samples_split = 2;
    cfg->min_samples_leaf = p->min_samples_leaf >= 1.0 ? (int64_t)p->min_samples_leaf
                                                       : (int64_t)ceil(p->min_samples_leaf * (double)n);
    if (cfg->min_samples_leaf < 1) cfg->min_samples_leaf = 1;
    if (cfg->min_samples_split < 2 * cfg->min_samples_leaf) cfg->min_samples_split = 2 * cfg->min_samples_leaf;
    int64_t mf = d;
    switch (p->max_features_mode) {
    case MFS_TREE_MAX_FEATURES_SQRT: mf = (int64_t)sqrt((double)d); break;
    case MFS_TREE_MAX_FEATURES_LOG2: mf = (int64_t)log2((double)d); break;
    case MFS_TREE_MAX_FEATURES_COUNT:
        if (p->max_features > (double)d)
            return mfs__error(MFS_E_INVALID_ARG, "%s: max_features is %.0f, X has only %lld features", fn,
                              p->max_features, (long long)d);
        mf = (int64_t)p->max_features;
        break;
    case MFS_TREE_MAX_FEATURES_FRACTION: mf = (int64_t)(p->max_features * (double)d); break;
    default: break;
    }
    cfg->max_features = mf < 1 ? 1 : (mf > d ? d : mf);
    cfg->max_leaf_nodes = p->max_leaf_nodes;
    cfg->min_impurity_decrease = p->min_impurity_decrease;
    cfg->seed = (uint64_t)p->random_state;
    return MFS_OK;
}

/* The optional "sample_weight" input: (n,) float32 or float64, finite, >= 0,
 * not all zero, converted to double (NULL when absent). */
static mfs_status read_weights(const mfs_model *m, const char *fn, int64_t n, double **out) {
    *out = NULL;
    if (!mfs__input_find(m, "sample_weight")) return MFS_OK;
    double *w = NULL;
    MFS_TRY(mfs__alloc((void **)&w, (size_t)n * sizeof(double), fn, "the sample weights"));
    mfs_status s = mfs__input_weights(m, fn, "sample_weight", n, 0, "rows of X", w, NULL);
    int any = 0;
    for (int64_t i = 0; s == MFS_OK && i < n; i++) any = any || w[i] > 0;
    if (s == MFS_OK && !any) s = mfs__error(MFS_E_VALUE, "%s: every sample_weight is zero; at least one must be > 0", fn);
    if (s != MFS_OK) {
        mfs__free(w);
        return s;
    }
    *out = w;
    return MFS_OK;
}

/* The first failure inside a parallel region, re-raised in the calling thread
 * (mfs_last_error is thread-local). The lowest tree index wins, so the message
 * does not depend on the schedule. */
typedef struct rf_failure {
    mfs_status status;
    int64_t index;
    char message[512];
} rf_failure;

static void failure_record(rf_failure *f, int64_t index, mfs_status s) {
#pragma omp critical(mfs_random_forest_failure)
    {
        if (f->status == MFS_OK || index < f->index) {
            f->status = s;
            f->index = index;
            snprintf(f->message, sizeof f->message, "%s", mfs_last_error());
        }
    }
}

/* Bootstrap counts of tree t from Philox stream 2^32 + t: nb draws of a row,
 * uniform over the n rows (mfs_rng_below) without sample weights; with them,
 * row i with probability w_i / W (scikit-learn >= 1.9): a uniform u in [0, W)
 * picks the first row whose prefix sum cum[i] exceeds u, so a row of weight 0
 * is never drawn and an integer weight k draws like k copies of the row. */
static void draw_bootstrap(uint64_t seed, int64_t t, int64_t n, int64_t nb, const double *cum, double *counts) {
    mfs_rng rng = mfs_rng_make(seed, RF_BOOTSTRAP_STREAM + (uint64_t)t);
    memset(counts, 0, (size_t)n * sizeof(double));
    if (!cum) {
        for (int64_t q = 0; q < nb; q++) counts[mfs_rng_below(&rng, (uint64_t)n)] += 1.0;
        return;
    }
    const double W = cum[n - 1], below_W = nextafter(W, 0.0);
    for (int64_t q = 0; q < nb; q++) {
        double u = mfs_rng_uniform(&rng) * W;
        if (!(u < W)) u = below_W; /* the product can round up to W */
        int64_t lo = 0, hi = n - 1;
        while (lo < hi) {
            const int64_t mid = lo + (hi - lo) / 2;
            if (cum[mid] > u) hi = mid;
            else lo = mid + 1;
        }
        counts[lo] += 1.0;
    }
}

/* One grown tree, compacted: each of scikit-learn's arrays in its own
 * exact-size block, so that concatenating the forest can free them field by
 * field (the peak stays near one forest, not two). */
enum { RF_FIELDS = 8 };
typedef struct rf_tree {
    int64_t n_nodes, n_leaves;
    int32_t max_depth;
    void *field[RF_FIELDS]; /* children_left, children_right, feature, threshold, value,
                               impurity, weighted_n_node_samples, n_node_samples */
} rf_tree;

static const char *const rf_field_name[RF_FIELDS] = {
    "children_left", "children_right", "feature", "threshold", "value",
    "impurity", "weighted_n_node_samples", "n_node_samples"};
static const mfs_dtype rf_field_dtype[RF_FIELDS] = {
    MFS_DTYPE_INT32, MFS_DTYPE_INT32, MFS_DTYPE_INT32, MFS_DTYPE_FLOAT64, MFS_DTYPE_FLOAT64,
    MFS_DTYPE_FLOAT64, MFS_DTYPE_FLOAT64, MFS_DTYPE_INT64};

static void rf_tree_free(rf_tree *t) {
    for (int k = 0; k < RF_FIELDS; k++) mfs__free(t->field[k]);
    memset(t, 0, sizeof *t);
}

/* Bytes per node of field k (value: V doubles). */
static size_t field_bytes(int k, int64_t V) {
    return k == 4 ? (size_t)V * sizeof(double) : mfs__dtype_size(rf_field_dtype[k]);
}

/* Move the builder's tree into exact-size blocks (the builder's arrays grow by
 * doubling: up to half of them is slack). */
static mfs_status compact(const char *fn, mfs__tree *src, int64_t V, rf_tree *dst) {
    const void *from[RF_FIELDS] = {src->children_left, src->children_right, src->feature, src->threshold,
                                   src->value, src->impurity, src->weighted_n_node_samples, src->n_node_samples};
    memset(dst, 0, sizeof *dst);
    dst->n_nodes = src->n_nodes;
    dst->n_leaves = src->n_leaves;
    dst->max_depth = src->max_depth;
    for (int k = 0; k < RF_FIELDS; k++) {
        const size_t bytes = (size_t)src->n_nodes * field_bytes(k, V);
        mfs_status s = mfs__alloc(&dst->field[k], bytes, fn, "a tree of the forest");
        if (s != MFS_OK) {
            rf_tree_free(dst);
            mfs__tree_free(src);
            return s;
        }
        memcpy(dst->field[k], from[k], bytes);
    }
    mfs__tree_free(src);
    return MFS_OK;
}

typedef struct rf_fit {
    const rf_params *p;
    const mfs__tree_config *cfg;
    const mfs__tree_data *data;
    const void *y;
    const double *sw;      /* (n) tree weights without bootstrap, or NULL */
    const double *cum;     /* (n) prefix sums of the sample weights for a weighted bootstrap, or NULL */
    int64_t n, nb, T;
    rf_tree *trees;        /* (T) */
    int64_t V;
    uint64_t *oob;         /* (T, words) out-of-bag bits, or NULL */
    int64_t words;
    mfs_mem_counter *mem;
    double ccp_alpha;      /* > 0: each grown tree is cost-complexity pruned (scikit-learn's ccp_alpha) */
} rf_fit;

/* Grow tree t; weights is this thread's scratch (n + V). */
static mfs_status grow_one(const char *fn, const rf_fit *F, int64_t t, double *weights) {
    mfs__tree_config cfg = *F->cfg;
    cfg.stream = (uint64_t)t;
    const double *w = F->sw;
    double total = 0;
    if (F->p->bootstrap) {
        draw_bootstrap(cfg.seed, t, F->n, F->nb, F->cum, weights);
        if (F->oob) {
            uint64_t *bits = F->oob + t * F->words;
            for (int64_t i = 0; i < F->n; i++)
                if (weights[i] == 0.0) bits[i >> 6] |= (uint64_t)1 << (i & 63);
        }
        w = weights;
        if (F->p->class_weight_subsample) {
            /* scikit-learn's "balanced_subsample": compute_sample_weight("balanced")
             * on this tree's draws: a row of class k weighs n_draws / (classes
             * drawn * draws of class k), times its draw count */
            const int32_t *y = (const int32_t *)F->y;
            double *per = weights + F->n; /* the thread's scratch has V more values */
            double drawn = 0;
            int64_t present = 0;
            for (int64_t k = 0; k < F->V; k++) per[k] = 0.0;
            for (int64_t i = 0; i < F->n; i++) {
                per[y[i]] += weights[i];
                drawn += weights[i];
            }
            for (int64_t k = 0; k < F->V; k++) present += per[k] > 0.0;
            for (int64_t k = 0; k < F->V; k++) per[k] = per[k] > 0.0 ? drawn / ((double)present * per[k]) : 0.0;
            for (int64_t i = 0; i < F->n; i++) weights[i] *= per[y[i]];
        }
    }
    if (w)
        for (int64_t i = 0; i < F->n; i++) total += w[i];
    else
        total = (double)F->n;
    if (!(total > 0)) /* not reached: fit checks that some weight is > 0, and a bootstrap draws nb >= 1 rows */
        return mfs__error(MFS_E_VALUE, "%s: tree %lld has total sample weight 0", fn, (long long)t);
    cfg.min_weight_leaf = F->p->min_weight_fraction_leaf * total;
    mfs__tree grown;
    memset(&grown, 0, sizeof grown);
    mfs_status s = mfs__tree_build(fn, &cfg, F->data, F->y, w, F->mem, &grown);
    if (s == MFS_OK && F->ccp_alpha > 0.0) s = mfs__tree_prune_ccp(fn, &grown, F->ccp_alpha);
    if (s != MFS_OK) {
        mfs__tree_free(&grown);
        return s;
    }
    return compact(fn, &grown, F->V, &F->trees[t]);
}

static mfs_status grow_all(const char *fn, const rf_fit *F) {
    const int64_t T = F->T;
    int nt = mfs__num_threads();
    if (nt > T) nt = (int)T;
    double *scratch = NULL;
    const size_t stride = (size_t)F->n + (size_t)F->V; /* per thread: the weights, then per-class sums */
    MFS_TRY(mfs__alloc((void **)&scratch, (size_t)nt * stride * sizeof(double), fn, "the bootstrap weights"));
    rf_failure fail = {MFS_OK, 0, {0}};
    if (nt == 1) {
        /* one tree at a time: it may use every thread itself (same tree for any count) */
        mfs__tree_config one = *F->cfg;
        one.n_threads = mfs__num_threads();
        rf_fit G = *F;
        G.cfg = &one;
        F = &G;
        for (int64_t t = 0; t < T && fail.status == MFS_OK; t++) {
            mfs_status s = grow_one(fn, F, t, scratch);
            if (s != MFS_OK) failure_record(&fail, t, s);
        }
    } else {
#pragma omp parallel num_threads(nt)
        {
            mfs_mem_counter *prev = mfs__scope_enter(F->mem); /* charge this thread's allocations to the model */
            double *mine = scratch + (size_t)thread_id() * stride;
#pragma omp for schedule(dynamic, 1)
            for (int64_t t = 0; t < T; t++) {
                int stop;
#pragma omp atomic read
                stop = fail.status;
                if (stop) continue;
                mfs_status s = grow_one(fn, F, t, mine);
                if (s != MFS_OK) failure_record(&fail, t, s);
            }
            mfs__scope_leave(prev);
        }
    }
    mfs__free(scratch);
    if (fail.status != MFS_OK) return mfs__error(fail.status, "%s", fail.message);
    return MFS_OK;
}

/* The per-tree blocks are small heap chunks: free() keeps their pages in the
 * allocator's arenas, so without this the process would hold the forest twice
 * (the blocks and the concatenated arrays) at the end of fit. glibc can hand
 * free pages in the middle of its heaps back to the system; elsewhere this is
 * a no-op. It frees nothing that anyone holds. */
static void release_free_pages(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

/* Concatenate the trees into the model's named arrays, one field at a time,
 * freeing each tree's block of that field once copied. */
static mfs_status store_trees(mfs_model *m, rf_tree *trees, int64_t T, int64_t V) {
    int64_t N = 0;
    for (int64_t t = 0; t < T; t++) N += trees[t].n_nodes;
    int64_t shape[2] = {T + 1, 0};
    int64_t *off, *info;
    MFS_TRY(mfs__array_new(m, "tree_offsets", MFS_DTYPE_INT64, 1, shape, (void **)&off));
    shape[0] = T;
    shape[1] = 2;
    MFS_TRY(mfs__array_new(m, "tree_info", MFS_DTYPE_INT64, 2, shape, (void **)&info));
    off[0] = 0;
    for (int64_t t = 0; t < T; t++) {
        off[t + 1] = off[t] + trees[t].n_nodes;
        info[2 * t] = trees[t].max_depth;
        info[2 * t + 1] = trees[t].n_leaves;
    }
    for (int k = 0; k < RF_FIELDS; k++) {
        char *dst;
        shape[0] = N;
        shape[1] = V;
        MFS_TRY(mfs__array_new(m, rf_field_name[k], rf_field_dtype[k], k == 4 ? 2 : 1, shape, (void **)&dst));
        const size_t per = field_bytes(k, V);
        for (int64_t t = 0; t < T; t++) {
            memcpy(dst + (size_t)off[t] * per, trees[t].field[k], (size_t)trees[t].n_nodes * per);
            mfs__free(trees[t].field[k]);
            trees[t].field[k] = NULL;
        }
        release_free_pages();
    }
    return MFS_OK;
}

/* scikit-learn's feature_importances_: the mean of the normalized importances
 * of the trees with more than one node, renormalized (zeros if none split). */
static mfs_status store_importances(mfs_model *m, const char *fn, const rf_forest *f) {
    const int64_t d = f->d;
    double *imp, *one = NULL;
    int64_t shape[1] = {d};
    MFS_TRY(mfs__array_new(m, "feature_importances", MFS_DTYPE_FLOAT64, 1, shape, (void **)&imp));
    MFS_TRY(mfs__alloc((void **)&one, (size_t)d * sizeof(double), fn, "the importances of a tree"));
    int64_t used = 0;
    for (int64_t t = 0; t < f->T; t++) {
        const int64_t o = f->off[t], c = f->off[t + 1] - o;
        if (c <= 1) continue;
        mfs__tree_importances(f->left + o, f->right + o, f->feature + o, f->impurity + o, f->wn + o, c, d, 1, one);
        for (int64_t j = 0; j < d; j++) imp[j] += one[j];
        used++;
    }
    mfs__free(one);
    if (used == 0) return MFS_OK;
    double s = 0;
    for (int64_t j = 0; j < d; j++) s += (imp[j] /= (double)used);
    if (s > 0)
        for (int64_t j = 0; j < d; j++) imp[j] /= s;
    return MFS_OK;
}

/* Out-of-bag decision function / prediction (n, V) and the score: accuracy of
 * its argmax, or R^2 (uniform average over targets), as scikit-learn. */
static mfs_status store_oob(mfs_model *m, const char *fn, const rf_fit *F, const rf_forest *f, const float *X,
                            int64_t d, int64_t V) {
    const int64_t n = F->n, T = F->T;
    const int cls = is_classifier(F->p);
    double *pred, *score;
    int64_t shape[2] = {n, V};
    MFS_TRY(mfs__array_new(m, cls ? "oob_decision_function" : "oob_prediction", MFS_DTYPE_FLOAT64, 2, shape,
                           (void **)&pred));
    MFS_TRY(mfs__array_new(m, "oob_score", MFS_DTYPE_FLOAT64, 0, shape, (void **)&score));
    const int64_t nblocks = (n + RF_OOB_BLOCK - 1) / RF_OOB_BLOCK;
    int nt = mfs__num_threads();
    if (nt > nblocks) nt = (int)nblocks;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nblocks; b++) {
        const int64_t i0 = b * RF_OOB_BLOCK, i1 = i0 + RF_OOB_BLOCK < n ? i0 + RF_OOB_BLOCK : n;
        for (int64_t i = i0; i < i1; i++) {
            double *row = pred + i * V;
            int64_t count = 0;
            for (int64_t t = 0; t < T; t++) {
                if (!((F->oob[t * F->words + (i >> 6)] >> (i & 63)) & 1)) continue;
                const int64_t o = f->off[t];
                const int32_t leaf = mfs__tree_leaf(f->left + o, f->right + o, f->feature + o, f->threshold + o,
                                                    X + i * d);
                const double *v = f->value + (o + leaf) * V;
                for (int64_t k = 0; k < V; k++) row[k] += v[k];
                count++;
            }
            if (count > 1)
                for (int64_t k = 0; k < V; k++) row[k] /= (double)count;
        }
    }
    (void)fn;
    if (cls) {
        const int32_t *y = (const int32_t *)F->y;
        int64_t right = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t best = 0;
            for (int64_t k = 1; k < V; k++)
                if (pred[i * V + k] > pred[i * V + best]) best = k;
            right += best == y[i];
        }
        *score = (double)right / (double)n;
        return MFS_OK;
    }
    const float *y = (const float *)F->y;
    double r2 = 0;
    for (int64_t k = 0; k < V; k++) {
        double mean = 0, ss_res = 0, ss_tot = 0;
        for (int64_t i = 0; i < n; i++) mean += y[i * V + k];
        mean /= (double)n;
        for (int64_t i = 0; i < n; i++) {
            const double e = (double)y[i * V + k] - pred[i * V + k], c = (double)y[i * V + k] - mean;
            ss_res += e * e;
            ss_tot += c * c;
        }
        /* scikit-learn's force_finite: a constant target scores 1 if predicted exactly, else 0 */
        r2 += ss_tot > 0 ? 1.0 - ss_res / ss_tot : (ss_res == 0 ? 1.0 : 0.0);
    }
    *score = r2 / (double)V;
    return MFS_OK;
}

static mfs_status fit(mfs_model *m, const mfs_array *Xa, const mfs_array *ya) {
    static const char fn[] = "mfs_fit";
    const rf_params *p = (const rf_params *)m->params;
    const int64_t n = Xa->shape[0], d = Xa->shape[1], T = p->n_estimators;
    const float *X = (const float *)Xa->data;
    int32_t K = 0;
    int64_t t = 1;
    if (is_classifier(p)) {
        if (ya->dtype != MFS_DTYPE_INT32)
            return mfs__error(MFS_E_INVALID_ARG, "%s: criterion %d classifies: y must be int32 labels 0..K-1, got dtype %d",
                              fn, (int)p->criterion, (int)ya->dtype);
        if (ya->ndim != 1 || ya->shape[0] != n)
            return mfs__error(MFS_E_SHAPE, "%s: y must have shape (%lld,), got a %d-D array of %lld rows", fn,
                              (long long)n, (int)ya->ndim, (long long)(ya->ndim > 0 ? ya->shape[0] : 0));
        K = p->n_classes;
        if (K == 0) {
            const int32_t *yl = (const int32_t *)ya->data;
            int32_t mx = -1;
            for (int64_t i = 0; i < n; i++)
                if (yl[i] < 0) return mfs__error(MFS_E_VALUE, "%s: y[%lld] = %d, labels must be >= 0", fn, (long long)i, (int)yl[i]);
                else if (yl[i] > mx) mx = yl[i];
            if (mx == INT32_MAX) return mfs__error(MFS_E_VALUE, "%s: y holds label %d, too large", fn, (int)mx);
            K = mx + 1;
        }
        MFS_TRY(mfs__check_labels(fn, ya, n, K));
    } else {
        if (ya->dtype != MFS_DTYPE_FLOAT32)
            return mfs__error(MFS_E_INVALID_ARG, "%s: criterion squared_error regresses: y must be float32 targets, got dtype %d",
                              fn, (int)ya->dtype);
        MFS_TRY(mfs__check_targets(fn, ya, n, &t));
        if (t < 1 || t > INT32_MAX) return mfs__error(MFS_E_SHAPE, "%s: y has %lld targets, expected >= 1", fn, (long long)t);
    }
    const int64_t V = is_classifier(p) ? K : t;
    const int32_t split = mfs__tree_resolve_split(p->split_algorithm, n);
    mfs__tree_config cfg;
    MFS_TRY(make_config(fn, p, n, d, K, (int32_t)t, split, &cfg));
    double ccp_alpha;
    MFS_TRY(mfs__tree_read_ccp_alpha(m, fn, &ccp_alpha));
    double *sw = NULL, *cum = NULL;
    MFS_TRY(read_weights(m, fn, n, &sw));
    double W = (double)n;
    if (sw && p->bootstrap) { /* the weights only choose the draws: prefix sums, in place */
        const double w0 = sw[0];
        int constant = 1;
        double c = 0;
        for (int64_t i = 0; i < n; i++) {
            constant &= sw[i] == w0;
            sw[i] = c += sw[i];
        }
        W = c;
        cum = sw;
        sw = NULL;
        if (constant) { /* equal weights draw uniformly: the unweighted draws, the same forest */
            mfs__free(cum);
            cum = NULL;
        }
    }
    int64_t nb;
    mfs_status s = n_bootstrap(fn, p, n, W, &nb);
    if (s != MFS_OK) {
        mfs__free(sw);
        mfs__free(cum);
        return s;
    }
    mfs_mem_counter *mem = &m->mem;
    mfs__tree_data data;
    memset(&data, 0, sizeof data);
    rf_tree *trees = NULL;
    uint64_t *oob = NULL;
    const int64_t words = (n + 63) / 64;
    s = mfs__tree_data_make(fn, X, n, d, split, mfs__num_threads(), mem, &data);
    if (s != MFS_OK) goto done;
    trees = (rf_tree *)mfs__calloc((size_t)T, sizeof(rf_tree));
    if (!trees) {
        s = mfs__error(MFS_E_NOMEM, "%s: out of memory for %lld trees", fn, (long long)T);
        goto done;
    }
    if (p->oob_score) {
        size_t bytes;
        if (mfs__mul_overflows((size_t)T * (size_t)words, sizeof(uint64_t), &bytes) ||
            !(oob = (uint64_t *)mfs__calloc(bytes, 1))) {
            s = mfs__error(MFS_E_NOMEM, "%s: out of memory for the out-of-bag masks", fn);
            goto done;
        }
    }
    rf_fit F = {p, &cfg, &data, ya->data, sw, cum, n, nb, T, trees, V, oob, words, mem, ccp_alpha};
    if ((s = grow_all(fn, &F)) != MFS_OK) goto done;
    /* the per-data-set structure is no longer needed: free it before the copy */
    mfs__tree_data_free(&data);
    if ((s = store_trees(m, trees, T, V)) != MFS_OK) goto done;
    rf_forest f;
    forest_view(m, d, &f);
    if ((s = store_importances(m, fn, &f)) != MFS_OK) goto done;
    if (p->oob_score && (s = store_oob(m, fn, &F, &f, X, d, V)) != MFS_OK) goto done;
    int64_t shape[1] = {4};
    int64_t *info;
    if ((s = mfs__array_new(m, "info", MFS_DTYPE_INT64, 1, shape, (void **)&info)) != MFS_OK) goto done;
    info[0] = is_classifier(p) ? K : 0;
    info[1] = is_classifier(p) ? 1 : t;
    info[2] = nb;
    info[3] = n;
done:
    if (trees)
        for (int64_t q = 0; q < T; q++) rf_tree_free(&trees[q]);
    mfs__free(trees);
    mfs__free(oob);
    mfs__free(sw);
    mfs__free(cum);
    mfs__tree_data_free(&data);
    return s;
}

/* ---- predict ------------------------------------------------------------------ */

/* A node for inference: children as global rows (left < 0: a leaf), and the
 * float32 threshold that sends a float32 x left exactly when
 * (double)x <= the double threshold (the largest float <= it). */
typedef mfs__forest_node rf_node; /* src_cuda/cuda_api.h */

static float floor_float(double t) {
    float f = (float)t;
    if ((double)f > t) f = nextafterf(f, -INFINITY);
    return f;
}

/* nodes (N): the packed forest. */
static void pack_nodes(const rf_forest *f, rf_node *nodes) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (f->N > (1 << 16))
    for (int64_t t = 0; t < f->T; t++) {
        const int64_t o = f->off[t];
        for (int64_t q = o; q < f->off[t + 1]; q++) {
            rf_node *nd = &nodes[q];
            if (f->left[q] == MFS__TREE_LEAF) { /* a leaf is its own child: extra steps stay put */
                nd->left = (int32_t)q;
                nd->right = (int32_t)q;
                nd->feature = 0;
                nd->threshold = 0.f;
            } else {
                nd->left = (int32_t)(o + f->left[q]);
                nd->right = (int32_t)(o + f->right[q]);
                nd->feature = f->feature[q];
                nd->threshold = floor_float(f->threshold[q]);
            }
        }
    }
}

enum { OUT_LABELS = 0, OUT_PROBA = 1, OUT_VALUES = 2 };

/* acc (B, V) += the leaf values of rows X (B, d) in the tree rooted at node
 * `root` whose leaves are at most `depth` steps down. Rows go RF_LANES at a
 * time in lockstep, every lane taking a step each round whether or not it
 * already sits on a leaf (leaves are their own children): no branch on the
 * data, the child is a conditional move, and the lanes' node loads are
 * independent, so their cache misses overlap. Every RF_CHECK steps the
 * group stops early when all lanes are on leaves (unbalanced trees). */
static void tree_walk(const rf_node *nodes, int32_t root, int32_t depth, const double *value, int64_t V,
                      const float *X, int64_t d, int64_t B, double *acc) {
    int64_t r = 0;
    for (; r + RF_LANES <= B; r += RF_LANES) {
        int32_t q[RF_LANES];
        for (int l = 0; l < RF_LANES; l++) q[l] = root;
        for (int32_t st = 0; st < depth; st += RF_CHECK) {
            const int32_t e = depth - st < RF_CHECK ? depth - st : RF_CHECK;
            for (int32_t u = 0; u < e; u++)
                for (int l = 0; l < RF_LANES; l++) {
                    const rf_node nd = nodes[q[l]];
                    q[l] = X[(r + l) * d + nd.feature] <= nd.threshold ? nd.left : nd.right;
                }
            int done = 1;
            for (int l = 0; l < RF_LANES; l++) done &= nodes[q[l]].left == q[l];
            if (done) break;
        }
        for (int l = 0; l < RF_LANES; l++) {
            const double *v = value + (int64_t)q[l] * V;
            double *a = acc + (r + l) * V;
            for (int64_t k = 0; k < V; k++) a[k] += v[k];
        }
    }
    for (; r < B; r++) {
        const float *x = X + r * d;
        int32_t q = root;
        while (nodes[q].left != q) q = x[nodes[q].feature] <= nodes[q].threshold ? nodes[q].left : nodes[q].right;
        const double *v = value + (int64_t)q * V;
        double *a = acc + r * V;
        for (int64_t k = 0; k < V; k++) a[k] += v[k];
    }
}

/* acc (B, V) = sum over trees, in tree order, of the leaf values of rows X
 * (B, d): each tree takes the whole block before the next one, so its nodes
 * are read from cache by B rows. nodes NULL: walk the unpacked arrays (a
 * batch too small to pay for packing). */
static void block_sum(const rf_forest *f, const rf_node *nodes, const float *X, int64_t B, double *acc) {
    const int64_t V = f->V, d = f->d;
    memset(acc, 0, (size_t)(B * V) * sizeof(double));
    for (int64_t t = 0; t < f->T; t++) {
        const int64_t o = f->off[t];
        if (nodes) {
            tree_walk(nodes, (int32_t)o, (int32_t)f->depth[2 * t], f->value, V, X, d, B, acc);
            continue;
        }
        for (int64_t r = 0; r < B; r++) {
            const int32_t leaf = mfs__tree_leaf(f->left + o, f->right + o, f->feature + o, f->threshold + o, X + r * d);
            const double *v = f->value + (o + leaf) * V;
            double *a = acc + r * V;
            for (int64_t k = 0; k < V; k++) a[k] += v[k];
        }
    }
}

/* acc row (V) -> label / probabilities / mean values. */
static void finish_row(const double *a, int64_t V, double invT, int what, void *out, int64_t r) {
    if (what == OUT_LABELS) {
        int64_t best = 0;
        for (int64_t k = 1; k < V; k++)
            if (a[k] > a[best]) best = k;
        ((int32_t *)out)[r] = (int32_t)best;
        return;
    }
    float *o = (float *)out + r * V;
    for (int64_t k = 0; k < V; k++) o[k] = (float)(a[k] * invT);
}

static mfs_status apply(const mfs_model *m, const char *fn, const mfs_array *Xa, int what, void *out) {
    rf_forest f;
    forest_view(m, m->n_features_in, &f);
    const int64_t n = Xa->shape[0], V = f.V;
    const float *X = (const float *)Xa->data;
    rf_node *nodes = NULL;
    /* packing costs a pass over the N nodes: worth it unless the batch visits far fewer */
    const int pack = m->device == MFS_DEVICE_CUDA || n * f.T * 4 >= f.N;
    if (pack) {
        MFS_TRY(mfs__alloc((void **)&nodes, (size_t)f.N * sizeof(rf_node), fn, "the packed forest"));
        pack_nodes(&f, nodes);
    }
    mfs_status s = MFS_OK;
    if (m->device == MFS_DEVICE_CUDA) {
        int32_t *depth = NULL;
        s = mfs__alloc((void **)&depth, (size_t)f.T * sizeof(int32_t), fn, "the tree depths");
        if (s == MFS_OK) {
            for (int64_t t = 0; t < f.T; t++) depth[t] = (int32_t)f.depth[2 * t];
            s = mfs__random_forest_predict_cuda(X, n, f.d, f.T, f.off, depth, nodes, f.N, f.value, V,
                                                what == OUT_LABELS ? NULL : (float *)out,
                                                what == OUT_LABELS ? (int32_t *)out : NULL, (mfs_mem_counter *)&m->mem);
        }
        mfs__free(depth);
        mfs__free(nodes);
        return s;
    }
    /* Blocks of at most RF_BLOCK rows, their count a multiple of the threads
     * so every thread gets as many (10,000 rows on 2 threads: 6 blocks of
     * 1,667, not 2,048 + ... + 1,808 with one thread doing 3 of 5). The sums
     * are per row in tree order, so the blocking does not change a bit. */
    int64_t nb = (n + RF_BLOCK - 1) / RF_BLOCK;
    int nt = mfs__num_threads();
    if (nt > nb) nt = (int)nb;
    if (nt > 1 && nb % nt) nb += nt - nb % nt;
    const int64_t rb = (n + nb - 1) / nb;
    double *acc = NULL;
    s = mfs__alloc((void **)&acc, (size_t)nt * RF_BLOCK * (size_t)V * sizeof(double), fn, "the prediction blocks");
    if (s != MFS_OK) {
        mfs__free(nodes);
        return s;
    }
    const double invT = 1.0 / (double)f.T;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nb; b++) {
        double *a = acc + (size_t)(nt > 1 ? thread_id() : 0) * RF_BLOCK * (size_t)V;
        const int64_t r0 = b * rb, B = n - r0 < rb ? n - r0 : rb;
        if (B <= 0) continue;
        block_sum(&f, nodes, X + r0 * f.d, B, a);
        for (int64_t r = 0; r < B; r++) finish_row(a + r * V, V, invT, what, out, r0 + r);
    }
    mfs__free(acc);
    mfs__free(nodes);
    return MFS_OK;
}

static mfs_status predict(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    const rf_params *p = (const rf_params *)m->params;
    return apply(m, "mfs_predict", X, is_classifier(p) ? OUT_LABELS : OUT_VALUES, out->data);
}

static mfs_status predict_proba(const mfs_model *m, const mfs_array *X, mfs_array *out) {
    const rf_params *p = (const rf_params *)m->params;
    if (!is_classifier(p))
        return mfs__error(MFS_E_UNSUPPORTED, "mfs_predict_proba: this random forest is a regressor (criterion squared_error)");
    return apply(m, "mfs_predict_proba", X, OUT_PROBA, out->data);
}

mfs_status mfs_random_forest_apply(const mfs_model *m, const mfs_array *Xa, mfs_array *leaves) {
    static const char fn[] = "mfs_random_forest_apply";
    if (!m) return mfs__error(MFS_E_INVALID_ARG, "%s: model is NULL", fn);
    if (m->vt->kind != MFS_MODEL_RANDOM_FOREST)
        return mfs__error(MFS_E_INVALID_ARG, "%s: the model is a %s, not a random_forest", fn, m->vt->name);
    if (!m->fitted) return mfs__error(MFS_E_NOT_FITTED, "%s: this random_forest model is not fitted yet; call mfs_fit first", fn);
    int64_t n, d;
    MFS_TRY(mfs__check_matrix(fn, "X", Xa, 0, &n, &d));
    if (d != m->n_features_in)
        return mfs__error(MFS_E_SHAPE, "%s: X has %lld columns, the model was fitted on %lld", fn, (long long)d,
                          (long long)m->n_features_in);
    rf_forest f;
    forest_view(m, m->n_features_in, &f);
    const int64_t shape[2] = {n, f.T};
    MFS_TRY(mfs__check_output(fn, leaves, MFS_DTYPE_INT64, 2, shape));
    const float *X = (const float *)Xa->data;
    int64_t *out = (int64_t *)leaves->data;
    mfs_mem_counter *prev = mfs__scope_enter((mfs_mem_counter *)&m->mem);
    int nt = mfs__num_threads();
    if (n * f.T < (1 << 12)) nt = 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < f.T; t++) {
            const int64_t o = f.off[t];
            out[i * f.T + t] = mfs__tree_leaf(f.left + o, f.right + o, f.feature + o, f.threshold + o, X + i * d);
        }
    mfs__scope_leave(prev);
    return MFS_OK;
}

static mfs_status output_shape(const mfs_model *m, mfs_method method, int64_t rows, mfs_dtype *dtype,
                               int32_t *ndim, int64_t *shape) {
    const rf_params *p = (const rf_params *)m->params;
    const mfs_tensor *val = mfs__array_find(m, "value");
    const int64_t V = val ? val->shape[1] : 0;
    shape[0] = rows;
    if (method == MFS_METHOD_PREDICT) {
        if (is_classifier(p)) {
            *dtype = MFS_DTYPE_INT32;
            *ndim = 1;
        } else {
            *dtype = MFS_DTYPE_FLOAT32;
            *ndim = V == 1 ? 1 : 2;
            shape[1] = V == 1 ? 0 : V;
        }
        return MFS_OK;
    }
    if (method == MFS_METHOD_PREDICT_PROBA && is_classifier(p)) {
        *dtype = MFS_DTYPE_FLOAT32;
        *ndim = 2;
        shape[1] = V;
        return MFS_OK;
    }
    return mfs__error(MFS_E_UNSUPPORTED, "mfs_output_shape: random_forest has predict%s only",
                      is_classifier(p) ? " and predict_proba" : "");
}

/* ---- model files ------------------------------------------------------------------ */

static mfs_status need(const mfs_model *m, const char *name, mfs_dtype dtype, int32_t ndim, int64_t rows,
                       int64_t cols, const mfs_tensor **out) {
    const mfs_tensor *t = mfs__array_get(m, name, dtype, ndim);
    if (!t || (rows >= 0 && t->shape[0] != rows) || (ndim == 2 && cols >= 0 && t->shape[1] != cols))
        return mfs__error(MFS_E_FORMAT, "random_forest: '%s' missing or not a %d-D array of dtype %d with %lld rows", name,
                          (int)ndim, (int)dtype, (long long)rows);
    if (out) *out = t;
    return MFS_OK;
}

/* A loaded file: the arrays predict reads exist with consistent shapes, every
 * tree is a valid tree of its own rows, values are finite. */
static mfs_status check_state(const mfs_model *m) {
    const rf_params *p = (const rf_params *)m->params;
    const int64_t d = m->n_features_in;
    const mfs_tensor *offs = NULL, *info_t = NULL, *val_t = NULL;
    MFS_TRY(need(m, "tree_offsets", MFS_DTYPE_INT64, 1, -1, -1, &offs));
    const int64_t T = offs->shape[0] - 1;
    if (T != p->n_estimators)
        return mfs__error(MFS_E_FORMAT, "random_forest: 'tree_offsets' holds %lld trees, n_estimators is %d", (long long)T,
                          (int)p->n_estimators);
    const int64_t *off = (const int64_t *)offs->data;
    if (off[0] != 0) return mfs__error(MFS_E_FORMAT, "random_forest: tree_offsets[0] is %lld, expected 0", (long long)off[0]);
    for (int64_t t = 0; t < T; t++)
        if (!(off[t + 1] > off[t] && off[t + 1] - off[t] <= INT32_MAX && off[t + 1] <= INT32_MAX))
            return mfs__error(MFS_E_FORMAT, "random_forest: tree %lld has rows %lld..%lld of the node arrays: not a valid range",
                              (long long)t, (long long)off[t], (long long)off[t + 1]);
    const int64_t N = off[T];
    MFS_TRY(need(m, "info", MFS_DTYPE_INT64, 1, 4, -1, &info_t));
    const int64_t *info = (const int64_t *)info_t->data;
    const int64_t V = is_classifier(p) ? info[0] : info[1];
    if (is_classifier(p) ? (info[0] < 1 || info[0] > INT32_MAX || info[1] != 1 ||
                            (p->n_classes != 0 && info[0] != p->n_classes))
                         : (info[0] != 0 || info[1] < 1 || info[1] > INT32_MAX))
        return mfs__error(MFS_E_FORMAT, "random_forest: 'info' says %lld classes and %lld outputs, which criterion %d "
                          "(and n_classes %d) contradict", (long long)info[0], (long long)info[1], (int)p->criterion,
                          (int)p->n_classes);
    const mfs_tensor *l = NULL, *r = NULL, *f = NULL, *th = NULL;
    MFS_TRY(need(m, "children_left", MFS_DTYPE_INT32, 1, N, -1, &l));
    MFS_TRY(need(m, "children_right", MFS_DTYPE_INT32, 1, N, -1, &r));
    MFS_TRY(need(m, "feature", MFS_DTYPE_INT32, 1, N, -1, &f));
    MFS_TRY(need(m, "threshold", MFS_DTYPE_FLOAT64, 1, N, -1, &th));
    MFS_TRY(need(m, "value", MFS_DTYPE_FLOAT64, 2, N, V, &val_t));
    MFS_TRY(need(m, "impurity", MFS_DTYPE_FLOAT64, 1, N, -1, NULL));
    MFS_TRY(need(m, "weighted_n_node_samples", MFS_DTYPE_FLOAT64, 1, N, -1, NULL));
    MFS_TRY(need(m, "n_node_samples", MFS_DTYPE_INT64, 1, N, -1, NULL));
    MFS_TRY(need(m, "tree_info", MFS_DTYPE_INT64, 2, T, 2, NULL));
    MFS_TRY(need(m, "feature_importances", MFS_DTYPE_FLOAT64, 1, d, -1, NULL));
    const int32_t *L = (const int32_t *)l->data, *R = (const int32_t *)r->data, *F = (const int32_t *)f->data;
    const double *TH = (const double *)th->data;
    for (int64_t t = 0; t < T; t++) {
        char what[64];
        snprintf(what, sizeof what, "random_forest: tree %lld", (long long)t);
        const int64_t o = off[t];
        MFS_TRY(mfs__tree_check(what, L + o, R + o, F + o, TH + o, off[t + 1] - o, d));
    }
    /* tree_info: each tree's depth (the longest root-to-leaf path, which the
     * fixed-step walk of predict relies on) and leaf count, recomputed */
    const int64_t *tinfo = (const int64_t *)mfs__array_find(m, "tree_info")->data;
    int64_t largest = 0;
    for (int64_t t = 0; t < T; t++)
        if (off[t + 1] - off[t] > largest) largest = off[t + 1] - off[t];
    int32_t *depth = NULL;
    MFS_TRY(mfs__alloc((void **)&depth, (size_t)largest * sizeof(int32_t), "mfs_model_load", "the tree depths"));
    for (int64_t t = 0; t < T; t++) {
        const int64_t o = off[t], c = off[t + 1] - o;
        int64_t deepest = 0, leaves = 0;
        for (int64_t q = 0; q < c; q++) depth[q] = q == 0 ? 0 : -1;
        for (int64_t q = 0; q < c; q++) {
            if (depth[q] < 0) continue; /* unreachable */
            if (L[o + q] == MFS__TREE_LEAF) {
                leaves++;
                if (depth[q] > deepest) deepest = depth[q];
                continue;
            }
            const int32_t kids[2] = {L[o + q], R[o + q]}; /* > q, < c: checked above */
            for (int i = 0; i < 2; i++)
                if (depth[kids[i]] < depth[q] + 1) depth[kids[i]] = depth[q] + 1;
        }
        if (tinfo[2 * t] != deepest || tinfo[2 * t + 1] != leaves) {
            mfs__free(depth);
            return mfs__error(MFS_E_FORMAT, "random_forest: tree_info says tree %lld has depth %lld and %lld leaves, "
                              "its arrays give %lld and %lld", (long long)t, (long long)tinfo[2 * t],
                              (long long)tinfo[2 * t + 1], (long long)deepest, (long long)leaves);
        }
    }
    mfs__free(depth);
    const double *val = (const double *)val_t->data;
    for (int64_t q = 0; q < N * V; q++)
        if (!isfinite(val[q])) return mfs__error(MFS_E_FORMAT, "random_forest: 'value' holds a non-finite number at %lld", (long long)q);
    return MFS_OK;
}

const mfs_model_vtable mfs__random_forest_vtable = {
    .kind = MFS_MODEL_RANDOM_FOREST,
    .name = "random_forest",
    .params_size = sizeof(mfs_random_forest_params),
    .supervised = 1,
    .check_params = check_params,
    .fit = fit,
    .predict = predict,
    .predict_proba = predict_proba,
    .output_shape = output_shape,
    .check_state = check_state,
};
