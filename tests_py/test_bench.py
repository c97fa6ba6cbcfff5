"""The benchmark package runs end to end on a tiny configuration and writes
well-formed results. No timing assertions: benchmarks are not tests."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from mfs.bench import _data, _report, _run

TINY = ["--models", "linear_regression,gemm", "--backends", "c,sklearn,cuda",
        "--n-samples", "500", "--n-features", "8", "--repeats", "1", "--threads", "1",
        "--gemm-sizes", "32", "--no-plots", "--quiet"]


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    env = dict(os.environ)
    env["OPENBLAS_CORETYPE"] = "Haswell"  # the workers must not see it
    proc = subprocess.run([sys.executable, "-m", "mfs.bench", *TINY, "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out / "bench.json") as f:
        doc = json.load(f)
    return out, doc, proc.stdout


CLF_TINY = ["--models", "logistic_regression,knn,naive_bayes", "--backends", "c,sklearn",
            "--n-samples", "300", "--n-features", "8", "--n-classes", "3", "--n-queries", "50",
            "--repeats", "1", "--threads", "1", "--no-plots", "--quiet"]
NEW_MODELS = {"logistic_regression", "knn", "gaussian_nb", "multinomial_nb", "bernoulli_nb"}
PROBA = NEW_MODELS - {"knn"}


@pytest.fixture(scope="module")
def clf_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench_clf")
    proc = subprocess.run([sys.executable, "-m", "mfs.bench", *CLF_TINY, "--out", str(out)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out / "bench.json") as f:
        doc = json.load(f)
    return out, doc, proc.stdout


def _finite_pos(x):
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_outputs_written(bench_run):
    out, doc, stdout = bench_run
    assert (out / "summary.md").is_file()
    assert not list(out.glob("*.png"))  # --no-plots
    md = (out / "summary.md").read_text()
    assert "LinearRegression" in md and "GEMM" in md and doc["machine"]["cpu"] in md
    assert "LinearRegression" in stdout
    for key in ("schema", "machine", "config", "results", "gemm", "sweep", "notes"):
        assert key in doc
    for key in ("cpu", "logical_cpus", "numpy", "sklearn", "blas_parent"):
        assert key in doc["machine"]
    assert doc["sweep"] == []


def test_model_results(bench_run):
    _, doc, _ = bench_run
    rows = {r["backend"]: r for r in doc["results"]}
    assert set(rows) == {"c", "sklearn"}  # cuda skipped without a device, or run with one
    for b, r in rows.items():
        assert r["model"] == "linear_regression" and r["n_samples"] == 500 and r["n_features"] == 8
        assert r["status"] == "ok", r
        assert r["repeats"] == 1
        for phase in ("fit", "predict"):
            st = r[phase]
            assert len(st["times"]) == 1
            assert all(_finite_pos(st[k]) for k in ("median", "min", "max"))
            assert st["min"] <= st["median"] <= st["max"]
        mem = r["memory"]
        assert mem["rss_growth"] >= 0 and mem["rss_before"] > 0
        assert mem["lib_counts"] == (b == "c")
        assert r["metric"]["name"] == "r2" and 0.5 < r["metric"]["value"] <= 1.0
        assert r["env"]["OPENBLAS_CORETYPE"] is None
    skl, c = rows["sklearn"], rows["c"]
    assert skl["ratio_vs_sklearn"]["fit"] == pytest.approx(1.0)
    for phase in ("fit", "predict"):
        assert c["ratio_vs_sklearn"][phase] == pytest.approx(c[phase]["median"] / skl[phase]["median"])


def test_gemm_results(bench_run):
    _, doc, _ = bench_run
    g = {(x["impl"], x["threads"], x["size"]): x for x in doc["gemm"]}
    assert set(g) == {("mfs", 1, 32), ("numpy", 1, 32)}
    for x in g.values():
        assert x["status"] == "ok", x
        assert _finite_pos(x["time"]["median"]) and _finite_pos(x["gflops"]["median"])
        assert x["gflops"]["median"] == pytest.approx(2 * 32**3 / x["time"]["median"] / 1e9)
        assert x["max_rel_err"] < 1e-4
    m, n = g[("mfs", 1, 32)], g[("numpy", 1, 32)]
    assert m["ratio_vs_numpy"] == pytest.approx(m["time"]["median"] / n["time"]["median"])
    assert n["ratio_vs_numpy"] == pytest.approx(1.0)
    assert any("OPENBLAS_CORETYPE=Haswell" in note for note in doc["notes"])


def _fake(model, backend, n, fit, pred, status="ok"):
    return {"model": model, "backend": backend, "n_samples": n, "n_features": 4, "status": status,
            "fit": {"median": fit, "min": fit, "max": fit, "times": [fit]},
            "predict": {"median": pred, "min": pred, "max": pred, "times": [pred]}}


def test_ratio_helpers():
    res = [_fake("kmeans", "c", 10, 2.0, 0.5), _fake("kmeans", "sklearn", 10, 4.0, 0.25),
           _fake("pca", "c", 10, 1.0, 1.0)]
    _run.add_ratios(res)
    assert res[0]["ratio_vs_sklearn"] == {"fit": 0.5, "predict": 2.0}
    assert res[1]["ratio_vs_sklearn"] == {"fit": 1.0, "predict": 1.0}
    assert res[2]["ratio_vs_sklearn"] == {"fit": None, "predict": None}  # no peer


def test_sweep_plot(tmp_path):
    pts = [{"model": "kmeans", "backend": b, "n_samples": n, "status": "ok", "fit_median": n * k,
            "rss_growth": n * 1000 * k, "lib_host_peak": n * 500 if b == "c" else None,
            "lib_device_peak": None, "repeats": 1}
           for b, k in (("c", 1e-5), ("sklearn", 2e-5)) for n in (100, 1000, 10000)]
    doc = {"sweep": pts, "config": {"n_features": 4, "threads": 1}, "notes": []}
    paths = _report.plot_sweep(doc, str(tmp_path))
    assert [os.path.basename(p) for p in paths] == ["sweep_kmeans.png"]
    assert os.path.getsize(paths[0]) > 1000


# ---------------------------------------------------------------- classifiers

def test_classifier_results(clf_run):
    out, doc, stdout = clf_run
    rows = {(r["model"], r["backend"]): r for r in doc["results"]}
    assert set(rows) == {(m, b) for m in NEW_MODELS for b in ("c", "sklearn")}
    for (model, b), r in rows.items():
        assert r["status"] == "ok", r
        assert r["n_samples"] == 300 and r["n_features"] == 8 and r["repeats"] == 1
        assert r["metric"]["name"] == "accuracy" and 0.4 < r["metric"]["value"] <= 1.0, r["metric"]
        phases = ("fit", "predict") + (("predict_proba",) if model in PROBA else ())
        assert ("predict_proba" in r) == (model in PROBA)
        assert set(r["ratio_vs_sklearn"]) == set(phases)
        peer = rows[(model, "sklearn")]
        for phase in phases:
            st = r[phase]
            assert len(st["times"]) == 1 and all(_finite_pos(st[k]) for k in ("median", "min", "max"))
            assert r["ratio_vs_sklearn"][phase] == pytest.approx(st["median"] / peer[phase]["median"])
        assert r.get("n_queries") == (50 if model == "knn" else None)
        assert not r.get("reduced")
        assert r["memory"]["lib_counts"] == (b == "c")
    # the same data and parameters for both: the same accuracy, up to a few ties
    for m in NEW_MODELS:
        assert rows[(m, "c")]["metric"]["value"] == pytest.approx(rows[(m, "sklearn")]["metric"]["value"], abs=0.02)
    assert "n_iter" in rows[("logistic_regression", "sklearn")]["extra"]
    md = (out / "summary.md").read_text()
    for name in ("LogisticRegression", "KNeighborsClassifier", "GaussianNB", "MultinomialNB",
                 "BernoulliNB", "predict_proba", "+ 50 q", "accuracy"):
        assert name in md, name
    assert "KNeighborsClassifier" in stdout and "predict_proba" in stdout
    assert doc["config"]["n_queries"] == 50 and doc["config"]["n_classes"] == 3


def test_model_selection():
    parse = lambda *a: _run.build_parser().parse_args(list(a))  # noqa: E731
    assert parse("--models", "naive_bayes").models == ["gaussian_nb", "multinomial_nb", "bernoulli_nb"]
    assert parse("--models", "logreg,knn,bnb").models == ["logistic_regression", "knn", "bernoulli_nb"]
    default = parse().models
    assert NEW_MODELS <= set(default) and "gemm" in default
    assert parse("--models", "svm,rf,tree").models == ["svc", "random_forest", "decision_tree"]
    with pytest.raises(SystemExit):
        parse("--models", "gbm")
    # the sweep: no k-NN, one naive Bayes variant, Ridge only without LinearRegression
    assert _run._config(parse())["sweep_models"] == ["linear_regression", "kmeans", "pca",
                                                     "logistic_regression", "gaussian_nb"]
    assert _run._config(parse("--models", "knn,bnb,mnb"))["sweep_models"] == ["bernoulli_nb"]


def test_model_sizes():
    """Trees and forests run at d=50, the SVC at 10,000 x 50, unless the
    command line names a size; the python forest runs reduced."""
    parse = lambda *a: _run._config(_run.build_parser().parse_args(list(a)))  # noqa: E731
    cfg = parse()
    rf = _run._model_spec(cfg, "random_forest", "c", cfg["n_samples"], 3)
    assert (rf["n_samples"], rf["n_features"], rf["n_estimators"]) == (100_000, 50, 100)
    svc = _run._model_spec(cfg, "svc", "sklearn", cfg["n_samples"], 3)
    assert (svc["n_samples"], svc["n_features"]) == (10_000, 50)
    assert _run._model_spec(cfg, "knn", "c", cfg["n_samples"], 3)["n_features"] == 100
    given = parse("--n-samples", "2000", "--n-features", "7")
    svc = _run._model_spec(given, "svc", "c", given["n_samples"], 3)
    assert (svc["n_samples"], svc["n_features"]) == (2000, 7)
    py = _run._model_spec(cfg, "random_forest", "python", cfg["n_samples"], 3)
    assert py["reduced"] and py["n_estimators"] == 10 and py["n_samples"] == 5_000


def test_python_knn_is_reduced():
    cfg = _run._config(_run.build_parser().parse_args([]))
    py = _run._model_spec(cfg, "knn", "python", 100_000, 5)
    assert py["reduced"] and py["n_samples"] == _run.PYTHON_CAPS["knn"]["n_samples"]
    assert py["n_queries"] == _run.PYTHON_CAPS["knn"]["n_queries"]
    for b in ("c", "sklearn"):
        s = _run._model_spec(cfg, "knn", b, 100_000, 5)
        assert "reduced" not in s and s["n_samples"] == 100_000 and s["n_queries"] == 10_000
    assert "reduced" not in _run._model_spec(cfg | {"n_queries": 200}, "knn", "python", 500, 5)
    assert _run._model_spec(cfg, "knn", "python", 500, 5)["reduced"]  # 10,000 queries
    assert "reduced" not in _run._model_spec(cfg, "logistic_regression", "python", 100_000, 5)
    # in the table: marked, and no ratio (its size differs from scikit-learn's)
    res = [_fake("knn", "python", 10_000, 1.0, 9.0) | {"n_queries": 1000, "reduced": True},
           _fake("knn", "sklearn", 100_000, 0.1, 3.0) | {"n_queries": 10_000}]
    _run.add_ratios(res)
    assert res[0]["ratio_vs_sklearn"] == {"fit": None, "predict": None}
    for r in res:
        r.update(repeats=1, memory={"rss_growth": 0, "lib_host_peak": 0, "lib_counts": False},
                 metric={"name": "accuracy", "value": 0.9}, extra={})
    rows = _report.model_rows({"results": res})
    assert rows[0][2] == "10,000 × 4 + 1,000 q †" and rows[0][5] == "-"
    assert rows[1][2] == "100,000 × 4 + 10,000 q"


def test_classifier_data():
    X, y = _data.binary_classification(500, 6, seed=1)
    assert X.dtype == np.float32 and X.shape == (500, 6) and set(np.unique(y)) == {0, 1}
    X2, y2 = _data.binary_classification(500, 6, seed=1)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    X, y = _data.class_blobs(400, 5, 4)
    assert X.dtype == np.float32 and X.shape == (400, 5) and set(np.unique(y)) <= set(range(4))
    X, y = _data.counts(400, 7, 3)
    assert X.dtype == np.float32 and X.shape == (400, 7) and X.min() >= 0
    assert np.array_equal(X, np.round(X)) and set(np.unique(y)) <= set(range(3))


def test_network_rows(tmp_path):
    """The network benchmark runs mfs's MLP next to scikit-learn's (and
    PyTorch's when it is installed) and reports samples/s, ratios and memory."""
    doc = _run.run(["--models", "mlp", "--backends", "c,sklearn", "--nn-samples", "512",
                    "--repeats", "1", "--no-plots", "--quiet", "--out", str(tmp_path)])
    rows = {r["impl"]: r for r in doc["nets"]}
    assert {"c", "sklearn", "torch"} <= set(rows)
    for impl in ("c", "sklearn"):
        r = rows[impl]
        assert r["status"] == "ok", r
        assert r["train_rate"]["median"] > 0 and r["predict_rate"]["median"] > 0
        assert r["train_rate"]["min"] <= r["train_rate"]["median"] <= r["train_rate"]["max"]
        assert 0.0 <= r["train_accuracy"] <= 1.0 and r["epochs"] == 1 and r["batch_size"] == 128
    assert rows["c"]["memory"]["lib_host_peak"] > 0 and rows["sklearn"]["memory"]["lib_host_peak"] is None
    if rows["torch"]["status"] == "ok":
        assert rows["torch"]["vs_torch"]["train"] == 1.0
        assert rows["c"]["vs_torch"]["train"] > 0
    else:  # PyTorch not installed here: reported, not raised
        assert rows["torch"]["status"] == "unavailable" and rows["c"]["vs_torch"]["train"] is None
    md = (tmp_path / "summary.md").read_text()
    assert "## Networks" in md and "MLP 784-256-256-10" in md
