"""The benchmark runner behind ``python -m mfs.bench``: plans the measurements,
runs each in a fresh worker process (mfs.bench._worker), adds the ratios to
scikit-learn / numpy, and writes the table, JSON, markdown and plots."""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time

from ._worker import HELDOUT

NB_MODELS = ("gaussian_nb", "multinomial_nb", "bernoulli_nb")
MODEL_NAMES = ("linear_regression", "ridge", "kmeans", "pca", "logistic_regression", "knn") + NB_MODELS \
    + ("decision_tree", "random_forest", "svc")
NETS = ("mlp", "cnn")
ALL_MODELS = MODEL_NAMES + NETS + ("gemm",)
# Names --models accepts for several models at once.
GROUPS = {"naive_bayes": NB_MODELS, "nn": ("mlp", "cnn")}
ALL_BACKENDS = ("python", "c", "cuda", "sklearn")
ALIASES = {"linear": "linear_regression", "linreg": "linear_regression", "ols": "linear_regression",
           "lr": "linear_regression", "logistic": "logistic_regression", "logreg": "logistic_regression",
           "kneighbors": "knn", "kneighborsclassifier": "knn", "nb": "naive_bayes",
           "gaussiannb": "gaussian_nb", "gnb": "gaussian_nb", "multinomialnb": "multinomial_nb",
           "mnb": "multinomial_nb", "bernoullinb": "bernoulli_nb", "bnb": "bernoulli_nb",
           "numpy": "sklearn", "skl": "sklearn", "scikit-learn": "sklearn",
           "tree": "decision_tree", "dt": "decision_tree", "decisiontreeclassifier": "decision_tree",
           "forest": "random_forest", "rf": "random_forest", "randomforestclassifier": "random_forest",
           "svm": "svc", "mlpclassifier": "mlp", "cnnclassifier": "cnn", "networks": "nn"}
# The sizes each model is measured at unless --n-samples / --n-features say
# otherwise (the sizes its issue names): trees and forests on 100,000 x 50,
# the RBF SVC on 10,000 x 50. Models not listed use the command-line defaults.
MODEL_SIZES = {"decision_tree": {"n_features": 50}, "random_forest": {"n_features": 50},
               "svc": {"n_samples": 10_000, "n_features": 50}}
# Models too slow to sweep over sizes in one benchmark run (k-NN: brute force
# is n_samples x n_queries; the SVC is superlinear in n; a 100-tree forest
# takes a minute a fit at 1e5 in scikit-learn).
NO_SWEEP = ("knn", "svc", "random_forest", "decision_tree")
# The python backend's k-NN (numpy brute force over exact float64
# differences, ~1e-8 s per n_samples * n_queries * n_features element on one
# core) would take a quarter of an hour per predict at 1e5 x 1e4 x 100: it
# runs at these sizes instead, marked † in the table (no ratio to sklearn).
PYTHON_CAPS = {"knn": {"n_samples": 10_000, "n_queries": 1_000},
               # the numpy references of the trees, the forest and the SMO loop
               # are readable, not fast (a Python loop per node / iteration)
               "decision_tree": {"n_samples": 10_000},
               "random_forest": {"n_samples": 5_000, "n_estimators": 10},
               "svc": {"n_samples": 2_000}}
# Environment variables that pin OpenBLAS to another kernel / cache size and
# make numpy slower than it is on this CPU: the peers run without them.
OPENBLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
PEER = "sklearn"


def _csv(kind, allowed, groups=None):
    groups = groups or {}

    def parse(text):
        items = [ALIASES.get(t.strip().lower(), t.strip().lower()) for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in allowed and t not in groups]
        if bad:
            choices = list(allowed) + list(groups)
            raise argparse.ArgumentTypeError(f"unknown {kind} {bad}; choose from {','.join(choices)}")
        items = [m for t in items for m in groups.get(t, (t,))]
        return list(dict.fromkeys(items))
    return parse


