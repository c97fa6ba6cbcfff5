"""Tables (rich, or plain text), the markdown summary and the sweep plots."""
from __future__ import annotations

import math
import os
import sys

NAMES = {"linear_regression": "LinearRegression", "ridge": "Ridge", "kmeans": "KMeans",
         "pca": "PCA (full)", "logistic_regression": "LogisticRegression",
         "knn": "KNeighborsClassifier", "gaussian_nb": "GaussianNB",
         "multinomial_nb": "MultinomialNB", "bernoulli_nb": "BernoulliNB",
         "decision_tree": "DecisionTreeClassifier", "random_forest": "RandomForestClassifier",
         "svc": "SVC (rbf)"}
METRIC = {"r2": "R²", "inertia": "inertia", "explained_variance_ratio_sum": "EVR sum",
          "accuracy": "accuracy"}
BACKEND_ORDER = {"python": 0, "c": 1, "cuda": 2, "sklearn": 3}


def fmt_time(s):
    if s is None or not math.isfinite(s):
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1.0:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def fmt_spread(st):
    """'9.01 ms (8.90–9.30)': median, then min–max in the median's unit."""
    med = st["median"]
    if med is None or not math.isfinite(med):
        return "-"
    unit, f = ("µs", 1e6) if med < 1e-3 else ("ms", 1e3) if med < 1.0 else ("s", 1.0)
    g = lambda v: f"{v * f:.3g}" if v * f < 1000 else f"{v * f:.0f}"  # noqa: E731
    return f"{g(med)} {unit} ({g(st['min'])}–{g(st['max'])})"


def fmt_bytes(b):
    if b is None:
        return "-"
    return f"{b / 2**20:.1f} MiB"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}×"


def fmt_metric(m):
    if not m:
        return "-"
    v = m["value"]
    txt = f"{v:.6g}" if m["name"] != "inertia" else f"{v:.5g}"
    return f"{METRIC.get(m['name'], m['name'])} {txt}"


MODEL_HEAD = ["Model", "Backend", "n × d", "Reps", "Fit median (min–max)", "Fit ÷ skl",
              "Predict/transform median (min–max)", "Pred ÷ skl", "RSS Δ fit", "libmfs peak", "Quality"]
PROBA_HEAD = ["Model", "Backend", "n × d", "Reps", "predict_proba median (min–max)", "Proba ÷ skl"]
GEMM_HEAD = ["Size", "Threads", "mfs_sgemm GFLOP/s (min–max)", "numpy GFLOP/s (min–max)",
             "time mfs ÷ numpy"]


def _sorted_results(doc):
    return sorted(doc["results"], key=lambda r: (list(NAMES).index(r["model"]) if r["model"] in NAMES else 99,
                                                 BACKEND_ORDER.get(r["backend"], 9)))


def _size(r):
    """'100,000 × 100', with the k-NN queries ('+ 10,000 q') and † for a reduced python run."""
    txt = f"{r['n_samples']:,} × {r['n_features']}"
    if r.get("n_queries") is not None:
        txt += f" + {r['n_queries']:,} q"
    if r.get("n_estimators") is not None:
        txt += f", {r['n_estimators']} trees"
    return txt + (" †" if r.get("reduced") else "")


def model_rows(doc):
    rows = []
    for r in _sorted_results(doc):
        head = [NAMES.get(r["model"], r["model"]), r["backend"], _size(r)]
        if r.get("status") != "ok":
            msg = f"{r.get('status')}: {r.get('error', '')}"
            rows.append(head + ["-", msg[:70], "", "", "", "", "", ""])
            continue
        mem = r["memory"]
        reps = f"{r['repeats']}" + ("*" if r.get("capped") else "")
        rows.append(head + [reps, fmt_spread(r["fit"]), fmt_ratio(r["ratio_vs_sklearn"]["fit"]),
                            fmt_spread(r["predict"]), fmt_ratio(r["ratio_vs_sklearn"]["predict"]),
                            fmt_bytes(mem["rss_growth"]),
                            fmt_bytes(mem["lib_host_peak"]) if mem["lib_counts"] else "-",
                            fmt_metric(r.get("metric"))
                            + (f" ({r['extra']['n_iter']} it)" if r.get("extra", {}).get("n_iter") else "")
                            + (f" ({r['extra']['n_support']} SV)" if r.get("extra", {}).get("n_support") else "")])
    return rows


def proba_rows(doc):
    """predict_proba times of the classifiers that time it (see the worker's PROBA_MODELS)."""
    rows = []
    for r in _sorted_results(doc):
        if r.get("status") != "ok" or "predict_proba" not in r:
            continue
        reps = f"{r['repeats']}" + ("*" if r.get("capped") else "")
        rows.append([NAMES.get(r["model"], r["model"]), r["backend"], _size(r), reps,
                     fmt_spread(r["predict_proba"]),
                     fmt_ratio(r.get("ratio_vs_sklearn", {}).get("predict_proba"))])
    return rows


