"""Convolutional networks trained from scratch in C (or CUDA, or the numpy
reference): CNNClassifier and CNNRegressor. Conv blocks (conv2d, optional
batch norm, activation, optional max/average pooling), then dense layers,
trained with the solvers, schedules, early stopping, warm start and progress
callback of the MLP (mfs/neural_network.py's _NetworkEstimator).

The architecture is readable: ``input_shape=(C, H, W)`` and ``conv_layers`` a
list of dicts ``{"filters": 16, "kernel_size": 3, "stride": 1, "padding": 1,
"pool": 2, "pool_type": "max", "batch_norm": False}`` (every key but filters
optional), or the compact string ``"16x3p1/2,32x3p1/2"``: per block
``<filters>[x<kernel>][s<stride>][p<padding>][/<pool>[max|avg]][+bn]``."""
from __future__ import annotations

import numbers
import re

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _native
from ._base import MfsClassifier, register, store_params
from .neural_network import (_CNT, ACTIVATIONS, _check_same_outputs, _choice, _column_y, _float32_targets,
                             _hidden_sizes, _NetworkEstimator, _real)
from .reference import cnn as _ref

MAX_CONV, MAX_HIDDEN = 8, 8
_TASK_REGRESSION, _TASK_CLASSIFICATION = 0, 1
_POOL_TYPES = {"max": 0, "avg": 1}
_DEFAULT_CONV = ({"filters": 16, "kernel_size": 3, "padding": 1, "pool": 2},
                 {"filters": 32, "kernel_size": 3, "padding": 1, "pool": 2})
_BLOCK = re.compile(r"^(\d+)(?:x(\d+))?(?:s(\d+))?(?:p(\d+))?(?:/(\d+)(max|avg)?)?(\+bn)?$")


