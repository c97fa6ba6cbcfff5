/* A network of libmfs: a list of layers over ONE parameter allocation, one
 * gradient allocation, one optimizer-state allocation and one activation arena
 * planned once per batch size; and the generic trainer (train.c, mirrored on
 * the GPU by src_cuda/neural/train.cu) and optimizers (optim.c) that fit any
 * such network. MLP (mlp.c) and CNN (cnn.c) describe their architecture as a
 * network and hand it to mfs__net_train / mfs__net_predict; the later networks
 * (RNN, LSTM, GNN, Transformer) add layer kinds through an ops table, without
 * touching the trainer.
 *
 * Shapes: per sample, a layer maps in_size = prod(in_shape) floats to
 * out_size = prod(out_shape) floats; the batch is the leading dimension B. */
#ifndef MFS_NEURAL_NETWORK_H
#define MFS_NEURAL_NETWORK_H
#include <stdint.h>
#include "core/internal.h"
#include "neural/layers.h"
#ifdef __cplusplus
extern "C" {
#endif

enum { MFS__NET_MAX_LAYERS = 64 };

typedef struct mfs__layer mfs__layer;

/* What a layer's function gets besides its tensors. */
typedef struct mfs__fctx {
    int32_t training;     /* 1: train mode (dropout on, batch norm batch stats) */
    int32_t layer_index;  /* position in the network */
    int32_t n_layers;
    int32_t reserved_;
    uint64_t seed;        /* the fit's seed */
    uint64_t step;        /* optimizer steps taken so far (dropout stream) */
    float *scratch;       /* scratch_per_row * B + scratch_fixed floats (host or device) */
    float *buffers;       /* the network's non-trained state (host or device): running stats */
    mfs_mem_counter *mem; /* device allocations of the GEMM are charged here */
    /* CPU training of a network whose first layer is linear: the batch is not
     * copied; layer 0's input is then the training X itself and row b of the
     * batch is X + in_rows[b] * in_size (NULL otherwise) */
    const int64_t *in_rows;
    /* training: bit i set when layer i (a ReLU conv2d) leaves its
     * activation's backward to the max-pool after it, whose own output gives
     * the ReLU's derivative at the argmax (the conv output is not kept) */
    uint64_t relu_by_pool;
} mfs__fctx;

/* A layer kind: its forward and backward on the host and on the device (device
 * pointers; MFS_E_DEVICE from the stubs in a CPU-only build). `params` is the
 * network's whole parameter allocation and `dparams` its gradient allocation
 * (the layer finds its part at L->w_off / L->b_off); dparams accumulates (+=).
 * dinp is NULL for the first layer (skip it). `saved` is the layer's own
 * region of the arena (L->saved_per_row * B + L->saved_fixed floats). dout
 * is the layer's to overwrite during its backward (the trainer never reads it
 * again): linear and conv layers run their activation's backward in place. */
typedef struct mfs__layer_ops {
    const char *name;
    mfs_status (*forward)(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved,
                          const float *inp, const float *params, int64_t B);
    mfs_status (*backward)(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                           const float *dout, const float *saved, const float *inp, const float *out,
                           const float *params, int64_t B);
    mfs_status (*forward_cuda)(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved,
                               const float *inp, const float *params, int64_t B);
    mfs_status (*backward_cuda)(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                                const float *dout, const float *saved, const float *inp, const float *out,
                                const float *params, int64_t B);
    /* Called by mfs__net_add once in_shape/in_size are set: fill in the
     * sizes that depend on the input (w_n, saved/scratch). May be NULL. */
    void (*finish)(mfs__layer *L);
} mfs__layer_ops;

/* Layer kinds; stored nowhere (the architecture is rebuilt from the model's
 * params), so values may change. conv/pool/batchnorm are engineer cnn's. */
typedef enum mfs__layer_kind {
    MFS__LAYER_LINEAR = 1,     /* linear + fused activation (act) */
    MFS__LAYER_ACTIVATION = 2,
    MFS__LAYER_DROPOUT = 3,
    MFS__LAYER_LAYERNORM = 4,
    MFS__LAYER_CONV2D = 16,
    MFS__LAYER_MAXPOOL2D = 17,
    MFS__LAYER_AVGPOOL2D = 18,
    MFS__LAYER_BATCHNORM = 19,
    MFS__LAYER_FLATTEN = 20
} mfs__layer_kind;

struct mfs__layer {
    const mfs__layer_ops *ops;
    int32_t kind;              /* mfs__layer_kind */
    int32_t act;               /* mfs__act: fused activation of LINEAR/CONV2D, the one of ACTIVATION */
    int64_t in_shape[3];       /* per sample (C, H, W); dense layers (C, 1, 1) */
    int64_t out_shape[3];
    int64_t in_size, out_size; /* products of the shapes */
    int32_t kernel, stride, padding, reserved_; /* conv / pool */
    float p;                   /* dropout probability */
    float eps;                 /* norm epsilon */
    float momentum;            /* batch norm running-stat momentum */
    float reserved2_;
    int64_t w_off, w_n;        /* weights in the parameter allocation; L2 / weight decay applies */
    int64_t b_off, b_n;        /* biases and norm shifts/scales: no decay */
    int64_t buf_off, buf_n;    /* non-trained buffers (running stats) in ctx->buffers */
    int64_t saved_per_row, saved_fixed;     /* saved statistics: floats per batch row + fixed */
    int64_t scratch_per_row, scratch_fixed; /* scratch of forward/backward */
    /* on the GPU, scratch_per_row_gpu * mfs__gpu_chunk_rows(B, cap) more (0:
     * none), cap = scratch_rows_gpu (predict) or scratch_rows_gpu_fit (a
     * training step; a cap of 0: none in that pass): the conv's im2col of a
     * chunk of the batch, planned on the device side only */
    int64_t scratch_per_row_gpu, scratch_rows_gpu, scratch_rows_gpu_fit;
    /* on the GPU the fixed scratch is max(scratch_fixed, scratch_fixed_gpu):
     * a layer with its own device workspace (the direct conv) sets it */
    int64_t scratch_fixed_gpu;
};

/* Rows per chunk when B rows go through in chunks of at most cap: the fewest
 * chunks, as equal as they can be (64 rows with cap 30: 22, 22, 20). */
static inline int64_t mfs__gpu_chunk_rows(int64_t B, int64_t cap) {
    if (cap < 1) cap = 1;
    if (B <= cap) return B > 0 ? B : 1;
    const int64_t chunks = (B + cap - 1) / cap;
    return (B + chunks - 1) / chunks;
}

/* The output of the network and its loss. */
typedef enum mfs__loss {
    MFS__LOSS_SOFTMAX_CE = 0, /* int32 labels; probabilities = softmax; score = accuracy */
    MFS__LOSS_SIGMOID_CE = 1, /* float 0/1 targets (B, K); probabilities = sigmoid;
                                 score = accuracy (K == 1) or subset accuracy */
    MFS__LOSS_MSE = 2         /* float targets (B, K); identity output; scikit-learn's
                                 squared loss sum / (2 B K), gradient (p - y) / B;
                                 score = R^2 averaged over outputs */
} mfs__loss;

typedef struct mfs__net {
    int32_t n_layers;
    int32_t loss;              /* mfs__loss */
    int64_t in_size;           /* features per sample */
    int64_t out_size;          /* K: outputs of the last layer */
    int64_t n_params;          /* floats of the parameter allocation */
    int64_t n_buffers;         /* floats of the non-trained state */
    int64_t n_decay;           /* parameters under L2 / weight decay (for the loss term) */
    mfs__layer layers[MFS__NET_MAX_LAYERS];
} mfs__net;

/* Append a layer: sets in_shape from the previous layer (or the network's
 * input), assigns parameter/buffer offsets for w_n / b_n / buf_n floats, and
 * checks that the shapes chain. `L` holds kind, ops, the layer's settings,
 * out_shape (all 0: the input's shape), w_n, b_n, buf_n and the
 * saved/scratch sizes, or leaves those that depend on the input to
 * ops->finish. fn names the public
 * function for the messages. */
mfs_status mfs__net_add(mfs__net *net, const char *fn, const mfs__layer *L);
/* Start an empty network on inputs of shape (C, H, W). */
void mfs__net_init(mfs__net *net, const int64_t in_shape[3], int32_t loss);

/* Built-in layers (layers.c's functions behind the ops interface): fill in a
 * layer for mfs__net_add. */
mfs__layer mfs__layer_linear(int64_t C_out, int32_t act);
mfs__layer mfs__layer_activation(int32_t act);
mfs__layer mfs__layer_dropout(float p);
mfs__layer mfs__layer_layernorm(float eps);

/* ---- optimizers (optim.c) ------------------------------------------------------ */

typedef enum mfs__solver {
    MFS__SOLVER_SGD = 0,
    MFS__SOLVER_ADAM = 1,
    MFS__SOLVER_ADAMW = 2
} mfs__solver;

typedef enum mfs__schedule {
    MFS__SCHEDULE_CONSTANT = 0,
    MFS__SCHEDULE_INVSCALING = 1,
    MFS__SCHEDULE_ADAPTIVE = 2,
    MFS__SCHEDULE_COSINE = 3
} mfs__schedule;

typedef struct mfs__optim {
    int32_t solver;             /* mfs__solver */
    int32_t nesterov;           /* SGD */
    double lr;                  /* the current learning rate (schedule applied) */
    double momentum;            /* SGD */
    double beta_1, beta_2, epsilon; /* Adam / AdamW */
    double l2;                  /* added to the gradient of decayed weights: alpha / B (scikit-learn) */
    double weight_decay;        /* AdamW: decoupled, w -= lr * weight_decay * w */
    int64_t t;                  /* Adam step count, after this step */
} mfs__optim;

/* Floats of optimizer state per parameter: SGD 1 (velocity), Adam/AdamW 2 (m, v). */
int64_t mfs__optim_state_per_param(int32_t solver);
/* One step over the whole parameter allocation p (n) with gradient g (n) and
 * state s (n * state_per_param): [w_off, w_off + w_n) ranges of the layers get
 * the L2 term. g is consumed: it is all zeros on return, ready for the next
 * backward pass to accumulate into. Returns, in *sumsq, the sum of squares of the decayed
 * parameters BEFORE the update (the L2 term of the loss, fused into this pass). */
void mfs__optim_step(const mfs__optim *o, const mfs__net *net, float *p, float *g, float *s,
                     double *sumsq);
/* The learning rate after an epoch: invscaling lr_init / (t + 1)^power_t with t
 * the samples seen (scikit-learn), cosine lr_init (1 + cos(pi epoch / max_iter)) / 2;
 * constant and adaptive keep lr (adaptive divides by 5 in the stopping rule). */
double mfs__schedule_lr(int32_t schedule, double lr, double lr_init, double power_t, int64_t samples_seen,
                        int32_t epoch, int32_t max_iter);

/* ---- trainer (train.c) ------------------------------------------------------------ */

/* Settings of a fit (from the model's params). */
typedef struct mfs__train_config {
    int32_t solver, schedule;
    double learning_rate_init, power_t;
    double alpha;               /* SGD/Adam: L2 as scikit-learn; AdamW: decoupled decay */
    double momentum;
    int32_t nesterovs_momentum, shuffle;
    double beta_1, beta_2, epsilon;
    int64_t batch_size;         /* >= 1 (clipped to the training rows) */
    int32_t max_iter;           /* epochs of this call */
    int32_t n_iter_no_change;
    double tol;
    int32_t early_stopping, incremental; /* incremental: one epoch (partial_fit) */
    double validation_fraction;
    uint64_t seed;
} mfs__train_config;

/* The training data: X (n, in_size); labels (n) int32 for SOFTMAX_CE (and for
 * stratifying), or targets (n, K) float32 for SIGMOID_CE / MSE. Borrowed. */
typedef struct mfs__train_data {
    const float *X;
    const int32_t *labels;      /* may be given with targets too (binary: stratify) */
    const float *targets;
    const float *weights;       /* sample weights (n) >= 0, or NULL; host only */
    int64_t n;
} mfs__train_data;

/* Counters of a fit, kept in the model ("counters", float64) for warm_start. */
typedef enum mfs__counter {
    MFS__CNT_SAMPLES_SEEN = 0,  /* scikit-learn's t_ */
    MFS__CNT_STEPS = 1,         /* optimizer steps (Adam's t; dropout stream) */
    MFS__CNT_N_ITER = 2,        /* epochs of the last fit (n_iter_) */
    MFS__CNT_LR = 3,            /* the current learning rate */
    MFS__CNT_BEST_LOSS = 4,     /* best training loss (NaN with early stopping) */
    MFS__CNT_BEST_SCORE = 5,    /* best validation score (NaN without) */
    MFS__CNT_NO_IMPROVEMENT = 6,
    MFS__CNT_LOSS = 7,          /* loss_ of the last epoch */
    MFS__CNT_EPOCHS_TOTAL = 8,  /* epochs over every warm-started fit */
    MFS__CNT_STOPPED = 9,       /* 1: the callback stopped the fit */
    MFS__CNT_COUNT = 10
} mfs__counter;

/* The trained state, in and out. params (n_params), buffers (n_buffers), opt
 * (n_params * state_per_param) and counters are the caller's (the model's
 * arrays); start == 0: params initialized by the caller, the others zeroed
 * here; start == 1 (warm start): everything continues. loss_curve and
 * val_scores are allocated here (mfs__malloc; the caller frees), one value per
 * epoch of this call, n_epochs of them. */
typedef struct mfs__train_state {
    float *params, *buffers, *opt;
    double counters[MFS__CNT_COUNT];
    int32_t warm;
    int32_t n_epochs;
    double *loss_curve, *val_scores;
} mfs__train_state;

/* The per-batch / per-epoch callback (public type in mfs/train.h). */
struct mfs_train_event;
typedef int32_t (*mfs__train_cb)(void *user_data, const struct mfs_train_event *event);

/* Fit net on data with cfg, on the host or the GPU (the whole loop there: the
 * data is uploaded once, batches are gathered on the device by index). The
 * callback (cb may be NULL) runs after every batch and every epoch; nonzero
 * stops after the current batch, keeping the weights. fn names the public
 * function in messages. */
mfs_status mfs__net_train(const char *fn, const mfs__net *net, const mfs__train_config *cfg,
                          const mfs__train_data *data, mfs__train_state *st, mfs_device device,
                          mfs_mem_counter *mem, mfs__train_cb cb, void *user_data);

/* The optional "sample_weight" input of a network's fit (float32 or float64,
 * (n,), finite, >= 0, not all 0) as floats in *out (the caller frees it with
 * mfs__free), or *out = NULL when the model has no such input. */
struct mfs_model;
mfs_status mfs__net_sample_weights(const struct mfs_model *m, const char *fn, int64_t n, float **out);

/* Inference: out (n, K) = the output activation (softmax / sigmoid /
 * identity by net->loss) of the network in eval mode on X (n, in_size),
 * in blocks of rows; host or device. Reentrant (its arena is its own). */
mfs_status mfs__net_predict(const char *fn, const mfs__net *net, const float *params,
                            const float *buffers, const float *X, int64_t n, float *out,
                            mfs_device device, mfs_mem_counter *mem);

/* The callback the caller of mfs_fit_with_callback set for this thread (NULL
 * if none), for the models' fit functions. */
mfs__train_cb mfs__train_callback(void **user_data);

/* ---- the shared training parameters (train_params.c) ------------------------------ */

/* mfs_train_params (mfs/train.h), the `train` member of every network's params. */
struct mfs_train_params;
/* MFS_E_INVALID_ARG with "<fn>: <field> is <value>, ..." for the first bad field. */
mfs_status mfs__train_params_check(const char *fn, const struct mfs_train_params *p);
/* The trainer's settings for a fit on n rows (batch_size -1: min(200, n));
 * incremental: one epoch (partial_fit), without early stopping. */
mfs__train_config mfs__train_config_from(const struct mfs_train_params *p, int64_t n, int32_t incremental);

#ifdef __cplusplus
}
#endif
#endif
