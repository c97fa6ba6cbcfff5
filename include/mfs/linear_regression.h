/* Linear Regression: ordinary least squares and ridge (L2), one or many targets. */
#ifndef MFS_LINEAR_REGRESSION_H
#define MFS_LINEAR_REGRESSION_H
#include "mfs/core.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif

/** How the normal equations are solved. */
typedef enum mfs_linear_regression_solver {
    /** Cholesky on the normal equations, QR with column pivoting on X when the
     *  Gram matrix is ill-conditioned or rank-deficient. */
    MFS_LINEAR_REGRESSION_SOLVER_AUTO = 0,
    MFS_LINEAR_REGRESSION_SOLVER_CHOLESKY = 1, /**< Cholesky only (fails if singular) */
    MFS_LINEAR_REGRESSION_SOLVER_QR = 2        /**< always the pivoted QR of X */
} mfs_linear_regression_solver;

/** Parameters, named as scikit-learn's LinearRegression / Ridge. */
typedef struct mfs_linear_regression_params {
    double alpha;           /**< L2 penalty (Ridge); 0 = ordinary least squares. >= 0 */
    int32_t fit_intercept;  /**< 1: center X and y and fit an intercept */
    int32_t solver;         /**< mfs_linear_regression_solver */
} mfs_linear_regression_params;

/** Defaults: alpha 0, fit_intercept 1, solver AUTO. */
MFS_API void mfs_linear_regression_params_default(mfs_linear_regression_params *params);
/** Create an unfitted model (see mfs_model_create). Fit with y (n,) or (n, t)
 *  float32; optional weights: mfs_model_set_array(model, "sample_weight", (n,)
 *  float32 >= 0) before fit (CPU only for now). Fitted arrays: "coef" (d,) or (t, d), "intercept" () or (t,),
 *  "rank" () int32. predict gives (m,) or (m, t). */
MFS_API mfs_status mfs_linear_regression_create(const mfs_linear_regression_params *params,
                                                mfs_device device, mfs_model **out);

#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
