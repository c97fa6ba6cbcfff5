/* The layer library of libmfs's neural networks: every layer is a pair of
 * hand-written functions, mfs__<layer>_forward and mfs__<layer>_backward, in the
 * style of llm.c. The CUDA mirrors (src_cuda/neural, declared in
 * src_cuda/cuda_api.h) carry the same names with a _cuda suffix and the same
 * arguments as device pointers; the numpy reference (python/mfs/reference/
 * layers.py and conv_layers.py) has the same names without the mfs__ prefix.
 *
 * Conventions (every layer follows them, so the networks can reuse them):
 *  - float32 data, row-major, contiguous.
 *  - Argument order: outputs, saved statistics, inputs, weights, sizes (then
 *    settings such as an activation kind, a probability, a seed).
 *    Backward: gradients of the inputs and of the weights (prefixed d), then
 *    dout, the saved statistics, the inputs, the weights, the sizes.
 *  - Weight gradients ACCUMULATE (+=), as in llm.c, so a weight shared by
 *    several layers (later networks) gets the sum; the trainer zeroes the one
 *    gradient allocation before each backward pass. Input gradients are
 *    WRITTEN (=) unless the comment says otherwise. A NULL input gradient
 *    (the first layer of a network) is skipped.
 *  - No allocation inside a layer: scratch memory is passed in by the caller,
 *    so a network plans one activation arena. (The GEMM of src_c/linalg
 *    allocates its own packing buffers: the layers that call it return
 *    mfs_status for that failure; pure elementwise layers return void.)
 *  - Threads: OpenMP inside each layer. Results do not depend on the thread
 *    count (every reduction has a fixed order), except through the GEMM,
 *    whose blocking is fixed for a given thread count.
 *  - Arguments are not validated: the network checks its sizes once.
 *
 * Legend of the sizes in the shape comments:
 *   B     batch rows (samples)
 *   C     features of an elementwise layer or a normalized row
 *   C_in  input features of a linear layer, C_out its outputs
 *   K     classes (logits per row) or outputs of a loss
 *   N     total elements of an elementwise layer (e.g. B * C)
 *   (conv/pool/batchnorm: see their block below) */
#ifndef MFS_NEURAL_LAYERS_H
#define MFS_NEURAL_LAYERS_H
#include <stdint.h>
#include "mfs/core.h"
#ifdef __cplusplus
extern "C" {
#endif

/* Activation kinds; values stored in model files (append only). */
typedef enum mfs__act {
    MFS__ACT_IDENTITY = 0,
    MFS__ACT_RELU = 1,
    MFS__ACT_TANH = 2,
    MFS__ACT_SIGMOID = 3, /* scikit-learn's "logistic" */
    MFS__ACT_GELU = 4     /* exact erf form, as PyTorch's nn.GELU() default */
} mfs__act;

/* ---- linear --------------------------------------------------------------
 * out = inp @ weight + bias. The weight is stored (C_in, C_out), as
 * scikit-learn's coefs_ (PyTorch's nn.Linear stores its transpose).
 * out (B, C_out), inp (B, C_in), weight (C_in, C_out), bias (C_out) or NULL. */
mfs_status mfs__linear_forward(float *out, const float *inp, const float *weight,
                               const float *bias, int64_t B, int64_t C_in, int64_t C_out);
/* dinp (B, C_in) = dout @ weight^T (written; NULL: skipped),
 * dweight (C_in, C_out) += inp^T @ dout, dbias (C_out) += column sums of dout
 * (NULL: skipped). dout (B, C_out), inp (B, C_in), weight (C_in, C_out). */
mfs_status mfs__linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                                const float *inp, const float *weight, int64_t B, int64_t C_in,
                                int64_t C_out);

/* ---- activations (elementwise) -------------------------------------------
 * out (N), inp (N). Forward may run in place (out == inp) for every kind but
 * GELU, whose backward needs inp; the backward of relu, tanh, sigmoid and
 * identity reads only out (inp may be NULL), GELU's reads only inp (out may
 * be NULL). dinp may alias dout. */
