"""Naive Bayes classifiers: GaussianNB, MultinomialNB and BernoulliNB, as
scikit-learn names them, with partial_fit for data streamed in batches."""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _native
from ._base import MfsClassifier, log_softmax_rows, register
from .reference import naive_bayes as _ref

_GAUSSIAN, _MULTINOMIAL, _BERNOULLI = 0, 1, 2


def _real(owner, name, value, low=0.0):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {type(value).__name__}")
    if not np.isfinite(float(value)) or value < low:  # float(): Python ints beyond int64 too
        raise ValueError(f"{owner}: {name} is {value}, it must be a finite number >= {low}")
    return float(value)


def _bool(owner, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be a bool, got {value!r} ({type(value).__name__})")
    return bool(value)


class _BaseNB(ClassifierMixin, MfsClassifier):
    _kind = "naive_bayes"
    _reference = _ref
    _variant = None

    # ---- parameters ----------------------------------------------------------
    def _prior_param(self):
        return None

    def _check_prior(self):
        """The user's priors as float64 (K,), validated against classes_, or None."""
        prior = self._prior_param()
        if prior is None:
            return None
        try:
            p = np.asarray(prior, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            pname = "priors" if isinstance(self, GaussianNB) else "class_prior"
            raise ValueError(f"{type(self).__name__}: {pname} must be an array-like of numbers, one per class, "
                             f"got {prior!r}") from None
        if p.shape[0] != len(self.classes_):
            raise ValueError(f"{type(self).__name__}: Number of priors must match number of classes: "
                             f"got {p.shape[0]} priors for {len(self.classes_)} classes.")
        if not np.all(np.isfinite(p)) or np.any(p < 0):
            raise ValueError(f"{type(self).__name__}: Priors must be non-negative.")
        if not np.isclose(p.sum(), 1.0):
            raise ValueError(f"{type(self).__name__}: The sum of the priors should be 1, got {p.sum()}.")
        return p

    # ---- fitting -------------------------------------------------------------
    def _sample_weight(self, sample_weight, X):
        """float64 (n,), finite, >= 0 and not all 0, or None."""
        if sample_weight is None:
            return None
        # scikit-learn's check refuses negative weights and (as scikit-learn's own
        # naive Bayes does, for every batch) weights that are all zero
        w = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        return np.ascontiguousarray(w, dtype=np.float64)

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n_samples, n_features) and labels y (n_samples,), each row
        weighted by sample_weight (n_samples,), default 1: class and feature
        counts are sums of weights, Gaussian means and variances weighted ones
        (scikit-learn's semantics). Returns self."""
        self._check_backend()
        self._params(None)  # validate parameters before any work
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1,
                             ensure_all_finite=self.backend == "python")
        w = self._sample_weight(sample_weight, X)
        yi = self._encode_y(y)
        return self._update(X, yi, first=True, sample_weight=w)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the model with one batch, rows weighted by sample_weight (as in
        fit); `classes` (every label that can occur) is required on the first
        call, as in scikit-learn. Returns self."""
        self._check_backend()
        first = getattr(self, "classes_", None) is None or getattr(self, "_state", None) is None
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None:
            want = unique_labels(classes)
            if not first and not np.array_equal(self.classes_, want):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call to partial_fit, "
                                 f"was: {self.classes_!r}")
        self._params(None)
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1, reset=first,
                             ensure_all_finite=self.backend == "python")
        w = self._sample_weight(sample_weight, X)
        yi = self._encode_y(y, classes=want if first else self.classes_)
        return self._update(X, yi, first=first, sample_weight=w)

    def _update(self, X, yi, first, sample_weight=None):
        backend = self._check_backend()
        prior = self._check_prior()
        params = self._params(X)
        if backend == "python":
            state = None if first else self._state
            self._state = self._reference.partial_fit(state, X, yi, **params, class_prior=prior,
                                                      sample_weight=sample_weight)
            self._native = None
        else:
            if first:
                self._native = _native.NativeModel.create(self._kind, params, backend)
            model = self._native
            if prior is not None:
                model.set_array("class_prior", prior)
            else:
                _native.check(_native.lib.mfs_model_set_array(model._h, b"class_prior", _native.ffi.NULL))
            model.set_array("sample_weight", sample_weight)  # None removes the last batch's
            fn = _native.lib.mfs_fit if first else _native.lib.mfs_partial_fit
            _native.check(fn(model._h, _native.view(X), _native.view(yi)))
            self._state = model.arrays()
        self._set_attributes()
        return self

    def _params(self, X):
        classes = getattr(self, "classes_", None)
        p = {"variant": self._variant, "n_classes": 0 if classes is None else len(classes)}
        p.update(self._variant_params())
        return p

    # ---- prediction ----------------------------------------------------------
    def _run(self, method, X):
        check_is_fitted(self, "_state")
        if self._native is None:
            return getattr(self._reference, method)(self._state, X, **self._params(None))
        if method == "predict_log_proba":
            return self._native._apply(_native.lib.MFS_METHOD_PREDICT_LOG_PROBA,
                                       _native.lib.mfs_predict_log_proba, X)
        if method == "decision_function":
            return self._native._apply(_native.lib.MFS_METHOD_DECISION_FUNCTION,
                                       _native.lib.mfs_decision_function, X)
        return getattr(self._native, method)(X)

    def predict_joint_log_proba(self, X):
        """The joint log-likelihood log P(x, c) = log P(c) + log P(x | c) of
        each row and class, before normalization (n_samples, n_classes),
        float64 (computed in double, returned through float32), as
        scikit-learn's predict_joint_log_proba."""
        self._check_backend()
        check_is_fitted(self, "_state")
        X = self._validate_X(X, reset=False)
        return self._run("decision_function", X).astype(np.float64)

    def predict(self, X):
        """The most probable class of each row of X."""
        return self._decode(self._apply("predict", X))

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), float64: exp of
        predict_log_proba, so that log(predict_proba) == predict_log_proba even
        where a probability is within float32 rounding of 1."""
        return self._log_proba(X, exp=True)

    def predict_log_proba(self, X):
        """Log of the class probabilities (log-softmax of the joint log-likelihood,
        computed in log space), float64."""
        return self._log_proba(X, exp=False)

    def _log_proba(self, X, exp):
        self._check_backend()
        check_is_fitted(self, "_state")
        X = self._validate_X(X, reset=False)
        # float32 log-softmax: renormalized in float64, so that predict_proba
        # (its exp) sums to 1 to float64 precision, as scikit-learn's
        return log_softmax_rows(self._run("predict_log_proba", X), exp=exp)

    # ---- model files -----------------------------------------------------------
    @classmethod
    def _accepts(cls, params):
        return params["variant"] == cls._variant

    @classmethod
    def _from_native(cls, model, backend):
        """A fitted estimator from a model file. classes_ is set to the indices
        0..K-1 here; from_bytes replaces them by the user's labels from the
        file's "meta.classes". User priors are not recorded (the fitted class
        prior is)."""
        p = model.params()
        est = cls._from_params(p)
        est.backend = backend
        est._native = model
        est._state = model.arrays()
        est.n_features_in_ = model.n_features_in
        est.classes_ = np.arange(est._state["class_count"].shape[0])
        est._set_attributes()
        return est


@register
class GaussianNB(_BaseNB):
    """Gaussian Naive Bayes: per class and feature a normal distribution,
    fitted in C (or CUDA, or numpy), streamable with partial_fit.

    fit and partial_fit take sample_weight (n_samples,), as scikit-learn:
    class_count_ sums the weights, theta_ and var_ are weighted means and
    (population) variances, merged across partial_fit batches by weight;
    epsilon_ still uses the unweighted variance of the batch.

    Parameters
    ----------
    priors : array-like of shape (n_classes,), default=None
        Prior probabilities of the classes (non-negative, summing to 1); None:
        the class frequencies.
    var_smoothing : float, default=1e-9
        This fraction of the largest feature variance (of the latest batch) is
        added to every variance for stability.
    backend : {"c", "cuda", "python"}, default="c"

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    class_count_ : ndarray of shape (n_classes,)
    class_prior_ : ndarray of shape (n_classes,)
    theta_ : ndarray of shape (n_classes, n_features)
        Mean of each feature per class.
    var_ : ndarray of shape (n_classes, n_features)
        Variance of each feature per class (epsilon_ included).
    epsilon_ : float
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[-1.0, -1.0], [-2.0, -1.0], [1.0, 1.0], [2.0, 1.0]])
    >>> clf = mfs.GaussianNB().fit(X, [1, 1, 2, 2])
    >>> clf.predict([[-0.8, -1.0]]).tolist()
    [1]
    """

    _variant = _GAUSSIAN
    _attributes = {"theta": "theta_", "var": "var_", "class_count": "class_count_",
                   "class_prior": "class_prior_", "epsilon": "epsilon_"}

    def __init__(self, *, priors=None, var_smoothing=1e-9, backend="c"):
        self.priors = priors
        self.var_smoothing = var_smoothing
        self.backend = backend

    def _prior_param(self):
        return self.priors

    def _variant_params(self):
        return {"var_smoothing": _real("GaussianNB", "var_smoothing", self.var_smoothing)}

    @classmethod
    def _from_params(cls, p):
        return cls(var_smoothing=p["var_smoothing"])


class _DiscreteNB(_BaseNB):
    def __sklearn_tags__(self):
        # as scikit-learn's _BaseDiscreteNB: continuous blobs are not what these
        # models are for, so the estimator checks do not demand a high score
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def _prior_param(self):
        return self.class_prior

    def _alpha(self):
        name = type(self).__name__
        if not isinstance(self.alpha, numbers.Real) and np.ndim(self.alpha) > 0:
            raise TypeError(f"{name}: alpha must be a single number (per-feature alpha is not supported)")
        a = _real(name, "alpha", self.alpha)
        if a < 1e-10 and not _bool(name, "force_alpha", self.force_alpha):
            warnings.warn("alpha too small will result in numeric errors, setting alpha = 1.0e-10. "
                          "Use `force_alpha=True` to keep alpha unchanged.")
            a = 1e-10
        return a

    def _variant_params(self):
        name = type(self).__name__
        _bool(name, "force_alpha", self.force_alpha)
        return {"alpha": self._alpha(), "fit_prior": int(_bool(name, "fit_prior", self.fit_prior))}


@register
class MultinomialNB(_DiscreteNB):
    """Multinomial Naive Bayes for counts (word counts of documents, ...).

    fit and partial_fit take sample_weight (n_samples,), as scikit-learn:
    class_count_ and feature_count_ are sums of w_i and of w_i x_i per class.

    Parameters
    ----------
    alpha : float, default=1.0
        Additive (Laplace/Lidstone) smoothing, >= 0.
    force_alpha : bool, default=True
        False: alpha below 1e-10 is raised to 1e-10 (with a warning).
    fit_prior : bool, default=True
        Learn class priors from the class frequencies; False: uniform.
    class_prior : array-like of shape (n_classes,), default=None
        Fixed priors (non-negative, summing to 1).
    backend : {"c", "cuda", "python"}, default="c"

    Attributes
    ----------
    classes_, class_count_ : as GaussianNB.
    class_log_prior_ : ndarray of shape (n_classes,)
    feature_count_ : ndarray of shape (n_classes, n_features)
    feature_log_prob_ : ndarray of shape (n_classes, n_features)
        Smoothed log P(feature | class).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[3, 0, 1], [4, 1, 0], [0, 3, 2], [1, 4, 3]])
    >>> mfs.MultinomialNB().fit(X, ["a", "a", "b", "b"]).predict([[5, 0, 1]]).tolist()
    ['a']
    """

    _variant = _MULTINOMIAL
    _attributes = {"feature_count": "feature_count_", "class_count": "class_count_",
                   "feature_log_prob": "feature_log_prob_", "class_log_prior": "class_log_prior_"}

    def __init__(self, *, alpha=1.0, force_alpha=True, fit_prior=True, class_prior=None, backend="c"):
        self.alpha = alpha
        self.force_alpha = force_alpha
        self.fit_prior = fit_prior
        self.class_prior = class_prior
        self.backend = backend

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags

    @classmethod
    def _from_params(cls, p):
        return cls(alpha=p["alpha"], fit_prior=bool(p["fit_prior"]))


@register
class BernoulliNB(_DiscreteNB):
    """Bernoulli Naive Bayes for binary features (x > binarize counts as 1).

    fit and partial_fit take sample_weight (n_samples,), as scikit-learn:
    class_count_ and feature_count_ are sums of w_i and of w_i b_i per class
    (b_i the binarized row).

    Parameters
    ----------
    alpha, force_alpha, fit_prior, class_prior : as MultinomialNB.
    binarize : float or None, default=0.0
        Threshold (>= 0); None: X is taken as already binary.
    backend : {"c", "cuda", "python"}, default="c"

    Attributes
    ----------
    classes_, class_count_, class_log_prior_, feature_count_,
    feature_log_prob_, n_features_in_ : as MultinomialNB.

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[1, 0, 1], [1, 1, 0], [0, 1, 1], [0, 0, 1]])
    >>> mfs.BernoulliNB().fit(X, [0, 0, 1, 1]).predict([[1, 0, 0]]).tolist()
    [0]
    """

    _variant = _BERNOULLI
    _attributes = MultinomialNB._attributes

    def __init__(self, *, alpha=1.0, force_alpha=True, binarize=0.0, fit_prior=True, class_prior=None,
                 backend="c"):
        self.alpha = alpha
        self.force_alpha = force_alpha
        self.binarize = binarize
        self.fit_prior = fit_prior
        self.class_prior = class_prior
        self.backend = backend

    def _variant_params(self):
        p = super()._variant_params()
        p["binarize"] = float("nan") if self.binarize is None else _real("BernoulliNB", "binarize", self.binarize)
        return p

    @classmethod
    def _from_params(cls, p):
        b = p["binarize"]
        return cls(alpha=p["alpha"], fit_prior=bool(p["fit_prior"]), binarize=None if np.isnan(b) else b)
