/* Convolutional networks: CNNClassifier / CNNRegressor. Conv blocks (conv2d,
 * optional batch norm, activation, optional pooling), then dense layers, trained
 * with the same solvers, schedules, early stopping and callback as the MLP
 * (mfs/train.h: mfs_train_params, mfs_activation, mfs_solver,
 * mfs_learning_rate, mfs_fit_with_callback; the task values are mfs/mlp.h's). */
#ifndef MFS_CNN_H
#define MFS_CNN_H
#include "mfs/core.h"
#include "mfs/train.h"
#include "mfs/mlp.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif

enum {
    /** Most conv blocks of a CNN. */
    MFS_CNN_MAX_CONV = 8,
    /** Most hidden dense layers of a CNN. */
    MFS_CNN_MAX_HIDDEN = 8
};

/** Pooling after a conv block. */
typedef enum mfs_cnn_pool {
    MFS_CNN_POOL_MAX = 0,
    MFS_CNN_POOL_AVG = 1
} mfs_cnn_pool;

/** Parameters. The training ones are the `train` member (mfs_train_params,
 *  named and meaning as scikit-learn's MLPClassifier / MLPRegressor; dropout
 *  applies to the hidden dense layers). The architecture:
 *  input_shape (C, H, W) (X rows are C * H * W floats, NCHW order), then for
 *  each of the n_conv blocks i: conv2d with conv_filters[i] filters of
 *  conv_kernel_size[i]^2, conv_stride[i], zero conv_padding[i] (at most half the
 *  kernel) and a bias (none when batch norm follows: it would cancel); batch
 *  norm when conv_batch_norm[i]; the activation; a
 *  conv_pool[i] x conv_pool[i] pool with stride conv_pool[i] when conv_pool[i]
 *  >= 2 (conv_pool_type[i]: mfs_cnn_pool); then flatten, the n_hidden dense
 *  layers of hidden_layer_sizes with the activation (and dropout), and the
 *  output layer: K logits (softmax cross-entropy) or t outputs (squared loss). */
typedef struct mfs_cnn_params {
    int32_t task;                   /**< MFS_MLP_TASK_CLASSIFICATION or MFS_MLP_TASK_REGRESSION */
    int32_t n_classes;              /**< classification: K >= 2 (0: max(y) + 1) */
    int32_t input_shape[3];         /**< (C, H, W), each >= 1 */
    int32_t n_conv;                 /**< conv blocks in use, 0..MFS_CNN_MAX_CONV */
    int32_t conv_filters[8];        /**< >= 1 */
    int32_t conv_kernel_size[8];    /**< >= 1 */
    int32_t conv_stride[8];         /**< >= 1 */
    int32_t conv_padding[8];        /**< 0 .. kernel_size / 2 */
    int32_t conv_pool[8];           /**< 0 or 1: none; >= 2: pool window and stride */
    int32_t conv_pool_type[8];      /**< mfs_cnn_pool */
    int32_t conv_batch_norm[8];     /**< 0/1: batch norm between conv and activation */
    int32_t n_hidden;               /**< dense hidden layers in use, 0..MFS_CNN_MAX_HIDDEN */
    int32_t hidden_layer_sizes[8];  /**< each >= 1 */
    int32_t activation;             /**< mfs_activation (conv blocks and hidden layers) */
    double batch_norm_momentum;     /**< running-statistics momentum of batch norm, (0, 1] (PyTorch's 0.1) */
    double batch_norm_eps;          /**< > 0 (PyTorch's 1e-5) */
    mfs_train_params train;         /**< solver, schedule, batches, epochs, stopping, seed, dropout */
} mfs_cnn_params;

/** Defaults: input_shape (1, 28, 28), two conv blocks (16 then 32 filters,
 *  3x3, stride 1, padding 1, 2x2 max-pool, no batch norm), hidden_layer_sizes
 *  (128,), relu, batch_norm_momentum 0.1, batch_norm_eps 1e-5; task
 *  CLASSIFICATION, n_classes 0; and mfs_train_params_default for `train` (adam,
 *  alpha 1e-4, batch_size auto, constant learning rate 1e-3, power_t 0.5,
 *  max_iter 200, shuffle, random_state 0, tol 1e-4, momentum 0.9, Nesterov,
 *  no early stopping, validation_fraction 0.1, beta_1 0.9, beta_2 0.999,
 *  epsilon 1e-8, n_iter_no_change 10, dropout 0). */
MFS_API void mfs_cnn_params_default(mfs_cnn_params *params);

/** Create an unfitted CNN (see mfs_model_create). X is (n, C * H * W) float32
 *  (each row an NCHW image); y as for the MLP: (n,) int32 labels
 *  (classification) or (n,) / (n, t) float32 targets (regression).
 *  Initialization: Glorot-uniform weights and biases (bound sqrt(6 / (fan_in +
 *  fan_out)), fans of a conv counting its kernel area, as scikit-learn's MLP
 *  for dense layers) from the core RNG (random_state, stream 1); batch norm
 *  weight 1, bias 0, running mean 0, running var 1.
 *  Fitted arrays: "params" (P + Q,) float32: the P trained parameters layer
 *  after layer, each layer's weight then its bias (conv weight (F, C, k, k),
 *  dense weight (in, out), batch norm weight (C) then bias (C)), followed by
 *  the Q non-trained buffers (per batch norm its running mean then running
 *  var); "optimizer_state" (P * 1 or 2,) float32, "counters" (10,) float64,
 *  "n_outputs" () int64 (K or t), "loss_curve" and (early stopping)
 *  "validation_scores" (n_iter,) float64, as the MLP. train.warm_start: set
 *  "init_params", "init_optimizer" and "init_counters" (a fitted model's
 *  arrays; init_params alone restarts the optimizer) with
 *  mfs_model_set_array. mfs_partial_fit: one epoch from the current state.
 *  predict: (m,) int32 labels or (m, t) float32; predict_proba (m, K) float32. */
MFS_API mfs_status mfs_cnn_create(const mfs_cnn_params *params, mfs_device device, mfs_model **out);

#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
