/* The CART tree builder shared by decision_tree.c and random_forest.c: flat
 * growable node arrays, the per-data-set split structures (built once, shared
 * by every tree of a forest), the build, and inference on flat node arrays.
 *
 * Letters: n training rows, d features, m rows to predict, V values per node
 * (K classes, or t regression outputs), N nodes.
 *
 * Conventions are scikit-learn's tree_: node 0 is the root; a leaf has
 * children_left = children_right = MFS__TREE_LEAF (-1), feature =
 * MFS__TREE_UNDEFINED (-2) and threshold -2.0; a sample goes left when
 * (double)x[feature] <= threshold. value rows are class FRACTIONS (weighted,
 * summing to 1) for classification, target means for regression (as
 * scikit-learn >= 1.4). Nodes are numbered in build order (depth-first, left
 * child first; best-first when max_leaf_nodes is set), as scikit-learn. */
#ifndef MFS_CLASSICAL_TREE_H
#define MFS_CLASSICAL_TREE_H
#include <stdint.h>
#include "core/internal.h"
#include "mfs/decision_tree.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { MFS__TREE_LEAF = -1, MFS__TREE_UNDEFINED = -2, MFS__TREE_MAX_BINS = 256 };

/* ---- the tree: flat, growable node arrays -------------------------------- */
typedef struct mfs__tree {
    int64_t n_nodes, capacity;
    int32_t n_values;               /* V: K (classification) or t (regression) */
    int32_t max_depth;              /* depth reached (root alone: 0) */
    int64_t n_leaves;
    int32_t *children_left;         /* (N) */
    int32_t *children_right;        /* (N) */
    int32_t *feature;               /* (N) */
    double *threshold;              /* (N) */
    double *value;                  /* (N, V) */
    double *impurity;               /* (N) */
    int64_t *n_node_samples;        /* (N) samples with weight > 0 in the node */
    double *weighted_n_node_samples;/* (N) */
    mfs_mem_counter *mem;           /* what the arrays are charged to (may be NULL) */
} mfs__tree;

/* Free the arrays (charged to tree->mem); the struct is zeroed. NULL-safe. */
void mfs__tree_free(mfs__tree *tree);

/* ---- build configuration (everything resolved to counts) ----------------- */
typedef struct mfs__tree_config {
    int32_t criterion;             /* mfs_tree_criterion */
    int32_t n_classes;             /* K >= 1 for GINI / ENTROPY, 0 for SQUARED_ERROR */
    int32_t n_outputs;             /* regression targets t >= 1 (1 for classification) */
    int32_t max_depth;             /* >= 1, or -1: unlimited */
    int32_t split_algorithm;       /* MFS_TREE_SPLIT_EXACT or _HIST (resolve AUTO with
                                      mfs__tree_resolve_split first) */
    int32_t n_threads;             /* threads this build may use (1 inside a forest's
                                      parallel loop over trees); the tree does not
                                      depend on it */
    int64_t min_samples_split;     /* >= 2 */
    int64_t min_samples_leaf;      /* >= 1 */
    int64_t max_features;          /* features drawn per node, 1..d; d: all, visited in
                                      index order (ties between features: the lower
                                      index wins), no random draws */
    int64_t max_leaf_nodes;        /* >= 2, or -1: unlimited (depth-first) */
    double min_weight_leaf;        /* absolute weight (min_weight_fraction_leaf * total) */
    double min_impurity_decrease;  /* >= 0 */
    uint64_t seed;                 /* Philox key of the feature sampling */
    uint64_t stream;               /* Philox stream (the forest: one per tree) */
} mfs__tree_config;

/* AUTO -> EXACT below MFS_TREE_AUTO_HIST_MIN_SAMPLES training rows, else HIST. */
int32_t mfs__tree_resolve_split(int32_t split_algorithm, int64_t n);

/* ---- per-data-set structures, built once and shared by all trees ---------- */
typedef struct mfs__tree_data {
    int64_t n, d;
    const float *X;                /* (n, d) row-major, BORROWED from the caller */
    int32_t split_algorithm;       /* what was prepared: EXACT or HIST */
    /* HIST only: */
    uint8_t *codes;                /* (d, n) bin code of each sample, feature-major */
    int32_t *n_bins;               /* (d) bins of each feature, 1..256 */
    double *bin_threshold;         /* (d, 256) threshold between bin b and b + 1:
                                      scikit-learn's midpoint rule between the largest
                                      value of bin b and the smallest of bin b + 1 */
    mfs_mem_counter *mem;
} mfs__tree_data;

