"""Linear models: LinearRegression (OLS) and Ridge, as scikit-learn names them."""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import MultiOutputMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._base import MfsEstimator, register
from .reference import linear_regression as _ref

_SOLVERS = {"auto": 0, "cholesky": 1, "qr": 2}


def _check_bool(owner, name, value):
    """A bool parameter as the int C takes; anything else is a TypeError (as
    scikit-learn's validation: fit_intercept="no" must not mean True)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be a bool, got {value!r} ({type(value).__name__})")
    return int(bool(value))


def _check_n_jobs(owner, n_jobs):
    if n_jobs is not None and (isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, numbers.Integral)):
        raise TypeError(f"{owner}: n_jobs must be None or an int (it is ignored: libmfs uses "
                        f"mfs.set_num_threads threads), got {n_jobs!r}")


def _check_random_state(owner, random_state):
    from sklearn.utils import check_random_state
    try:
        check_random_state(random_state)
    except ValueError as e:
        raise ValueError(f"{owner}: random_state must be None, an int or a numpy RandomState, "
                         f"got {random_state!r} ({e})") from None


class _LinearBase(MultiOutputMixin, RegressorMixin, MfsEstimator):
    _kind = "linear_regression"
    _reference = _ref
    _attributes = {"coef": "coef_", "intercept": "intercept_", "rank": "rank_"}

    def _alpha(self):
        return 0.0

    def _params(self, X):
        name = type(self).__name__
        solver = getattr(self, "solver", "auto")
        if not isinstance(solver, str) or solver not in _SOLVERS:
            raise ValueError(f"{name}: solver must be one of {sorted(_SOLVERS)}, got {solver!r}")
        # scikit-learn's compatibility parameters: checked, then ignored
        _check_bool(name, "copy_X", self.copy_X)  # X is never modified (C works on a float32 copy)
        if not isinstance(self.positive, (bool, np.bool_)):
            raise TypeError(f"{name}: positive must be a bool, got {self.positive!r}")
        if self.positive:
            raise ValueError(f"{name}: positive=True (non-negative least squares) is not supported by libmfs")
        if hasattr(self, "n_jobs"):
            _check_n_jobs(name, self.n_jobs)
        if hasattr(self, "random_state"):
            _check_random_state(name, self.random_state)
        # scikit-learn's iterative solvers' settings (lsqr on sparse X, sag, ...):
        # every libmfs solver is direct
        _check_real(name, "tol", self.tol, 0.0, strict=False)
        mi = getattr(self, "max_iter", None)
        if mi is not None and (isinstance(mi, (bool, np.bool_)) or not isinstance(mi, numbers.Integral) or mi < 1):
            raise ValueError(f"{name}: max_iter must be None or an int >= 1, got {mi!r}")
        return {"alpha": float(self._alpha()),
                "fit_intercept": _check_bool(type(self).__name__, "fit_intercept", self.fit_intercept),
                "solver": _SOLVERS[solver]}

    def fit(self, X, y, sample_weight=None):
        """Fit the linear model on X (n_samples, n_features) and y (n_samples,) or
        (n_samples, n_targets), optionally weighting samples. Returns self."""
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", y_numeric=True,
                             multi_output=True, ensure_min_samples=1,
                             ensure_all_finite=self.backend == "python")
        y = np.ascontiguousarray(y, dtype=np.float32)
        if y.ndim == 2 and y.shape[1] == 0:
            raise ValueError(f"{type(self).__name__}: y has 0 targets")
        inputs = None
        if sample_weight is not None:
            w = _check_sample_weight(sample_weight, X, dtype=np.float32, ensure_non_negative=True)
            if not w.sum() > 0:
                raise ValueError(f"{type(self).__name__}: sample weights sum to zero")
            inputs = {"sample_weight": w}
        self._fit_backend(X, y, inputs=inputs)
        if not (np.all(np.isfinite(self.coef_)) and np.all(np.isfinite(self.intercept_))):
            # float32 overflow (coefficients beyond float32's range, or an
            # intermediate of the normal equations): never a silent inf/NaN model
            for attr in ("_state", "_native", "coef_", "intercept_", "rank_"):
                self.__dict__.pop(attr, None)
            raise ValueError(f"{type(self).__name__}: the fit gave non-finite coefficients (float32 overflow: "
                             f"the solution or the normal equations exceed float32's range, about 3.4e38); "
                             f"scale X and y (or try solver='qr')")
        return self

    def predict(self, X):
        """Predictions X @ coef_.T + intercept_, (n,) or (n, n_targets); float32
        for float32 X, else float64 (computed in float32)."""
        return self._apply("predict", X)

    @classmethod
    def _accepts(cls, params):
        return (params["alpha"] > 0) == (cls is Ridge)

    @classmethod
    def _from_native(cls, model, backend):
        p = model.params()
        est = cls(fit_intercept=bool(p["fit_intercept"]), backend=backend)
        if cls is Ridge:
            est.alpha = p["alpha"]
        est.solver = {v: k for k, v in _SOLVERS.items()}[p["solver"]]
        est._native = model
        est._state = model.arrays()
        est.n_features_in_ = model.n_features_in
        est._set_attributes()
        return est


@register
class LinearRegression(_LinearBase):
    """Ordinary least squares, solved from scratch in C (or CUDA, or numpy).

    Parameters
    ----------
    fit_intercept : bool, default=True
        Center X and y and fit an intercept.
    copy_X : bool, default=True
        Accepted for compatibility: X is never modified (the fit works on a
        float32 copy, or on X itself when it already is C-contiguous float32).
    n_jobs : int or None, default=None
        Accepted for compatibility and ignored: libmfs uses
        ``mfs.set_num_threads`` threads.
    tol : float, default=1e-6
        Accepted for compatibility (>= 0) and ignored: scikit-learn passes it
        to lsqr on sparse X only; libmfs's solvers are direct.
    positive : False, default=False
        Non-negative least squares is not implemented; True is an error.
    solver : {"auto", "cholesky", "qr"}, default="auto"
        "auto": Cholesky on the normal equations, falling back to a pivoted QR
        (full rank) or the minimum-norm pseudo-inverse (rank-deficient) when
        the Gram matrix is ill-conditioned.
    backend : {"c", "cuda", "python"}, default="c"
        Where to compute: the C library, its CUDA kernels, or the numpy reference.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    rank_ : int
        Numerical rank of the centered X (n_features when Cholesky succeeded).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([1.0, 3.0, 5.0])
    >>> reg = mfs.LinearRegression().fit(X, y)
    >>> round(float(reg.coef_[0]), 4), round(float(reg.intercept_), 4)
    (2.0, 1.0)
    """

    def __init__(self, *, fit_intercept=True, copy_X=True, tol=1e-6, n_jobs=None, positive=False, solver="auto",
                 backend="c"):
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.tol = tol
        self.n_jobs = n_jobs
        self.positive = positive
        self.solver = solver
        self.backend = backend


@register
class Ridge(_LinearBase):
    """Linear least squares with L2 penalty ``alpha * ||coef||^2``.

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength, >= 0 (the intercept is not penalized).
    fit_intercept : bool, default=True
    copy_X, positive : as LinearRegression.
    max_iter : int or None, default=None
    tol : float, default=1e-4
        Accepted for compatibility and ignored: scikit-learn's iterative
        solvers' settings (sparse_cg, lsqr, sag, saga, lbfgs); libmfs's
        solvers are direct.
    solver : {"auto", "cholesky", "qr"}, default="auto"
    random_state : int, RandomState or None, default=None
        Accepted for compatibility and ignored (scikit-learn uses it in its
        sag/saga solvers only; every libmfs solver is deterministic).
    backend : {"c", "cuda", "python"}, default="c"

    Attributes
    ----------
    coef_, intercept_, rank_, n_features_in_ : as LinearRegression.
    n_iter_ : None
        As scikit-learn's Ridge with a direct solver (it counts sag / lsqr
        iterations only).

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([1.0, 3.0, 5.0])
    >>> reg = mfs.Ridge(alpha=1.0).fit(X, y)
    >>> round(float(reg.coef_[0]), 4)
    1.3333
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, copy_X=True, max_iter=None, tol=1e-4, positive=False,
                 solver="auto", random_state=None, backend="c"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.positive = positive
        self.solver = solver
        self.random_state = random_state
        self.backend = backend

    def _set_attributes(self):
        super()._set_attributes()
        self.n_iter_ = None  # as scikit-learn's Ridge with its direct solvers (only sag / lsqr count)

    def _alpha(self):
        a = self.alpha
        if isinstance(a, bool) or not isinstance(a, numbers.Real):
            raise TypeError(f"Ridge: alpha must be a real number, got {type(a).__name__}")
        if not np.isfinite(float(a)) or a < 0:  # float(): Python ints beyond int64 too
            raise ValueError(f"Ridge: alpha is {a}, it must be a finite number >= 0")
        return a