NET_HEAD = ["Network", "Impl", "n × epochs", "Reps", "Train samples/s (min–max)", "÷ torch",
            "Predict samples/s (min–max)", "÷ torch", "RSS Δ fit", "Own peak", "Peak ÷ torch",
            "Loss / train acc"]
NET_NAMES = {"mlp": "MLP 784-256-256-10 (b128)", "cnn": "CNN 2 conv + fc (b64)"}
IMPL_ORDER = {"c": 0, "cuda": 1, "sklearn": 2, "torch": 3, "torch-cuda": 4}


def _rate(st):
    f = lambda v: f"{v:,.0f}"  # noqa: E731
    return f"{f(st['median'])} ({f(st['min'])}–{f(st['max'])})"


def net_rows(doc):
    rows = []
    for r in sorted(doc.get("nets", []), key=lambda r: (r["net"], IMPL_ORDER.get(r["impl"], 9))):
        head = [NET_NAMES.get(r["net"], r["net"]), r["impl"], f"{r['n_samples']:,} × {r['epochs']}"]
        if r.get("status") != "ok":
            rows.append(head + ["-", f"{r.get('status')}: {r.get('error', '')}"[:70], "", "", "", "", "", "", ""])
            continue
        own = r["memory"].get("own_peak", r["memory"].get("lib_host_peak"))
        rows.append(head + [str(r["repeats"]), _rate(r["train_rate"]), fmt_ratio(r["vs_torch"]["train"]),
                            _rate(r["predict_rate"]), fmt_ratio(r["vs_torch"]["predict"]),
                            fmt_bytes(r["memory"]["rss_growth"]), fmt_bytes(own),
                            fmt_ratio(r["vs_torch"].get("peak")),
                            f"{r['loss']:.4g} / {r['train_accuracy']:.3f}"])
    return rows


def gemm_rows(doc):
    by = {}
    for g in doc["gemm"]:
        by.setdefault((g["size"], g["threads"]), {})[g["impl"]] = g
    rows = []
    for (n, t), d in sorted(by.items()):
        cells = [str(n), str(t)]
        for impl in ("mfs", "numpy"):
            g = d.get(impl)
            if g is None:
                cells.append("-")
            elif g["status"] != "ok":
                cells.append(f"{g['status']}: {g.get('error', '')}"[:50])
            else:
                gf = g["gflops"]
                cells.append(f"{gf['median']:.1f} ({gf['min']:.1f}–{gf['max']:.1f})")
        m = d.get("mfs")
        cells.append(fmt_ratio(m.get("ratio_vs_numpy") if m else None))
        rows.append(cells)
    return rows


def blas_kernel(doc):
    """'OpenBLAS 0.3.x, kernel SkylakeX' as threadpoolctl saw it in the numpy GEMM
    worker (else in any worker, else in the runner)."""
    src = doc["machine"].get("blas_gemm_worker")
    if not src:
        src = next((r.get("blas") for r in doc["results"] if r.get("blas")), None)
    src = src or doc["machine"].get("blas_parent") or []
    seen = []
    for b in src:
        if b.get("internal_api") == "openblas":
            s = f"OpenBLAS {b.get('version')} kernel {b.get('architecture')} ({b.get('file')})"
            if s not in seen:
                seen.append(s)
    return "; ".join(seen) or "no OpenBLAS seen by threadpoolctl"


def machine_lines(doc):
    m, c = doc["machine"], doc["config"]
    mem = f", {m['memory_bytes'] / 2**30:.0f} GiB RAM" if m.get("memory_bytes") else ""
    return [f"CPU: {m['cpu']} — {m['usable_cpus']} usable of {m['logical_cpus']} logical cores{mem}",
            f"Python {m['python']}, numpy {m['numpy']}, scikit-learn {m['sklearn']}, "
            f"threadpoolctl {m['threadpoolctl']}, mfs {m['mfs']}, CUDA devices: {m['cuda_devices']}",
            f"Threads: {c['threads']} (mfs.set_num_threads + threadpoolctl limits); "
            f"repeats: {c['repeats']} timed after a discarded warm-up, each measurement in a fresh process",
            f"BLAS in the workers: {blas_kernel(doc)}"]


def _plain_table(title, head, rows, out):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)] if rows else [len(h) for h in head]
    print(title, file=out)
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths))
    print(line, file=out)
    print("-" * len(line), file=out)
    for r in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths)), file=out)
    print(file=out)


