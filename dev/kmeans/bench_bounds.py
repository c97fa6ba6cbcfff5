"""K-Means fit time on 8 blobs (std 1, centers N(0, 3^2)) in d=100, init = the
first 8 rows (two centers may start in one blob: many iterations, points near
a boundary), libmfs vs scikit-learn, and libmfs with MFS_KMEANS_PLAIN=1 (a full
E-step every iteration, the plain Lloyd that Hamerly's bounds reproduce).

  PYTHONPATH=python MFS_LIBRARY=build-kmeans2/libmfs/libmfs.so \
      python dev/kmeans/bench_bounds.py [--threads 2 --repeat 5]
"""
import argparse
import os
import time

import numpy as np
from sklearn.cluster import KMeans as SkKMeans
from threadpoolctl import threadpool_limits

import mfs

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=100_000)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--repeat", type=int, default=5)
a = ap.parse_args()

rng = np.random.default_rng(0)
centers = rng.normal(size=(8, 100)) * 3
X = (centers[rng.integers(0, 8, a.n)] + rng.normal(size=(a.n, 100))).astype(np.float32)
init = X[:8].copy()
mfs.set_num_threads(a.threads)


def timed(make):
    ts = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        est = make().fit(X)
        ts.append(time.perf_counter() - t)
    return np.median(ts), est


with threadpool_limits(a.threads):
    t_sk, sk = timed(lambda: SkKMeans(8, init=init, n_init=1, max_iter=300, tol=1e-4))
t_c, c = timed(lambda: mfs.KMeans(8, init=init, n_init=1, max_iter=300, tol=1e-4))
os.environ["MFS_KMEANS_PLAIN"] = "1"
t_p, p = timed(lambda: mfs.KMeans(8, init=init, n_init=1, max_iter=300, tol=1e-4))
del os.environ["MFS_KMEANS_PLAIN"]
print(f"n={a.n} d=100 k=8 threads={a.threads} repeat={a.repeat} (medians)")
print(f"sklearn       : {t_sk*1e3:7.1f} ms  n_iter {sk.n_iter_}")
print(f"mfs (bounds)  : {t_c*1e3:7.1f} ms  n_iter {c.n_iter_}   ratio vs sklearn {t_c/t_sk:.3f}")
print(f"mfs (plain)   : {t_p*1e3:7.1f} ms  n_iter {p.n_iter_}   ratio vs sklearn {t_p/t_sk:.3f}")
print(f"bounds vs plain: labels equal {np.array_equal(c.labels_, p.labels_)}, "
      f"max |center diff| {np.abs(c.cluster_centers_ - p.cluster_centers_).max():.2e}; "
      f"labels equal to sklearn {np.mean(c.labels_ == sk.labels_)*100:.3f} %")