void mfs__relu_forward(float *out, const float *inp, int64_t N);
void mfs__relu_backward(float *dinp, const float *dout, const float *out, int64_t N);
void mfs__tanh_forward(float *out, const float *inp, int64_t N);
void mfs__tanh_backward(float *dinp, const float *dout, const float *out, int64_t N);
void mfs__sigmoid_forward(float *out, const float *inp, int64_t N);
void mfs__sigmoid_backward(float *dinp, const float *dout, const float *out, int64_t N);
void mfs__gelu_forward(float *out, const float *inp, int64_t N);
void mfs__gelu_backward(float *dinp, const float *dout, const float *inp, int64_t N);
void mfs__identity_forward(float *out, const float *inp, int64_t N);
void mfs__identity_backward(float *dinp, const float *dout, int64_t N);
/* Dispatch on an mfs__act: the pair any network calls. */
void mfs__activation_forward(float *out, const float *inp, int64_t N, int32_t act);
void mfs__activation_backward(float *dinp, const float *dout, const float *out, const float *inp,
                              int64_t N, int32_t act);

/* ---- a linear layer's epilogue and prologue, fused ------------------------
 * The passes around a linear layer's GEMMs, each one sweep instead of two
 * (what the trainer's dense layers call on the CPU):
 *   bias_activation_forward: out (B, C) = act(out + bias) in place (bias (C)
 *     or NULL), after a GEMM with beta = 0 (in place of copying the bias rows
 *     in first and applying the activation after); not for GELU, whose
 *     backward needs the pre-activation.
 *   activation_backward_colsum: dpre (B, C) = dout * act'(out) and dbias (C)
 *     += column sums of dpre (dbias may be NULL), rows summed in order for
 *     every column (the same sums as the unfused pair). */
void mfs__bias_activation_forward(float *out, const float *bias, int64_t B, int64_t C, int32_t act);
/* acc (C) += column sums of x (B, C), rows in order for every column (the
 * bias gradient of the unfused linear backward). */
void mfs__colsum_add(float *acc, const float *x, int64_t B, int64_t C);
void mfs__activation_backward_colsum(float *dpre, float *dbias, const float *dout, const float *out,
                                     int64_t B, int64_t C, int32_t act);

/* ---- softmax + cross-entropy, fused ---------------------------------------
 * probs (B, K) = softmax(logits) (max-subtracted), losses (B) =
 * -log probs[b, targets[b]] computed as logsumexp - logit (no log(0)).
 * logits (B, K), targets (B) int32 in [0, K). losses may be NULL. */
void mfs__softmax_crossentropy_forward(float *probs, float *losses, const float *logits,
                                       const int32_t *targets, int64_t B, int64_t K);
/* dlogits (B, K) = scale * (probs - onehot(targets)) (written): the gradient
 * of scale * sum_b losses[b]; scale = 1/B for the mean loss. */
void mfs__softmax_crossentropy_backward(float *dlogits, const float *probs, const int32_t *targets,
                                        int64_t B, int64_t K, float scale);

/* ---- sigmoid + binary cross-entropy, fused (binary / multilabel outputs) ---
 * probs (B, K) = sigmoid(logits), losses (B) = sum_k of
 * -(t log p + (1 - t) log(1 - p)) computed stably from the logits
 * (softplus(z) - t z). logits (B, K), targets (B, K) float in [0, 1].
 * losses may be NULL. */
void mfs__sigmoid_crossentropy_forward(float *probs, float *losses, const float *logits,
                                       const float *targets, int64_t B, int64_t K);
/* dlogits (B, K) = scale * (probs - targets) (written). */
void mfs__sigmoid_crossentropy_backward(float *dlogits, const float *probs, const float *targets,
                                        int64_t B, int64_t K, float scale);

