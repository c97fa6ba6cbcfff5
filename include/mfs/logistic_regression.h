/* Logistic Regression: binary (logistic) and multinomial (softmax) with an L2
 * penalty, fitted by L-BFGS with a strong-Wolfe line search. */
#ifndef MFS_LOGISTIC_REGRESSION_H
#define MFS_LOGISTIC_REGRESSION_H
#include "mfs/core.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif

/** Parameters, named as scikit-learn's LogisticRegression (solver "lbfgs").
 *  The objective is scikit-learn's:
 *      sum_i s_i log_loss_i + 1 / (2 C) ||coef||^2   (the intercept is not penalized),
 *  with s_i the optional input "sample_weight" ((n,) float32 or float64, >= 0,
 *  not all 0, set with mfs_model_set_array before fit; CPU only: a CUDA fit
 *  answers MFS_E_UNSUPPORTED) or 1, minimized in the scaled form (divided by
 *  S = sum_i s_i, n without weights) whose gradient `tol` refers to. */
typedef struct mfs_logistic_regression_params {
    double C;              /**< inverse of the penalty strength: > 0; +inf = no penalty */
    double tol;            /**< stop when max |gradient| of the scaled objective <= tol (in the
                                    variables W 2^e_j when badly scaled columns are
                                    preconditioned, see docs/models/logistic_regression.md). >= 0 */
    int32_t fit_intercept; /**< 1: fit an (unpenalized) intercept per coefficient row */
    int32_t max_iter;      /**< most L-BFGS iterations. >= 0 */
} mfs_logistic_regression_params;

/** Defaults (scikit-learn's): C 1, tol 1e-4, fit_intercept 1, max_iter 100. */
MFS_API void mfs_logistic_regression_params_default(mfs_logistic_regression_params *params);
/** Create an unfitted model (see mfs_model_create). Fit with y (n,) int32
 *  labels 0..K-1, K >= 2, every class present. K = 2 fits one coefficient row
 *  (class 1 against class 0, as scikit-learn), K > 2 the multinomial model
 *  with K rows. Fitted arrays: "coef" (K', d) float32 with K' = 1 for K = 2
 *  else K, "intercept" (K',) float32 (zero-mean over rows when K > 2),
 *  "n_classes" () int32, "n_iter" (1,) int32 (L-BFGS iterations), "stalled"
 *  () int32: 1 when L-BFGS stopped because no step could decrease the loss
 *  while the gradient was still above tol (tol below float32 resolution; scipy's
 *  ABNORMAL_TERMINATION_IN_LNSRCH), else 0 (absent in files of older fits).
 *  predict: (m,) int32 = argmax of predict_proba (ties: lowest index);
 *  predict_proba / predict_log_proba: (m, K) float32; decision_function: (m,)
 *  for K = 2, else (m, K). On CUDA the loss and gradient are evaluated on the
 *  GPU (X uploaded once); the L-BFGS loop stays on the host.
 *  Optional inputs (mfs_model_set_array before fit), scikit-learn's
 *  warm_start: "coef_init" (K', d) float32 and "intercept_init" (K',) float32
 *  (only with fit_intercept and with coef_init), finite: L-BFGS starts there
 *  instead of at 0 (a wrong shape is MFS_E_SHAPE, NaN MFS_E_VALUE). */
MFS_API mfs_status mfs_logistic_regression_create(const mfs_logistic_regression_params *params,
                                                  mfs_device device, mfs_model **out);

#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
