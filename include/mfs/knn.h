/* k-Nearest Neighbors: classification (majority or distance-weighted vote) and
 * regression (mean or distance-weighted mean), brute force through the GEMM or
 * a k-d tree, and the neighbor queries themselves (mfs_kneighbors). */
#ifndef MFS_KNN_H
#define MFS_KNN_H
#include "mfs/core.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif

/** What the model predicts from its neighbors. */
typedef enum mfs_knn_task {
    MFS_KNN_TASK_CLASSIFICATION = 0, /**< y: int32 labels 0..K-1; vote */
    MFS_KNN_TASK_REGRESSION = 1      /**< y: float32 (n,) or (n, t); average */
} mfs_knn_task;

/** How the neighbors' votes / values are weighted (scikit-learn's `weights`). */
typedef enum mfs_knn_weights {
    MFS_KNN_WEIGHTS_UNIFORM = 0,  /**< every neighbor counts 1 */
    /** 1 / distance; a query with neighbors at distance 0 uses only those
     *  (each with weight 1), as scikit-learn */
    MFS_KNN_WEIGHTS_DISTANCE = 1
} mfs_knn_weights;

/** Neighbor search algorithm (scikit-learn's `algorithm`). */
typedef enum mfs_knn_algorithm {
    /** kd_tree for n_features <= 15 and metric euclidean, manhattan or chebyshev, else brute */
    MFS_KNN_ALGORITHM_AUTO = 0,
    /** blocked GEMM distances (query blocks x training blocks) + top-k selection */
    MFS_KNN_ALGORITHM_BRUTE = 1,
    /** a k-d tree built at fit (euclidean, manhattan and chebyshev only) */
    MFS_KNN_ALGORITHM_KD_TREE = 2
} mfs_knn_algorithm;

/** Distance between samples (scikit-learn's `metric`; 'minkowski' with p = 2
 *  is euclidean, p = 1 manhattan). */
typedef enum mfs_knn_metric {
    MFS_KNN_METRIC_EUCLIDEAN = 0, /**< sqrt(sum (x - y)^2) */
    MFS_KNN_METRIC_MANHATTAN = 1, /**< sum |x - y| */
    /** 1 - x.y / (|x| |y|); a zero vector has distance 1 to everything */
    MFS_KNN_METRIC_COSINE = 2,
    /** max |x - y| (minkowski p = inf); CPU only (brute and kd_tree) */
    MFS_KNN_METRIC_CHEBYSHEV = 3
} mfs_knn_metric;

/** Parameters, named as scikit-learn's KNeighborsClassifier / Regressor. */
typedef struct mfs_knn_params {
    int32_t n_neighbors; /**< neighbors used by predict, >= 1 (<= n_samples at query time) */
    int32_t weights;     /**< mfs_knn_weights */
    int32_t algorithm;   /**< mfs_knn_algorithm */
    int32_t metric;      /**< mfs_knn_metric */
    int32_t leaf_size;   /**< points per k-d tree leaf (at most 2 * leaf_size), >= 1 */
    int32_t task;        /**< mfs_knn_task */
} mfs_knn_params;

/** Defaults: n_neighbors 5, uniform weights, auto algorithm, euclidean,
 *  leaf_size 30, classification. */
MFS_API void mfs_knn_params_default(mfs_knn_params *params);

/** Create an unfitted model (see mfs_model_create). fit copies X (n, d) and
 *  y: int32 labels (n,) in 0..K-1 (classification) or float32 (n,) / (n, t)
 *  targets (regression). Fitted arrays: "fit_X" (n, d) float32, "y", for
 *  classification "n_classes" () int32, and with the k-d tree "tree_idx" (n,)
 *  int64 and "tree_bounds" (2, nodes, d) float32 (a file without them queries
 *  by brute force, with the same results). predict gives int32 labels (m,)
 *  or float32 (m,) / (m, t); predict_proba (m, K) float32 (classification).
 *  Ties in distance are broken by the lower training index; tied votes by
 *  the lower class index. */
MFS_API mfs_status mfs_knn_create(const mfs_knn_params *params, mfs_device device,
                                  mfs_model **out);

/** The n_neighbors nearest training samples of each row of X (m, d), nearest
 *  first, ties in distance by the lower training index.
 *  [in] X: float32 (m, d), or NULL for the training data itself, where each
 *       sample is not its own neighbor (as scikit-learn's kneighbors(None):
 *       the sample's own index is dropped from its n_neighbors + 1 nearest,
 *       or the nearest is dropped when duplicates crowd it out).
 *  [in] n_neighbors: >= 1 and <= n_samples (< n_samples when X is NULL);
 *       0 means the model's n_neighbors.
 *  [out] distances: float32 (m, n_neighbors) in the metric's units, or NULL.
 *  [out] indices: int64 or int32 (m, n_neighbors) training indices, or NULL.
 *  Errors: MFS_E_NOT_FITTED, MFS_E_SHAPE (X or outputs), MFS_E_INVALID_ARG
 *  (n_neighbors out of range, both outputs NULL), MFS_E_VALUE (X not finite). */
MFS_API mfs_status mfs_kneighbors(const mfs_model *model, const mfs_array *X,
                                  int32_t n_neighbors, mfs_array *distances,
                                  mfs_array *indices);

#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
