"""Write the PyTorch fixtures of the CNN tests, so that the test suite runs
without PyTorch installed (and compares live when it is):

- tests_py/fixtures/cnn_layers.npz: PyTorch's conv2d, max-pool 2d, average-pool
  2d and batch norm (train and eval) forward outputs and backward gradients on
  small seeded inputs (tests_py/test_conv_layers.py);
- tests_py/fixtures/cnn_torch_steps.npz: a whole network (conv, max-pool,
  conv, batch norm, average-pool, flatten, dense) trained 10 SGD steps from
  given weights on given batches: every step's loss and gradient, and the
  final running statistics (tests_py/test_cnn.py).

Run from the repository root:

    python dev/make_torch_fixtures_cnn.py

Every case is computed in float32 (PyTorch CPU's default) from inputs drawn
in float32; the loss whose gradients are saved is sum(out * g) with a random g
(so dout = g). Keys: "<case>/<tensor>"; the case's settings in "<case>/cfg".
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

# (name, B, C, H, W, OC, KH, KW, stride, padding, dilation)
CONV = [
    ("conv_a", 1, 1, 7, 5, 3, 3, 3, (1, 1), (1, 1), (1, 1)),
    ("conv_b", 3, 2, 9, 11, 5, 3, 2, (2, 1), (1, 0), (1, 1)),
    ("conv_c", 2, 3, 10, 10, 4, 1, 1, (1, 1), (0, 0), (1, 1)),
    ("conv_d", 4, 4, 13, 12, 7, 3, 3, (2, 3), (1, 1), (2, 1)),
]
# (name, kind, B, C, H, W, kernel, stride, padding)
POOL = [
    ("pool_a", "max", 1, 1, 7, 7, (2, 2), (2, 2), (0, 0)),
    ("pool_b", "max", 2, 3, 9, 8, (3, 3), (2, 2), (1, 1)),
    ("pool_c", "avg", 2, 3, 9, 8, (3, 3), (2, 2), (1, 1)),
    ("pool_d", "avg", 2, 2, 6, 11, (3, 2), (1, 3), (1, 1)),
]
# (name, B, C, H, W, training)
BN = [
    ("bn_a", 4, 3, 5, 5, True),
    ("bn_b", 7, 5, 1, 1, True),
    ("bn_c", 3, 4, 6, 2, False),
]


def main():
    torch.manual_seed(0)
    g = np.random.default_rng(0)
    out = {}

    def rnd(*shape):
        return g.standard_normal(shape).astype(np.float32)

    for name, B, C, H, W, OC, KH, KW, s, p, d in CONV:
        x, w, b = rnd(B, C, H, W), rnd(OC, C, KH, KW), rnd(OC)
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        y = F.conv2d(tx, tw, tb, stride=s, padding=p, dilation=d)
        gout = rnd(*y.shape)
        (y * torch.tensor(gout)).sum().backward()
        out.update({f"{name}/cfg": np.array([*s, *p, *d]), f"{name}/x": x, f"{name}/w": w, f"{name}/b": b,
                    f"{name}/out": y.detach().numpy(), f"{name}/gout": gout, f"{name}/dx": tx.grad.numpy(),
                    f"{name}/dw": tw.grad.numpy(), f"{name}/db": tb.grad.numpy()})

    for name, kind, B, C, H, W, k, s, p in POOL:
        x = rnd(B, C, H, W)
        tx = torch.tensor(x, requires_grad=True)
        if kind == "max":
            y, idx = F.max_pool2d(tx, k, s, p, return_indices=True)
            out[f"{name}/argmax"] = idx.numpy().astype(np.int32)
        else:
            y = F.avg_pool2d(tx, k, s, p, count_include_pad=True)
        gout = rnd(*y.shape)
        (y * torch.tensor(gout)).sum().backward()
        out.update({f"{name}/cfg": np.array([*k, *s, *p, kind == "max"]), f"{name}/x": x,
                    f"{name}/out": y.detach().numpy(), f"{name}/gout": gout, f"{name}/dx": tx.grad.numpy()})

    for name, B, C, H, W, training in BN:
        x = rnd(B, C, H, W) * 2 + 1
        w, b = rnd(C), rnd(C)
        rm, rv = rnd(C), np.abs(rnd(C)) + 0.5
        bn = torch.nn.BatchNorm2d(C, eps=1e-5, momentum=0.1)
        with torch.no_grad():
            bn.weight.copy_(torch.tensor(w))
            bn.bias.copy_(torch.tensor(b))
            bn.running_mean.copy_(torch.tensor(rm))
            bn.running_var.copy_(torch.tensor(rv))
        bn.train(training)
        tx = torch.tensor(x, requires_grad=True)
        y = bn(tx)
        gout = rnd(*y.shape)
        (y * torch.tensor(gout)).sum().backward()
        out.update({f"{name}/cfg": np.array([int(training)]), f"{name}/x": x, f"{name}/w": w, f"{name}/b": b,
                    f"{name}/rm": rm, f"{name}/rv": rv, f"{name}/out": y.detach().numpy(), f"{name}/gout": gout,
                    f"{name}/dx": tx.grad.numpy(), f"{name}/dw": bn.weight.grad.numpy(),
                    f"{name}/db": bn.bias.grad.numpy(), f"{name}/rm_new": bn.running_mean.numpy(),
                    f"{name}/rv_new": bn.running_var.numpy()})

    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "tests_py", "fixtures", "cnn_layers.npz")
    np.savez_compressed(path, **out)
    print(f"wrote {os.path.normpath(path)}: {len(out)} arrays, torch {torch.__version__}")
    steps = network_steps()
    path = os.path.join(here, "..", "tests_py", "fixtures", "cnn_torch_steps.npz")
    np.savez_compressed(path, **steps)
    print(f"wrote {os.path.normpath(path)}: losses {steps['losses']}")


# The network of network_steps, as mfs.CNNClassifier parameters.
NET = dict(input_shape=(1, 8, 8), hidden_layer_sizes=(16,), activation="relu",
           conv_layers=[{"filters": 4, "kernel_size": 3, "padding": 1, "pool": 2},
                        {"filters": 6, "kernel_size": 3, "padding": 1, "pool": 2, "pool_type": "avg",
                         "batch_norm": True}])
STEPS, BATCH, LR, K = 10, 20, 0.1, 10


def torch_model(params):
    """The PyTorch twin of NET with the weights of the flat params (libmfs's
    layout: per layer weight then bias, dense weights (in, out); batch norm
    weight, bias; then the running mean and var)."""
    m = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, padding=1, bias=False), torch.nn.BatchNorm2d(6, eps=1e-5, momentum=0.1),
        torch.nn.ReLU(),
        torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(24, 16), torch.nn.ReLU(), torch.nn.Linear(16, K))
    off = 0

    def take(n):
        nonlocal off
        v = torch.tensor(params[off:off + n], dtype=torch.float32)
        off += n
        return v

    with torch.no_grad():
        for layer in m:
            if isinstance(layer, torch.nn.Conv2d):
                layer.weight.copy_(take(layer.weight.numel()).reshape(layer.weight.shape))
                if layer.bias is not None:
                    layer.bias.copy_(take(layer.bias.numel()))
            elif isinstance(layer, torch.nn.BatchNorm2d):
                layer.weight.copy_(take(6))
                layer.bias.copy_(take(6))
            elif isinstance(layer, torch.nn.Linear):
                o, i = layer.weight.shape
                layer.weight.copy_(take(i * o).reshape(i, o).T)
                layer.bias.copy_(take(o))
        bn = m[4]
        bn.running_mean.copy_(take(6))
        bn.running_var.copy_(take(6))
    assert off == len(params)
    return m


def flat_grads(m):
    """The gradient of every trained parameter in libmfs's layout."""
    out = []
    for layer in m:
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.BatchNorm2d)):
            out += [layer.weight.grad.numpy().ravel()]
            if layer.bias is not None:
                out += [layer.bias.grad.numpy().ravel()]
        elif isinstance(layer, torch.nn.Linear):
            out += [layer.weight.grad.numpy().T.ravel(), layer.bias.grad.numpy().ravel()]
    return np.concatenate(out)


