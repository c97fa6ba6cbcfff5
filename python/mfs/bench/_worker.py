"""One benchmark measurement, run in a fresh process by mfs.bench:

    python -m mfs.bench._worker '<json spec>'

prints one JSON object (the result) on stdout. Anything the libraries print on
stdout while working goes to stderr instead, so stdout carries only the JSON.

Spec kinds:
  {"kind": "model", "model": one of MODELS,
   "backend": "python"|"c"|"cuda"|"sklearn", "n_samples", "n_features",
   "n_clusters", "n_components", "n_classes", "n_neighbors", "n_queries",
   "n_estimators", "C", "max_iter", "repeats", "budget_s", "threads", "seed"}
  {"kind": "gemm", "impl": "mfs"|"numpy", "sizes": [...], "threads", "repeats",
   "budget_s", "seed"}
"""
from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import sys
import time
import traceback

MODELS = ("linear_regression", "ridge", "kmeans", "pca", "logistic_regression", "knn",
          "gaussian_nb", "multinomial_nb", "bernoulli_nb", "decision_tree", "random_forest", "svc")
_SKLEARN_MODULE = {"linear_regression": ("sklearn.linear_model",), "ridge": ("sklearn.linear_model",),
                   "kmeans": ("sklearn.cluster",), "pca": ("sklearn.decomposition",),
                   "logistic_regression": ("sklearn.linear_model",), "knn": ("sklearn.neighbors",),
                   "gaussian_nb": ("sklearn.naive_bayes",), "multinomial_nb": ("sklearn.naive_bayes",),
                   "bernoulli_nb": ("sklearn.naive_bayes",), "decision_tree": ("sklearn.tree",),
                   "random_forest": ("sklearn.ensemble",), "svc": ("sklearn.svm",)}
# The same class name in mfs and in scikit-learn's module above.
CLASS_NAMES = {"linear_regression": "LinearRegression", "ridge": "Ridge", "kmeans": "KMeans",
               "pca": "PCA", "logistic_regression": "LogisticRegression",
               "knn": "KNeighborsClassifier", "gaussian_nb": "GaussianNB",
               "multinomial_nb": "MultinomialNB", "bernoulli_nb": "BernoulliNB",
               "decision_tree": "DecisionTreeClassifier", "random_forest": "RandomForestClassifier",
               "svc": "SVC"}
CLASSIFIERS = ("logistic_regression", "knn", "gaussian_nb", "multinomial_nb", "bernoulli_nb",
               "decision_tree", "random_forest", "svc")
# Models scored on held-out rows (X_query, y_query: the last n_queries rows
# drawn with the training rows): their training accuracy says nothing (k-NN
# and a fully grown tree are perfect on it). Their predict runs on X_query.
HELDOUT = ("knn", "decision_tree", "random_forest", "svc")
# Classifiers whose predict_proba is timed too (k-NN's would repeat its
# neighbor search, as long as predict itself).
PROBA_MODELS = ("logistic_regression", "gaussian_nb", "multinomial_nb", "bernoulli_nb",
                "decision_tree", "random_forest")
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------- memory probes

def rss_now():
    """Current resident set size of this process, bytes (/proc/self/statm)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def ru_maxrss():
    """getrusage's ru_maxrss in bytes (Linux reports KiB). It is a HIGH-WATER
    mark over the whole life of the process: it never goes down, so it only
    says something about the fit if the fit pushes it above everything that
    came before (imports, data generation). Hence the baseline is taken right
    before the fit, after the data are generated and touched, and the result is
    flagged when the mark was already above the baseline."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def vm_hwm():
    """VmHWM of /proc/self/status in bytes: the peak RSS of this address space
    alone (ru_maxrss also folds in the peak of whatever ran before exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_vm_hwm():
    """Reset VmHWM to the current RSS (Linux >= 4.0: echo 5 > /proc/self/clear_refs).
    ru_maxrss is not reset by this. True if it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def blas_info():
    """What threadpoolctl sees: BLAS / OpenMP libraries, kernel, threads."""
    try:
        from threadpoolctl import threadpool_info
        out = []
        for d in threadpool_info():
            out.append({k: d.get(k) for k in ("user_api", "internal_api", "prefix", "version",
                                              "architecture", "threading_layer", "num_threads")}
                       | {"file": os.path.join(*os.path.normpath(d.get("filepath") or "?").split(os.sep)[-2:])})
        return out
    except Exception as e:  # pragma: no cover
        return [{"error": repr(e)}]


def _stats(times):
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "times": list(times)}


