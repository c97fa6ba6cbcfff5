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


# ---- metadata arrays ("meta.*") and the labels they carry ----------------------

@pytest.mark.parametrize("values", [
    np.array([3, 7, 11]), np.array([-1.5, 0.0, 2.25]), np.array([False, True]),
    np.array(["a", "bé", "日本"]), np.array([b"x", b"yz"]), np.array([], dtype=np.int64),
    np.array(["p", "q"], dtype=object), np.array([1, 2], dtype=object),
    np.array(["2024-01-01", "2025-06-30"], dtype="datetime64[D]"),
], ids=lambda v: str(v.dtype))
def test_meta_encoding_round_trips(values):
    from mfs._base import decode_meta, encode_meta
    raw = encode_meta(values, "test")
    assert raw.dtype == np.uint8 and raw.ndim == 1
    back = decode_meta(raw, "meta.test")
    np.testing.assert_array_equal(back, values)
    if values.dtype != object:
        assert back.dtype == values.dtype
    else:  # object arrays come back as the plain array they hold
        assert back.dtype.kind in "Ui"


def test_meta_encoding_refuses_what_it_cannot_store():
    from mfs._base import encode_meta
    with pytest.warns(UserWarning, match="cannot store without pickle"):
        assert encode_meta(np.array([1, "a", None], dtype=object), "classes_") is None
    with pytest.warns(UserWarning, match="not a 1-D array"):
        assert encode_meta(np.zeros((2, 2)), "classes_") is None
    with pytest.warns(UserWarning, match="more than"):
        assert encode_meta(np.zeros(9 << 20), "classes_") is None  # 72 MiB of float64


def _npy(a):
    import io
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(a), allow_pickle=True)
    return np.frombuffer(buf.getvalue(), np.uint8)


def test_meta_decoding_of_hostile_bytes_is_a_format_error():
    from mfs._base import decode_meta
    good = _npy(np.array([1, 2, 3]))
    bad = {
        "not npy": np.frombuffer(b"definitely not an npy file", np.uint8),
        "pickle": _npy(np.array([{"a": 1}], dtype=object)),
        "truncated": good[:-1],
        "trailing": np.concatenate([good, [0]]).astype(np.uint8),
        "2-D": _npy(np.zeros((2, 2))),
        "void": _npy(np.zeros(2, dtype=[("a", "<i4")])),
        "empty": np.zeros(0, np.uint8),
        "header only": good[:20],
    }
    for what, raw in bad.items():
        with pytest.raises(mfs.ModelFormatError, match="meta.x"):
            decode_meta(raw, "meta.x")
    # a header claiming 2^60 elements with a few bytes behind it: refused
    # before anything of that size is allocated
    huge = bytearray(good.tobytes())
    huge = bytes(huge).replace(b"(3,)", b"(1152921504606846976,)")
    fixed = np.frombuffer(huge, np.uint8)
    with pytest.raises(mfs.ModelFormatError, match="data bytes"):
        decode_meta(fixed, "meta.x")
    with pytest.raises(mfs.ModelFormatError, match="uint8"):
        decode_meta(np.zeros(4, np.float32), "meta.x")


def test_native_model_meta_arrays(rng):
    X = rng.normal(size=(30, 4)).astype(np.float32)
    m = _native.NativeModel.create("linear_regression", {})
    labels = np.frombuffer(b"\x00\x01\xffabc", np.uint8)
    m.set_array("meta.before_fit", labels)  # allowed before fit, and kept by it
    m.fit(X, X[:, 0].copy())
    m.set_array("meta.grid", np.arange(6, dtype=np.int64).reshape(2, 3))
    assert m.array_names() == ["coef", "intercept", "rank", "meta.before_fit", "meta.grid"]
    back = _native.NativeModel.from_bytes(m.to_bytes())
    arrays = back.arrays()
    np.testing.assert_array_equal(arrays["meta.before_fit"], labels)
    np.testing.assert_array_equal(arrays["meta.grid"], np.arange(6).reshape(2, 3))
    assert arrays["meta.grid"].dtype == np.int64
    np.testing.assert_array_equal(back.predict(X), m.predict(X))
    check = _native.check
    check(lib.mfs_model_set_array(back._h, b"meta.grid", ffi.NULL))
    assert back.array_names() == ["coef", "intercept", "rank", "meta.before_fit"]
    with pytest.raises(ValueError, match="already has 16 metadata arrays"):
        for i in range(20):
            back.set_array(f"meta.k{i}", labels)
    check(lib.mfs_model_set_array(back._h, b"meta.k0", ffi.NULL))
    with pytest.raises(ValueError, match="contains NaN"):
        back.set_array("meta.f", np.array([np.nan], np.float32))
    assert len(back.array_names()) == 3 + 15  # the failed calls added nothing


