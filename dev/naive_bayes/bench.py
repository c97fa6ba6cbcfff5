"""fit + predict time and peak memory of mfs vs scikit-learn naive Bayes,
n=100,000, d=100, float32 input, 2 threads, in one run.

    PYTHONPATH=python MFS_LIBRARY=build-nb/libmfs/libmfs.so python dev/naive_bayes/bench.py

Peak memory: tracemalloc's peak of Python/numpy allocations during fit+predict,
plus (mfs) libmfs's own host peak from mfs.memory_stats (C allocations are not
seen by tracemalloc)."""
import statistics
import sys
import time
import tracemalloc

import numpy as np
import sklearn.naive_bayes as sknb
from threadpoolctl import threadpool_limits

import mfs

N, D, K, REPEAT = 100_000, 100, 10, 5


def data(kind, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, N)
    if kind == "gaussian":
        mu = rng.normal(0, 0.35, (K, D)) + 5.0
        sd = rng.uniform(0.5, 1.5, (K, D))
        X = mu[y] + sd[y] * rng.normal(size=(N, D))
    else:
        rate = rng.gamma(2.0, 0.5, (K, D))
        X = rng.poisson(rate[y])
    return np.ascontiguousarray(X, dtype=np.float32), y


def run(est, X, y):
    est.fit(X, y)
    return est.predict(X)


def timed(make, X, y):
    ts = []
    for _ in range(REPEAT):
        est = make()
        t = time.perf_counter()
        pred = run(est, X, y)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), min(ts), max(ts), float((pred == y).mean())


def peak(make, X, y, is_mfs):
    est = make()
    if is_mfs:
        mfs.reset_peak_memory()
        base = mfs.memory_stats()["host_current"]
    tracemalloc.start()
    run(est, X, y)
    py = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    c = mfs.memory_stats()["host_peak"] - base if is_mfs else 0
    return py + c


def main():
    mfs.set_num_threads(2)
    rows = []
    with threadpool_limits(2):
        for kind, ours, peer in (("gaussian", mfs.GaussianNB, sknb.GaussianNB),
                                 ("multinomial", mfs.MultinomialNB, sknb.MultinomialNB),
                                 ("bernoulli", lambda: mfs.BernoulliNB(binarize=1.0),
                                  lambda: sknb.BernoulliNB(binarize=1.0))):
            X, y = data("gaussian" if kind == "gaussian" else "counts")
            to, lo, ho, ao = timed(ours, X, y)
            ts, ls, hs, as_ = timed(peer, X, y)
            mo, ms = peak(ours, X, y, True), peak(peer, X, y, False)
            rows.append((kind, to, ts, ao, as_, mo, ms))
            print(f"{kind:12s} mfs {to*1e3:7.1f} ms [{lo*1e3:.1f}..{ho*1e3:.1f}]  sklearn {ts*1e3:7.1f} ms "
                  f"[{ls*1e3:.1f}..{hs*1e3:.1f}]  time ratio {to/ts:.3f}  acc {ao:.4f} vs {as_:.4f}  "
                  f"peak {mo/2**20:.1f} MiB vs {ms/2**20:.1f} MiB (ratio {mo/ms:.3f})", flush=True)
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