# ---- Logistic Regression ------------------------------------------------------------

from sklearn.base import ClassifierMixin  # noqa: E402

from . import _native  # noqa: E402
from ._base import MfsClassifier, class_weights, float32_sample_weight, proba_rows  # noqa: E402
from .reference import logistic_regression as _ref_logistic  # noqa: E402


def _check_real(owner, name, value, low, *, strict, allow_inf=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {type(value).__name__}")
    value = float(value)  # Python ints beyond int64 too (np.isnan rejects them)
    bad = np.isnan(value) or (np.isinf(value) and not (allow_inf and value > 0))
    if bad or (value <= low if strict else value < low):
        rule = f"> {low}" if strict else f">= {low}"
        raise ValueError(f"{owner}: {name} is {value}, it must be a {'' if allow_inf else 'finite '}number {rule}")
    return float(value)


@register
class LogisticRegression(ClassifierMixin, MfsClassifier):
    """Logistic Regression (binary and multinomial) with an L2 penalty, fitted
    from scratch in C by L-BFGS (or on CUDA, or by the numpy reference).

    Minimizes scikit-learn's lbfgs objective
    ``(sum_i s_i log_loss_i + ||coef||^2 / (2 C)) / sum_i s_i`` (the intercept
    is not penalized; ``s_i`` is ``sample_weight``, 1 by default): one
    coefficient row for two classes (class ``classes_[1]`` against
    ``classes_[0]``), the softmax model with one row per class otherwise.

    Parameters
    ----------
    C : float, default=1.0
        Inverse of the penalty strength, > 0 (``np.inf``: no penalty).
    fit_intercept : bool, default=True
        Fit an unpenalized intercept.
    tol : float, default=1e-4
        Stop when the largest absolute gradient entry of the objective above
        (divided by the sum of the sample weights, n_samples without them) is
        <= tol (scikit-learn's ``gtol``).
    max_iter : int, default=100
        Most L-BFGS iterations.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, as scikit-learn's: each row's sample weight is
        multiplied by its class's (a dict ``{label: weight}``, classes not in
        it weigh 1; "balanced": ``n_samples / (n_classes * count)``, counting
        ``sample_weight`` when given).
    warm_start : bool, default=False
        Start from the previous fit's ``coef_`` and ``intercept_`` instead of
        zeros (their shape must match this fit's: classes and features).
    penalty : {"deprecated", "l2", None}, default="deprecated"
        Accepted for compatibility: the penalty is L2 (``C=np.inf`` or
        ``penalty=None`` removes it); "l1" and "elasticnet" are errors.
    l1_ratio : float, default=0.0
        Accepted for compatibility: only 0 (the L2 penalty; None too) is
        supported, an L1 part (> 0) is an error.
    dual : bool, default=False
        Accepted for compatibility: the primal is solved; True (liblinear's
        dual) is an error, as in scikit-learn with solver="lbfgs".
    intercept_scaling : float, default=1
        Accepted for compatibility (> 0) and ignored, as scikit-learn's lbfgs
        ignores it (it is liblinear's).
    solver : {"lbfgs"}, default="lbfgs"
        Accepted for compatibility; other solvers are errors (they reach the
        same L2 optimum).
    random_state : int, RandomState or None, default=None
        Accepted for compatibility and ignored: L-BFGS is deterministic.
    verbose : int, default=0
        Accepted for compatibility; libmfs prints nothing.
    n_jobs : int or None, default=None
        Accepted for compatibility and ignored.
    backend : {"c", "cuda", "python"}, default="c"
        Where to compute: the C library, the GPU (loss and gradient there, the
        L-BFGS loop on the host), or the numpy reference (float64 Newton).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels (any type).
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : ndarray of shape (1,)
        Iterations run (L-BFGS; Newton steps for backend="python").
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array(["a", "a", "b", "b"])
    >>> clf = mfs.LogisticRegression().fit(X, y)
    >>> clf.predict([[0.2], [2.8]]).tolist()
    ['a', 'b']
    >>> clf.predict_proba([[1.5]]).round(3).tolist()
    [[0.5, 0.5]]
    """

    _kind = "logistic_regression"
    _reference = _ref_logistic
    _attributes = {"coef": "coef_", "intercept": "intercept_", "n_iter": "n_iter_"}

    def __init__(self, C=1.0, *, fit_intercept=True, tol=1e-4, max_iter=100, class_weight=None, warm_start=False,
                 penalty="deprecated", l1_ratio=0.0, dual=False, intercept_scaling=1, solver="lbfgs",
                 random_state=None, verbose=0, n_jobs=None, backend="c"):
        self.C = C
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.intercept_scaling = intercept_scaling
        self.solver = solver
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.backend = backend

    def _params(self, X):
        name = type(self).__name__
        C = _check_real(name, "C", self.C, 0.0, strict=True, allow_inf=True)
        tol = _check_real(name, "tol", self.tol, 0.0, strict=False)
        mi = self.max_iter
        if isinstance(mi, bool) or not isinstance(mi, numbers.Integral):
            raise TypeError(f"{name}: max_iter must be an int, got {type(mi).__name__}")
        if mi < 0 or mi > 2**31 - 1:
            raise ValueError(f"{name}: max_iter is {mi}, it must be >= 0")
        # scikit-learn's compatibility parameters: checked, then ignored
        if self.penalty is None:  # scikit-learn's (deprecated) spelling of C=np.inf
            C = float("inf")
        elif not (isinstance(self.penalty, str) and self.penalty in ("deprecated", "l2")):
            raise ValueError(f"{name}: penalty={self.penalty!r} is not supported; libmfs fits the L2 penalty "
                             "('l2', 'deprecated' or None; C=np.inf for no penalty)")
        r = self.l1_ratio
        if r is not None:
            r = _check_real(name, "l1_ratio", r, 0.0, strict=False)
            if r > 1.0:
                raise ValueError(f"{name}: l1_ratio is {r}, it must be in [0, 1]")
            if r > 0.0:
                raise ValueError(f"{name}: l1_ratio={r} (an L1 part) is not supported; libmfs fits the L2 "
                                 "penalty (l1_ratio=0)")
        if not isinstance(self.dual, (bool, np.bool_)):
            raise ValueError(f"{name}: dual must be a bool, got {self.dual!r}")
        if self.dual:
            raise ValueError(f"{name}: dual=True is not supported: libmfs solves the primal (as scikit-learn's "
                             "lbfgs, which supports only dual=False; the dual is liblinear's)")
        _check_real(name, "intercept_scaling", self.intercept_scaling, 0.0, strict=True)
        _check_bool(name, "warm_start", self.warm_start)
        if not (isinstance(self.solver, str) and self.solver == "lbfgs"):
            raise ValueError(f"{name}: solver={self.solver!r} is not supported; libmfs fits by L-BFGS ('lbfgs')")
        v = self.verbose
        if not (isinstance(v, (bool, np.bool_)) or (isinstance(v, numbers.Integral) and v >= 0)):
            raise ValueError(f"{name}: verbose must be an int >= 0, got {v!r}")
        _check_n_jobs(name, self.n_jobs)
        _check_random_state(name, self.random_state)
        return {"C": C, "tol": tol, "fit_intercept": _check_bool(name, "fit_intercept", self.fit_intercept),
                "max_iter": int(mi)}

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n_samples, n_features) and labels y (n_samples,) of any
        type with at least two classes. sample_weight (n_samples,) >= 0, not
        all zero, multiplies each row's log-loss (and gradient) as
        scikit-learn's: integer weights fit as repeated rows, zero weights as
        absent ones (their labels still count in classes_). Used as float32,
        on every backend. Returns self."""
        name = type(self).__name__
        prev = (getattr(self, "coef_", None), getattr(self, "intercept_", None)) if self.warm_start else None
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1,
                             ensure_all_finite=self.backend == "python")
        w = float32_sample_weight(self, sample_weight, X)
        yi = self._encode_y(y)
        if len(self.classes_) < 2:
            only = self.classes_[0]
            only = only.item() if isinstance(only, np.generic) else only
            raise ValueError(f"{name}: this solver needs samples of at least 2 classes "
                             f"in the data, but the data contains only one class: {only!r}")
        params = self._params(X)  # parameter errors before any work
        if self.penalty is None and self.C != 1.0:
            warnings.warn("Setting penalty=None will ignore the C and l1_ratio parameters", UserWarning, stacklevel=2)
        inputs = {}
        if self.class_weight is not None:
            # scikit-learn's: the class weights (counting sample_weight for
            # "balanced"), then sample_weight *= class_weight[y]
            per_class = class_weights(self, yi, w)
            if not np.all(np.isfinite(per_class) & (per_class >= 0)):
                raise ValueError(f"{name}: class weights must be finite and >= 0, got {per_class}")
            w = float32_sample_weight(self, (1.0 if w is None else w.astype(np.float64)) * per_class[yi], X)
        if w is not None:
            inputs["sample_weight"] = w
        if prev is not None and prev[0] is not None:
            kk = 1 if len(self.classes_) == 2 else len(self.classes_)
            coef = np.asarray(prev[0], dtype=np.float32)
            if coef.shape != (kk, X.shape[1]):
                raise ValueError(f"{name}: warm_start: the previous fit's coef_ has shape {coef.shape}, this fit "
                                 f"needs ({kk}, {X.shape[1]}) ({len(self.classes_)} classes, {X.shape[1]} "
                                 "features); set warm_start=False to start from zeros")
            inputs["coef_init"] = np.ascontiguousarray(coef)
            if params["fit_intercept"] and prev[1] is not None:
                inputs["intercept_init"] = np.ascontiguousarray(np.asarray(prev[1], dtype=np.float32).reshape(kk))
        self._fit_backend(X, yi, inputs=inputs or None)
        if self.n_iter_[0] >= self.max_iter:  # max_iter=0 too: the coefficients are the starting zeros
            warnings.warn(f"{type(self).__name__}: reached max_iter={self.max_iter} iterations; "
                          "increase max_iter or scale the data", ConvergenceWarning, stacklevel=2)
        elif int(self._state.get("stalled", 0)):
            warnings.warn(f"{type(self).__name__}: L-BFGS stopped after {int(self.n_iter_[0])} iterations: no step "
                          "could decrease the loss in float32 while the gradient was still above tol (as scipy's "
                          "ABNORMAL_TERMINATION_IN_LNSRCH): tol is finer than float32 evaluations resolve on this "
                          "data; raise tol, or scale the data (e.g. sklearn.preprocessing.StandardScaler)",
                          ConvergenceWarning, stacklevel=2)
        return self

    def _run(self, method, X):
        native = getattr(self, "_native", None)
        if native is not None and method in ("decision_function", "predict_log_proba"):
            lib = _native.lib
            which = {"decision_function": (lib.MFS_METHOD_DECISION_FUNCTION, lib.mfs_decision_function),
                     "predict_log_proba": (lib.MFS_METHOD_PREDICT_LOG_PROBA, lib.mfs_predict_log_proba)}
            return native._apply(*which[method], X)
        return super()._run(method, X)

    def decision_function(self, X):
        """Decision values X @ coef_.T + intercept_: (n_samples,) for two
        classes (positive means classes_[1]), else (n_samples, n_classes)."""
        return self._apply("decision_function", X)

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), columns in classes_ order."""
        return proba_rows(self._apply("predict_proba", X))

    def predict_log_proba(self, X):
        """Log of the class probabilities, computed in log space (stable log-softmax)."""
        return self._apply("predict_log_proba", X)

    def predict(self, X):
        """Class labels: classes_[argmax of predict_proba] (ties: the first class)."""
        return self._decode(self._apply("predict", X))

    @classmethod
    def _accepts(cls, params):
        return True

    @classmethod
    def _from_native(cls, model, backend):
        p = model.params()
        est = cls(C=p["C"], fit_intercept=bool(p["fit_intercept"]), tol=p["tol"],
                  max_iter=p["max_iter"], backend=backend)
        est._native = model
        est._state = model.arrays()
        est.n_features_in_ = model.n_features_in
        est._set_attributes()
        # the class count; from_bytes replaces these indices by the user's labels
        # from the file's "meta.classes" (files without it keep 0..K-1)
        est.classes_ = np.arange(int(est._state["n_classes"]))
        return est
