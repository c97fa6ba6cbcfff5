"""Random forests: RandomForestClassifier and RandomForestRegressor, as
scikit-learn names them. One C model (kind "random_forest") serves both; its
criterion says which. The trees are built in C with OpenMP, each from its own
Philox streams keyed by (random_state, tree index), so a seed gives the same
forest for any thread count (and on the numpy reference)."""
from __future__ import annotations

import numbers
import sys
import time
import warnings

import numpy as np
from sklearn.base import ClassifierMixin, MultiOutputMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _native
from ._base import MfsClassifier, MfsEstimator, proba_rows, register, store_params
from .reference import random_forest as _ref
from .tree import _CcpAlphaInFiles, _check_class_weight

_CLF_CRITERIA = {"gini": 0, "entropy": 1, "log_loss": 1}
_REG_CRITERIA = {"squared_error": 2}
_SPLITS = {"auto": 0, "exact": 1, "hist": 2}
_MF_MODES = {None: 0, "sqrt": 1, "log2": 2}
# arrays small enough to keep in Python; the node arrays stay in C
_SMALL = ("feature_importances", "info", "tree_offsets", "tree_info", "oob_score",
          "oob_decision_function", "oob_prediction")
_NODE_ARRAYS = ("children_left", "children_right", "feature", "threshold", "value", "impurity",
                "n_node_samples", "weighted_n_node_samples")


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


class _ForestTree:
    """One fitted tree of a forest, as far as the forest exposes it: ``tree_``
    holds scikit-learn's tree_ arrays (node_count, children_left,
    children_right, feature, threshold, value, impurity, n_node_samples,
    weighted_n_node_samples, max_depth, n_leaves), views into the forest's
    concatenated arrays."""

    class _Arrays:
        pass

    def __init__(self, arrays, start, stop, depth, leaves, classifier=True):
        t = self._Arrays()
        for name in _NODE_ARRAYS:
            setattr(t, name, arrays[name][start:stop])
        # scikit-learn's shape: (node_count, n_outputs, max_n_classes)
        v = t.value
        t.value = v.reshape(len(v), 1, -1) if classifier else v.reshape(len(v), -1, 1)
        t.node_count = int(stop - start)
        t.max_depth = int(depth)
        t.n_leaves = int(leaves)
        self.tree_ = t

    def get_depth(self):
        return self.tree_.max_depth

    def get_n_leaves(self):
        return self.tree_.n_leaves


