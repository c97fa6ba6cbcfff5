"""SVC / SVR: C vs numpy reference vs scikit-learn (libsvm) on the bundled real
data sets and on seeded synthetic data: accuracy, the support vectors
themselves, decision values, probabilities; parameters, bad input,
persistence, memory, scikit-learn's estimator checks."""
import copy
import pickle
import warnings

import numpy as np
import pytest
import sklearn.svm as sks
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import mfs
from mfs.svm import SVC, SVR

REAL = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer, "digits": load_digits}


def standardized(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def split(X, y, stratify=True):
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y if stratify else None)


def peer(X):
    """What libsvm sees: the same float32 values, in float64."""
    return np.asarray(X, dtype=np.float32).astype(np.float64)


@pytest.fixture(autouse=True)
def _quiet():
    # scikit-learn 1.9 deprecates SVC(probability=True); its warning is not ours
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="sklearn")
        yield


# ---- against scikit-learn -------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(REAL))
def test_svc_real_data_matches_sklearn(name, backend):
    X, y = standardized(REAL[name])
    Xtr, Xte, ytr, yte = split(X, y)
    ours = SVC(backend=backend).fit(Xtr, ytr)
    ref = sks.SVC().fit(peer(Xtr), ytr)
    assert abs(ours.score(Xte, yte) - ref.score(peer(Xte), yte)) <= 0.01
    # The same solver on the same float32 values: libsvm's float32 kernel cache
    # (ours too) and double gradients; only the kernel's double summation
    # order differs, ~1e-16 relative, invisible after the float32 rounding.
    if name in ("iris", "breast_cancer"):
        np.testing.assert_array_equal(ours.support_, ref.support_)
        np.testing.assert_array_equal(ours.n_support_, ref.n_support_)
    else:
        assert abs(len(ours.support_) - len(ref.support_)) <= 0.01 * len(ref.support_)
    # decision values within 1e-3 (the issue's bound; measured: <= 2e-4): both
    # stop within tol = 1e-3 of the same optimum along the same path
    np.testing.assert_allclose(ours.decision_function(Xte), ref.decision_function(peer(Xte)), atol=1e-3, rtol=0)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-3, rtol=0)


def test_svr_diabetes_matches_sklearn(backend):
    X, y = standardized(load_diabetes)
    Xtr, Xte, ytr, yte = split(X, y, stratify=False)
    for C, eps in ((1.0, 0.1), (100.0, 5.0)):
        ours = SVR(C=C, epsilon=eps, backend=backend).fit(Xtr, ytr)
        ref = sks.SVR(C=C, epsilon=eps).fit(peer(Xtr), ytr)
        assert abs(ours.score(Xte, yte) - ref.score(peer(Xte), yte)) <= 0.01
        np.testing.assert_array_equal(ours.support_, ref.support_)
        # targets ~150: float32 output carries ~1e-5 absolute rounding
        np.testing.assert_allclose(ours.predict(Xte), ref.predict(peer(Xte)), atol=1e-3, rtol=0)
        np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, atol=1e-3 * C, rtol=0)
        assert ours.n_support_.tolist() == [len(ours.support_)]


@pytest.mark.parametrize("kernel, kw", [("linear", {}), ("poly", {"degree": 2, "coef0": 1.0}),
                                        ("sigmoid", {"gamma": 0.01, "coef0": -1.0}),
                                        ("rbf", {"gamma": "auto", "C": 10.0}), ("rbf", {"gamma": 0.5})])
def test_kernels_and_params_match_sklearn(kernel, kw):
    X, y = standardized(load_breast_cancer)
    Xtr, Xte, ytr, yte = split(X, y)
    ours = SVC(kernel=kernel, **kw).fit(Xtr, ytr)
    ref = sks.SVC(kernel=kernel, **kw).fit(peer(Xtr), ytr)
    assert abs(ours.score(Xte, yte) - ref.score(peer(Xte), yte)) <= 0.01
    assert abs(len(ours.support_) - len(ref.support_)) <= max(1, 0.01 * len(ref.support_))
    # decision values within 1e-3 of libsvm's relative to their scale (the
    # linear kernel's values reach ~30 on this data)
    scale = max(1.0, np.abs(ref.decision_function(peer(Xte))).max())
    np.testing.assert_allclose(ours.decision_function(Xte), ref.decision_function(peer(Xte)), atol=1e-3 * scale)
    if kernel == "linear":
        np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-3 * np.abs(ref.coef_).max())
    else:
        with pytest.raises(AttributeError, match="linear kernel"):
            ours.coef_