/* ---- mean squared error ----------------------------------------------------
 * losses (B) = sum_k (pred - target)^2 per row. pred, target (B, K).
 * The network picks the scale: scikit-learn's squared loss is
 * sum / (2 B K) but its gradient is (pred - target) / B (scale 1/(2B)). */
void mfs__mse_forward(float *losses, const float *pred, const float *target, int64_t B, int64_t K);
/* dpred (B, K) = 2 * scale * (pred - target) (written): the gradient of
 * scale * sum_b losses[b]. */
void mfs__mse_backward(float *dpred, const float *pred, const float *target, int64_t B, int64_t K,
                       float scale);

/* ---- dropout (inverted) ------------------------------------------------------
 * out (N) = inp * keep / (1 - p), keep = (u >= p) with u the uniform float of
 * mfs_u32_to_unit_float(mfs_philox(seed, stream, i / 4).v[i % 4]) for element i:
 * the mask is a function of (seed, stream, element) only, so the CPU and the
 * GPU draw the same one and the backward pass recomputes it (no mask stored).
 * The network passes stream = (training step) * n_layers + layer index.
 * p in [0, 1); p == 0 copies (may run in place). */
void mfs__dropout_forward(float *out, const float *inp, int64_t N, float p, uint64_t seed,
                          uint64_t stream);
/* dinp (N) = dout * keep / (1 - p) with the same mask (may alias dout). */
void mfs__dropout_backward(float *dinp, const float *dout, int64_t N, float p, uint64_t seed,
                           uint64_t stream);

/* ---- layer norm --------------------------------------------------------------
 * Each row normalized over its C features: out = (inp - mean) * rstd * weight
 * + bias, rstd = 1 / sqrt(var + eps) (biased variance, as PyTorch).
 * out (B, C), mean (B), rstd (B) saved for backward, inp (B, C),
 * weight (C), bias (C). */
void mfs__layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                            const float *weight, const float *bias, int64_t B, int64_t C, float eps);
/* dinp (B, C) written (NULL: skipped), dweight (C) += , dbias (C) +=.
 * dout (B, C), inp (B, C), weight (C), mean (B), rstd (B). */
void mfs__layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                             const float *mean, const float *rstd, const float *inp,
                             const float *weight, int64_t B, int64_t C);

/* ---- conv / pool / batchnorm (engineer cnn) ---- */
/* Images are NCHW: B images of C channels of H x W pixels, contiguous.
 * Legend: H, W input height and width; OC output channels of a convolution;
 * KH, KW kernel height and width; OH, OW output height and width;
 * CKK = C * KH * KW (rows of an im2col matrix); OHW = OH * OW; HW = H * W.
 * The geometry of a convolution or pooling travels in a small dims struct
 * (the sizes argument), filled and checked once by its _dims_init. */

/* ---- conv2d ----------------------------------------------------------------
 * out[b, o] = bias[o] + sum_{c, i, j} weight[o, c, i, j] *
 *             inp[b, c, oh * stride_h - pad_h + i * dil_h, ow * stride_w - pad_w + j * dil_w]
 * (zero outside the image): PyTorch's nn.Conv2d (cross-correlation). */
typedef struct mfs__conv2d_dims {
    int64_t B, C, H, W;                     /* input (B, C, H, W) */
    int64_t OC, KH, KW;                     /* weight (OC, C, KH, KW), bias (OC) */
    int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
    int64_t OH, OW;                         /* output (B, OC, OH, OW): set by _dims_init */
    int64_t slots;                          /* images in flight: on the CPU the per-thread
                                               im2col buffers of the workspace (the layer runs
                                               at most this many threads); on the GPU the
                                               images batched into one GEMM */
    int64_t fused_relu;                     /* GPU forward only: 1 applies ReLU in the re-layout
                                               that adds the bias (0 from _dims_init) */
} mfs__conv2d_dims;
/* Fill d from the arguments (OH = (H + 2 pad_h - dil_h (KH - 1) - 1) / stride_h + 1,
 * likewise OW; slots = the current thread count). MFS_E_INVALID_ARG with a
 * message naming fn for a size < 1 (padding < 0), a padding larger than half the
 * dilated kernel, or an output smaller than 1 x 1. */