def _limit_threads(n, model=None, blas_threads=None):
    """Threads for everyone in this process: libmfs (OpenMP) and, through
    threadpoolctl, the BLAS and OpenMP runtimes numpy / scikit-learn use.
    blas_threads caps BLAS alone: a libmfs worker gives OpenBLAS one thread,
    because OpenBLAS workers busy-wait after each call (data generation, the
    accuracy check) and would take the cores libmfs's threads are timed on."""
    # Load the runtimes first: threadpoolctl only limits libraries already
    # loaded (scikit-learn's OpenMP comes with its compiled modules).
    import importlib
    for mod in _SKLEARN_MODULE.get(model, ()):
        importlib.import_module(mod)
    from threadpoolctl import threadpool_limits
    import mfs
    mfs.set_num_threads(int(n))
    if blas_threads is not None:
        return [threadpool_limits(limits=int(n)),
                threadpool_limits(limits=int(blas_threads), user_api="blas")]
    return threadpool_limits(limits=int(n))


# ---------------------------------------------------------------- models

def _make_data(spec):
    """X, y (None for unsupervised models) and extras: KMeans's init array;
    for k-NN the query set, X_query / y_query (held out: drawn with the
    training rows from one generator, the last n_queries rows)."""
    from . import _data
    import numpy as np
    model, n, d, seed = spec["model"], spec["n_samples"], spec["n_features"], spec.get("seed", 0)
    if model in ("linear_regression", "ridge"):
        X, y = _data.regression(n, d, seed)
        return X, y, {}
    if model == "kmeans":
        k = spec.get("n_clusters", 8)
        X, _, _ = _data.blobs(n, d, k, seed)
        return X, None, {"init": _data.kmeans_init(X, k, seed)}
    if model == "pca":
        return _data.low_rank(n, d, rank=min(10, d), seed=seed), None, {}
    if model == "logistic_regression":
        X, y = _data.binary_classification(n, d, seed)
        return X, y, {}
    if model == "gaussian_nb":
        X, y = _data.class_blobs(n, d, spec.get("n_classes", 10), seed)
        return X, y, {}
    if model in ("multinomial_nb", "bernoulli_nb"):
        X, y = _data.counts(n, d, spec.get("n_classes", 10), seed)
        return X, y, {}
    if model in HELDOUT:
        m = int(spec.get("n_queries", 10_000))
        if model == "knn":
            X, y = _data.class_blobs(n + m, d, spec.get("n_classes", 10), seed)
        else:
            X, y = _data.nonlinear_classification(n + m, d, seed)
        # copies, so the training X does not keep the query rows alive
        return (np.ascontiguousarray(X[:n]), np.ascontiguousarray(y[:n]),
                {"X_query": np.ascontiguousarray(X[n:]), "y_query": np.ascontiguousarray(y[n:])})
    raise ValueError(f"unknown model {model!r}")


def _factory(spec, extra):
    """A zero-argument function building a fresh, unfitted estimator."""
    model, backend = spec["model"], spec["backend"]
    if model not in CLASS_NAMES:
        raise ValueError(f"unknown model {model!r}")
    if backend == "sklearn":
        import importlib
        mod = importlib.import_module(_SKLEARN_MODULE[model][0])
        cls, kw = getattr(mod, CLASS_NAMES[model]), {}
    else:
        import mfs
        if not hasattr(mfs, CLASS_NAMES[model]):
            raise NotImplementedError(f"mfs.{CLASS_NAMES[model]} does not exist (yet) in this build")
        cls, kw = getattr(mfs, CLASS_NAMES[model]), {"backend": backend}
    if model == "ridge":
        params = {"alpha": 1.0}
    elif model == "kmeans":
        params = {"n_clusters": spec.get("n_clusters", 8), "init": extra["init"], "n_init": 1,
                  "max_iter": 300, "tol": 1e-4, "random_state": 0}
    elif model == "pca":
        params = {"n_components": spec.get("n_components", 10), "svd_solver": "full"}
    elif model == "logistic_regression":
        params = {"C": float(spec.get("C", 1.0)), "max_iter": int(spec.get("max_iter", 100)), "tol": 1e-4}
        if backend == "sklearn":
            params["solver"] = "lbfgs"
    elif model == "knn":
        params = {"n_neighbors": int(spec.get("n_neighbors", 10)), "algorithm": "brute"}
    elif model in ("multinomial_nb", "bernoulli_nb"):
        params = {"alpha": 1.0} | ({"binarize": 0.0} if model == "bernoulli_nb" else {})
    elif model == "decision_tree":
        params = {"random_state": 0}
    elif model == "random_forest":
        params = {"n_estimators": int(spec.get("n_estimators", 100)), "random_state": 0}
        if backend == "sklearn":
            params["n_jobs"] = int(spec.get("threads", 2))
    elif model == "svc":
        params = {"kernel": "rbf", "C": float(spec.get("C", 1.0)), "gamma": "scale",
                  "cache_size": 200}
    else:
        params = {}
    return lambda: cls(**params, **kw)