def print_tables(doc, file=None):
    out = file or sys.stdout
    mrows, prows, grows, nrows = model_rows(doc), proba_rows(doc), gemm_rows(doc), net_rows(doc)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        Console = None
    if Console is None:
        for line in machine_lines(doc):
            print(line, file=out)
        print(file=out)
        if mrows:
            _plain_table("Models (times: median (min–max); ÷ skl = time / scikit-learn's)", MODEL_HEAD, mrows, out)
        if prows:
            _plain_table("Classifiers: predict_proba(X)", PROBA_HEAD, prows, out)
        if nrows:
            _plain_table("Networks (samples/s, higher is better; ÷ torch = ours / PyTorch's)", NET_HEAD, nrows, out)
        if grows:
            _plain_table("GEMM, float32, square", GEMM_HEAD, grows, out)
    else:
        # Piped output (no terminal) would be cut at 80 columns: give it room.
        con = Console(file=out) if out.isatty() else Console(file=out, width=200)
        for line in machine_lines(doc):
            con.print(line, highlight=False, markup=False)
        if mrows:
            t = Table(title="Models — times: median (min–max); ÷ skl = our time / scikit-learn's")
            for h in MODEL_HEAD:
                t.add_column(h, justify="left" if h in ("Model", "Backend", "Quality") else "right",
                             no_wrap=h in ("Model", "n × d"))
            for r in mrows:
                t.add_row(*r, style="bold" if r[1] == "sklearn" else None)
            con.print(t)
        if prows:
            t = Table(title="Classifiers — predict_proba(X): median (min–max); ÷ skl = our time / scikit-learn's")
            for h in PROBA_HEAD:
                t.add_column(h, justify="left" if h in ("Model", "Backend") else "right")
            for r in prows:
                t.add_row(*r, style="bold" if r[1] == "sklearn" else None)
            con.print(t)
        if nrows:
            t = Table(title="Networks — samples/s, higher is better; ÷ torch = ours / PyTorch's (CPU; cuda rows / PyTorch CUDA)")
            for h in NET_HEAD:
                t.add_column(h, justify="left" if h in ("Network", "Impl") else "right")
            for r in nrows:
                t.add_row(*r, style="bold" if r[1].startswith("torch") else None)
            con.print(t)
        if grows:
            t = Table(title="GEMM, float32, C = A @ B, square")
            for h in GEMM_HEAD:
                t.add_column(h, justify="right")
            for r in grows:
                t.add_row(*r)
            con.print(t)
    for n in doc["notes"]:
        print(f"note: {n}", file=out)
    for p in doc.get("plots", []):
        print(f"plot: {p}", file=out)
    print(f"results: {os.path.join(doc['config']['out'], 'bench.json')}, "
          f"{os.path.join(doc['config']['out'], 'summary.md')}", file=out)


def _md_table(head, rows):
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(esc(x) for x in r) + " |" for r in rows]
    return "\n".join(lines)