def _ints(text):
    try:
        vals = [int(float(t)) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return vals


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m mfs.bench",
        description="libmfs benchmarks: python / c / cuda backends next to scikit-learn, "
                    "and mfs_sgemm next to numpy, each measurement in a fresh process.")
    p.add_argument("--quick", action="store_true",
                   help="fewer repeats, smaller size sweep, GEMM without 4096 (a few minutes)")
    p.add_argument("--models", type=_csv("model", ALL_MODELS, GROUPS), default=list(ALL_MODELS),
                   help=f"comma-separated, from {','.join(ALL_MODELS)}; naive_bayes = "
                        f"{','.join(NB_MODELS)} (default: all)")
    p.add_argument("--backends", type=_csv("backend", ALL_BACKENDS), default=list(ALL_BACKENDS),
                   help="comma-separated, from python,c,cuda,sklearn (default: all; cuda only "
                        "when a CUDA device is present)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed repeats after one discarded warm-up (default 5, 3 with --quick)")
    p.add_argument("--threads", type=int, default=2,
                   help="threads for libmfs, BLAS and OpenMP in every worker (default 2)")
    p.add_argument("--out", default="bench_results", help="output folder (default bench_results)")
    p.add_argument("--no-plots", action="store_true", help="skip the size sweep and its plots")
    p.add_argument("--n-samples", type=int, default=None,
                   help="rows of the model data (100000; svc 10000)")
    p.add_argument("--n-features", type=int, default=None,
                   help="columns of the model data (100; trees, forest and svc 50)")
    p.add_argument("--n-estimators", type=int, default=100, help="trees of the random forest (100)")
    p.add_argument("--n-clusters", type=int, default=8, help="KMeans clusters (8)")
    p.add_argument("--n-components", type=int, default=10, help="PCA components kept (10)")
    p.add_argument("--n-classes", type=int, default=10, help="classes of the k-NN and naive Bayes data (10)")
    p.add_argument("--n-neighbors", type=int, default=10, help="k of KNeighborsClassifier (10)")
    p.add_argument("--n-queries", type=int, default=10_000,
                   help="held-out query rows k-NN predicts (10000)")
    p.add_argument("--C", type=float, default=1.0, dest="C",
                   help="LogisticRegression C, the same for mfs and scikit-learn (1.0)")
    p.add_argument("--max-iter", type=int, default=100,
                   help="LogisticRegression max_iter, the same for mfs and scikit-learn (100)")
    p.add_argument("--nn-samples", type=int, default=None,
                   help="training rows of the network benchmarks (MLP 20000, CNN 10000)")
    p.add_argument("--epochs", type=int, default=1, help="epochs per timed network fit (1)")
    p.add_argument("--gemm-sizes", type=_ints, default=None,
                   help="square GEMM sizes (default 512,1024,2048,4096; no 4096 with --quick)")
    p.add_argument("--gemm-threads", type=_ints, default=None,
                   help="thread counts for the GEMM (default 1 and --threads)")
    p.add_argument("--sweep-sizes", type=_ints, default=None,
                   help="n_samples of the sweep (default 1e3,1e4,1e5,1e6; 1e3..1e5 with --quick)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds of timed repeats per measurement before the repeats are capped "
                        "(default 60, 8 with --quick)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data (0)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds before a worker is killed (default 3600, 600 with --quick)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


# ---------------------------------------------------------------- environment

def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_total():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def machine_info():
    import numpy
    import sklearn
    import threadpoolctl
    import mfs
    from ._worker import blas_info
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        affinity = os.cpu_count()
    return {"cpu": _cpu_model(), "logical_cpus": os.cpu_count(), "usable_cpus": affinity,
            "memory_bytes": _mem_total(), "platform": platform.platform(),
            "python": platform.python_version(), "numpy": numpy.__version__,
            "sklearn": sklearn.__version__, "threadpoolctl": threadpoolctl.__version__,
            "mfs": mfs.__version__, "mfs_library": os.environ.get("MFS_LIBRARY") or "(bundled)",
            "cuda_devices": mfs.cuda_device_count(), "blas_parent": blas_info(),
            "openblas_env_parent": {k: os.environ.get(k) for k in OPENBLAS_ENV}}


def worker_env():
    """The environment of every worker: the caller's, with the package on
    PYTHONPATH (MFS_LIBRARY is inherited as is) and without the OpenBLAS
    overrides, so numpy / scikit-learn run the kernel OpenBLAS picks for this CPU."""
    env = dict(os.environ)
    for k in OPENBLAS_ENV:
        env.pop(k, None)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parts = [root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def run_worker(spec, env, timeout):
    """Run one measurement in a fresh process; returns its result dict.

    The worker is started through /bin/sh, which forks it: ru_maxrss of a
    process includes the peak RSS of the address space it exec'd from, and a
    worker exec'd straight from this (larger) runner would inherit the runner's
    peak. The shell is small, so the worker's ru_maxrss starts near its own size."""
    argv = [sys.executable, "-m", "mfs.bench._worker", json.dumps(spec)]
    sh = shutil.which("sh") or "/bin/sh"
    if os.path.exists(sh):
        argv = [sh, "-c", '"$@"; exit $?', "mfs-bench-worker"] + argv
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, text=True)
    except subprocess.TimeoutExpired as e:
        return {"status": "error", "error": f"worker timed out after {timeout:.0f} s",
                "stderr": (e.stderr or "")[-2000:] if isinstance(e.stderr, str) else ""}
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    try:
        res = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        last = next((ln for ln in reversed(proc.stderr.splitlines()) if ln.strip()), "")
        return {"status": "error", "error": f"worker exited with {proc.returncode}: {last.strip()}",
                "stderr": proc.stderr[-2000:], "worker_wall_s": wall}
    res["worker_wall_s"] = wall
    if res.get("status") != "ok" and proc.stderr:
        res["stderr"] = proc.stderr[-2000:]
    return res


# ---------------------------------------------------------------- planning

def _config(args):
    quick = args.quick
    cfg = {
        "quick": quick,
        "models": [m for m in args.models if m in MODEL_NAMES],
        "gemm": "gemm" in args.models,
        "nets": [m for m in args.models if m in NETS],
        "nn_samples": args.nn_samples, "epochs": args.epochs,
        "backends": list(args.backends),
        "repeats": args.repeats if args.repeats is not None else (3 if quick else 5),
        "threads": args.threads,
        "n_samples": args.n_samples or 100_000, "n_features": args.n_features or 100,
        "sizes_given": [k for k in ("n_samples", "n_features") if getattr(args, k) is not None],
        "n_estimators": args.n_estimators,
        "n_clusters": args.n_clusters, "n_components": min(args.n_components, args.n_features or 100),
        "n_classes": args.n_classes, "n_neighbors": args.n_neighbors, "n_queries": args.n_queries,
        "C": args.C, "max_iter": args.max_iter, "python_caps": PYTHON_CAPS,
        "gemm_sizes": args.gemm_sizes or ([512, 1024, 2048] if quick else [512, 1024, 2048, 4096]),
        "gemm_threads": args.gemm_threads or sorted({1, args.threads}),
        "gemm_repeats": args.repeats if args.repeats is not None else (3 if quick else 5),
        "sweep": not args.no_plots,
        # Ridge runs LinearRegression's solver plus a diagonal: its sweep would
        # repeat LinearRegression's, so it is swept only when run alone. The
        # naive Bayes fits are one pass over the data each: only the first
        # one selected is swept. k-NN is not swept: brute force is
        # n_samples x n_queries, minutes per point at 1e6 rows.
        "sweep_models": [m for m in args.models if m in MODEL_NAMES and m not in NO_SWEEP
                         and not (m == "ridge" and "linear_regression" in args.models)
                         and not (m in NB_MODELS
                                  and m != next(x for x in args.models if x in NB_MODELS))],
        "sweep_sizes": args.sweep_sizes or ([1_000, 10_000, 100_000] if quick
                                            else [1_000, 10_000, 100_000, 1_000_000]),
        "sweep_repeats": 1 if quick else 3,
        "budget_s": args.budget if args.budget is not None else (8.0 if quick else 60.0),
        "seed": args.seed,
        "timeout_s": args.timeout if args.timeout is not None else (600.0 if quick else 3600.0),
        "out": args.out,
    }
    if args.repeats is not None and args.repeats < 1:
        raise SystemExit("--repeats must be >= 1")
    if args.threads < 1:
        raise SystemExit("--threads must be >= 1")
    for name in ("n_classes", "n_neighbors", "n_queries", "max_iter", "n_estimators"):
        if getattr(args, name) < (2 if name == "n_classes" else 1):
            raise SystemExit(f"--{name.replace('_', '-')} is too small")
    if not args.C > 0:
        raise SystemExit("--C must be > 0")
    return cfg


def _model_spec(cfg, model, backend, n, repeats):
    sizes = {k: v for k, v in MODEL_SIZES.get(model, {}).items() if k not in cfg.get("sizes_given", ())}
    if n == cfg["n_samples"] and "n_samples" in sizes:
        n = sizes["n_samples"]
    spec = {"kind": "model", "model": model, "backend": backend, "n_samples": int(n),
            "n_features": sizes.get("n_features", cfg["n_features"]),
            "n_estimators": cfg.get("n_estimators", 100), "n_clusters": cfg["n_clusters"],
            "n_components": cfg["n_components"], "n_classes": cfg["n_classes"],
            "n_neighbors": cfg["n_neighbors"], "n_queries": cfg["n_queries"],
            "C": cfg["C"], "max_iter": cfg["max_iter"], "repeats": repeats,
            "budget_s": cfg["budget_s"], "threads": cfg["threads"], "seed": cfg["seed"]}
    caps = PYTHON_CAPS.get(model, {}) if backend == "python" else {}
    for k, cap in caps.items():
        if spec[k] > cap:
            spec[k], spec["reduced"] = cap, True
    if spec.get("reduced"):
        spec["n_neighbors"] = min(spec["n_neighbors"], spec["n_samples"])
    return spec


def add_ratios(results, peer=PEER):
    """ratio_vs_sklearn = {fit, predict[, predict_proba]}: median time of the row /
    median time of scikit-learn on the same model, n_samples and n_queries
    (None where either is missing; predict_proba only for rows that time it)."""
    key = lambda r: (r["model"], r["n_samples"], r.get("n_queries"))  # noqa: E731
    ref = {key(r): r for r in results if r["backend"] == peer and r.get("status") == "ok"}
    for r in results:
        p = ref.get(key(r))
        ratios = {"fit": None, "predict": None}
        if "predict_proba" in r:
            ratios["predict_proba"] = None
        if p is not None and r.get("status") == "ok":
            for k in ratios:
                if k in p and p[k]["median"] > 0:
                    ratios[k] = r[k]["median"] / p[k]["median"]
        r["ratio_vs_sklearn"] = ratios
    return results


def add_gemm_ratios(gemm):
    """ratio_vs_numpy: median time of mfs_sgemm / median time of numpy, same size
    and threads (= numpy GFLOP/s / mfs GFLOP/s)."""
    ref = {(g["threads"], g["size"]): g for g in gemm if g["impl"] == "numpy" and g["status"] == "ok"}
    for g in gemm:
        p = ref.get((g["threads"], g["size"]))
        g["ratio_vs_numpy"] = (g["time"]["median"] / p["time"]["median"]
                               if p is not None and g["status"] == "ok" else None)
    return gemm


def add_net_ratios(nets):
    """vs_torch = {train, predict, peak}: our samples/s / PyTorch CPU's (above 1
    is faster) and our own peak memory count / PyTorch's (below 1 is less);
    cuda rows are divided by PyTorch CUDA's."""
    ref = {(r["net"], r["impl"]): r for r in nets if r.get("status") == "ok"}
    for r in nets:
        peer = ref.get((r["net"], "torch-cuda" if r["impl"] == "cuda" else "torch"))
        r["vs_torch"] = {"train": None, "predict": None, "peak": None}
        if peer is not None and r.get("status") == "ok":
            for k in ("train", "predict"):
                r["vs_torch"][k] = r[f"{k}_rate"]["median"] / peer[f"{k}_rate"]["median"]
            # peak memory: ours / PyTorch's (below 1 is less), each framework's own count
            mine, theirs = r["memory"].get("own_peak"), peer["memory"].get("own_peak")
            if mine is not None and theirs:
                r["vs_torch"]["peak"] = mine / theirs
    return nets


class _Progress:
    def __init__(self, total, quiet):
        self.total, self.done, self.quiet, self.t0 = total, 0, quiet, time.perf_counter()

    def step(self, label, res):
        self.done += 1
        if self.quiet:
            return
        status = res.get("status", "?")
        extra = ""
        if status == "ok" and "fit" in res:
            extra = f"fit {res['fit']['median']:.4g} s"
        elif status != "ok":
            extra = res.get("error", "")[:120]
        print(f"[{self.done}/{self.total} {time.perf_counter() - self.t0:6.1f}s] {label}: "
              f"{status} {extra}", file=sys.stderr, flush=True)


def run(argv=None):
    """Parse argv, run every measurement, write the outputs; returns the result dict."""
    args = build_parser().parse_args(argv)
    cfg = _config(args)
    t_start = time.perf_counter()
    info = machine_info()
    env = worker_env()
    notes = []
    backends = list(cfg["backends"])
    skipped = []
    if "cuda" in backends and info["cuda_devices"] < 1:
        backends.remove("cuda")
        skipped.append({"backend": "cuda", "reason": "no CUDA device (mfs.cuda_device_count() == 0)"})
        notes.append("cuda backend skipped: no CUDA device.")
    removed = [k for k in OPENBLAS_ENV if os.environ.get(k) is not None]
    notes.append("Workers run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset"
                 + (f" (set here: {', '.join(f'{k}={os.environ[k]}' for k in removed)})" if removed
                    else " (neither was set here)") + " so numpy/scikit-learn use OpenBLAS's own kernel choice.")

    jobs = []
    for model in cfg["models"]:
        for b in backends:
            jobs.append(("model", _model_spec(cfg, model, b, cfg["n_samples"], cfg["repeats"])))
    if cfg["gemm"]:
        for impl in ("mfs", "numpy"):
            for t in cfg["gemm_threads"]:
                jobs.append(("gemm", {"kind": "gemm", "impl": impl, "sizes": cfg["gemm_sizes"],
                                      "threads": t, "repeats": cfg["gemm_repeats"],
                                      "budget_s": cfg["budget_s"], "seed": cfg["seed"]}))
    for net in cfg["nets"]:
        impls = [b for b in backends if b in ("c", "cuda", "sklearn")]
        if "c" in backends or "sklearn" in backends:  # PyTorch CPU: the CPU backends' peer
            impls.append("torch")
        if "cuda" in backends:
            impls.append("torch-cuda")
        for impl in impls:
            if impl == "sklearn" and net != "mlp":
                continue
            jobs.append(("nn", {"kind": "nn", "net": net, "impl": impl,
                                "n_samples": cfg["nn_samples"] or (20_000 if net == "mlp" else 10_000),
                                "epochs": cfg["epochs"], "repeats": cfg["repeats"],
                                "threads": cfg["threads"], "seed": cfg["seed"],
                                "budget_s": cfg["budget_s"]}))
    if cfg["sweep"]:
        for model in cfg["sweep_models"]:
            for b in backends:
                for n in cfg["sweep_sizes"]:
                    if n != cfg["n_samples"]:  # that point is the main measurement
                        jobs.append(("sweep", _model_spec(cfg, model, b, n, cfg["sweep_repeats"])))

    prog = _Progress(len(jobs), args.quiet)
    results, gemm, sweep, nets = [], [], [], []
    for kind, spec in jobs:
        res = run_worker(spec, env, cfg["timeout_s"])
        if kind == "nn":
            label = f"{spec['net']} {spec['impl']} n={spec['n_samples']}"
            nets.append({"net": spec["net"], "impl": spec["impl"], "n_samples": spec["n_samples"],
                         "epochs": spec["epochs"]} | res)
        elif kind == "gemm":
            label = f"gemm {spec['impl']} threads={spec['threads']}"
            base = {"impl": spec["impl"], "threads": spec["threads"]}
            if res.get("status") == "ok":
                for r in res["results"]:
                    gemm.append(base | {"status": "ok", "size": r["size"], "repeats": r["repeats"],
                                        "time": r["time"], "gflops": r["gflops"],
                                        "max_rel_err": r["max_rel_err"]})
                if spec["impl"] == "numpy":
                    info["blas_gemm_worker"] = res.get("blas")
            else:
                for n in spec["sizes"]:
                    gemm.append(base | {"status": res.get("status"), "size": n,
                                        "error": res.get("error")})
        else:
            label = f"{spec['model']} {spec['backend']} n={spec['n_samples']}"
            row = {"model": spec["model"], "backend": spec["backend"],
                   "n_samples": spec["n_samples"], "n_features": spec["n_features"]}
            if spec["model"] in HELDOUT:
                row["n_queries"] = spec["n_queries"]
            if spec["model"] == "random_forest":
                row["n_estimators"] = spec["n_estimators"]
            if spec.get("reduced"):
                row["reduced"] = True
            row |= res
            (results if kind == "model" else sweep).append(row)
        prog.step(label, res)

    add_ratios(results)
    add_gemm_ratios(gemm)
    add_net_ratios(nets)
    if any(r.get("capped") for r in results):
        notes.append(f"Rows marked * ran fewer timed repeats than asked: one fit + predict took "
                     f"longer than the {cfg['budget_s']:g} s budget (--budget).")
    reduced = sorted({r["model"] for r in results if r.get("reduced")})
    if reduced:
        caps = "; ".join(f"{m}: " + ", ".join(f"{k} <= {v:,}" for k, v in PYTHON_CAPS[m].items())
                         for m in reduced)
        notes.append(f"Rows marked † ran the python backend at a smaller size ({caps}): its numpy "
                     "brute-force reference is too slow for the main size; they have no ratio to "
                     "scikit-learn.")
    knn = next((r for r in results if r["model"] == "knn" and r["backend"] in ("c", "cuda")
                and r.get("status") == "ok"), None)
    if knn is not None:
        copy = knn["n_samples"] * knn["n_features"] * 4
        notes.append(f"k-NN memory: the mfs model owns a float32 copy of its training data "
                     f"({copy / 2**20:.1f} MiB at {knn['n_samples']:,} x {knn['n_features']}), so it "
                     "stays valid when the caller's array changes or is freed and it saves to a model "
                     "file; scikit-learn's fit keeps a reference to the caller's array instead, so its "
                     "RSS Δ does not include the training data.")
    hwm = [f"{r['model']}/{r['backend']}" for r in results
           if r.get("memory", {}).get("rss_method", "ru_maxrss") != "ru_maxrss"]
    if hwm:
        notes.append("ru_maxrss was already above the RSS baseline before the fit for "
                     + ", ".join(hwm) + "; their RSS Δ comes from VmHWM, reset right before the fit.")
    sweep_points = [r for r in results if r["model"] in cfg["sweep_models"]] + sweep
    sweep_points = [{"model": r["model"], "backend": r["backend"], "n_samples": r["n_samples"],
                     "status": r.get("status"),
                     "fit_median": r["fit"]["median"] if r.get("status") == "ok" else None,
                     "rss_growth": r["memory"]["rss_growth"] if r.get("status") == "ok" else None,
                     "lib_host_peak": (r["memory"]["lib_host_peak"]
                                       if r.get("status") == "ok" and r["memory"]["lib_counts"] else None),
                     "lib_device_peak": (r["memory"]["lib_device_peak"]
                                         if r.get("status") == "ok" and r["backend"] == "cuda" else None),
                     "repeats": r.get("repeats")}
                    for r in sweep_points] if cfg["sweep"] else []
    sweep_points.sort(key=lambda r: (r["model"], r["backend"], r["n_samples"]))

    doc = {"schema": 1, "created": _dt.datetime.now().isoformat(timespec="seconds"),
           "command": "python -m mfs.bench " + " ".join(sys.argv[1:] if argv is None else argv),
           "machine": info, "config": cfg, "skipped": skipped, "notes": notes,
           "results": results, "gemm": gemm, "nets": nets, "sweep": sweep_points, "plots": []}
    from . import _report
    os.makedirs(cfg["out"], exist_ok=True)
    if cfg["sweep"] and sweep_points:
        doc["plots"] = _report.plot_sweep(doc, cfg["out"])
    doc["elapsed_s"] = time.perf_counter() - t_start
    with open(os.path.join(cfg["out"], "bench.json"), "w") as f:
        json.dump(doc, f, indent=1, default=str)
    with open(os.path.join(cfg["out"], "summary.md"), "w") as f:
        f.write(_report.markdown(doc))
    _report.print_tables(doc)
    return doc


def main(argv=None):
    doc = run(argv)
    ok = [r for r in doc["results"] + doc["nets"] if r.get("status") == "ok"] + \
         [g for g in doc["gemm"] if g.get("status") == "ok"]
    return 0 if ok or not (doc["results"] or doc["gemm"] or doc["nets"]) else 1