class _ForestBase(_CcpAlphaInFiles, MfsEstimator):
    _kind = "random_forest"
    _reference = _ref
    _attributes = {"feature_importances": "feature_importances_"}
    _criteria = _CLF_CRITERIA

    # ---- parameters --------------------------------------------------------
    def _seed(self):
        rs = self.random_state
        if _is_int(rs):
            if rs < 0 or rs > 2**63 - 1:
                raise ValueError(f"{type(self).__name__}: random_state is {rs}, it must be in [0, 2**63 - 1]")
            return int(rs)
        # None or a RandomState: draw a seed from it, as scikit-learn draws its trees' seeds
        return int(check_random_state(rs).randint(np.iinfo(np.int32).max))

    def _params(self, X):
        name = type(self).__name__

        def bad(param, value, what):
            return ValueError(f"{name}: {param} is {value!r}, it must be {what}")

        n = self.n_estimators
        if not _is_int(n) or n < 1 or n > 2**31 - 1:
            raise bad("n_estimators", n, "an int >= 1")
        if not isinstance(self.criterion, str) or self.criterion not in self._criteria:
            raise bad("criterion", self.criterion, f"one of {sorted(self._criteria)}")
        split = self.split_algorithm
        if not isinstance(split, str) or split not in _SPLITS:
            raise bad("split_algorithm", split, f"one of {sorted(_SPLITS)}")
        depth = self.max_depth
        if depth is not None and (not _is_int(depth) or depth < 1 or depth > 2**31 - 1):
            raise bad("max_depth", depth, "None or an int >= 1")
        mss = self.min_samples_split
        if _is_int(mss):
            if mss < 2:
                raise bad("min_samples_split", mss, "an int >= 2 or a float in (0, 1]")
        elif not (_is_real(mss) and 0.0 < mss <= 1.0):
            raise bad("min_samples_split", mss, "an int >= 2 or a float in (0, 1]")
        msl = self.min_samples_leaf
        if _is_int(msl):
            if msl < 1:
                raise bad("min_samples_leaf", msl, "an int >= 1 or a float in (0, 1)")
        elif not (_is_real(msl) and 0.0 < msl < 1.0):
            raise bad("min_samples_leaf", msl, "an int >= 1 or a float in (0, 1)")
        mwf = self.min_weight_fraction_leaf
        if not (_is_real(mwf) and 0.0 <= mwf <= 0.5):
            raise bad("min_weight_fraction_leaf", mwf, "a float in [0, 0.5]")
        mf = self.max_features
        if mf is None or isinstance(mf, str):
            if mf not in _MF_MODES:
                raise bad("max_features", mf, "'sqrt', 'log2', None, an int >= 1 or a float in (0, 1]")
            mf_mode, mf_value = _MF_MODES[mf], 1.0
        elif _is_int(mf):
            if mf < 1:
                raise bad("max_features", mf, "'sqrt', 'log2', None, an int >= 1 or a float in (0, 1]")
            mf_mode, mf_value = 3, float(mf)
        elif _is_real(mf) and 0.0 < mf <= 1.0:
            mf_mode, mf_value = 4, float(mf)
        else:
            raise bad("max_features", mf, "'sqrt', 'log2', None, an int >= 1 or a float in (0, 1]")
        mln = self.max_leaf_nodes
        if mln is not None and (not _is_int(mln) or mln < 2 or mln > 2**31 - 1):
            raise bad("max_leaf_nodes", mln, "None or an int >= 2")
        mid = self.min_impurity_decrease
        if not (_is_real(mid) and np.isfinite(float(mid)) and mid >= 0):
            raise bad("min_impurity_decrease", mid, "a finite float >= 0")
        if not isinstance(self.bootstrap, (bool, np.bool_)):
            raise bad("bootstrap", self.bootstrap, "a bool")
        if not isinstance(self.oob_score, (bool, np.bool_)):
            raise bad("oob_score", self.oob_score, "a bool (callable scorers are not supported)")
        if self.oob_score and not self.bootstrap:
            raise ValueError(f"{name}: Out of bag estimation only available if bootstrap=True")
        ms = self.max_samples
        if ms is None:
            ms_mode, ms_value = 0, 1.0
        elif _is_int(ms):
            if ms < 1:
                raise bad("max_samples", ms, "None, an int >= 1 or a float > 0")
            ms_mode, ms_value = 1, float(ms)
        elif _is_real(ms) and 0.0 < ms < np.inf:
            ms_mode, ms_value = 2, float(ms)
        else:
            raise bad("max_samples", ms, "None, an int >= 1 or a float > 0")
        if ms is not None and not self.bootstrap:
            raise ValueError(f"{name}: `max_sample` cannot be set if `bootstrap=False`. Either switch to "
                             "`bootstrap=True` or set `max_sample=None`.")
        ccp = self.ccp_alpha
        if not _is_real(ccp) or not float(ccp) >= 0.0 or not np.isfinite(float(ccp)):
            raise bad("ccp_alpha", ccp, "a float in the range [0.0, inf)")
        if self.monotonic_cst is not None:
            raise bad("monotonic_cst", self.monotonic_cst, "None (monotonic constraints are not implemented)")
        if self.n_jobs is not None and not _is_int(self.n_jobs):
            raise bad("n_jobs", self.n_jobs, "None or an int")
        if not _is_int(self.verbose) or self.verbose < 0:
            raise bad("verbose", self.verbose, "an int >= 0")
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise bad("warm_start", self.warm_start, "a bool")
        return {"n_estimators": int(n), "criterion": self._criteria[self.criterion],
                "split_algorithm": _SPLITS[split], "max_depth": -1 if depth is None else int(depth),
                "max_features_mode": mf_mode, "max_features": mf_value, "bootstrap": int(bool(self.bootstrap)),
                "min_samples_split": float(mss), "min_samples_leaf": float(msl),
                "min_weight_fraction_leaf": float(mwf), "min_impurity_decrease": float(mid),
                "max_leaf_nodes": -1 if mln is None else int(mln), "oob_score": int(bool(self.oob_score)),
                "max_samples_mode": ms_mode, "max_samples": ms_value,
                # predict/apply (X None) do not draw: only fit consumes the generator
                "random_state": self._seed() if X is not None else 0,
                "n_classes": len(self.classes_) if (X is not None and hasattr(self, "classes_")
                                                    and self._criteria is _CLF_CRITERIA) else 0,
                # "balanced_subsample" with bootstrap: per tree, in C (without: "balanced" weights)
                "class_weight_subsample": int(isinstance(getattr(self, "class_weight", None), str)
                                              and self.class_weight == "balanced_subsample"
                                              and bool(self.bootstrap))}

    # ---- fitting -----------------------------------------------------------
    def _fit(self, X, y, sample_weight):
        backend = self._check_backend()
        params = self._params(X)
        if self.warm_start and getattr(self, "_state", None) is not None:
            # keep the first trees: the same seed rebuilds them (see the docstring)
            params["random_state"] = self._seed_used
            done = int(self._state["tree_offsets"].shape[0] - 1)
            if params["n_estimators"] < done:
                raise ValueError(f"{type(self).__name__}: n_estimators={params['n_estimators']} must be larger "
                                 f"or equal to len(estimators_)={done} when warm_start==True")
            if params["n_estimators"] == done:
                warnings.warn("Warm-start fitting without increasing n_estimators does not fit new trees.",
                              UserWarning)
                return self
        if sample_weight is not None:
            # scikit-learn's checks and messages (a scalar weighs every sample the same)
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
            if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
                raise ValueError(f"{type(self).__name__}: sample_weight must be finite and >= 0")
            if not np.any(sample_weight > 0):
                raise ValueError(f"{type(self).__name__}: every sample_weight is zero; at least one must be > 0")
        sw = self._class_sample_weight(y, sample_weight)
        self._seed_used = params["random_state"]
        tic = time.perf_counter()
        if self.verbose:
            print(f"{type(self).__name__}: building {params['n_estimators']} trees on "
                  f"{X.shape[0]} x {X.shape[1]} ({backend})", file=sys.stderr)
        if backend == "python":
            self._native = None
            self._state = self._reference.fit(X, y, sample_weight=sw, verbose=int(self.verbose),
                                              ccp_alpha=float(self.ccp_alpha), **params)
        else:
            model = _native.NativeModel.create(self._kind, params, backend)
            if sw is not None:
                model.set_array("sample_weight", np.ascontiguousarray(sw, dtype=np.float64))
            if float(self.ccp_alpha) > 0.0:
                model.set_array("ccp_alpha", np.array(float(self.ccp_alpha), dtype=np.float64))
            model.fit(X, y)
            self._native = model
            self._state = self._small_state(model)
        if self.verbose:
            nodes = int(self._state["tree_offsets"][-1])
            print(f"{type(self).__name__}: {params['n_estimators']} trees, {nodes} nodes, "
                  f"{time.perf_counter() - tic:.3f} s", file=sys.stderr)
        nb = int(self._state["info"][2])  # the draws per tree the fit used
        if params["max_samples_mode"] == 2 and nb < max(10, X.shape[0] ** (1 / 3)):  # scikit-learn's warning
            total = X.shape[0] if sw is None else float(np.sum(sw))
            warnings.warn(f"Using the fractional value max_samples={self.max_samples} when the total sample "
                          f"weight is {total} results in a low number ({nb}) of bootstrap samples. We "
                          "recommend passing `max_samples` as an integer instead.", UserWarning)
        self._set_fit_attributes()
        return self

    def _class_sample_weight(self, y, sample_weight):
        return sample_weight

    @staticmethod
    def _small_state(model):
        names = [_native.ffi.string(_native.lib.mfs_model_array_name(model._h, i)).decode()
                 for i in range(_native.lib.mfs_model_array_count(model._h))]
        return {n: model.get(n) for n in names if n in _SMALL}

    def _set_fit_attributes(self):
        self._set_attributes()
        info = self._state["info"]
        self.n_outputs_ = int(info[1])
        self._n_samples = int(info[3])
        self._n_samples_bootstrap = int(info[2])
        if "oob_score" in self._state:
            self.oob_score_ = float(self._state["oob_score"])
            self._set_oob_attribute()
        else:
            for a in ("oob_score_", "oob_decision_function_", "oob_prediction_"):
                self.__dict__.pop(a, None)

    def __setstate__(self, state):
        data = state.pop("_native_bytes", None)
        self.__dict__.update(state)
        if data is not None:
            self._native = _native.NativeModel.from_bytes(data, self.backend)
            self._state = self._small_state(self._native)
        elif "_state" in state:
            self._native = None

    # ---- the trees -----------------------------------------------------------
    def _node_arrays(self):
        if self._native is None:
            return {k: self._state[k] for k in _NODE_ARRAYS}
        return {k: self._native.get(k) for k in _NODE_ARRAYS}

    @property
    def estimators_(self):
        """The fitted trees (views with scikit-learn's ``tree_`` arrays; node
        indices are tree-local). Built on access from the forest's arrays."""
        check_is_fitted(self, "_state")
        arrays = self._node_arrays()
        off = self._state["tree_offsets"]
        info = self._state["tree_info"]
        clf = self._criteria is _CLF_CRITERIA
        return [_ForestTree(arrays, off[t], off[t + 1], info[t, 0], info[t, 1], clf) for t in range(len(off) - 1)]

    @property
    def tree_node_counts_(self):
        """Nodes of each tree, (n_estimators,) int64."""
        check_is_fitted(self, "_state")
        return np.diff(self._state["tree_offsets"])

    def apply(self, X):
        """The leaf each row of X reaches in each tree: (n_samples, n_estimators)
        int64 tree-local node indices, as scikit-learn's forest.apply."""
        self._check_backend()
        check_is_fitted(self, "_state")
        X = self._validate_X(X, reset=False)
        if self._native is None:
            return self._reference.apply(self._state, X)
        out = np.empty((X.shape[0], len(self._state["tree_offsets"]) - 1), dtype=np.int64)
        _native.check(_native.lib.mfs_random_forest_apply(self._native._h, _native.view(X), _native.view(out)))
        return out

    # ---- model files -----------------------------------------------------------
    @classmethod
    def _accepts(cls, params):
        return (params["criterion"] in (0, 1)) == (cls._criteria is _CLF_CRITERIA)

    @classmethod
    def _from_native(cls, model, backend):
        p = model.params()
        inv = {v: k for k, v in cls._criteria.items() if k != "log_loss"}
        mf_mode = p["max_features_mode"]
        mf = {0: None, 1: "sqrt", 2: "log2", 3: int(p["max_features"]), 4: float(p["max_features"])}[mf_mode]
        ms = {0: None, 1: int(p["max_samples"]), 2: float(p["max_samples"])}[p["max_samples_mode"]]

        def count(v, low):
            return int(v) if v >= low else float(v)

        est = cls(n_estimators=p["n_estimators"], criterion=inv[p["criterion"]],
                  max_depth=None if p["max_depth"] == -1 else p["max_depth"],
                  min_samples_split=count(p["min_samples_split"], 2),
                  min_samples_leaf=count(p["min_samples_leaf"], 1),
                  min_weight_fraction_leaf=p["min_weight_fraction_leaf"], max_features=mf,
                  max_leaf_nodes=None if p["max_leaf_nodes"] == -1 else p["max_leaf_nodes"],
                  min_impurity_decrease=p["min_impurity_decrease"], bootstrap=bool(p["bootstrap"]),
                  oob_score=bool(p["oob_score"]), random_state=int(p["random_state"]), max_samples=ms,
                  split_algorithm={v: k for k, v in _SPLITS.items()}[p["split_algorithm"]], backend=backend)
        est._native = model
        est._state = cls._small_state(model)
        est._seed_used = int(p["random_state"])
        est.n_features_in_ = model.n_features_in
        if cls is RandomForestClassifier:
            est.classes_ = np.arange(int(est._state["info"][0]))
            est.n_classes_ = len(est.classes_)
        est._set_fit_attributes()
        return est


