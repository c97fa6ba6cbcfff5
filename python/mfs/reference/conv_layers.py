"""Reference convolutional layers in numpy: conv2d, max-pool 2d, average-pool
2d, flatten and batch norm, with the names of src_c/neural/layers.h (no mfs__
prefix) and its argument order minus the outputs, which are returned. Computed
in float64 (inputs are promoted) so that finite differences check them.

Images are NCHW: (B, C, H, W). Sizes come from the arrays; the geometry
(stride, padding, dilation, kernel) is passed as (height, width) pairs or ints.
Weight gradients are returned, not accumulated (the caller adds them).

Legend: B batch, C channels, H W input size, OC filters, KH KW kernel, OH OW
output size."""
import numpy as np


def _f64(a):
    return None if a is None else np.asarray(a, dtype=np.float64)


def _pair(v):
    if np.isscalar(v):
        return int(v), int(v)
    a, b = v
    return int(a), int(b)


def conv2d_output_size(H, W, KH, KW, stride=1, padding=0, dilation=1):
    """(OH, OW) as PyTorch's nn.Conv2d (floor)."""
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    return (H + 2 * ph - dh * (KH - 1) - 1) // sh + 1, (W + 2 * pw - dw * (KW - 1) - 1) // sw + 1


def _taps(xp, i, j, OH, OW, stride, dilation):
    """The (B, C, OH, OW) view of padded xp seen by kernel tap (i, j)."""
    (sh, sw), (dh, dw) = stride, dilation
    return xp[:, :, i * dh: i * dh + sh * (OH - 1) + 1: sh, j * dw: j * dw + sw * (OW - 1) + 1: sw]


