/* The generic network machinery of libmfs (network.h): building a network
 * from layers, the built-in layer kinds behind the ops interface, the
 * activation arena, inference, and the training loop, on the host or (the
 * same loop, every step dispatched to src_cuda/neural) on the GPU.
 *
 * One training step on a batch of B rows:
 *   gather X rows (and targets) by index into the arena's input
 *   forward every layer (arena: each layer's output and saved statistics)
 *   loss forward + backward (probabilities, per-row losses, dlogits scaled 1/B)
 *   zero the gradient allocation, backward every layer (two ping-pong buffers)
 *   one optimizer pass over the flat parameters (L2 and its loss term fused)
 * The epoch loss is accumulated where the step ran (a double on the device),
 * read once per epoch; on the GPU nothing crosses to the host per batch but
 * the kernel launches (and the callback, which reads no device data).
 *
 * Random streams of the core Philox generator (seed = random_state):
 *   init of the weights: stream 1 (mlp.c, cnn.c), validation split: stream 2,
 *   shuffling of epoch e (over every warm-started fit): stream 2^61 + e,
 *   dropout of step s, layer l: stream 2^62 + s * n_layers + l. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/internal.h"
#include "linalg/linalg.h"
#include "core/rng.h"
#include "mfs/train.h"
#include "neural/network.h"
#include "src_cuda/cuda_api.h"

#define STREAM_SPLIT 2ull
#define STREAM_SHUFFLE (1ull << 61)
#define STREAM_DROPOUT (1ull << 62)

/* ---- building a network ------------------------------------------------------ */

void mfs__net_init(mfs__net *net, const int64_t in_shape[3], int32_t loss) {
    memset(net, 0, sizeof *net);
    net->loss = loss;
    net->in_size = in_shape[0] * in_shape[1] * in_shape[2];
    /* the first layer reads the input shape from here */
    net->layers[0].in_shape[0] = in_shape[0];
    net->layers[0].in_shape[1] = in_shape[1];
    net->layers[0].in_shape[2] = in_shape[2];
}

mfs_status mfs__net_add(mfs__net *net, const char *fn, const mfs__layer *L) {
    if (net->n_layers >= MFS__NET_MAX_LAYERS)
        return mfs__error(MFS_E_INVALID_ARG, "%s: a network has at most %d layers", fn, MFS__NET_MAX_LAYERS);
    const int i = net->n_layers;
    mfs__layer x = *L;
    const int64_t *prev = i == 0 ? net->layers[0].in_shape : net->layers[i - 1].out_shape;
    for (int k = 0; k < 3; k++) x.in_shape[k] = prev[k];
    x.in_size = x.in_shape[0] * x.in_shape[1] * x.in_shape[2];
    /* shape-preserving layers (out_shape left 0) keep their input's */
    if (x.out_shape[0] == 0 && x.out_shape[1] == 0 && x.out_shape[2] == 0)
        for (int k = 0; k < 3; k++) x.out_shape[k] = x.in_shape[k];
    for (int k = 0; k < 3; k++)
        if (x.out_shape[k] < 1)
            return mfs__error(MFS_E_INVALID_ARG, "%s: layer %d (%s) would output shape (%lld, %lld, %lld)", fn, i,
                              x.ops ? x.ops->name : "?", (long long)x.out_shape[0], (long long)x.out_shape[1],
                              (long long)x.out_shape[2]);
    x.out_size = x.out_shape[0] * x.out_shape[1] * x.out_shape[2];
    if (x.ops && x.ops->finish) x.ops->finish(&x); /* sizes that depend on the input */
    if (x.out_size > ((int64_t)1 << 40) || x.w_n < 0 || x.b_n < 0 || x.buf_n < 0 || x.w_n > ((int64_t)1 << 40))
        return mfs__error(MFS_E_OVERFLOW, "%s: layer %d (%s) is too large", fn, i, x.ops ? x.ops->name : "?");
    x.w_off = net->n_params;
    x.b_off = x.w_off + x.w_n;
    net->n_params = x.b_off + x.b_n;
    x.buf_off = net->n_buffers;
    net->n_buffers += x.buf_n;
    net->n_decay += x.w_n;
    net->layers[i] = x;
    net->n_layers = i + 1;
    net->out_size = x.out_size;
    return MFS_OK;
}

/* ---- the built-in layers behind the ops interface ------------------------------- */

/* The batch rows of layer 0 by index (see mfs__fctx.in_rows), else NULL. */
static const int64_t *input_rows(const mfs__fctx *ctx) { return ctx->layer_index == 0 ? ctx->in_rows : NULL; }

static mfs_status linear_fwd(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved,
                             const float *inp, const float *params, int64_t B) {
    const int64_t Ci = L->in_size, Co = L->out_size;
    const float *W = params + L->w_off, *b = params + L->b_off;
    const int64_t *rows = input_rows(ctx);
    /* the GEMM writes (beta = 0), then one pass adds the bias and applies the
     * activation: the same as mfs__linear_forward + mfs__activation_forward
     * with one sweep over the output fewer; GELU's backward needs the
     * pre-activation, kept in saved */
    float *pre = L->act == MFS__ACT_GELU ? saved : out;
    MFS_TRY(mfs__sgemm_rows(0, 0, B, Co, Ci, 1.0f, inp, Ci, rows, W, Co, 0.0f, pre, Co));
    if (L->act == MFS__ACT_GELU) {
        mfs__bias_activation_forward(pre, b, B, Co, MFS__ACT_IDENTITY);
        mfs__gelu_forward(out, pre, B * Co);
        return MFS_OK;
    }
    mfs__bias_activation_forward(out, b, B, Co, L->act);
    return MFS_OK;
}

static mfs_status linear_bwd(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                             const float *dout, const float *saved, const float *inp, const float *out,
                             const float *params, int64_t B) {
    const int64_t Ci = L->in_size, Co = L->out_size;
    const int64_t *rows = input_rows(ctx);
    float *dW = dparams + L->w_off, *db = dparams + L->b_off;
    const float *W = params + L->w_off;
    /* the activation's backward runs in place on dout, the layer's to
     * overwrite (mfs__layer_ops): no (B, C_out) scratch */
    float *g = (float *)dout;
    if (L->act == MFS__ACT_GELU) { /* from the saved pre-activation */
        mfs__activation_backward(g, dout, out, saved, B * Co, L->act);
        if (!rows) return mfs__linear_backward(dinp, dW, db, g, inp, W, B, Ci, Co);
        mfs__colsum_add(db, g, B, Co);
    } else if (L->act != MFS__ACT_IDENTITY) { /* act' and the bias gradient in one sweep */
        mfs__activation_backward_colsum(g, db, g, out, B, Co, L->act);
        if (!rows) return mfs__linear_backward(dinp, dW, NULL, g, inp, W, B, Ci, Co);
    } else {
        if (!rows) return mfs__linear_backward(dinp, dW, db, g, inp, W, B, Ci, Co);
        mfs__colsum_add(db, g, B, Co);
    }
    /* layer 0 on rows by index: dW += X[rows]^T dpre; no input gradient */
    return mfs__sgemm_rows(1, 0, Ci, Co, B, 1.0f, inp, Ci, rows, g, Co, 1.0f, dW, Co);
}

static mfs_status linear_fwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved,
                                  const float *inp, const float *params, int64_t B) {
    const int64_t Ci = L->in_size, Co = L->out_size;
    const float *W = params + L->w_off, *b = params + L->b_off;
    if (L->act == MFS__ACT_GELU) {
        MFS_TRY(mfs__linear_forward_cuda(saved, inp, W, b, B, Ci, Co, ctx->mem));
        return mfs__activation_forward_cuda(out, saved, B * Co, L->act);
    }
    MFS_TRY(mfs__linear_forward_cuda(out, inp, W, b, B, Ci, Co, ctx->mem));
    if (L->act == MFS__ACT_IDENTITY) return MFS_OK;
    return mfs__activation_forward_cuda(out, out, B * Co, L->act);
}

static mfs_status linear_bwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                                  const float *dout, const float *saved, const float *inp, const float *out,
                                  const float *params, int64_t B) {
    const int64_t Ci = L->in_size, Co = L->out_size;
    if (L->act != MFS__ACT_IDENTITY) /* in place, as on the CPU (elementwise) */
        MFS_TRY(mfs__activation_backward_cuda((float *)dout, dout, out, saved, B * Co, L->act));
    return mfs__linear_backward_cuda(dinp, dparams + L->w_off, dparams + L->b_off, dout, inp, params + L->w_off,
                                     B, Ci, Co, ctx->mem);
}

/* sizes that need the input: the weight (C_in, C_out), GELU's saved
 * pre-activation (the activation's backward runs in place: no scratch) */
