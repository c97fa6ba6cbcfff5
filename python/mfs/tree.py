"""Decision trees: DecisionTreeClassifier and DecisionTreeRegressor, as
scikit-learn names them (CART). One C model (kind "decision_tree") serves both;
its criterion says which. The tree is grown in C (exact sorted splits as
scikit-learn's BestSplitter, or 256-bin histograms for large n), predicted in
C or on the GPU, or all of it in numpy (backend="python")."""
from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, MultiOutputMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _native
from ._base import (META_CCP_ALPHA, MfsClassifier, MfsEstimator, decode_meta, encode_meta, proba_rows,
                    register, store_params)
from .reference import decision_tree as _ref

_CLF_CRITERIA = {"gini": 0, "entropy": 1, "log_loss": 1}
_REG_CRITERIA = {"squared_error": 2}
_CRITERION_NAMES = {0: "gini", 1: "entropy", 2: "squared_error"}
_SPLITS = {"auto": 0, "exact": 1, "hist": 2}
_SPLIT_NAMES = {v: k for k, v in _SPLITS.items()}
_MF_ALL, _MF_SQRT, _MF_LOG2, _MF_COUNT, _MF_FRACTION = range(5)
_INT_MAX = 2**31 - 1


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _check_class_weight(owner, cw, extra=()):
    """class_weight for one output: None, "balanced" (or a string in
    `extra`) or a dict label -> weight. Anything else (scikit-learn's
    per-output list of dicts among them: libmfs trees have one output) is a
    ValueError naming the estimator, raised before any work."""
    if cw is None or isinstance(cw, dict):
        return cw
    if isinstance(cw, str) and (cw == "balanced" or cw in extra):
        return cw
    raise ValueError(f"{owner}: class_weight must be None, 'balanced' or a dict label -> weight "
                     f"(libmfs trees have one output, so no list of dicts), got {cw!r}")


class Tree:
    """The fitted tree's arrays, as scikit-learn's ``tree_`` (read-only views):
    node 0 is the root; leaves have children -1 and feature -2; a sample goes
    left when ``x[feature] <= threshold``. ``value`` is (node_count, n_outputs,
    max_n_classes): class fractions (classifier) or target means (regressor)."""

    def __init__(self, state, n_features, n_outputs, n_classes):
        def ro(a, dtype=None):
            a = np.array(a, dtype=dtype) if dtype is not None else np.array(a)
            a.setflags(write=False)
            return a
        self.children_left = ro(state["children_left"], np.intp)
        self.children_right = ro(state["children_right"], np.intp)
        self.feature = ro(state["feature"], np.intp)
        self.threshold = ro(state["threshold"], np.float64)
        value = np.asarray(state["value"], dtype=np.float64)
        if n_classes:  # (N, K) -> (N, 1, K)
            value = value[:, None, :]
        else:          # (N, T) -> (N, T, 1)
            value = value[:, :, None]
        self.value = ro(value)
        self.impurity = ro(state["impurity"], np.float64)
        self.n_node_samples = ro(state["n_node_samples"], np.intp)
        self.weighted_n_node_samples = ro(state["weighted_n_node_samples"], np.float64)
        info = np.asarray(state["info"])
        self.node_count = int(len(self.children_left))
        self.capacity = self.node_count
        self.max_depth = int(info[0])
        self.n_leaves = int(info[1])
        self.n_features = int(n_features)
        self.n_outputs = int(n_outputs)
        self.n_classes = np.array([n_classes if n_classes else 1] * n_outputs, dtype=np.intp)
        self.max_n_classes = int(self.n_classes.max())

    def __repr__(self):
        return f"<mfs.tree.Tree with {self.node_count} nodes, depth {self.max_depth}>"


class _CcpAlphaInFiles:
    """ccp_alpha travels in model files as metadata: the C model holds only
    its effect (the pruned trees), and a loaded estimator reports it."""

    def _meta_arrays(self):
        meta = super()._meta_arrays()
        a = getattr(self, "ccp_alpha", 0.0)
        if _is_real(a) and float(a) > 0.0:
            meta[META_CCP_ALPHA] = encode_meta(np.array([float(a)]), "ccp_alpha")
        return meta

    def _restore_meta(self, model):
        names = super()._restore_meta(model)
        if META_CCP_ALPHA in names:
            a = decode_meta(model.get(META_CCP_ALPHA), META_CCP_ALPHA)
            if a.dtype != np.float64 or a.shape != (1,) or not np.isfinite(a[0]) or a[0] < 0:
                raise _native.ModelFormatError(f"mfs.load: {META_CCP_ALPHA} must hold one finite float64 >= 0, "
                                               f"got {a!r}")
            self.ccp_alpha = float(a[0])
        return names


