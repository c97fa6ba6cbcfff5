"""The Python face of the core: ABI agreement with C, errors, threads, memory
counters, model files from hostile bytes, the CLI."""
import json
import subprocess
import sys

import numpy as np
import pytest

import mfs
from mfs import _native
from mfs._native import ffi, lib


@pytest.mark.parametrize("kind", sorted(_native.KINDS))
def test_params_struct_sizes_agree_with_c(kind):
    # The cdef comes from the headers; C reports what it was compiled with.
    assert ffi.sizeof(f"mfs_{kind}_params") == lib.mfs_params_size(_native.KINDS[kind])


def test_abi_and_version():
    assert lib.mfs_abi_version() == _native.ABI_VERSION
    assert mfs.__version__ == "0.1.0"
    assert ffi.sizeof("mfs_array") == 8 + 4 + 4 + 4 * 8


def test_threads():
    before = mfs.get_num_threads()
    mfs.set_num_threads(1)
    assert mfs.get_num_threads() == 1
    for bad in (0, -1):
        with pytest.raises(ValueError, match="must be >= 1"):
            mfs.set_num_threads(bad)
    with pytest.raises(TypeError):
        mfs.set_num_threads(1.5)
    mfs.set_num_threads(before)


def test_cuda_count():
    assert mfs.cuda_device_count() >= 0


def test_memory_stats_follow_models(rng):
    X = rng.normal(size=(2000, 50)).astype(np.float32)
    y = X[:, 0]
    before = mfs.memory_stats()
    m = mfs.LinearRegression().fit(X, y)
    stats = m._native.memory_stats()
    assert stats["host_current"] >= 50 * 4          # coef is kept
    assert stats["host_peak"] >= stats["host_current"]
    after = mfs.memory_stats()
    assert after["host_peak"] >= before["host_current"] + stats["host_peak"] - stats["host_current"]
    del m
    import gc
    gc.collect()
    assert mfs.memory_stats()["host_current"] <= before["host_current"]
    mfs.reset_peak_memory()
    s = mfs.memory_stats()
    assert s["host_peak"] == s["host_current"]


def _saved_model(rng):
    X = rng.normal(size=(30, 4))
    return mfs.LinearRegression().fit(X, X @ [1.0, 2.0, 3.0, 4.0])


def test_model_bytes_truncated_everywhere(rng):
    data = _saved_model(rng)._native.to_bytes()
    for n in range(len(data)):
        with pytest.raises(mfs.ModelFormatError):
            mfs.from_bytes(data[:n])


def test_model_bytes_bit_flips(rng):
    data = bytearray(_saved_model(rng)._native.to_bytes())
    for i in range(0, len(data), 3):
        bad = bytearray(data)
        bad[i] ^= 0x10
        with pytest.raises(mfs.ModelFormatError):
            mfs.from_bytes(bytes(bad))


def test_load_errors(tmp_path):
    with pytest.raises(OSError):
        mfs.load(tmp_path / "missing.mfs")
    p = tmp_path / "junk.mfs"
    p.write_bytes(b"not a model at all, just some bytes")
    with pytest.raises(mfs.ModelFormatError, match="magic"):
        mfs.load(p)
    with pytest.raises(ValueError, match="backend"):
        mfs.load(p, backend="gpu")


@pytest.mark.skipif(mfs.cuda_device_count() > 0, reason="a GPU is present")
def test_load_on_cuda_without_gpu(rng):
    data = _saved_model(rng)._native.to_bytes()
    with pytest.raises(mfs.DeviceError):
        mfs.from_bytes(data, backend="cuda")


def test_cli_info():
    out = subprocess.run([sys.executable, "-m", "mfs", "info"], capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    assert info["version"] == mfs.__version__ and info["threads"] >= 1


def test_huge_shapes_do_not_crash():
    # A view claiming 2^62 x 4 floats: the C side must refuse on overflow before touching data.
    X = np.zeros((2, 2), np.float32)
    v = _native.view(X)
    v.shape[0] = 2 ** 62
    m = _native.NativeModel.create("linear_regression", {})
    y = np.zeros(2, np.float32)
    status = lib.mfs_fit(m._h, v, _native.view(y))
    assert status == lib.MFS_E_OVERFLOW
    assert "overflow" in ffi.string(lib.mfs_last_error()).decode()


def test_python_written_file_loads_in_c_and_back(rng, tmp_path):
    """The reference's state written by the pure-Python writer loads in C and
    predicts as the reference does; C's file parses in pure Python."""
    from mfs import _modelfile
    X = rng.normal(size=(100, 6)).astype(np.float32)
    y = X @ rng.normal(size=6) + 2
    ref = mfs.Ridge(alpha=0.5, backend="python").fit(X, y)
    ref.save(tmp_path / "ref.mfs")
    in_c = mfs.load(tmp_path / "ref.mfs")
    assert in_c.backend == "c" and in_c.alpha == 0.5
    # same coefficients, computed by C's SGEMM vs numpy: float32 rounding only
    np.testing.assert_allclose(in_c.predict(X), ref.predict(X), rtol=1e-5, atol=1e-5)
    c = mfs.Ridge(alpha=0.5).fit(X, y)
    parsed = _modelfile.read(c._native.to_bytes())
    assert parsed["kind"] == lib.MFS_MODEL_LINEAR_REGRESSION and parsed["n_features_in"] == 6
    np.testing.assert_array_equal(parsed["arrays"]["coef"], c.coef_)
    assert set(parsed["arrays"]) == {"coef", "intercept", "rank"}
