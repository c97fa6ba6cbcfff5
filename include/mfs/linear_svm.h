/* Linear support vector classification: LinearSVC, L2-regularized L1/L2-loss
 * SVM by dual coordinate descent (Hsieh et al. 2008) or, for the L2 loss, in
 * the primal by Newton's method with conjugate gradients (liblinear's two
 * solvers). */
#ifndef MFS_LINEAR_SVM_H
#define MFS_LINEAR_SVM_H
#include "mfs/core.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif

/** The loss on the margin violation xi = max(0, 1 - y w.x). */
typedef enum mfs_linear_svm_loss {
    MFS_LINEAR_SVM_LOSS_HINGE = 0,        /**< xi (L1-loss) */
    MFS_LINEAR_SVM_LOSS_SQUARED_HINGE = 1 /**< xi^2 (L2-loss), scikit-learn's default */
} mfs_linear_svm_loss;

/** Which problem is solved (scikit-learn's dual=True / dual=False). */
typedef enum mfs_linear_svm_solver {
    MFS_LINEAR_SVM_SOLVER_DUAL = 0,  /**< dual coordinate descent (Hsieh et al. 2008), both losses */
    MFS_LINEAR_SVM_SOLVER_PRIMAL = 1 /**< primal Newton-CG (liblinear's solver 2), squared hinge only;
                                          stops when |grad| <= tol * max(min(n+, n-), 1) / n * |grad(0)| */
} mfs_linear_svm_solver;

/** Parameters, named as scikit-learn's LinearSVC keyword arguments (penalty
 *  'l2'; scikit-learn's dual="auto" is the primal for n_samples >= n_features
 *  with the squared hinge, else the dual: the caller chooses "solver"). Class weights are an input array:
 *  mfs_model_set_array(model, "class_weight", (K,) float32/float64 > 0).
 *  Sample weights likewise: "sample_weight", (n,) float32/float64, finite,
 *  >= 0, not all 0; row i's C in each binary problem becomes
 *  C_pos/neg * sample_weight[i] (liblinear's W_i Cp / W_i Cn), rows of weight
 *  0 are left out of the fit, every class needs a row of weight > 0.
 *  Errors: MFS_E_SHAPE (length), MFS_E_VALUE (negative, NaN/inf, all 0, a
 *  class of zeros only, C * weight overflowing). */
typedef struct mfs_linear_svm_params {
    int32_t loss;              /**< mfs_linear_svm_loss */
    int32_t fit_intercept;     /**< 1: append a constant feature intercept_scaling
                                    (its weight is regularized, as liblinear) */
    int32_t max_iter;          /**< most passes over the data (dual) or Newton
                                    iterations (primal) per class, >= 1 */
    int32_t solver;            /**< mfs_linear_svm_solver: 0 dual (default), 1 primal */
    double C;                  /**< > 0 */
    double tol;                /**< stop when the projected-gradient spread is <= tol, > 0 */
    double intercept_scaling;  /**< value of the constant feature, > 0 */
    int64_t random_state;      /**< seed of the core RNG for the coordinate order */
} mfs_linear_svm_params;

/** Defaults: squared hinge, fit_intercept 1, max_iter 1000, solver dual, C 1,
 *  tol 1e-4, intercept_scaling 1, random_state 0 (scikit-learn's defaults
 *  with dual=True). */
MFS_API void mfs_linear_svm_params_default(mfs_linear_svm_params *params);

/** Create an unfitted model (see mfs_model_create). Fit with y (n,) int32
 *  labels 0..K-1, K >= 2, every class present: one binary problem (class 1
 *  against class 0) for K = 2, else one per class against the rest (liblinear's
 *  one-vs-rest). Fitted arrays: "coef" (k, d) float64 and "intercept" (k,)
 *  float64 with k = 1 for K = 2, else K; "n_iter" (k,) int32 (passes run, or
 *  Newton iterations).
 *  On CUDA the fit runs on the host (coordinate descent is sequential: each
 *  step needs the previous w) and the decision values go through the device
 *  GEMM (float32 operands, so values agree with the CPU's double sums to
 *  float32 rounding).
 *  predict: (m,) int32 class indices (the argmax of the decision values; K = 2:
 *  class 1 where the value is > 0); decision_function: (m,) for K = 2, else
 *  (m, K), float32. */
MFS_API mfs_status mfs_linear_svm_create(const mfs_linear_svm_params *params, mfs_device device,
                                         mfs_model **out);

#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
