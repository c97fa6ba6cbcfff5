"""GaussianNB / MultinomialNB / BernoulliNB: C vs numpy reference vs
scikit-learn on real and seeded synthetic data, streaming with partial_fit,
log-space prediction, bad input, persistence."""
import copy
import pickle

import numpy as np
import pytest
import sklearn.naive_bayes as sknb
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score, train_test_split

import mfs

REAL = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer, "digits": load_digits}
CLASSES = {"gaussian": (mfs.GaussianNB, sknb.GaussianNB),
           "multinomial": (mfs.MultinomialNB, sknb.MultinomialNB),
           "bernoulli": (mfs.BernoulliNB, sknb.BernoulliNB)}


def split(X, y):
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def counts(n=3000, d=200, K=5, seed=0):
    """20-newsgroups-like documents: per class a word distribution (Dirichlet),
    per document a Poisson length and multinomial word counts."""
    rng = np.random.default_rng(seed)
    word_p = rng.dirichlet(np.full(d, 0.1), size=K)
    y = rng.integers(0, K, n)
    lengths = rng.poisson(40, n) + 1
    X = np.stack([rng.multinomial(lengths[i], word_p[y[i]]) for i in range(n)]).astype(np.float64)
    return X, y


def peer_data(X):
    """What scikit-learn sees: the same float32 values, in float64."""
    return np.asarray(X, dtype=np.float32).astype(np.float64)


# ---- against scikit-learn --------------------------------------------------------

@pytest.mark.parametrize("name", sorted(REAL))
@pytest.mark.parametrize("variant", sorted(CLASSES))
def test_real_data_matches_sklearn(name, variant, backend):
    X, y = REAL[name](return_X_y=True)
    if variant == "bernoulli":
        X = X > np.median(X, axis=0)  # a binary view of the features
    Xtr, Xte, ytr, yte = split(X, y)
    ours_cls, peer_cls = CLASSES[variant]
    ours = ours_cls(backend=backend).fit(Xtr, ytr)
    peer = peer_cls().fit(peer_data(Xtr), ytr)
    acc_o, acc_p = ours.score(Xte, yte), peer.score(peer_data(Xte), yte)
    assert abs(acc_o - acc_p) <= 0.005
    P, Q = ours.predict_proba(Xte), peer.predict_proba(peer_data(Xte))
    # Probabilities to 1e-4 absolute: our statistics are double like the peer's;
    # the float32 GEMM of the joint log-likelihood (centered operands, expansion
    # only where it is well-conditioned, see docs/models/naive_bayes.md) keeps
    # jll errors ~1e-5, and float32 output rounding is 6e-8.
    np.testing.assert_allclose(P, Q, atol=1e-4, rtol=0)
    if variant == "gaussian":
        np.testing.assert_allclose(ours.theta_, peer.theta_, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(ours.var_, peer.var_, rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(ours.class_prior_, peer.class_prior_, rtol=1e-12)
        assert abs(ours.epsilon_ - peer.epsilon_) <= 1e-9 * peer.epsilon_
    else:
        np.testing.assert_allclose(ours.feature_count_, peer.feature_count_, rtol=1e-12)
        np.testing.assert_allclose(ours.feature_log_prob_, peer.feature_log_prob_, rtol=1e-10)
        np.testing.assert_allclose(ours.class_log_prior_, peer.class_log_prior_, rtol=1e-10)
    np.testing.assert_array_equal(ours.class_count_, peer.class_count_)


@pytest.mark.parametrize("variant", ["multinomial", "bernoulli"])
@pytest.mark.parametrize("d", [200, 1000])
def test_synthetic_counts_match_sklearn(variant, d, backend):
    X, y = counts(n=3000, d=d, K=5, seed=d)
    Xtr, Xte, ytr, yte = split(X, y)
    ours_cls, peer_cls = CLASSES[variant]
    ours = ours_cls(backend=backend).fit(Xtr, ytr)
    peer = peer_cls().fit(Xtr, ytr)
    assert abs(ours.score(Xte, yte) - peer.score(Xte, yte)) <= 0.005
    tol = 1e-4 if variant == "multinomial" else 1e-3
    # Multinomial at 1e-4 as the real data. Bernoulli sums log-odds over all d
    # features (~d terms of magnitude ~5 after centering): float32 rounding of
    # that sum gives jll errors up to ~1e-4 at d=1000, i.e. probabilities within 1e-3.
    np.testing.assert_allclose(ours.predict_proba(Xte), peer.predict_proba(Xte), atol=tol, rtol=0)


def test_log_space_on_1000_features(backend):
    """Per-row likelihoods of 1000 features underflow float64 (e^-3000); the
    log-space computation must still give finite log-probabilities that sum to 1."""
    rng = np.random.default_rng(1)
    n, d = 400, 1000
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, d)) * 0.3 + y[:, None] * 0.05
    for est, peer in ((mfs.GaussianNB(backend=backend), sknb.GaussianNB()),
                      (mfs.MultinomialNB(backend=backend), sknb.MultinomialNB())):
        Xf = np.abs(X) * 10 if isinstance(est, mfs.MultinomialNB) else X
        est.fit(Xf, y)
        lp = est.predict_log_proba(Xf)
        assert np.all(np.isfinite(lp) | (lp == -np.inf)) and np.all(lp <= 1e-6)
        np.testing.assert_allclose(np.exp(lp.astype(np.float64)).sum(axis=1), 1.0, atol=1e-5)
        peer.fit(peer_data(Xf), y)
        np.testing.assert_array_equal(est.predict(Xf), peer.predict(peer_data(Xf)))
        # log-probabilities: 1e-3 absolute on entries > -50 (beyond, both are
        # vanishing probabilities whose logs carry the float32 sum's rounding)
        ref = peer.predict_log_proba(peer_data(Xf))
        mask = ref > -50
        np.testing.assert_allclose(lp[mask], ref[mask], atol=1e-3, rtol=1e-5)


