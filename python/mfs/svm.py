"""Support vector machines: SVC and SVR (kernel SMO, libsvm's algorithm) and
LinearSVC (dual coordinate descent, liblinear's algorithm), as scikit-learn
names them."""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _native
from ._base import (META_CLASS_WEIGHT, MfsClassifier, MfsEstimator, class_weights, decode_meta, encode_meta,
                    proba_rows, register, store_params)
from .reference import linear_svm as _ref_linear
from .reference import svm as _ref

_KERNELS = {"linear": 0, "poly": 1, "rbf": 2, "sigmoid": 3}
_KERNEL_NAMES = {v: k for k, v in _KERNELS.items()}
_GAMMA_SCALE, _GAMMA_AUTO = -1.0, -2.0


def _real(owner, name, value, low=None, strict=False, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{owner}: {name} is {value}, it must be finite")
    if low is not None and (v <= low if strict else v < low):
        raise ValueError(f"{owner}: {name} is {value}, it must be {'>' if strict else '>='} {low}")
    if high is not None and v > high:
        raise ValueError(f"{owner}: {name} is {value}, it must be <= {high}")
    return v


def _int(owner, name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__}")
    if value < low or value > 2**31 - 1:
        raise ValueError(f"{owner}: {name} is {value}, it must be >= {low}")
    return int(value)


def _bool(owner, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be a bool, got {type(value).__name__}")
    return int(bool(value))


def _seed(random_state):
    """The C library's seed from a random_state, as scikit-learn's SVC draws it."""
    return int(check_random_state(random_state).randint(np.iinfo("i").max))


def _fit_backend_f64(est, X, y, inputs):
    """MfsEstimator._fit_backend, but the input arrays (class weights) go to C
    in float64: libsvm scales C by them in double, and so do we."""
    if est._check_backend() == "python":
        return MfsEstimator._fit_backend(est, X, y, inputs)
    model = _native.NativeModel.create(est._kind, est._params(X), est.backend)
    for name, value in (inputs or {}).items():
        model.set_array(name, np.ascontiguousarray(value, dtype=np.float64))
    model.fit(X, y)
    est._native = model
    est._state = model.arrays()
    est._set_attributes()
    return est


def _sample_weight(est, sample_weight, X):
    """scikit-learn's sample_weight as float64 (libsvm scales C by it in
    double): (n_samples,), finite, >= 0 and not all 0; None stays None."""
    if sample_weight is None:
        return None
    w = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    with np.errstate(over="ignore"):
        overflow = not np.all(np.isfinite(w * float(est.C)))
    if overflow:
        raise ValueError(f"{type(est).__name__}: sample_weight times C={est.C} overflows float64")
    if not np.any(w > 0):
        raise ValueError(f"{type(est).__name__}: every sample_weight is 0; at least one must be > 0")
    return np.ascontiguousarray(w, dtype=np.float64)


class _BaseSVM(MfsEstimator):
    """Shared by SVC and SVR: parameters, fitting, fitted attributes."""

    _kind = "svm"
    _reference = _ref
    _variant = None

    def _fit_backend(self, X, y=None, inputs=None):
        return _fit_backend_f64(self, X, y, inputs)

    def _kernel_params(self):
        name = type(self).__name__
        if not isinstance(self.kernel, str) or self.kernel not in _KERNELS:
            if callable(self.kernel) or self.kernel == "precomputed":
                raise ValueError(f"{name}: kernel {self.kernel!r} is not supported; use one of {sorted(_KERNELS)}")
            raise ValueError(f"{name}: kernel must be one of {sorted(_KERNELS)}, got {self.kernel!r}")
        if isinstance(self.gamma, str):
            if self.gamma not in ("scale", "auto"):
                raise ValueError(f"{name}: gamma must be 'scale', 'auto' or a float > 0, got {self.gamma!r}")
            gamma = _GAMMA_SCALE if self.gamma == "scale" else _GAMMA_AUTO
        else:
            gamma = _real(name, "gamma", self.gamma, 0.0, strict=True)
        mi = self.max_iter
        if isinstance(mi, bool) or not isinstance(mi, numbers.Integral):
            raise TypeError(f"{name}: max_iter must be an int, got {type(mi).__name__}")
        if mi < -1 or mi > 2**31 - 1:
            raise ValueError(f"{name}: max_iter is {mi}, it must be >= 0 or -1 (no limit)")
        return {
            "variant": self._variant,
            "kernel": _KERNELS[self.kernel],
            "degree": _int(name, "degree", self.degree, 0),
            "gamma": gamma,
            "coef0": _real(name, "coef0", self.coef0),
            "tol": _real(name, "tol", self.tol, 0.0, strict=True),
            "C": _real(name, "C", self.C, 0.0, strict=True),
            "cache_size": _real(name, "cache_size", self.cache_size, 0.0, strict=True, high=1e9),
            "shrinking": _bool(name, "shrinking", self.shrinking),
            "max_iter": int(mi),
        }

    def _after_fit(self, X):
        s = self._state
        self.support_ = s["support"]
        self.support_vectors_ = s["support_vectors"]
        self._n_support = s["n_support"]
        self._dual_coef_ = s["dual_coef"]
        self._intercept_ = s["intercept"]
        self._gamma = float(s["gamma"])
        self.n_iter_ = s["n_iter"]
        stopped = self.max_iter >= 0 and bool(np.any(self.n_iter_ >= self.max_iter))
        self.fit_status_ = 1 if stopped else 0  # scikit-learn: 1 when max_iter ended the solve
        self.shape_fit_ = X.shape if X is not None else (0, self.n_features_in_)
        self.dual_coef_ = self._dual_coef_
        self.intercept_ = self._intercept_
        if stopped and X is not None:
            warnings.warn(f"Solver terminated early (max_iter={self.max_iter}).  Consider pre-processing your "
                          "data with StandardScaler or MinMaxScaler.", ConvergenceWarning, stacklevel=3)

    @property
    def n_support_(self):
        """Number of support vectors of each class (SVR: all of them, one value)."""
        try:
            check_is_fitted(self, "_state")
        except Exception:
            raise AttributeError("n_support_")
        return self._n_support

    @property
    def coef_(self):
        """Primal weights (linear kernel only): (1, d) for SVR and binary SVC,
        (K(K-1)/2, d) one row per class pair otherwise."""
        if self.kernel != "linear":
            raise AttributeError("coef_ is only available when using a linear kernel")
        check_is_fitted(self, "_state")
        if self.dual_coef_.shape[0] == 1:
            coef = self.dual_coef_ @ self.support_vectors_.astype(np.float64)
        else:
            coef = np.vstack(_one_vs_one_coef(self.dual_coef_, self._n_support,
                                              self.support_vectors_.astype(np.float64)))
        coef.flags.writeable = False
        return coef

    def _run(self, method, X):
        check_is_fitted(self, "_state")
        native = self._native
        if native is not None and method in ("decision_function", "predict_log_proba"):
            lib = _native.lib
            which = {"decision_function": (lib.MFS_METHOD_DECISION_FUNCTION, lib.mfs_decision_function),
                     "predict_log_proba": (lib.MFS_METHOD_PREDICT_LOG_PROBA, lib.mfs_predict_log_proba)}
            return native._apply(*which[method], X)
        return super()._run(method, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


def _one_vs_one_coef(dual_coef, n_support, sv):
    """Primal weights of every class pair (i, j), i < j, as libsvm lays out the
    dual coefficients: class i's SVs in row j - 1, class j's in row i."""
    K = dual_coef.shape[0] + 1
    loc = np.concatenate([[0], np.cumsum(n_support)])
    out = []
    for i in range(K):
        for j in range(i + 1, K):
            a1 = dual_coef[j - 1, loc[i]:loc[i + 1]]
            a2 = dual_coef[i, loc[j]:loc[j + 1]]
            out.append(a1 @ sv[loc[i]:loc[i + 1]] + a2 @ sv[loc[j]:loc[j + 1]])
    return out


@register
class SVC(ClassifierMixin, MfsClassifier, _BaseSVM):
    """C-support vector classification with a kernel, fitted by SMO in C
    (libsvm's solver: second-order working-set selection, shrinking, an LRU
    kernel-row cache), on CUDA, or by the numpy reference. Multi-class is
    one-vs-one, as libsvm.

    Parameters
    ----------
    C : float, default=1.0
        Box constraint (> 0): the penalty of margin violations.
    kernel : {"linear", "poly", "rbf", "sigmoid"}, default="rbf"
    degree : int, default=3
        Degree of the poly kernel (>= 0).
    gamma : {"scale", "auto"} or float, default="scale"
        Kernel coefficient: "scale" is 1 / (n_features * X.var()), "auto" 1 / n_features.
    coef0 : float, default=0.0
        Offset of the poly and sigmoid kernels.
    shrinking : bool, default=True
        libsvm's shrinking heuristic.
    probability : bool, default=False
        ("deprecated", scikit-learn 1.9's default, is False.)
        Fit Platt sigmoids on 5-fold cross-validated decision values (as libsvm;
        folds drawn from libmfs's RNG, so the probabilities are close to, not
        equal to, scikit-learn's) and enable predict_proba.
    tol : float, default=1e-3
        Stop when the maximal KKT violation is below tol (libsvm's eps).
    cache_size : float, default=200
        Kernel-row cache in MB.
    class_weight : dict or "balanced", default=None
        Class i's C becomes C * class_weight[i].
    verbose : bool, default=False
        Accepted for compatibility; libmfs prints nothing.
    max_iter : int, default=-1
        Most SMO iterations per class pair; -1 is no limit.
    decision_function_shape : {"ovr", "ovo"}, default="ovr"
    break_ties : bool, default=False
        With "ovr" and more than 2 classes, predict is the argmax of
        decision_function instead of the one-vs-one vote.
    random_state : int, RandomState or None, default=None
        Seeds the probability folds.
    backend : {"c", "cuda", "python"}, default="c"

    Attributes
    ----------
    classes_, support_, support_vectors_, n_support_, dual_coef_, intercept_,
    n_iter_, fit_status_, shape_fit_, class_weight_, probA_, probB_ (with
    probability), coef_ (linear kernel), n_features_in_ : as scikit-learn's SVC.

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[-1.0, -1.0], [-2.0, -1.0], [1.0, 1.0], [2.0, 1.0]])
    >>> clf = mfs.svm.SVC().fit(X, ["a", "a", "b", "b"])
    >>> clf.predict([[-0.8, -1.0]]).tolist()
    ['a']
    """

    _variant = 0
    _attributes = {}

    def __init__(self, *, C=1.0, kernel="rbf", degree=3, gamma="scale", coef0=0.0, shrinking=True,
                 probability=False, tol=1e-3, cache_size=200, class_weight=None, verbose=False, max_iter=-1,
                 decision_function_shape="ovr", break_ties=False, random_state=None, backend="c"):
        store_params(self, locals())

    def _params(self, X):
        name = type(self).__name__
        p = self._kernel_params()
        if not isinstance(self.decision_function_shape, str) or self.decision_function_shape not in ("ovr", "ovo"):
            raise ValueError(f"{name}: decision_function_shape must be 'ovr' or 'ovo', "
                             f"got {self.decision_function_shape!r}")
        p["probability"] = _bool(name, "probability", self._probability())
        p["decision_function_shape"] = 1 if self.decision_function_shape == "ovr" else 0
        p["break_ties"] = _bool(name, "break_ties", self.break_ties)
        if p["break_ties"] and p["decision_function_shape"] == 0:
            raise ValueError("break_ties must be False when decision_function_shape is 'ovo'")
        p["random_state"] = getattr(self, "_seed_", 0)
        return p

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n_samples, n_features) and labels y of at least two
        classes. sample_weight (n_samples,) >= 0, not all zero, rescales each
        row's box as libsvm's: C_i = C * class_weight_[y_i] * sample_weight[i];
        rows of weight 0 are left out of the fit (never support vectors), and
        every class needs a row of weight > 0. Returns self."""
        self._check_backend()
        self._params(None)  # parameter errors before any work
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1,
                             ensure_all_finite=self.backend == "python")
        sw = _sample_weight(self, sample_weight, X)
        yi = self._encode_y(y)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__}: the number of classes has to be greater than one; "
                             f"got {len(self.classes_)} class")
        self.class_weight_ = class_weights(self, yi)
        if np.any(self.class_weight_ <= 0):
            raise ValueError(f"{type(self).__name__}: class weights must be > 0, got {self.class_weight_}")
        self._seed_ = _seed(self.random_state)
        inputs = {"class_weight": self.class_weight_}
        if sw is not None:
            inputs["sample_weight"] = sw
        self._fit_backend(X, yi, inputs=inputs)
        self._after_fit(X)
        if len(self.classes_) == 2:  # scikit-learn: positive values mean classes_[1]
            self.intercept_ = -self._intercept_
            self.dual_coef_ = -self._dual_coef_
        if self._probability():
            self.probA_ = self._state["prob_a"]
            self.probB_ = self._state["prob_b"]
        else:
            self.probA_ = np.empty(0)
            self.probB_ = np.empty(0)
        return self

    def decision_function(self, X):
        """(n_samples,) for two classes (positive means classes_[1]); else
        (n_samples, n_classes) for "ovr" or (n_samples, n_pairs) for "ovo"."""
        out = self._apply("decision_function", X)
        return out.astype(np.float64)

    def predict(self, X):
        """Class labels: one-vs-one vote (ties to the lower class), or with
        break_ties the argmax of decision_function."""
        return self._decode(self._apply("predict", X))

    def _probability(self):
        """probability as a bool: scikit-learn 1.9's default "deprecated" is
        False (it deprecates probability=True for CalibratedClassifierCV)."""
        return False if isinstance(self.probability, str) and self.probability == "deprecated" else self.probability

    def _check_proba(self):
        if not self._probability():
            raise AttributeError("predict_proba is not available when probability=False")
        return True

    @available_if(_check_proba)
    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes) from the pairwise Platt
        sigmoids and Wu, Lin & Weng's coupling."""
        self._check_backend()
        check_is_fitted(self, "_state")
        if not self._state.get("prob_a", np.empty(0)).size:
            from sklearn.exceptions import NotFittedError
            raise NotFittedError("predict_proba is not available when fitted with probability=False")
        return proba_rows(self._apply("predict_proba", X).astype(np.float64))

    @available_if(_check_proba)
    def predict_log_proba(self, X):
        """Log of predict_proba."""
        return np.log(self.predict_proba(X))

    @classmethod
    def _accepts(cls, params):
        return params["variant"] == cls._variant

    # ---- model files: class_weight_ travels as metadata (the C model only
    # applies the weights to C; without it a loaded SVC reported ones)
    def _meta_arrays(self):
        meta = super()._meta_arrays()
        cw = getattr(self, "class_weight_", None)
        if cw is not None:
            data = encode_meta(np.asarray(cw, dtype=np.float64), "class_weight_")
            if data is not None:
                meta[META_CLASS_WEIGHT] = data
        return meta

    def _restore_meta(self, model):
        names = super()._restore_meta(model)
        if META_CLASS_WEIGHT in names:
            cw = decode_meta(model.get(META_CLASS_WEIGHT), META_CLASS_WEIGHT)
            if (cw.dtype.kind != "f" or len(cw) != len(self.classes_) or not np.all(np.isfinite(cw))
                    or np.any(cw <= 0)):
                raise _native.ModelFormatError(
                    f"mfs.load: {META_CLASS_WEIGHT} must hold {len(self.classes_)} finite weights > 0, got "
                    f"{len(cw)} values of dtype {cw.dtype}")
            self.class_weight_ = cw
        return names

    @classmethod
    def _from_native(cls, model, backend):
        p = model.params()
        est = cls(**_common_from_params(p), probability=bool(p["probability"]),
                  decision_function_shape="ovr" if p["decision_function_shape"] == 1 else "ovo",
                  break_ties=bool(p["break_ties"]), backend=backend)
        est._seed_ = int(p["random_state"])
        est._native = model
        est._state = model.arrays()
        est.n_features_in_ = model.n_features_in
        est.classes_ = np.arange(est._state["n_support"].shape[0])
        est.class_weight_ = np.ones(len(est.classes_))
        est._after_fit(None)
        if len(est.classes_) == 2:
            est.intercept_ = -est._intercept_
            est.dual_coef_ = -est._dual_coef_
        est.probA_ = est._state.get("prob_a", np.empty(0))
        est.probB_ = est._state.get("prob_b", np.empty(0))
        return est


def _common_from_params(p):
    g = p["gamma"]
    gamma = "scale" if g == _GAMMA_SCALE else ("auto" if g == _GAMMA_AUTO else g)
    return dict(C=p["C"], kernel=_KERNEL_NAMES[p["kernel"]], degree=p["degree"], gamma=gamma, coef0=p["coef0"],
                shrinking=bool(p["shrinking"]), tol=p["tol"], cache_size=p["cache_size"], max_iter=p["max_iter"])


@register
class SVR(RegressorMixin, _BaseSVM):
    """Epsilon-support vector regression with a kernel, fitted by SMO in C
    (libsvm's solver), on CUDA, or by the numpy reference.

    Parameters
    ----------
    kernel, degree, gamma, coef0, tol, C, shrinking, cache_size, verbose,
    max_iter : as SVC.
    epsilon : float, default=0.1
        Width of the tube within which errors cost nothing (>= 0).
    backend : {"c", "cuda", "python"}, default="c"

    Attributes
    ----------
    support_, support_vectors_, n_support_, dual_coef_, intercept_, n_iter_,
    fit_status_, shape_fit_, coef_ (linear kernel), n_features_in_ : as
    scikit-learn's SVR.

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.arange(10.0).reshape(-1, 1); y = 2 * X.ravel()
    >>> reg = mfs.svm.SVR(kernel="linear", C=10.0).fit(X, y)
    >>> round(float(reg.predict([[4.0]])[0]), 1)
    8.0
    """

    _variant = 1
    _attributes = {}

    def __init__(self, *, kernel="rbf", degree=3, gamma="scale", coef0=0.0, tol=1e-3, C=1.0, epsilon=0.1,
                 shrinking=True, cache_size=200, verbose=False, max_iter=-1, backend="c"):
        store_params(self, locals())

    def _params(self, X):
        p = self._kernel_params()
        p["epsilon"] = _real(type(self).__name__, "epsilon", self.epsilon, 0.0)
        return p

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n_samples, n_features) and real targets y (n_samples,).
        sample_weight (n_samples,) >= 0, not all zero: C_i = C *
        sample_weight[i] on both of row i's multipliers, as libsvm; rows of
        weight 0 are left out of the fit. Returns self."""
        self._check_backend()
        self._params(None)
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1, y_numeric=True,
                             ensure_all_finite=self.backend == "python")
        sw = _sample_weight(self, sample_weight, X)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(f"SVR: y must be 1-D, got shape {y.shape}")
        y = np.ascontiguousarray(y, dtype=np.float32)
        self._fit_backend(X, y, inputs=None if sw is None else {"sample_weight": sw})
        self._after_fit(X)
        return self

    def predict(self, X):
        """Predicted values sum_i dual_coef_i K(sv_i, x) + intercept_."""
        out = self._apply("predict", X)
        return out

    @classmethod
    def _accepts(cls, params):
        return params["variant"] == cls._variant

    @classmethod
    def _from_native(cls, model, backend):
        p = model.params()
        est = cls(**_common_from_params(p), epsilon=p["epsilon"], backend=backend)
        est._native = model
        est._state = model.arrays()
        est.n_features_in_ = model.n_features_in
        est._after_fit(None)
        return est


_LOSSES = {"hinge": 0, "squared_hinge": 1}


@register
class LinearSVC(ClassifierMixin, MfsClassifier):
    """Linear support vector classification (L2 penalty) by dual coordinate
    descent in C (liblinear's solver, Hsieh et al. 2008), one-vs-rest for more
    than two classes.

    dual=True solves the dual by coordinate descent; dual=False solves the
    primal (squared hinge only) by Newton's method with conjugate gradients;
    "auto" picks the primal when n_samples >= n_features and the loss is the
    squared hinge, as scikit-learn. The primal converges in a few iterations
    where the dual's coordinate descent crawls (features of very different
    scales). The dual's coordinate order is shuffled with libmfs's RNG, not
    liblinear's, so coefficients match scikit-learn's only to the stopping
    tolerance.

    Parameters
    ----------
    penalty : {"l2"}, default="l2"
    loss : {"squared_hinge", "hinge"}, default="squared_hinge"
    dual : {"auto", True, False}, default="auto"
    tol : float, default=1e-4
        Dual: stop when the spread of the projected gradient is <= tol.
        Primal: stop when |gradient| <= tol * max(min(n+, n-), 1) / n times
        its norm at w = 0 (liblinear's rule; n+ and n- count each binary
        problem's two sides).
    C : float, default=1.0
    multi_class : {"ovr"}, default="ovr"
    fit_intercept : bool, default=True
    intercept_scaling : float, default=1.0
        Value of the constant feature that carries the (regularized) intercept.
    class_weight : dict or "balanced", default=None
    verbose : int, default=0
        Accepted for compatibility; libmfs prints nothing.
    random_state : int, RandomState or None, default=None
        Seeds the coordinate order.
    max_iter : int, default=1000
        Most passes over the data (dual) or Newton iterations (primal) per
        binary problem.
    backend : {"c", "cuda", "python"}, default="c"

    Attributes
    ----------
    classes_, coef_, intercept_, n_iter_, n_features_in_ : as scikit-learn's LinearSVC.

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[-1.0, -1.0], [-2.0, -1.0], [1.0, 1.0], [2.0, 1.0]])
    >>> mfs.svm.LinearSVC().fit(X, [0, 0, 1, 1]).predict([[1.5, 0.5]]).tolist()
    [1]
    """

    _kind = "linear_svm"
    _reference = _ref_linear
    _attributes = {"coef": "coef_", "intercept": "intercept_"}

    def __init__(self, penalty="l2", loss="squared_hinge", *, dual="auto", tol=1e-4, C=1.0, multi_class="ovr",
                 fit_intercept=True, intercept_scaling=1.0, class_weight=None, verbose=0, random_state=None,
                 max_iter=1000, backend="c"):
        store_params(self, locals())

    def _params(self, X):
        name = type(self).__name__
        if not isinstance(self.penalty, str) or self.penalty != "l2":
            raise ValueError(f"{name}: penalty={self.penalty!r} is not supported; libmfs solves penalty='l2'")
        if not isinstance(self.loss, str) or self.loss not in _LOSSES:
            raise ValueError(f"{name}: loss must be 'hinge' or 'squared_hinge', got {self.loss!r}")
        dual = self.dual
        if not (isinstance(dual, (bool, np.bool_)) or (isinstance(dual, str) and dual == "auto")):
            raise ValueError(f"{name}: dual must be 'auto', True or False, got {self.dual!r}")
        if isinstance(dual, (bool, np.bool_)) and not dual and self.loss == "hinge":
            raise ValueError(f"{name}: Unsupported set of arguments: the combination of penalty='l2' and "
                             "loss='hinge' are not supported when dual=False, Parameters: penalty='l2', "
                             "loss='hinge', dual=False")
        if isinstance(dual, str):  # scikit-learn's "auto": the primal for n_samples >= n_features
            primal = X is not None and X.shape[0] >= X.shape[1] and self.loss == "squared_hinge"
        else:
            primal = not dual
        if not isinstance(self.multi_class, str) or self.multi_class != "ovr":
            raise ValueError(f"{name}: multi_class={self.multi_class!r} is not supported; use 'ovr'")
        return {"loss": _LOSSES[self.loss], "fit_intercept": _bool(name, "fit_intercept", self.fit_intercept),
                "max_iter": _int(name, "max_iter", self.max_iter, 1), "C": _real(name, "C", self.C, 0.0, strict=True),
                "tol": _real(name, "tol", self.tol, 0.0, strict=True),
                "intercept_scaling": _real(name, "intercept_scaling", self.intercept_scaling, 0.0, strict=True),
                "random_state": getattr(self, "_seed_", 0), "solver": int(primal)}

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n_samples, n_features) and labels y of at least two
        classes. sample_weight (n_samples,) >= 0, not all zero, scales each
        row's C as liblinear's (C_i = C * class_weight_[y_i] * sample_weight[i],
        "balanced" class weights from the weighted class counts); rows of
        weight 0 are left out, and every class needs a row of weight > 0.
        Returns self."""
        self._check_backend()
        self._params(None)
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1,
                             ensure_all_finite=self.backend == "python")
        sw = _sample_weight(self, sample_weight, X)
        yi = self._encode_y(y)
        if len(self.classes_) < 2:
            only = self.classes_[0]
            only = only.item() if isinstance(only, np.generic) else only
            raise ValueError(f"{type(self).__name__}: this solver needs samples of at least 2 classes in the data, "
                             f"but the data contains only one class: {only!r}")
        cw = class_weights(self, yi, sw)  # "balanced" counts sample_weight, as LinearSVC's
        self._seed_ = _seed(self.random_state)
        inputs = {"class_weight": cw}
        if sw is not None:
            inputs["sample_weight"] = sw
        self._fit_backend(X, yi, inputs=inputs)
        self.n_iter_ = int(np.max(self._state["n_iter"]))
        if self.n_iter_ >= self.max_iter:
            warnings.warn("Liblinear failed to converge, increase the number of iterations.", ConvergenceWarning,
                          stacklevel=2)
        return self

    def _fit_backend(self, X, y=None, inputs=None):
        return _fit_backend_f64(self, X, y, inputs)

    def _run(self, method, X):
        check_is_fitted(self, "_state")
        if self._native is not None and method == "decision_function":
            lib = _native.lib
            return self._native._apply(lib.MFS_METHOD_DECISION_FUNCTION, lib.mfs_decision_function, X)
        return super()._run(method, X)

    def decision_function(self, X):
        """X @ coef_.T + intercept_: (n_samples,) for two classes, else (n_samples, n_classes)."""
        return self._apply("decision_function", X).astype(np.float64)

    def predict(self, X):
        """Class labels (argmax of decision_function; two classes: classes_[1] where it is > 0)."""
        return self._decode(self._apply("predict", X))

    @classmethod
    def _accepts(cls, params):
        return True

    @classmethod
    def _from_native(cls, model, backend):
        p = model.params()
        est = cls(loss="hinge" if p["loss"] == 0 else "squared_hinge", tol=p["tol"], C=p["C"],
                  fit_intercept=bool(p["fit_intercept"]), intercept_scaling=p["intercept_scaling"],
                  max_iter=p["max_iter"], dual=not p["solver"], backend=backend)
        est._seed_ = int(p["random_state"])
        est._native = model
        est._state = model.arrays()
        est.n_features_in_ = model.n_features_in
        est._set_attributes()
        est.n_iter_ = int(np.max(est._state["n_iter"]))
        k = est._state["coef"].shape[0]
        est.classes_ = np.arange(2 if k == 1 else k)
        return est