def test_multiclass_shapes_class_weight_and_ties():
    X, y = standardized(load_wine)
    for kw in ({"decision_function_shape": "ovo"}, {"class_weight": "balanced"},
               {"class_weight": {0: 2.0, 2: 0.5}}, {"break_ties": True}, {"kernel": "linear"}):
        ours = SVC(**kw).fit(X, y)
        ref = sks.SVC(**kw).fit(peer(X), y)
        np.testing.assert_array_equal(ours.support_, ref.support_)
        np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(peer(X)), atol=1e-3)
        np.testing.assert_array_equal(ours.predict(X), ref.predict(peer(X)))
        np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, atol=1e-3)
        if "class_weight" in kw:
            np.testing.assert_allclose(ours.class_weight_, ref.class_weight_)
        if kw.get("kernel") == "linear":
            assert ours.coef_.shape == (3, X.shape[1])
            np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-3 * np.abs(ref.coef_).max())
    assert SVC(decision_function_shape="ovo").fit(X, y).decision_function(X).shape == (len(y), 3)


def test_string_labels_and_binary_sign():
    X, y = standardized(load_breast_cancer)
    names = np.array(["malignant", "benign"])[y]
    ours, ref = SVC().fit(X, names), sks.SVC().fit(peer(X), names)
    assert list(ours.classes_) == ["benign", "malignant"]
    np.testing.assert_array_equal(ours.predict(X), ref.predict(peer(X)))
    # binary: positive values mean classes_[1], dual_coef_ and intercept_ flipped as scikit-learn
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(peer(X)), atol=1e-3)
    np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, atol=1e-9)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-6)


def test_probability_on_iris(backend):
    X, y = load_iris(return_X_y=True)
    ours = SVC(probability=True, random_state=0, backend=backend).fit(X, y)
    ref = sks.SVC(probability=True, random_state=0).fit(peer(X), y)
    P = ours.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-6)  # float32 probabilities, renormalized sums
    assert np.all((P >= 0) & (P <= 1))
    # Platt's sigmoids are fitted on 5-fold CV decision values; the folds come
    # from libmfs's Philox RNG, not libsvm's rand(), so A, B and the
    # probabilities differ from scikit-learn's by the fold-to-fold spread:
    # measured 0.027 at most on iris; 0.05 absolute leaves room.
    np.testing.assert_allclose(P, ref.predict_proba(peer(X)), atol=0.05)
    np.testing.assert_allclose(ours.probA_, ref.probA_, rtol=0.1)
    np.testing.assert_allclose(np.log(P), ours.predict_log_proba(X), rtol=1e-6)
    assert (P.argmax(axis=1) == ours.predict(X)).mean() > 0.95


def test_probability_availability():
    assert not hasattr(SVC(), "predict_proba")
    assert hasattr(SVC(probability=True), "predict_proba")
    X, y = load_iris(return_X_y=True)
    with pytest.raises(AttributeError, match="predict_proba"):
        SVC().fit(X, y).predict_proba(X)


# ---- C vs reference --------------------------------------------------------------------

def _random_problem(rng, n=240, d=6, K=3):
    centers = rng.normal(size=(K, d)) * 1.5
    y = np.arange(n) % K
    return centers[y] + rng.normal(size=(n, d)), y


