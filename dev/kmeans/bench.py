"""K-Means fit time, libmfs (C) vs scikit-learn, same data and init array.

Run (from the repository root, against a build):
  PYTHONPATH=python MFS_LIBRARY=build-kmeans/libmfs/libmfs.so OMP_NUM_THREADS=2 \
      python dev/kmeans/bench.py [--n 100000 --d 100 --k 8 --repeat 5 --data blobs]
"""
import argparse
import time
import tracemalloc

import numpy as np
from sklearn.cluster import KMeans as SkKMeans, kmeans_plusplus
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_limits

import mfs

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=100_000)
ap.add_argument("--d", type=int, default=100)
ap.add_argument("--k", type=int, default=8)
ap.add_argument("--repeat", type=int, default=5)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--data", choices=["blobs", "normal"], default="blobs")
ap.add_argument("--init", choices=["kpp", "rows"], default="kpp",
                help="kpp: scikit-learn's kmeans_plusplus centers; rows: k random rows")
a = ap.parse_args()

if a.data == "blobs":
    X, _ = make_blobs(a.n, a.d, centers=a.k, cluster_std=4.0, random_state=0)
else:
    X = np.random.default_rng(0).standard_normal((a.n, a.d))
X = X.astype(np.float32)
if a.init == "kpp":
    init = kmeans_plusplus(X, a.k, random_state=0)[0]
else:
    init = X[np.random.default_rng(1).choice(a.n, a.k, replace=False)].copy()
mfs.set_num_threads(a.threads)


def fit_once(est, limit):
    t = time.perf_counter()
    if limit:
        with threadpool_limits(a.threads):
            est.fit(X)
    else:
        est.fit(X)
    return time.perf_counter() - t, est


# interleaved, so that both see the same machine load
t_sk, t_c = [], []
for _ in range(a.repeat):
    t, sk = fit_once(SkKMeans(a.k, init=init, n_init=1, max_iter=300, tol=1e-4), True)
    t_sk.append(t)
    t, c = fit_once(mfs.KMeans(a.k, init=init, n_init=1, max_iter=300, tol=1e-4), False)
    t_c.append(t)
t_sk, t_c = np.array(t_sk), np.array(t_c)

# peak memory: scikit-learn's numpy allocations (tracemalloc) vs libmfs's own counters
tracemalloc.start()
with threadpool_limits(a.threads):
    SkKMeans(a.k, init=init, n_init=1).fit(X)
sk_peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
mfs.reset_peak_memory()
base = mfs.memory_stats()["host_current"]
mfs.KMeans(a.k, init=init, n_init=1).fit(X)
c_peak = mfs.memory_stats()["host_peak"] - base

rel = abs(c.inertia_ - sk.inertia_) / sk.inertia_
print(f"data={a.data} init={a.init} n={a.n} d={a.d} k={a.k} threads={a.threads} repeat={a.repeat}")
print(f"sklearn : median {np.median(t_sk)*1e3:8.1f} ms  (min {t_sk.min()*1e3:.1f}, max {t_sk.max()*1e3:.1f})  "
      f"n_iter {sk.n_iter_}  inertia {sk.inertia_:.6e}  peak {sk_peak/2**20:.1f} MiB")
print(f"mfs (C) : median {np.median(t_c)*1e3:8.1f} ms  (min {t_c.min()*1e3:.1f}, max {t_c.max()*1e3:.1f})  "
      f"n_iter {c.n_iter_}  inertia {c.inertia_:.6e}  peak {c_peak/2**20:.1f} MiB")
print(f"per iteration: sklearn {np.median(t_sk)/sk.n_iter_*1e3:.2f} ms, mfs {np.median(t_c)/c.n_iter_*1e3:.2f} ms")
print(f"ratio mfs/sklearn: median {np.median(t_c)/np.median(t_sk):.3f}, min {t_c.min()/t_sk.min():.3f}   inertia rel diff {rel:.2e}   "
      f"labels equal: {np.mean(c.labels_ == sk.labels_)*100:.3f} %")
