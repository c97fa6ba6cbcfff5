"""Per-iteration cost of Lloyd (fit with max_iter=21 minus max_iter=1, tol=0),
libmfs vs scikit-learn, next to one streaming pass over X (numpy X.sum(0)).
  PYTHONPATH=python MFS_LIBRARY=build-kmeans/libmfs/libmfs.so python dev/kmeans/per_iter.py"""
import sys
import time

import numpy as np
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_limits

import mfs

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
X = make_blobs(100_000, 100, centers=8, cluster_std=4.0, random_state=0)[0].astype(np.float32)
init = X[np.random.default_rng(1).choice(len(X), 8, replace=False)].copy()
mfs.set_num_threads(threads)


def best(f, r=3):
    ts = []
    for _ in range(r):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return min(ts)


with threadpool_limits(threads):
    sk = {it: best(lambda: SkKMeans(8, init=init, n_init=1, max_iter=it, tol=0).fit(X)) for it in (1, 21)}
c = {it: best(lambda: mfs.KMeans(8, init=init, max_iter=it, tol=0).fit(X)) for it in (1, 21)}
stream = best(lambda: X.sum(axis=0))
print(f"threads={threads}: per iteration sklearn {(sk[21]-sk[1])/20*1e3:.2f} ms, mfs {(c[21]-c[1])/20*1e3:.2f} ms; "
      f"fit max_iter=1: sklearn {sk[1]*1e3:.1f} ms, mfs {c[1]*1e3:.1f} ms; numpy X.sum(0) {stream*1e3:.1f} ms")