def test_c_equals_reference(rng):
    X, y = _random_problem(rng)
    # without shrinking the C solver takes the reference's path step for step
    # (both: WSS 2, float32 Q, double gradient): the same support vectors, and
    # values that differ by the kernels' double summation order only
    c = SVC(shrinking=False).fit(X, y)
    p = SVC(backend="python").fit(X, y)
    np.testing.assert_array_equal(c.support_, p.support_)
    # the last-bit differences can reorder a near-tie late in a pair's solve:
    # iteration counts agree to a few steps, the solutions to within tol
    np.testing.assert_allclose(c.n_iter_, p.n_iter_, rtol=0.1)
    np.testing.assert_allclose(c.dual_coef_, p.dual_coef_, atol=1e-3)
    np.testing.assert_allclose(c.decision_function(X), p.decision_function(X), atol=1e-3)
    # shrinking takes another path to the same optimum: within a few tol
    s = SVC().fit(X, y)
    np.testing.assert_allclose(s.decision_function(X), p.decision_function(X), atol=1e-2)
    np.testing.assert_array_equal(s.predict(X), p.predict(X))
    # probabilities: the same Philox folds in C and in the reference's Python
    # Philox: equal to the solvers' agreement (~1e-4), 1e-3 stated
    cp = SVC(probability=True, random_state=3, shrinking=False).fit(X, y)
    pp = SVC(probability=True, random_state=3, backend="python").fit(X, y)
    np.testing.assert_allclose(cp.probA_, pp.probA_, rtol=1e-3)
    np.testing.assert_allclose(cp.predict_proba(X), pp.predict_proba(X), atol=1e-3)
    # SVR
    t = np.sin(X @ rng.normal(size=X.shape[1]))
    c, p = SVR(shrinking=False).fit(X, t), SVR(backend="python").fit(X, t)
    np.testing.assert_array_equal(c.support_, p.support_)
    # as for SVC: the same support, values within the solvers' tol (1e-3; the
    # SVR's 2n-variable path drifts more, measured 7.5e-4)
    np.testing.assert_allclose(c.predict(X), p.predict(X), atol=2e-3)


def test_results_independent_of_threads_and_cache(rng):
    X, y = _random_problem(rng, n=600)
    before = mfs.get_num_threads()
    try:
        mfs.set_num_threads(1)
        a = SVC().fit(X, y)
        mfs.set_num_threads(2)
        b = SVC().fit(X, y)
        c = SVC(cache_size=0.001).fit(X, y)  # two rows: every other row recomputed
    finally:
        mfs.set_num_threads(before)
    for o in (b, c):
        np.testing.assert_array_equal(a.support_, o.support_)
        np.testing.assert_array_equal(a.dual_coef_, o.dual_coef_)
        np.testing.assert_array_equal(a.intercept_, o.intercept_)


def test_kernel_cache_is_bounded_and_counted(rng):
    # random labels: nearly every row becomes a support vector and the solver
    # asks for thousands of kernel rows (12 kB each), far beyond 1 MB
    X = rng.normal(size=(3000, 20))
    y = rng.integers(0, 2, 3000)
    m = SVC(cache_size=1).fit(X, y)
    peak = mfs.memory_stats(m._native)["host_peak"]
    n, d = X.shape
    # the cache (1 MB) plus what scales with the problem: the transposed rows
    # (4 n d), norms, gradients and bookkeeping (~80 n), the fitted arrays
    # (~8 n d at most): measured ~1.8 MB here
    assert peak <= 2**20 + 4 * n * d + 80 * n + 8 * n * d + 2**16
    big = SVC().fit(X, y)
    assert mfs.memory_stats(big._native)["host_peak"] > peak  # the 200 MB default keeps more rows
    np.testing.assert_array_equal(big.support_, m.support_)


# ---- parameters and bad input -------------------------------------------------------------

@pytest.mark.parametrize("cls, kw, match", [
    (SVC, {"gamma": 0.0}, "gamma"), (SVC, {"gamma": -1.0}, "gamma"), (SVC, {"gamma": "wide"}, "gamma"),
    (SVC, {"C": 0.0}, "C"), (SVC, {"C": -2.0}, "C"), (SVC, {"kernel": "cosine"}, "kernel"),
    (SVC, {"kernel": "precomputed"}, "kernel"), (SVC, {"degree": -1}, "degree"), (SVC, {"tol": 0.0}, "tol"),
    (SVC, {"max_iter": -5}, "max_iter"), (SVC, {"decision_function_shape": "ova"}, "decision_function_shape"),
    (SVC, {"break_ties": True, "decision_function_shape": "ovo"}, "break_ties"),
    (SVC, {"class_weight": "even"}, "class_weight"), (SVC, {"class_weight": {7: 1.0}}, "class"),
    (SVR, {"epsilon": -0.1}, "epsilon"), (SVR, {"C": np.nan}, "C"), (SVR, {"cache_size": 0}, "cache_size"),
])
def test_bad_params(cls, kw, match, backend):
    X, y = load_iris(return_X_y=True)
    with pytest.raises((ValueError, TypeError), match=match):
        cls(backend=backend, **kw).fit(X, y)


def test_bad_params_checked_in_c_too():
    from mfs import _native
    for kw, match in (({"gamma": 0.0}, "gamma is 0"), ({"C": -1.0}, "C is -1"), ({"kernel": 9}, "kernel is 9"),
                      ({"epsilon": -1.0}, "epsilon is -1"), ({"degree": -2}, "degree is -2")):
        with pytest.raises(ValueError, match=match):
            _native.NativeModel.create("svm", kw)