static void linear_finish(mfs__layer *x) {
    x->w_n = x->in_size * x->out_size;
    x->saved_per_row = x->act == MFS__ACT_GELU ? x->out_size : 0;
    x->scratch_per_row = 0;
}

static const mfs__layer_ops LINEAR_OPS = {"linear", linear_fwd, linear_bwd, linear_fwd_cuda, linear_bwd_cuda,
                                          linear_finish};

mfs__layer mfs__layer_linear(int64_t C_out, int32_t act) {
    mfs__layer L;
    memset(&L, 0, sizeof L);
    L.ops = &LINEAR_OPS;
    L.kind = MFS__LAYER_LINEAR;
    L.act = act;
    L.out_shape[0] = C_out;
    L.out_shape[1] = L.out_shape[2] = 1;
    L.b_n = C_out;
    /* w_n, saved and scratch sizes: linear_finish, once the input is known */
    return L;
}

static mfs_status act_fwd(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved, const float *inp,
                          const float *params, int64_t B) {
    mfs__activation_forward(out, inp, B * L->out_size, L->act);
    return MFS_OK;
}
static mfs_status act_bwd(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                          const float *dout, const float *saved, const float *inp, const float *out,
                          const float *params, int64_t B) {
    if (dinp) mfs__activation_backward(dinp, dout, out, inp, B * L->out_size, L->act);
    return MFS_OK;
}
static mfs_status act_fwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved,
                               const float *inp, const float *params, int64_t B) {
    return mfs__activation_forward_cuda(out, inp, B * L->out_size, L->act);
}
static mfs_status act_bwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                               const float *dout, const float *saved, const float *inp, const float *out,
                               const float *params, int64_t B) {
    return dinp ? mfs__activation_backward_cuda(dinp, dout, out, inp, B * L->out_size, L->act) : MFS_OK;
}
static const mfs__layer_ops ACT_OPS = {"activation", act_fwd, act_bwd, act_fwd_cuda, act_bwd_cuda, NULL};

mfs__layer mfs__layer_activation(int32_t act) {
    mfs__layer L;
    memset(&L, 0, sizeof L);
    L.ops = &ACT_OPS;
    L.kind = MFS__LAYER_ACTIVATION;
    L.act = act;
    return L;
}

static uint64_t dropout_stream(const mfs__fctx *ctx) {
    return STREAM_DROPOUT + ctx->step * (uint64_t)ctx->n_layers + (uint64_t)ctx->layer_index;
}
static mfs_status drop_fwd(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved, const float *inp,
                           const float *params, int64_t B) {
    mfs__dropout_forward(out, inp, B * L->out_size, ctx->training ? L->p : 0.0f, ctx->seed, dropout_stream(ctx));
    return MFS_OK;
}
static mfs_status drop_bwd(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                           const float *dout, const float *saved, const float *inp, const float *out,
                           const float *params, int64_t B) {
    if (dinp) mfs__dropout_backward(dinp, dout, B * L->out_size, L->p, ctx->seed, dropout_stream(ctx));
    return MFS_OK;
}
static mfs_status drop_fwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved,
                                const float *inp, const float *params, int64_t B) {
    return mfs__dropout_forward_cuda(out, inp, B * L->out_size, ctx->training ? L->p : 0.0f, ctx->seed,
                                     dropout_stream(ctx));
}
static mfs_status drop_bwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                                const float *dout, const float *saved, const float *inp, const float *out,
                                const float *params, int64_t B) {
    return dinp ? mfs__dropout_backward_cuda(dinp, dout, B * L->out_size, L->p, ctx->seed, dropout_stream(ctx))
                : MFS_OK;
}
static const mfs__layer_ops DROPOUT_OPS = {"dropout", drop_fwd, drop_bwd, drop_fwd_cuda, drop_bwd_cuda, NULL};

mfs__layer mfs__layer_dropout(float p) {
    mfs__layer L;
    memset(&L, 0, sizeof L);
    L.ops = &DROPOUT_OPS;
    L.kind = MFS__LAYER_DROPOUT;
    L.p = p;
    return L;
}

/* layer norm: gamma then beta in the (not decayed) b range; saved mean, rstd */
static mfs_status ln_fwd(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved, const float *inp,
                         const float *params, int64_t B) {
    const int64_t C = L->out_size;
    mfs__layernorm_forward(out, saved, saved + B, inp, params + L->b_off, params + L->b_off + C, B, C, L->eps);
    return MFS_OK;
}
static mfs_status ln_bwd(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams, const float *dout,
                         const float *saved, const float *inp, const float *out, const float *params, int64_t B) {
    const int64_t C = L->out_size;
    mfs__layernorm_backward(dinp, dparams + L->b_off, dparams + L->b_off + C, dout, saved, saved + B, inp,
                            params + L->b_off, B, C);
    return MFS_OK;
}
static mfs_status ln_fwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *out, float *saved,
                              const float *inp, const float *params, int64_t B) {
    const int64_t C = L->out_size;
    return mfs__layernorm_forward_cuda(out, saved, saved + B, inp, params + L->b_off, params + L->b_off + C, B, C,
                                       L->eps);
}
static mfs_status ln_bwd_cuda(const mfs__layer *L, const mfs__fctx *ctx, float *dinp, float *dparams,
                              const float *dout, const float *saved, const float *inp, const float *out,
                              const float *params, int64_t B) {
    const int64_t C = L->out_size;
    return mfs__layernorm_backward_cuda(dinp, dparams + L->b_off, dparams + L->b_off + C, dout, saved, saved + B,
                                        inp, params + L->b_off, B, C);
}
static void ln_finish(mfs__layer *x) { x->b_n = 2 * x->in_size; }
static const mfs__layer_ops LAYERNORM_OPS = {"layernorm", ln_fwd, ln_bwd, ln_fwd_cuda, ln_bwd_cuda, ln_finish};

mfs__layer mfs__layer_layernorm(float eps) {
    mfs__layer L;
    memset(&L, 0, sizeof L);
    L.ops = &LAYERNORM_OPS;
    L.kind = MFS__LAYER_LAYERNORM;
    L.eps = eps;
    L.saved_per_row = 2;
    return L;
}


/* ---- plans: the activation arena --------------------------------------------------- */

typedef struct plan {
    int64_t B;              /* rows the arena holds */
    int64_t act_off[MFS__NET_MAX_LAYERS + 1]; /* act[0] = input, act[i + 1] = output of layer i */
    int64_t saved_off[MFS__NET_MAX_LAYERS];
    int64_t scratch_off, grad_off[2], loss_off, losses_off, tgt_off; /* training only */
    int64_t floats;         /* the arena's size */
    uint64_t relu_by_pool;  /* bit i: layer i's ReLU backward is done by the max-pool after it */
} plan;

enum { PLAN_INDEXED = 1, PLAN_GPU = 4 }; /* plan_make flags */

/* A layer whose output only the next layer's forward reads, when training (on
 * either side): a ReLU conv2d followed by a max-pool. The pool's backward applies
 * the ReLU's derivative (at the argmax, conv > 0 exactly when the pooled value
 * is > 0; elsewhere the gradient is 0 anyway), so the conv output need not
 * survive the forward pass. */
static int relu_by_pool(const mfs__net *net, int i) {
    return i + 1 < net->n_layers && net->layers[i].kind == MFS__LAYER_CONV2D &&
           net->layers[i].act == MFS__ACT_RELU && net->layers[i + 1].kind == MFS__LAYER_MAXPOOL2D;
}

/* training: 0 (eval) or 1; flags (training): PLAN_INDEXED, layer 0 reads its
 * rows by index (no input slot); PLAN_GPU (either mode), the arena lives on
 * the device (scratch_per_row_gpu, in chunks of the training or the predict
 * cap). */