# ---- streaming --------------------------------------------------------------------

@pytest.mark.parametrize("variant", sorted(CLASSES))
def test_partial_fit_in_batches_equals_fit(variant, backend):
    X, y = load_digits(return_X_y=True)
    ours_cls, peer_cls = CLASSES[variant]
    whole = ours_cls(backend=backend).fit(X, y)
    stream = ours_cls(backend=backend)
    peer = peer_cls()
    order = np.argsort(y, kind="stable")  # sorted: early batches lack most classes
    for i, chunk in enumerate(np.array_split(order, 7)):
        kw = {"classes": np.unique(y)} if i == 0 else {}
        stream.partial_fit(X[chunk], y[chunk], **kw)
        peer.partial_fit(X[chunk], y[chunk], **kw)
    if variant == "gaussian":
        # Chan's merge vs one two-pass variance: equal to double rounding; epsilon
        # is that of the last batch in both libraries (scikit-learn's rule)
        np.testing.assert_allclose(stream.theta_, whole.theta_, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(stream.var_, peer.var_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(stream.theta_, peer.theta_, rtol=1e-10, atol=1e-10)
        assert stream.epsilon_ == pytest.approx(peer.epsilon_, rel=1e-9)
    else:
        np.testing.assert_array_equal(stream.feature_count_, whole.feature_count_)
        np.testing.assert_allclose(stream.feature_log_prob_, whole.feature_log_prob_, rtol=1e-12)
    np.testing.assert_array_equal(stream.class_count_, whole.class_count_)
    np.testing.assert_allclose(stream.predict_proba(X), peer.predict_proba(peer_data(X)), atol=1e-4)


def test_partial_fit_rules():
    X, y = load_iris(return_X_y=True)
    m = mfs.GaussianNB()
    with pytest.raises(ValueError, match="classes must be passed"):
        m.partial_fit(X, y)
    m.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert m.class_count_[2] == 0
    with pytest.raises(ValueError, match="not in classes"):
        m.partial_fit(X[:3], [0, 1, 7])
    with pytest.raises(ValueError, match="not the same"):
        m.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError):
        m.partial_fit(X[:, :3], y)  # wrong number of features
    before = m.theta_.copy()
    with pytest.raises(ValueError):
        m.partial_fit(X[:3], [0, 1, 7])
    np.testing.assert_array_equal(m.theta_, before)  # a failed batch changes nothing
    m.partial_fit(X[y == 2], y[y == 2])
    np.testing.assert_allclose(m.theta_, mfs.GaussianNB().fit(X, y).theta_, rtol=1e-10, atol=1e-12)
    # partial_fit after fit continues from it
    even = np.arange(len(y)) % 2 == 0
    f = mfs.MultinomialNB().fit(X[even], y[even])
    f.partial_fit(X[~even], y[~even])
    np.testing.assert_array_equal(f.feature_count_, mfs.MultinomialNB().fit(X, y).feature_count_)


# ---- C vs reference -----------------------------------------------------------------

@pytest.mark.parametrize("variant", sorted(CLASSES))
def test_c_equals_reference(variant, rng):
    X, y = counts(n=800, d=60, K=4, seed=3)
    if variant == "gaussian":
        X = X + rng.normal(size=X.shape)
    cls = CLASSES[variant][0]
    c, p = cls().fit(X, y), cls(backend="python").fit(X, y)
    for name in cls._attributes.values():
        np.testing.assert_allclose(getattr(c, name), getattr(p, name), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(c.predict_proba(X), p.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(c.predict_log_proba(X), p.predict_log_proba(X), atol=1e-3, rtol=1e-5)
    np.testing.assert_array_equal(c.predict(X), p.predict(X))


# ---- parameters -----------------------------------------------------------------------

def test_priors_and_params_match_sklearn():
    X, y = load_wine(return_X_y=True)
    pri = [0.5, 0.3, 0.2]
    ours = mfs.GaussianNB(priors=pri, var_smoothing=1e-3).fit(X, y)
    peer = sknb.GaussianNB(priors=pri, var_smoothing=1e-3).fit(peer_data(X), y)
    np.testing.assert_allclose(ours.class_prior_, pri)
    np.testing.assert_allclose(ours.predict_proba(X), peer.predict_proba(peer_data(X)), atol=1e-4)
    Xc, yc = counts(n=500, d=30, K=3, seed=5)
    for kw in ({"alpha": 0.1}, {"fit_prior": False}, {"class_prior": pri}, {"alpha": 2.0, "fit_prior": False}):
        for cls, pcls in ((mfs.MultinomialNB, sknb.MultinomialNB), (mfs.BernoulliNB, sknb.BernoulliNB)):
            o, p = cls(**kw).fit(Xc, yc), pcls(**kw).fit(Xc, yc)
            np.testing.assert_allclose(o.class_log_prior_, p.class_log_prior_, rtol=1e-12)
            np.testing.assert_allclose(o.predict_proba(Xc), p.predict_proba(Xc), atol=1e-4)
    for b in (None, 2.5):
        o, p = mfs.BernoulliNB(binarize=b).fit(Xc, yc), sknb.BernoulliNB(binarize=b).fit(Xc, yc)
        np.testing.assert_allclose(o.feature_count_, p.feature_count_)
        np.testing.assert_allclose(o.predict_proba(Xc), p.predict_proba(Xc), atol=1e-4)


@pytest.mark.parametrize("cls, kw", [
    (mfs.GaussianNB, {"priors": [0.5, 0.6, 0.1]}),        # sum != 1
    (mfs.GaussianNB, {"priors": [0.5, 0.5]}),             # wrong length
    (mfs.GaussianNB, {"priors": [1.5, -0.5, 0.0]}),       # negative
    (mfs.MultinomialNB, {"class_prior": [0.2, 0.2]}),
    (mfs.MultinomialNB, {"class_prior": [0.2, 0.2, 0.2]}),
    (mfs.BernoulliNB, {"class_prior": [1.0]}),
    (mfs.GaussianNB, {"var_smoothing": -1.0}),
    (mfs.MultinomialNB, {"alpha": -0.5}),
    (mfs.MultinomialNB, {"alpha": np.nan}),
    (mfs.BernoulliNB, {"binarize": -1.0}),
])
def test_bad_params(cls, kw, backend):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError):
        cls(backend=backend, **kw).fit(X, y)


def test_priors_checked_in_c_too():
    """A C caller gets the same checks (class_prior input array)."""
    from mfs import _native
    X = np.ones((4, 2), np.float32)
    y = np.array([0, 1, 0, 1], np.int32)
    m = _native.NativeModel.create("naive_bayes", {"variant": 1, "n_classes": 2})
    m.set_array("class_prior", np.array([0.7, 0.7]))
    with pytest.raises(ValueError, match="sum to 1"):
        m.fit(X, y)
    m.set_array("class_prior", np.array([0.2, 0.3, 0.5]))
    with pytest.raises(ValueError, match="3 values, the model has 2 classes"):
        m.fit(X, y)


# ---- labels and input -----------------------------------------------------------------

def test_string_labels_and_single_class(backend):
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    m = mfs.GaussianNB(backend=backend).fit(X, names)
    assert list(m.classes_) == ["setosa", "versicolor", "virginica"]
    assert m.score(X, names) == pytest.approx(sknb.GaussianNB().fit(X, names).score(X, names), abs=0.005)
    # scikit-learn's NB fits a single class (probability 1): so do we
    for cls, pcls in ((mfs.GaussianNB, sknb.GaussianNB), (mfs.MultinomialNB, sknb.MultinomialNB),
                      (mfs.BernoulliNB, sknb.BernoulliNB)):
        one = cls(backend=backend).fit(X[:50], names[:50])
        peer = pcls().fit(X[:50], names[:50])
        assert list(one.predict(X[:3])) == ["setosa"] * 3
        np.testing.assert_allclose(one.predict_proba(X[:3]), peer.predict_proba(X[:3]))


@pytest.mark.parametrize("bad", [
    np.array([[1.0, np.nan], [2.0, 3.0]]),
    np.array([[1.0, np.inf], [2.0, 3.0]]),
    np.array([1.0, 2.0]),                       # 1-D X
    np.empty((0, 2)),
])
@pytest.mark.parametrize("variant", sorted(CLASSES))
def test_bad_X(bad, variant, backend):
    with pytest.raises(ValueError):
        CLASSES[variant][0](backend=backend).fit(bad, np.zeros(len(bad)))


def test_negative_counts(backend):
    X = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 1.0]])
    with pytest.raises(ValueError, match="counts >= 0|>= 0"):
        mfs.MultinomialNB(backend=backend).fit(X, [0, 1, 0])
    m = mfs.MultinomialNB(backend=backend).fit(np.abs(X), [0, 1, 0])
    with pytest.raises(ValueError):
        m.partial_fit(X, [0, 1, 0])
    assert m.class_count_.tolist() == [2, 1]  # unchanged by the failed batch