# ---- conv2d ---------------------------------------------------------------------
def conv2d_forward(inp, weight, bias=None, stride=1, padding=0, dilation=1):
    """out (B, OC, OH, OW) = cross-correlation of inp (B, C, H, W) with weight
    (OC, C, KH, KW), zero padding, plus bias (OC) or None (PyTorch's conv2d)."""
    x, w = _f64(inp), _f64(weight)
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    B, C, H, W = x.shape
    OC, C2, KH, KW = w.shape
    if C2 != C:
        raise ValueError(f"conv2d_forward: weight has {C2} input channels, inp has {C}")
    OH, OW = conv2d_output_size(H, W, KH, KW, stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    out = np.zeros((B, OC, OH, OW))
    for i in range(KH):
        for j in range(KW):
            out += np.einsum("bchw,oc->bohw", _taps(xp, i, j, OH, OW, stride, dilation), w[:, :, i, j])
    if bias is not None:
        out += _f64(bias)[None, :, None, None]
    return out


def conv2d_backward(dout, inp, weight, stride=1, padding=0, dilation=1):
    """dinp (B, C, H, W), dweight (OC, C, KH, KW), dbias (OC)."""
    g, x, w = _f64(dout), _f64(inp), _f64(weight)
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    B, C, H, W = x.shape
    OC, _, KH, KW = w.shape
    OH, OW = g.shape[2], g.shape[3]
    ph, pw = padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    (sh, sw), (dh, ddw) = stride, dilation
    for i in range(KH):
        for j in range(KW):
            dw[:, :, i, j] = np.einsum("bohw,bchw->oc", g, _taps(xp, i, j, OH, OW, stride, dilation))
            dxp[:, :, i * dh: i * dh + sh * (OH - 1) + 1: sh, j * ddw: j * ddw + sw * (OW - 1) + 1: sw] += \
                np.einsum("bohw,oc->bchw", g, w[:, :, i, j])
    return dxp[:, :, ph: ph + H, pw: pw + W], dw, g.sum(axis=(0, 2, 3))


# ---- pooling ----------------------------------------------------------------------
def pool2d_output_size(H, W, kernel, stride=None, padding=0):
    (KH, KW), (ph, pw) = _pair(kernel), _pair(padding)
    sh, sw = _pair(kernel if stride is None else stride)
    return (H + 2 * ph - KH) // sh + 1, (W + 2 * pw - KW) // sw + 1


def _windows(x, kernel, stride, padding, fill):
    """(B, C, OH, OW, KH * KW) values of every window (padding = fill), and the
    (OH, OW, KH * KW) plane index h * W + w of each (-1 in the padding)."""
    (KH, KW), (ph, pw) = _pair(kernel), _pair(padding)
    sh, sw = _pair(kernel if stride is None else stride)
    B, C, H, W = x.shape
    OH, OW = pool2d_output_size(H, W, (KH, KW), (sh, sw), (ph, pw))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    idx = np.pad(np.arange(H * W).reshape(H, W), ((ph, ph), (pw, pw)), constant_values=-1)
    vals, where = [], []
    for i in range(KH):
        for j in range(KW):
            vals.append(xp[:, :, i: i + sh * (OH - 1) + 1: sh, j: j + sw * (OW - 1) + 1: sw])
            where.append(idx[i: i + sh * (OH - 1) + 1: sh, j: j + sw * (OW - 1) + 1: sw])
    return np.stack(vals, axis=-1), np.stack(where, axis=-1)


def maxpool2d_forward(inp, kernel, stride=None, padding=0):
    """out (B, C, OH, OW), argmax (B, C, OH, OW) int32: the plane index h * W + w
    of the first maximum of each window (padding is -inf). stride None: kernel."""
    x = _f64(inp)
    vals, where = _windows(x, kernel, stride, padding, -np.inf)
    k = np.argmax(vals, axis=-1)
    out = np.take_along_axis(vals, k[..., None], axis=-1)[..., 0]
    B, C = x.shape[:2]
    arg = np.take_along_axis(np.broadcast_to(where, vals.shape), k[..., None], axis=-1)[..., 0]
    return out, arg.astype(np.int32)


def maxpool2d_backward(dout, argmax, input_shape):
    """dinp (B, C, H, W): dout added at each window's argmax."""
    g = _f64(dout)
    B, C, H, W = input_shape
    dx = np.zeros((B * C, H * W))
    gi = g.reshape(B * C, -1)
    ai = np.asarray(argmax, dtype=np.int64).reshape(B * C, -1)
    for p in range(B * C):
        np.add.at(dx[p], ai[p], gi[p])
    return dx.reshape(B, C, H, W)


def avgpool2d_forward(inp, kernel, stride=None, padding=0):
    """out (B, C, OH, OW): window means, zero padding counted (count_include_pad)."""
    vals, _ = _windows(_f64(inp), kernel, stride, padding, 0.0)
    return vals.mean(axis=-1)


def avgpool2d_backward(dout, input_shape, kernel, stride=None, padding=0):
    """dinp (B, C, H, W): each window's dout / (KH KW) spread over its pixels."""
    g = _f64(dout)
    (KH, KW), (ph, pw) = _pair(kernel), _pair(padding)
    sh, sw = _pair(kernel if stride is None else stride)
    B, C, H, W = input_shape
    OH, OW = g.shape[2], g.shape[3]
    dxp = np.zeros((B, C, H + 2 * ph, W + 2 * pw))
    for i in range(KH):
        for j in range(KW):
            dxp[:, :, i: i + sh * (OH - 1) + 1: sh, j: j + sw * (OW - 1) + 1: sw] += g / (KH * KW)
    return dxp[:, :, ph: ph + H, pw: pw + W]


# ---- flatten ------------------------------------------------------------------------
def flatten_forward(inp):
    """(B, C, H, W) -> (B, C * H * W)."""
    x = _f64(inp)
    return x.reshape(x.shape[0], -1)


def flatten_backward(dout, input_shape):
    return _f64(dout).reshape(input_shape)


# ---- batch norm -----------------------------------------------------------------------
def batchnorm_forward(inp, weight, bias, running_mean, running_var, eps=1e-5, momentum=0.1, training=True):
    """inp (B, C, ...) normalized per channel. Returns out, mean (C), rstd (C),
    and the new running_mean, running_var (C): in training the batch mean and
    biased variance normalize and the running statistics move by momentum
    towards the batch mean and the UNBIASED variance (PyTorch); in eval the
    running statistics normalize and are returned unchanged."""
    x = _f64(inp)
    B, C = x.shape[:2]
    xr = np.moveaxis(x, 1, 0).reshape(C, -1)
    n = xr.shape[1]
    rm, rv = _f64(running_mean).copy(), _f64(running_var).copy()
    if training:
        mean = xr.mean(axis=1)
        var = ((xr - mean[:, None]) ** 2).mean(axis=1)
        unbiased = var * n / (n - 1) if n > 1 else var
        rm = (1 - momentum) * rm + momentum * mean
        rv = (1 - momentum) * rv + momentum * unbiased
    else:
        mean, var = rm, rv
    rstd = 1.0 / np.sqrt(var + eps)
    shape = (1, C) + (1,) * (x.ndim - 2)
    out = (x - mean.reshape(shape)) * rstd.reshape(shape) * _f64(weight).reshape(shape) + _f64(bias).reshape(shape)
    return out, mean, rstd, rm, rv


def batchnorm_backward(dout, mean, rstd, inp, weight, training=True):
    """dinp (like inp), dweight (C), dbias (C)."""
    g, x = _f64(dout), _f64(inp)
    C = x.shape[1]
    shape = (1, C) + (1,) * (x.ndim - 2)
    axes = (0,) + tuple(range(2, x.ndim))
    n = x.size // C
    m, r, w = _f64(mean).reshape(shape), _f64(rstd).reshape(shape), _f64(weight).reshape(shape)
    xhat = (x - m) * r
    dweight = (g * xhat).sum(axis=axes)
    dbias = g.sum(axis=axes)
    if training:
        dinp = w * r * (g - dbias.reshape(shape) / n - xhat * dweight.reshape(shape) / n)
    else:
        dinp = g * w * r
    return dinp, dweight, dbias
