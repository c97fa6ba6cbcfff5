/* What every trained network of libmfs shares (MLP, CNN, and the networks to
 * come): the activation, solver and learning-rate enums, the training
 * parameters (mfs_train_params, embedded as the `train` member of each
 * network's params struct, defaults in one place) and the training callback
 * (mfs_fit_with_callback). */
#ifndef MFS_TRAIN_H
#define MFS_TRAIN_H
#include "mfs/core.h"
#ifndef MFS_CDEF
#ifdef __cplusplus
extern "C" {
#endif
#endif

/** Activation of hidden layers (scikit-learn's names). */
typedef enum mfs_activation {
    MFS_ACTIVATION_IDENTITY = 0,
    MFS_ACTIVATION_RELU = 1,
    MFS_ACTIVATION_TANH = 2,
    MFS_ACTIVATION_LOGISTIC = 3, /**< the sigmoid 1 / (1 + e^-x) */
    MFS_ACTIVATION_GELU = 4      /**< x Phi(x), the exact erf form (PyTorch's nn.GELU() default) */
} mfs_activation;

/** Stochastic solver. */
typedef enum mfs_solver {
    /** SGD with momentum, scikit-learn's formula: v = momentum v - lr g,
     *  w += v (Nesterov: w += momentum v - lr g). */
    MFS_SOLVER_SGD = 0,
    /** Adam, scikit-learn's formula (epsilon added to sqrt(v), the bias
     *  corrections folded into the step size); alpha is an L2 term of the loss. */
    MFS_SOLVER_ADAM = 1,
    /** AdamW (Loshchilov & Hutter), PyTorch's formula: alpha is the decoupled
     *  weight decay w -= lr alpha w on the weights (not the biases). */
    MFS_SOLVER_ADAMW = 2
} mfs_solver;

/** Learning-rate schedule (scikit-learn's learning_rate, plus cosine). */
typedef enum mfs_learning_rate {
    MFS_LEARNING_RATE_CONSTANT = 0,
    /** lr = learning_rate_init / (t + 1)^power_t, t = samples seen, per epoch. */
    MFS_LEARNING_RATE_INVSCALING = 1,
    /** lr / 5 whenever n_iter_no_change epochs fail to improve by tol; stop
     *  when lr <= 1e-6. */
    MFS_LEARNING_RATE_ADAPTIVE = 2,
    /** lr = learning_rate_init (1 + cos(pi epoch / max_iter)) / 2 per epoch. */
    MFS_LEARNING_RATE_COSINE = 3
} mfs_learning_rate;

/** Training parameters of every network, named and meaning as scikit-learn's
 *  MLPClassifier / MLPRegressor keyword arguments (plus AdamW, the cosine
 *  schedule and dropout). Each network's params struct embeds one as its
 *  `train` member (p.train.max_iter = 50); the model validates it when
 *  created, with messages naming the field ("max_iter is 0, it must be >= 1").
 *  128 bytes, every field at its natural alignment (no implicit padding). */
typedef struct mfs_train_params {
    int32_t solver;               /**< mfs_solver */
    int32_t learning_rate;        /**< mfs_learning_rate */
    double alpha;                 /**< L2 penalty (decoupled decay for AdamW), >= 0 */
    int32_t batch_size;           /**< >= 1, or -1: min(200, n) ("auto") */
    int32_t max_iter;             /**< epochs, >= 1 */
    double learning_rate_init;    /**< > 0 */
    double power_t;               /**< invscaling exponent, >= 0 */
    int32_t shuffle;              /**< 0/1: shuffle the rows every epoch */
    int32_t nesterovs_momentum;   /**< 0/1 (SGD; ignored when momentum is 0, as scikit-learn) */
    int64_t random_state;         /**< >= 0: seed of the counter-based RNG (init, shuffle, split, dropout) */
    double tol;                   /**< >= 0 */
    double momentum;              /**< SGD momentum in [0, 1] */
    int32_t early_stopping;       /**< 0/1: hold out validation_fraction, stop on its score (not in partial_fit) */
    int32_t n_iter_no_change;     /**< >= 1 */
    double validation_fraction;   /**< in [0, 1); in (0, 1) when early_stopping */
    double beta_1;                /**< in [0, 1) */
    double beta_2;                /**< in [0, 1) */
    double epsilon;               /**< > 0 */
    int32_t verbose;              /**< >= 0; kept for the bindings, the library never prints */
    int32_t warm_start;           /**< 0/1: continue from the "init_*" input arrays */
    double dropout;               /**< probability of zeroing a hidden (dense) unit in training, [0, 1) */
} mfs_train_params;

/** Defaults, scikit-learn's: adam, alpha 1e-4, batch_size auto (-1), constant
 *  learning rate 1e-3, power_t 0.5, max_iter 200, shuffle, Nesterov,
 *  random_state 0, tol 1e-4, momentum 0.9, no early stopping,
 *  n_iter_no_change 10, validation_fraction 0.1, beta_1 0.9, beta_2 0.999,
 *  epsilon 1e-8, verbose 0, no warm start; dropout 0. Every network's
 *  _params_default calls it for its `train` member. params may be NULL (no-op). */
MFS_API void mfs_train_params_default(mfs_train_params *params);

/* ---- training callback (every network model) ---------------------------------- */

/** Kinds of training event. */
typedef enum mfs_train_event_kind {
    MFS_TRAIN_EVENT_BATCH = 0, /**< after each optimizer step */
    MFS_TRAIN_EVENT_EPOCH = 1  /**< after each epoch (loss and score filled in) */
} mfs_train_event_kind;

/** What the callback sees. */
typedef struct mfs_train_event {
    int32_t kind;              /**< mfs_train_event_kind */
    int32_t epoch;             /**< 1-based epoch of this fit */
    int32_t max_iter;
    int32_t batch;             /**< 1-based batch within the epoch */
    int32_t n_batches;         /**< batches per epoch */
    int32_t no_improvement;    /**< epochs without improvement so far */
    double loss;               /**< EPOCH: mean training loss of the epoch */
    double validation_score;   /**< EPOCH with early stopping: the score; else NaN */
    double learning_rate;      /**< the current learning rate */
    int64_t samples_seen;
} mfs_train_event;

/** Return 0 to continue, nonzero to stop after the current batch (the model
 *  keeps the weights reached so far, and is fitted). */
typedef int32_t (*mfs_train_callback)(void *user_data, const mfs_train_event *event);

/** mfs_fit (partial = 0) or mfs_partial_fit (partial = 1) calling callback
 *  (may be NULL) after every batch and epoch, on the calling thread. For
 *  models that train in epochs (mlp, cnn); other models simply fit. */
MFS_API mfs_status mfs_fit_with_callback(mfs_model *model, const mfs_array *X, const mfs_array *y,
                                         int32_t partial, mfs_train_callback callback,
                                         void *user_data);

#ifndef MFS_CDEF
#ifdef __cplusplus
}
#endif
#endif
#endif
