"""SGEMM: libmfs (ctypes on build-linalg/libmfs/libmfs.so) vs numpy/OpenBLAS.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 dev/gemm/bench.py [lib] [reps] [rounds]

Each library is timed in its own child process: idle OpenMP and OpenBLAS
worker threads spin for a while after each call, and on two cores they would
steal each other's time if interleaved in one process. GFLOP/s of the median of
`reps` runs per shape and thread count; best such median over `rounds` rounds."""
import ctypes, json, os, statistics, subprocess, sys, time
import numpy as np

# (M, N, K, trans_a, trans_b, label)
SHAPES = [(256, 256, 256, 0, 0, "square"), (512, 512, 512, 0, 0, "square"),
          (1024, 1024, 1024, 0, 0, "square"), (2048, 2048, 2048, 0, 0, "square"),
          (1024, 1024, 1024, 1, 1, "A^T B^T"), (100000, 8, 100, 0, 1, "X C^T (k-means)"),
          (100, 100, 100000, 1, 0, "X^T X (gram)"), (4096, 256, 1024, 0, 0, "tall")]
SHAPES = [s for s in SHAPES if os.environ.get("SHAPES") is None or s[-1] in os.environ["SHAPES"]]

def timeit(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)

def child(which, libpath, reps, thr):
    rng = np.random.default_rng(0)
    if which == "mfs":
        f32p = ctypes.POINTER(ctypes.c_float)
        lib = ctypes.CDLL(libpath)
        lib.mfs_sgemm.argtypes = [ctypes.c_int32, ctypes.c_int32, ctypes.c_int64, ctypes.c_int64,
                                  ctypes.c_int64, ctypes.c_float, f32p, ctypes.c_int64, f32p,
                                  ctypes.c_int64, ctypes.c_float, f32p, ctypes.c_int64]
        lib.mfs_set_num_threads.argtypes = [ctypes.c_int32]
        lib.mfs_set_num_threads(thr)
        ptr = lambda a: a.ctypes.data_as(f32p)
    else:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=thr, user_api="blas")
    out = []
    for M, N, K, ta, tb, label in SHAPES:
        A = rng.standard_normal((K, M) if ta else (M, K), dtype=np.float32)
        B = rng.standard_normal((N, K) if tb else (K, N), dtype=np.float32)
        C = np.empty((M, N), np.float32)
        opA, opB = (A.T if ta else A), (B.T if tb else B)
        if which == "mfs":
            fn = lambda: lib.mfs_sgemm(ta, tb, M, N, K, 1.0, ptr(A), A.shape[1], ptr(B), B.shape[1],
                                       0.0, ptr(C), N)
        else:
            fn = lambda: np.matmul(opA, opB, out=C)
        t = timeit(fn, reps)
        ref = opA[:4].astype(np.float64) @ opB.astype(np.float64)
        err = float(np.max(np.abs(C[:4] - ref)))
        assert err < 1e-3 * np.sqrt(K), err
        out.append(2.0 * M * N * K / t / 1e9)
    print(json.dumps(out))

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        sys.exit(0)
    libpath = sys.argv[1] if len(sys.argv) > 1 else "build-linalg/libmfs/libmfs.so"
    reps = sys.argv[2] if len(sys.argv) > 2 else "7"
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    # The machine is shared: alternate the libraries for `rounds` rounds and keep,
    # per library and shape, the best of the per-round medians.
    res = {}
    for _ in range(rounds):
        for thr in (1, 2):
            for which in ("mfs", "numpy"):
                r = subprocess.run([sys.executable, __file__, "--child", which, libpath, reps, str(thr)],
                                   check=True, capture_output=True, text=True)
                new = json.loads(r.stdout)
                old = res.get((which, thr), new)
                res[which, thr] = [max(a, b) for a, b in zip(old, new)]
    print(f"| {'M x N x K':>16} | {'op':>15} | thr | mfs GFLOP/s | numpy GFLOP/s | mfs/numpy |")
    print(f"|{'-' * 18}|{'-' * 17}|-----|-------------|---------------|-----------|")
    for i, (M, N, K, ta, tb, label) in enumerate(SHAPES):
        for thr in (1, 2):
            a, b = res["mfs", thr][i], res["numpy", thr][i]
            print(f"| {f'{M}x{N}x{K}':>16} | {label:>15} | {thr:>3} | {a:11.1f} | {b:13.1f} | {a / b:9.2f} |")
