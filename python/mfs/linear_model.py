"""Linear models: LinearRegression (OLS) and Ridge, as scikit-learn names them."""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._base import MfsEstimator, register
from .reference import linear_regression as _ref

_SOLVERS = {"auto": 0, "cholesky": 1, "qr": 2}


class _LinearBase(MultiOutputMixin, RegressorMixin, MfsEstimator):
    _kind = "linear_regression"
    _reference = _ref
    _attributes = {"coef": "coef_", "intercept": "intercept_", "rank": "rank_"}

    def _alpha(self):
        return 0.0

    def _params(self, X):
        solver = getattr(self, "solver", "auto")
        if solver not in _SOLVERS:
            raise ValueError(f"{type(self).__name__}: solver must be one of {sorted(_SOLVERS)}, got {solver!r}")
        return {"alpha": float(self._alpha()), "fit_intercept": int(bool(self.fit_intercept)),
                "solver": _SOLVERS[solver]}

    def fit(self, X, y, sample_weight=None):
        """Fit the linear model on X (n_samples, n_features) and y (n_samples,) or
        (n_samples, n_targets), optionally weighting samples. Returns self."""
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", y_numeric=True,
                             multi_output=True, ensure_min_samples=1)
        y = np.ascontiguousarray(y, dtype=np.float32)
        if y.ndim == 2 and y.shape[1] == 0:
            raise ValueError(f"{type(self).__name__}: y has 0 targets")
        inputs = None
        if sample_weight is not None:
            w = _check_sample_weight(sample_weight, X, dtype=np.float32, ensure_non_negative=True)
            if not w.sum() > 0:
                raise ValueError(f"{type(self).__name__}: sample weights sum to zero")
            inputs = {"sample_weight": w}
        return self._fit_backend(X, y, inputs=inputs)

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

    def __init__(self, *, fit_intercept=True, solver="auto", backend="c"):
        self.fit_intercept = fit_intercept
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
    solver : {"auto", "cholesky", "qr"}, default="auto"
    backend : {"c", "cuda", "python"}, default="c"

    Attributes
    ----------
    coef_, intercept_, rank_, n_features_in_ : as LinearRegression.

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([1.0, 3.0, 5.0])
    >>> reg = mfs.Ridge(alpha=1.0).fit(X, y)
    >>> round(float(reg.coef_[0]), 4)
    1.3333
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, solver="auto", backend="c"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.backend = backend

    def _alpha(self):
        a = self.alpha
        if isinstance(a, bool) or not isinstance(a, numbers.Real):
            raise TypeError(f"Ridge: alpha must be a real number, got {type(a).__name__}")
        if not np.isfinite(a) or a < 0:
            raise ValueError(f"Ridge: alpha is {a}, it must be a finite number >= 0")
        return a
