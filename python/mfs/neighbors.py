"""k-Nearest Neighbors: KNeighborsClassifier and KNeighborsRegressor, as
scikit-learn names them. One C model (kind "knn") serves both; its `task`
parameter says which."""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import ClassifierMixin, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _native
from ._base import MfsClassifier, MfsEstimator, proba_rows, register
from .reference import knn as _ref

_WEIGHTS = {"uniform": 0, "distance": 1}
_ALGORITHMS = {"auto": 0, "brute": 1, "kd_tree": 2}
_METRICS = {"euclidean": 0, "l2": 0, "manhattan": 1, "cityblock": 1, "l1": 1, "cosine": 2,
            "chebyshev": 3, "infinity": 3}
_METRIC_NAMES = {0: "euclidean", 1: "manhattan", 2: "cosine", 3: "chebyshev"}


class _KNeighborsBase(MfsEstimator):
    _kind = "knn"
    _reference = _ref
    _attributes = {}
    _task = 0

    # ---- parameters --------------------------------------------------------
    def _metric_id(self):
        metric, p = self.metric, self.p
        if not isinstance(metric, str):
            raise ValueError(f"{type(self).__name__}: metric must be a string, got {metric!r} "
                             "(callables and DistanceMetric objects are not supported)")
        if self.metric_params is not None and not (isinstance(self.metric_params, dict) and not self.metric_params):
            raise ValueError(f"{type(self).__name__}: metric_params are not supported (None or {{}}), "
                             f"got {self.metric_params!r}")
        if metric == "minkowski":
            if isinstance(p, bool) or not isinstance(p, numbers.Real) or p not in (1, 2, np.inf):
                raise ValueError(f"{type(self).__name__}: p is {p!r}; libmfs has minkowski p=1 "
                                 "(manhattan), p=2 (euclidean) and p=inf (chebyshev)")
            return 0 if p == 2 else 1 if p == 1 else 3
        if metric not in _METRICS:
            raise ValueError(f"{type(self).__name__}: metric must be 'minkowski', one of "
                             f"{sorted(_METRICS)}, got {metric!r}")
        return _METRICS[metric]

    def _params(self, X):
        name = type(self).__name__
        k = self.n_neighbors
        if isinstance(k, bool) or not isinstance(k, numbers.Integral):
            raise TypeError(f"{name}: n_neighbors must be an int, got {type(k).__name__}")
        if k <= 0 or k > 2**31 - 1:
            raise ValueError(f"{name}: Expected n_neighbors > 0. Got {k}")
        weights = "uniform" if self.weights is None else self.weights
        if not isinstance(weights, str) or weights not in _WEIGHTS:
            raise ValueError(f"{name}: weights must be 'uniform' or 'distance', got {weights!r} "
                             "(callables are not supported)")
        if not isinstance(self.algorithm, str) or self.algorithm not in _ALGORITHMS:
            raise ValueError(f"{name}: algorithm must be one of {sorted(_ALGORITHMS)}, got "
                             f"{self.algorithm!r} (libmfs has no ball_tree)")
        leaf = self.leaf_size
        if isinstance(leaf, bool) or not isinstance(leaf, numbers.Integral) or not 1 <= leaf <= 2**31 - 1:
            raise ValueError(f"{name}: leaf_size must be an int >= 1, got {leaf!r}")
        nj = self.n_jobs
        if nj is not None and (isinstance(nj, bool) or not isinstance(nj, numbers.Integral)):
            raise TypeError(f"{name}: n_jobs must be None or an int (it is ignored: libmfs uses "
                            f"mfs.set_num_threads threads), got {nj!r}")
        metric = self._metric_id()
        if self.algorithm == "kd_tree" and metric == 2:
            raise ValueError(f"{name}: metric 'cosine' is not valid for algorithm 'kd_tree'")
        return {"n_neighbors": int(k), "weights": _WEIGHTS[weights], "algorithm": _ALGORITHMS[self.algorithm],
                "metric": metric, "leaf_size": int(leaf), "task": self._task}

    # ---- fitting -----------------------------------------------------------
    def _fit_native_or_ref(self, X, y):
        """As MfsEstimator._fit_backend, but the C model's training data stay
        in C: only small arrays come back to Python (the copy is the state)."""
        backend = self._check_backend()
        params = self._params(X)
        if backend == "python":
            self._native = None
            self._state = self._reference.fit(X, y, **params)
        else:
            model = _native.NativeModel.create(self._kind, params, backend)
            model.fit(X, y)
            self._native = model
            self._state = self._small_state(model)
        self._set_fit_attributes(params, X.shape[0], X.shape[1])
        return self

    @staticmethod
    def _small_state(model):
        return {"n_classes": model.get("n_classes")} if model.params()["task"] == 0 else {}

    def _set_fit_attributes(self, params, n, d):
        self.n_samples_fit_ = int(n)
        self.effective_metric_ = _METRIC_NAMES[params["metric"]]
        self.effective_metric_params_ = {}
        tree = params["metric"] != 2 and (params["algorithm"] == 2 or (params["algorithm"] == 0 and d <= 15))
        self._fit_method = "kd_tree" if tree else "brute"

    def __setstate__(self, state):
        data = state.pop("_native_bytes", None)
        self.__dict__.update(state)
        if data is not None:
            self._native = _native.NativeModel.from_bytes(data, self.backend)
            self._state = self._small_state(self._native)
        elif "_state" in state:
            self._native = None

    # ---- queries -----------------------------------------------------------
    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """The n_neighbors nearest training samples of each row of X, nearest
        first; ties in distance go to the lower training index.

        X None: the training data, each sample not being its own neighbor (as
        scikit-learn). Returns (distances (m, k), indices (m, k) int64), or
        only the indices when return_distance is False. Distances are float32
        for float32 X, else float64 (computed in float32, exact per pair)."""
        self._check_backend()
        check_is_fitted(self, "_state")
        name = type(self).__name__
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        if isinstance(k, bool) or not isinstance(k, numbers.Integral):
            raise TypeError(f"{name}: n_neighbors must be an int, got {type(k).__name__}")
        if k <= 0:
            raise ValueError(f"{name}: Expected n_neighbors > 0. Got {k}")
        n = self.n_samples_fit_
        if X is None:
            want = np.float64
            if k >= n:
                raise ValueError(f"{name}: Expected n_neighbors < n_samples_fit when X is None, but "
                                 f"n_neighbors = {k}, n_samples_fit = {n}")
        else:
            want = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
            X = self._validate_X(X, reset=False)
            if k > n:
                raise ValueError(f"{name}: Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, "
                                 f"n_samples_fit = {n}, n_samples = {X.shape[0]}")
        if self._native is not None:
            m = n if X is None else X.shape[0]
            dist = np.empty((m, k), np.float32)
            ind = np.empty((m, k), np.int64)
            _native.check(_native.lib.mfs_kneighbors(
                self._native._h, _native.ffi.NULL if X is None else _native.view(X), int(k),
                _native.view(dist) if return_distance else _native.ffi.NULL, _native.view(ind)))
        else:
            params = self._params(None)
            dist, ind = self._reference.kneighbors(self._state, X, int(k), metric=params["metric"])
        if not return_distance:
            return ind
        return dist.astype(want, copy=False), ind

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        """The k-neighbors graph as a CSR matrix (n_queries, n_samples_fit_),
        as scikit-learn's: mode "connectivity" puts 1.0 at each neighbor,
        "distance" its distance. X None: the training data, each sample not
        being its own neighbor."""
        if not isinstance(mode, str) or mode not in ("connectivity", "distance"):
            raise ValueError(f'{type(self).__name__}: Unsupported mode, must be one of "connectivity", '
                             f'or "distance" but got "{mode}" instead')
        import scipy.sparse as sp
        if mode == "connectivity":
            ind = self.kneighbors(X, n_neighbors, return_distance=False)
            data = np.ones(ind.size, dtype=np.float64)
        else:
            dist, ind = self.kneighbors(X, n_neighbors, return_distance=True)
            data = np.asarray(dist, dtype=np.float64).ravel()
        m, k = ind.shape
        return sp.csr_matrix((data, ind.ravel(), np.arange(0, m * k + 1, k)), shape=(m, self.n_samples_fit_))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = False
        return tags

    @classmethod
    def _from_native(cls, model, backend):
        p = model.params()
        inv = lambda table, v: next(k for k, x in table.items() if x == v)  # noqa: E731
        est = cls(n_neighbors=p["n_neighbors"], weights=inv(_WEIGHTS, p["weights"]),
                  algorithm=inv(_ALGORITHMS, p["algorithm"]), leaf_size=p["leaf_size"],
                  metric=_METRIC_NAMES[p["metric"]], backend=backend)
        est._native = model
        est._state = cls._small_state(model)
        est.n_features_in_ = model.n_features_in
        est._set_fit_attributes(p, _fit_rows(model), model.n_features_in)
        if cls is KNeighborsClassifier:
            # the class count; from_bytes sets the user's labels from "meta.classes"
            est.classes_ = np.arange(int(est._state["n_classes"]))
        return est

    @classmethod
    def _accepts(cls, params):
        return params["task"] == cls._task