@pytest.mark.parametrize("bad", [np.array([[1.0, np.nan], [2.0, 3.0]]), np.array([[1.0, np.inf], [2.0, 3.0]]),
                                 np.array([1.0, 2.0]), np.empty((0, 2))])
def test_bad_X(bad, backend):
    for est in (SVC(backend=backend), SVR(backend=backend)):
        with pytest.raises(ValueError):
            est.fit(bad, np.arange(len(bad)) % 2)


def test_single_class_wrong_features_not_fitted(backend):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="class"):
        SVC(backend=backend).fit(X[:50], y[:50])
    with pytest.raises(NotFittedError):
        SVC(backend=backend).predict(X)
    m = SVC(backend=backend).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:, :3])
    with pytest.raises(ValueError):
        m.fit(X, y[:-1])


def test_c_single_class_and_nan_messages():
    from mfs import _native
    m = _native.NativeModel.create("svm", {})
    X = np.array([[0, 1], [1, 0], [2, 2]], np.float32)
    with pytest.raises(ValueError, match="single class"):
        m.fit(X, np.zeros(3, np.int32))
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN|nan|finite"):
        m.fit(X, np.array([0, 1, 0], np.int32))


def test_max_iter_warns():
    X, y = standardized(load_breast_cancer)
    with pytest.warns(ConvergenceWarning, match="max_iter=5"):
        m = SVC(max_iter=5).fit(X, y)
    assert np.all(m.n_iter_ == 5) and m.fit_status_ == 1
    assert SVC().fit(X, y).fit_status_ == 0


@pytest.mark.skipif(mfs.cuda_device_count() > 0, reason="a GPU is present")
def test_cuda_without_gpu_is_a_clear_error():
    X, y = load_iris(return_X_y=True)
    for est in (SVC(backend="cuda"), SVR(backend="cuda")):
        with pytest.raises(mfs.DeviceError):
            est.fit(X, y)


@pytest.mark.cuda
def test_cuda_matches_c(rng):
    X, y = _random_problem(rng, n=4000, d=30, K=3)
    c, g = SVC().fit(X, y), SVC(backend="cuda").fit(X, y)
    # device kernel rows equal the CPU's but for the last bits of exp: the same
    # path or one within tol of it
    assert abs(len(c.support_) - len(g.support_)) <= 0.01 * len(c.support_) + 1
    np.testing.assert_allclose(g.decision_function(X), c.decision_function(X), atol=1e-2)
    assert (g.predict(X) == c.predict(X)).mean() > 0.999
    t = np.sin(X[:, 0]) + X[:, 1]
    np.testing.assert_allclose(SVR(backend="cuda").fit(X, t).predict(X), SVR().fit(X, t).predict(X), atol=1e-2)


# ---- sample_weight ------------------------------------------------------------------------------