mfs_status mfs__conv2d_dims_init(mfs__conv2d_dims *d, const char *fn, int64_t B, int64_t C, int64_t H,
                                 int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t stride_h,
                                 int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t dil_h,
                                 int64_t dil_w);
/* Bytes of scratch the forward and backward passes need (64-byte aligned
 * start): slots im2col buffers (CKK, OHW) plus slots - 1 partial weight
 * gradients (OC, CKK). Depends on d only. */
size_t mfs__conv2d_workspace_size(const mfs__conv2d_dims *d);
/* out (B, OC, OH, OW), inp (B, C, H, W), weight (OC, C, KH, KW), bias (OC) or
 * NULL, work (workspace_size bytes). Per image: im2col then
 * out_b (OC, OHW) = weight (OC, CKK) @ col (CKK, OHW), images split over threads. */
mfs_status mfs__conv2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                               const mfs__conv2d_dims *d, float *work);
/* dinp (B, C, H, W) written (NULL: skipped) = col2im(weight^T @ dout_b);
 * dweight (OC, C, KH, KW) += sum_b dout_b @ col_b^T (per-thread partials summed
 * in thread order: fixed for a given thread count); dbias (OC) += sums of dout
 * over (B, OH, OW) (NULL: skipped). dout (B, OC, OH, OW), inp, weight as forward. */
mfs_status mfs__conv2d_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                                const float *inp, const float *weight, const mfs__conv2d_dims *d,
                                float *work);

/* ---- max-pool 2d / average-pool 2d ------------------------------------------
 * Windows KH x KW moved by stride over the image padded by pad (PyTorch's
 * nn.MaxPool2d / nn.AvgPool2d, floor mode; max pads with -inf, average with 0
 * and always divides by KH * KW: count_include_pad=True). */
typedef struct mfs__pool2d_dims {
    int64_t B, C, H, W;                     /* input (B, C, H, W) */
    int64_t KH, KW, stride_h, stride_w, pad_h, pad_w;
    int64_t OH, OW;                         /* output (B, C, OH, OW): set by _dims_init */
} mfs__pool2d_dims;
/* OH = (H + 2 pad_h - KH) / stride_h + 1, likewise OW. MFS_E_INVALID_ARG (naming
 * fn) for a size < 1, a padding above half the kernel, or an empty output. */
mfs_status mfs__pool2d_dims_init(mfs__pool2d_dims *d, const char *fn, int64_t B, int64_t C, int64_t H,
                                 int64_t W, int64_t KH, int64_t KW, int64_t stride_h, int64_t stride_w,
                                 int64_t pad_h, int64_t pad_w);
/* out (B, C, OH, OW); argmax (B, C, OH, OW) saved: the index h * W + w of the
 * maximum in its input plane (the first one on ties). inp (B, C, H, W). */
void mfs__maxpool2d_forward(float *out, int32_t *argmax, const float *inp, const mfs__pool2d_dims *d);
/* dinp (B, C, H, W) written: zero but at the argmaxes, which receive dout
 * (summed where windows overlap). dout (B, C, OH, OW), argmax as forward. */
void mfs__maxpool2d_backward(float *dinp, const float *dout, const int32_t *argmax,
                             const mfs__pool2d_dims *d);
/* out (B, C, OH, OW) = window means, inp (B, C, H, W). */
void mfs__avgpool2d_forward(float *out, const float *inp, const mfs__pool2d_dims *d);
/* dinp (B, C, H, W) written: each pixel gets dout / (KH KW) of every window it is in. */
void mfs__avgpool2d_backward(float *dinp, const float *dout, const mfs__pool2d_dims *d);