def test_c_negative_counts_message():
    from mfs import _native
    m = _native.NativeModel.create("naive_bayes", {"variant": 1, "n_classes": 2})
    X = np.array([[1, 2], [0, -1]], np.float32)
    with pytest.raises(ValueError, match=r"X\[1, 1\] = -1"):
        m.fit(X, np.array([0, 1], np.int32))


def test_wrong_features_and_not_fitted():
    X, y = load_iris(return_X_y=True)
    for cls in (mfs.GaussianNB, mfs.MultinomialNB, mfs.BernoulliNB):
        with pytest.raises(NotFittedError):
            cls().predict(X)
        m = cls().fit(X, y)
        with pytest.raises(ValueError, match="features"):
            m.predict(X[:, :3])
        with pytest.raises(ValueError):
            m.fit(X, y[:-1])


@pytest.mark.skipif(mfs.cuda_device_count() > 0, reason="a GPU is present")
def test_cuda_without_gpu_is_a_clear_error():
    X, y = load_iris(return_X_y=True)
    for cls in (mfs.GaussianNB, mfs.MultinomialNB, mfs.BernoulliNB):
        with pytest.raises(mfs.DeviceError):
            cls(backend="cuda").fit(X, y)


@pytest.mark.cuda
@pytest.mark.parametrize("variant", sorted(CLASSES))
def test_cuda_matches_c(variant):
    X, y = counts(n=20000, d=300, K=6, seed=9)
    cls = CLASSES[variant][0]
    c, g = cls().fit(X, y), cls(backend="cuda").fit(X, y)
    # different float32 summation orders (discrete GEMM); Gaussian on the GPU is exact double
    np.testing.assert_allclose(g.predict_proba(X), c.predict_proba(X), atol=1e-4)
    assert (g.predict(X) == c.predict(X)).mean() > 0.999