def _fit_rows(model):
    """Rows of the model's fit_X, without copying it out of C."""
    dt = _native.ffi.new("mfs_dtype *")
    nd = _native.ffi.new("int32_t *")
    shape = _native.ffi.new("int64_t[4]")
    _native.check(_native.lib.mfs_model_array_info(model._h, b"fit_X", dt, nd, shape))
    return int(shape[0])


@register
class KNeighborsClassifier(ClassifierMixin, _KNeighborsBase, MfsClassifier):
    """Classifier voting among the k nearest neighbors, from scratch in C (or
    CUDA, or numpy).

    Parameters
    ----------
    n_neighbors : int, default=5
        Neighbors that vote (at most the number of training samples).
    weights : {"uniform", "distance"} or None, default="uniform"
        "distance": votes weighted by 1 / distance; a query with training
        samples at distance 0 takes only those into account.
    algorithm : {"auto", "brute", "kd_tree"}, default="auto"
        "auto": a k-d tree for <= 15 features with a euclidean or manhattan
        metric, else brute force (blocked GEMM distances + top-k selection).
        Every algorithm gives the same neighbors.
    leaf_size : int, default=30
        Points per k-d tree leaf (between leaf_size and 2 * leaf_size).
    p : {1, 2, np.inf}, default=2
        Power of the minkowski metric: 1 manhattan, 2 euclidean, inf chebyshev.
    metric : str, default="minkowski"
        "minkowski", "euclidean"/"l2", "manhattan"/"cityblock"/"l1", "cosine",
        "chebyshev"/"infinity" (max |x - y|; CPU only).
    metric_params : None
        Accepted for compatibility; must be None.
    n_jobs : None
        Accepted for compatibility and ignored: libmfs uses
        ``mfs.set_num_threads`` threads.
    backend : {"c", "cuda", "python"}, default="c"

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    n_samples_fit_ : int
    effective_metric_ : str
    effective_metric_params_ : dict

    Notes
    -----
    Ties in distance go to the lower training index; tied votes to the lower
    class (the first of ``classes_``), as scikit-learn.

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> clf = mfs.KNeighborsClassifier(n_neighbors=3).fit(X, y)
    >>> clf.predict([[1.1]]).tolist()
    [0]
    >>> clf.kneighbors([[1.1]], n_neighbors=2, return_distance=False).tolist()
    [[1, 2]]
    """

    _task = 0

    def __init__(self, n_neighbors=5, *, weights="uniform", algorithm="auto", leaf_size=30, p=2,
                 metric="minkowski", metric_params=None, n_jobs=None, backend="c"):
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.p = p
        self.metric = metric
        self.metric_params = metric_params
        self.n_jobs = n_jobs
        self.backend = backend

    def fit(self, X, y):
        """Store (a copy of) X (n_samples, n_features) and the labels y (any
        type, strings too). Returns self."""
        self._params(None)  # parameter errors before data errors
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1,
                             ensure_all_finite=self.backend == "python")
        y = self._encode_y(y)
        self.outputs_2d_ = False  # scikit-learn's flag: one output (a column y is raveled, with its warning)
        return self._fit_native_or_ref(X, y)

    def predict(self, X):
        """The class of each row of X: the (weighted) majority among its neighbors."""
        return self._decode(self._apply("predict", X))

    def predict_proba(self, X):
        """(n, n_classes) shares of the (weighted) votes, columns as classes_."""
        return proba_rows(self._apply("predict_proba", X))


