"""Reference layer library in numpy: the same layers as src_c/neural/layers.h,
with the same names (no mfs__ prefix) and the same argument order, minus the
outputs, which are returned. Computed in float64 (inputs are promoted), so the
finite-difference checks of the tests are meaningful. Conv / pool / batch norm
live in conv_layers.py.

forward(inputs, weights, sizes...) -> outputs (and saved statistics);
backward(dout, saved, inputs, weights, ...) -> (dinp, dweight, ...).
Weight gradients are returned, not accumulated (the caller adds them).

Legend: B batch rows, C features, C_in / C_out of a linear layer, K classes."""
import math

import numpy as np

IDENTITY, RELU, TANH, SIGMOID, GELU = 0, 1, 2, 3, 4
ACTIVATIONS = {"identity": IDENTITY, "relu": RELU, "tanh": TANH, "logistic": SIGMOID, "sigmoid": SIGMOID,
               "gelu": GELU}


def _f64(a):
    return None if a is None else np.asarray(a, dtype=np.float64)


# ---- linear ---------------------------------------------------------------
def linear_forward(inp, weight, bias):
    """out (B, C_out) = inp (B, C_in) @ weight (C_in, C_out) + bias (C_out) or None."""
    out = _f64(inp) @ _f64(weight)
    if bias is not None:
        out = out + _f64(bias)
    return out


def linear_backward(dout, inp, weight):
    """dinp (B, C_in), dweight (C_in, C_out), dbias (C_out)."""
    dout, inp, weight = _f64(dout), _f64(inp), _f64(weight)
    return dout @ weight.T, inp.T @ dout, dout.sum(axis=0)


# ---- activations ------------------------------------------------------------
def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def relu_forward(inp):
    return np.maximum(_f64(inp), 0.0)


def relu_backward(dout, out):
    return _f64(dout) * (_f64(out) > 0)


def tanh_forward(inp):
    return np.tanh(_f64(inp))


def tanh_backward(dout, out):
    out = _f64(out)
    return _f64(dout) * (1.0 - out * out)


def sigmoid_forward(inp):
    x = _f64(inp)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_backward(dout, out):
    out = _f64(out)
    return _f64(dout) * out * (1.0 - out)


def gelu_forward(inp):
    """The exact form x * Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2: the default
    of PyTorch's nn.GELU() (approximate='none')."""
    x = _f64(inp)
    return x * 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu_backward(dout, inp):
    x = _f64(inp)
    cdf = 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return _f64(dout) * (cdf + x * pdf)


def identity_forward(inp):
    return _f64(inp).copy()


def identity_backward(dout):
    return _f64(dout).copy()


def activation_forward(inp, act):
    act = ACTIVATIONS.get(act, act)
    return {IDENTITY: identity_forward, RELU: relu_forward, TANH: tanh_forward, SIGMOID: sigmoid_forward,
            GELU: gelu_forward}[act](inp)


def activation_backward(dout, out, inp, act):
    act = ACTIVATIONS.get(act, act)
    if act == IDENTITY:
        return identity_backward(dout)
    if act == RELU:
        return relu_backward(dout, out)
    if act == TANH:
        return tanh_backward(dout, out)
    if act == SIGMOID:
        return sigmoid_backward(dout, out)
    if act == GELU:
        return gelu_backward(dout, inp)
    raise ValueError(f"activation_backward: unknown activation {act!r}")


# ---- losses -------------------------------------------------------------------
def _logsumexp(z):
    m = z.max(axis=1, keepdims=True)
    return m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def softmax_crossentropy_forward(logits, targets):
    """probs (B, K), losses (B) = -log probs[b, targets[b]]."""
    z = _f64(logits)
    t = np.asarray(targets, dtype=np.int64)
    lse = _logsumexp(z)
    probs = np.exp(z - lse)
    losses = lse[:, 0] - z[np.arange(z.shape[0]), t]
    return probs, losses


def softmax_crossentropy_backward(probs, targets, scale):
    """dlogits (B, K) = scale * (probs - onehot(targets))."""
    d = _f64(probs).copy()
    d[np.arange(d.shape[0]), np.asarray(targets, dtype=np.int64)] -= 1.0
    return scale * d