def parse_conv_layers(owner, spec):
    """The conv blocks of `spec` (list of dicts, or the compact string) as a
    list of complete dicts, validated."""
    if spec is None:
        spec = _DEFAULT_CONV
    if isinstance(spec, str):
        blocks = []
        for part in [s.strip() for s in spec.split(",") if s.strip()]:
            m = _BLOCK.match(part)
            if not m:
                raise ValueError(f"{owner}: conv_layers block {part!r} is not <filters>[x<kernel>][s<stride>]"
                                 "[p<padding>][/<pool>[max|avg]][+bn], e.g. '16x3p1/2'")
            f, k, s, p, pool, ptype, bn = m.groups()
            d = {"filters": int(f), "kernel_size": int(k or 3), "stride": int(s or 1),
                 "pool": int(pool or 0), "pool_type": ptype or "max", "batch_norm": bn is not None}
            if p is not None:
                d["padding"] = int(p)
            blocks.append(d)
        spec = blocks
    if isinstance(spec, dict):
        raise TypeError(f"{owner}: conv_layers must be a list of dicts or a string, got one dict; "
                        f"write conv_layers=[{spec!r}]")
    try:
        spec = list(spec)
    except TypeError:
        raise TypeError(f"{owner}: conv_layers must be a list of dicts or a string, got {spec!r}") from None
    if len(spec) > MAX_CONV:
        raise ValueError(f"{owner}: conv_layers has {len(spec)} blocks, libmfs supports at most {MAX_CONV}")
    out = []
    allowed = {"filters", "kernel_size", "stride", "padding", "pool", "pool_type", "batch_norm"}
    for i, b in enumerate(spec):
        if not isinstance(b, dict):
            raise TypeError(f"{owner}: conv_layers[{i}] must be a dict, got {type(b).__name__}")
        extra = set(b) - allowed
        if extra:
            raise ValueError(f"{owner}: conv_layers[{i}] has unknown keys {sorted(extra)}; allowed: {sorted(allowed)}")
        if "filters" not in b:
            raise ValueError(f"{owner}: conv_layers[{i}] needs 'filters'")
        k = b.get("kernel_size", 3)
        d = {"filters": b["filters"], "kernel_size": k, "stride": b.get("stride", 1),
             "padding": b.get("padding", k // 2 if isinstance(k, numbers.Integral) else 0),
             "pool": b.get("pool", 0) or 0, "pool_type": b.get("pool_type", "max"),
             "batch_norm": b.get("batch_norm", False)}
        for key, low in (("filters", 1), ("kernel_size", 1), ("stride", 1), ("padding", 0), ("pool", 0)):
            v = d[key]
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise TypeError(f"{owner}: conv_layers[{i}]['{key}'] must be an int, got {v!r}")
            if v < low or v > 65536:
                raise ValueError(f"{owner}: conv_layers[{i}]['{key}'] is {v}, it must be >= {low}")
        if d["pool"] == 1:
            d["pool"] = 0
        if 2 * d["padding"] > d["kernel_size"]:
            raise ValueError(f"{owner}: conv_layers[{i}] has padding {d['padding']}, at most kernel_size // 2 = "
                             f"{d['kernel_size'] // 2}")
        if not isinstance(d["batch_norm"], (bool, np.bool_)):
            raise TypeError(f"{owner}: conv_layers[{i}]['batch_norm'] must be a bool, got {d['batch_norm']!r}")
        if not isinstance(d["pool_type"], str) or d["pool_type"] not in _POOL_TYPES:
            raise ValueError(f"{owner}: conv_layers[{i}]['pool_type'] is {d['pool_type']!r}, expected 'max' or 'avg'")
        out.append({k2: (int(v) if k2 not in ("pool_type", "batch_norm") else v) for k2, v in d.items()})
        out[-1]["batch_norm"] = bool(d["batch_norm"])
    return out


def _check_geometry(owner, shape, conv, n_features):
    """For an input_shape inferred from n_features (flat X, input_shape=None):
    every conv block's kernel and pool must fit the image that reaches it (the
    sizes of PyTorch's Conv2d, and pooling with stride = window), else a
    ValueError in the C library's words plus how to give the real shape. (A
    shape the user gave is checked by the C library alone.)"""
    C, H, W = shape
    for i, c in enumerate(conv):
        k, st, pad, pool = c["kernel_size"], c["stride"], c["padding"], c["pool"]
        problem = None
        if H + 2 * pad < k or W + 2 * pad < k:
            problem = (f"conv2d input is {H} x {W} (padded {H + 2 * pad} x {W + 2 * pad}), smaller than its "
                       f"{k} x {k} kernel")
        else:
            H, W = (H + 2 * pad - k) // st + 1, (W + 2 * pad - k) // st + 1
            if pool >= 2 and (H < pool or W < pool):
                problem = f"pool2d input is {H} x {W}, smaller than its {pool} x {pool} window"
            elif pool >= 2:
                H, W = H // pool, W // pool
        if problem:
            raise ValueError(f"{owner}: conv block {i}: {problem}; input_shape {tuple(shape)} was inferred from "
                             f"{n_features} features: pass input_shape=(C, H, W), or X as (n, C, H, W) images")


def _input_shape(owner, input_shape, n_features):
    """(C, H, W) from the parameter; None: (1, s, s) for a square number of
    features s * s, else (1, 1, n_features)."""
    if input_shape is None:
        if n_features is None:
            raise ValueError(f"{owner}: input_shape is None and there is no data to infer it from")
        s = int(round(np.sqrt(n_features)))
        return (1, s, s) if s * s == n_features else (1, 1, int(n_features))
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise TypeError(f"{owner}: input_shape must be (C, H, W), got {input_shape!r}") from None
    if len(shape) != 3 or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1 for v in shape):
        raise ValueError(f"{owner}: input_shape must be 3 positive ints (C, H, W), got {input_shape!r}")
    return tuple(int(v) for v in shape)


