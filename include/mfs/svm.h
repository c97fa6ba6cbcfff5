/* Kernel support vector machines by SMO: C-SVC (one-vs-one multi-class) and
 * epsilon-SVR, as libsvm and scikit-learn's SVC / SVR. */
#ifndef MFS_SVM_H
#define MFS_SVM_H
#include "mfs/core.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif

/** Which problem the model solves (scikit-learn's class). */
typedef enum mfs_svm_variant {
    MFS_SVM_VARIANT_SVC = 0, /**< C-support vector classification (SVC) */
    MFS_SVM_VARIANT_SVR = 1  /**< epsilon-support vector regression (SVR) */
} mfs_svm_variant;

/** Kernels, numbered as libsvm numbers them. u.v is the dot product. */
typedef enum mfs_svm_kernel {
    MFS_SVM_KERNEL_LINEAR = 0,  /**< u.v */
    MFS_SVM_KERNEL_POLY = 1,    /**< (gamma u.v + coef0)^degree */
    MFS_SVM_KERNEL_RBF = 2,     /**< exp(-gamma ||u - v||^2) */
    MFS_SVM_KERNEL_SIGMOID = 3  /**< tanh(gamma u.v + coef0) */
} mfs_svm_kernel;

/** Values of `gamma` that are computed from the training data. */
enum {
    /** scikit-learn's gamma='scale': 1 / (d * X.var()) (1 if X.var() is 0) */
    MFS_SVM_GAMMA_SCALE = -1,
    /** scikit-learn's gamma='auto': 1 / d */
    MFS_SVM_GAMMA_AUTO = -2
};

/** decision_function output of a classifier with K > 2 classes. */
typedef enum mfs_svm_shape {
    MFS_SVM_SHAPE_OVO = 0, /**< (m, K(K-1)/2): libsvm's pairwise values */
    MFS_SVM_SHAPE_OVR = 1  /**< (m, K): votes + confidences, as scikit-learn */
} mfs_svm_shape;

/** Parameters, named as scikit-learn's SVC / SVR keyword arguments.
 *  Class weights (scikit-learn's `class_weight`, SVC only) are an input array:
 *  mfs_model_set_array(model, "class_weight", (K,) float32 or float64 > 0)
 *  before fit; class k's C becomes C * class_weight[k].
 *  Sample weights (scikit-learn's `sample_weight`, SVC and SVR) likewise:
 *  "sample_weight", (n,) float32 or float64, finite, >= 0, not all 0; row i's
 *  C becomes C * sample_weight[i] (SVC: C * class_weight[y_i] *
 *  sample_weight[i]; SVR: on both of its multipliers), as libsvm. Rows of
 *  weight 0 are left out of the fit, as libsvm removes them (they could never
 *  be support vectors); "support" still indexes the rows of X. Every class
 *  needs a row of weight > 0. Errors: MFS_E_SHAPE (length), MFS_E_VALUE
 *  (negative, NaN/inf, all 0, a class of zeros only, C * weight overflowing).
 *  On MFS_DEVICE_CUDA the same: the solver runs on the host either way. */
typedef struct mfs_svm_params {
    int32_t variant;      /**< mfs_svm_variant */
    int32_t kernel;       /**< mfs_svm_kernel */
    int32_t degree;       /**< poly degree, >= 0 */
    int32_t max_iter;     /**< most SMO iterations per binary problem, >= 0; -1: no limit */
    double gamma;         /**< > 0, or MFS_SVM_GAMMA_SCALE / MFS_SVM_GAMMA_AUTO */
    double coef0;         /**< poly / sigmoid offset (finite) */
    double tol;           /**< stop when the maximal KKT violation is < tol (libsvm's eps), > 0 */
    double C;             /**< box constraint, > 0 */
    double epsilon;       /**< SVR: width of the insensitive tube, >= 0 */
    double cache_size;    /**< kernel-row cache, MB (2^20 bytes), > 0; at least
                               two full rows are always kept */
    int32_t shrinking;    /**< 1: libsvm's shrinking heuristic, 0: off */
    int32_t probability;  /**< SVC: 1 fits Platt sigmoids by internal 5-fold CV */
    int32_t decision_function_shape; /**< mfs_svm_shape (SVC with K > 2) */
    int32_t break_ties;   /**< SVC, OVR, K > 2: predict is the argmax of the OVR
                               decision values instead of the vote */
    int64_t random_state; /**< seed of the core RNG for the CV folds (probability) */
} mfs_svm_params;

/** Defaults: SVC, RBF, degree 3, max_iter -1, gamma SCALE, coef0 0, tol 1e-3,
 *  C 1, epsilon 0.1, cache_size 200, shrinking 1, probability 0, OVR,
 *  break_ties 0, random_state 0 (scikit-learn's defaults). */
MFS_API void mfs_svm_params_default(mfs_svm_params *params);

/** Create an unfitted model (see mfs_model_create). Fit with y (n,) int32
 *  labels in 0..K-1, every class present, K >= 2 (SVC), or (n,) float32
 *  targets (SVR).
 *  Fitted arrays (libsvm's layout; classes in index order, pairs (0,1), (0,2),
 *  ..., (1,2), ...; positive pairwise values mean the pair's first class):
 *  "support" (nSV,) int32 row indices into the training X, grouped by class;
 *  "support_vectors" (nSV, d) float32; "n_support" (K,) int32 (SVR: (1,));
 *  "dual_coef" (max(K-1, 1), nSV) float64 (libsvm's sv_coef: alpha_i y_i);
 *  "intercept" (P,) float64 = -rho with P = K(K-1)/2 (SVR: 1); "n_iter" (P,)
 *  int32; "gamma" () float64, the gamma used; with probability "prob_a" and
 *  "prob_b" (P,) float64 (Platt's sigmoid 1 / (1 + exp(A f + B))).
 *  predict: (m,) int32 class indices (votes; ties to the lower class) or
 *  float32 values (SVR); decision_function: float32 (m,) for K = 2 (positive
 *  means class 1, as scikit-learn), else (m, P) or (m, K) by
 *  decision_function_shape; predict_proba / predict_log_proba (m, K) float32
 *  (needs probability = 1; pairwise coupling of Wu, Lin & Weng).
 *  Errors: MFS_E_VALUE for one class, a class index without samples, bad
 *  class weights; MFS_E_UNSUPPORTED for probabilities without probability = 1. */
MFS_API mfs_status mfs_svm_create(const mfs_svm_params *params, mfs_device device,
                                  mfs_model **out);

#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
