/* PCA: principal component analysis by exact or randomized SVD. */
#ifndef MFS_PCA_H
#define MFS_PCA_H
#include "mfs/core.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif

/** Solver, as scikit-learn's svd_solver. */
typedef enum mfs_pca_svd_solver {
    MFS_PCA_SVD_SOLVER_AUTO = 0,            /**< covariance_eigh when n >> d, else full/randomized */
    MFS_PCA_SVD_SOLVER_FULL = 1,            /**< exact thin SVD of the centered X */
    MFS_PCA_SVD_SOLVER_COVARIANCE_EIGH = 2, /**< eigendecomposition of the covariance */
    MFS_PCA_SVD_SOLVER_RANDOMIZED = 3       /**< Halko et al. randomized SVD */
} mfs_pca_svd_solver;

/** Parameters, named as scikit-learn's PCA. n_components is an int (> 0),
 *  or -1 for None (all: min(n, d)); when 0 < variance_fraction < 1 the number
 *  of components is the smallest that explains that fraction (scikit-learn's
 *  float n_components) and n_components is ignored. */
typedef struct mfs_pca_params {
    int32_t n_components;
    int32_t whiten;          /**< 1: scale components to unit variance */
    double variance_fraction;/**< 0 = unused; else in (0, 1) */
    int32_t svd_solver;      /**< mfs_pca_svd_solver */
    int32_t iterated_power;  /**< randomized: power iterations; -1 = auto (7 if k < 0.1 min(n,d), else 4) */
    int32_t n_oversamples;   /**< randomized: extra columns (>= 0) */
    int32_t pad_;            /**< reserved, 0 */
    int64_t random_state;    /**< seed for randomized */
} mfs_pca_params;

/** Defaults: n_components -1, whiten 0, variance_fraction 0, solver AUTO,
 *  iterated_power -1, n_oversamples 10, random_state 0. */
MFS_API void mfs_pca_params_default(mfs_pca_params *params);
/** Create an unfitted model (see mfs_model_create). Fitted arrays:
 *  "components" (k, d), "explained_variance" (k), "explained_variance_ratio" (k),
 *  "singular_values" (k), "mean" (d), "noise_variance" () float64,
 *  "n_samples" () int64. transform: (m, k); inverse_transform: (m, k) -> (m, d). */
MFS_API mfs_status mfs_pca_create(const mfs_pca_params *params, mfs_device device,
                                  mfs_model **out);

#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
