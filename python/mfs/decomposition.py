"""Matrix decompositions, as scikit-learn names them: PCA."""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._base import MfsEstimator, register
from .reference import pca as _ref

_SOLVERS = {"auto": 0, "full": 1, "covariance_eigh": 2, "randomized": 3}


def _log_likelihood_of_rank(spectrum, rank, n):
    """Minka's (2000, eq. 30 with the Laplace approximation) log evidence of
    a rank-`rank` PCA model for the eigenvalues `spectrum` (decreasing,
    float64) of n samples' covariance: the uniform prior on the rank-`rank`
    subspaces (a product of Gamma functions), the likelihood of the kept
    eigenvalues and of the noise variance v (the mean of the others), and the
    Hessian's determinant over pairs (i kept, j after i). -inf when the rank
    keeps an eigenvalue that is numerically 0."""
    from math import lgamma, log, pi
    d = len(spectrum)
    tiny = 1e-15
    if spectrum[rank - 1] < tiny:
        return -np.inf
    log_prior = -rank * log(2.0) + sum(lgamma((d - i + 1) / 2.0) - log(pi) * (d - i + 1) / 2.0
                                       for i in range(1, rank + 1))
    log_kept = -np.sum(np.log(spectrum[:rank])) * n / 2.0
    v = max(tiny, float(np.sum(spectrum[rank:])) / (d - rank))
    log_noise = -log(v) * n * (d - rank) / 2.0
    m = d * rank - rank * (rank + 1.0) / 2.0
    log_volume = log(2.0 * pi) * (m + rank) / 2.0
    lam = spectrum.copy()
    lam[rank:] = v  # the model's eigenvalues: the kept ones, then v
    log_det = 0.0
    for i in range(rank):
        j = np.arange(i + 1, d)
        log_det += float(np.sum(np.log((spectrum[i] - spectrum[j]) * (1.0 / lam[j] - 1.0 / lam[i])) + log(n)))
    return log_prior + log_kept + log_noise + log_volume - log_det / 2.0 - rank * log(n) / 2.0


