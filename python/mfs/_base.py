"""What every libmfs estimator shares: the backend switch, input validation,
fitted arrays -> attributes, pickling through model bytes, save/load."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _native

BACKENDS = ("c", "cuda", "python")


class MfsEstimator(BaseEstimator):
    """Base class. Subclasses set ``_kind`` (the C model id), ``_reference``
    (the numpy reference module), ``_attributes`` (C array name -> attribute)
    and implement ``_params()`` (the C params dict)."""

    _kind = None
    _reference = None
    _attributes = {}

    # ---- backend -----------------------------------------------------------
    def _check_backend(self):
        if not isinstance(self.backend, str) or self.backend not in BACKENDS:
            raise ValueError(f"{type(self).__name__}: backend must be one of {BACKENDS}, "
                             f"got {self.backend!r}")
        return self.backend

    # ---- validation --------------------------------------------------------
    def _validate_X(self, X, reset):
        # NaN/Inf: the C library checks (and names the row and column) in the
        # same pass it would take anyway; scikit-learn's scan is only for python.
        return validate_data(self, X, dtype=np.float32, order="C", reset=reset,
                             ensure_min_samples=1,
                             ensure_all_finite=getattr(self, "backend", "python") == "python")

    # ---- fitting -----------------------------------------------------------
    def _fit_backend(self, X, y=None, inputs=None):
        """Fit on validated float32 X (and y); set fitted attributes."""
        backend = self._check_backend()
        params = self._params(X)
        if backend == "python":
            state = self._reference.fit(X, y, **params, **(inputs or {}))
            self._native = None
            self._state = {k: np.asarray(v) for k, v in state.items()}
        else:
            model = _native.NativeModel.create(self._kind, params, backend)
            for name, value in (inputs or {}).items():
                model.set_array(name, np.asarray(value, dtype=np.float32))
            model.fit(X, y)
            self._native = model
            self._state = model.arrays()
        self._set_attributes()
        return self

    def _set_attributes(self):
        for name, attr in self._attributes.items():
            if name in self._state:
                value = self._state[name]
                setattr(self, attr, value[()] if value.ndim == 0 else value)

    def _apply(self, method, X):
        """Validate X against the fit and apply `method` ("predict", "transform",
        ...). Computation is float32; float outputs come back as float32 for
        float32 input and float64 otherwise, as scikit-learn preserves dtypes."""
        self._check_backend()
        check_is_fitted(self, "_state")
        want = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        X = self._validate_X(X, reset=False)
        out = self._run(method, X)
        if out.dtype.kind == "f" and out.dtype != want:
            out = out.astype(want)
        return out

    def _run(self, method, X):
        """Apply `method` ("predict", "transform", ...) with the fitted backend."""
        check_is_fitted(self, "_state")
        if self._native is not None:
            return getattr(self._native, method)(X)
        return getattr(self._reference, method)(self._state, X, **self._params(None))

    # ---- persistence -------------------------------------------------------
    def _model_bytes(self):
        check_is_fitted(self, "_state")
        if self._native is not None:
            return self._native.to_bytes()
        # python backend: the same format, written by the pure-Python writer
        from . import _modelfile
        p = _native.params_struct(self._kind, self._params(None))
        return _modelfile.write(_native.KINDS[self._kind], bytes(_native.ffi.buffer(p)),
                                self.n_features_in_, self._state)

    def save(self, path):
        """Write the fitted model to a libmfs model file (readable from C)."""
        path = str(path)
        with open(path, "wb") as f:
            f.write(self._model_bytes())

    def __getstate__(self):
        state = self.__dict__.copy()
        native = state.pop("_native", None)
        if native is not None:
            state["_native_bytes"] = native.to_bytes()
            state.pop("_state", None)
        return state

    def __setstate__(self, state):
        data = state.pop("_native_bytes", None)
        self.__dict__.update(state)
        if data is not None:
            self._native = _native.NativeModel.from_bytes(data, self.backend)
            self._state = self._native.arrays()
        elif "_state" in state:
            self._native = None


_ESTIMATORS = {}


def register(cls):
    _ESTIMATORS[cls._kind] = _ESTIMATORS.get(cls._kind, []) + [cls]
    return cls


def load(path, backend="c"):
    """Load a libmfs model file as a fitted estimator (on ``backend``)."""
    with open(str(path), "rb") as f:
        data = f.read()
    return from_bytes(data, backend)


def from_bytes(data, backend="c"):
    if backend not in ("c", "cuda"):
        raise ValueError(f"mfs.load: backend must be 'c' or 'cuda', got {backend!r}")
    model = _native.NativeModel.from_bytes(data, backend)
    kind = model.kind
    classes = _ESTIMATORS.get(kind)
    if not classes:
        raise _native.ModelFormatError(f"mfs.load: no estimator for model kind {kind!r}")
    cls = classes[0]
    for c in classes:
        if c._accepts(model.params()):
            cls = c
    est = cls._from_native(model, backend)
    return est


class MfsClassifier(MfsEstimator):
    """What classifiers add: user labels of any type (strings too) <-> the int32
    indices 0..K-1 that cross into C, as scikit-learn's ``classes_``."""

    def _encode_y(self, y, classes=None):
        """Set classes_ (sorted unique labels, or the given `classes`) and return
        y as C-contiguous int32 indices into it."""
        from sklearn.utils.multiclass import check_classification_targets
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        check_classification_targets(y)
        if classes is None:
            self.classes_, idx = np.unique(y, return_inverse=True)
        else:
            self.classes_ = np.unique(np.asarray(classes))
            idx = np.searchsorted(self.classes_, y)
            idx = np.clip(idx, 0, len(self.classes_) - 1)
            bad = self.classes_[idx] != y
            if np.any(bad):
                raise ValueError(f"{type(self).__name__}: y contains labels not in classes: "
                                 f"{np.unique(y[bad])[:5].tolist()}")
        return np.ascontiguousarray(idx, dtype=np.int32)

    def _require_classes(self, minimum=2):
        if len(self.classes_) < minimum:
            raise ValueError(f"{type(self).__name__}: needs samples of at least {minimum} classes "
                             f"in the data, got {len(self.classes_)} class")

    def _decode(self, idx):
        return self.classes_[np.asarray(idx)]
