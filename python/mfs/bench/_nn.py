"""Network benchmarks (issue "Neural networks I"): training and inference
throughput in samples/s of libmfs's MLP and CNN next to PyTorch (CPU, and CUDA
where a GPU is present) and scikit-learn's MLPClassifier, with the same
architecture, batch size, optimizer and data.

    MLP: 784-256-256-10, relu, softmax cross-entropy, Adam (lr 1e-3), batch 128
    CNN: conv 1->16 3x3 pad 1, relu, max-pool 2, conv 16->32 3x3 pad 1, relu,
         max-pool 2, fc 32*7*7 -> 10, Adam, batch 64, on 28x28 images

Run in a fresh worker process per measurement (see _worker.py): spec
{"kind": "nn", "net": "mlp"|"cnn", "impl": "c"|"cuda"|"sklearn"|"torch"|"torch-cuda",
 "n_samples", "epochs", "repeats", "threads", "seed", "budget_s"}.
"""
from __future__ import annotations

import gc
import time

NETS = ("mlp", "cnn")
IMPLS = ("c", "cuda", "sklearn", "torch", "torch-cuda")
BATCH = {"mlp": 128, "cnn": 64}
HIDDEN = (256, 256)
LR = 1e-3


def _data(spec):
    from . import _data
    X, y = _data.images(int(spec["n_samples"]), (1, 28, 28), 10, spec.get("seed", 0))
    if spec["net"] == "mlp":
        X = X.reshape(X.shape[0], -1)
    return X, y


# ---------------------------------------------------------------- libmfs

def _mfs_estimator(spec, epochs):
    import mfs
    common = dict(solver="adam", learning_rate_init=LR, batch_size=BATCH[spec["net"]],
                  max_iter=int(epochs), shuffle=True, random_state=0, alpha=0.0, tol=0.0,
                  n_iter_no_change=10**6, early_stopping=False, backend=spec["impl"])
    if spec["net"] == "mlp":
        return mfs.MLPClassifier(hidden_layer_sizes=HIDDEN, activation="relu", **common)
    if not hasattr(mfs, "CNNClassifier"):
        raise NotImplementedError("mfs.CNNClassifier does not exist (yet) in this build")
    return mfs.CNNClassifier(input_shape=(1, 28, 28), **_cnn_arch(), **common)


def _cnn_arch():
    """The benchmark CNN in mfs.CNNClassifier's spec."""
    return dict(conv_layers=[{"filters": 16, "kernel_size": 3, "stride": 1, "padding": 1, "pool": 2},
                             {"filters": 32, "kernel_size": 3, "stride": 1, "padding": 1, "pool": 2}],
                hidden_layer_sizes=())


class _Mfs:
    def __init__(self, spec):
        import mfs
        if spec["net"] == "mlp" and not hasattr(mfs, "MLPClassifier"):
            raise NotImplementedError("mfs.MLPClassifier does not exist (yet) in this build")
        self.spec = spec

    def train(self, X, y, epochs):
        est = _mfs_estimator(self.spec, epochs)
        est.fit(X, y)
        self.est = est
        return float(est.loss_)

    def predict(self, X):
        return self.est.predict(X)


# ---------------------------------------------------------------- scikit-learn

class _Sklearn:
    def __init__(self, spec):
        if spec["net"] != "mlp":
            raise NotImplementedError("scikit-learn has no convolutional network")
        self.spec = spec

    def train(self, X, y, epochs):
        import warnings
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
        est = MLPClassifier(hidden_layer_sizes=HIDDEN, activation="relu", solver="adam",
                            learning_rate_init=LR, batch_size=BATCH["mlp"], max_iter=int(epochs),
                            shuffle=True, random_state=0, alpha=0.0, tol=0.0,
                            n_iter_no_change=10**6, early_stopping=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        self.est = est
        return float(est.loss_)

    def predict(self, X):
        return self.est.predict(X)


# ---------------------------------------------------------------- PyTorch

class _Torch:
    def __init__(self, spec):
        try:
            import torch
        except ImportError:
            raise NotImplementedError("PyTorch is not installed")
        self.torch = torch
        self.spec = spec
        self.device = "cuda" if spec["impl"] == "torch-cuda" else "cpu"
        if self.device == "cuda" and not torch.cuda.is_available():
            raise NotImplementedError("PyTorch sees no CUDA device")
        torch.set_num_threads(int(spec.get("threads", 2)))

    def _model(self):
        nn = self.torch.nn
        if self.spec["net"] == "mlp":
            return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                                 nn.Linear(256, 10))
        return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(32 * 7 * 7, 10))

    def _sync(self):
        if self.device == "cuda":
            self.torch.cuda.synchronize()

    def train(self, X, y, epochs):
        torch = self.torch
        torch.manual_seed(0)
        Xt = torch.from_numpy(X).to(self.device)  # copied once, as mfs's cuda fit does
        yt = torch.from_numpy(y.astype("int64")).to(self.device)
        model = self._model().to(self.device)
        opt = torch.optim.Adam(model.parameters(), lr=LR)
        B, n = BATCH[self.spec["net"]], X.shape[0]
        g = torch.Generator(device="cpu").manual_seed(0)
        loss = None
        for _ in range(int(epochs)):
            perm = torch.randperm(n, generator=g).to(self.device)
            total = 0.0
            for s in range(0, n, B):
                idx = perm[s:s + B]
                opt.zero_grad(set_to_none=True)
                out = torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
                out.backward()
                opt.step()
                total += float(out.detach()) * idx.shape[0]  # a sync per batch, as sklearn's loss_ bookkeeping
            loss = total / n
        self._sync()
        self.model = model
        return loss

    def allocator_peak(self, X, y, epochs):
        """Peak bytes PyTorch's own allocator held during one more fit: on
        CUDA its max_memory_allocated; on the CPU the running sum of the
        profiler's allocation events (profile_memory=True), the like-for-like
        peer of libmfs's own count. Neither sees BLAS/oneDNN workspace."""
        torch = self.torch
        if self.device == "cuda":
            torch.cuda.synchronize()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            self.train(X, y, epochs)
            return torch.cuda.max_memory_allocated() - base
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            self.train(X, y, epochs)
        events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
        events.sort(key=lambda e: e.start_ns())
        cur = peak = 0
        for e in events:
            cur += e.nbytes()
            peak = max(peak, cur)
        return peak

    def predict(self, X):
        torch = self.torch
        with torch.no_grad():
            out = self.model(torch.from_numpy(X).to(self.device)).argmax(1).cpu().numpy()
        self._sync()
        return out


