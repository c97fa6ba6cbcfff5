"""kNN at the issue's size: fit + predict time and peak memory of libmfs vs
scikit-learn's KNeighborsClassifier(algorithm='brute'), float32, 2 threads.

    PYTHONPATH=python MFS_LIBRARY=build-knn/libmfs/libmfs.so python dev/knn/bench.py

Each library runs in its own child process (same data, loaded from one .npy
file) so that neither sees the other's freed heap; peak memory is the rise of
the process's peak resident set (VmHWM, reset through /proc/self/clear_refs)
over its resident set just before fit, i.e. what fit + predict add on top of
the caller's data. Times are the median of `--repeat` runs."""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def child(lib, path, k, threads, repeat, algorithm):
    d = np.load(path)
    Xtr, ytr, Xte, yte = d["Xtr"], d["ytr"], d["Xte"], d["yte"]
    if lib == "sklearn":
        from sklearn.neighbors import KNeighborsClassifier
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads)
        make = lambda: KNeighborsClassifier(n_neighbors=k, algorithm="brute")  # noqa: E731
    else:
        import mfs
        mfs.set_num_threads(threads)
        make = lambda: mfs.KNeighborsClassifier(n_neighbors=k, algorithm=algorithm)  # noqa: E731
    times, fit_times, peak, predict_peak = [], [], 0, 0
    for r in range(repeat):
        base = rss_kib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        t0 = time.perf_counter()
        clf = make().fit(Xtr, ytr)
        t1 = time.perf_counter()
        after_fit = rss_kib("VmRSS")
        fit_peak = rss_kib("VmHWM") - base
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        pred = clf.predict(Xte)
        times.append(time.perf_counter() - t0)
        fit_times.append(t1 - t0)
        peak = max(peak, fit_peak, rss_kib("VmHWM") - base)
        predict_peak = max(predict_peak, rss_kib("VmHWM") - after_fit)
        acc = float(np.mean(pred == yte))
        del clf, pred
    print(json.dumps({"lib": lib, "times": times, "median_s": float(np.median(times)),
                      "fit_s": float(np.median(fit_times)), "peak_mib": peak / 1024,
                      "predict_peak_mib": predict_peak / 1024, "accuracy": acc}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--m", type=int, default=10_000)
    ap.add_argument("--d", type=int, default=100)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--algorithm", default="brute")
    ap.add_argument("--child")
    ap.add_argument("--data")
    ap.add_argument("--only", help="run one library (mfs or sklearn): tuning runs")
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.data, a.k, a.threads, a.repeat, a.algorithm)
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=a.n + a.m, n_features=a.d, n_informative=20, n_classes=5,
                               random_state=0)
    X = X.astype(np.float32)
    path = f"/tmp/knn_bench_{os.getpid()}.npz"
    np.savez(path, Xtr=X[:a.n], ytr=y[:a.n], Xte=X[a.n:], yte=y[a.n:])
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads),
               MKL_NUM_THREADS=str(a.threads))
    res = {}
    try:
        for lib in ((a.only,) if a.only else ("sklearn", "mfs")):
            out = subprocess.run([sys.executable, __file__, "--child", lib, "--data", path, "--k", str(a.k),
                                  "--threads", str(a.threads), "--repeat", str(a.repeat),
                                  "--algorithm", a.algorithm],
                                 env=env, check=True, capture_output=True, text=True).stdout
            res[lib] = json.loads(out.strip().splitlines()[-1])
    finally:
        os.remove(path)
    if a.only:
        print(json.dumps(res[a.only]))
        return
    s, m = res["sklearn"], res["mfs"]
    print(f"n={a.n} m={a.m} d={a.d} k={a.k} threads={a.threads} float32")
    for r in (s, m):
        print(f"  {r['lib']:8s} fit+predict median {r['median_s']:.3f} s (fit {r['fit_s']:.3f} s; runs "
              f"{', '.join(f'{t:.3f}' for t in r['times'])})  peak +{r['peak_mib']:.1f} MiB "
              f"(predict alone +{r['predict_peak_mib']:.1f} MiB)  accuracy {r['accuracy']:.4f}")
    print(f"  time ratio mfs/sklearn {m['median_s'] / s['median_s']:.3f}   "
          f"peak memory ratio fit+predict {m['peak_mib'] / max(s['peak_mib'], 1e-9):.3f}, "
          f"predict alone {m['predict_peak_mib'] / max(s['predict_peak_mib'], 1e-9):.3f}   "
          f"accuracy difference {100 * (m['accuracy'] - s['accuracy']):+.2f} pp")
    print("  (fit+predict peak includes the model's own copy of X, "
          f"{a.n * a.d * 4 / 2**20:.1f} MiB; scikit-learn keeps a reference to the caller's array)")


if __name__ == "__main__":
    main()