class _DecisionTreeBase(_CcpAlphaInFiles, MfsEstimator):
    _kind = "decision_tree"
    _reference = _ref
    _attributes = {"feature_importances": "feature_importances_"}
    _criteria = {}

    # ---- parameters --------------------------------------------------------
    def _seed(self):
        rs = self.random_state
        if _is_int(rs):
            if not -2**63 <= rs < 2**63:
                raise ValueError(f"{type(self).__name__}: random_state {rs} does not fit in 64 bits")
            return int(rs)
        # None or a RandomState: one draw seeds the C library's Philox stream
        return int(check_random_state(rs).randint(0, _INT_MAX))

    def _params(self, X):
        name = type(self).__name__

        def bad(param, value, what):
            return ValueError(f"{name}: The '{param}' parameter must be {what}. Got {value!r} instead.")

        if not isinstance(self.criterion, str) or self.criterion not in self._criteria:
            raise bad("criterion", self.criterion, f"a str among {sorted(self._criteria)}")
        if self.splitter != "best":
            raise bad("splitter", self.splitter, "'best' (libmfs has no random splitter)")
        if not isinstance(self.split_algorithm, str) or self.split_algorithm not in _SPLITS:
            raise bad("split_algorithm", self.split_algorithm, f"a str among {sorted(_SPLITS)}")
        md = self.max_depth
        if md is None:
            max_depth = -1
        elif _is_int(md) and 1 <= md:
            max_depth = int(min(md, _INT_MAX))
        else:
            raise bad("max_depth", md, "an int in the range [1, inf) or None")
        mss = self.min_samples_split
        if _is_int(mss) and mss >= 2:
            mss = float(min(mss, 2**53))
        elif _is_real(mss) and not _is_int(mss) and 0.0 < mss <= 1.0:
            mss = float(mss)
        else:
            raise bad("min_samples_split", mss, "an int in the range [2, inf) or a float in the range (0.0, 1.0]")
        msl = self.min_samples_leaf
        if _is_int(msl) and msl >= 1:
            msl = float(min(msl, 2**53))
        elif _is_real(msl) and not _is_int(msl) and 0.0 < msl < 1.0:
            msl = float(msl)
        else:
            raise bad("min_samples_leaf", msl, "an int in the range [1, inf) or a float in the range (0.0, 1.0)")
        mwf = self.min_weight_fraction_leaf
        if not _is_real(mwf) or not 0.0 <= mwf <= 0.5:
            raise bad("min_weight_fraction_leaf", mwf, "a float in the range [0.0, 0.5]")
        mf = self.max_features
        if mf is None:
            mode, mfv = _MF_ALL, 0.0
        elif isinstance(mf, str) and mf in ("sqrt", "log2"):
            mode, mfv = (_MF_SQRT if mf == "sqrt" else _MF_LOG2), 0.0
        elif _is_int(mf) and mf >= 1:
            mode, mfv = _MF_COUNT, float(min(mf, 2**53))
            if X is not None and mf > X.shape[1]:
                raise ValueError(f"{name}: max_features must be in (0, n_features], got {mf} for "
                                 f"{X.shape[1]} features")
        elif _is_real(mf) and not _is_int(mf) and 0.0 < mf <= 1.0:
            mode, mfv = _MF_FRACTION, float(mf)
        else:
            raise bad("max_features", mf, "an int in the range [1, inf), a float in the range (0.0, 1.0], "
                      "a str among {'sqrt', 'log2'} or None")
        mln = self.max_leaf_nodes
        if mln is None:
            mln = -1
        elif not (_is_int(mln) and mln >= 2):
            raise bad("max_leaf_nodes", mln, "an int in the range [2, inf) or None")
        mid = self.min_impurity_decrease
        if not _is_real(mid) or not mid >= 0.0 or not np.isfinite(float(mid)):
            raise bad("min_impurity_decrease", mid, "a float in the range [0.0, inf)")
        ccp = self.ccp_alpha
        if not _is_real(ccp) or not float(ccp) >= 0.0 or not np.isfinite(float(ccp)):
            raise bad("ccp_alpha", ccp, "a float in the range [0.0, inf)")
        if self.monotonic_cst is not None:
            raise bad("monotonic_cst", self.monotonic_cst, "None (monotonic constraints are not implemented)")
        classes = getattr(self, "classes_", None)
        return {"criterion": self._criteria[self.criterion], "split_algorithm": _SPLITS[self.split_algorithm],
                "max_depth": max_depth, "max_features_mode": mode, "max_features": mfv,
                "min_samples_split": mss, "min_samples_leaf": msl,
                "min_weight_fraction_leaf": float(mwf), "min_impurity_decrease": float(mid),
                "max_leaf_nodes": int(min(mln, 2**62)),
                "random_state": self._seed() if X is not None else 0,
                "n_classes": 0 if classes is None or not self._is_classifier else len(classes)}

    # ---- fitting -----------------------------------------------------------
    def _fit(self, X, y, sample_weight):
        backend = self._check_backend()
        params = self._params(X)
        w = None
        if sample_weight is not None:
            w = _check_sample_weight(sample_weight, X, dtype=np.float64)
            if np.any(~np.isfinite(w)) or np.any(w < 0):
                raise ValueError(f"{type(self).__name__}: sample_weight must be finite and >= 0")
        w = self._class_sample_weight(y, w)
        ccp = float(self.ccp_alpha)
        if backend == "python":
            self._native = None
            self._state = {k: np.asarray(v) for k, v in
                           self._reference.fit(X, y, sample_weight=w, ccp_alpha=ccp, **params).items()}
        else:
            model = _native.NativeModel.create(self._kind, params, backend)
            if w is not None:
                model.set_array("sample_weight", np.ascontiguousarray(w, dtype=np.float64))
            if ccp > 0.0:  # float64: the alphas of cost_complexity_pruning_path must prune exactly there
                model.set_array("ccp_alpha", np.array(ccp, dtype=np.float64))
            model.fit(X, y)
            self._native = model
            self._state = model.arrays()
        self._set_fit_attributes(params, X.shape[1])
        return self

    def _class_sample_weight(self, y, w):
        return w

    def _set_fit_attributes(self, params, d):
        self._set_attributes()
        info = self._state["info"]
        K, T = int(info[2]), int(info[3])
        self.n_outputs_ = T
        mode, mf = params["max_features_mode"], params["max_features"]
        self.max_features_ = {_MF_ALL: d, _MF_SQRT: max(1, int(np.sqrt(d))), _MF_LOG2: max(1, int(np.log2(d))),
                              _MF_COUNT: int(mf), _MF_FRACTION: max(1, int(mf * d))}[mode]
        self.tree_ = Tree(self._state, d, T, K)

    def __setstate__(self, state):
        super().__setstate__(state)

    # ---- queries -------------------------------------------------------------
    def apply(self, X):
        """The index (into tree_'s arrays) of the leaf each row of X ends in, int64."""
        self._check_backend()
        check_is_fitted(self, "_state")
        X = self._validate_X(X, reset=False)
        if self._native is not None:
            out = np.empty(X.shape[0], dtype=np.int64)
            _native.check(_native.lib.mfs_decision_tree_apply(self._native._h, _native.view(X), _native.view(out)))
            return out
        return self._reference.apply(self._state, X)

    def decision_path(self, X):
        """CSR indicator (n_samples, node_count): entry (i, j) is 1 when row i
        passes through node j."""
        leaves = self.apply(X)
        t = self.tree_
        parent = np.full(t.node_count, -1, dtype=np.int64)
        inner = np.flatnonzero(t.children_left != -1)
        parent[t.children_left[inner]] = inner
        parent[t.children_right[inner]] = inner
        rows, cols = [], []
        node = leaves.astype(np.int64)
        active = np.arange(len(node))
        while len(active):
            rows.append(active)
            cols.append(node[active])
            node[active] = parent[node[active]]
            active = active[node[active] >= 0]
        r, c = np.concatenate(rows), np.concatenate(cols)
        order = np.lexsort((c, r))
        indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=len(leaves)))])
        return sp.csr_matrix((np.ones(len(r), dtype=np.int64), c[order], indptr),
                             shape=(len(leaves), t.node_count))

    def cost_complexity_pruning_path(self, X, y, sample_weight=None):
        """scikit-learn's minimal cost-complexity pruning path: a tree grown
        with these parameters (ccp_alpha ignored) on X, y, then the effective
        alphas at which its weakest links are pruned, and the total leaf
        impurity of each pruned tree. Returns a Bunch(ccp_alphas, impurities);
        fitting with ccp_alpha=ccp_alphas[i] gives the i-th tree."""
        from sklearn.base import clone
        from sklearn.utils import Bunch
        grown = clone(self).set_params(ccp_alpha=0.0).fit(X, y, sample_weight=sample_weight)
        alphas, impurities = self._reference.ccp_path(grown._state)
        return Bunch(ccp_alphas=alphas, impurities=impurities)

    def get_depth(self):
        """Depth of the tree: the longest path from the root to a leaf (root alone: 0)."""
        check_is_fitted(self, "_state")
        return self.tree_.max_depth

    def get_n_leaves(self):
        """Number of leaves."""
        check_is_fitted(self, "_state")
        return self.tree_.n_leaves

    # ---- model files ---------------------------------------------------------
    @classmethod
    def _accepts(cls, params):
        return (params["criterion"] == 2) == (cls._criteria is _REG_CRITERIA)

    @classmethod
    def _from_native(cls, model, backend):
        p = model.params()
        inv_mf = {_MF_ALL: None, _MF_SQRT: "sqrt", _MF_LOG2: "log2"}
        mode = p["max_features_mode"]
        mf = inv_mf[mode] if mode in inv_mf else (int(p["max_features"]) if mode == _MF_COUNT
                                                  else float(p["max_features"]))

        def count(v, low):
            return int(v) if v >= low and float(v).is_integer() else float(v)

        est = cls(criterion=_CRITERION_NAMES[p["criterion"]], split_algorithm=_SPLIT_NAMES[p["split_algorithm"]],
                  max_depth=None if p["max_depth"] == -1 else int(p["max_depth"]),
                  min_samples_split=count(p["min_samples_split"], 2), min_samples_leaf=count(p["min_samples_leaf"], 1),
                  min_weight_fraction_leaf=p["min_weight_fraction_leaf"], max_features=mf,
                  max_leaf_nodes=None if p["max_leaf_nodes"] == -1 else int(p["max_leaf_nodes"]),
                  min_impurity_decrease=p["min_impurity_decrease"], random_state=int(p["random_state"]),
                  backend=backend)
        est._native = model
        est._state = model.arrays()
        est.n_features_in_ = model.n_features_in
        K = int(est._state["info"][2])
        if cls._is_classifier:
            est.classes_ = np.arange(K)  # from_bytes sets the user's labels from "meta.classes"
            est.n_classes_ = K
        params = est._params(None)
        est._set_fit_attributes(params, model.n_features_in)
        return est


