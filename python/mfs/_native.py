"""The cffi binding to libmfs (ABI mode): loading, errors, arrays, models.

The declarations come from the public headers, preprocessed by the build into
``mfs_cdef.h`` beside the library; nobody keeps a hand copy. ``MFS_LIBRARY``
may point at another ``libmfs.so`` (its ``mfs_cdef.h`` must sit beside it).
"""
from __future__ import annotations

import os

import numpy as np
from cffi import FFI
from sklearn.exceptions import NotFittedError

_HERE = os.path.dirname(os.path.abspath(__file__))
ABI_VERSION = 2


class MfsError(Exception):
    """Base of the errors raised from a libmfs status; ``status`` holds its name."""

    def __init__(self, message, status="MFS_E_INTERNAL"):
        super().__init__(message)
        self.status = status


class DeviceError(MfsError, RuntimeError):
    """CUDA asked for without a usable GPU, or a CUDA failure."""


class ModelFormatError(MfsError, ValueError):
    """A model file that is truncated, corrupted or of another kind."""


class MfsValueError(MfsError, ValueError):
    pass


class MfsTypeError(MfsError, TypeError):
    pass


class MfsNotFittedError(MfsError, NotFittedError):
    pass


class MfsMemoryError(MfsError, MemoryError):
    pass


class MfsOSError(MfsError, OSError):
    pass


def _find_library():
    path = os.environ.get("MFS_LIBRARY")
    if path:
        return path, os.path.join(os.path.dirname(path), "mfs_cdef.h")
    return os.path.join(_HERE, "libmfs.so"), os.path.join(_HERE, "mfs_cdef.h")


ffi = FFI()
_LIB_PATH, _CDEF_PATH = _find_library()
try:
    with open(_CDEF_PATH, encoding="utf-8") as f:
        ffi.cdef(f.read())
except OSError as e:  # pragma: no cover - broken installation
    raise ImportError(f"mfs: cannot read the C declarations {_CDEF_PATH}: {e}; "
                      "was libmfs built (pip install .)?") from e
lib = ffi.dlopen(_LIB_PATH)
if lib.mfs_abi_version() != ABI_VERSION:  # pragma: no cover
    raise ImportError(f"mfs: libmfs at {_LIB_PATH} has ABI {lib.mfs_abi_version()}, "
                      f"this package expects {ABI_VERSION}")

_ERRORS = {
    lib.MFS_E_INVALID_ARG: MfsValueError,
    lib.MFS_E_SHAPE: MfsValueError,
    lib.MFS_E_VALUE: MfsValueError,
    lib.MFS_E_NOMEM: MfsMemoryError,
    lib.MFS_E_NOT_FITTED: MfsNotFittedError,
    lib.MFS_E_UNSUPPORTED: MfsTypeError,
    lib.MFS_E_DEVICE: DeviceError,
    lib.MFS_E_FORMAT: ModelFormatError,
    lib.MFS_E_IO: MfsOSError,
    lib.MFS_E_OVERFLOW: MfsValueError,
    lib.MFS_E_NOT_CONVERGED: MfsValueError,
}


def check(status):
    """Turn a non-zero mfs_status into the matching exception with C's message."""
    if status != lib.MFS_OK:
        name = ffi.string(lib.mfs_status_string(status)).decode()
        msg = ffi.string(lib.mfs_last_error()).decode(errors="replace")
        raise _ERRORS.get(status, MfsError)(msg or name, name)


_DTYPES = {
    np.dtype(np.float32): lib.MFS_DTYPE_FLOAT32,
    np.dtype(np.int32): lib.MFS_DTYPE_INT32,
    np.dtype(np.float64): lib.MFS_DTYPE_FLOAT64,
    np.dtype(np.int64): lib.MFS_DTYPE_INT64,
    np.dtype(np.uint8): lib.MFS_DTYPE_UINT8,
}
_NP_OF = {v: k for k, v in _DTYPES.items()}

DEVICES = {"c": lib.MFS_DEVICE_CPU, "cpu": lib.MFS_DEVICE_CPU, "cuda": lib.MFS_DEVICE_CUDA}

KINDS = {
    "linear_regression": lib.MFS_MODEL_LINEAR_REGRESSION,
    "kmeans": lib.MFS_MODEL_KMEANS,
    "pca": lib.MFS_MODEL_PCA,
    "logistic_regression": lib.MFS_MODEL_LOGISTIC_REGRESSION,
    "knn": lib.MFS_MODEL_KNN,
    "naive_bayes": lib.MFS_MODEL_NAIVE_BAYES,
    "decision_tree": lib.MFS_MODEL_DECISION_TREE,
    "random_forest": lib.MFS_MODEL_RANDOM_FOREST,
    "svm": lib.MFS_MODEL_SVM,
    "linear_svm": lib.MFS_MODEL_LINEAR_SVM,
    "mlp": lib.MFS_MODEL_MLP,
    "cnn": lib.MFS_MODEL_CNN,
}
KIND_NAMES = {v: k for k, v in KINDS.items()}


