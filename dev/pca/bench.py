"""PCA fit: libmfs vs scikit-learn on n=100000, d=100 float32, 2 threads.

    PYTHONPATH=python MFS_LIBRARY=build-pca/libmfs/libmfs.so python dev/pca/bench.py [solver ...]

Time: both libraries fitted alternately in one process (R rounds), so a busy
machine slows both alike; reported: median and min per library, and the ratio
of medians. Memory: each library in a fresh subprocess; scikit-learn's peak
from tracemalloc (numpy and scipy's LAPACK work arrays are numpy allocations),
libmfs's from its own counters (mfs.memory_stats, every C allocation), plus the
RSS growth of the process over the data for both. Accuracy: variances vs a
float64 numpy SVD of the same float32 data."""
import json
import subprocess
import sys
import time

import numpy as np

SOLVERS = sys.argv[1:] or ["full", "covariance_eigh", "randomized"]
ROUNDS = 7


def data():
    rng = np.random.default_rng(0)
    X = np.empty((100_000, 100), np.float32)
    M = rng.standard_normal((100, 100)) * 0.95 ** np.arange(100)[:, None]
    for i in range(0, 100_000, 10_000):  # in chunks: no large float64 temporary
        X[i:i + 10_000] = rng.standard_normal((10_000, 100)) @ M + 3.0
    return X


def make(lib, solver):
    k = 10 if solver == "randomized" else None
    if lib == "mfs":
        import mfs
        return mfs.PCA(k, svd_solver=solver, random_state=0)
    from sklearn.decomposition import PCA
    return PCA(k, svd_solver=solver, random_state=0)


MEM_CHILD = r'''
import sys, json, resource, tracemalloc
sys.path.insert(0, "dev/pca")
from bench import data, make
from threadpoolctl import threadpool_limits
lib, solver = sys.argv[1], sys.argv[2]
X = data()
import mfs, sklearn.decomposition
mfs.set_num_threads(2)
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with threadpool_limits(2):
    if lib == "mfs":
        mfs.reset_peak_memory()
        base = mfs.memory_stats()["host_current"]
        est = make(lib, solver).fit(X)
        peak = mfs.memory_stats()["host_peak"] - base
    else:
        tracemalloc.start()
        est = make(lib, solver).fit(X)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
print(json.dumps({"peak_mib": peak / 2**20, "rss_growth_mib": rss / 1024}))
'''


def main():
    import mfs
    from threadpoolctl import threadpool_limits
    mfs.set_num_threads(2)
    X = data()
    ev_true = np.linalg.svd(X.astype(np.float64) - X.astype(np.float64).mean(0), compute_uv=False) ** 2 / (len(X) - 1)
    for solver in SOLVERS:
        times = {"sklearn": [], "mfs": []}
        ests = {}
        with threadpool_limits(2):
            for lib in times:
                make(lib, solver).fit(X)  # warm up
            for _ in range(ROUNDS):
                for lib in times:
                    t = time.perf_counter()
                    ests[lib] = make(lib, solver).fit(X)
                    times[lib].append(time.perf_counter() - t)
        mem = {}
        for lib in times:
            out = subprocess.run([sys.executable, "-c", MEM_CHILD, lib, solver], capture_output=True,
                                 text=True, check=True)
            mem[lib] = json.loads(out.stdout.strip().splitlines()[-1])
        row = {"solver": solver}
        for lib in times:
            ev = np.asarray(ests[lib].explained_variance_, np.float64)
            k = len(ev)
            row[lib] = {"median_s": round(float(np.median(times[lib])), 4), "min_s": round(min(times[lib]), 4),
                        **{k2: round(v, 2) for k2, v in mem[lib].items()},
                        "max_ev_err_rel_ev0": float(np.max(np.abs(ev - ev_true[:k])) / ev_true[0])}
        row["time_ratio_mfs_over_sklearn"] = round(row["mfs"]["median_s"] / row["sklearn"]["median_s"], 3)
        row["peak_ratio_mfs_over_sklearn"] = round(row["mfs"]["peak_mib"] / row["sklearn"]["peak_mib"], 4)
        print(json.dumps(row))


if __name__ == "__main__":
    main()