@register
class DecisionTreeClassifier(ClassifierMixin, _DecisionTreeBase, MfsClassifier):
    """A CART classification tree, grown in C (or numpy; predicted in C, CUDA
    or numpy).

    Parameters
    ----------
    criterion : {"gini", "entropy", "log_loss"}, default="gini"
        Impurity: Gini index, or Shannon entropy in bits ("log_loss" is the same).
    splitter : {"best"}, default="best"
        Accepted for compatibility: libmfs always searches the best split.
    max_depth : int or None, default=None
        Longest root-to-leaf path (>= 1); None grows until the leaves are pure
        or the min_samples rules stop it.
    min_samples_split : int or float, default=2
        Samples a node needs to be split (int >= 2, or a fraction of n).
    min_samples_leaf : int or float, default=1
        Samples each child needs (int >= 1, or a fraction of n).
    min_weight_fraction_leaf : float, default=0.0
        Fraction of the total sample weight each child needs.
    max_features : int, float, {"sqrt", "log2"} or None, default=None
        Features drawn (without replacement, Philox stream) per split; None: all
        of them, visited in index order.
    random_state : int, RandomState or None, default=None
        Seeds the feature draws (only used when max_features < n_features).
    max_leaf_nodes : int or None, default=None
        Grow best-first to at most this many leaves (as scikit-learn).
    min_impurity_decrease : float, default=0.0
        Split only if the weighted impurity decrease is at least this.
    class_weight : dict, "balanced" or None, default=None
        Class weights, multiplied into sample_weight (as scikit-learn).
    ccp_alpha : float, default=0.0
        Minimal cost-complexity pruning after the growth (scikit-learn's):
        the weakest links (smallest increase of the leaves' weighted impurity
        per leaf removed) are pruned while that increase is <= ccp_alpha; see
        cost_complexity_pruning_path. 0: no pruning.
    monotonic_cst : None
        Accepted for compatibility; must be None.
    split_algorithm : {"auto", "exact", "hist"}, default="auto"
        "exact": every threshold between distinct sorted values (scikit-learn's
        search: the same tree where no two splits tie); "hist": thresholds
        between 256 quantile bins per feature, histograms by subtraction
        (much faster for large n); "auto": hist from 500,000 samples on.
    backend : {"c", "cuda", "python"}, default="c"
        "cuda" predicts on the GPU (the tree is grown on the CPU).

    Attributes
    ----------
    classes_, n_classes_, n_features_in_, n_outputs_, max_features_,
    feature_importances_ (normalized total impurity decrease), tree_ (Tree).

    Notes
    -----
    Ties between two features of equal gain go to the lower feature index
    (scikit-learn visits the features in a random order, so there a tie can
    go either way); ties between thresholds of one feature go to the lower
    threshold, as scikit-learn.

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> clf = mfs.DecisionTreeClassifier().fit(X, y)
    >>> clf.predict([[0.4], [2.6]]).tolist()
    [0, 1]
    >>> float(clf.tree_.threshold[0]), clf.get_depth(), clf.get_n_leaves()
    (1.5, 1, 2)
    """

    _criteria = _CLF_CRITERIA
    _is_classifier = True

    def __init__(self, *, criterion="gini", splitter="best", max_depth=None, min_samples_split=2,
                 min_samples_leaf=1, min_weight_fraction_leaf=0.0, max_features=None, random_state=None,
                 max_leaf_nodes=None, min_impurity_decrease=0.0, class_weight=None, ccp_alpha=0.0,
                 monotonic_cst=None, split_algorithm="auto", backend="c"):
        store_params(self, locals())

    def fit(self, X, y, sample_weight=None):
        """Grow the tree on X (n_samples, n_features) and labels y (any type).
        sample_weight: (n_samples,) >= 0 or None. Returns self."""
        self._params(None)  # parameter errors before data errors
        _check_class_weight(type(self).__name__, self.class_weight)
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1,
                             ensure_all_finite=self.backend == "python")
        y = self._encode_y(y)
        self.n_classes_ = len(self.classes_)
        return self._fit(X, y, sample_weight)

    def _class_sample_weight(self, y, w):
        cw = _check_class_weight(type(self).__name__, self.class_weight)
        if cw is None:
            return w
        cw = compute_sample_weight(cw, self.classes_[y])
        return cw if w is None else w * cw

    def predict(self, X):
        """The class of each row of X: the majority (weighted) class of its leaf."""
        return self._decode(self._apply("predict", X))

    def predict_proba(self, X):
        """(n_samples, n_classes) class fractions of each row's leaf, columns as classes_."""
        return proba_rows(self._apply("predict_proba", X).astype(np.float64))

    def predict_log_proba(self, X):
        """Log of predict_proba (-inf where a class is absent from the leaf)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


@register
class DecisionTreeRegressor(MultiOutputMixin, RegressorMixin, _DecisionTreeBase):
    """A CART regression tree (squared error), grown in C (or numpy; predicted
    in C, CUDA or numpy).

    Parameters
    ----------
    criterion : {"squared_error"}, default="squared_error"
    splitter, max_depth, min_samples_split, min_samples_leaf,
    min_weight_fraction_leaf, max_features, random_state, max_leaf_nodes,
    min_impurity_decrease, ccp_alpha, monotonic_cst, split_algorithm, backend :
    as DecisionTreeClassifier.

    Attributes
    ----------
    n_features_in_, n_outputs_, max_features_, feature_importances_, tree_.

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([1.0, 1.0, 5.0, 7.0])
    >>> reg = mfs.DecisionTreeRegressor(max_depth=1).fit(X, y)
    >>> reg.predict([[0.5], [2.5]]).tolist()
    [1.0, 6.0]
    """

    _criteria = _REG_CRITERIA
    _is_classifier = False

    def __init__(self, *, criterion="squared_error", splitter="best", max_depth=None, min_samples_split=2,
                 min_samples_leaf=1, min_weight_fraction_leaf=0.0, max_features=None, random_state=None,
                 max_leaf_nodes=None, min_impurity_decrease=0.0, ccp_alpha=0.0, monotonic_cst=None,
                 split_algorithm="auto", backend="c"):
        store_params(self, locals())

    def fit(self, X, y, sample_weight=None):
        """Grow the tree on X (n_samples, n_features) and targets y (n_samples,)
        or (n_samples, n_targets). sample_weight: (n_samples,) >= 0 or None."""
        self._params(None)
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", y_numeric=True, multi_output=True,
                             ensure_min_samples=1, ensure_all_finite=self.backend == "python")
        y = np.ascontiguousarray(y, dtype=np.float32)
        if y.ndim == 2 and y.shape[1] == 0:
            raise ValueError(f"{type(self).__name__}: y has 0 targets")
        if y.ndim == 2 and y.shape[1] == 1:
            # one output: predict returns (n,) as scikit-learn's tree does for a
            # column y (n_outputs_ is 1 either way)
            y = np.ascontiguousarray(y[:, 0])
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{type(self).__name__}: y contains NaN or infinity (or values beyond float32)")
        return self._fit(X, y, sample_weight)

    def predict(self, X):
        """The mean target of each row's leaf: (n,) or (n, n_targets)."""
        return self._apply("predict", X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