class _BaseCNN(_NetworkEstimator):
    _kind = "cnn"
    _reference = _ref
    _ROLLBACK = _NetworkEstimator._ROLLBACK + ("_input_shape_used", "_images_shape", "_y_1d")

    # ---- parameters ---------------------------------------------------------------
    def _shape(self, X=None):
        fitted = getattr(self, "_input_shape_used", None)
        if fitted is not None:
            return fitted
        return _input_shape(type(self).__name__, self.input_shape, None if X is None else X.shape[1])

    def _arch_params(self, X):
        o = type(self).__name__
        shape = self._shape(X)
        conv = parse_conv_layers(o, self.conv_layers)
        h = _hidden_sizes(o, self.hidden_layer_sizes)
        if len(h) > MAX_HIDDEN:
            raise ValueError(f"{o}: hidden_layer_sizes has {len(h)} layers, a CNN supports at most {MAX_HIDDEN}")
        pad = lambda v: v + [0] * (MAX_CONV - len(v))  # noqa: E731
        return {"task": self._task_code(), "n_classes": self._n_classes_param(), "input_shape": list(shape),
                "n_conv": len(conv), "conv_filters": pad([c["filters"] for c in conv]),
                "conv_kernel_size": pad([c["kernel_size"] for c in conv]),
                "conv_stride": pad([c["stride"] for c in conv]), "conv_padding": pad([c["padding"] for c in conv]),
                "conv_pool": pad([c["pool"] for c in conv]),
                "conv_pool_type": pad([_POOL_TYPES[c["pool_type"]] for c in conv]),
                "conv_batch_norm": pad([int(c["batch_norm"]) for c in conv]),
                "n_hidden": len(h), "hidden_layer_sizes": h + [0] * (MAX_HIDDEN - len(h)),
                "activation": _choice(o, "activation", self.activation, ACTIVATIONS),
                "batch_norm_momentum": _real(o, "batch_norm_momentum", self.batch_norm_momentum, 0.0, 1.0,
                                             low_open=True),
                "batch_norm_eps": _real(o, "batch_norm_eps", self.batch_norm_eps, 0.0, low_open=True)}

    def _arch_params_for_key(self, params):
        keys = ("task", "n_classes", "input_shape", "n_conv", "conv_filters", "conv_kernel_size", "conv_stride",
                "conv_padding", "conv_pool", "conv_pool_type", "conv_batch_norm", "n_hidden", "hidden_layer_sizes",
                "activation", "dropout")
        return {k: params[k] for k in keys if k in params}

    def _n_classes_param(self):
        return 0

    # ---- input --------------------------------------------------------------------------
    def _flatten(self, X):
        """(n, C, H, W) images -> (n, C * H * W) rows (checked against input_shape);
        other inputs unchanged (validate_data checks them)."""
        if hasattr(X, "ndim") or isinstance(X, (list, tuple)):
            a = np.asarray(X) if not hasattr(X, "ndim") else X
            if getattr(a, "ndim", 2) == 4:
                want = getattr(self, "_input_shape_used", None) or (
                    None if self.input_shape is None else _input_shape(type(self).__name__, self.input_shape, None))
                if want is not None and tuple(a.shape[1:]) != tuple(want):
                    raise ValueError(f"{type(self).__name__}: X has images of shape {tuple(a.shape[1:])}, "
                                     f"input_shape is {tuple(want)}")
                if want is None:
                    self._images_shape = tuple(int(v) for v in a.shape[1:])
                return np.asarray(a).reshape(a.shape[0], int(np.prod(a.shape[1:])))
            if getattr(a, "ndim", 2) not in (1, 2):
                raise ValueError(f"{type(self).__name__}: X must be (n, C, H, W) images or (n, C * H * W) rows, "
                                 f"got {a.ndim} dimensions")
        return X

    def _check_features(self, X):
        shape = self._shape(X)
        if getattr(self, "_images_shape", None) is not None and self.input_shape is None:
            shape = self._images_shape
        need = shape[0] * shape[1] * shape[2]
        if X.shape[1] != need:
            raise ValueError(f"{type(self).__name__}: X has {X.shape[1]} features, input_shape {shape} needs {need}")
        if self.input_shape is None and getattr(self, "_images_shape", None) is None:
            _check_geometry(type(self).__name__, shape, parse_conv_layers(type(self).__name__, self.conv_layers),
                            X.shape[1])
        self._input_shape_used = shape

    def _apply(self, method, X):
        return super()._apply(method, self._flatten(X))

    # ---- fitted attributes ---------------------------------------------------------------
    def _set_layer_attributes(self):
        """coefs_ / intercepts_: each conv and dense layer's weight and bias (conv
        (filters, C, k, k), dense (n_in, n_out), as scikit-learn's coefs_)."""
        p = self._params(None)
        K = int(np.asarray(self._state["n_outputs"]))
        layers = _ref.build_layers(p, K)
        params = np.asarray(self._state["params"])
        self.coefs_, self.intercepts_ = [], []
        for L in layers:
            if L["kind"] in ("conv", "linear"):
                self.coefs_.append(params[L["w_off"]:L["w_off"] + L["w_n"]].reshape(L["w_shape"]).copy())
                self.intercepts_.append(params[L["b_off"]:L["b_off"] + L["b_n"]].copy())  # empty: no bias
        self.n_layers_ = len(self.coefs_) + 1
        self.n_outputs_ = K

    @classmethod
    def _from_native(cls, model, backend):
        # the flat view of mfs_cnn_params (the `train` member's fields by name)
        p = {k: (list(v) if not isinstance(v, (int, float)) else v) for k, v in model.params().items()}
        inv = lambda d, v: {b: a for a, b in d.items()}[v]  # noqa: E731
        conv = [{"filters": int(p["conv_filters"][i]), "kernel_size": int(p["conv_kernel_size"][i]),
                 "stride": int(p["conv_stride"][i]), "padding": int(p["conv_padding"][i]),
                 "pool": int(p["conv_pool"][i]), "pool_type": inv(_POOL_TYPES, p["conv_pool_type"][i]),
                 "batch_norm": bool(p["conv_batch_norm"][i])} for i in range(p["n_conv"])]
        est = cls(input_shape=tuple(int(v) for v in p["input_shape"]), conv_layers=conv,
                  hidden_layer_sizes=tuple(int(v) for v in p["hidden_layer_sizes"][:p["n_hidden"]]),
                  activation=inv(ACTIVATIONS, p["activation"]), batch_norm_momentum=p["batch_norm_momentum"],
                  batch_norm_eps=p["batch_norm_eps"], backend=backend, **cls._train_kwargs(p))
        est._seed_used = int(p["random_state"])
        est._input_shape_used = tuple(int(v) for v in p["input_shape"])
        est._native = model
        est._state = model.arrays()
        est.n_features_in_ = model.n_features_in
        est._fit_params_arch = est._arch_key(est._params(None))
        if p["task"] == _TASK_CLASSIFICATION:
            est.classes_ = np.arange(int(np.asarray(est._state["n_outputs"])))
        est._set_network_attributes()
        return est