static void plan_make(const mfs__net *net, int64_t B, int training, int flags, plan *pl) {
    memset(pl, 0, sizeof *pl);
    pl->B = B;
    /* the gradient buffers hold layer outputs' gradients only: the first
     * layer's input gradient is never computed */
    int64_t off = 0, scratch = 0;
    /* 16-float alignment of every tensor (64 bytes: whole cache lines, aligned vectors) */
#define ALIGN16(x) (((x) + 15) / 16 * 16)
    if (training) {
        const int64_t K = net->out_size;
        /* the two gradient buffers alternate through the backward pass
         * (net_backward): each is as large as the largest tensor it holds */
        int64_t need[2] = {K, 1};
        int cur = 0;
        for (int i = net->n_layers - 1; i >= 0; i--) {
            const mfs__layer *L = &net->layers[i];
            if (L->out_size > need[cur]) need[cur] = L->out_size;
            if (i > 0 && L->in_size > need[1 - cur]) need[1 - cur] = L->in_size;
            cur = 1 - cur;
        }
        pl->grad_off[0] = off;
        off += ALIGN16(B * need[0]);
        pl->grad_off[1] = off;
        off += ALIGN16(B * need[1]);
        pl->loss_off = off; /* probabilities (B, K) */
        off += ALIGN16(B * K);
        pl->losses_off = off; /* per-row losses (B) */
        off += ALIGN16(B);
        pl->tgt_off = off; /* gathered targets: (B) int32 labels or (B, K) floats */
        off += ALIGN16(B * K);
    }
    pl->act_off[0] = off;
    if (!(training && (flags & PLAN_INDEXED))) off += ALIGN16(B * net->in_size);
    for (int i = 0; i < net->n_layers; i++) {
        const mfs__layer *L = &net->layers[i];
        if (training && relu_by_pool(net, i)) {
            /* dead after the pool's forward: lent by the gradient buffer that
             * will take its gradient (dout of layer i, in buffer (n-1-i) % 2;
             * as large, since it is also the pool's input gradient) */
            pl->act_off[i + 1] = pl->grad_off[(net->n_layers - 1 - i) % 2];
            pl->relu_by_pool |= (uint64_t)1 << i;
        } else if (L->kind == MFS__LAYER_FLATTEN) { /* a view: its output is its input's slot */
            pl->act_off[i + 1] = pl->act_off[i];
        } else {
            pl->act_off[i + 1] = off;
            off += ALIGN16(B * L->out_size);
        }
        pl->saved_off[i] = off;
        off += ALIGN16(B * L->saved_per_row + L->saved_fixed);
        const int64_t fixed =
            (flags & PLAN_GPU) && L->scratch_fixed_gpu > L->scratch_fixed ? L->scratch_fixed_gpu : L->scratch_fixed;
        int64_t sc = B * L->scratch_per_row + fixed;
        const int64_t cap = training ? L->scratch_rows_gpu_fit : L->scratch_rows_gpu; /* 0: none */
        if ((flags & PLAN_GPU) && L->scratch_per_row_gpu > 0 && cap > 0)
            sc += L->scratch_per_row_gpu * mfs__gpu_chunk_rows(B, cap);
        if (sc > scratch) scratch = sc;
    }
    pl->scratch_off = off;
    off += ALIGN16(scratch);
#undef ALIGN16
    pl->floats = off;
}

/* ---- memory of either side ------------------------------------------------------------ */

/* dev: 0 host, 1 device, DEV_SCRATCH device memory of one call on this
 * thread (the stream-ordered pool: no device-wide wait when freed) */
enum { DEV_SCRATCH = 2 };
static mfs_status buf_alloc(int dev, void **p, size_t bytes, mfs_mem_counter *mem, const char *fn, const char *what) {
    *p = NULL;
    if (bytes == 0) bytes = 64;
    if (dev) {
        mfs_status s = dev == DEV_SCRATCH ? mfs__cuda_alloc_scratch(p, bytes, mem) : mfs__cuda_alloc(p, bytes, mem);
        if (s != MFS_OK) return mfs__error(s, "%s: %s on the GPU: %s", fn, what, mfs_last_error());
        return MFS_OK;
    }
    return mfs__alloc(p, bytes, fn, what);
}
static void buf_free(int dev, void *p, size_t bytes, mfs_mem_counter *mem) {
    if (!p) return;
    if (bytes == 0) bytes = 64;
    if (dev == DEV_SCRATCH) mfs__cuda_release_scratch(p, bytes, mem);
    else if (dev) mfs__cuda_release(p, bytes, mem);
    else mfs__free(p);
}

/* ---- forward / backward over the layers -------------------------------------------- */

/* input: the batch's rows where they already lie contiguous (predict), or
 * NULL: the arena's input slot. */
static mfs_status net_forward(const mfs__net *net, const plan *pl, float *arena, const float *params,
                              mfs__fctx *ctx, int64_t B, int dev, const float *input) {
    for (int i = 0; i < net->n_layers; i++) {
        const mfs__layer *L = &net->layers[i];
        ctx->layer_index = i;
        ctx->scratch = arena + pl->scratch_off;
        const float *inp = i == 0 && input ? input : arena + pl->act_off[i];
        float *out = arena + pl->act_off[i + 1], *saved = arena + pl->saved_off[i];
        mfs_status s = dev ? L->ops->forward_cuda(L, ctx, out, saved, inp, params, B)
                           : L->ops->forward(L, ctx, out, saved, inp, params, B);
        if (s != MFS_OK) return s;
    }
    return MFS_OK;
}

/* dlogits are in grad buffer 0 on entry. */
static mfs_status net_backward(const mfs__net *net, const plan *pl, float *arena, const float *params,
                               float *grads, mfs__fctx *ctx, int64_t B, int dev, const float *input) {
    int cur = 0;
    for (int i = net->n_layers - 1; i >= 0; i--) {
        const mfs__layer *L = &net->layers[i];
        ctx->layer_index = i;
        ctx->scratch = arena + pl->scratch_off;
        float *dout = arena + pl->grad_off[cur];
        float *dinp = i > 0 ? arena + pl->grad_off[1 - cur] : NULL;
        const float *inp = i == 0 && input ? input : arena + pl->act_off[i], *out = arena + pl->act_off[i + 1];
        const float *saved = arena + pl->saved_off[i];
        mfs_status s = dev ? L->ops->backward_cuda(L, ctx, dinp, grads, dout, saved, inp, out, params, B)
                           : L->ops->backward(L, ctx, dinp, grads, dout, saved, inp, out, params, B);
        if (s != MFS_OK) return s;
        cur = 1 - cur;
    }
    return MFS_OK;
}

/* The output activation in place on the last layer's output (eval). */
static mfs_status output_activation(const mfs__net *net, float *z, int64_t B, int dev) {
    const int64_t K = net->out_size;
    if (net->loss == MFS__LOSS_SOFTMAX_CE)
        return dev ? mfs__softmax_crossentropy_forward_cuda(z, NULL, z, NULL, B, K)
                   : (mfs__softmax_crossentropy_forward(z, NULL, z, NULL, B, K), MFS_OK);
    if (net->loss == MFS__LOSS_SIGMOID_CE)
        return dev ? mfs__activation_forward_cuda(z, z, B * K, MFS__ACT_SIGMOID)
                   : (mfs__sigmoid_forward(z, z, B * K), MFS_OK);
    return MFS_OK;
}

/* Eval forward of rows (idx: gathered; NULL: contiguous from X) into out (n, K),
 * all in the memory of one side, in blocks of pl->B rows. check_fn (host,
 * contiguous rows): each block's values are checked for NaN and infinity just
 * before the forward reads them, with check_matrix's message under that name;
 * the separate pass over all of X was 6 to 8% of an MLP predict. */
static mfs_status forward_rows(const mfs__net *net, const plan *pl, float *arena, const float *params,
                               float *buffers, const float *X, const int64_t *idx, int64_t n, float *out, int dev,
                               mfs_mem_counter *mem, const char *check_fn) {
    mfs__fctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.training = 0;
    ctx.n_layers = net->n_layers;
    ctx.buffers = buffers;
    ctx.mem = mem;
    const int64_t d = net->in_size, K = net->out_size;
    for (int64_t r0 = 0; r0 < n; r0 += pl->B) {
        const int64_t B = n - r0 < pl->B ? n - r0 : pl->B;
        float *in = arena + pl->act_off[0];
        const float *direct = NULL; /* contiguous rows are read where they are */
        if (idx) {
            if (dev) MFS_TRY(mfs__nn_gather_rows_cuda(in, X, idx + r0, B, d));
            else
                for (int64_t b = 0; b < B; b++) memcpy(in + b * d, X + idx[r0 + b] * d, (size_t)d * sizeof(float));
        } else {
            direct = X + r0 * d;
            if (check_fn && !dev && !mfs__all_finite(direct, B * d))
                for (int64_t i = 0; i < B * d; i++)
                    if (!isfinite(direct[i])) return mfs__nonfinite_error(check_fn, "X", X, r0 * d + i, d);
        }
        MFS_TRY(net_forward(net, pl, arena, params, &ctx, B, dev, direct));
        float *z = arena + pl->act_off[net->n_layers];
        MFS_TRY(output_activation(net, z, B, dev));
        if (dev) MFS_TRY(mfs__nn_copy_cuda(out + r0 * K, z, B * K));
        else memcpy(out + r0 * K, z, (size_t)(B * K) * sizeof(float));
    }
    return MFS_OK;
}

enum { PREDICT_BLOCK = 1024 };

