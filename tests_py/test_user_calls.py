"""Calls a scikit-learn user makes that no other fixture covers, one test per
behaviour: each asserts what scikit-learn does (or a clear error where libmfs
does not support the call). Backend "c" unless a test says otherwise."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.decomposition as skd
import sklearn.neighbors as skn
import sklearn.svm as sksvm
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning

import mfs


@pytest.fixture
def data():
    r = np.random.RandomState(0)
    X = r.randn(40, 3)
    y3 = np.digitize(X[:, 0], [-0.5, 0.5])          # 3 classes
    yr = X @ np.array([1.0, 2.0, 3.0]) + 0.1         # real target
    return X, y3, yr


# ---- hyperparameter validation: a clear ValueError/TypeError naming the
# estimator and the parameter, raised in fit (never a numpy ufunc TypeError,
# an IndexError, or a silent bool() of any object) ---------------------------

BAD_PARAMS = [
    (lambda: mfs.LinearRegression(fit_intercept="no"), "reg", TypeError, "fit_intercept"),
    (lambda: mfs.Ridge(fit_intercept=None), "reg", TypeError, "fit_intercept"),
    (lambda: mfs.LogisticRegression(fit_intercept="yes"), "clf", TypeError, "fit_intercept"),
    (lambda: mfs.LinearRegression(solver=[1]), "reg", ValueError, "solver"),
    (lambda: mfs.LinearSVC(loss=[1]), "clf", ValueError, "loss"),
    (lambda: mfs.SVC(decision_function_shape=["ovr"]), "clf", ValueError, "decision_function_shape"),
    (lambda: mfs.PCA(svd_solver=[1]), None, ValueError, "svd_solver"),
    (lambda: mfs.PCA(whiten="yes"), None, TypeError, "whiten"),
    (lambda: mfs.MultinomialNB(fit_prior="no"), "count", TypeError, "fit_prior"),
    (lambda: mfs.BernoulliNB(force_alpha=None), "count", TypeError, "force_alpha"),
    (lambda: mfs.GaussianNB(priors="bogus"), "clf", ValueError, "priors"),
    (lambda: mfs.MultinomialNB(class_prior="bogus"), "count", ValueError, "class_prior"),
    (lambda: mfs.DecisionTreeClassifier(class_weight=[1]), "clf", ValueError, "class_weight"),
    (lambda: mfs.DecisionTreeClassifier(class_weight="bogus"), "clf", ValueError, "class_weight"),
    (lambda: mfs.RandomForestClassifier(3, class_weight=[{0: 1.0}]), "clf", ValueError, "class_weight"),
    (lambda: mfs.KNeighborsClassifier(n_jobs="x"), "clf", TypeError, "n_jobs"),
    (lambda: mfs.KNeighborsRegressor(metric_params=0), "reg", ValueError, "metric_params"),
]


@pytest.mark.parametrize("make, task, exc, param", BAD_PARAMS,
                         ids=[f"{p[3]}-{i}" for i, p in enumerate(BAD_PARAMS)])
def test_bad_hyperparameter_is_a_clear_error(data, make, task, exc, param):
    X, y3, yr = data
    est = make()
    y = {"reg": yr, "clf": y3, "count": y3, None: None}[task]
    if task == "count":
        X = np.abs(X)
    with pytest.raises(exc, match=param) as info:
        est.fit(X) if y is None else est.fit(X, y)
    assert type(est).__name__ in str(info.value)


@pytest.mark.parametrize("make, task", [
    (lambda: mfs.Ridge(alpha=10**20), "reg"),
    (lambda: mfs.LogisticRegression(C=10**20, tol=10**20), "clf"),
    (lambda: mfs.DecisionTreeRegressor(min_impurity_decrease=10**20), "reg"),
    (lambda: mfs.RandomForestRegressor(3, min_impurity_decrease=10**20, random_state=0), "reg"),
    (lambda: mfs.GaussianNB(var_smoothing=10**20), "clf"),
    (lambda: mfs.MultinomialNB(alpha=10**20), "count"),
    (lambda: mfs.KMeans(2, tol=10**20, random_state=0), None),
], ids=["Ridge.alpha", "LogReg.C", "DTR.min_impurity_decrease", "RFR.min_impurity_decrease",
        "GNB.var_smoothing", "MNB.alpha", "KMeans.tol"])
def test_python_int_beyond_int64_is_a_valid_real(data, make, task):
    # 10**20 is a legal (huge) real parameter; numpy ufuncs reject Python ints
    # that large, which used to escape as "ufunc 'isfinite' not supported"
    X, y3, yr = data
    est = make()
    y = {"reg": yr, "clf": y3, "count": y3, None: None}[task]
    if task == "count":
        X = np.abs(X)
    est.fit(X) if y is None else est.fit(X, y)
    assert est.n_features_in_ == 3


def test_numpy_bools_are_bools(data):
    X, y3, yr = data
    a = mfs.LinearRegression(fit_intercept=np.False_).fit(X, yr)
    assert a.intercept_ == 0.0
    mfs.LinearSVC(dual=np.True_, random_state=0).fit(X, y3)  # dual=True as numpy's bool


# ---- linear models -----------------------------------------------------------

def test_logistic_max_iter_zero_warns(data):
    # no iteration: coef_ is the starting zeros; scikit-learn warns, so do we
    X, y3, _ = data
    with pytest.warns(ConvergenceWarning, match="max_iter=0"):
        m = mfs.LogisticRegression(max_iter=0).fit(X, y3)
    assert np.all(m.coef_ == 0)


@pytest.mark.parametrize("cls", [mfs.LinearRegression, mfs.Ridge])
def test_linear_coefficients_beyond_float32_are_an_error(data, cls):
    # X ~ 1e-40 (float32 denormals) and y ~ 1: the true coefficients ~ 1e40
    # exceed float32's range; fit must say so, never leave an inf/NaN model
    X, _, yr = data
    est = cls(alpha=0.0) if cls is mfs.Ridge else cls()
    with pytest.raises(ValueError, match="beyond float32's range|non-finite coefficients"):
        est.fit(np.abs(X) * 1e-40 + 1e-39, yr)
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_linear_regression_large_y_is_finite_or_an_error(data):
    # y up to ~8e37 (inside float32): the C Cholesky path overflowed its
    # normal equations and returned inf/NaN coefficients with no error. "auto"
    # now falls back to the double QR path; an explicit "cholesky" says why not.
    X, _, _ = data
    X = np.abs(X)
    y = X @ np.array([1e37, 2e37, 3e37])
    est = mfs.LinearRegression().fit(X, y)
    # float32 solve of a well-conditioned 3-feature problem: 1e-4 relative
    np.testing.assert_allclose(est.coef_, [1e37, 2e37, 3e37], rtol=1e-4)
    with pytest.raises(ValueError, match="X\\^T y overflows float32 .* use solver auto or qr"):
        mfs.LinearRegression(solver="cholesky").fit(X, y)
    qr = mfs.LinearRegression(solver="qr").fit(X, y)
    # float32 solve of a well-conditioned 3-feature problem: 1e-4 relative
    np.testing.assert_allclose(qr.coef_, [1e37, 2e37, 3e37], rtol=1e-4)


def test_linearsvc_single_class_message_shows_the_label(data):
    X, _, _ = data
    with pytest.raises(ValueError, match=r"only one class: 0$"):
        mfs.LinearSVC().fit(X, np.zeros(len(X), dtype=np.int64))


# ---- class_weight: scikit-learn's compute_class_weight on the user's labels ---

@pytest.mark.parametrize("cls", [mfs.SVC, mfs.LinearSVC])
def test_svm_class_weight_dict_may_name_labels_not_in_y(data, cls):
    # every class of y has a weight: extra keys are ignored, as scikit-learn
    X, y3, _ = data
    cw = {0: 1.0, 1: 5.0, 2: 1.0, 7: 3.0}
    ours = cls(class_weight=cw, random_state=0).fit(X, y3)
    same = cls(class_weight={0: 1.0, 1: 5.0, 2: 1.0}, random_state=0).fit(X, y3)
    np.testing.assert_array_equal(ours.decision_function(X), same.decision_function(X))
    if cls is mfs.SVC:
        np.testing.assert_array_equal(ours.class_weight_, [1.0, 5.0, 1.0])


@pytest.mark.parametrize("cls", [mfs.SVC, mfs.LinearSVC])
def test_svm_class_weight_unweighted_classes_message_as_sklearn(data, cls):
    # some classes unweighted AND unknown keys: scikit-learn names the classes
    # of y that have no weight (not the unknown key)
    X, y3, _ = data
    with pytest.raises(ValueError, match=r"The classes, \[0, 2\], are not in class_weight"):
        cls(class_weight={1: 5.0, 7: 3.0}).fit(X, y3)
    with pytest.raises(ValueError, match=r"The classes, \[0, 2\], are not in class_weight"):
        sksvm.SVC(class_weight={1: 5.0, 7: 3.0}).fit(X, y3)


def test_svc_class_weight_matches_sklearn_with_string_labels(data):
    X, y3, _ = data
    ys = np.array(["a", "b", "c"])[y3]
    cw = {"a": 1.0, "b": 3.0, "c": 1.0, "zzz": 2.0}
    ours = mfs.SVC(kernel="linear", class_weight=cw).fit(X, ys)
    peer = sksvm.SVC(kernel="linear", class_weight=cw).fit(X, ys)
    np.testing.assert_array_equal(ours.class_weight_, peer.class_weight_)
    # the same dual problem solved to libsvm's tol=1e-3 by two SMO codes in
    # float32 vs float64: decision values agree to ~1e-4 here
    np.testing.assert_allclose(ours.decision_function(X), peer.decision_function(X), atol=2e-3)


def test_forest_class_weight_dict_keys_are_labels(data):
    # dict keys are the user's labels (strings here), as scikit-learn: the
    # same forest as integer labels with the same weights
    X, y3, _ = data
    ys = np.array(["a", "b", "c"])[y3]
    a = mfs.RandomForestClassifier(5, random_state=0, class_weight={"b": 4.0}).fit(X, ys)
    b = mfs.RandomForestClassifier(5, random_state=0, class_weight={1: 4.0}).fit(X, y3)
    c = mfs.RandomForestClassifier(5, random_state=0).fit(X, y3)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(b.predict_proba(X), c.predict_proba(X))  # the weight took effect


# ---- sample_weight ----------------------------------------------------------

@pytest.mark.parametrize("cls", [mfs.RandomForestClassifier, mfs.RandomForestRegressor])
def test_forest_scalar_sample_weight_is_uniform(data, cls):
    X, y3, yr = data
    y = y3 if cls is mfs.RandomForestClassifier else yr
    a = cls(5, random_state=0).fit(X, y, sample_weight=2.0)
    b = cls(5, random_state=0).fit(X, y)
    # a uniform weight scales every node's weight alike: the same splits and leaves
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


@pytest.mark.parametrize("cls", [mfs.RandomForestClassifier, mfs.RandomForestRegressor])
def test_forest_sample_weight_wrong_length_message_as_sklearn(data, cls):
    X, y3, _ = data
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(3,\), expected \(40,\)"):
        cls(3).fit(X, y3, sample_weight=np.ones(3))


# ---- column-vector y for regressors -------------------------------------------

@pytest.mark.parametrize("backend", ["c", "python"])
def test_decision_tree_regressor_column_y_predicts_1d(data, backend):
    # scikit-learn's tree: y of shape (n, 1) is one output, predict is (n,)
    X, _, yr = data
    m = mfs.DecisionTreeRegressor(backend=backend).fit(X, yr[:, None])
    assert m.n_outputs_ == 1 and m.tree_.value.shape[1:] == (1, 1)
    pred = m.predict(X)
    assert pred.shape == (len(X),)
    np.testing.assert_array_equal(pred, mfs.DecisionTreeRegressor(backend=backend).fit(X, yr).predict(X))


def test_random_forest_regressor_column_y_warns_and_ravels(data):
    X, _, yr = data
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        m = mfs.RandomForestRegressor(5, random_state=0).fit(X, yr[:, None])
    np.testing.assert_array_equal(m.predict(X), mfs.RandomForestRegressor(5, random_state=0).fit(X, yr).predict(X))


# ---- k-NN: kneighbors_graph -----------------------------------------------------

@pytest.mark.parametrize("cls, peer", [(mfs.KNeighborsClassifier, skn.KNeighborsClassifier),
                                       (mfs.KNeighborsRegressor, skn.KNeighborsRegressor)])
@pytest.mark.parametrize("mode", ["connectivity", "distance"])
@pytest.mark.parametrize("query", ["X", "None", "X-k2"])
def test_kneighbors_graph_matches_sklearn(data, cls, peer, mode, query):
    X, y3, yr = data
    y = y3 if cls is mfs.KNeighborsClassifier else yr
    kw = {"X": dict(X=X[:7]), "None": dict(), "X-k2": dict(X=X[:7], n_neighbors=2)}[query]
    ours = cls(3).fit(X, y).kneighbors_graph(mode=mode, **kw)
    theirs = peer(3).fit(X, y).kneighbors_graph(mode=mode, **kw)
    assert sp.issparse(ours) and ours.format == "csr" and ours.dtype == np.float64
    assert ours.shape == theirs.shape
    # the same neighbors (no ties in this data); distances computed in float32:
    # 1e-6 relative to distances of order 1
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_allclose(ours.toarray(), theirs.toarray(), rtol=0, atol=1e-6)


def test_kneighbors_graph_bad_mode_and_unfitted(data):
    X, y3, _ = data
    m = mfs.KNeighborsClassifier(3).fit(X, y3)
    with pytest.raises(ValueError, match="mode"):
        m.kneighbors_graph(X, mode="bogus")
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        mfs.KNeighborsClassifier().kneighbors_graph(X)


# ---- KMeans ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kmeans_transform_keeps_the_input_float_dtype(data, dtype):
    X, _, _ = data
    m = mfs.KMeans(2, random_state=0).fit(X)
    D = m.transform(X.astype(dtype))
    assert D.dtype == dtype and D.shape == (len(X), 2)
    assert m.fit_transform(X.astype(dtype)).dtype == dtype


def test_kmeans_duplicate_points_warn_fewer_distinct_clusters():
    X = np.zeros((10, 2))
    with pytest.warns(ConvergenceWarning, match=r"distinct clusters \(1\) found smaller than n_clusters \(3\)"):
        mfs.KMeans(3, random_state=0).fit(X)


def test_kmeans_explicit_init_with_n_init_warns_single_run(data):
    X, _, _ = data
    with pytest.warns(RuntimeWarning, match="performing only one init"):
        mfs.KMeans(2, init=X[:2], n_init=3).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        mfs.KMeans(2, init=X[:2]).fit(X)  # n_init=1: nothing to warn about


def test_kmeans_score_warns_once_for_missing_feature_names(data):
    pd = pytest.importorskip("pandas")
    X, _, _ = data
    m = mfs.KMeans(2, random_state=0).fit(pd.DataFrame(X, columns=list("abc")))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        m.score(X)
    assert len([x for x in w if "feature names" in str(x.message)]) == 1


# ---- PCA: the probabilistic-PCA methods of scikit-learn ----------------------------

@pytest.mark.parametrize("kw", [dict(n_components=2), dict(n_components=2, whiten=True), dict(),
                                dict(n_components=0.9)], ids=["k2", "k2-whiten", "all", "frac"])
def test_pca_covariance_precision_score_match_sklearn(kw):
    r = np.random.RandomState(1)
    X = r.randn(50, 5) @ r.randn(5, 5)
    ours, peer = mfs.PCA(**kw).fit(X), skd.PCA(**kw).fit(X)
    # the fitted attributes are float32 (1e-7 relative): the derived matrices
    # agree to 1e-5 of their largest entry, the log-likelihoods to 1e-5
    for meth in ("get_covariance", "get_precision"):
        a, b = getattr(ours, meth)(), getattr(peer, meth)()
        assert a.shape == (5, 5) and a.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * np.abs(b).max())
    np.testing.assert_allclose(ours.score_samples(X), peer.score_samples(X), rtol=1e-5)
    assert ours.score(X) == pytest.approx(peer.score(X), rel=1e-5)


def test_pca_score_enables_cross_val_score():
    from sklearn.model_selection import cross_val_score
    X = np.random.RandomState(2).randn(60, 4)
    scores = cross_val_score(mfs.PCA(2), X, cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


def test_pca_score_samples_checks_features(data):
    X, _, _ = data
    m = mfs.PCA(2).fit(X)
    with pytest.raises(ValueError, match="features"):
        m.score_samples(X[:, :2])


# ---- scikit-learn's compatibility parameters: accepted where libmfs does the
# same thing (ignored, or the only value it supports), a clear error otherwise

@pytest.mark.parametrize("make, task", [
    (lambda: mfs.LogisticRegression(random_state=0, max_iter=1000, solver="lbfgs", penalty="l2", n_jobs=-1,
                                    verbose=0), "clf"),
    (lambda: mfs.LinearRegression(copy_X=True, n_jobs=-1, positive=False), "reg"),
    (lambda: mfs.Ridge(copy_X=False, positive=False, random_state=0), "reg"),
    (lambda: mfs.KMeans(3, n_init=10, random_state=0, verbose=0, copy_x=True, algorithm="elkan"), None),
    (lambda: mfs.PCA(2, copy=False), None),
    (lambda: mfs.DecisionTreeClassifier(ccp_alpha=0.0, monotonic_cst=None), "clf"),
    (lambda: mfs.DecisionTreeRegressor(ccp_alpha=0.0, monotonic_cst=None), "reg"),
], ids=["LogReg", "LinReg", "Ridge", "KMeans", "PCA", "DTC", "DTR"])
def test_sklearn_compat_parameters_are_accepted(data, make, task):
    from sklearn.base import clone
    X, y3, yr = data
    est = make()
    y = {"reg": yr, "clf": y3, None: None}[task]
    fitted = est.fit(X) if y is None else est.fit(X, y)
    # accepted and ignored: the same model as the defaults
    defaults = type(est)(**{k: v for k, v in est.get_params().items()
                            if k in ("n_clusters", "n_components", "random_state", "n_init", "max_iter")})
    ref = defaults.fit(X) if y is None else defaults.fit(X, y)
    out = (lambda m: m.predict(X) if hasattr(m, "predict") else m.transform(X))
    np.testing.assert_array_equal(out(fitted), out(ref))
    assert clone(est).get_params() == est.get_params()


@pytest.mark.parametrize("make, task, match", [
    (lambda: mfs.LogisticRegression(solver="liblinear"), "clf", "solver"),
    (lambda: mfs.LogisticRegression(penalty="l1"), "clf", "penalty"),
    (lambda: mfs.LogisticRegression(random_state="x"), "clf", "random_state"),
    (lambda: mfs.LinearRegression(positive=True), "reg", "positive"),
    (lambda: mfs.KMeans(2, algorithm="full"), None, "algorithm"),
    (lambda: mfs.DecisionTreeClassifier(ccp_alpha=-0.1), "clf", "ccp_alpha"),
    (lambda: mfs.DecisionTreeRegressor(monotonic_cst=[1, 0, 0]), "reg", "monotonic_cst"),
], ids=["LogReg.solver", "LogReg.penalty", "LogReg.random_state", "LinReg.positive", "KMeans.algorithm",
        "DTC.ccp_alpha", "DTR.monotonic_cst"])
def test_sklearn_compat_parameters_unsupported_values_are_errors(data, make, task, match):
    X, y3, yr = data
    y = {"reg": yr, "clf": y3, None: None}[task]
    est = make()
    with pytest.raises(ValueError, match=match):
        est.fit(X) if y is None else est.fit(X, y)


# ---- predict_proba: float64 rows sum to 1 to float64 precision ----------------

@pytest.mark.parametrize("make", [
    lambda: mfs.LogisticRegression(), lambda: mfs.SVC(probability=True, random_state=0),
    lambda: mfs.DecisionTreeClassifier(max_depth=3), lambda: mfs.RandomForestClassifier(10, random_state=0),
    lambda: mfs.KNeighborsClassifier(7), lambda: mfs.GaussianNB(), lambda: mfs.MultinomialNB(),
    lambda: mfs.BernoulliNB(),
], ids=["LogReg", "SVC", "DTC", "RFC", "KNC", "GNB", "MNB", "BNB"])
def test_float64_predict_proba_rows_sum_to_one_for_log_loss(make):
    # probabilities computed in float32 summed to 1 only within ~1e-7, and
    # sklearn.metrics.log_loss warned "The y_prob values do not sum to one"
    # on every call (every fold of scoring="neg_log_loss")
    from sklearn.metrics import log_loss
    r = np.random.RandomState(0)
    X = r.randn(300, 5)
    y = np.digitize(X[:, 0] + 0.5 * r.randn(300), [-0.5, 0.5])
    est = make()
    if isinstance(est, mfs.MultinomialNB):
        X = np.abs(X)
    P = est.fit(X, y).predict_proba(X)
    assert P.dtype == np.float64
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)  # float64 rounding of a few terms
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        log_loss(y, P)
    if hasattr(est, "predict_log_proba"):
        # the log and the probabilities stay consistent (float32 log-space
        # computations: 1e-6 relative)
        with np.errstate(divide="ignore"):
            np.testing.assert_allclose(est.predict_log_proba(X), np.log(P), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("y", [
    np.random.default_rng(0).integers(-5, 7, 40_000),             # negative labels, several lookup chunks
    np.random.default_rng(1).integers(0, 3, 1000).astype(np.uint8),
    np.array([3, 3, 3]),                                          # one class
    np.array([0, 1_000_000, 0, 1_000_000], dtype=np.int64),       # a wide range: the table spans it
    np.array([0, 1 << 21]),                                       # wider still: np.unique's path
    np.array([5, 5, 2, 9], dtype=np.int16),
    np.array([-128, 127, 0, -128], dtype=np.int8),                # the full range of a narrow type
    np.array([2**63 + 5, 2**63 + 7, 2**63 + 5], dtype=np.uint64),  # beyond int64: np.unique's path
    np.array([-2**63, -2**63 + 3], dtype=np.int64),               # int64's lowest values
    np.array(["b", "a", "b"]),                                    # strings: np.unique's path
], ids=["neg", "uint8", "one", "wide", "wider", "int16", "int8", "uint64", "int64min", "str"])
def test_encoded_labels_are_np_unique(y):
    # the classifiers' integer-label lookup table gives exactly np.unique's
    # classes_ (values and dtype) and inverse indices
    est = mfs.GaussianNB()
    got = est._encode_y(y)
    classes, inverse = np.unique(y, return_inverse=True)
    assert got.dtype == np.int32 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, inverse)
    np.testing.assert_array_equal(est.classes_, classes)
    assert est.classes_.dtype == classes.dtype


@pytest.mark.parametrize("K", [1, 2, 10, 40])
def test_log_softmax_rows_is_scipys_renormalization(K):
    # naive Bayes' float64 renormalization of the C log-probabilities: within
    # float64 rounding of scipy's logsumexp formula (a few ulp of the row's
    # values: 1e-13 absolute for values up to ~20), the same non-finite
    # pattern, and exp=True gives exactly np.exp of the log-probabilities
    from scipy.special import logsumexp
    from mfs._base import log_softmax_rows
    r = np.random.default_rng(K)
    L = (r.standard_normal((10_001, K)) * 5).astype(np.float32)
    L[5] = -np.inf
    with np.errstate(all="ignore"):
        want = L.astype(np.float64) - logsumexp(L.astype(np.float64), axis=1, keepdims=True)
        got, P = log_softmax_rows(L), log_softmax_rows(L, exp=True)
    assert got.dtype == np.float64 and got.shape == L.shape
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
    ok = np.isfinite(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=0, atol=1e-13)
    np.testing.assert_array_equal(P, np.exp(got))
    np.testing.assert_allclose(P[ok.all(axis=1)].sum(axis=1), 1.0, rtol=0, atol=1e-13)


@pytest.mark.parametrize("K", [1, 2, 3, 7, 8, 9, 40])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_proba_rows_is_the_float64_renormalization(K, dtype):
    # the fast paths of proba_rows (column-by-column sums below 8 classes, a
    # plain division) give exactly the bits of the straightforward float64
    # renormalization, and leave all-zero and NaN rows as they are
    from mfs._base import proba_rows
    r = np.random.default_rng(K)
    P = (r.random((10_001, K)) ** 3).astype(dtype)  # several of its row chunks, a short last one
    P[3] = 0.0
    P[9, 0] = np.nan
    P[-1] = 0.0
    before = P.copy()
    P64 = P.astype(np.float64)
    s = P64.sum(axis=1, keepdims=True)
    want = np.divide(P64, s, out=P64.copy(), where=s > 0).astype(dtype)
    got = proba_rows(P)
    assert got.dtype == dtype and got is not P
    np.testing.assert_array_equal(got, want)  # exact: same operations in the same order
    assert not got[3].any() and not got[-1].any() and np.isnan(got[9, 0])
    np.testing.assert_array_equal(P, before)  # the input is left as it was


@pytest.mark.parametrize("make", [mfs.LinearRegression, lambda: mfs.KMeans(n_clusters=2, n_init=1),
                                  lambda: mfs.MLPRegressor(max_iter=2), mfs.DecisionTreeRegressor])
def test_a_finite_float64_beyond_float32s_range_is_named_as_such(data, make):
    # libmfs computes in float32: 1e39 (finite in float64) becomes infinity there. The C check's
    # error said only "X contains infinity", about a value the user never wrote as one; estimators
    # that validate in Python give scikit-learn's "infinity or a value too large for dtype('float32')"
    X, _, yr = data
    X = X.copy()
    X[3, 1] = 1e39
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's "overflow encountered in cast"
        with pytest.raises(ValueError, match=r"infinity at row 3, column 1 \(or a value beyond float32's range"
                                             r"|infinity or a value too large for dtype\('float32'\)"):
            make().fit(X, yr)


@pytest.mark.parametrize("backend", ["c", "python"])
def test_svc_class_weight_survives_a_model_file(data, backend, tmp_path):
    # the C model keeps only the weights' effect (per-class C); a loaded SVC reported class_weight_
    # as ones. The file now carries it as metadata ("meta.class_weight").
    X, y3, _ = data
    y = np.array(["lo", "mid", "hi"])[y3]
    m = mfs.SVC(class_weight={"lo": 2.0, "hi": 0.5}, backend=backend).fit(X, y)
    path = tmp_path / "svc.mfs"
    m.save(str(path))
    back = mfs.load(str(path))
    np.testing.assert_array_equal(back.class_weight_, m.class_weight_)
    assert sorted(back.class_weight_.tolist()) == [0.5, 1.0, 2.0]
    np.testing.assert_array_equal(back.predict(X), m.predict(X))


def test_svc_class_weight_metadata_that_contradicts_the_model_is_a_format_error(data):
    from mfs._base import encode_meta
    X, y3, _ = data
    est = mfs.SVC(class_weight="balanced").fit(X, y3)
    est._native.set_array("meta.class_weight", encode_meta(np.array([1.0, 2.0]), "class_weight_"))
    with pytest.raises(mfs.ModelFormatError, match="must hold 3 finite weights > 0, got 2 values"):
        mfs.from_bytes(est._native.to_bytes())
    est._native.set_array("meta.class_weight", encode_meta(np.array([1.0, -2.0, 1.0]), "class_weight_"))
    with pytest.raises(mfs.ModelFormatError, match="finite weights > 0"):
        mfs.from_bytes(est._native.to_bytes())