def _impl(spec):
    impl = spec["impl"]
    if impl in ("c", "cuda"):
        return _Mfs(spec)
    if impl == "sklearn":
        return _Sklearn(spec)
    if impl in ("torch", "torch-cuda"):
        return _Torch(spec)
    raise ValueError(f"unknown nn impl {impl!r}")


def run_nn(spec):
    """One measurement: a short untimed warm-up fit, then `repeats` timed fits
    of `epochs` epochs (memory on the first) and timed predicts on the
    training X. Returns samples/s (median, min, max) for both."""
    import numpy as np
    from ._worker import _stats, reset_vm_hwm, rss_now, ru_maxrss, vm_hwm, _limit_threads
    limiter = _limit_threads(spec.get("threads", 2), blas_threads=1 if spec["impl"] in ("c", "cuda") else None)  # noqa: F841
    X, y = _data(spec)
    impl = _impl(spec)
    epochs = int(spec.get("epochs", 1))
    n = X.shape[0]
    m = min(n, 4 * BATCH[spec["net"]])
    impl.train(X[:m], y[:m], 1)  # thread pools, lazy imports, allocator warm
    impl.predict(X[:m])
    gc.collect()

    import mfs
    rss_before, maxrss_before = rss_now(), ru_maxrss()
    hwm_reset = reset_vm_hwm()
    mfs.reset_peak_memory()
    lib_before = mfs.memory_stats()
    t0 = time.perf_counter()
    loss = impl.train(X, y, epochs)
    t_first = time.perf_counter() - t0
    maxrss_after, hwm_after = ru_maxrss(), vm_hwm()
    lib_after = mfs.memory_stats()
    masked = maxrss_before > rss_before + (1 << 20)
    growth, method = maxrss_after - rss_before, "ru_maxrss"
    if masked and hwm_reset and hwm_after is not None:
        growth, method = hwm_after - rss_before, "VmHWM(reset)"

    reps = int(spec.get("repeats", 3))
    budget = spec.get("budget_s")
    if budget and t_first > 0:
        reps = max(1, min(reps, int(budget // t_first)))
    train_t = [t_first]  # the first fit counts: nothing is cached between fits
    for _ in range(reps - 1):
        t0 = time.perf_counter()
        loss = impl.train(X, y, epochs)
        train_t.append(time.perf_counter() - t0)
    pred_t = []
    for _ in range(max(3, reps)):
        t0 = time.perf_counter()
        pred = impl.predict(X)
        pred_t.append(time.perf_counter() - t0)
    acc = float(np.mean(np.asarray(pred).ravel() == y))
    # the framework's own count of the bytes a fit held at once: libmfs's
    # counters for c/cuda (from the first timed fit), PyTorch's allocator
    # (one more, untimed fit) for torch / torch-cuda
    own_peak, own_method = None, None
    if spec["impl"] == "c":
        own_peak, own_method = lib_after["host_peak"] - lib_before["host_current"], "libmfs host counter"
    elif spec["impl"] == "cuda":
        own_peak, own_method = lib_after["device_peak"] - lib_before["device_current"], "libmfs device counter"
    elif spec["impl"] in ("torch", "torch-cuda"):
        try:
            own_peak = int(impl.allocator_peak(X, y, epochs))
            own_method = ("torch.cuda.max_memory_allocated" if spec["impl"] == "torch-cuda"
                          else "torch.profiler allocation events")
        except Exception as e:  # an old PyTorch without these APIs: say so, keep the row
            own_method = f"unavailable: {type(e).__name__}: {e}"[:120]
    tr, pr = _stats(train_t), _stats(pred_t)
    rate = lambda st, count: {"median": count / st["median"], "min": count / st["max"],  # noqa: E731
                              "max": count / st["min"]}
    return {"status": "ok", "repeats": len(train_t), "train_time": tr, "predict_time": pr,
            "train_rate": rate(tr, n * epochs), "predict_rate": rate(pr, n),
            "memory": {"rss_growth": max(0, growth), "rss_method": method,
                       "lib_host_peak": (lib_after["host_peak"] - lib_before["host_current"]
                                         if spec["impl"] in ("c", "cuda") else None),
                       "lib_device_peak": (lib_after["device_peak"] - lib_before["device_current"]
                                           if spec["impl"] == "cuda" else None),
                       "own_peak": own_peak, "own_peak_method": own_method},
            "loss": loss, "train_accuracy": acc, "epochs": epochs, "batch_size": BATCH[spec["net"]]}