/* Rows per forward pass of a predict: as many as keep the block's arena
 * within a budget (the floats a row adds to the plan), clamped to
 * [PREDICT_BLOCK, max_rows].
 * CPU: 16 MiB, at most 2 * PREDICT_BLOCK (the MLP: ~1.3k floats a row
 * planned, of which the 784 of the input slot are not used when the rows are
 * read in place: 2048 rows), where the GEMMs have more rows to share between
 * the threads. Paired A/B of the MLP's predict_proba on 20,000 rows, 2
 * threads (dev/mlp/ab_fit.c, PRED=1, 40 rounds): 2048 rows +8 %, 4096 +5 %,
 * 512 -3 % against 1024. Networks with large rows (the CNN) keep 1024.
 * GPU: 64 MiB, at most 65536: each pass is a fixed number of kernel
 * launches, so the MLP does 20k rows in 2 passes instead of 20. */
static int64_t predict_rows(const mfs__net *net, int flags, int64_t budget_bytes, int64_t max_rows) {
    plan p1, p2;
    plan_make(net, 1, 0, flags, &p1);
    plan_make(net, 2, 0, flags, &p2);
    int64_t per = p2.floats - p1.floats;
    if (per < 1) per = 1;
    int64_t rows = budget_bytes / (int64_t)sizeof(float) / per;
    return rows < PREDICT_BLOCK ? PREDICT_BLOCK : rows > max_rows ? max_rows : rows;
}

/* Host rows up to the device through libmfs's two pinned staging buffers:
 * the CPU threads copy the next piece into one while the DMA of the other
 * runs. The driver's pageable copy (one thread's memcpy into its own staging)
 * ran at 9.2 GB/s on the H100 machine, 6.8 of the MLP's 9.1 ms predict of
 * 20k rows (dev/gpu/NOTES.md). The plain copy below 4 MiB, or when the
 * staging buffers are busy or could not be pinned. */
static mfs_status upload_staged(void *dev, const void *host, size_t bytes) {
    void *buf[2];
    size_t cap = 0;
    if (bytes < ((size_t)4 << 20) || !mfs__cuda_stage_acquire(buf, &cap)) return mfs__cuda_upload(dev, host, bytes);
    mfs_status s = MFS_OK;
    int b = 0;
    for (size_t off = 0; off < bytes; off += cap, b ^= 1) {
        const size_t len = bytes - off < cap ? bytes - off : cap;
        if ((s = mfs__cuda_stage_wait(b)) != MFS_OK) break;
        /* 64 KiB pieces over the threads */
        const char *src = (const char *)host + off;
        char *dst = (char *)buf[b];
        const int64_t piece = (int64_t)1 << 16, np = (int64_t)((len + (size_t)piece - 1) / (size_t)piece);
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads())
        for (int64_t q = 0; q < np; q++) {
            const size_t o = (size_t)(q * piece), l = len - o < (size_t)piece ? len - o : (size_t)piece;
            memcpy(dst + o, src + o, l);
        }
        if ((s = mfs__cuda_stage_send((char *)dev + off, b, len)) != MFS_OK) break;
    }
    mfs_status r = mfs__cuda_stage_release();
    return s != MFS_OK ? s : r;
}

mfs_status mfs__net_predict(const char *fn, const mfs__net *net, const float *params, const float *buffers,
                            const float *X, int64_t n, float *out, mfs_device device, mfs_mem_counter *mem) {
    const int dev = device == MFS_DEVICE_CUDA;
    const int64_t block = dev ? predict_rows(net, PLAN_GPU, (int64_t)64 << 20, 65536)
                              : predict_rows(net, 0, (int64_t)16 << 20, 2 * PREDICT_BLOCK);
    const int64_t B = n < block ? (n > 0 ? n : 1) : block;
    const int64_t K = net->out_size, d = net->in_size;
    plan pl;
    plan_make(net, B, 0, dev ? PLAN_GPU : 0, &pl);
    float *arena = NULL;
    MFS_TRY(buf_alloc(dev ? DEV_SCRATCH : 0, (void **)&arena, (size_t)pl.floats * sizeof(float), mem, fn,
                      "the activation arena"));
    mfs_status s = MFS_OK;
    if (!dev) {
        s = forward_rows(net, &pl, arena, params, (float *)buffers, X, NULL, n, out, 0, mem, fn);
        buf_free(0, arena, 0, mem);
        return s;
    }
    /* GPU: weights and rows go up, probabilities come down, block by block of
     * rows so device memory stays bounded. */
    float *dp = NULL, *dbuf = NULL, *dx = NULL, *dout = NULL;
    const int64_t CH = 65536; /* rows per upload */
    const int64_t ch = n < CH ? n : CH;
    size_t pb = (size_t)net->n_params * sizeof(float), bb = (size_t)net->n_buffers * sizeof(float);
    size_t xb = (size_t)(ch * d) * sizeof(float), ob = (size_t)(ch * K) * sizeof(float);
    /* all of it scratch of this call: stream-ordered, kept in the pool between calls */
    if ((s = buf_alloc(DEV_SCRATCH, (void **)&dp, pb, mem, fn, "the parameters")) != MFS_OK ||
        (s = buf_alloc(DEV_SCRATCH, (void **)&dbuf, bb, mem, fn, "the buffers")) != MFS_OK ||
        (s = buf_alloc(DEV_SCRATCH, (void **)&dx, xb, mem, fn, "the rows")) != MFS_OK ||
        (s = buf_alloc(DEV_SCRATCH, (void **)&dout, ob, mem, fn, "the outputs")) != MFS_OK)
        goto done;
    if ((s = mfs__cuda_upload(dp, params, pb)) != MFS_OK) goto done;
    if (bb && (s = mfs__cuda_upload(dbuf, buffers, bb)) != MFS_OK) goto done;
    for (int64_t r0 = 0; r0 < n; r0 += ch) {
        const int64_t m = n - r0 < ch ? n - r0 : ch;
        if ((s = upload_staged(dx, X + r0 * d, (size_t)(m * d) * sizeof(float))) != MFS_OK) goto done;
        /* the generic layer left X's values to us (device_checks_finite):
         * checked here, on the device, with the host check's message */
        int64_t bad = m * d;
        if ((s = mfs__nn_first_nonfinite_cuda(dx, m * d, &bad)) != MFS_OK) goto done;
        if (bad < m * d) {
            s = mfs__nonfinite_error(fn, "X", X, r0 * d + bad, d);
            goto done;
        }
        if ((s = forward_rows(net, &pl, arena, dp, dbuf, dx, NULL, m, dout, 1, mem, NULL)) != MFS_OK) goto done;
        if ((s = mfs__cuda_download(out + r0 * K, dout, (size_t)(m * K) * sizeof(float))) != MFS_OK) goto done;
    }
done:
    buf_free(DEV_SCRATCH, dout, ob, mem);
    buf_free(DEV_SCRATCH, dx, xb, mem);
    buf_free(DEV_SCRATCH, dbuf, bb, mem);
    buf_free(DEV_SCRATCH, dp, pb, mem);
    buf_free(DEV_SCRATCH, arena, (size_t)pl.floats * sizeof(float), mem);
    return s;
}

/* ---- scores of the validation set --------------------------------------------------- */

/* Accuracy (classification: argmax, or p >= 0.5 with one output; multilabel:
 * every label right), or R^2 averaged over outputs (regression), of the
 * outputs P (n, K) against the rows idx of the data. */
static double score(const mfs__net *net, const float *P, const mfs__train_data *data, const int64_t *idx,
                    int64_t n) {
    const int64_t K = net->out_size;
    const float *w = data->weights; /* scikit-learn's score(X, y, sample_weight): weighted */
#define WEIGHT(i) (w ? (double)w[idx[i]] : 1.0)
    if (net->loss == MFS__LOSS_SOFTMAX_CE || net->loss == MFS__LOSS_SIGMOID_CE) {
        double ok = 0.0, total = 0.0;
        for (int64_t i = 0; i < n; i++) {
            int right;
            if (net->loss == MFS__LOSS_SOFTMAX_CE) {
                const float *p = P + i * K;
                int64_t best = 0;
                for (int64_t k = 1; k < K; k++)
                    if (p[k] > p[best]) best = k;
                right = best == data->labels[idx[i]];
            } else {
                right = 1;
                for (int64_t k = 0; k < K; k++) {
                    int pred = P[i * K + k] > 0.5f;
                    int truth = data->targets[idx[i] * K + k] > 0.5f;
                    right &= pred == truth;
                }
            }
            ok += right ? WEIGHT(i) : 0.0;
            total += WEIGHT(i);
        }
        return total > 0.0 ? ok / total : 0.0;
    }
    /* R^2 per output, in double, weighted means and sums as scikit-learn's
     * r2_score; a constant target scores 1 if predicted exactly else 0 */
    double wsum = 0.0;
    for (int64_t i = 0; i < n; i++) wsum += WEIGHT(i);
    if (!(wsum > 0.0)) return 0.0;
    double total = 0.0;
    for (int64_t k = 0; k < K; k++) {
        double mean = 0.0;
        for (int64_t i = 0; i < n; i++) mean += WEIGHT(i) * data->targets[idx[i] * K + k];
        mean /= wsum;
        double ssr = 0.0, sst = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double y = data->targets[idx[i] * K + k], r = y - P[i * K + k], c = y - mean;
            ssr += WEIGHT(i) * r * r;
            sst += WEIGHT(i) * c * c;
        }
        total += sst > 0.0 ? 1.0 - ssr / sst : (ssr == 0.0 ? 1.0 : 0.0);
    }