def _softplus(z):
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def sigmoid_crossentropy_forward(logits, targets):
    """probs (B, K) = sigmoid(logits), losses (B) = sum_k softplus(z) - t z."""
    z, t = _f64(logits), _f64(targets)
    return sigmoid_forward(z), (_softplus(z) - t * z).sum(axis=1)


def sigmoid_crossentropy_backward(probs, targets, scale):
    return scale * (_f64(probs) - _f64(targets))


def mse_forward(pred, target):
    """losses (B) = sum_k (pred - target)^2."""
    r = _f64(pred) - _f64(target)
    return (r * r).sum(axis=1)


def mse_backward(pred, target, scale):
    """dpred = 2 scale (pred - target)."""
    return 2.0 * scale * (_f64(pred) - _f64(target))


# ---- dropout ----------------------------------------------------------------------
_M0, _M1, _W0, _W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
_U32 = np.uint64(0xFFFFFFFF)


def philox(seed, stream, counter):
    """Philox4x32-10 of src_c/core/rng.h, vectorized over an array of counters:
    returns (len(counter), 4) uint32 words."""
    counter = np.asarray(counter, dtype=np.uint64)
    c0 = counter & _U32
    c1 = counter >> np.uint64(32)
    c2 = np.full_like(counter, int(stream) & 0xFFFFFFFF)
    c3 = np.full_like(counter, (int(stream) >> 32) & 0xFFFFFFFF)
    k0, k1 = int(seed) & 0xFFFFFFFF, (int(seed) >> 32) & 0xFFFFFFFF
    for _ in range(10):
        p0 = np.uint64(_M0) * c0
        p1 = np.uint64(_M1) * c2
        hi0, lo0 = p0 >> np.uint64(32), p0 & _U32
        hi1, lo1 = p1 >> np.uint64(32), p1 & _U32
        n0 = hi1 ^ c1 ^ np.uint64(k0)
        n2 = hi0 ^ c3 ^ np.uint64(k1)
        c0, c1, c2, c3 = n0, lo1, n2, lo0
        k0 = (k0 + _W0) & 0xFFFFFFFF
        k1 = (k1 + _W1) & 0xFFFFFFFF
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


def dropout_keep(n, p, seed, stream):
    """The keep mask (n,) bool of dropout: element i keeps when its uniform
    float (24 bits of word i % 4 of block i // 4) is >= p."""
    blocks = philox(seed, stream, np.arange((n + 3) // 4, dtype=np.uint64))
    words = blocks.reshape(-1)[:n]
    u = (words >> np.uint32(8)).astype(np.float64) * (1.0 / 16777216.0)
    return u >= p


def dropout_forward(inp, p, seed, stream):
    x = _f64(inp)
    if p == 0:
        return x.copy()
    keep = dropout_keep(x.size, p, seed, stream).reshape(x.shape)
    return x * keep / (1.0 - p)


def dropout_backward(dout, p, seed, stream):
    return dropout_forward(dout, p, seed, stream)


# ---- layer norm ---------------------------------------------------------------------
def layernorm_forward(inp, weight, bias, eps=1e-5):
    """out (B, C), mean (B), rstd (B)."""
    x = _f64(inp)
    mean = x.mean(axis=1)
    var = ((x - mean[:, None]) ** 2).mean(axis=1)
    rstd = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean[:, None]) * rstd[:, None]
    return xhat * _f64(weight) + _f64(bias), mean, rstd


def layernorm_backward(dout, mean, rstd, inp, weight):
    """dinp (B, C), dweight (C), dbias (C)."""
    dout, x, w = _f64(dout), _f64(inp), _f64(weight)
    xhat = (x - _f64(mean)[:, None]) * _f64(rstd)[:, None]
    dxhat = dout * w
    dinp = (dxhat - dxhat.mean(axis=1, keepdims=True)
            - xhat * (dxhat * xhat).mean(axis=1, keepdims=True)) * _f64(rstd)[:, None]
    return dinp, (dout * xhat).sum(axis=0), dout.sum(axis=0)
