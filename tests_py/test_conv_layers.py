"""The reference convolutional layers (python/mfs/reference/conv_layers.py):
every backward pass against central finite differences in float64 on random
shapes (odd sizes, batch 1, stride, padding, dilation), and forward + backward
against PyTorch: the saved fixtures (dev/make_torch_fixtures_cnn.py) always,
live torch when it is installed. The C layers are checked against the
definitions in tests_c/test_conv_layers.cc, the CUDA ones against the C ones in
tests_c/test_cuda_conv_layers.cc, and the whole C network against this
reference in tests_py/test_cnn.py."""
import os

import numpy as np
import pytest

from mfs.reference import conv_layers as L

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "cnn_layers.npz")


def numgrad(f, x, g, h=1e-6):
    """d sum(f(x) * g) / dx by central differences (float64)."""
    x = x.astype(np.float64).copy()
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = np.sum(f(x) * g)
        x[i] = old - h
        fm = np.sum(f(x) * g)
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def close(a, b):
    """max |a - b| / max |b|: the normalized error every comparison uses."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30)


# float64 central differences with h = 1e-6 on O(1) values: truncation ~h^2,
# rounding ~1e-16 / h = 1e-10; 1e-6 relative leaves a wide margin while any
# wrong index or missing term shows up as O(1).
FD_TOL = 1e-6

CONV_CASES = [
    # B, C, H, W, OC, KH, KW, stride, padding, dilation
    (1, 1, 5, 4, 2, 3, 3, 1, 1, 1),
    (2, 2, 7, 6, 3, 3, 2, (2, 1), (1, 0), 1),
    (1, 3, 4, 4, 2, 1, 1, 1, 0, 1),
    (2, 2, 9, 7, 2, 3, 3, (2, 2), 1, (2, 1)),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_backward_matches_finite_differences(case):
    B, C, H, W, OC, KH, KW, s, p, d = case
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((B, C, H, W)), rng.standard_normal((OC, C, KH, KW)), rng.standard_normal(OC)
    out = L.conv2d_forward(x, w, b, s, p, d)
    g = rng.standard_normal(out.shape)
    dx, dw, db = L.conv2d_backward(g, x, w, s, p, d)
    assert close(dx, numgrad(lambda v: L.conv2d_forward(v, w, b, s, p, d), x, g)) < FD_TOL
    assert close(dw, numgrad(lambda v: L.conv2d_forward(x, v, b, s, p, d), w, g)) < FD_TOL
    assert close(db, numgrad(lambda v: L.conv2d_forward(x, w, v, s, p, d), b, g)) < FD_TOL


def test_conv2d_output_size_and_bad_weight():
    assert L.conv2d_output_size(28, 28, 3, 3, 1, 1) == (28, 28)
    assert L.conv2d_output_size(9, 7, 3, 3, 2, 1, (2, 1)) == (4, 4)  # (9 + 2 - 5) // 2 + 1, (7 + 2 - 3) // 2 + 1
    assert L.conv2d_output_size(10, 7, 3, 3, 3, 0, (2, 1)) == (2, 2)
    with pytest.raises(ValueError, match="3 input channels"):
        L.conv2d_forward(np.zeros((1, 2, 4, 4)), np.zeros((1, 3, 3, 3)))


POOL_CASES = [
    # B, C, H, W, kernel, stride, padding
    (1, 1, 7, 7, 2, None, 0),
    (2, 2, 9, 8, 3, 2, 1),
    (1, 3, 6, 11, (3, 2), (1, 3), 1),
]


@pytest.mark.parametrize("case", POOL_CASES)
def test_pooling_backward_matches_finite_differences(case):
    B, C, H, W, k, s, p = case
    rng = np.random.default_rng(2)
    x = rng.standard_normal((B, C, H, W))
    out, arg = L.maxpool2d_forward(x, k, s, p)
    g = rng.standard_normal(out.shape)
    # distinct values 1e-6 apart at least (with probability ~1): the step h
    # cannot move the argmax, so max-pool is differentiable there
    dx = L.maxpool2d_backward(g, arg, x.shape)
    assert close(dx, numgrad(lambda v: L.maxpool2d_forward(v, k, s, p)[0], x, g)) < FD_TOL
    out = L.avgpool2d_forward(x, k, s, p)
    dx = L.avgpool2d_backward(g, x.shape, k, s, p)
    assert close(dx, numgrad(lambda v: L.avgpool2d_forward(v, k, s, p), x, g)) < FD_TOL


def test_maxpool_takes_the_first_maximum_and_pads_with_minus_infinity():
    x = np.array([[[[1.0, 3.0, 3.0], [-5.0, 0.0, 2.0], [-1.0, -2.0, -3.0]]]])
    out, arg = L.maxpool2d_forward(x, 2, 1, 0)
    np.testing.assert_array_equal(out[0, 0], [[3.0, 3.0], [0.0, 2.0]])
    np.testing.assert_array_equal(arg[0, 0], [[1, 1], [4, 5]])
    out, arg = L.maxpool2d_forward(-np.ones((1, 1, 3, 3)), 3, 1, 1)
    assert np.all(out == -1.0)  # the -inf padding never wins


def test_flatten_round_trip():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    f = L.flatten_forward(x)
    assert f.shape == (2, 60)
    np.testing.assert_array_equal(L.flatten_backward(f, x.shape), x)


@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (7, 5, 1, 1), (1, 2, 3, 1), (3, 4)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_backward_matches_finite_differences(shape, training):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape) * 2 + 1
    C = shape[1]
    w, b, rm, rv = rng.standard_normal(C), rng.standard_normal(C), rng.standard_normal(C), rng.random(C) + 0.5
    out, mean, rstd, _, _ = L.batchnorm_forward(x, w, b, rm, rv, training=training)
    g = rng.standard_normal(out.shape)
    dx, dw, db = L.batchnorm_backward(g, mean, rstd, x, w, training=training)

    def f(xv=x, wv=w, bv=b):
        return L.batchnorm_forward(xv, wv, bv, rm, rv, training=training)[0]

    assert close(dx, numgrad(lambda v: f(xv=v), x, g)) < FD_TOL
    assert close(dw, numgrad(lambda v: f(wv=v), w, g)) < FD_TOL
    assert close(db, numgrad(lambda v: f(bv=v), b, g)) < FD_TOL


def test_batchnorm_running_statistics_as_pytorch():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 2, 3, 3)) + 3
    rm, rv = np.zeros(2), np.ones(2)
    _, mean, rstd, rm2, rv2 = L.batchnorm_forward(x, np.ones(2), np.zeros(2), rm, rv, eps=1e-5, momentum=0.1)
    xr = np.moveaxis(x, 1, 0).reshape(2, -1)
    np.testing.assert_allclose(mean, xr.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(rstd, 1 / np.sqrt(xr.var(axis=1) + 1e-5), rtol=1e-12)  # biased
    np.testing.assert_allclose(rm2, 0.1 * xr.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(rv2, 0.9 + 0.1 * xr.var(axis=1, ddof=1), rtol=1e-12)  # unbiased
    np.testing.assert_array_equal(rm, 0.0)  # the inputs are not modified


# ---- PyTorch, from the saved fixtures ---------------------------------------------
# The fixtures are float32 PyTorch; the reference is float64 on the same float32
# inputs: the difference is PyTorch's float32 rounding, 1e-4 relative per
# tensor (the bar of the issue) with about two orders of magnitude to spare.
TORCH_TOL = 1e-4


@pytest.fixture(scope="module")
def fx():
    data = np.load(FIXTURES)
    return {k: data[k] for k in data.files}


def _cases(fx, prefix):
    return sorted({k.split("/")[0] for k in fx if k.startswith(prefix)})


def test_fixtures_present(fx):
    assert len(_cases(fx, "conv_")) == 4 and len(_cases(fx, "pool_")) == 4 and len(_cases(fx, "bn_")) == 3


def test_conv2d_matches_pytorch_fixtures(fx):
    for c in _cases(fx, "conv_"):
        s, p, d = fx[f"{c}/cfg"].reshape(3, 2)
        out = L.conv2d_forward(fx[f"{c}/x"], fx[f"{c}/w"], fx[f"{c}/b"], tuple(s), tuple(p), tuple(d))
        assert close(out, fx[f"{c}/out"]) < TORCH_TOL, c
        dx, dw, db = L.conv2d_backward(fx[f"{c}/gout"], fx[f"{c}/x"], fx[f"{c}/w"], tuple(s), tuple(p), tuple(d))
        assert close(dx, fx[f"{c}/dx"]) < TORCH_TOL, c
        assert close(dw, fx[f"{c}/dw"]) < TORCH_TOL, c
        assert close(db, fx[f"{c}/db"]) < TORCH_TOL, c


def test_pooling_matches_pytorch_fixtures(fx):
    for c in _cases(fx, "pool_"):
        cfg = fx[f"{c}/cfg"]
        k, s, p, is_max = tuple(cfg[0:2]), tuple(cfg[2:4]), tuple(cfg[4:6]), bool(cfg[6])
        x = fx[f"{c}/x"]
        if is_max:
            out, arg = L.maxpool2d_forward(x, k, s, p)
            np.testing.assert_array_equal(arg, fx[f"{c}/argmax"])  # PyTorch's indices are h * W + w too
            dx = L.maxpool2d_backward(fx[f"{c}/gout"], arg, x.shape)
        else:
            out = L.avgpool2d_forward(x, k, s, p)
            dx = L.avgpool2d_backward(fx[f"{c}/gout"], x.shape, k, s, p)
        assert close(out, fx[f"{c}/out"]) < TORCH_TOL, c
        assert close(dx, fx[f"{c}/dx"]) < TORCH_TOL, c


def test_batchnorm_matches_pytorch_fixtures(fx):
    for c in _cases(fx, "bn_"):
        training = bool(fx[f"{c}/cfg"][0])
        out, mean, rstd, rm, rv = L.batchnorm_forward(fx[f"{c}/x"], fx[f"{c}/w"], fx[f"{c}/b"], fx[f"{c}/rm"],
                                                      fx[f"{c}/rv"], 1e-5, 0.1, training)
        assert close(out, fx[f"{c}/out"]) < TORCH_TOL, c
        assert close(rm, fx[f"{c}/rm_new"]) < TORCH_TOL, c
        assert close(rv, fx[f"{c}/rv_new"]) < TORCH_TOL, c
        dx, dw, db = L.batchnorm_backward(fx[f"{c}/gout"], mean, rstd, fx[f"{c}/x"], fx[f"{c}/w"], training)
        assert close(dx, fx[f"{c}/dx"]) < TORCH_TOL, c
        assert close(dw, fx[f"{c}/dw"]) < TORCH_TOL, c
        assert close(db, fx[f"{c}/db"]) < TORCH_TOL, c


# ---- PyTorch, live -------------------------------------------------------------------
def test_live_pytorch_on_fresh_shapes():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(5)
    for B, C, H, W, OC, KH, KW, s, p, d in [(3, 2, 11, 9, 4, 3, 3, (1, 2), (1, 1), (1, 2)),
                                            (1, 5, 6, 6, 3, 5, 5, 1, 2, 1)]:
        x = rng.standard_normal((B, C, H, W)).astype(np.float32)
        w = rng.standard_normal((OC, C, KH, KW)).astype(np.float32)
        b = rng.standard_normal(OC).astype(np.float32)
        tx, tw, tb = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w, b))
        y = F.conv2d(tx, tw, tb, stride=s, padding=p, dilation=d)
        g = rng.standard_normal(tuple(y.shape))
        (y * torch.tensor(g)).sum().backward()
        # both in float64 here: agreement to rounding, 1e-10
        assert close(L.conv2d_forward(x, w, b, s, p, d), y.detach().numpy()) < 1e-10
        dx, dw, db = L.conv2d_backward(g, x, w, s, p, d)
        assert close(dx, tx.grad.numpy()) < 1e-10
        assert close(dw, tw.grad.numpy()) < 1e-10
        assert close(db, tb.grad.numpy()) < 1e-10
        px = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        py, idx = F.max_pool2d(px, 3, 2, 1, return_indices=True)
        out, arg = L.maxpool2d_forward(x, 3, 2, 1)
        np.testing.assert_array_equal(arg, idx.numpy())
        assert close(out, py.detach().numpy()) < 1e-12