def _weights(rng, n, zeros=True):
    """Weights spread over [0.2, 3], a tenth of them 0 (left out, as libsvm)."""
    w = rng.uniform(0.2, 3.0, n)
    if zeros:
        w[rng.permutation(n)[: n // 10]] = 0.0
    return w


def _sk_support(ref, w):
    """scikit-learn's support_ indexes the rows of weight > 0 (libsvm removes
    the others first); ours indexes X. The same rows, renumbered."""
    return np.flatnonzero(w > 0)[ref.support_]


# coef_tol: dual_coef_ within coef_tol of its largest value. Measured ~1e-14
# relative (libsvm's path, step for step) on every case but iris-rbf and
# digits-rbf, where a last-bit difference in a kernel value sends the solve
# down another path to another point within tol of the optimum (the
# unweighted iris fit does it too: 63 vs libsvm's 64 iterations in pair
# (1, 2), dual_coef_ 2.2e-3 apart): the decision values, unique at the
# optimum, still agree to 1.7e-4 and 8e-5, but the multipliers of nearly
# dependent free SVs differ by up to 3.5e-3 and 9e-4 of the largest: 1e-2
# allowed there, 1e-3 elsewhere.
@pytest.mark.parametrize("name, kernel, cw, coef_tol", [
    ("iris", "rbf", None, 1e-2), ("iris", "linear", None, 1e-3), ("iris", "rbf", {0: 3.0, 2: 0.5}, 1e-2),
    ("breast_cancer", "rbf", None, 1e-3), ("breast_cancer", "linear", {0: 2.0}, 1e-3),
    ("wine", "rbf", "balanced", 1e-3), ("wine", "linear", None, 1e-3), ("digits", "rbf", None, 1e-2),
])
def test_weighted_svc_matches_sklearn(name, kernel, cw, coef_tol, rng):
    X, y = standardized(REAL[name])
    w = _weights(rng, len(y))
    ours = SVC(kernel=kernel, class_weight=cw).fit(X, y, sample_weight=w)
    ref = sks.SVC(kernel=kernel, class_weight=cw).fit(peer(X), y, sample_weight=w)
    # libsvm's solver on the same rows with the same C_i = C cw[y_i] w_i (both
    # in double): the same path, so the same support vectors (as the
    # unweighted iris / breast_cancer tests above)
    np.testing.assert_array_equal(ours.support_, _sk_support(ref, w))
    np.testing.assert_array_equal(ours.n_support_, ref.n_support_)
    assert not np.any(w[ours.support_] == 0)
    # values within 1e-3 of libsvm's relative to their scale, as the unweighted
    # tests (both stop within tol = 1e-3; measured <= 1.7e-4, most ~1e-7, the
    # float32 output); the multipliers are bounded by C_i (up to 3 C cw)
    scale = max(1.0, np.abs(ref.decision_function(peer(X))).max())
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(peer(X)), atol=1e-3 * scale, rtol=0)
    np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, atol=coef_tol * np.abs(ref.dual_coef_).max(), rtol=0)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-3 * scale, rtol=0)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(peer(X)))


def test_weighted_svr_matches_sklearn(rng):
    X, t = standardized(load_diabetes)
    w = _weights(rng, len(t))
    for kernel, C, eps in (("rbf", 1.0, 0.1), ("rbf", 100.0, 5.0), ("linear", 10.0, 1.0)):
        ours = SVR(kernel=kernel, C=C, epsilon=eps).fit(X, t, sample_weight=w)
        ref = sks.SVR(kernel=kernel, C=C, epsilon=eps).fit(peer(X), t, sample_weight=w)
        np.testing.assert_array_equal(ours.support_, _sk_support(ref, w))
        # as the unweighted SVR test: targets ~150, float32 outputs; dual_coef_
        # within 1e-3 of its bound (C_i up to 3 C)
        np.testing.assert_allclose(ours.predict(X), ref.predict(peer(X)), atol=1e-3, rtol=0)
        np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, atol=1e-3 * C, rtol=0)
        np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-3, rtol=0)


def test_unit_weights_give_the_unweighted_bits(backend, rng):
    X, y = _random_problem(rng, n=150)
    for kw in ({}, {"class_weight": {0: 0.5, 2: 3.0}}, {"probability": True, "random_state": 0}):
        a = SVC(backend=backend, **kw).fit(X, y)
        b = SVC(backend=backend, **kw).fit(X, y, sample_weight=np.ones(len(y)))
        for attr in ("support_", "dual_coef_", "intercept_", "n_iter_", "probA_"):
            np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr))
        np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
    t = np.sin(X[:, 0]) + X[:, 1]
    a, b = SVR(backend=backend).fit(X, t), SVR(backend=backend).fit(X, t, sample_weight=[1.0] * len(t))
    np.testing.assert_array_equal(a.dual_coef_, b.dual_coef_)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_zero_weights_leave_rows_out(backend, rng):
    X, y = _random_problem(rng, n=150)
    w = _weights(rng, len(y))
    keep = np.flatnonzero(w > 0)
    # the left-out rows: mislabelled outliers, which would be support vectors
    X, y = X.copy(), y.copy()
    X[w == 0] *= 5.0
    y[w == 0] = (y[w == 0] + 1) % 3
    # gamma fixed: "scale" is X.var() over every row (as scikit-learn), which
    # the left-out rows change
    for est in (SVC(gamma=0.2, backend=backend), SVC(kernel="linear", class_weight="balanced", backend=backend)):
        full = clone(est).fit(X, y, sample_weight=w)
        sub = clone(est).fit(X[keep], y[keep], sample_weight=w[keep])
        if est.class_weight == "balanced":  # computed from all the labels: hand the same weights to the subset
            sub = clone(est).set_params(class_weight=dict(enumerate(full.class_weight_)))
            sub.fit(X[keep], y[keep], sample_weight=w[keep])
        # the same problem in the same order: the same bits
        np.testing.assert_array_equal(full.support_, keep[sub.support_])
        assert not np.any(w[full.support_] == 0)
        np.testing.assert_array_equal(full.dual_coef_, sub.dual_coef_)
        np.testing.assert_array_equal(full.intercept_, sub.intercept_)
        np.testing.assert_array_equal(full.support_vectors_, X[full.support_].astype(np.float32))
    t = np.sin(X[:, 0]) + X[:, 1]
    full = SVR(gamma=0.2, backend=backend).fit(X, t, sample_weight=w)
    sub = SVR(gamma=0.2, backend=backend).fit(X[keep], t[keep], sample_weight=w[keep])
    np.testing.assert_array_equal(full.support_, keep[sub.support_])
    np.testing.assert_array_equal(full.dual_coef_, sub.dual_coef_)
    np.testing.assert_array_equal(full.predict(X), sub.predict(X))