_PARAMS_DOC = """
    Parameters
    ----------
    n_estimators : int, default=100
        Trees in the forest.
    criterion : {criteria}, default="{criterion}"
    max_depth : int or None, default=None
    min_samples_split : int or float, default=2
        An int >= 2, or a float in (0, 1]: ceil(min_samples_split * n_samples).
    min_samples_leaf : int or float, default=1
        An int >= 1, or a float in (0, 1): ceil(min_samples_leaf * n_samples).
    min_weight_fraction_leaf : float, default=0.0
        Of the total weight of each tree's (bootstrap) sample.
    max_features : {{"sqrt", "log2", None}}, int or float, default={mf}
        Features drawn (without replacement, from the tree's Philox stream) at
        each node: sqrt(d), log2(d), all, a count or a fraction of d.
    max_leaf_nodes : int or None, default=None
        Set: best-first growth, as scikit-learn.
    min_impurity_decrease : float, default=0.0
    bootstrap : bool, default=True
        Each tree sees max_samples draws with replacement, as per-sample
        integer counts (weights): X is never copied. With sample_weight (or
        class_weight) a row is drawn with probability proportional to its
        weight and the tree sees only the counts, as scikit-learn >= 1.9: an
        integer weight k draws like k copies of the row.
    oob_score : bool, default=False
        Out-of-bag score ({score}) and predictions.
    n_jobs : int or None, default=None
        Accepted for compatibility and ignored: trees are built on
        ``mfs.set_num_threads`` threads (OpenMP); the forest does not depend
        on the thread count.
    random_state : int, RandomState or None, default=None
        Seed of the Philox streams: tree t draws its bootstrap from stream
        2**32 + t and its features from stream t. None or a RandomState
        draw a seed from numpy.
    verbose : int, default=0
        > 0: a line when the build starts and one when it ends (C builds the
        trees in parallel without callbacks); the python backend prints one
        line per tree.
    warm_start : bool, default=False
        True: a later fit with more n_estimators keeps the forest and
        returns it grown to n_estimators trees. As every tree depends only on
        (seed, its index, the data), the forest is REBUILT with the seed of
        the first fit: on the same data the first trees come out identical
        and the result equals a fresh fit with the larger n_estimators; no
        time is saved, and on CHANGED data the old trees are refitted too
        (scikit-learn would keep them).
    max_samples : int, float or None, default=None
        Bootstrap draws per tree: n_samples, a count, or
        max(1, floor(max_samples * W)) where W is the total sample weight
        (n_samples without weights), as scikit-learn >= 1.9.
    ccp_alpha : float, default=0.0
        Each grown tree is cost-complexity pruned at ccp_alpha, as
        DecisionTreeClassifier's (scikit-learn's); 0: no pruning.
    monotonic_cst : None
        Accepted for compatibility; must be None.
    split_algorithm : {{"auto", "exact", "hist"}}, default="auto"
        libmfs's split finder: "exact" tries every threshold between sorted
        values (scikit-learn's); "hist" 256 quantile bins per feature, binned
        ONCE for all trees; "auto" is hist from 50,000 samples on.
    backend : {{"c", "cuda", "python"}}, default="c"
        "cuda" fits on the CPU and predicts on the GPU.
"""