def test_wrong_label_count_in_a_file_is_a_format_error(rng):
    from mfs._base import encode_meta
    X = rng.normal(size=(60, 3))
    y = np.array(["a", "b", "c"])[np.arange(60) % 3]
    est = mfs.LogisticRegression().fit(X, y)
    est._native.set_array("meta.classes", encode_meta(np.array(["a", "b"]), "classes_"))
    with pytest.raises(mfs.ModelFormatError, match="holds 2 labels, the model's classes number 3"):
        mfs.from_bytes(est._native.to_bytes())
    est._native.set_array("meta.classes", np.frombuffer(b"garbage", np.uint8))
    with pytest.raises(mfs.ModelFormatError, match="not a valid .npy"):
        mfs.from_bytes(est._native.to_bytes())
    est._native.set_array("meta.classes", _npy(np.array([{"x": 1}, 2, 3], dtype=object)))
    with pytest.raises(mfs.ModelFormatError, match="not one encode_meta writes"):
        mfs.from_bytes(est._native.to_bytes())  # a pickle in a model file is never loaded
    est._native.set_array("meta.feature_names", encode_meta(np.array(["u", "v"]), "f"))
    est._native.set_array("meta.classes", encode_meta(est.classes_, "classes_"))
    with pytest.raises(mfs.ModelFormatError, match="holds 2 values .* the model has 3 features"):
        mfs.from_bytes(est._native.to_bytes())


def test_feature_names_for_any_estimator(rng, tmp_path):
    import pandas as pd
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    for est in (mfs.LinearRegression().fit(X, X["a"] * 2), mfs.KMeans(2, random_state=0).fit(X),
                mfs.PCA(2).fit(X), mfs.Ridge(backend="python").fit(X, X["b"])):
        est.save(tmp_path / "m.mfs")
        loaded = mfs.load(tmp_path / "m.mfs")
        np.testing.assert_array_equal(loaded.feature_names_in_, ["a", "b", "c"])
        assert loaded.n_features_in_ == 3
        np.testing.assert_allclose(loaded.predict(X) if hasattr(est, "predict") else loaded.transform(X),
                                   est.predict(X) if hasattr(est, "predict") else est.transform(X),
                                   rtol=1e-5, atol=1e-5)  # C evaluating the python fit: float32 rounding
    # numpy-fitted: no names stored, none loaded; a refit on numpy drops them from the C model
    est = mfs.LinearRegression().fit(X, X["a"])
    est._model_bytes()
    assert "meta.feature_names" in est._native.array_names()
    del est.feature_names_in_
    assert not hasattr(mfs.from_bytes(est._model_bytes()), "feature_names_in_")


def test_python_writer_and_reader_carry_metadata(rng):
    from mfs import _modelfile
    X = rng.normal(size=(50, 3)).astype(np.float32)
    y = np.array(["lo", "hi"])[(X[:, 0] > 0).astype(int)]
    ref = mfs.LogisticRegression(backend="python").fit(X, y)
    data = ref._model_bytes()
    parsed = _modelfile.read(data)
    assert set(parsed["meta"]) == {"meta.classes"} and "meta.classes" not in parsed["arrays"]
    in_c = mfs.from_bytes(data)
    np.testing.assert_array_equal(in_c.classes_, ["hi", "lo"])
    np.testing.assert_array_equal(in_c.predict(X), ref.predict(X))
    # C's file parses here with its metadata
    c = mfs.LogisticRegression().fit(X, y)
    parsed = _modelfile.read(c._model_bytes())
    from mfs._base import decode_meta
    np.testing.assert_array_equal(decode_meta(parsed["meta"]["meta.classes"], "meta.classes"), ["hi", "lo"])
    # the writer keeps C's limits, so it never writes a file C refuses
    arrays = parsed["arrays"]
    with pytest.raises(ValueError, match="at most 16"):
        _modelfile.write(4, parsed["params"], 3, arrays, meta={f"meta.{i}": np.zeros(1, np.uint8) for i in range(17)})
    with pytest.raises(ValueError, match="at most 67108864"):
        _modelfile.write(4, parsed["params"], 3, arrays, meta={"meta.big": np.zeros((64 << 20) + 1, np.uint8)})
    with pytest.raises(ValueError, match="followed by"):
        _modelfile.write(4, parsed["params"], 3, arrays, meta={"meta.": np.zeros(1, np.uint8)})
    with pytest.raises(ValueError, match="prefix"):
        _modelfile.write(4, parsed["params"], 3, {**arrays, "meta.x": np.zeros(1, np.uint8)})
    ok = _modelfile.write(4, parsed["params"], 3, arrays, meta={"meta.note": np.frombuffer(b"hi", np.uint8)})
    back = _native.NativeModel.from_bytes(ok)
    assert back.get("meta.note").tobytes() == b"hi"