def test_integer_weights_equal_repeated_rows(backend, rng):
    X, y = _random_problem(rng, n=120)
    w = rng.integers(0, 4, len(y)).astype(np.float64)
    Xr, yr = np.repeat(X, w.astype(int), axis=0), np.repeat(y, w.astype(int))
    # the two duals have the same optimum (a row of weight k is k copies whose
    # multipliers share its box k C), but each solve stops within tol of it:
    # at the default tol = 1e-3 they differ by up to 5e-4, so tol is tightened
    # to 1e-6, where they agree to 7e-7 (values ~2, float32 outputs): 1e-5
    # (gamma fixed: "scale" would see another X.var() in the repeated rows)
    for kw in ({"kernel": "rbf", "gamma": 0.3}, {"kernel": "linear", "C": 0.5}):
        a = SVC(tol=1e-6, backend=backend, **kw).fit(X, y, sample_weight=w)
        b = SVC(tol=1e-6, backend=backend, **kw).fit(Xr, yr)
        np.testing.assert_allclose(a.decision_function(X), b.decision_function(X), atol=1e-5, rtol=0)
        np.testing.assert_array_equal(a.predict(X), b.predict(X))
    t = np.sin(X[:, 0]) + X[:, 1]
    tr = np.repeat(t, w.astype(int))
    a = SVR(gamma=0.3, tol=1e-6, backend=backend).fit(X, t, sample_weight=w)
    b = SVR(gamma=0.3, tol=1e-6, backend=backend).fit(Xr, tr)
    np.testing.assert_allclose(a.predict(X), b.predict(X), atol=1e-5, rtol=0)


def test_weighted_c_equals_reference(rng):
    X, y = _random_problem(rng, n=150)
    w = _weights(rng, len(y))
    # as test_c_equals_reference: without shrinking the same path as the
    # reference's plain SMO, values within the solvers' tol (measured:
    # dual_coef_ 8.1e-4, decision values 9e-5, probabilities 6e-5, SVR 6.6e-4)
    c = SVC(shrinking=False, class_weight="balanced").fit(X, y, sample_weight=w)
    p = SVC(class_weight="balanced", backend="python").fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(c.support_, p.support_)
    np.testing.assert_allclose(c.dual_coef_, p.dual_coef_, atol=1e-3)
    np.testing.assert_allclose(c.decision_function(X), p.decision_function(X), atol=1e-3)
    cp = SVC(probability=True, random_state=3, shrinking=False).fit(X, y, sample_weight=w)
    pp = SVC(probability=True, random_state=3, backend="python").fit(X, y, sample_weight=w)
    np.testing.assert_allclose(cp.predict_proba(X), pp.predict_proba(X), atol=1e-3)
    t = np.sin(X @ rng.normal(size=X.shape[1]))
    c, p = SVR(shrinking=False).fit(X, t, sample_weight=w), SVR(backend="python").fit(X, t, sample_weight=w)
    np.testing.assert_array_equal(c.support_, p.support_)
    np.testing.assert_allclose(c.predict(X), p.predict(X), atol=2e-3)  # as the unweighted SVR: 2n-variable drift