def markdown(doc):
    c = doc["config"]
    out = ["# libmfs benchmark summary", "",
           f"Generated {doc['created']} by `{doc['command']}`"
           + (" (quick mode)" if c["quick"] else "") + ".", ""]
    out += [f"- {line}" for line in machine_lines(doc)] + [""]
    if doc["results"]:
        out += ["## Models", "",
                f"Data: float32, seeded (seed {c['seed']}); n_features {c['n_features']}, "
                f"KMeans k={c['n_clusters']} with one shared `init` array and n_init=1, "
                f"PCA n_components={c['n_components']} with svd_solver='full', Ridge alpha=1, "
                f"LogisticRegression (binary) C={c.get('C', 1.0):g}, max_iter={c.get('max_iter', 100)} "
                f"(scikit-learn solver='lbfgs'), KNeighborsClassifier algorithm='brute' "
                f"k={c.get('n_neighbors', 10)} predicting {c.get('n_queries', 10000):,} held-out queries "
                f"('+ q' in n × d), "
                f"naive Bayes with {c.get('n_classes', 10)} classes (Gaussian blobs for GaussianNB, "
                "Poisson counts for MultinomialNB / BernoulliNB, alpha=1), "
                f"DecisionTreeClassifier (fully grown, max_features=None) and RandomForestClassifier "
                f"({c.get('n_estimators', 100)} trees, max_features='sqrt', scikit-learn n_jobs = threads) "
                "on 50 features of a two-class non-linear problem (5% label noise), SVC kernel='rbf' "
                "gamma='scale' C=1 on 10,000 rows of it; these four predict held-out queries. "
                "Times are median (min–max) over the timed repeats; ÷ skl is our median / "
                "scikit-learn's median (below 1 is faster). RSS Δ fit: peak RSS during the "
                "first full fit minus RSS right before it. libmfs peak: the library's own "
                "host_peak counter (c/cuda backends). Quality: R² on the training data, "
                "KMeans inertia, PCA explained-variance-ratio sum, accuracy of the classifiers "
                "(k-NN, trees, forest and SVC on the held-out queries, the others on the training data).", "",
                _md_table(MODEL_HEAD, model_rows(doc)), ""]
        if proba_rows(doc):
            out += ["### predict_proba", "",
                    "The classifiers' predict_proba(X) on the training X, timed in the same "
                    "repeats right after predict.", "",
                    _md_table(PROBA_HEAD, proba_rows(doc)), ""]
    if doc.get("nets"):
        out += ["## Networks", "",
                "Training and inference throughput on synthetic 28×28 images of 10 classes, the "
                "same architecture, Adam (lr 1e-3, no weight decay), batch size and data for every "
                "implementation; a fit is `epochs` passes with shuffling; predict runs on the "
                "training rows. Samples/s are from the median (min–max from the slowest and fastest) "
                "fit; ÷ torch is our samples/s over PyTorch's (above 1 is faster). RSS Δ fit: peak "
                "RSS during the first timed fit (after an untimed warm-up fit) minus RSS before it; "
                "Own peak: each framework's own count of the bytes a fit held at once (parameters, "
                "gradients, optimizer state, activations, workspace): libmfs's memory counters "
                "(host; device for cuda), PyTorch's allocator (the running sum of torch.profiler's "
                "allocation events over one more fit on the CPU, torch.cuda.max_memory_allocated on a "
                "GPU); neither counts BLAS/oneDNN internal buffers, libmfs's count includes its GEMM "
                "packing. Peak ÷ torch: ours over PyTorch's (below 1 is less). RSS Δ is noisier: "
                "glibc hands the blocks of the warm-up fit out again or returns them to the system "
                "depending on its trim thresholds.", "",
                _md_table(NET_HEAD, net_rows(doc)), ""]
    if doc["gemm"]:
        out += ["## GEMM", "",
                "C = A @ B, float32, square, alpha=1, beta=0; GFLOP/s = 2n³ / median time "
                "(min–max from the slowest and fastest repeat).", "",
                _md_table(GEMM_HEAD, gemm_rows(doc)), ""]
    if doc.get("plots"):
        out += ["## Size sweep", ""] + [f"![{os.path.basename(p)}]({os.path.basename(p)})"
                                        for p in doc["plots"]] + [""]
    if doc["notes"]:
        out += ["## Notes", ""] + [f"- {n}" for n in doc["notes"]] + [""]
    return "\n".join(out)


def plot_sweep(doc, outdir):
    """sweep_<model>.png per model: fit time and peak memory vs n_samples,
    log-log, one line per backend / peer. Returns the paths written."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        doc["notes"].append("matplotlib missing: no plots.")
        return []
    paths = []
    models = sorted({p["model"] for p in doc["sweep"]}, key=lambda m: list(NAMES).index(m) if m in NAMES else 99)
    for model in models:
        pts = [p for p in doc["sweep"] if p["model"] == model and p["status"] == "ok"]
        if not pts:
            continue
        fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
        for b in sorted({p["backend"] for p in pts}, key=lambda b: BACKEND_ORDER.get(b, 9)):
            bp = sorted((p for p in pts if p["backend"] == b), key=lambda p: p["n_samples"])
            n = [p["n_samples"] for p in bp]
            line, = ax_t.plot(n, [p["fit_median"] for p in bp], "o-", label=b)
            rss = [(p["n_samples"], p["rss_growth"] / 2**20) for p in bp if p["rss_growth"] and p["rss_growth"] > 0]
            if rss:
                ax_m.plot(*zip(*rss), "o-", color=line.get_color(), label=f"{b} (RSS Δ)")
            lib = [(p["n_samples"], p["lib_host_peak"] / 2**20) for p in bp if p["lib_host_peak"]]
            if lib:
                ax_m.plot(*zip(*lib), "s--", color=line.get_color(), alpha=0.7, label=f"{b} (libmfs host peak)")
            dev = [(p["n_samples"], p["lib_device_peak"] / 2**20) for p in bp if p.get("lib_device_peak")]
            if dev:
                ax_m.plot(*zip(*dev), "^:", color=line.get_color(), alpha=0.7, label=f"{b} (libmfs device peak)")
        for ax, yl in ((ax_t, "fit time, median [s]"), (ax_m, "peak memory during fit [MiB]")):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("n_samples")
            ax.set_ylabel(yl)
            ax.grid(True, which="both", alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        fig.suptitle(f"{NAMES.get(model, model)}: n_features={doc['config']['n_features']}, "
                     f"{doc['config']['threads']} threads")
        fig.tight_layout()
        path = os.path.join(outdir, f"sweep_{model}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
