/* Random forests of CART trees: scikit-learn's RandomForestClassifier /
 * RandomForestRegressor. Trees are grown in parallel on bootstrap samples
 * (per-sample integer counts, never copies of X), each from its own Philox
 * streams keyed by (random_state, tree index), so a seed gives the same forest
 * for every thread count. */
#ifndef MFS_RANDOM_FOREST_H
#define MFS_RANDOM_FOREST_H
#include "mfs/core.h"
#include "mfs/decision_tree.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif

/** How max_samples is read (scikit-learn's None / int / float). */
typedef enum mfs_random_forest_max_samples_mode {
    MFS_RANDOM_FOREST_MAX_SAMPLES_ALL = 0,      /**< None: n bootstrap draws */
    MFS_RANDOM_FOREST_MAX_SAMPLES_COUNT = 1,    /**< max_samples draws, an integer >= 1 */
    MFS_RANDOM_FOREST_MAX_SAMPLES_FRACTION = 2  /**< max(1, floor(max_samples * W)), max_samples > 0,
                                                     W = the total sample weight (n without
                                                     "sample_weight"), as scikit-learn >= 1.9 */
} mfs_random_forest_max_samples_mode;

/** Parameters, named as scikit-learn's RandomForestClassifier / Regressor.
 *  The criterion decides the task: GINI / ENTROPY classify (int32 labels),
 *  SQUARED_ERROR regresses (float32 targets). The tree fields mean what they
 *  mean in mfs_decision_tree_params. scikit-learn's n_jobs has no field: the
 *  trees are built on mfs_set_num_threads threads. */
typedef struct mfs_random_forest_params {
    int32_t n_estimators;       /**< trees, >= 1 */
    int32_t criterion;          /**< mfs_tree_criterion */
    int32_t split_algorithm;    /**< mfs_tree_split_algorithm, resolved once for the
                                     whole training set (AUTO: hist from
                                     MFS_TREE_AUTO_HIST_MIN_SAMPLES rows on) */
    int32_t max_depth;          /**< >= 1, or -1: None */
    int32_t max_features_mode;  /**< mfs_tree_max_features_mode (scikit-learn's
                                     default: SQRT for classification, FRACTION 1.0
                                     for regression) */
    int32_t bootstrap;          /**< 1: each tree sees a bootstrap sample; 0: all rows */
    double max_features;        /**< the count (COUNT) or the fraction (FRACTION) */
    double min_samples_split;   /**< >= 2: a count; in (0, 1]: ceil(it * n) */
    double min_samples_leaf;    /**< >= 1: a count; in (0, 1): ceil(it * n) */
    double min_weight_fraction_leaf; /**< in [0, 0.5] of the (bootstrap) total weight */
    double min_impurity_decrease;    /**< >= 0 */
    int64_t max_leaf_nodes;     /**< >= 2, or -1: None */
    int32_t oob_score;          /**< 1: out-of-bag predictions and score (needs bootstrap) */
    int32_t max_samples_mode;   /**< mfs_random_forest_max_samples_mode (needs bootstrap
                                     unless ALL) */
    double max_samples;         /**< the count (COUNT) or the fraction (FRACTION) */
    int64_t random_state;       /**< Philox key: tree t draws its bootstrap from stream
                                     2^32 + t and its features from stream t */
    int32_t n_classes;          /**< K >= 1, or 0: max(y) + 1 (classification only) */
    int32_t class_weight_subsample; /**< 1: scikit-learn's class_weight="balanced_subsample":
                                     each tree's draw counts are multiplied by
                                     n_draws / (classes drawn * draws of the row's class),
                                     classes counted in that tree's bootstrap (needs a
                                     classifier and bootstrap); 0: no such weights (the
                                     slot was reserved_, 0, in older files) */
} mfs_random_forest_params;

/** Defaults (scikit-learn's RandomForestClassifier): 100 trees, GINI, AUTO,
 *  max_depth -1, max_features SQRT, min_samples_split 2, min_samples_leaf 1,
 *  min_weight_fraction_leaf 0, min_impurity_decrease 0, max_leaf_nodes -1,
 *  bootstrap 1, oob_score 0, max_samples ALL, random_state 0, n_classes 0.
 *  For a regressor set criterion SQUARED_ERROR and max_features FRACTION 1.0. */
MFS_API void mfs_random_forest_params_default(mfs_random_forest_params *params);

/** Create an unfitted model (see mfs_model_create). fit takes y: int32 labels
 *  (n,) in 0..K-1 (GINI, ENTROPY) or float32 targets (n,) or (n, t)
 *  (SQUARED_ERROR), and optionally the input "sample_weight" (n,) float32 or
 *  float64, finite and >= 0 (mfs_model_set_array before fit). With bootstrap
 *  the weights are the probabilities of the draws and each tree is grown on
 *  its draw counts (scikit-learn >= 1.9: a row of integer weight k draws as k
 *  copies would); without bootstrap they weight the rows of every tree. The
 *  optional input "ccp_alpha" prunes every grown tree as mfs_decision_tree's.
 *  Fitted arrays: the T trees concatenated, each tree's nodes as
 *  mfs_decision_tree's arrays with TREE-LOCAL child indices: "children_left",
 *  "children_right", "feature" (N,) int32, "threshold" (N,) float64, "value"
 *  (N, V) float64 (class fractions or target means), "impurity",
 *  "weighted_n_node_samples" (N,) float64, "n_node_samples" (N,) int64;
 *  "tree_offsets" (T + 1,) int64 (tree t owns rows tree_offsets[t] ..
 *  tree_offsets[t + 1] - 1); "tree_info" (T, 2) int64 (max depth reached,
 *  leaves); "feature_importances" (d,) float64 (the mean of the trees'
 *  normalized impurity decreases, renormalized, as scikit-learn); "info" (4,)
 *  int64: (n_classes or 0, n_outputs, bootstrap draws per tree, n_samples);
 *  with oob_score "oob_score" () float64 (accuracy or R^2) and
 *  "oob_decision_function" (n, K) / "oob_prediction" (n, t) float64 (rows
 *  that were never out of bag are 0 and count in the score, as scikit-learn).
 *  predict gives int32 labels (m,) (argmax of the averaged probabilities) or
 *  float32 (m,) / (m, t); predict_proba (m, K) float32 (classification): the
 *  mean over trees of each tree's leaf class fractions. */
MFS_API mfs_status mfs_random_forest_create(const mfs_random_forest_params *params,
                                            mfs_device device, mfs_model **out);

/** The leaf each row of X (m, d) reaches in each tree: a TREE-LOCAL node index
 *  (add tree_offsets[t] for a row of the concatenated arrays), as
 *  scikit-learn's forest.apply. [out] leaves: int64 (m, T). CPU only (a CUDA
 *  model answers it on the CPU from the same arrays).
 *  Errors: MFS_E_NOT_FITTED, MFS_E_SHAPE (X or leaves), MFS_E_VALUE (X not finite). */
MFS_API mfs_status mfs_random_forest_apply(const mfs_model *model, const mfs_array *X,
                                           mfs_array *leaves);

#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
