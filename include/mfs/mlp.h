/* Multi-layer perceptrons (scikit-learn's MLPClassifier / MLPRegressor). What
 * every trained network shares (the activation, solver and learning-rate
 * enums, mfs_train_params, the training callback mfs_fit_with_callback) is in
 * mfs/train.h. */
#ifndef MFS_MLP_H
#define MFS_MLP_H
#include "mfs/core.h"
#include "mfs/train.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif

enum {
    /** Most hidden layers of an MLP. */
    MFS_MLP_MAX_HIDDEN = 16
};

/** What an MLP learns. */
typedef enum mfs_mlp_task {
    /** y: (n,) float32 or (n, t) float32; identity output, squared loss. */
    MFS_MLP_TASK_REGRESSION = 0,
    /** y: (n,) int32 labels 0..K-1 (K = n_classes, >= 2); K == 2: one logistic
     *  output (scikit-learn's binary case), else softmax over K. */
    MFS_MLP_TASK_CLASSIFICATION = 1,
    /** y: (n, K) float32 of 0/1; K logistic outputs (multilabel). */
    MFS_MLP_TASK_MULTILABEL = 2
} mfs_mlp_task;

/** Parameters, named as scikit-learn's MLPClassifier / MLPRegressor: the
 *  architecture here, the training ones (solver, alpha, batch_size, max_iter,
 *  ..., dropout) in the `train` member (mfs/train.h). */
typedef struct mfs_mlp_params {
    int32_t task;                 /**< mfs_mlp_task */
    int32_t n_classes;            /**< classification: K >= 2 (0: max(y) + 1) */
    int32_t n_hidden;             /**< hidden layers in use, 0..MFS_MLP_MAX_HIDDEN */
    int32_t hidden_layer_sizes[16]; /**< MFS_MLP_MAX_HIDDEN widths, each >= 1 */
    int32_t activation;           /**< mfs_activation */
    mfs_train_params train;       /**< solver, schedule, batches, epochs, stopping, seed, dropout */
} mfs_mlp_params;

/** Defaults: scikit-learn's (hidden_layer_sizes (100,), relu), task
 *  CLASSIFICATION, n_classes 0, and mfs_train_params_default for `train`
 *  (adam, alpha 1e-4, batch_size auto, constant learning rate 1e-3, power_t
 *  0.5, max_iter 200, shuffle, random_state 0, tol 1e-4, momentum 0.9,
 *  Nesterov, no early stopping, validation_fraction 0.1, beta_1 0.9, beta_2
 *  0.999, epsilon 1e-8, n_iter_no_change 10, dropout 0). */
MFS_API void mfs_mlp_params_default(mfs_mlp_params *params);

/** Create an unfitted MLP (see mfs_model_create).
 *  Fit (mfs_fit, or mfs_fit_with_callback) trains with mini-batch SGD/Adam as
 *  scikit-learn does: Glorot-uniform init (factor 2 for logistic, else 6) from
 *  the core RNG, per-epoch shuffling, early stopping / n_iter_no_change / tol.
 *  train.warm_start: give the input arrays "init_params", "init_optimizer" and
 *  "init_counters" (the "params", "optimizer_state" and "counters" of a fitted
 *  model with the same architecture and solver) with mfs_model_set_array; fit
 *  then continues from them. mfs_partial_fit runs one epoch from the current
 *  state (the first call initializes).
 *  Fitted arrays: "layer_units" (L + 1,) int64: n_features, hidden widths,
 *  outputs; "params" (P,) float32: per layer the weight (units[i], units[i+1])
 *  then the bias (units[i+1]), layer after layer (scikit-learn's coefs_ and
 *  intercepts_); "optimizer_state" float32 (SGD velocity; Adam m then v);
 *  "counters" (10,) float64 (samples seen, steps, n_iter, learning rate,
 *  best loss, best validation score, epochs without improvement, loss, total
 *  epochs, stopped by the callback); "loss_curve" (n_iter,) float64 and, with
 *  early stopping, "validation_scores" (n_iter,) float64.
 *  predict: classification (m,) int32 labels; multilabel (m, K) int32 0/1;
 *  regression (m, t) float32. predict_proba (m, K) float32 (binary: K = 2). */
MFS_API mfs_status mfs_mlp_create(const mfs_mlp_params *params, mfs_device device, mfs_model **out);

#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
