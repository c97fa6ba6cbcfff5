"""Where the GPU time of the benchmark networks goes (run on a GPU machine).

PyTorch's profiler (Kineto/CUPTI) records every kernel and CUDA runtime call
of the process, libmfs's included, so one script shows both libraries' kernels
side by side. Usage, with libmfs built with CUDA:

    PYTHONPATH=python MFS_LIBRARY=build-gpu/libmfs/libmfs.so python3 dev/gpu/profile_nets.py [mlp|cnn ...]

Prints, per network: wall time of an mfs fit (1 epoch) and predict and of
PyTorch's, then the top kernels and runtime calls by GPU / CPU time for the
mfs fit and the mfs predict."""
import sys
import time

import numpy as np


def trace_events(prof):
    """The profiler's trace events (kernels recorded by CUPTI, whoever launched them)."""
    import json
    import os
    import tempfile
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    prof.export_chrome_trace(path)
    with open(path) as f:
        events = json.load(f)
    os.unlink(path)
    return events.get("traceEvents", events) if isinstance(events, dict) else events


def table(events, cats, n=18):
    """Totals by name: count, total and mean microseconds."""
    import collections
    tot = collections.defaultdict(lambda: [0, 0.0])
    for e in events:
        if e.get("ph") == "X" and e.get("cat") in cats:
            t = tot[(e["cat"], e.get("name", "?")[:70])]
            t[0] += 1
            t[1] += float(e.get("dur", 0))
    rows = sorted(tot.items(), key=lambda kv: -kv[1][1])[:n]
    all_us = sum(v[1] for v in tot.values())
    out = [f"{'category':<12} {'name':<70} {'count':>7} {'total us':>10} {'mean us':>9}"]
    for (cat, name), (c, us) in rows:
        out.append(f"{cat:<12} {name:<70} {c:>7} {us:>10.0f} {us / c:>9.1f}")
    out.append(f"{'':<12} {'(all ' + '/'.join(cats) + ')':<70} {sum(v[0] for v in tot.values()):>7} {all_us:>10.0f}")
    return "\n".join(out)


def main(nets):
    import torch
    from torch.profiler import ProfilerActivity, profile

    from mfs.bench import _nn
    cpu = not torch.cuda.is_available()  # a dry run of the script's logic on a CPU-only machine
    for net in nets:
        spec = {"net": net, "impl": "c" if cpu else "cuda", "n_samples": 20000 if net == "mlp" else 10000, "seed": 0,
                "threads": 2}
        X, y = _nn._data(spec)
        ours = _nn._impl(spec)
        ours.train(X[:512], y[:512], 1)  # warm-up: module load, handles
        ours.predict(X[:512])
        torch_spec = dict(spec, impl="torch" if cpu else "torch-cuda")
        peer = _nn._impl(torch_spec)
        peer.train(X[:512], y[:512], 1)
        peer.predict(X[:512])
        for name, impl in (("mfs", ours), ("torch", peer)):
            t0 = time.perf_counter()
            impl.train(X, y, 1)
            t1 = time.perf_counter()
            impl.predict(X)
            t2 = time.perf_counter()
            print(f"{net} {name}: fit {t1 - t0:.4f} s ({X.shape[0] / (t1 - t0):,.0f} samples/s), "
                  f"predict {t2 - t1:.4f} s ({X.shape[0] / (t2 - t1):,.0f} samples/s)", flush=True)
        for phase in ("fit", "predict"):
            acts = [ProfilerActivity.CPU] + ([] if cpu else [ProfilerActivity.CUDA])
            with profile(activities=acts) as prof:
                if phase == "fit":
                    ours.train(X, y, 1)
                else:
                    ours.predict(X)
                if not cpu:
                    torch.cuda.synchronize()
            events = trace_events(prof)
            print(f"\n==== {net} mfs {phase}: GPU work")
            print(table(events, ("kernel", "gpu_memcpy", "gpu_memset")))
            print(f"==== {net} mfs {phase}: CUDA runtime / driver calls (CPU time)")
            print(table(events, ("cuda_runtime", "cuda_driver"), 12))


if __name__ == "__main__":
    main(sys.argv[1:] or ["mlp", "cnn"])
