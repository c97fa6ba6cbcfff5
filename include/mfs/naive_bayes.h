/* Naive Bayes classifiers: Gaussian, multinomial and Bernoulli, one model kind
 * with a `variant`, fitted from streaming sufficient statistics (partial_fit). */
#ifndef MFS_NAIVE_BAYES_H
#define MFS_NAIVE_BAYES_H
#include "mfs/core.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif

/** Which likelihood P(x | class) the model uses. */
typedef enum mfs_naive_bayes_variant {
    /** Per class and feature a normal distribution (scikit-learn's GaussianNB). */
    MFS_NAIVE_BAYES_VARIANT_GAUSSIAN = 0,
    /** Per class a multinomial over the features; X holds counts >= 0 (MultinomialNB). */
    MFS_NAIVE_BAYES_VARIANT_MULTINOMIAL = 1,
    /** Per class and feature a Bernoulli on x > binarize (BernoulliNB). */
    MFS_NAIVE_BAYES_VARIANT_BERNOULLI = 2
} mfs_naive_bayes_variant;

/** Parameters, named as scikit-learn's GaussianNB / MultinomialNB / BernoulliNB.
 *  Class priors (scikit-learn's `priors` / `class_prior`) are an input array:
 *  mfs_model_set_array(model, "class_prior", (K,) float32 or float64, >= 0,
 *  summing to 1) before fit / partial_fit; without it the priors are the class
 *  frequencies (Gaussian; discrete with fit_prior) or uniform.
 *  Sample weights, likewise: "sample_weight" (n,) float32 or float64, >= 0,
 *  for the next fit / partial_fit batch (scikit-learn's: weighted class and
 *  feature counts, weighted Gaussian means and variances). */
typedef struct mfs_naive_bayes_params {
    int32_t variant;       /**< mfs_naive_bayes_variant */
    int32_t n_classes;     /**< K >= 1, so that batches lacking some classes stream
                                correctly; 0: max(y) + 1 of the first batch */
    double var_smoothing;  /**< Gaussian: var_smoothing * max feature variance of
                                the batch is added to every variance. >= 0 */
    double alpha;          /**< multinomial/Bernoulli additive smoothing, >= 0 */
    int32_t fit_prior;     /**< multinomial/Bernoulli: 1 learn class priors, 0 uniform */
    int32_t reserved_;     /**< 0 (padding, keeps the layout explicit) */
    double binarize;       /**< Bernoulli: threshold, x > binarize counts as 1;
                                NaN: scikit-learn's None (X is already binary). >= 0 */
} mfs_naive_bayes_params;

/** Defaults: GAUSSIAN, n_classes 0, var_smoothing 1e-9, alpha 1, fit_prior 1,
 *  binarize 0 (scikit-learn's defaults). */
MFS_API void mfs_naive_bayes_params_default(mfs_naive_bayes_params *params);
/** Create an unfitted model (see mfs_model_create). Fit (or mfs_partial_fit, the
 *  first call of which fits from scratch) with y (n,) int32 labels in
 *  0..K-1. Multinomial needs X >= 0 (MFS_E_VALUE otherwise).
 *  Fitted arrays, all float64: Gaussian "theta" (K, d), "var" (K, d),
 *  "class_count" (K,), "class_prior" (K,), "epsilon" (); multinomial/Bernoulli
 *  "feature_count" (K, d), "class_count" (K,), "feature_log_prob" (K, d),
 *  "class_log_prior" (K,). predict gives (m,) int32 class indices;
 *  predict_proba / predict_log_proba (m, K) float32, computed in log space;
 *  decision_function (m, K) float32: the joint log-likelihood log P(x, c)
 *  before normalization (scikit-learn's predict_joint_log_proba; on the CPU
 *  for a CUDA model too). */
MFS_API mfs_status mfs_naive_bayes_create(const mfs_naive_bayes_params *params,
                                          mfs_device device, mfs_model **out);

#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