@register
class RandomForestClassifier(ClassifierMixin, _ForestBase, MfsClassifier):
    """A forest of CART classification trees on bootstrap samples, from
    scratch in C (or CUDA inference, or numpy).
    {params}
    class_weight : dict, "balanced", "balanced_subsample" or None, default=None
        Multiplied into the sample weights, as scikit-learn;
        "balanced_subsample" weighs each tree's draws by the class counts of
        that tree's bootstrap (n_draws / (classes drawn * draws of the class);
        without bootstrap it is "balanced").

    Attributes
    ----------
    classes_, n_classes_, n_features_in_, n_outputs_ (1)
    feature_importances_ : ndarray (n_features,)
        Mean over the trees of their normalized impurity decreases.
    oob_score_ : float
        Out-of-bag accuracy (with oob_score=True).
    oob_decision_function_ : ndarray (n_samples, n_classes)
    estimators_ : list of trees (``tree_`` arrays, see _ForestTree)
    tree_node_counts_ : ndarray (n_estimators,)

    Examples
    --------
    >>> import numpy as np
    >>> from mfs.ensemble import RandomForestClassifier
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> clf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    >>> clf.predict([[0.2], [2.8]]).tolist()
    [0, 1]
    """

    _criteria = _CLF_CRITERIA

    def __init__(self, n_estimators=100, *, criterion="gini", max_depth=None, min_samples_split=2,
                 min_samples_leaf=1, min_weight_fraction_leaf=0.0, max_features="sqrt", max_leaf_nodes=None,
                 min_impurity_decrease=0.0, bootstrap=True, oob_score=False, n_jobs=None, random_state=None,
                 verbose=0, warm_start=False, class_weight=None, ccp_alpha=0.0, max_samples=None,
                 monotonic_cst=None, split_algorithm="auto", backend="c"):
        store_params(self, locals())

    def fit(self, X, y, sample_weight=None):
        """Grow the forest on X (n_samples, n_features) and labels y (any type,
        strings too); sample_weight (n_samples,) >= 0 gives the probability of
        each row in the bootstrap draws (without bootstrap: the rows' weights).
        Returns self."""
        self._check_backend()
        self._params(None)  # parameter errors before data errors
        self._check_class_weight()
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1,
                             ensure_all_finite=self.backend == "python")
        yi = self._encode_y(y)
        self.n_classes_ = len(self.classes_)
        return self._fit(X, yi, sample_weight)

    def _check_class_weight(self):
        return _check_class_weight(type(self).__name__, self.class_weight, extra=("balanced_subsample",))

    def _class_sample_weight(self, y, sample_weight):
        cw = self._check_class_weight()
        if cw is None:
            return sample_weight
        if cw == "balanced_subsample":
            if self.bootstrap:  # each tree weighs its own draws (the C fit / the reference)
                return sample_weight
            cw = "balanced"  # scikit-learn's: without bootstrap, the classes of all of y
        from sklearn.utils.class_weight import compute_sample_weight
        # on the user's labels, as scikit-learn (dict keys are labels, not indices)
        w = compute_sample_weight(cw, self.classes_[y])
        return w if sample_weight is None else w * sample_weight

    def _set_oob_attribute(self):
        self.oob_decision_function_ = self._state["oob_decision_function"]
        if np.any(self.oob_decision_function_.sum(axis=1) == 0):
            warnings.warn("Some inputs do not have OOB scores. This probably means too few trees were used "
                          "to compute any reliable OOB estimates.", UserWarning)

    def predict(self, X):
        """The class of each row: the argmax of the trees' mean class probabilities."""
        return self._decode(self._apply("predict", X))

    def predict_proba(self, X):
        """(n, n_classes) mean over the trees of their leaves' class fractions."""
        return proba_rows(self._apply("predict_proba", X))

    def predict_log_proba(self, X):
        """log of predict_proba (-inf where a probability is 0), as scikit-learn."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


@register
class RandomForestRegressor(MultiOutputMixin, RegressorMixin, _ForestBase):
    """A forest of CART regression trees on bootstrap samples, from scratch
    in C (or CUDA inference, or numpy).
    {params}
    Attributes
    ----------
    n_features_in_, n_outputs_
    feature_importances_ : ndarray (n_features,)
    oob_score_ : float
        Out-of-bag R^2 (with oob_score=True).
    oob_prediction_ : ndarray (n_samples,) or (n_samples, n_outputs)
    estimators_, tree_node_counts_ : as RandomForestClassifier.

    Examples
    --------
    >>> import numpy as np
    >>> from mfs.ensemble import RandomForestRegressor
    >>> X = np.arange(8.0).reshape(-1, 1); y = np.array([0, 0, 0, 0, 5, 5, 5, 5.0])
    >>> reg = RandomForestRegressor(n_estimators=20, random_state=0).fit(X, y)
    >>> [round(v) for v in reg.predict([[0.5], [6.5]])]
    [0, 5]
    """

    _criteria = _REG_CRITERIA

    def __init__(self, n_estimators=100, *, criterion="squared_error", max_depth=None, min_samples_split=2,
                 min_samples_leaf=1, min_weight_fraction_leaf=0.0, max_features=1.0, max_leaf_nodes=None,
                 min_impurity_decrease=0.0, bootstrap=True, oob_score=False, n_jobs=None, random_state=None,
                 verbose=0, warm_start=False, ccp_alpha=0.0, max_samples=None, monotonic_cst=None,
                 split_algorithm="auto", backend="c"):
        store_params(self, locals())

    def fit(self, X, y, sample_weight=None):
        """Grow the forest on X (n_samples, n_features) and targets y
        (n_samples,) or (n_samples, n_outputs). Returns self."""
        self._check_backend()
        self._params(None)
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", y_numeric=True, multi_output=True,
                             ensure_min_samples=1, ensure_all_finite=self.backend == "python")
        y = np.ascontiguousarray(y, dtype=np.float32)
        if y.ndim == 2 and y.shape[1] == 0:
            raise ValueError("RandomForestRegressor: y has 0 targets")
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected. Please change the shape of y "
                          "to (n_samples,), for example using ravel().", DataConversionWarning, stacklevel=2)
            y = np.ascontiguousarray(y[:, 0])
        if not np.all(np.isfinite(y)):
            raise ValueError("RandomForestRegressor: y contains NaN or infinity")
        return self._fit(X, y, sample_weight)

    def _set_oob_attribute(self):
        pred = self._state["oob_prediction"]
        self.oob_prediction_ = pred[:, 0] if pred.ndim == 2 and pred.shape[1] == 1 else pred

    def predict(self, X):
        """The mean of the trees' leaf means: (n,) or (n, n_outputs)."""
        return self._apply("predict", X)


RandomForestClassifier.__doc__ = RandomForestClassifier.__doc__.format(params=_PARAMS_DOC.format(
    criteria='{"gini", "entropy", "log_loss"}', criterion="gini", mf='"sqrt"', score="accuracy"))
RandomForestRegressor.__doc__ = RandomForestRegressor.__doc__.format(params=_PARAMS_DOC.format(
    criteria='{"squared_error"}', criterion="squared_error", mf="1.0", score="R^2"))