@register
class KNeighborsRegressor(MultiOutputMixin, RegressorMixin, _KNeighborsBase):
    """Regression by the (weighted) mean of the k nearest neighbors' targets,
    from scratch in C (or CUDA, or numpy).

    Parameters
    ----------
    n_neighbors, weights, algorithm, leaf_size, p, metric, metric_params,
    n_jobs, backend : as KNeighborsClassifier.

    Attributes
    ----------
    n_features_in_, n_samples_fit_, effective_metric_, effective_metric_params_

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0.0, 1.0, 2.0, 3.0])
    >>> reg = mfs.KNeighborsRegressor(n_neighbors=2).fit(X, y)
    >>> reg.predict([[1.4]]).tolist()
    [1.5]
    """

    _task = 1

    def __init__(self, n_neighbors=5, *, weights="uniform", algorithm="auto", leaf_size=30, p=2,
                 metric="minkowski", metric_params=None, n_jobs=None, backend="c"):
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.p = p
        self.metric = metric
        self.metric_params = metric_params
        self.n_jobs = n_jobs
        self.backend = backend

    def fit(self, X, y):
        """Store (a copy of) X (n_samples, n_features) and the targets y
        (n_samples,) or (n_samples, n_targets). Returns self."""
        self._params(None)
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", y_numeric=True,
                             multi_output=True, ensure_min_samples=1,
                             ensure_all_finite=self.backend == "python")
        y = np.ascontiguousarray(y, dtype=np.float32)
        if y.ndim == 2 and y.shape[1] == 0:
            raise ValueError(f"{type(self).__name__}: y has 0 targets")
        return self._fit_native_or_ref(X, y)

    def predict(self, X):
        """The (weighted) mean target of each row's neighbors: (n,) or (n, n_targets)."""
        return self._apply("predict", X)
