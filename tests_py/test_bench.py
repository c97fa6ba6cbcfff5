"""The benchmark package runs end to end on a tiny configuration and writes
well-formed results. No timing assertions: benchmarks are not tests."""
import json
import math
import os
import subprocess
import sys

import pytest

from mfs.bench import _report, _run

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