def _apply(est, model, X, extra):
    """The timed "predict": transform(X) for PCA, predict on the held-out
    queries for k-NN, the trees and the SVC, predict(X) otherwise."""
    if model == "pca":
        return est.transform(X)
    return est.predict(_predict_input(model, X, extra))


def _predict_input(model, X, extra):
    return extra["X_query"] if model in HELDOUT else X


def _quality(est, model, X, y, out, extra):
    import numpy as np
    if model in ("linear_regression", "ridge"):
        yt = y.astype(np.float64)
        res = yt - np.asarray(out, dtype=np.float64).reshape(yt.shape)
        ss_tot = float(np.sum((yt - yt.mean()) ** 2))
        return "r2", 1.0 - float(np.sum(res ** 2)) / ss_tot if ss_tot > 0 else float("nan")
    if model == "kmeans":
        return "inertia", float(est.inertia_)
    if model in CLASSIFIERS:  # k-NN: on the held-out queries, else on the training data
        truth = extra["y_query"] if model in HELDOUT else y
        return "accuracy", float(np.mean(np.asarray(out).ravel() == truth))
    return "explained_variance_ratio_sum", float(np.sum(est.explained_variance_ratio_))


def run_model(spec):
    import numpy as np
    model, backend = spec["model"], spec["backend"]
    limiter = _limit_threads(spec.get("threads", 2), model,  # noqa: F841  (kept alive)
                             blas_threads=1 if spec.get("backend") in ("c", "cuda") else None)
    import mfs
    X, y, extra = _make_data(spec)
    fit_args = (X, y) if y is not None else (X,)
    make = _factory(spec, extra)

    # A tiny fit first, so lazy imports, OpenMP / BLAS thread pools and a CUDA
    # context are in place before the baseline and not counted as fit memory.
    m = min(X.shape[0], 2048)
    small = make().fit(*[a[:m] for a in fit_args])
    _apply(small, model, X[:m], {k: v[:m] for k, v in extra.items() if k == "X_query"})
    if model in PROBA_MODELS:
        small.predict_proba(_predict_input(model, X, extra)[:m])
    del small
    gc.collect()

    # -- the measured (warm-up) fit: memory is taken on this one. The data are
    # generated and touched above; the baseline is read right before the fit.
    rss_before = rss_now()
    maxrss_before = ru_maxrss()
    hwm_reset = reset_vm_hwm()
    mfs.reset_peak_memory()
    lib_before = mfs.memory_stats()
    est = make()
    t0 = time.perf_counter()
    est.fit(*fit_args)
    t_warm = time.perf_counter() - t0
    maxrss_after = ru_maxrss()
    hwm_after = vm_hwm()
    lib_after = mfs.memory_stats()
    t0 = time.perf_counter()
    out = _apply(est, model, X, extra)
    t_warm_pred = time.perf_counter() - t0
    t_warm_proba = 0.0
    if model in PROBA_MODELS:
        t0 = time.perf_counter()
        est.predict_proba(_predict_input(model, X, extra))
        t_warm_proba = time.perf_counter() - t0
    metric_name, metric = _quality(est, model, X, y, out, extra)
    extras = {}
    if getattr(est, "n_iter_", None) is not None:  # sklearn's Ridge has n_iter_ = None
        extras["n_iter"] = int(np.max(est.n_iter_))
    if model == "svc":
        extras["n_support"] = int(np.sum(est.n_support_))
    if model == "decision_tree":
        extras["n_leaves"] = int(est.get_n_leaves())
    del out, est
    gc.collect()

    # ru_maxrss growth, as asked for; valid when the high-water mark was not
    # already above the baseline before the fit (then any growth of the fit
    # shows in it). Otherwise fall back to VmHWM, reset right before the fit.
    masked = maxrss_before > rss_before + (1 << 20)
    rss_growth = maxrss_after - rss_before
    method = "ru_maxrss"
    if masked and hwm_reset and hwm_after is not None:
        rss_growth, method = hwm_after - rss_before, "VmHWM(reset)"
    memory = {"rss_before": rss_before, "ru_maxrss_before": maxrss_before,
              "ru_maxrss_after": maxrss_after, "vm_hwm_after": hwm_after if hwm_reset else None,
              "rss_growth": max(0, rss_growth), "rss_method": method, "rss_masked": masked,
              "lib_host_peak": lib_after["host_peak"] - lib_before["host_current"],
              "lib_device_peak": lib_after["device_peak"] - lib_before["device_current"],
              "lib_counts": backend in ("c", "cuda")}

    # -- timed repeats: a fresh estimator each time; fewer than asked when one
    # fit + predict would not fit the time budget (reported as capped).
    budget = spec.get("budget_s")
    reps = int(spec.get("repeats", 5))
    per = t_warm + t_warm_pred + t_warm_proba
    if budget and per > 0:
        reps = max(1, min(reps, int(budget // per)))
    fit_t, pred_t, proba_t = [], [], []
    for _ in range(reps):
        est = make()
        t0 = time.perf_counter()
        est.fit(*fit_args)
        fit_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _apply(est, model, X, extra)
        pred_t.append(time.perf_counter() - t0)
        if model in PROBA_MODELS:
            t0 = time.perf_counter()
            est.predict_proba(_predict_input(model, X, extra))
            proba_t.append(time.perf_counter() - t0)
        del est
    if proba_t:
        extras["predict_proba_warmup"] = t_warm_proba
    res = {"status": "ok", "repeats": reps, "repeats_requested": int(spec.get("repeats", 5)),
            "capped": reps < int(spec.get("repeats", 5)),
            "warmup": {"fit": t_warm, "predict": t_warm_pred},
            "fit": _stats(fit_t), "predict": _stats(pred_t), "memory": memory,
            "metric": {"name": metric_name, "value": metric}, "extra": extras,
            "threads": spec.get("threads", 2), "blas": blas_info()}
    if proba_t:
        res["predict_proba"] = _stats(proba_t)
    if model in HELDOUT:
        res["n_queries"] = int(extra["X_query"].shape[0])
    return res


# ---------------------------------------------------------------- GEMM

def run_gemm(spec):
    import numpy as np
    from . import _data
    impl, threads = spec["impl"], int(spec.get("threads", 1))
    limiter = _limit_threads(threads, blas_threads=1 if impl == "mfs" else None)  # noqa: F841
    if impl == "mfs":
        from mfs._native import ffi, lib

        def mm(A, B, C, n):
            fp = lambda a: ffi.cast("float *", a.ctypes.data)  # noqa: E731
            st = lib.mfs_sgemm(0, 0, n, n, n, 1.0, fp(A), n, fp(B), n, 0.0, fp(C), n)
            if st != 0:
                raise RuntimeError(f"mfs_sgemm failed with status {st}: "
                                   f"{ffi.string(lib.mfs_last_error()).decode()}")
    elif impl == "numpy":
        def mm(A, B, C, n):
            np.matmul(A, B, out=C)
    else:
        raise ValueError(f"unknown gemm impl {impl!r}")
    results = []
    for n in spec["sizes"]:
        A, B = _data.gemm_operands(n, spec.get("seed", 0))
        C = np.empty((n, n), dtype=np.float32)
        t0 = time.perf_counter()
        mm(A, B, C, n)  # warm-up, not timed
        t_warm = time.perf_counter() - t0
        r = min(64, n)  # check a few rows against float64
        ref = A[:r].astype(np.float64) @ B.astype(np.float64)
        err = float(np.max(np.abs(C[:r] - ref)) / max(1e-30, float(np.max(np.abs(ref)))))
        reps = int(spec.get("repeats", 5))
        budget = spec.get("budget_s")
        if budget and t_warm > 0:
            reps = max(2, min(reps, int(budget // t_warm))) if reps >= 2 else reps
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            mm(A, B, C, n)
            times.append(time.perf_counter() - t0)
        flop = 2.0 * n ** 3
        st = _stats(times)
        results.append({"size": n, "repeats": reps, "time": st, "max_rel_err": err,
                        "gflops": {"median": flop / st["median"] / 1e9,
                                   "min": flop / st["max"] / 1e9, "max": flop / st["min"] / 1e9}})
        del A, B, C
    return {"status": "ok", "impl": impl, "threads": threads, "results": results,
            "blas": blas_info()}


def run(spec):
    kind = spec.get("kind")
    if kind == "model":
        return run_model(spec)
    if kind == "gemm":
        return run_gemm(spec)
    if kind == "nn":
        from ._nn import run_nn
        return run_nn(spec)
    raise ValueError(f"unknown spec kind {kind!r}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(argv[0] if argv else sys.stdin.read())
    out_fd = os.dup(1)  # keep the real stdout for the JSON only
    os.dup2(2, 1)
    try:
        res = run(spec)
    except NotImplementedError as e:
        res = {"status": "unavailable", "error": str(e)}
    except Exception as e:  # reported, not raised: the runner goes on
        res = {"status": "error", "error": f"{type(e).__name__}: {e}",
               "traceback": traceback.format_exc()[-4000:]}
    res["env"] = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                 "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    res["pid"] = os.getpid()
    sys.stdout.flush()
    os.write(out_fd, (json.dumps(res) + "\n").encode())
    os.close(out_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