def view(a):
    """An mfs_array view of a C-contiguous numpy array (no copy). Keep `a` alive."""
    if a.dtype not in _DTYPES:
        raise TypeError(f"mfs: arrays of dtype {a.dtype} are not supported")
    if a.ndim > 4:
        raise ValueError(f"mfs: arrays have at most 4 dimensions, got {a.ndim}")
    if not a.flags.c_contiguous:
        raise ValueError("mfs: array must be C-contiguous")
    v = ffi.new("mfs_array *")
    v.data = ffi.cast("void *", a.ctypes.data)
    v.dtype = _DTYPES[a.dtype]
    v.ndim = a.ndim
    for i, s in enumerate(a.shape):
        v.shape[i] = s
    return v


def set_num_threads(n):
    """Threads used by libmfs's parallel regions (OpenMP)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"mfs.set_num_threads: n must be an int, got {type(n).__name__}")
    if n < 1 or n > 2**31 - 1:
        raise ValueError(f"mfs.set_num_threads: n is {n}, it must be >= 1")
    check(lib.mfs_set_num_threads(int(n)))


def get_num_threads():
    return int(lib.mfs_get_num_threads())


def cuda_device_count():
    """Usable CUDA devices: 0 in a CPU-only build or without a GPU."""
    return int(lib.mfs_cuda_device_count())


def memory_stats(model=None):
    """Bytes libmfs holds: dict of host/device current and peak, global or of one model."""
    s = ffi.new("mfs_memory_stats *")
    check(lib.mfs_memory_stats_get(model._h if model is not None else ffi.NULL, s))
    return {k: int(getattr(s, k)) for k in ("host_current", "host_peak", "device_current", "device_peak")}


def reset_peak_memory(model=None):
    check(lib.mfs_memory_reset_peak(model._h if model is not None else ffi.NULL))


_FIELD_PATHS = {}


def _field_paths(ctype):
    """{name: path} of every field of the struct type `ctype`, where a member
    that is itself a struct (a network's ``train``: mfs_train_params) is
    replaced by its own fields, so params stay one flat dict of scikit-learn's
    names: {"max_iter": ("train", "max_iter"), "task": ("task",), ...}."""
    paths = _FIELD_PATHS.get(ctype)
    if paths is None:
        paths = {}
        for name, field in ctype.fields:
            if field.type.kind == "struct":
                inner = {k: (name,) + v for k, v in _field_paths(field.type).items()}
            else:
                inner = {name: (name,)}
            for k, v in inner.items():
                if k in paths:  # a header that breaks the flat view: fail loudly
                    raise TypeError(f"mfs: {ctype.cname} has two fields named {k!r} "
                                    f"({'.'.join(paths[k])} and {'.'.join(v)})")
                paths[k] = v
        _FIELD_PATHS[ctype] = paths
    return paths


def params_struct(kind, params):
    """A filled params struct for model `kind` from its defaults and a flat
    dict of field names (the fields of a nested struct member such as a
    network's ``train`` by their own names; a dict value for such a member
    sets the fields it names)."""
    p = ffi.new(f"mfs_{kind}_params *")
    getattr(lib, f"mfs_{kind}_params_default")(p)
    paths = _field_paths(ffi.typeof(p[0]))
    members = {path[0] for path in paths.values() if len(path) > 1}

    def put(k, v):
        path = paths.get(k)
        if path is None:
            raise AttributeError(f"mfs: mfs_{kind}_params has no field {k!r}")
        owner = p
        for name in path[:-1]:
            owner = getattr(owner, name)
        try:
            setattr(owner, path[-1], v)
        except OverflowError as e:
            raise ValueError(f"mfs: parameter {k}={v!r} is out of range for the C library") from e
        except TypeError as e:
            raise TypeError(f"mfs: parameter {k}={v!r} has the wrong type: {e}") from e

    for k, v in params.items():
        if k in members and isinstance(v, dict):
            for k2, v2 in v.items():
                if paths.get(k2, (None,))[0] != k:
                    raise AttributeError(f"mfs: mfs_{kind}_params.{k} has no field {k2!r}")
                put(k2, v2)
        else:
            put(k, v)
    return p


def struct_to_dict(p):
    """The flat dict of a params struct (the inverse of params_struct): a
    nested struct member's fields appear by their own names."""
    out = {}
    for name, path in _field_paths(ffi.typeof(p[0])).items():
        v = p
        for part in path:
            v = getattr(v, part)
        out[name] = v
    return out


class NativeModel:
    """A libmfs model handle with numpy in and out."""

    def __init__(self, handle):
        self._h = ffi.gc(handle, lib.mfs_model_free)

    @classmethod
    def create(cls, kind, params, device="c"):
        p = params_struct(kind, params)
        out = ffi.new("mfs_model **")
        check(lib.mfs_model_create(KINDS[kind], p, ffi.sizeof(p[0]), DEVICES[device], out))
        return cls(out[0])

    @classmethod
    def from_bytes(cls, data, device="c"):
        data = bytes(data)
        out = ffi.new("mfs_model **")
        check(lib.mfs_model_load_buffer(data, len(data), DEVICES[device], out))
        return cls(out[0])

    @classmethod
    def load(cls, path, device="c"):
        out = ffi.new("mfs_model **")
        check(lib.mfs_model_load(os.fsencode(path), DEVICES[device], out))
        return cls(out[0])

    def to_bytes(self):
        needed = ffi.new("size_t *")
        status = lib.mfs_model_save_buffer(self._h, ffi.NULL, 0, needed)
        if status != lib.MFS_E_BUFFER_TOO_SMALL:
            check(status)
        buf = ffi.new("unsigned char[]", needed[0])
        check(lib.mfs_model_save_buffer(self._h, buf, needed[0], needed))
        return bytes(ffi.buffer(buf, needed[0]))

    def save(self, path):
        check(lib.mfs_model_save(self._h, os.fsencode(path)))

    @property
    def kind(self):
        k = ffi.new("mfs_model_kind *")
        check(lib.mfs_model_info(self._h, k, ffi.NULL, ffi.NULL, ffi.NULL))
        return KIND_NAMES[k[0]]

    @property
    def device(self):
        d = ffi.new("mfs_device *")
        check(lib.mfs_model_info(self._h, ffi.NULL, d, ffi.NULL, ffi.NULL))
        return "cuda" if d[0] == lib.MFS_DEVICE_CUDA else "c"

    @property
    def n_features_in(self):
        n = ffi.new("int64_t *")
        check(lib.mfs_model_info(self._h, ffi.NULL, ffi.NULL, ffi.NULL, n))
        return int(n[0])

    def params(self):
        kind = self.kind
        p = ffi.new(f"mfs_{kind}_params *")
        check(lib.mfs_model_get_params(self._h, p, ffi.sizeof(p[0])))
        return struct_to_dict(p)

    def set_array(self, name, a):
        """Set a named input array of the model, or remove it (a is None)."""
        if a is None:
            check(lib.mfs_model_set_array(self._h, name.encode(), ffi.NULL))
            return
        a = np.ascontiguousarray(a)
        check(lib.mfs_model_set_array(self._h, name.encode(), view(a)))

    def fit(self, X, y=None):
        check(lib.mfs_fit(self._h, view(X), view(y) if y is not None else ffi.NULL))
        return self

    def _apply(self, method, fn, X):
        dt = ffi.new("mfs_dtype *")
        nd = ffi.new("int32_t *")
        shape = ffi.new("int64_t[4]")
        check(lib.mfs_output_shape(self._h, method, view(X), dt, nd, shape))
        out = np.empty(tuple(shape[i] for i in range(nd[0])), dtype=_NP_OF[dt[0]])
        check(fn(self._h, view(X), view(out)))
        return out

    def predict(self, X):
        return self._apply(lib.MFS_METHOD_PREDICT, lib.mfs_predict, X)

    def predict_proba(self, X):
        return self._apply(lib.MFS_METHOD_PREDICT_PROBA, lib.mfs_predict_proba, X)

    def transform(self, X):
        return self._apply(lib.MFS_METHOD_TRANSFORM, lib.mfs_transform, X)

    def inverse_transform(self, X):
        return self._apply(lib.MFS_METHOD_INVERSE_TRANSFORM, lib.mfs_inverse_transform, X)

    def get(self, name):
        dt = ffi.new("mfs_dtype *")
        nd = ffi.new("int32_t *")
        shape = ffi.new("int64_t[4]")
        check(lib.mfs_model_array_info(self._h, name.encode(), dt, nd, shape))
        out = np.empty(tuple(shape[i] for i in range(nd[0])), dtype=_NP_OF[dt[0]])
        check(lib.mfs_model_get_array(self._h, name.encode(), view(out)))
        return out

    def array_names(self):
        """Names of the model's arrays: the fitted ones, then its metadata ("meta.*")."""
        return [ffi.string(lib.mfs_model_array_name(self._h, i)).decode()
                for i in range(lib.mfs_model_array_count(self._h))]

    def arrays(self):
        return {n: self.get(n) for n in self.array_names()}

    def memory_stats(self):
        return memory_stats(self)