_DOC = """
    input_shape : tuple (C, H, W) or None, default=None
        Shape of one image; X is (n, C, H, W) or flat (n, C * H * W) in NCHW
        order. None: (C, H, W) of 4-D X, else (1, s, s) for s * s features,
        else (1, 1, n_features).
    conv_layers : list of dict or str, default=None
        The conv blocks, each conv2d -> [batch norm] -> activation -> [pool]:
        dicts with "filters" and optionally "kernel_size" (3), "stride" (1),
        "padding" (kernel_size // 2), "pool" (0: none; p: p x p window, stride p),
        "pool_type" ("max" or "avg"), "batch_norm" (False); or the compact
        string "16x3p1/2,32x3p1/2+bn". None: two blocks of 16 and 32 3x3
        filters with 2x2 max-pooling (at most 8 blocks).
    hidden_layer_sizes : tuple of int, default=(128,)
        Dense layers after the conv blocks (at most 8).
    activation : {"relu", "tanh", "logistic", "identity", "gelu"}, default="relu"
    solver, alpha, batch_size, learning_rate, learning_rate_init, power_t,
    max_iter, shuffle, random_state, tol, verbose, warm_start, momentum,
    nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2,
    epsilon, n_iter_no_change, dropout :
        As mfs.MLPClassifier (scikit-learn's MLP parameters; dropout on the
        hidden dense layers).
    batch_norm_momentum, batch_norm_eps : float, default=0.1, 1e-5
        PyTorch's BatchNorm2d momentum and eps.
    backend : {"c", "cuda", "python"}, default="c"

    Attributes
    ----------
    coefs_, intercepts_ : lists of ndarray
        Per conv layer the weight (filters, C, k, k) and bias (empty for a
        conv followed by batch norm, which has none), per dense layer the
        weight (n_in, n_out) and bias.
    loss_, loss_curve_, best_loss_, validation_scores_, best_validation_score_,
    n_iter_, t_, n_layers_, n_outputs_ : as MLPClassifier
"""


