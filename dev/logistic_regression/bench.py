"""LogisticRegression fit+predict: libmfs vs scikit-learn (solver="lbfgs") on
n=100000, d=100 float32 (make_classification, 30 informative features), binary
and 5 classes, 2 threads, default C / tol / max_iter (max_iter raised to 1000
for both so that neither stops early).

    PYTHONPATH=python MFS_LIBRARY=build-logreg/libmfs/libmfs.so python dev/logistic_regression/bench.py [K ...]

Time: both libraries alternately (ROUNDS rounds), each measurement in a fresh
subprocess (after a warm-up fit there), fit on the 100000 rows then predict
them, so a busy machine slows both alike; reported: median and min per library
and the ratio of medians. Fresh processes because the libraries' thread pools
disturb each other within one process: OpenBLAS's threads keep spinning after
scikit-learn's last BLAS call and take the two cores from libmfs's OpenMP
threads (measured: libmfs's binary fit 0.18 s alone, 0.76 s right after a
scikit-learn fit in the same process). Memory: each library in
a fresh subprocess; scikit-learn's peak from tracemalloc (numpy allocations,
fit+predict); libmfs's peak = its own C counters (mfs.memory_stats) + the
tracemalloc peak of its Python wrapper; plus RSS growth over the data for
both. Accuracy: training accuracy of both and max |coef difference|."""
import json
import os
import subprocess
import sys
import time

import numpy as np

ROUNDS = int(os.environ.get("ROUNDS", "3"))
HERE = os.path.dirname(os.path.abspath(__file__))


def data(K):
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=100_000, n_features=100, n_informative=30, n_classes=K,
                               random_state=0)
    return np.ascontiguousarray(X, dtype=np.float32), y


def make(lib):
    if lib == "mfs":
        import mfs
        return mfs.LogisticRegression(max_iter=1000)
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(max_iter=1000)


TIME_CHILD = r'''
import sys, json, time
sys.path.insert(0, sys.argv[3])
from bench import data, make
from threadpoolctl import threadpool_limits
import numpy as np
lib, K = sys.argv[1], int(sys.argv[2])
X, y = data(K)
import mfs
mfs.set_num_threads(2)
with threadpool_limits(2):
    make(lib).fit(X[:2000], y[:2000])  # warm up (imports, thread pools)
    t = time.perf_counter()
    est = make(lib).fit(X, y)
    pred = est.predict(X)
    t = time.perf_counter() - t
np.save(sys.argv[4], est.coef_.astype(np.float64))
print(json.dumps({"s": t, "n_iter": int(est.n_iter_[0]), "accuracy": float(np.mean(pred == y))}))
'''


def child(code, *args):
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


MEM_CHILD = r'''
import sys, json, resource, tracemalloc
sys.path.insert(0, sys.argv[3])
from bench import data, make
from threadpoolctl import threadpool_limits
lib, K = sys.argv[1], int(sys.argv[2])
X, y = data(K)
import mfs, sklearn.linear_model
mfs.set_num_threads(2)
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with threadpool_limits(2):
    tracemalloc.start()
    if lib == "mfs":
        mfs.reset_peak_memory()
        base = mfs.memory_stats()["host_current"]
    est = make(lib).fit(X, y)
    est.predict(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if lib == "mfs":
        peak += mfs.memory_stats()["host_peak"] - base
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
print(json.dumps({"peak_mib": peak / 2**20, "rss_growth_mib": rss / 1024}))
'''


def main():
    classes = [int(k) for k in sys.argv[1:]] or [2, 5]
    import tempfile
    for K in classes:
        _, y = data(K)
        times = {"sklearn": [], "mfs": []}
        runs, coefs = {}, {}
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(ROUNDS):
                for lib in times:
                    path = os.path.join(tmp, lib + ".npy")
                    runs[lib] = child(TIME_CHILD, lib, K, HERE, path)
                    times[lib].append(runs[lib]["s"])
                    coefs[lib] = np.load(path)
        mem = {lib: child(MEM_CHILD, lib, K, HERE) for lib in times}
        row = {"n_classes": K}
        for lib in times:
            row[lib] = {"median_s": round(float(np.median(times[lib])), 3), "min_s": round(min(times[lib]), 3),
                        "n_iter": runs[lib]["n_iter"], "accuracy": round(runs[lib]["accuracy"], 5),
                        **{k2: round(v, 2) for k2, v in mem[lib].items()}}
        c_m, c_s = coefs["mfs"], coefs["sklearn"]
        row["coef_max_abs_diff_rel"] = float(np.max(np.abs(c_m - c_s)) / np.max(np.abs(c_s)))
        row["time_ratio_mfs_over_sklearn"] = round(row["mfs"]["median_s"] / row["sklearn"]["median_s"], 3)
        row["peak_ratio_mfs_over_sklearn"] = round(row["mfs"]["peak_mib"] / row["sklearn"]["peak_mib"], 4)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