/* Prepare X (n, d) float32 row-major (finite, checked by the caller) for
 * builds with split_algorithm (EXACT or HIST). X is borrowed and must outlive
 * data. n_threads: threads for the binning. Errors name fn. */
mfs_status mfs__tree_data_make(const char *fn, const float *X, int64_t n, int64_t d,
                               int32_t split_algorithm, int32_t n_threads,
                               mfs_mem_counter *mem, mfs__tree_data *data);
void mfs__tree_data_free(mfs__tree_data *data);

/* ---- the build ----------------------------------------------------------- */
/* Grow one tree (out is overwritten; free it with mfs__tree_free).
 *  y: int32 (n) labels in 0..K-1 (classification; the caller checked them) or
 *     float32 (n, t) targets (regression).
 *  sample_weight: (n) double >= 0, or NULL (every sample 1). Samples of weight 0
 *     are dropped once at the start (a forest passes bootstrap counts here).
 * Reentrant: all scratch is local; it uses at most cfg->n_threads threads, and
 * the result depends only on (cfg, data, y, weights), not on the thread count.
 * Memory is charged to mem. Errors (MFS_E_NOMEM, MFS_E_INVALID_ARG) name fn.
 * A training set whose total weight is 0 is MFS_E_VALUE. */
mfs_status mfs__tree_build(const char *fn, const mfs__tree_config *cfg, const mfs__tree_data *data,
                           const void *y, const double *sample_weight, mfs_mem_counter *mem,
                           mfs__tree *out);

/* Total impurity decrease per feature (d), normalized to sum 1 (all zero for a
 * single-leaf tree), as scikit-learn's feature_importances_. Works on the flat
 * arrays of one tree (children, feature, impurity, weighted_n_node_samples). */
/* Minimal cost-complexity pruning in place (scikit-learn's ccp_alpha > 0; 0
 * leaves the tree as it is): the weakest links while their alpha <= ccp_alpha,
 * the rest renumbered in preorder; n_leaves and max_depth updated. */
mfs_status mfs__tree_prune_ccp(const char *fn, mfs__tree *tree, double ccp_alpha);
/* The model's optional input "ccp_alpha" (one float32 / float64 value, finite,
 * >= 0; MFS_E_SHAPE / MFS_E_VALUE otherwise), or 0 when absent. */
mfs_status mfs__tree_read_ccp_alpha(const mfs_model *m, const char *fn, double *alpha);

void mfs__tree_importances(const int32_t *children_left, const int32_t *children_right,
                           const int32_t *feature, const double *impurity,
                           const double *weighted_n_node_samples, int64_t n_nodes, int64_t d,
                           int normalize, double *importances);

/* ---- inference on flat node arrays ---------------------------------------- */
/* The leaf of one row x (d) of a tree given by its arrays (a forest passes
 * pointers offset to one tree's first node; children are tree-local). */
static inline int32_t mfs__tree_leaf(const int32_t *children_left, const int32_t *children_right,
                                     const int32_t *feature, const double *threshold,
                                     const float *x) {
    int32_t node = 0;
    while (children_left[node] != MFS__TREE_LEAF)
        node = (double)x[feature[node]] <= threshold[node] ? children_left[node] : children_right[node];
    return node;
}

/* Check arrays of one tree loaded from a file, so that descending can neither
 * leave the arrays nor loop: every internal node has 0 <= feature < d and two
 * children with larger indices < n_nodes, leaves have -1 / -1, thresholds and
 * values finite. Returns MFS_E_FORMAT with a message naming `what` otherwise. */
mfs_status mfs__tree_check(const char *what, const int32_t *children_left,
                           const int32_t *children_right, const int32_t *feature,
                           const double *threshold, int64_t n_nodes, int64_t d);

/* leaves (m) of the rows of X (m, d); OpenMP over row blocks with n_threads. */
void mfs__tree_apply(const int32_t *children_left, const int32_t *children_right,
                     const int32_t *feature, const double *threshold, const float *X,
                     int64_t m, int64_t d, int32_t n_threads, int32_t *leaves);

#ifdef __cplusplus
}
#endif
#endif