@pytest.mark.parametrize("cls", [SVC, SVR])
def test_bad_sample_weight(cls, backend):
    X, y = load_iris(return_X_y=True)
    n = len(y)
    for w, match in ((-np.ones(n), "[Nn]egative"), (np.r_[np.nan, np.ones(n - 1)], "NaN|finite|infinity"),
                     (np.r_[np.inf, np.ones(n - 1)], "NaN|finite|infinity"), (np.ones(n - 1), "shape|samples"),
                     (np.ones((n, 2)), "1D|shape"), (np.zeros(n), "non-zero|every sample_weight is 0"),
                     (np.full(n, 1e308), "overflows")):
        with pytest.raises(ValueError, match=match):
            cls(C=10.0, backend=backend).fit(X, y, sample_weight=w)
    if cls is SVC:  # a class with weight 0 only: libsvm would fit two of the three classes
        w = np.where(y == 2, 0.0, 1.0)
        with pytest.raises(ValueError, match="class 2 has 50 samples, all of sample_weight 0"):
            cls(backend=backend).fit(X, y, sample_weight=w)


def test_c_checks_sample_weight_too():
    from mfs import _native
    X = np.array([[0, 1], [1, 0], [2, 2], [3, 1]], np.float32)
    y = np.array([0, 1, 0, 1], np.int32)
    for w, match in ((np.array([1, -1, 1, 1.0]), r"sample_weight\[1\] = -1"),
                     (np.array([1, np.nan, 1, 1.0]), r"sample_weight\[1\] = nan"), (np.ones(3), "has 3 values"),
                     (np.zeros(4), "every sample_weight is 0"), (np.array([1, 0, 1, 0.0]), "class 1 has 2 samples")):
        m = _native.NativeModel.create("svm", {})
        m.set_array("sample_weight", np.asarray(w, np.float64))
        with pytest.raises(ValueError, match=match):
            m.fit(X, y)


# LinearSVC: the C library takes "sample_weight" (liblinear's C_i = W_i Cp / Cn,
# zero rows removed); these tests drive the C model directly, the estimator's
# are in tests_py/test_linear_svm.py.

def _linear_native(X, yi, w=None, cw=None, **params):
    from mfs import _native
    m = _native.NativeModel.create("linear_svm", dict({"tol": 1e-6, "max_iter": 20000}, **params))
    if cw is not None:
        m.set_array("class_weight", np.asarray(cw, np.float64))
    if w is not None:
        m.set_array("sample_weight", np.asarray(w, np.float64))
    m.fit(np.ascontiguousarray(X, np.float32), np.asarray(yi, np.int32))
    return m.arrays()


@pytest.mark.parametrize("name, loss, cw", [("breast_cancer", "squared_hinge", None),
                                            ("breast_cancer", "hinge", {0: 2.0}), ("wine", "squared_hinge", None),
                                            ("iris", "hinge", "balanced")])
