"""Clustering: KMeans, as scikit-learn names it."""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import MfsEstimator, float32_sample_weight, register
from .reference import kmeans as _ref

_INITS = {"k-means++": 0, "random": 1}
_INIT_NAMES = {v: k for k, v in _INITS.items()}


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"KMeans: {name} must be an int, got {type(value).__name__}")
    if value < low or value > 2**31 - 1:
        raise ValueError(f"KMeans: {name} is {value}, it must be >= {low}")
    return int(value)


@register
class KMeans(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, MfsEstimator):
    """K-Means clustering: k-means++ seeding and Lloyd iterations, from scratch
    in C (or CUDA, or numpy).

    ``fit`` takes scikit-learn's ``sample_weight``: each center is the weighted
    mean of its points, ``inertia_`` is ``sum_i w_i ||x_i - c||^2``, and the
    k-means++ / random seeding draw rows in proportion to the weights. A weight
    of 0 is an absent row (it still gets a label), an integer weight a
    repeated row (exactly so with an init array; the random seedings draw
    differently). Not on backend="cuda" yet.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters, 1 <= n_clusters <= n_samples.
    init : {"k-means++", "random"} or array-like of shape (n_clusters, n_features), default="k-means++"
        "k-means++": greedy k-means++ with 2 + log(n_clusters) local trials (as
        scikit-learn); "random": n_clusters distinct samples; an array: the
        initial centers (then a single run).
    n_init : int or "auto", default=1
        Runs with different seeds; the lowest inertia wins. "auto" is 1 (as
        scikit-learn's "auto" for k-means++ and an explicit init), or 10 for
        init="random".
    max_iter : int, default=300
        Most Lloyd iterations of a run.
    tol : float, default=1e-4
        Stop when the summed squared center shift is <= tol * mean(var(X)).
    verbose : int, default=0
        Accepted for compatibility; libmfs prints nothing.
    random_state : None, int or numpy RandomState, default=None
        Seed of the library's counter-based generator (an int is used as is; None
        or a RandomState draws one, as scikit-learn does). The same int gives the
        same bits for backend "c" at any thread count; the "python" reference
        draws from numpy with that seed instead.
    copy_x : bool, default=True
        Accepted for compatibility: X is never modified.
    algorithm : {"lloyd", "elkan"}, default="lloyd"
        Accepted for compatibility: both run Lloyd's iterations (Elkan's is an
        exact acceleration of them in scikit-learn: the same fixed point).
    backend : {"c", "cuda", "python"}, default="c"

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features), float32
    labels_ : ndarray of shape (n_samples,), int32
    inertia_ : float
        Sum of squared distances of the samples to their closest center
        (weighted by sample_weight when given).
    n_iter_ : int
        Lloyd iterations of the best run.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    >>> km = mfs.KMeans(n_clusters=2, init=[[0.0, 0.0], [10.0, 0.0]]).fit(X)
    >>> km.cluster_centers_.tolist()
    [[0.0, 0.5], [10.0, 0.5]]
    >>> km.predict([[9.0, 0.0]]).tolist()
    [1]
    """

    _kind = "kmeans"
    _reference = _ref
    _attributes = {"cluster_centers": "cluster_centers_", "labels": "labels_",
                   "inertia": "inertia_", "n_iter": "n_iter_"}

    def __init__(self, n_clusters=8, *, init="k-means++", n_init=1, max_iter=300, tol=1e-4, verbose=0,
                 random_state=None, copy_x=True, algorithm="lloyd", backend="c"):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.backend = backend

    # ---- parameters ---------------------------------------------------------
    def _init_array(self):
        """The init centers as float32 (n_clusters, d), or None for a named init."""
        if isinstance(self.init, str):
            if self.init not in _INITS:
                raise ValueError(f"KMeans: init must be 'k-means++', 'random' or an array, got {self.init!r}")
            return None
        if callable(self.init):
            raise TypeError("KMeans: a callable init is not supported; pass the centers as an array")
        a = np.asarray(self.init)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"KMeans: init must be numeric, got dtype {a.dtype}")
        return np.ascontiguousarray(a, dtype=np.float32)

    def _seed(self):
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            if rs < 0 or rs > 2**63 - 1:
                raise ValueError(f"KMeans: random_state is {rs}, it must be in [0, 2**63 - 1]")
            return int(rs)
        # None or a RandomState: draw a seed from it, as scikit-learn does
        return int(check_random_state(rs).randint(np.iinfo(np.int32).max))

    def _params(self, X):
        init_array = self._init_array()
        init = 2 if init_array is not None else _INITS[self.init]
        n_init = self.n_init
        if isinstance(n_init, str):
            if n_init != "auto":
                raise ValueError(f"KMeans: n_init must be an int >= 1 or 'auto', got {n_init!r}")
            n_init = 10 if init == 1 else 1
        tol = self.tol
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not np.isfinite(float(tol)) or tol < 0:
            raise ValueError(f"KMeans: tol is {tol!r}, it must be a finite number >= 0")
        # scikit-learn's compatibility parameters: checked, then ignored
        v = self.verbose
        if not (isinstance(v, (bool, np.bool_)) or (isinstance(v, numbers.Integral) and v >= 0)):
            raise ValueError(f"KMeans: verbose must be an int >= 0, got {v!r}")
        if not isinstance(self.copy_x, (bool, np.bool_)):
            raise TypeError(f"KMeans: copy_x must be a bool, got {self.copy_x!r}")
        if not (isinstance(self.algorithm, str) and self.algorithm in ("lloyd", "elkan")):
            raise ValueError(f"KMeans: algorithm must be 'lloyd' or 'elkan', got {self.algorithm!r}")
        return {"n_clusters": _check_int("n_clusters", self.n_clusters, 1), "init": init,
                "n_init": _check_int("n_init", n_init, 1),
                "max_iter": _check_int("max_iter", self.max_iter, 1), "tol": float(tol),
                # predict/transform (X None) do not draw: only fit consumes the generator
                "random_state": self._seed() if X is not None else 0}

    # ---- fit ---------------------------------------------------------------
    def fit(self, X, y=None, sample_weight=None):
        """Cluster X (n_samples, n_features). y is ignored. sample_weight
        (n_samples,) >= 0, not all zero, weighs each row in the centers, the
        inertia and the k-means++ / random seeding (not in an init array), as
        scikit-learn's; used as float32; not on backend="cuda" yet
        (TypeError). Returns self."""
        backend = self._check_backend()
        # NaN/Inf: the C library checks X in its own pass (naming the row and
        # column), so only the numpy reference needs scikit-learn's pass
        X = validate_data(self, X, dtype=np.float32, order="C", reset=True, ensure_min_samples=1,
                          ensure_all_finite=backend == "python")
        w = float32_sample_weight(self, sample_weight, X)
        if w is not None and backend == "cuda":
            raise TypeError("KMeans: sample_weight is not supported on backend='cuda' yet; "
                            "fit with backend='c' (or 'python')")
        params = self._params(X)
        init_array = self._init_array()
        if init_array is not None and init_array.shape != (params["n_clusters"], X.shape[1]):
            raise ValueError(f"KMeans: init has shape {init_array.shape}, expected "
                             f"(n_clusters, n_features) = ({params['n_clusters']}, {X.shape[1]})")
        if params["n_clusters"] > X.shape[0]:
            raise ValueError(f"KMeans: n_samples={X.shape[0]} should be >= "
                             f"n_clusters={params['n_clusters']}")
        if init_array is not None and params["n_init"] > 1:
            # as scikit-learn: an explicit init is a single run (the C library
            # runs it once whatever n_init says)
            warnings.warn(f"Explicit initial center position passed: performing only one init in KMeans "
                          f"instead of n_init={params['n_init']}.", RuntimeWarning, stacklevel=2)
        if backend == "python":
            state = _ref.fit(X, None, **params, init_array=init_array, sample_weight=w)
            self._native = None
            self._state = {k: np.asarray(v) for k, v in state.items()}
            self._set_attributes()
        else:
            inputs = {}
            if init_array is not None:
                inputs["init"] = init_array
            if w is not None:
                inputs["sample_weight"] = w
            self._fit_backend(X, None, inputs=inputs or None)
        self._scalars()
        distinct = len(np.unique(self.labels_))
        if distinct < params["n_clusters"]:
            warnings.warn(f"Number of distinct clusters ({distinct}) found smaller than n_clusters "
                          f"({params['n_clusters']}). Possibly due to duplicate points in X.",
                          ConvergenceWarning, stacklevel=2)
        return self

    def _scalars(self):
        self.inertia_ = float(self.inertia_)
        self.n_iter_ = int(self.n_iter_)

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[0]

    # ---- methods -------------------------------------------------------------
    def predict(self, X):
        """Index of the closest center for each row of X: (n,) int32."""
        self._check_backend()
        check_is_fitted(self, "_state")
        X = self._validate_X(X, reset=False)
        return self._run("predict", X)

    def transform(self, X):
        """Euclidean distances of each row of X to every center: (n, n_clusters),
        float32 for float32 X, else float64 (computed in float32), as
        scikit-learn keeps the input's float dtype."""
        return self._apply("transform", X)

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit (with sample_weight, as fit), then the labels of the training
        rows (labels_)."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit (with sample_weight, as fit), then the distances of the
        training rows to the centers."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of X on the fitted centers (higher is
        better), each row's squared distance weighted by sample_weight (>= 0,
        finite in float32; all 1 by default), as scikit-learn's."""
        self._check_backend()
        check_is_fitted(self, "_state")
        X = self._validate_X(X, reset=False)  # once: one feature-names warning, not two
        w = float32_sample_weight(self, sample_weight, X, positive_sum=False)
        labels = self._run("predict", X)
        C = self.cluster_centers_.astype(np.float64)
        total = 0.0
        for i in range(0, len(X), 8192):
            diff = X[i:i + 8192].astype(np.float64) - C[labels[i:i + 8192]]
            if w is None:
                total += float(np.einsum("ij,ij->", diff, diff))
            else:
                total += float(np.einsum("ij,ij,i->", diff, diff, w[i:i + 8192].astype(np.float64)))
        return -total

    # ---- mfs.load ------------------------------------------------------------
    @classmethod
    def _accepts(cls, params):
        return True

    @classmethod
    def _from_native(cls, model, backend):
        p = model.params()
        est = cls(n_clusters=int(p["n_clusters"]), n_init=int(p["n_init"]), max_iter=int(p["max_iter"]),
                  tol=float(p["tol"]), random_state=int(p["random_state"]), backend=backend)
        est._native = model
        est._state = model.arrays()
        est.n_features_in_ = model.n_features_in
        est._set_attributes()
        est._scalars()
        # the file keeps no init array: a refit starts from the fitted centers
        est.init = _INIT_NAMES.get(int(p["init"]), est.cluster_centers_.copy())
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