# ---- persistence and ecosystem -----------------------------------------------------

@pytest.mark.parametrize("variant", sorted(CLASSES))
def test_pickle_save_load(variant, backend, tmp_path):
    X, y = load_wine(return_X_y=True)
    cls = CLASSES[variant][0]
    m = cls(backend=backend).fit(X, y)
    for other in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        np.testing.assert_array_equal(other.predict_proba(X), m.predict_proba(X))
    other = pickle.loads(pickle.dumps(m))
    other.partial_fit(X[:10], y[:10])  # streaming continues after a round trip
    assert other.class_count_.sum() == len(y) + 10
    c = clone(m)
    assert c.get_params() == m.get_params() and not hasattr(c, "class_count_")
    path = tmp_path / "nb.mfs"
    m.save(path)
    loaded = mfs.load(path)
    assert type(loaded) is cls
    # the file loads into C: equal to the C fit, within C vs reference (1e-5) otherwise
    np.testing.assert_allclose(loaded.predict_proba(X), m.predict_proba(X), atol=1e-6 if backend == "c" else 1e-5)
    # the file holds class indices: the loaded classes_ are 0..K-1 (wine's labels are 0..2)
    np.testing.assert_array_equal(loaded.predict(X), m.predict(X))


def test_loaded_params_and_truncated_file(tmp_path):
    X, y = load_iris(return_X_y=True)
    m = mfs.BernoulliNB(alpha=0.5, binarize=None, fit_prior=False).fit(X > 3, y)
    l = mfs.from_bytes(m._model_bytes())
    assert (l.alpha, l.binarize, l.fit_prior) == (0.5, None, False)
    g = mfs.from_bytes(mfs.GaussianNB(var_smoothing=1e-4).fit(X, y)._model_bytes())
    assert g.var_smoothing == 1e-4
    data = m._model_bytes()
    with pytest.raises(mfs.ModelFormatError):
        mfs.from_bytes(data[: len(data) // 2])


def test_cross_val_score_like_sklearn():
    X, y = load_digits(return_X_y=True)
    ours = cross_val_score(mfs.MultinomialNB(), X, y, cv=3)
    peer = cross_val_score(sknb.MultinomialNB(), X, y, cv=3)
    np.testing.assert_allclose(ours, peer, atol=0.005)


# ---- sample_weight (scikit-learn's semantics) ---------------------------------------------

def weighted_data(variant, seed=0):
    """Data for variant, labels, and weights in [0, 3) with ~10% exact zeros."""
    rng = np.random.default_rng(seed)
    if variant == "gaussian":
        X, y = load_wine(return_X_y=True)
    else:
        X, y = counts(n=600, d=40, K=4, seed=seed)
    w = rng.uniform(0, 3, len(y))
    w[rng.random(len(y)) < 0.1] = 0.0
    return X, y, w


def assert_fitted_like(ours, peer, variant, eps_rel=1e-9):
    """Fitted attributes vs scikit-learn's (both accumulate in double; the order
    of the sums differs, so equal to double rounding, not bit for bit)."""
    np.testing.assert_allclose(ours.class_count_, peer.class_count_, rtol=1e-12)
    if variant == "gaussian":
        # weighted means / variances: sums of ~1e2 weighted terms in double
        np.testing.assert_allclose(ours.theta_, peer.theta_, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(ours.var_, peer.var_, rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(ours.class_prior_, peer.class_prior_, rtol=1e-12)
        assert abs(ours.epsilon_ - peer.epsilon_) <= eps_rel * peer.epsilon_
    else:
        np.testing.assert_allclose(ours.feature_count_, peer.feature_count_, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours.feature_log_prob_, peer.feature_log_prob_, rtol=1e-10)
        np.testing.assert_allclose(ours.class_log_prior_, peer.class_log_prior_, rtol=1e-10)


@pytest.mark.parametrize("variant", sorted(CLASSES))
def test_sample_weight_matches_sklearn(variant, backend):
    X, y, w = weighted_data(variant)
    ours_cls, peer_cls = CLASSES[variant]
    ours = ours_cls(backend=backend).fit(X, y, sample_weight=w)
    peer = peer_cls().fit(peer_data(X), y, sample_weight=w)
    assert_fitted_like(ours, peer, variant)
    # the weights matter: an unweighted fit differs from the weighted one
    plain = ours_cls(backend=backend).fit(X, y)
    assert not np.allclose(plain.class_count_, ours.class_count_)
    # 1e-4: float32 GEMM of the joint log-likelihood, as test_real_data_matches_sklearn
    np.testing.assert_allclose(ours.predict_proba(X), peer.predict_proba(peer_data(X)), atol=1e-4, rtol=0)
    assert (ours.predict(X) == peer.predict(peer_data(X))).mean() >= 0.995


@pytest.mark.parametrize("variant", sorted(CLASSES))
def test_integer_weights_equal_repeated_rows(variant, backend):
    X, y, _ = weighted_data(variant, seed=1)
    rng = np.random.default_rng(1)
    w = rng.integers(0, 4, len(y))
    w[:3] = 1  # every class keeps some weight (sorted labels: class 0 here)
    cls = CLASSES[variant][0]
    # var_smoothing = 0: epsilon is the unweighted batch variance (scikit-learn's
    # rule), which repeating rows changes; the rest must agree
    kw = {"var_smoothing": 0.0} if variant == "gaussian" else {}
    a = cls(backend=backend, **kw).fit(X, y, sample_weight=w.astype(np.float64))
    b = cls(backend=backend, **kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_array_equal(a.class_count_, b.class_count_)  # integer sums: exact in double
    if variant == "gaussian":
        # weighted vs repeated two-pass sums: equal to double rounding
        np.testing.assert_allclose(a.theta_, b.theta_, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(a.var_, b.var_, rtol=1e-8, atol=1e-10)
    else:
        # integer weights times integer counts: exact in double
        np.testing.assert_array_equal(a.feature_count_, b.feature_count_)
        np.testing.assert_allclose(a.feature_log_prob_, b.feature_log_prob_, rtol=1e-12)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-5)  # same model to double rounding
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


@pytest.mark.parametrize("variant", sorted(CLASSES))
def test_zero_weights_equal_dropping_rows(variant, backend):
    X, y, w = weighted_data(variant, seed=2)
    keep = w > 0
    cls, peer_cls = CLASSES[variant]
    kw = {"var_smoothing": 0.0} if variant == "gaussian" else {}
    a = cls(backend=backend, **kw).fit(X, y, sample_weight=w)
    b = cls(backend=backend, **kw).fit(X[keep], y[keep], sample_weight=w[keep])
    for name in cls._attributes.values():
        # the zero rows add exact zeros to every sum (Gaussian: to sums of
        # squared deviations as well); only the threads' summation split may differ
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-14)
    if variant == "gaussian":
        # epsilon, as scikit-learn's, is the variance of every row of X, zero-weight
        # rows included: the one place where dropping differs
        a = cls(backend=backend).fit(X, y, sample_weight=w)
        peer = peer_cls().fit(peer_data(X), y, sample_weight=w)
        assert abs(a.epsilon_ - peer.epsilon_) <= 1e-9 * peer.epsilon_
        assert a.epsilon_ != cls(backend=backend).fit(X[keep], y[keep], sample_weight=w[keep]).epsilon_


@pytest.mark.parametrize("variant", sorted(CLASSES))
def test_class_with_all_zero_weights_as_sklearn(variant, backend):
    X, y, w = weighted_data(variant, seed=3)
    w = w.copy()
    w[y == 1] = 0.0
    ours_cls, peer_cls = CLASSES[variant]
    with np.errstate(divide="ignore"), warnings_ignored():
        ours = ours_cls(backend=backend).fit(X, y, sample_weight=w)
        peer = peer_cls().fit(peer_data(X), y, sample_weight=w)
        assert ours.class_count_[1] == 0
        assert_fitted_like(ours, peer, variant)
        if variant == "gaussian":
            assert ours.class_prior_[1] == 0 and np.all(ours.theta_[1] == 0)
            np.testing.assert_allclose(ours.var_[1], ours.epsilon_, rtol=1e-15)
        else:
            assert ours.class_log_prior_[1] == -np.inf
        P = ours.predict_proba(X)
        np.testing.assert_allclose(P, peer.predict_proba(peer_data(X)), atol=1e-4)  # float32 GEMM, as above
        assert np.all(P[:, 1] == 0) and not np.any(ours.predict(X) == 1)


class warnings_ignored:
    """log(0) of a zero-weight class warns in scikit-learn (and may in numpy)."""
    def __enter__(self):
        import warnings
        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


@pytest.mark.parametrize("variant", sorted(CLASSES))
def test_weighted_partial_fit_matches_sklearn(variant, backend):
    X, y, w = weighted_data(variant, seed=4)
    ours_cls, peer_cls = CLASSES[variant]
    stream, peer = ours_cls(backend=backend), peer_cls()
    order = np.argsort(y, kind="stable")  # early batches lack some classes
    for i, chunk in enumerate(np.array_split(order, 5)):
        kw = {"classes": np.unique(y)} if i == 0 else {}
        sw = None if i == 3 else w[chunk]  # an unweighted batch in between: weights are per call
        stream.partial_fit(X[chunk], y[chunk], sample_weight=sw, **kw)
        peer.partial_fit(peer_data(X[chunk]), y[chunk], sample_weight=sw, **kw)
    # Gaussian: the weighted Chan merge (scikit-learn's _update_mean_variance),
    # epsilon that of the last batch; equal to double rounding
    assert_fitted_like(stream, peer, variant)
    np.testing.assert_allclose(stream.predict_proba(X), peer.predict_proba(peer_data(X)), atol=1e-4)


def test_sample_weight_c_equals_reference():
    for variant in sorted(CLASSES):
        X, y, w = weighted_data(variant, seed=5)
        cls = CLASSES[variant][0]
        c, p = cls().fit(X, y, sample_weight=w), cls(backend="python").fit(X, y, sample_weight=w)
        for name in cls._attributes.values():
            # both double; different summation orders
            np.testing.assert_allclose(getattr(c, name), getattr(p, name), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(c.predict_proba(X), p.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("bad, match", [
    (lambda n: -np.ones(n), "(?i)negative"),
    (lambda n: np.ones(n - 1), "inconsistent|shape|samples"),
    (lambda n: np.full(n, np.nan), "NaN|infinity|finite"),
    (lambda n: np.zeros(n), "at least one non-zero"),
])
@pytest.mark.parametrize("variant", sorted(CLASSES))
def test_bad_sample_weight(bad, match, variant, backend):
    X, y, _ = weighted_data(variant, seed=6)
    cls = CLASSES[variant][0]
    with pytest.raises(ValueError, match=match):
        cls(backend=backend).fit(X, y, sample_weight=bad(len(y)))
    with pytest.raises(ValueError, match=match):
        cls(backend=backend).partial_fit(X, y, classes=np.unique(y), sample_weight=bad(len(y)))
    m = cls(backend=backend).fit(X, y)
    before = m.class_count_.copy()
    with pytest.raises(ValueError, match=match):  # all zero: refused on later batches too, as scikit-learn
        m.partial_fit(X, y, sample_weight=bad(len(y)))
    np.testing.assert_array_equal(m.class_count_, before)  # a failed batch changes nothing


def test_sample_weight_checked_in_c_too():
    """A C caller gets clear errors for bad weights, and nothing changes."""
    from mfs import _native
    X = np.array([[1, 0], [0, 2], [3, 1], [1, 1]], np.float32)
    y = np.array([0, 1, 0, 1], np.int32)
    for variant in (0, 1, 2):
        m = _native.NativeModel.create("naive_bayes", {"variant": variant, "n_classes": 2})
        m.set_array("sample_weight", np.array([1.0, -1.0, 1.0, 1.0]))
        with pytest.raises(ValueError, match=r"sample_weight\[1\] = -1"):
            m.fit(X, y)
        m.set_array("sample_weight", np.ones(3))
        with pytest.raises(ValueError, match="3 values, expected 4"):
            m.fit(X, y)
        m.set_array("sample_weight", np.zeros(4))
        with pytest.raises(ValueError, match="sum to zero"):
            m.fit(X, y)
        m.set_array("sample_weight", np.array([2.0, 1.0, 0.0, 1.0], np.float32))  # float32 accepted too
        m.fit(X, y)
        np.testing.assert_array_equal(m.arrays()["class_count"], [2.0, 2.0])


@pytest.mark.cuda
@pytest.mark.parametrize("variant", sorted(CLASSES))
def test_cuda_sample_weight_matches_c(variant):
    X, y, w = weighted_data(variant, seed=7)
    cls = CLASSES[variant][0]
    c, g = cls().fit(X, y, sample_weight=w), cls(backend="cuda").fit(X, y, sample_weight=w)
    for name in cls._attributes.values():  # the fit runs on the CPU for both: same code, same bits
        np.testing.assert_array_equal(getattr(g, name), getattr(c, name))
    # different float32 summation orders on the device (as test_cuda_matches_c)
    np.testing.assert_allclose(g.predict_proba(X), c.predict_proba(X), atol=1e-4)


@pytest.mark.parametrize("variant, kw", [("GaussianNB", {}), ("MultinomialNB", {}), ("BernoulliNB", {}),
                                         ("BernoulliNB", {"binarize": 4.0}), ("MultinomialNB", {"alpha": 0.01})])
@pytest.mark.parametrize("name", ["iris", "digits"])
def test_predict_joint_log_proba_matches_sklearn(variant, kw, name, backend):
    """log P(c) + log P(x | c) itself (not shifted per row): computed in double,
    returned through float32, so within ~1e-7 of the largest |value| (measured
    2e-7 at most); consistent with predict and predict_log_proba."""
    X, y = {"iris": load_iris, "digits": load_digits}[name](return_X_y=True)
    ours = getattr(mfs, variant)(backend=backend, **kw).fit(X, y)
    peer = getattr(sknb, variant)(**kw).fit(X, y)
    j, p = ours.predict_joint_log_proba(X), peer.predict_joint_log_proba(X)
    assert j.shape == p.shape and j.dtype == np.float64
    np.testing.assert_allclose(j, p, rtol=0, atol=1e-6 * np.abs(p).max())
    from scipy.special import logsumexp
    np.testing.assert_allclose(ours.predict_log_proba(X), j - logsumexp(j, axis=1, keepdims=True),
                               atol=1e-6 * np.abs(p).max() + 1e-5)
    np.testing.assert_array_equal(ours.classes_[np.argmax(j, axis=1)], ours.predict(X))
