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