@register
class CNNClassifier(ClassifierMixin, MfsClassifier, _BaseCNN):
    __doc__ = """Convolutional network classifier (softmax cross-entropy), trained
    from scratch in C (or CUDA, or the numpy reference).

    Parameters
    ----------""" + _DOC + """    classes_ : ndarray

    Examples
    --------
    >>> import numpy as np, mfs
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 1, 6, 6)).astype(np.float32)
    >>> y = (X[:, 0, :3].sum(axis=(1, 2)) > X[:, 0, 3:].sum(axis=(1, 2))).astype(int)
    >>> clf = mfs.CNNClassifier(conv_layers="4x3p1/2", hidden_layer_sizes=(16,), max_iter=60,
    ...                         learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> bool(clf.score(X, y) > 0.9)
    True
    """

    def __init__(self, input_shape=None, conv_layers=None, hidden_layer_sizes=(128,), activation="relu", *,
                 solver="adam", alpha=1e-4, batch_size="auto", learning_rate="constant", learning_rate_init=1e-3,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, dropout=0.0,
                 batch_norm_momentum=0.1, batch_norm_eps=1e-5, backend="c"):
        store_params(self, locals())

    def _task_code(self):
        return _TASK_CLASSIFICATION

    def _n_classes_param(self):
        classes = getattr(self, "classes_", None)
        return 0 if classes is None else len(classes)

    def _encode(self, y, classes=None):
        yi = self._encode_y(y, classes)
        if len(self.classes_) < 2:
            only = self.classes_[0]
            only = only.item() if isinstance(only, np.generic) else only
            raise ValueError(f"{type(self).__name__}: needs samples of at least 2 classes in the data, but the "
                             f"data contains only one class: {only!r}")
        return yi

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n, C, H, W) or (n, C * H * W) and labels y (n,);
        sample_weight (n,) >= 0 weighs each row's loss (CPU backends). Returns self."""
        self._check_backend()
        with self._rollback_on_error():
            self._images_shape = None
            self._input_shape_used = None
            X = self._flatten(X)
            X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1,
                                 ensure_all_finite=self.backend == "python")
            self._check_features(X)
            prev = getattr(self, "classes_", None)
            yi = self._encode(y)
            if self._continues():
                self._check_warm_classes(prev)
            self._params(X)
            return self._train(X, yi, partial=False, sample_weight=sample_weight)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over X, y from the current state (the first call needs `classes`)."""
        self._check_backend()
        first = getattr(self, "_state", None) is None
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        with self._rollback_on_error():
            X = self._flatten(X)
            X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1, reset=first,
                                 ensure_all_finite=self.backend == "python")
            if first:
                self._check_features(X)
                yi = self._encode(y, classes=np.unique(np.asarray(classes)))
            else:
                self._check_partial_classes(classes)
                yi = self._encode(y, classes=self.classes_)
            return self._train(X, yi, partial=True, sample_weight=sample_weight)

    def predict(self, X):
        """Labels (n,) for images X (n, C, H, W) or rows (n, C * H * W)."""
        return self._decode(self._apply("predict", X))

    def predict_proba(self, X):
        """Class probabilities (n, n_classes), columns in classes_ order."""
        return self._apply("predict_proba", X)

    def predict_log_proba(self, X):
        return np.log(np.maximum(self.predict_proba(X), np.finfo(np.float64).tiny))

    @property
    def out_activation_(self):
        check_is_fitted(self, "_state")
        return "softmax"

    @classmethod
    def _accepts(cls, params):
        return params["task"] == _TASK_CLASSIFICATION


@register
class CNNRegressor(RegressorMixin, _BaseCNN):
    __doc__ = """Convolutional network regressor (identity output, scikit-learn's
    squared loss), trained from scratch in C (or CUDA, or the numpy reference).

    Parameters
    ----------""" + _DOC + """
    Examples
    --------
    >>> import numpy as np, mfs
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 1, 4, 4)).astype(np.float32)
    >>> y = X.mean(axis=(1, 2, 3))
    >>> reg = mfs.CNNRegressor(conv_layers="4x3p1", hidden_layer_sizes=(16,), max_iter=200,
    ...                        learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> bool(reg.score(X, y) > 0.8)
    True
    """

    def __init__(self, input_shape=None, conv_layers=None, hidden_layer_sizes=(128,), activation="relu", *,
                 solver="adam", alpha=1e-4, batch_size="auto", learning_rate="constant", learning_rate_init=1e-3,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, dropout=0.0,
                 batch_norm_momentum=0.1, batch_norm_eps=1e-5, backend="c"):
        store_params(self, locals())

    def _task_code(self):
        return _TASK_REGRESSION

    def _targets(self, y):
        return _float32_targets(self, y)

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n, C, H, W) or (n, C * H * W) and y (n,) or (n, n_targets);
        sample_weight as CNNClassifier.fit. Returns self."""
        self._check_backend()
        with self._rollback_on_error():
            self._images_shape = None
            self._input_shape_used = None
            X = self._flatten(X)
            X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1, multi_output=True,
                                 y_numeric=True, ensure_all_finite=self.backend == "python")
            y = _column_y(y)  # a column y: 1-D with a DataConversionWarning, as MLPRegressor and scikit-learn
            self._check_features(X)
            yt = self._targets(y)
            if self._continues() and self._can_warm_start(self._params(X)):
                _check_same_outputs(self, yt, "warm_start continues the previous fit")
            self._y_1d = np.ndim(y) == 1
            self._params(X)
            return self._train(X, yt, partial=False, sample_weight=sample_weight)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over X, y from the current state."""
        self._check_backend()
        first = getattr(self, "_state", None) is None
        with self._rollback_on_error():
            X = self._flatten(X)
            X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1, reset=first,
                                 multi_output=True, y_numeric=True, ensure_all_finite=self.backend == "python")
            y = _column_y(y)
            yt = self._targets(y)
            if first:
                self._check_features(X)
                self._y_1d = np.ndim(y) == 1
            else:
                _check_same_outputs(self, yt, "partial_fit continues the fitted network")
            return self._train(X, yt, partial=True, sample_weight=sample_weight)

    def predict(self, X):
        """Predictions (n,) or (n, n_targets)."""
        out = self._apply("predict", X)
        if out.ndim == 2 and out.shape[1] == 1 and getattr(self, "_y_1d", True):
            out = out.ravel()
        return out

    @property
    def out_activation_(self):
        check_is_fitted(self, "_state")
        return "identity"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y (n, n_targets): one output per target
        return tags

    @classmethod
    def _accepts(cls, params):
        return params["task"] == _TASK_REGRESSION
