"""PyTorch reference runs for the MLP tests: 10 training steps of small
networks with given initial weights and batches, the loss of every step and
every gradient, saved as tests_py/fixtures/mlp_<case>.npz so that the test
suite runs without PyTorch (tests_py/test_mlp.py also re-runs these live when
torch is installed).

    python dev/make_torch_fixtures_mlp.py

Conventions matched to libmfs (python/mfs/reference/mlp.py has the same
formulas): weights stored (n_in, n_out) as scikit-learn's coefs_, flattened
layer after layer as W then b; the L2 term of SGD is scikit-learn's
0.5 * alpha * sum(W^2) / batch (biases exempt), added to the loss; AdamW's
decay applies to the weights only (a param group without decay for biases).
float32 throughout, torch.set_num_threads(1) for reproducibility."""
import os
import sys

import numpy as np

CASES = {
    # name: (task, K, hidden, activation, solver, lr, alpha, extra)
    "sgd_softmax": dict(task="softmax", K=4, hidden=(13, 7), activation="tanh", solver="sgd", lr=0.05,
                        alpha=1e-3, momentum=0.9, nesterov=True),
    "sgd_multilabel": dict(task="multilabel", K=3, hidden=(10,), activation="logistic", solver="sgd", lr=0.2,
                           alpha=0.0, momentum=0.5, nesterov=False),
    "adamw_binary": dict(task="binary", K=1, hidden=(9,), activation="relu", solver="adamw", lr=0.01, alpha=0.01),
    "adam_regression": dict(task="regression", K=1, hidden=(11, 5), activation="gelu", solver="adamw", lr=0.005,
                            alpha=0.0),
}
STEPS, B, D = 10, 16, 6


def data(name):
    """Inputs, targets and initial weights of a case (numpy, seeded by name)."""
    c = CASES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    n = STEPS * B
    X = rng.normal(size=(n, D)).astype(np.float32)
    if c["task"] == "softmax":
        y = rng.integers(0, c["K"], n).astype(np.int32)
    elif c["task"] == "binary":
        y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int32)
    elif c["task"] == "multilabel":
        y = (rng.random((n, c["K"])) < 0.5).astype(np.float32)
    else:
        y = (np.sin(X[:, 0]) + 0.3 * X[:, 1] * X[:, 2]).astype(np.float32)
    units = [D, *c["hidden"], c["K"]]
    params = []
    for a, b in zip(units[:-1], units[1:]):
        bound = np.sqrt(6.0 / (a + b))
        params.append(rng.uniform(-bound, bound, a * b))
        params.append(rng.uniform(-bound, bound, b))
    return X, y, units, np.concatenate(params).astype(np.float32)


def run_torch(name):
    """(losses (STEPS,), grads (STEPS, P)) of PyTorch on the case."""
    import torch
    torch.set_num_threads(1)
    c = CASES[name]
    X, y, units, p0 = data(name)
    Ws, bs, off = [], [], 0
    for a, b in zip(units[:-1], units[1:]):
        Ws.append(torch.tensor(p0[off:off + a * b].reshape(a, b), requires_grad=True))
        off += a * b
        bs.append(torch.tensor(p0[off:off + b], requires_grad=True))
        off += b
    act = {"tanh": torch.tanh, "relu": torch.relu, "logistic": torch.sigmoid,
           "gelu": torch.nn.GELU()}[c["activation"]]
    if c["solver"] == "sgd":
        opt = torch.optim.SGD(Ws + bs, lr=c["lr"], momentum=c["momentum"], nesterov=c["nesterov"])
    else:
        opt = torch.optim.AdamW([{"params": Ws, "weight_decay": c["alpha"]}, {"params": bs, "weight_decay": 0.0}],
                                lr=c["lr"], betas=(0.9, 0.999), eps=1e-8)
    losses, grads = [], []
    for s in range(STEPS):
        xb = torch.tensor(X[s * B:(s + 1) * B])
        h = xb
        for i in range(len(Ws)):
            h = h @ Ws[i] + bs[i]
            if i < len(Ws) - 1:
                h = act(h)
        if c["task"] == "softmax":
            loss = torch.nn.functional.cross_entropy(h, torch.tensor(y[s * B:(s + 1) * B], dtype=torch.long))
        elif c["task"] == "binary":
            t = torch.tensor(y[s * B:(s + 1) * B], dtype=torch.float32)[:, None]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(h, t)
        elif c["task"] == "multilabel":
            t = torch.tensor(y[s * B:(s + 1) * B])
            # scikit-learn's multilabel loss: the per-label log-losses summed, averaged over rows
            loss = torch.nn.functional.binary_cross_entropy_with_logits(h, t, reduction="sum") / B
        else:
            t = torch.tensor(y[s * B:(s + 1) * B])[:, None]
            loss = 0.5 * torch.mean((h - t) ** 2)  # scikit-learn's squared loss
        if c["solver"] == "sgd" and c["alpha"] > 0:
            loss = loss + 0.5 * c["alpha"] * sum((W ** 2).sum() for W in Ws) / B
        opt.zero_grad()
        loss.backward()
        losses.append(float(loss.detach()))
        g = []
        for W, b in zip(Ws, bs):
            g += [W.grad.detach().numpy().ravel(), b.grad.detach().numpy().ravel()]
        grads.append(np.concatenate(g))
        opt.step()
    return np.asarray(losses), np.stack(grads).astype(np.float32)


def main():
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests_py", "fixtures")
    os.makedirs(out_dir, exist_ok=True)
    for name in CASES:
        X, y, units, p0 = data(name)
        losses, grads = run_torch(name)
        path = os.path.join(out_dir, f"mlp_{name}.npz")
        np.savez_compressed(path, X=X, y=y, units=np.asarray(units), params0=p0, losses=losses, grads=grads)
        print(f"{path}: losses {losses[0]:.6f} .. {losses[-1]:.6f}", file=sys.stderr)


if __name__ == "__main__":
    main()