def network_steps(params0=None, X=None, y=None):
    """STEPS plain-SGD steps (lr LR, batches of BATCH rows in order) of the
    PyTorch twin in float32: the loss and flat gradient of every step, and the
    running statistics after the last."""
    if X is None:
        from sklearn.datasets import load_digits
        Xd, yd = load_digits(return_X_y=True)
        X = (Xd[:STEPS * BATCH] / 16.0).astype(np.float32)
        y = yd[:STEPS * BATCH].astype(np.int64)
    if params0 is None:
        g = np.random.default_rng(1)
        n_params = 4 * 9 + 4 + 6 * 4 * 9 + 12 + 24 * 16 + 16 + 16 * K + K  # conv 2: no bias (batch norm)
        params0 = np.concatenate([g.uniform(-0.5, 0.5, n_params), np.zeros(6), np.ones(6)]).astype(np.float32)
        params0[4 * 9 + 4 + 6 * 4 * 9:][:6] = 1.0 + 0.1 * g.standard_normal(6)  # batch norm weight
    m = torch_model(params0)
    m.train()
    opt = torch.optim.SGD(m.parameters(), lr=LR, momentum=0.0)
    losses, grads = [], []
    for s in range(STEPS):
        xb = torch.tensor(X[s * BATCH:(s + 1) * BATCH]).reshape(-1, 1, 8, 8)
        yb = torch.tensor(y[s * BATCH:(s + 1) * BATCH])
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(xb), yb)
        loss.backward()
        losses.append(float(loss.detach()))
        grads.append(flat_grads(m))
        opt.step()
    bn = m[4]
    return {"X": X, "y": y, "params0": params0, "losses": np.array(losses), "grads": np.stack(grads),
            "running_mean": bn.running_mean.numpy().copy(), "running_var": bn.running_var.numpy().copy(),
            "lr": np.array(LR), "batch": np.array(BATCH)}


if __name__ == "__main__":
    main()