#undef WEIGHT
    return total / (double)K;
}

/* ---- the validation split ------------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Shuffle v (n) with the core RNG (Fisher-Yates). */
static void shuffle_idx(int64_t *v, int64_t n, mfs_rng *r) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)mfs_rng_below(r, (uint64_t)(i + 1));
        int64_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* n_val = ceil(fraction n) rows held out (train_test_split's rule), stratified
 * by class when labels exist: each class gives its share (largest
 * remainders), drawn at random within the class. idx (n) is filled with the
 * training rows first (sorted), then the validation rows (sorted). */
static mfs_status split_rows(const char *fn, const mfs__train_data *data, int64_t K, double fraction, uint64_t seed,
                             int64_t *idx, int64_t *n_train) {
    const int64_t n = data->n;
    int64_t n_val = (int64_t)ceil(fraction * (double)n);
    if (n_val < 2)
        return mfs__error(MFS_E_VALUE,
                          "%s: The validation set is too small: validation_fraction %g of %lld rows gives %lld; "
                          "increase validation_fraction or the size of your dataset",
                          fn, fraction, (long long)n, (long long)n_val);
    if (n - n_val < 1)
        return mfs__error(MFS_E_VALUE, "%s: validation_fraction %g of %lld rows leaves no training rows", fn, fraction,
                          (long long)n);
    mfs_rng r = mfs_rng_make(seed, STREAM_SPLIT);
    char *is_val = NULL;
    MFS_TRY(mfs__alloc((void **)&is_val, (size_t)n, fn, "the validation split"));
    memset(is_val, 0, (size_t)n);
    int64_t *tmp = idx; /* scratch: rows of one class */
    if (data->labels && K >= 1) {
        int64_t *count = NULL;
        mfs_status s = mfs__alloc((void **)&count, (size_t)(3 * K) * sizeof(int64_t), fn, "the class counts");
        if (s != MFS_OK) {
            mfs__free(is_val);
            return s;
        }
        int64_t *take = count + K, *rem = take + K;
        memset(count, 0, (size_t)K * sizeof(int64_t));
        for (int64_t i = 0; i < n; i++) count[data->labels[i]]++;
        int64_t given = 0;
        for (int64_t k = 0; k < K; k++) {
            /* floor share and its remainder (scaled by n, exact in integers) */
            take[k] = count[k] * n_val / n;
            rem[k] = count[k] * n_val % n;
            given += take[k];
        }
        while (given < n_val) { /* largest remainder first, ties to the larger class, then the lower index */
            int64_t best = -1;
            for (int64_t k = 0; k < K; k++) {
                if (take[k] >= count[k]) continue;
                if (best < 0 || rem[k] > rem[best] || (rem[k] == rem[best] && count[k] > count[best])) best = k;
            }
            if (best < 0) break;
            take[best]++;
            rem[best] = -1;
            given++;
        }
        for (int64_t k = 0; k < K; k++) {
            int64_t m = 0;
            for (int64_t i = 0; i < n; i++)
                if (data->labels[i] == k) tmp[m++] = i;
            shuffle_idx(tmp, m, &r);
            for (int64_t j = 0; j < take[k]; j++) is_val[tmp[j]] = 1;
        }
        mfs__free(count);
    } else {
        for (int64_t i = 0; i < n; i++) tmp[i] = i;
        shuffle_idx(tmp, n, &r);
        for (int64_t j = 0; j < n_val; j++) is_val[tmp[j]] = 1;
    }
    int64_t a = 0, b = n;
    for (int64_t i = 0; i < n; i++)
        if (!is_val[i]) idx[a++] = i;
    *n_train = a;
    for (int64_t i = n - 1; i >= 0; i--)
        if (is_val[i]) idx[--b] = i;
    qsort(idx + a, (size_t)(n - a), sizeof(int64_t), cmp_i64);
    mfs__free(is_val);
    return MFS_OK;
}

/* ---- the callback of this thread ------------------------------------------------------- */

#if defined(_MSC_VER)
#define MFS_TLS __declspec(thread)
#else
#define MFS_TLS _Thread_local
#endif
static MFS_TLS mfs__train_cb tls_cb;
static MFS_TLS void *tls_user;

mfs__train_cb mfs__train_callback(void **user_data) {
    if (user_data) *user_data = tls_user;
    return tls_cb;
}

mfs_status mfs_fit_with_callback(mfs_model *model, const mfs_array *X, const mfs_array *y, int32_t partial,
                                 mfs_train_callback callback, void *user_data) {
    if (partial != 0 && partial != 1)
        return mfs__error(MFS_E_INVALID_ARG, "mfs_fit_with_callback: partial is %d, expected 0 or 1", (int)partial);
    mfs__train_cb prev_cb = tls_cb;
    void *prev_user = tls_user;
    tls_cb = (mfs__train_cb)callback;
    tls_user = user_data;
    mfs_status s = partial ? mfs_partial_fit(model, X, y) : mfs_fit(model, X, y);
    tls_cb = prev_cb;
    tls_user = prev_user;
    return s;
}

/* ---- the training loop ----------------------------------------------------------------- */

/* Everything a fit allocates, on the side it runs. */
typedef struct trainer {
    int dev;
    int indexed;              /* CPU, first layer linear: the batch is read in place by index */
    mfs_mem_counter *mem;
    const mfs__net *net;
    plan pl, pv;              /* training arena, validation arena */
    float *arena, *varena;
    float *grads;
    float *params, *opt, *buffers; /* the device copies (dev), else the caller's */
    float *best_params, *best_buffers;
    float *X;                 /* device copy of the data (dev) */
    int32_t *labels;
    float *targets;
    float *weights;           /* device copy of the sample weights, or NULL */
    int64_t *d_idx;           /* device copy of the row order */
    double *d_loss;           /* device accumulator of the epoch loss */
    float *val_out;           /* validation outputs (host) */
    float *d_val_out;
    size_t sz_arena, sz_varena, sz_grads, sz_params, sz_opt, sz_buffers, sz_X, sz_labels, sz_targets, sz_weights,
        sz_idx, sz_val;
} trainer;

static void trainer_free(trainer *t) {
    const int dev = t->dev;
    buf_free(dev, t->arena, t->sz_arena, t->mem);
    buf_free(dev, t->varena, t->sz_varena, t->mem);
    buf_free(dev, t->grads, t->sz_grads, t->mem);
    buf_free(dev, t->best_params, t->sz_params, t->mem);
    buf_free(dev, t->best_buffers, t->sz_buffers, t->mem);
    if (dev) {
        buf_free(1, t->params, t->sz_params, t->mem);
        buf_free(1, t->opt, t->sz_opt, t->mem);
        buf_free(1, t->buffers, t->sz_buffers, t->mem);
        buf_free(1, t->X, t->sz_X, t->mem);
        buf_free(1, t->labels, t->sz_labels, t->mem);
        buf_free(1, t->targets, t->sz_targets, t->mem);
        buf_free(1, t->weights, t->sz_weights, t->mem);
        buf_free(1, t->d_idx, t->sz_idx, t->mem);
        buf_free(1, t->d_loss, sizeof(double), t->mem);
        buf_free(1, t->d_val_out, t->sz_val, t->mem);
    }
    mfs__free(t->val_out);
}

static mfs_status copy_same_side(int dev, float *dst, const float *src, int64_t n) {
    if (n <= 0) return MFS_OK;
    if (dev) return mfs__nn_copy_cuda(dst, src, n);
    memcpy(dst, src, (size_t)n * sizeof(float));
    return MFS_OK;
}

/* One optimizer step on rows idx[0..B) of the training data; adds the batch's
 * loss times B (scikit-learn's accumulated_loss) to *acc (host) or t->d_loss. */
static mfs_status train_step(const char *fn, trainer *t, const mfs__train_config *cfg, const mfs__train_data *data,
                             const int64_t *idx, const int64_t *d_idx, int64_t B, mfs__optim *o, mfs__fctx *ctx,
                             double *acc) {
    const mfs__net *net = t->net;
    const plan *pl = &t->pl;
    const int dev = t->dev;
    const int64_t d = net->in_size, K = net->out_size;
    float *arena = t->arena;
    float *in = arena + pl->act_off[0];
    float *tgt = arena + pl->tgt_off;
    /* gather */
    if (dev) {
        MFS_TRY(mfs__nn_gather_rows_cuda(in, t->X, d_idx, B, d));
        if (net->loss == MFS__LOSS_SOFTMAX_CE) MFS_TRY(mfs__nn_gather_labels_cuda((int32_t *)tgt, t->labels, d_idx, B));
        else MFS_TRY(mfs__nn_gather_rows_cuda(tgt, t->targets, d_idx, B, K));
    } else {
        if (!t->indexed) {
#pragma omp parallel for schedule(static) num_threads(mfs__num_threads()) if (B * d >= 65536)
            for (int64_t b = 0; b < B; b++) memcpy(in + b * d, data->X + idx[b] * d, (size_t)d * sizeof(float));
        }
        if (net->loss == MFS__LOSS_SOFTMAX_CE)
            for (int64_t b = 0; b < B; b++) ((int32_t *)tgt)[b] = data->labels[idx[b]];
        else
            for (int64_t b = 0; b < B; b++) memcpy(tgt + b * K, data->targets + idx[b] * K, (size_t)K * sizeof(float));
    }
    /* sample weights (scikit-learn's semantics): the batch loss is the
     * weighted mean sum_b w_b loss_b / sw, each row's output gradient is
     * scaled by w_b / sw, and the L2 term by 1 / sw (sw = the batch's weight
     * sum). A batch whose weights are all 0 carries no information: it is
     * skipped (no step; scikit-learn would divide by 0). */
    const float *w = data->weights;
    double sw = (double)B;
    if (w) {
        sw = 0.0;
        for (int64_t b = 0; b < B; b++) sw += w[idx[b]];
        if (!(sw > 0.0)) return MFS_OK;
    }
    /* forward */
    ctx->training = 1;
    const float *input = t->indexed ? data->X : NULL;
    ctx->in_rows = t->indexed ? idx : NULL;
    ctx->relu_by_pool = pl->relu_by_pool;
    mfs_status fs = net_forward(net, pl, arena, t->params, ctx, B, dev, input);
    if (fs != MFS_OK) {
        ctx->in_rows = NULL;
        ctx->relu_by_pool = 0;
        return fs;
    }
    /* loss */
    float *z = arena + pl->act_off[net->n_layers];
    float *probs = arena + pl->loss_off, *losses = arena + pl->losses_off, *dz = arena + pl->grad_off[0];
    double loss_coef = 1.0; /* multiplies sum_b losses[b] */
    const float scale = w ? (float)(1.0 / sw) : 1.0f / (float)B;
    if (dev) {
        if (net->loss == MFS__LOSS_SOFTMAX_CE) {
            MFS_TRY(mfs__softmax_crossentropy_forward_cuda(probs, losses, z, (const int32_t *)tgt, B, K));
            MFS_TRY(mfs__softmax_crossentropy_backward_cuda(dz, probs, (const int32_t *)tgt, B, K, scale));
        } else if (net->loss == MFS__LOSS_SIGMOID_CE) {
            MFS_TRY(mfs__sigmoid_crossentropy_forward_cuda(probs, losses, z, tgt, B, K));
            MFS_TRY(mfs__sigmoid_crossentropy_backward_cuda(dz, probs, tgt, B, K, scale));
        } else {
            MFS_TRY(mfs__mse_forward_cuda(losses, z, tgt, B, K));
            MFS_TRY(mfs__mse_backward_cuda(dz, z, tgt, B, K, 0.5f * scale));
            loss_coef = 1.0 / (2.0 * (double)K);
        }
        if (w) { /* as the CPU's below: rows times their weights, the sum times B / sw */
            MFS_TRY(mfs__nn_weight_rows_cuda(dz, losses, t->weights, d_idx, B, K));
            loss_coef *= (double)B / sw;
        }
        MFS_TRY(mfs__nn_accumulate_cuda(t->d_loss, losses, B, loss_coef));
        MFS_TRY(mfs__nn_zero_cuda(t->grads, net->n_params));
    } else {
        if (net->loss == MFS__LOSS_SOFTMAX_CE) {
            mfs__softmax_crossentropy_forward(probs, losses, z, (const int32_t *)tgt, B, K);
            mfs__softmax_crossentropy_backward(dz, probs, (const int32_t *)tgt, B, K, scale);
        } else if (net->loss == MFS__LOSS_SIGMOID_CE) {
            mfs__sigmoid_crossentropy_forward(probs, losses, z, tgt, B, K);
            mfs__sigmoid_crossentropy_backward(dz, probs, tgt, B, K, scale);
        } else {
            mfs__mse_forward(losses, z, tgt, B, K);
            mfs__mse_backward(dz, z, tgt, B, K, 0.5f * scale);
            loss_coef = 1.0 / (2.0 * (double)K);
        }
        double s = 0.0;
        if (w) {
            /* the weighted batch mean, counted for the B rows as scikit-learn's
             * accumulated_loss += batch_loss * rows */
            for (int64_t b = 0; b < B; b++) {
                const float wb = w[idx[b]];
                s += (double)wb * losses[b];
                for (int64_t k = 0; k < K; k++) dz[b * K + k] *= wb;
            }
            s *= (double)B / sw;
        } else {
            for (int64_t b = 0; b < B; b++) s += losses[b];
        }
        *acc += s * loss_coef;
        /* t->grads is zero here: zeroed at allocation, and every optimizer
         * step leaves it zero (mfs__optim_step consumes the gradient) */
    }
    /* backward */
    fs = net_backward(net, pl, arena, t->params, t->grads, ctx, B, dev, input);
    ctx->in_rows = NULL;
    ctx->relu_by_pool = 0;
    if (fs != MFS_OK) return fs;
    /* optimizer step (+ the L2 term of the loss: 0.5 alpha ||W||^2 / B, times B) */
    o->t += 1;
    const int l2 = cfg->solver != MFS__SOLVER_ADAMW && cfg->alpha > 0.0;
    o->l2 = l2 ? cfg->alpha / sw : 0.0;
    o->weight_decay = cfg->solver == MFS__SOLVER_ADAMW ? cfg->alpha : 0.0;
    if (dev) {
        MFS_TRY(mfs__optim_step_cuda(o, net, t->params, t->grads, t->opt, l2 ? t->d_loss : NULL, 0.5 * cfg->alpha));
    } else {
        double sumsq = 0.0;
        mfs__optim_step(o, net, t->params, t->grads, t->opt, l2 ? &sumsq : NULL);
        if (l2) *acc += 0.5 * cfg->alpha * sumsq * ((double)B / sw);
    }
    ctx->step += 1;
    (void)fn;
    return MFS_OK;
}

static mfs_status validation_score(const char *fn, trainer *t, const mfs__train_data *data, const int64_t *vidx,
                                   int64_t n_val, double *out) {
    const mfs__net *net = t->net;
    if (t->dev) {
        MFS_TRY(forward_rows(net, &t->pv, t->varena, t->params, t->buffers, t->X, t->d_idx + data->n - n_val, n_val,
                             t->d_val_out, 1, t->mem, NULL));
        MFS_TRY(mfs__cuda_download(t->val_out, t->d_val_out, (size_t)(n_val * net->out_size) * sizeof(float)));
    } else {
        MFS_TRY(forward_rows(net, &t->pv, t->varena, t->params, t->buffers, data->X, vidx, n_val, t->val_out, 0,
                             t->mem, NULL));
    }
    *out = score(net, t->val_out, data, vidx, n_val);
    (void)fn;
    return MFS_OK;
}

mfs_status mfs__net_train(const char *fn, const mfs__net *net, const mfs__train_config *cfg,
                          const mfs__train_data *data, mfs__train_state *st, mfs_device device, mfs_mem_counter *mem,
                          mfs__train_cb cb, void *user_data) {
    const int dev = device == MFS_DEVICE_CUDA;
    const int64_t n = data->n, d = net->in_size, K = net->out_size, P = net->n_params;
    const int64_t spp = mfs__optim_state_per_param(cfg->solver);
    if (n < 1) return mfs__error(MFS_E_SHAPE, "%s: X has no rows", fn);
    if (cfg->batch_size < 1)
        return mfs__error(MFS_E_INVALID_ARG, "%s: batch_size is %lld, it must be >= 1", fn, (long long)cfg->batch_size);
    st->n_epochs = 0;
    st->loss_curve = st->val_scores = NULL;

    /* row order: idx = training rows then validation rows */
    int64_t *idx = NULL;
    MFS_TRY(mfs__alloc((void **)&idx, (size_t)n * sizeof(int64_t), fn, "the row order"));
    int64_t n_train = n, n_val = 0;
    mfs_status s = MFS_OK;
    if (cfg->early_stopping) {
        s = split_rows(fn, data, net->loss == MFS__LOSS_SOFTMAX_CE ? K : (data->labels ? 2 : 0),
                       cfg->validation_fraction, cfg->seed, idx, &n_train);
        if (s != MFS_OK) {
            mfs__free(idx);
            return s;
        }
        n_val = n - n_train;
    } else {
        for (int64_t i = 0; i < n; i++) idx[i] = i;
    }
    int64_t *base = NULL; /* the training rows in order: kept only when they are not 0..n_train-1 */
    if (cfg->early_stopping) {
        s = mfs__alloc((void **)&base, (size_t)n_train * sizeof(int64_t), fn, "the row order");
        if (s != MFS_OK) {
            mfs__free(idx);
            return s;
        }
        memcpy(base, idx, (size_t)n_train * sizeof(int64_t));
    }
    const int64_t bs = cfg->batch_size < n_train ? cfg->batch_size : n_train;
    const int64_t n_batches = (n_train + bs - 1) / bs;

    trainer t;
    memset(&t, 0, sizeof t);
    t.dev = dev;
    t.mem = mem;
    t.net = net;
    /* a first linear layer reads its batch rows in place (no copy, no input slot) */
    t.indexed = !dev && net->n_layers > 0 && net->layers[0].ops == &LINEAR_OPS;
    plan_make(net, bs, 1, (t.indexed ? PLAN_INDEXED : 0) | (dev ? PLAN_GPU : 0), &t.pl);
    t.sz_arena = (size_t)t.pl.floats * sizeof(float);
    t.sz_grads = (size_t)P * sizeof(float);
    t.sz_params = (size_t)P * sizeof(float);
    t.sz_opt = (size_t)(P * spp) * sizeof(float);
    t.sz_buffers = (size_t)net->n_buffers * sizeof(float);
    double *curve = NULL, *vcurve = NULL;
    if ((s = buf_alloc(dev, (void **)&t.arena, t.sz_arena, mem, fn, "the activation arena")) != MFS_OK) goto done;
    if ((s = buf_alloc(dev, (void **)&t.grads, t.sz_grads, mem, fn, "the gradients")) != MFS_OK) goto done;
    if (!dev) memset(t.grads, 0, t.sz_grads); /* once: each optimizer step leaves it zero */
    if (n_val > 0) {
        const int64_t vb = n_val < PREDICT_BLOCK ? n_val : PREDICT_BLOCK;
        plan_make(net, vb, 0, dev ? PLAN_GPU : 0, &t.pv);
        t.sz_varena = (size_t)t.pv.floats * sizeof(float);
        t.sz_val = (size_t)(n_val * K) * sizeof(float);
        if ((s = buf_alloc(dev, (void **)&t.varena, t.sz_varena, mem, fn, "the validation arena")) != MFS_OK ||
            (s = buf_alloc(dev, (void **)&t.best_params, t.sz_params, mem, fn, "the best parameters")) != MFS_OK ||
            (s = buf_alloc(dev, (void **)&t.best_buffers, t.sz_buffers, mem, fn, "the best buffers")) != MFS_OK ||
            (s = mfs__alloc((void **)&t.val_out, t.sz_val, fn, "the validation outputs")) != MFS_OK)
            goto done;
        if (dev && (s = buf_alloc(1, (void **)&t.d_val_out, t.sz_val, mem, fn, "the validation outputs")) != MFS_OK)
            goto done;
    }
    if (!st->warm) {
        memset(st->opt, 0, t.sz_opt);
        for (int c = 0; c < MFS__CNT_COUNT; c++) st->counters[c] = 0.0;
        st->counters[MFS__CNT_BEST_LOSS] = cfg->early_stopping ? NAN : INFINITY;
        st->counters[MFS__CNT_BEST_SCORE] = cfg->early_stopping ? -INFINITY : NAN;
        st->counters[MFS__CNT_LR] = cfg->learning_rate_init;
    } else {
        /* scikit-learn's warm start: best loss / score and the count carry on; a
         * change of early_stopping starts its bookkeeping afresh */
        if (cfg->early_stopping && isnan(st->counters[MFS__CNT_BEST_SCORE])) {
            st->counters[MFS__CNT_BEST_SCORE] = -INFINITY;
            st->counters[MFS__CNT_NO_IMPROVEMENT] = 0;
        }
        if (!cfg->early_stopping && isnan(st->counters[MFS__CNT_BEST_LOSS])) {
            st->counters[MFS__CNT_BEST_LOSS] = INFINITY;
            st->counters[MFS__CNT_NO_IMPROVEMENT] = 0;
        }
    }
    st->counters[MFS__CNT_STOPPED] = 0;
    /* the starting learning rate */
    double lr = cfg->learning_rate_init;
    if (cfg->schedule == MFS__SCHEDULE_ADAPTIVE && st->warm && st->counters[MFS__CNT_LR] > 0)
        lr = st->counters[MFS__CNT_LR];
    if (cfg->schedule == MFS__SCHEDULE_INVSCALING && st->warm)
        lr = mfs__schedule_lr(cfg->schedule, lr, cfg->learning_rate_init, cfg->power_t,
                              (int64_t)st->counters[MFS__CNT_SAMPLES_SEEN], 0, cfg->max_iter);

    if (dev) {
        t.sz_X = (size_t)(n * d) * sizeof(float);
        t.sz_idx = (size_t)n * sizeof(int64_t);
        if ((s = buf_alloc(1, (void **)&t.params, t.sz_params, mem, fn, "the parameters")) != MFS_OK ||
            (s = buf_alloc(1, (void **)&t.opt, t.sz_opt, mem, fn, "the optimizer state")) != MFS_OK ||
            (s = buf_alloc(1, (void **)&t.buffers, t.sz_buffers, mem, fn, "the buffers")) != MFS_OK ||
            (s = buf_alloc(1, (void **)&t.X, t.sz_X, mem, fn, "the training data")) != MFS_OK ||
            (s = buf_alloc(1, (void **)&t.d_idx, t.sz_idx, mem, fn, "the row order")) != MFS_OK ||
            (s = buf_alloc(1, (void **)&t.d_loss, sizeof(double), mem, fn, "the loss accumulator")) != MFS_OK)
            goto done;
        if ((s = mfs__cuda_upload(t.params, st->params, t.sz_params)) != MFS_OK ||
            (s = mfs__cuda_upload(t.opt, st->opt, t.sz_opt)) != MFS_OK ||
            (t.sz_buffers && (s = mfs__cuda_upload(t.buffers, st->buffers, t.sz_buffers)) != MFS_OK) ||
            (s = mfs__cuda_upload(t.X, data->X, t.sz_X)) != MFS_OK || (s = mfs__cuda_upload(t.d_idx, idx, t.sz_idx)) != MFS_OK)
            goto done;
        if (data->labels) {
            t.sz_labels = (size_t)n * sizeof(int32_t);
            if ((s = buf_alloc(1, (void **)&t.labels, t.sz_labels, mem, fn, "the labels")) != MFS_OK ||
                (s = mfs__cuda_upload(t.labels, data->labels, t.sz_labels)) != MFS_OK)
                goto done;
        }
        if (data->targets) {
            t.sz_targets = (size_t)(n * K) * sizeof(float);
            if ((s = buf_alloc(1, (void **)&t.targets, t.sz_targets, mem, fn, "the targets")) != MFS_OK ||
                (s = mfs__cuda_upload(t.targets, data->targets, t.sz_targets)) != MFS_OK)
                goto done;
        }
        if (data->weights) {
            t.sz_weights = (size_t)n * sizeof(float);
            if ((s = buf_alloc(1, (void **)&t.weights, t.sz_weights, mem, fn, "the sample weights")) != MFS_OK ||
                (s = mfs__cuda_upload(t.weights, data->weights, t.sz_weights)) != MFS_OK)
                goto done;
        }
    } else {
        t.params = st->params;
        t.opt = st->opt;
        t.buffers = st->buffers;
    }
    if (n_val > 0) {
        if ((s = copy_same_side(dev, t.best_params, t.params, P)) != MFS_OK ||
            (s = copy_same_side(dev, t.best_buffers, t.buffers, net->n_buffers)) != MFS_OK)
            goto done;
    }
    const int32_t max_epochs = cfg->incremental ? 1 : cfg->max_iter;
    if ((s = mfs__alloc((void **)&curve, (size_t)(max_epochs > 0 ? max_epochs : 1) * sizeof(double), fn,
                        "the loss curve")) != MFS_OK)
        goto done;
    if (n_val > 0 && (s = mfs__alloc((void **)&vcurve, (size_t)max_epochs * sizeof(double), fn,
                                     "the validation scores")) != MFS_OK)
        goto done;

    mfs__optim o;
    memset(&o, 0, sizeof o);
    o.solver = cfg->solver;
    o.nesterov = cfg->nesterovs_momentum;
    o.momentum = cfg->momentum;
    o.beta_1 = cfg->beta_1;
    o.beta_2 = cfg->beta_2;
    o.epsilon = cfg->epsilon;
    o.t = (int64_t)st->counters[MFS__CNT_STEPS];
    mfs__fctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.n_layers = net->n_layers;
    ctx.seed = cfg->seed;
    ctx.step = (uint64_t)st->counters[MFS__CNT_STEPS];
    ctx.buffers = t.buffers;
    ctx.mem = mem;

    int stop = 0, epochs = 0;
    for (int32_t e = 1; e <= max_epochs && !stop; e++) {
        const uint64_t epoch_global = (uint64_t)st->counters[MFS__CNT_EPOCHS_TOTAL];
        if (cfg->shuffle) {
            /* the order of an epoch is a function of (seed, epoch) alone, so a
             * warm start continues exactly as one longer fit would */
            if (base) memcpy(idx, base, (size_t)n_train * sizeof(int64_t));
            else for (int64_t i = 0; i < n_train; i++) idx[i] = i;
            mfs_rng r = mfs_rng_make(cfg->seed, STREAM_SHUFFLE + epoch_global);
            shuffle_idx(idx, n_train, &r);
            if (dev && (s = mfs__cuda_upload(t.d_idx, idx, (size_t)n_train * sizeof(int64_t))) != MFS_OK) goto done;
        }
        o.lr = lr;
        double acc = 0.0;
        if (dev && (s = mfs__nn_zero_cuda((float *)t.d_loss, 2)) != MFS_OK) goto done; /* one double */
        for (int64_t bi = 0; bi < n_batches; bi++) {
            const int64_t r0 = bi * bs, B = n_train - r0 < bs ? n_train - r0 : bs;
            if ((s = train_step(fn, &t, cfg, data, idx + r0, dev ? t.d_idx + r0 : NULL, B, &o, &ctx, &acc)) != MFS_OK)
                goto done;
            st->counters[MFS__CNT_STEPS] = (double)o.t;
            if (cb) {
                mfs_train_event ev;
                memset(&ev, 0, sizeof ev);
                ev.kind = MFS_TRAIN_EVENT_BATCH;
                ev.epoch = e;
                ev.max_iter = max_epochs;
                ev.batch = (int32_t)(bi + 1);
                ev.n_batches = (int32_t)n_batches;
                ev.no_improvement = (int32_t)st->counters[MFS__CNT_NO_IMPROVEMENT];
                ev.loss = NAN;
                ev.validation_score = NAN;
                ev.learning_rate = lr;
                ev.samples_seen = (int64_t)st->counters[MFS__CNT_SAMPLES_SEEN] + r0 + B;
                if (cb(user_data, &ev) != 0) {
                    stop = 1;
                    st->counters[MFS__CNT_STOPPED] = 1;
                    break;
                }
            }
        }
        if (stop) break; /* the epoch is not complete: no bookkeeping for it */
        if (dev && (s = mfs__cuda_download(&acc, t.d_loss, sizeof(double))) != MFS_OK) goto done;
        const double loss = acc / (double)n_train;
        curve[epochs] = loss;
        st->counters[MFS__CNT_SAMPLES_SEEN] += (double)n_train;
        st->counters[MFS__CNT_EPOCHS_TOTAL] += 1;
        st->counters[MFS__CNT_LOSS] = loss;
        double vs = NAN;
        if (n_val > 0) {
            if ((s = validation_score(fn, &t, data, idx + n_train, n_val, &vs)) != MFS_OK) goto done;
            vcurve[epochs] = vs;
            double best = st->counters[MFS__CNT_BEST_SCORE];
            /* NaN scores (a diverged network) count as no improvement */
            if (!(vs >= best + cfg->tol)) st->counters[MFS__CNT_NO_IMPROVEMENT] += 1;
            else st->counters[MFS__CNT_NO_IMPROVEMENT] = 0;
            if (vs > best) {
                st->counters[MFS__CNT_BEST_SCORE] = vs;
                if ((s = copy_same_side(dev, t.best_params, t.params, P)) != MFS_OK ||
                    (s = copy_same_side(dev, t.best_buffers, t.buffers, net->n_buffers)) != MFS_OK)
                    goto done;
            }
        } else {
            double best = st->counters[MFS__CNT_BEST_LOSS];
            if (!(loss <= best - cfg->tol)) st->counters[MFS__CNT_NO_IMPROVEMENT] += 1;
            else st->counters[MFS__CNT_NO_IMPROVEMENT] = 0;
            if (loss < best) st->counters[MFS__CNT_BEST_LOSS] = loss;
        }
        epochs++;
        st->counters[MFS__CNT_N_ITER] = epochs;
        /* scikit-learn's iteration_ends: the schedule moves with the samples seen */
        lr = mfs__schedule_lr(cfg->schedule, lr, cfg->learning_rate_init, cfg->power_t,
                              (int64_t)st->counters[MFS__CNT_SAMPLES_SEEN], e, cfg->max_iter);
        int finished = 0;
        if (st->counters[MFS__CNT_NO_IMPROVEMENT] > cfg->n_iter_no_change) {
            if (cfg->schedule == MFS__SCHEDULE_ADAPTIVE && lr > 1e-6) {
                lr /= 5.0;
                st->counters[MFS__CNT_NO_IMPROVEMENT] = 0;
            } else {
                finished = 1;
            }
        }
        st->counters[MFS__CNT_LR] = lr;
        if (cb) {
            mfs_train_event ev;
            memset(&ev, 0, sizeof ev);
            ev.kind = MFS_TRAIN_EVENT_EPOCH;
            ev.epoch = e;
            ev.max_iter = max_epochs;
            ev.batch = (int32_t)n_batches;
            ev.n_batches = (int32_t)n_batches;
            ev.no_improvement = (int32_t)st->counters[MFS__CNT_NO_IMPROVEMENT];
            ev.loss = loss;
            ev.validation_score = vs;
            ev.learning_rate = lr;
            ev.samples_seen = (int64_t)st->counters[MFS__CNT_SAMPLES_SEEN];
            if (cb(user_data, &ev) != 0) {
                st->counters[MFS__CNT_STOPPED] = 1;
                finished = 1;
            }
        }
        if (finished) break;
    }
    st->counters[MFS__CNT_STEPS] = (double)o.t;
    st->counters[MFS__CNT_N_ITER] = epochs;
    /* early stopping keeps the best parameters seen (scikit-learn) */
    if (n_val > 0) {
        if ((s = copy_same_side(dev, t.params, t.best_params, P)) != MFS_OK ||
            (s = copy_same_side(dev, t.buffers, t.best_buffers, net->n_buffers)) != MFS_OK)
            goto done;
    }
    if (dev) {
        if ((s = mfs__cuda_download(st->params, t.params, t.sz_params)) != MFS_OK ||
            (s = mfs__cuda_download(st->opt, t.opt, t.sz_opt)) != MFS_OK ||
            (t.sz_buffers && (s = mfs__cuda_download(st->buffers, t.buffers, t.sz_buffers)) != MFS_OK))
            goto done;
    }
    st->n_epochs = epochs;
    st->loss_curve = curve;
    st->val_scores = vcurve;
    curve = vcurve = NULL;
    /* a network that diverged is an error, not a silently useless model */
    for (int64_t i = 0; i < P; i += 1) {
        if (!isfinite(st->params[i])) {
            s = mfs__error(MFS_E_VALUE,
                           "%s: the training diverged (a parameter is %g after %d epochs); lower learning_rate_init "
                           "or scale the inputs",
                           fn, (double)st->params[i], epochs);
            break;
        }
    }
done:
    mfs__free(curve);
    mfs__free(vcurve);
    trainer_free(&t);
    mfs__free(base);
    mfs__free(idx);
    return s;
}

mfs_status mfs__net_sample_weights(const struct mfs_model *m, const char *fn, int64_t n, float **out) {
    *out = NULL;
    if (!mfs__input_find(m, "sample_weight")) return MFS_OK;
    double *w = NULL;
    MFS_TRY(mfs__alloc((void **)&w, (size_t)(n > 0 ? n : 1) * sizeof(double), fn, "sample_weight"));
    mfs_status s = mfs__input_weights(m, fn, "sample_weight", n, 0, "rows of X", w, NULL);
    double total = 0.0;
    for (int64_t i = 0; s == MFS_OK && i < n; i++) total += w[i];
    if (s == MFS_OK && !(total > 0.0))
        s = mfs__error(MFS_E_VALUE, "%s: every sample_weight is zero; at least one must be > 0", fn);
    if (s == MFS_OK) s = mfs__alloc((void **)out, (size_t)(n > 0 ? n : 1) * sizeof(float), fn, "sample_weight");
    for (int64_t i = 0; s == MFS_OK && i < n; i++) (*out)[i] = (float)w[i];
    mfs__free(w);
    return s;
}