def infer_dimension(spectrum, n):
    """The rank in [1, len(spectrum) - 1] of largest Minka evidence (the
    first of equal ones), as scikit-learn's n_components='mle'."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = [-np.inf] + [_log_likelihood_of_rank(spectrum, r, n) for r in range(1, len(spectrum))]
    return int(np.argmax(ll))


@register
class PCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, MfsEstimator):
    """Principal component analysis, computed from scratch in C (or CUDA, or numpy).

    Linear dimensionality reduction by the singular value decomposition of the
    centered data, as :class:`sklearn.decomposition.PCA`: same parameters,
    attributes, solver choice and sign convention.

    Parameters
    ----------
    n_components : int, float, "mle" or None, default=None
        Components to keep. None: all, ``min(n_samples, n_features)``. An int
        in ``[1, min(n_samples, n_features)]``. A float in (0, 1): the smallest
        number of components whose explained variance ratio sums past it.
        "mle": Minka's maximum-likelihood choice of the dimension (NIPS 2000),
        from the spectrum of a full fit (needs n_samples >= n_features and an
        exact solver); the model is then fitted with that many components.
    copy : bool, default=True
        Accepted for compatibility: X is never modified.
    whiten : bool, default=False
        Divide the projections by the square root of the explained variance, so
        each output column has unit variance (``inverse_transform`` undoes it).
    svd_solver : {"auto", "full", "covariance_eigh", "randomized"}, default="auto"
        "full": exact decomposition; for ``n_samples >= 10 * n_features`` it is
        the eigendecomposition of the centered Gram matrix formed exactly in
        double, else the thin SVD of the centered X (see docs/models/pca.md).
        "covariance_eigh": always the eigendecomposition of that exact Gram
        matrix (any shape; fastest for n_samples >> n_features).
        "randomized": Halko et al. "auto": as scikit-learn >= 1.5.
    iterated_power : int >= 0 or "auto", default="auto"
        Power iterations of the randomized solver ("auto": 7 when
        ``n_components < 0.1 * min(X.shape)``, else 4).
    tol : float, default=0.0
        Accepted for compatibility (>= 0) and ignored: scikit-learn's arpack
        tolerance (arpack is not implemented).
    n_oversamples : int, default=10
        Extra random vectors of the randomized solver.
    power_iteration_normalizer : {"auto", "QR", "LU", "none"}, default="auto"
        Accepted for compatibility: the randomized solver always
        re-orthonormalizes by QR after each power iteration (the most stable
        of scikit-learn's three; all span the same subspace in exact
        arithmetic).
    random_state : int, RandomState instance or None, default=None
        Seed of the randomized solver (None: drawn from numpy's global state).
    backend : {"c", "cuda", "python"}, default="c"
        Where to compute: the C library, its CUDA kernels, or the numpy reference.

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features)
        Principal axes, by decreasing explained variance; the entry of largest
        absolute value of each axis is positive.
    explained_variance_ : ndarray of shape (n_components_,)
        Variance along each axis (ddof=1).
    explained_variance_ratio_ : ndarray of shape (n_components_,)
        Fraction of the total variance (0 for constant data).
    singular_values_ : ndarray of shape (n_components_,)
    mean_ : ndarray of shape (n_features,)
    noise_variance_ : float
        Mean of the variances left out (probabilistic PCA), 0 when all are kept.
    n_components_ : int
    n_samples_ : int
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[-1., -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]])
    >>> pca = mfs.PCA(n_components=2).fit(X)
    >>> [round(float(v), 4) for v in pca.explained_variance_ratio_]
    [0.9924, 0.0076]
    >>> [round(float(v), 4) for v in pca.singular_values_]
    [6.3006, 0.5498]
    """

    _kind = "pca"
    _reference = _ref
    _attributes = {"components": "components_", "explained_variance": "explained_variance_",
                   "explained_variance_ratio": "explained_variance_ratio_",
                   "singular_values": "singular_values_", "mean": "mean_",
                   "noise_variance": "noise_variance_", "n_samples": "n_samples_"}

    def __init__(self, n_components=None, *, copy=True, whiten=False, svd_solver="auto", tol=0.0,
                 iterated_power="auto", n_oversamples=10, power_iteration_normalizer="auto", random_state=None,
                 backend="c"):
        self.n_components = n_components
        self.copy = copy
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.tol = tol
        self.iterated_power = iterated_power
        self.n_oversamples = n_oversamples
        self.power_iteration_normalizer = power_iteration_normalizer
        self.random_state = random_state
        self.backend = backend

    # ---- parameters ----------------------------------------------------------
    def _n_components(self):
        """(n_components, variance_fraction) for C."""
        k = self.n_components
        if k is None:
            return -1, 0.0
        if isinstance(k, str) and k == "mle":  # the inferred count, or all of them for the spectrum
            mk = getattr(self, "_mle_k", None)
            return (-1, 0.0) if mk is None else (int(mk), 0.0)
        if isinstance(k, str):
            raise ValueError(f"PCA: n_components={k!r} is not supported; pass an int >= 1, "
                             "a float in (0, 1) or None")
        if isinstance(k, (bool, np.bool_)):
            raise TypeError(f"PCA: n_components must be an int, a float in (0, 1) or None, got {k!r}")
        if isinstance(k, numbers.Integral):
            if k < 1:
                raise ValueError(f"PCA: n_components is {k}, it must be >= 1")
            if k > 2**31 - 1:
                raise ValueError(f"PCA: n_components is {k}, too large")
            return int(k), 0.0
        if isinstance(k, numbers.Real):
            if not 0.0 < k < 1.0:
                raise ValueError(f"PCA: n_components is {k}; a float must be in (0, 1) "
                                 "(the fraction of variance to explain)")
            return -1, float(k)
        raise TypeError(f"PCA: n_components must be an int, a float in (0, 1) or None, "
                        f"got {type(k).__name__}")

    def _params(self, X):
        k, frac = self._n_components()
        if not isinstance(self.copy, (bool, np.bool_)):
            raise TypeError(f"PCA: copy must be a bool, got {self.copy!r} ({type(self.copy).__name__})")
        if not isinstance(self.whiten, (bool, np.bool_)):
            raise TypeError(f"PCA: whiten must be a bool, got {self.whiten!r} ({type(self.whiten).__name__})")
        if not isinstance(self.svd_solver, str):
            raise ValueError(f"PCA: svd_solver must be one of {sorted(_SOLVERS)}, got {self.svd_solver!r}")
        if self.svd_solver not in _SOLVERS:
            raise ValueError(f"PCA: svd_solver must be one of {sorted(_SOLVERS)}, got {self.svd_solver!r}"
                             + (" (arpack is not implemented; use randomized)"
                                if self.svd_solver == "arpack" else ""))
        if isinstance(self.n_components, str) and self.n_components == "mle" and self.svd_solver == "randomized":
            raise ValueError("PCA: n_components='mle' needs the full spectrum: svd_solver 'full', "
                             "'covariance_eigh' or 'auto', not 'randomized'")
        if frac > 0 and self.svd_solver == "randomized":
            raise ValueError(f"PCA: n_components={self.n_components!r} (a fraction) needs svd_solver "
                             "'full', 'covariance_eigh' or 'auto', not 'randomized'")
        it = self.iterated_power
        if isinstance(it, str) and it == "auto":
            it = -1
        elif isinstance(it, (bool, np.bool_)) or not isinstance(it, numbers.Integral) or it < 0:
            raise ValueError(f"PCA: iterated_power must be 'auto' or an int >= 0, got {it!r}")
        ov = self.n_oversamples
        if isinstance(ov, (bool, np.bool_)) or not isinstance(ov, numbers.Integral) or ov < 0:
            raise ValueError(f"PCA: n_oversamples must be an int >= 0, got {ov!r}")
        tol = self.tol
        if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, numbers.Real) or not float(tol) >= 0.0:
            raise ValueError(f"PCA: tol must be a number >= 0, got {tol!r}")
        pin = self.power_iteration_normalizer
        if not (isinstance(pin, str) and pin in ("auto", "QR", "LU", "none")):
            raise ValueError(f"PCA: power_iteration_normalizer must be one of 'auto', 'QR', 'LU', 'none', got {pin!r}")
        return {"n_components": k, "whiten": int(bool(self.whiten)), "variance_fraction": frac,
                "svd_solver": _SOLVERS[self.svd_solver], "iterated_power": int(it),
                "n_oversamples": int(ov), "random_state": self._seed}

    def _set_seed(self):
        rs = self.random_state
        if isinstance(rs, (numbers.Integral, np.integer)) and not isinstance(rs, (bool, np.bool_)):
            if not 0 <= rs < 2**63:
                raise ValueError(f"PCA: random_state is {rs}, it must be in [0, 2**63)")
            self._seed = int(rs)
        else:
            self._seed = int(check_random_state(rs).randint(np.iinfo(np.int32).max))

    # ---- fitting ---------------------------------------------------------------
    def fit(self, X, y=None):
        """Fit the principal axes on X (n_samples, n_features). Returns self."""
        self._check_backend()
        X = self._validate_X(X, reset=True)
        self._set_seed()
        self._mle_k = None
        if isinstance(self.n_components, str) and self.n_components == "mle":
            n, d = X.shape
            if n < d:
                raise ValueError(f"PCA: n_components='mle' is only supported if n_samples >= n_features, "
                                 f"got {n} < {d}")
            if d < 2:
                raise ValueError("PCA: n_components='mle' chooses between 1 and n_features - 1 components: "
                                 f"it needs at least 2 features, X has {d}")
            self._fit_backend(X)  # every component: the spectrum
            k = infer_dimension(np.asarray(self.explained_variance_, dtype=np.float64), n)
            self._mle_k = k
        self._fit_backend(X)
        return self

    def _set_attributes(self):
        super()._set_attributes()
        self.noise_variance_ = float(self.noise_variance_)
        self.n_samples_ = int(self.n_samples_)
        self.n_components_ = int(self.components_.shape[0])

    def transform(self, X):
        """Project X (n_samples, n_features) on the principal axes: (n_samples, n_components_)."""
        return self._apply("transform", X)

    def inverse_transform(self, X):
        """Map projections X (n_samples, n_components_) back to the input space."""
        check_is_fitted(self, "_state")
        self._check_backend()
        want = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        X = check_array(X, dtype=np.float32, order="C", input_name="X")
        if X.shape[1] != self.n_components_:
            raise ValueError(f"PCA.inverse_transform: X has {X.shape[1]} columns, "
                             f"the model has {self.n_components_} components")
        return self._run("inverse_transform", X).astype(want, copy=False)

    # ---- probabilistic PCA (Tipping & Bishop), as scikit-learn, in float64 ----
    def _generative(self):
        check_is_fitted(self, "_state")
        W = np.asarray(self.components_, dtype=np.float64)
        ev = np.asarray(self.explained_variance_, dtype=np.float64)
        if self.whiten:  # scikit-learn scales the axes here (its get_covariance does the same)
            W = W * np.sqrt(ev[:, None])
        diff = np.where(ev > self.noise_variance_, ev - self.noise_variance_, 0.0)
        return W, diff, float(self.noise_variance_)

    def get_covariance(self):
        """Data covariance of the generative model: components_.T @ diag(explained_variance_
        - noise_variance_) @ components_ + noise_variance_ * I, (n_features, n_features) float64."""
        W, diff, s2 = self._generative()
        cov = (W.T * diff) @ W
        cov.flat[::len(cov) + 1] += s2
        return cov

    def get_precision(self):
        """Inverse of get_covariance() (matrix inversion lemma when noise_variance_ > 0)."""
        W, diff, s2 = self._generative()
        if s2 == 0.0:
            return np.linalg.inv(self.get_covariance())
        precision = W @ W.T / s2
        with np.errstate(divide="ignore"):
            precision.flat[::len(precision) + 1] += 1.0 / diff
        precision = W.T @ np.linalg.inv(precision) @ W
        precision /= -(s2 ** 2)
        precision.flat[::len(precision) + 1] += 1.0 / s2
        return precision

    def score_samples(self, X):
        """Log-likelihood of each row of X under the probabilistic PCA model, (n_samples,) float64."""
        check_is_fitted(self, "_state")
        self._check_backend()
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        Xr = np.asarray(X, dtype=np.float64) - np.asarray(self.mean_, dtype=np.float64)
        precision = self.get_precision()
        sign, logdet = np.linalg.slogdet(precision)
        if not sign > 0:
            logdet = -np.inf
        log_like = -0.5 * np.sum(Xr * (Xr @ precision), axis=1)
        log_like -= 0.5 * (X.shape[1] * np.log(2.0 * np.pi) - logdet)
        return log_like

    def score(self, X, y=None):
        """Mean log-likelihood of the rows of X (see score_samples)."""
        return float(np.mean(self.score_samples(X)))

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def _run(self, method, X):
        if self._native is None:
            return getattr(self._reference, method)(self._state, X, **self._params(None))
        whiten, fitted = bool(self.whiten), bool(self._native.params()["whiten"])
        if whiten == fitted:
            return getattr(self._native, method)(X)
        # whiten was changed with set_params after the fit: scikit-learn reads it
        # at each call, the C model keeps the fitted one, so convert here
        ev = np.asarray(self.explained_variance_, dtype=np.float32)
        if method == "transform":  # the clipped scale of the C code and scikit-learn
            scale = np.maximum(np.sqrt(ev), np.float32(np.finfo(np.float32).eps))
            out = self._native.transform(X)
            return out / scale if whiten else out * scale
        comps = np.asarray(self.components_, dtype=np.float32)
        if whiten:  # the exact inverse of whitening: axes times sqrt(variance), unclipped
            comps = comps * np.sqrt(ev)[:, None]
        return (X @ comps + np.asarray(self.mean_, dtype=np.float32)).astype(np.float32, copy=False)

    # ---- persistence -------------------------------------------------------------
    @classmethod
    def _accepts(cls, params):
        return True

    @classmethod
    def _from_native(cls, model, backend):
        p = model.params()
        if p["variance_fraction"] > 0:
            k = float(p["variance_fraction"])
        else:
            k = None if p["n_components"] < 0 else int(p["n_components"])
        est = cls(n_components=k, whiten=bool(p["whiten"]),
                  svd_solver={v: s for s, v in _SOLVERS.items()}[p["svd_solver"]],
                  iterated_power="auto" if p["iterated_power"] < 0 else int(p["iterated_power"]),
                  n_oversamples=int(p["n_oversamples"]), random_state=int(p["random_state"]),
                  backend=backend)
        est._seed = int(p["random_state"])
        est._native = model
        est._state = model.arrays()
        est.n_features_in_ = model.n_features_in
        est._set_attributes()
        return est
