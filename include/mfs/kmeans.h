/* K-Means clustering: k-means++ seeding and Lloyd iterations. */
#ifndef MFS_KMEANS_H
#define MFS_KMEANS_H
#include "mfs/core.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif

/** How the first centers are chosen. */
typedef enum mfs_kmeans_init {
    MFS_KMEANS_INIT_K_MEANS_PP = 0, /**< greedy k-means++ (as scikit-learn) */
    MFS_KMEANS_INIT_RANDOM = 1,     /**< n_clusters distinct samples at random */
    MFS_KMEANS_INIT_ARRAY = 2       /**< the (n_clusters, d) array set as "init" */
} mfs_kmeans_init;

/** Parameters, named as scikit-learn's KMeans. */
typedef struct mfs_kmeans_params {
    int32_t n_clusters;   /**< >= 1 and <= n_samples at fit */
    int32_t init;         /**< mfs_kmeans_init */
    int32_t n_init;       /**< runs with different seeds; the best inertia wins. >= 1 */
    int32_t max_iter;     /**< >= 1 */
    double tol;           /**< relative tolerance on center shift (scaled by the mean
                               variance of X, as scikit-learn). >= 0 */
    int64_t random_state; /**< seed of the counter-based RNG */
} mfs_kmeans_params;

/** Defaults: n_clusters 8, init k-means++, n_init 1, max_iter 300, tol 1e-4, seed 0. */
MFS_API void mfs_kmeans_params_default(mfs_kmeans_params *params);
/** Create an unfitted model (see mfs_model_create). For init ARRAY, give the
 *  centers with mfs_model_set_array(model, "init", (n_clusters, d) float32)
 *  before fit. Optional input "sample_weight" (n,) float32 or float64, finite,
 *  >= 0, not all 0 (used as float32; MFS_E_VALUE / MFS_E_SHAPE otherwise):
 *  scikit-learn's weights (weighted centers and inertia, seeding in proportion
 *  to the weights; weight 0 is an absent row; init RANDOM needs n_clusters
 *  rows of weight > 0); MFS_E_UNSUPPORTED on MFS_DEVICE_CUDA. Fitted arrays: "cluster_centers" (k, d), "labels" (n,) int32,
 *  "inertia" () float64, "n_iter" () int32. predict: (m,) int32 labels;
 *  transform: (m, k) float32 euclidean distances. */
MFS_API mfs_status mfs_kmeans_create(const mfs_kmeans_params *params, mfs_device device,
                                     mfs_model **out);

#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
