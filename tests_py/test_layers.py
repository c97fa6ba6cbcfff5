"""The numpy reference layers (python/mfs/reference/layers.py): every backward
against central finite differences in float64 on random shapes (odd sizes,
batch 1), every forward and backward against PyTorch when it is installed,
and the Philox generator against its published known-answer vectors. (The C
layers are checked against a double reference and finite differences in
tests_c/test_layers.cc, and against this reference through whole networks in
test_mlp.py.)"""
import numpy as np
import pytest

from mfs.reference import layers as ly

SHAPES = [(1, 1, 1), (1, 7, 3), (5, 13, 17), (9, 4, 2)]


def fd(f, x, h=1e-6):
    """Central differences of the scalar f at x (float64)."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        s = x[i]
        x[i] = s + h
        a = f(x)
        x[i] = s - h
        b = f(x)
        x[i] = s
        g[i] = (a - b) / (2 * h)
    return g


# float64 central differences with h = 1e-6: truncation O(h^2 f''') ~ 1e-12,
# rounding O(1e-16 / h) ~ 1e-10: 1e-7 is loose by three orders.
TOL = dict(rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("B,Ci,Co", SHAPES)
def test_linear_backward_is_the_gradient(B, Ci, Co):
    rng = np.random.default_rng(B * 100 + Ci)
    x, W, b, R = rng.normal(size=(B, Ci)), rng.normal(size=(Ci, Co)), rng.normal(size=Co), rng.normal(size=(B, Co))
    dx, dW, db = ly.linear_backward(R, x, W)
    np.testing.assert_allclose(dx, fd(lambda v: (ly.linear_forward(v, W, b) * R).sum(), x), **TOL)
    np.testing.assert_allclose(dW, fd(lambda v: (ly.linear_forward(x, v, b) * R).sum(), W), **TOL)
    np.testing.assert_allclose(db, fd(lambda v: (ly.linear_forward(x, W, v) * R).sum(), b), **TOL)


@pytest.mark.parametrize("act", ["identity", "relu", "tanh", "logistic", "gelu"])
@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (6, 5)])
def test_activation_backward_is_the_gradient(act, shape):
    rng = np.random.default_rng(len(act) + shape[1])
    x = rng.normal(size=shape) * 2
    x[np.abs(x) < 1e-3] = 0.5  # relu's kink
    R = rng.normal(size=shape)
    out = ly.activation_forward(x, act)
    d = ly.activation_backward(R, out, x, act)
    np.testing.assert_allclose(d, fd(lambda v: (ly.activation_forward(v, act) * R).sum(), x), **TOL)


@pytest.mark.parametrize("B,K", [(1, 2), (4, 3), (7, 10)])
def test_fused_losses_backward_is_the_gradient(B, K):
    rng = np.random.default_rng(B + K)
    z = rng.normal(size=(B, K)) * 3
    t = rng.integers(0, K, B)
    probs, losses = ly.softmax_crossentropy_forward(z, t)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    d = ly.softmax_crossentropy_backward(probs, t, 1.0 / B)
    np.testing.assert_allclose(d, fd(lambda v: ly.softmax_crossentropy_forward(v, t)[1].sum() / B, z), **TOL)
    tt = (rng.random((B, K)) < 0.5).astype(float)
    p, l = ly.sigmoid_crossentropy_forward(z, tt)
    np.testing.assert_allclose(ly.sigmoid_crossentropy_backward(p, tt, 0.5),
                               fd(lambda v: 0.5 * ly.sigmoid_crossentropy_forward(v, tt)[1].sum(), z), **TOL)
    y = rng.normal(size=(B, K))
    np.testing.assert_allclose(ly.mse_backward(z, y, 0.25), fd(lambda v: 0.25 * ly.mse_forward(v, y).sum(), z), **TOL)


@pytest.mark.parametrize("B,C", [(1, 2), (3, 9), (8, 33)])
def test_layernorm_backward_is_the_gradient(B, C):
    rng = np.random.default_rng(B * C)
    x, w, b, R = rng.normal(size=(B, C)) + 1, rng.normal(size=C), rng.normal(size=C), rng.normal(size=(B, C))
    out, mean, rstd = ly.layernorm_forward(x, w, b)
    dx, dw, db = ly.layernorm_backward(R, mean, rstd, x, w)
    obj = lambda xx, ww, bb: (ly.layernorm_forward(xx, ww, bb)[0] * R).sum()  # noqa: E731
    np.testing.assert_allclose(dx, fd(lambda v: obj(v, w, b), x), **TOL)
    np.testing.assert_allclose(dw, fd(lambda v: obj(x, v, b), w), **TOL)
    np.testing.assert_allclose(db, fd(lambda v: obj(x, w, v), b), **TOL)


def test_dropout_mask_and_its_backward():
    x = np.arange(1.0, 10002.0)
    out = ly.dropout_forward(x, 0.25, 7, 3)
    keep = out != 0
    assert abs(keep.mean() - 0.75) < 0.02  # binomial, sd 0.0043: 4.6 sd
    np.testing.assert_allclose(out[keep], x[keep] / 0.75, rtol=1e-15)
    np.testing.assert_array_equal(ly.dropout_backward(np.ones_like(x), 0.25, 7, 3) != 0, keep)
    assert not np.array_equal(ly.dropout_forward(x, 0.25, 7, 4) != 0, keep)
    np.testing.assert_array_equal(ly.dropout_forward(x, 0.0, 7, 3), x)


def test_philox_known_answers():
    # Random123's known-answer tests for philox4x32-10 (kat_vectors):
    # ctr 0, key 0 -> 6627e8d5 e169c58d bc57ac4c 9b00dbd8;
    # ctr all ones, key all ones -> 408f276d 41c83b0e a20bc7c6 6d5451fd
    w = ly.philox(0, 0, np.array([0], dtype=np.uint64))[0]
    assert [hex(v) for v in w] == ["0x6627e8d5", "0xe169c58d", "0xbc57ac4c", "0x9b00dbd8"]
    ones = (1 << 64) - 1
    w = ly.philox(ones, ones, np.array([ones], dtype=np.uint64))[0]
    assert [hex(v) for v in w] == ["0x408f276d", "0x41c83b0e", "0xa20bc7c6", "0x6d5451fd"]


# ---- against PyTorch ---------------------------------------------------------------------
def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("act", ["relu", "tanh", "logistic", "gelu"])
def test_forward_backward_match_pytorch(act):
    torch = _torch()
    rng = np.random.default_rng(3)
    B, Ci, Co = 5, 7, 4
    x, W, b, R = rng.normal(size=(B, Ci)), rng.normal(size=(Ci, Co)), rng.normal(size=Co), rng.normal(size=(B, Co))
    tx, tW, tb = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    f = {"relu": torch.relu, "tanh": torch.tanh, "logistic": torch.sigmoid, "gelu": torch.nn.GELU()}[act]
    z = tx @ tW + tb
    out = f(z)
    (out * torch.tensor(R)).sum().backward()
    zz = ly.linear_forward(x, W, b)
    oo = ly.activation_forward(zz, act)
    # float64 both: the same formulas up to a few ulp
    np.testing.assert_allclose(oo, out.detach().numpy(), rtol=1e-12, atol=1e-14)
    dz = ly.activation_backward(R, oo, zz, act)
    dx, dW, db = ly.linear_backward(dz, x, W)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dW, tW.grad.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-12, atol=1e-13)


def test_losses_and_layernorm_match_pytorch():
    torch = _torch()
    F = torch.nn.functional
    rng = np.random.default_rng(4)
    B, K = 6, 5
    z = rng.normal(size=(B, K)) * 2
    t = rng.integers(0, K, B)
    tz = torch.tensor(z, requires_grad=True)
    loss = F.cross_entropy(tz, torch.tensor(t), reduction="mean")
    loss.backward()
    probs, losses = ly.softmax_crossentropy_forward(z, t)
    assert losses.mean() == pytest.approx(float(loss.detach()), rel=1e-13)
    np.testing.assert_allclose(ly.softmax_crossentropy_backward(probs, t, 1.0 / B), tz.grad.numpy(), atol=1e-14)
    tt = (rng.random((B, K)) < 0.5).astype(float)
    tz = torch.tensor(z, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(tz, torch.tensor(tt), reduction="sum")
    loss.backward()
    p, l = ly.sigmoid_crossentropy_forward(z, tt)
    assert l.sum() == pytest.approx(float(loss.detach()), rel=1e-13)
    np.testing.assert_allclose(ly.sigmoid_crossentropy_backward(p, tt, 1.0), tz.grad.numpy(), atol=1e-14)
    x, w, b, R = rng.normal(size=(B, K)), rng.normal(size=K), rng.normal(size=K), rng.normal(size=(B, K))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out = F.layer_norm(tx, (K,), tw, tb, eps=1e-5)
    (out * torch.tensor(R)).sum().backward()
    o, mean, rstd = ly.layernorm_forward(x, w, b, eps=1e-5)
    np.testing.assert_allclose(o, out.detach().numpy(), rtol=1e-12, atol=1e-13)
    dx, dw, db = ly.layernorm_backward(R, mean, rstd, x, w)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-12, atol=1e-13)