/* ---- flatten -----------------------------------------------------------------
 * (B, C, H, W) -> (B, C * H * W): the same bytes in NCHW, so these copy N =
 * B * C * H * W floats only when out != inp (a network simply reuses the buffer). */
void mfs__flatten_forward(float *out, const float *inp, int64_t N);
void mfs__flatten_backward(float *dinp, const float *dout, int64_t N);

/* ---- batch norm (2d: per channel over (B, H, W); 1d: HW = 1) ------------------
 * training: out = (inp - mean) * rstd * weight + bias with the batch mean and
 * the biased batch variance, rstd = 1 / sqrt(var + eps); running_mean and
 * running_var (C) are updated as PyTorch's: r = (1 - momentum) r + momentum s,
 * with the UNBIASED variance for running_var (B HW / (B HW - 1) var; the biased
 * one when B HW == 1). eval (training == 0): the running statistics normalize,
 * nothing is updated. mean, rstd (C) are saved for backward in both modes
 * (eval: the running mean and 1 / sqrt(running_var + eps)).
 * out (B, C, HW), inp (B, C, HW), weight, bias (C). */
void mfs__batchnorm_forward(float *out, float *mean, float *rstd, float *running_mean, float *running_var,
                            const float *inp, const float *weight, const float *bias, int64_t B,
                            int64_t C, int64_t HW, float eps, float momentum, int32_t training);
/* dinp (B, C, HW) written (NULL: skipped), dweight (C) += sum dout * xhat,
 * dbias (C) += sum dout. training: the gradient through the batch statistics,
 * dinp = rstd (g - mean(g) - xhat mean(g xhat)) with g = dout * weight;
 * eval: dinp = dout * weight * rstd. dout, inp (B, C, HW), mean, rstd, weight (C). */
void mfs__batchnorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                             const float *mean, const float *rstd, const float *inp, const float *weight,
                             int64_t B, int64_t C, int64_t HW, int32_t training);

/* ---- the same layers as network layers (network.h's mfs__layer) -------------
 * Constructors for mfs__net_add, beside mfs__layer_linear & co. Those that
 * change the shape take the input shape (C, H, W) the layer will get (the one
 * mfs__net_add then gives it) and set the output shape (a geometry that does
 * not fit gives an empty output, which mfs__net_add reports); the other sizes
 * are filled in when the layer is added. conv2d: filters x (kernel x kernel) with stride and zero
 * padding, a bias when bias != 0 (a conv followed by batch norm has none: the
 * norm removes it, and its zero gradient would only feed rounding noise to
 * Adam), fused activation act (mfs__act); parameters: weight (filters, C,
 * kernel, kernel) in the decayed range, bias (filters) in the other. max/avg-pool: stride 0 means stride = kernel. batchnorm: per channel
 * of (C, H, W) inputs (dense (C, 1, 1): 1d); weight then bias (C each) in the
 * non-decayed range, running_mean then running_var (C each) in the network's
 * buffers (the caller starts them at 0 and 1, as PyTorch). flatten: (C, H, W)
 * -> (C H W, 1, 1), the same floats. */
struct mfs__layer;
struct mfs__layer mfs__layer_conv2d(const int64_t in_shape[3], int64_t filters, int32_t kernel, int32_t stride,
                                    int32_t padding, int32_t bias, int32_t act);
struct mfs__layer mfs__layer_maxpool2d(const int64_t in_shape[3], int32_t kernel, int32_t stride, int32_t padding);
struct mfs__layer mfs__layer_avgpool2d(const int64_t in_shape[3], int32_t kernel, int32_t stride, int32_t padding);
struct mfs__layer mfs__layer_batchnorm(float eps, float momentum);
struct mfs__layer mfs__layer_flatten(const int64_t in_shape[3]);

/* ---- end of conv / pool / batchnorm ---- */

#ifdef __cplusplus
}
#endif
#endif