def test_linear_svc_c_sample_weight_matches_liblinear(name, loss, cw, rng):
    X, y = standardized(REAL[name])
    w = _weights(rng, len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = sks.LinearSVC(loss=loss, dual=True, tol=1e-6, max_iter=20000, class_weight=cw).fit(
            peer(X), y, sample_weight=w)
    # scikit-learn's LinearSVC computes "balanced" from the weighted class
    # counts (its SVC does not): the class weights the C model is handed
    from sklearn.utils.class_weight import compute_class_weight
    cwv = None if cw is None else compute_class_weight(cw, classes=np.unique(y), y=y, sample_weight=w)
    ours = _linear_native(X, y, w, cwv, loss=int(loss == "squared_hinge"))
    # as the unweighted LinearSVC test: the same dual solved to 1e-6 by both
    # (liblinear shuffles with its rand(), we with Philox): coefficients to
    # 1e-3 of their size
    scale = np.abs(ref.coef_).max()
    np.testing.assert_allclose(ours["coef"], ref.coef_, atol=1e-3 * scale, rtol=0)
    np.testing.assert_allclose(ours["intercept"], ref.intercept_, atol=1e-3 * scale, rtol=0)
    unweighted = _linear_native(X, y, None, cwv, loss=int(loss == "squared_hinge"))
    assert np.abs(unweighted["coef"] - ref.coef_).max() > 1e-2 * scale  # the weights matter here


def test_linear_svc_c_unit_and_zero_weights(rng):
    X, y = _random_problem(rng, n=150)
    w = _weights(rng, len(y))
    keep = np.flatnonzero(w > 0)
    a, b = _linear_native(X, y), _linear_native(X, y, np.ones(len(y)))
    for k in ("coef", "intercept", "n_iter"):  # unit weights: the unweighted bits
        np.testing.assert_array_equal(a[k], b[k])
    full, sub = _linear_native(X, y, w), _linear_native(X[keep], y[keep], w[keep])
    for k in ("coef", "intercept", "n_iter"):  # zero weights: the fit without those rows
        np.testing.assert_array_equal(full[k], sub[k])
    from mfs import _native
    for bad, match in ((-w, "sample_weight"), (np.zeros(len(y)), "every sample_weight is 0"),
                       (np.where(y == 1, 0.0, 1.0), "class 1 has 50 samples")):
        with pytest.raises(ValueError, match=match):
            _linear_native(X, y, bad)
    with pytest.raises(ValueError, match="has 149 values"):
        _linear_native(X, y, w[:-1])


@pytest.mark.cuda
def test_cuda_weighted_matches_c(rng):
    # the SMO runs on the host on both backends; the device computes the kernel
    # rows of the rows of weight > 0: as test_cuda_matches_c
    X, y = _random_problem(rng, n=4000, d=30, K=3)
    w = _weights(rng, len(y))
    c, g = SVC().fit(X, y, sample_weight=w), SVC(backend="cuda").fit(X, y, sample_weight=w)
    assert abs(len(c.support_) - len(g.support_)) <= 0.01 * len(c.support_) + 1
    assert not np.any(w[g.support_] == 0)
    np.testing.assert_allclose(g.decision_function(X), c.decision_function(X), atol=1e-2)
    assert (g.predict(X) == c.predict(X)).mean() > 0.999
    t = np.sin(X[:, 0]) + X[:, 1]
    np.testing.assert_allclose(SVR(backend="cuda").fit(X, t, sample_weight=w).predict(X),
                               SVR().fit(X, t, sample_weight=w).predict(X), atol=1e-2)


# ---- persistence ------------------------------------------------------------------------------

def test_pickle_clone_save_load(backend, tmp_path):
    X, y = standardized(load_wine)
    m = SVC(probability=True, random_state=1, backend=backend).fit(X, y)
    for other in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        np.testing.assert_array_equal(other.predict_proba(X), m.predict_proba(X))
        np.testing.assert_array_equal(other.support_, m.support_)
    c = clone(m)
    assert c.get_params() == m.get_params() and not hasattr(c, "support_")
    path = tmp_path / "svc.mfs"
    m.save(path)
    loaded = mfs.load(path)
    assert type(loaded) is SVC and loaded.probability and loaded.kernel == "rbf"
    # the file loads into C: equal to the C fit; to the reference within C vs reference
    tol = 1e-6 if backend == "c" else 1e-4
    np.testing.assert_allclose(loaded.decision_function(X), m.decision_function(X), atol=tol)
    np.testing.assert_allclose(loaded.predict_proba(X), m.predict_proba(X), atol=tol)
    np.testing.assert_array_equal(loaded.predict(X), m.predict(X))  # wine's labels are 0..2
    Xd, t = standardized(load_diabetes)
    r = SVR(kernel="poly", degree=2, epsilon=2.0, backend=backend).fit(Xd, t)
    lr = mfs.from_bytes(r._model_bytes())
    assert type(lr) is SVR and (lr.kernel, lr.degree, lr.epsilon) == ("poly", 2, 2.0)
    np.testing.assert_allclose(lr.predict(Xd), r.predict(Xd), atol=1e-6 * np.abs(t).max() if backend == "c" else 1e-2)
    data = r._model_bytes()
    with pytest.raises(mfs.ModelFormatError):
        mfs.from_bytes(data[: len(data) // 2])


# ---- scikit-learn's estimator checks ---------------------------------------------------------

# scikit-learn lists the same failure for its own SVC and SVR (meta-issue
# #16298): integer weights and repeated rows have the same optimum, but each
# solve stops within tol = 1e-3 of it, ~1e-4 apart (tested at tol 1e-6 in
# test_integer_weights_equal_repeated_rows); the check asks for rtol 1e-7.
_WEIGHT_EQUIV = {"check_sample_weight_equivalence_on_dense_data":
                 "sample_weight is not equivalent to removing/repeating samples: both solves stop within tol "
                 "of the same optimum (as scikit-learn's SVC/SVR, which list this check as failing too)"}
_EXPECTED = {"SVC": _WEIGHT_EQUIV, "SVR": _WEIGHT_EQUIV}


@parametrize_with_checks([SVC(), SVR()], expected_failed_checks=lambda e: _EXPECTED.get(type(e).__name__, {}))
def test_sklearn_compatible(estimator, check):
    check(estimator)
