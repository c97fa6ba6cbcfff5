/* Decision trees (CART): scikit-learn's DecisionTreeClassifier / DecisionTreeRegressor,
 * with an exact (sorted) and a histogram (256 quantile bins) split finder. */
#ifndef MFS_DECISION_TREE_H
#define MFS_DECISION_TREE_H
#include "mfs/core.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif

/** Impurity measure (scikit-learn's `criterion`). */
typedef enum mfs_tree_criterion {
    MFS_TREE_CRITERION_GINI = 0,         /**< classification: 1 - sum_k p_k^2 */
    MFS_TREE_CRITERION_ENTROPY = 1,      /**< classification: -sum_k p_k log2 p_k ("log_loss" too) */
    MFS_TREE_CRITERION_SQUARED_ERROR = 2 /**< regression: the variance of y in the node */
} mfs_tree_criterion;

/** How the best split of a node is searched (libmfs's `split_algorithm`). */
typedef enum mfs_tree_split_algorithm {
    /** hist when the training set has at least MFS_TREE_AUTO_HIST_MIN_SAMPLES
     *  samples, else exact */
    MFS_TREE_SPLIT_AUTO = 0,
    /** every threshold between two distinct sorted values (scikit-learn's
     *  splitter="best"): the same tree as scikit-learn when no gains tie */
    MFS_TREE_SPLIT_EXACT = 1,
    /** thresholds between at most 256 quantile bins per feature (LightGBM-like),
     *  histograms by subtraction (parent - smaller child) */
    MFS_TREE_SPLIT_HIST = 2
} mfs_tree_split_algorithm;

/** How max_features is read (scikit-learn's None / "sqrt" / "log2" / int / float). */
typedef enum mfs_tree_max_features_mode {
    MFS_TREE_MAX_FEATURES_ALL = 0,      /**< None: every feature */
    MFS_TREE_MAX_FEATURES_SQRT = 1,     /**< max(1, int(sqrt(d))) */
    MFS_TREE_MAX_FEATURES_LOG2 = 2,     /**< max(1, int(log2(d))) */
    MFS_TREE_MAX_FEATURES_COUNT = 3,    /**< max_features itself, 1 <= it <= d */
    MFS_TREE_MAX_FEATURES_FRACTION = 4  /**< max(1, int(max_features * d)), 0 < it <= 1 */
} mfs_tree_max_features_mode;

enum {
    /** split_algorithm AUTO switches to hist from this many training samples on. */
    MFS_TREE_AUTO_HIST_MIN_SAMPLES = 500000
};

/** Parameters, named as scikit-learn's DecisionTreeClassifier / Regressor.
 *  A float keyword that scikit-learn also takes as an int (min_samples_split,
 *  min_samples_leaf, max_features) is a double here whose meaning its mode /
 *  value decides, as documented per field. */
typedef struct mfs_decision_tree_params {
    int32_t criterion;          /**< mfs_tree_criterion; GINI/ENTROPY need int32 labels,
                                     SQUARED_ERROR float32 targets */
    int32_t split_algorithm;    /**< mfs_tree_split_algorithm (libmfs's `splitter`) */
    int32_t max_depth;          /**< >= 1, or -1: None (grow until pure / min_samples) */
    int32_t max_features_mode;  /**< mfs_tree_max_features_mode */
    double max_features;        /**< the count (COUNT) or the fraction (FRACTION); else unused */
    double min_samples_split;   /**< >= 2: a count (integral); in (0, 1]: a fraction of n,
                                     ceil(min_samples_split * n) (scikit-learn's float) */
    double min_samples_leaf;    /**< >= 1: a count (integral); in (0, 1): a fraction of n,
                                     ceil(min_samples_leaf * n) */
    double min_weight_fraction_leaf; /**< in [0, 0.5]: of the total sample weight */
    double min_impurity_decrease;    /**< >= 0: split only if the weighted impurity
                                          decrease N_t/N (imp - N_l/N_t imp_l - N_r/N_t imp_r)
                                          is at least this */
    int64_t max_leaf_nodes;     /**< >= 2, or -1: None. Set: best-first growth (as scikit-learn) */
    int64_t random_state;       /**< seed of the feature sampling (Philox) */
    int32_t n_classes;          /**< K >= 1, or 0: max(y) + 1 (classification only) */
    int32_t reserved_;          /**< 0 (padding, keeps the layout explicit) */
} mfs_decision_tree_params;

/** Defaults: GINI, AUTO, max_depth -1 (None), max_features ALL (None),
 *  min_samples_split 2, min_samples_leaf 1, min_weight_fraction_leaf 0,
 *  min_impurity_decrease 0, max_leaf_nodes -1 (None), random_state 0, n_classes 0
 *  (scikit-learn's defaults). */
MFS_API void mfs_decision_tree_params_default(mfs_decision_tree_params *params);

/** Create an unfitted model (see mfs_model_create). fit takes y: int32 labels
 *  (n,) in 0..K-1 (GINI, ENTROPY) or float32 targets (n,) or (n, t)
 *  (SQUARED_ERROR), and optionally the input "sample_weight" (n,) float32 or
 *  float64, finite and >= 0 (mfs_model_set_array before fit), and the input
 *  "ccp_alpha" (one float64 or float32 value, finite, >= 0): scikit-learn's
 *  minimal cost-complexity pruning of the grown tree, the pruned tree
 *  renumbered in preorder (docs/models/decision_tree.md).
 *  Fitted arrays (scikit-learn's tree_): "children_left", "children_right",
 *  "feature" (nodes,) int32 (-1 / -1 / -2 at leaves), "threshold" (nodes,)
 *  float64 (-2 at leaves; a sample goes left when x <= threshold), "value"
 *  (nodes, V) float64 (class fractions, V = K, or target means, V = t),
 *  "impurity", "weighted_n_node_samples" (nodes,) float64, "n_node_samples"
 *  (nodes,) int64, "feature_importances" (d,) float64 (normalized total
 *  impurity decrease), "info" (5,) int64: (max_depth reached, n_leaves,
 *  n_classes or 0, n_outputs, ndim of the fitted y).
 *  predict gives int32 labels (m,) or float32 (m,) / (m, t); predict_proba
 *  (m, K) float32 (classification). */
MFS_API mfs_status mfs_decision_tree_create(const mfs_decision_tree_params *params,
                                            mfs_device device, mfs_model **out);

/** Index of the leaf (a row of the tree arrays) that each row of X (m, d) ends in.
 *  [out] leaves: int64 (m,). Runs on the model's device.
 *  Errors: MFS_E_NOT_FITTED, MFS_E_SHAPE (X or leaves), MFS_E_VALUE (X not finite). */
MFS_API mfs_status mfs_decision_tree_apply(const mfs_model *model, const mfs_array *X,
                                           mfs_array *leaves);

#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
