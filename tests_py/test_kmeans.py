"""KMeans: C vs numpy reference vs scikit-learn with the same init array on real
and synthetic data, k-means++ quality, seeds, persistence, bad input."""
import copy
import pickle

import numpy as np
import pytest
import sklearn.cluster as skc
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine, make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mfs

# name -> (X, n_clusters)
DATASETS = {
    "iris": lambda: (load_iris().data, 3),
    "wine": lambda: (load_wine().data, 3),
    "digits": lambda: (load_digits().data, 10),
    "breast_cancer": lambda: (load_breast_cancer().data, 2),
    "blobs": lambda: (make_blobs(3000, 12, centers=6, cluster_std=2.0, random_state=0)[0] + 40.0, 6),
}


def _data(name):
    X, k = DATASETS[name]()
    X = np.ascontiguousarray(X, dtype=np.float32)
    # the same init for every implementation: k distinct rows from a seeded permutation
    init = X[np.random.RandomState(1).permutation(len(X))[:k]].copy()
    return X, k, init


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_same_init_matches_sklearn_and_reference(name, backend):
    X, k, init = _data(name)
    ours = mfs.KMeans(k, init=init, backend=backend).fit(X)
    sk = skc.KMeans(k, init=init, n_init=1).fit(X)
    ref = mfs.KMeans(k, init=init, backend="python").fit(X)
    # Same arithmetic up to float32 rounding: the same Lloyd trajectory, so the
    # same iterations and the same labels, exactly.
    assert ours.n_iter_ == sk.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(ours.labels_, sk.labels_)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    # Inertia: scikit-learn sums float32 squared distances in float32 (~sqrt(n)
    # eps ~ 1e-5 relative); ours and the reference sum in double and differ by
    # the float32 rounding of the centers only (second order at the optimum).
    assert ours.inertia_ == pytest.approx(sk.inertia_, rel=1e-4)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)
    # Centers: sklearn accumulates cluster sums in float32, we in double: the
    # difference is ~1e-6 of the data's magnitude.
    scale = np.abs(X).max()
    np.testing.assert_allclose(ours.cluster_centers_, sk.cluster_centers_, rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=0, atol=1e-5 * scale)
    # predict on the training rows gives labels_; transform = sklearn's
    # distances (float64 there, float32 explicit differences here: 1e-5 of
    # the largest distance, since distances near 0 have no relative accuracy)
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))
    D, Dsk = ours.transform(X), sk.transform(X)
    assert D.dtype == np.float32 and D.shape == (len(X), k)
    np.testing.assert_allclose(D, Dsk, rtol=1e-5, atol=1e-5 * Dsk.max())


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_kmeans_plusplus_quality_close_to_sklearn(name):
    X, k, _ = _data(name)
    seeds = range(16)

    def inertias(make):
        return np.array([make(s).fit(X).inertia_ for s in seeds])

    # Same algorithm, different random streams (Philox, numpy, sklearn's own
    # draws). Final inertias are lumpy: a seed either finds the best optimum or
    # a clearly worse one (measured over 200 seeds on blobs: 5% of runs worse
    # for C, 9% for sklearn, 6.5% for the reference), so the mean of a few seeds
    # swings by several %; the median over 16 seeds agrees within 1% (measured
    # <= 0.3%).
    sk = inertias(lambda s: skc.KMeans(k, n_init=1, random_state=s))
    for backend in ("c", "python"):
        ours = inertias(lambda s: mfs.KMeans(k, random_state=s, backend=backend))
        assert np.median(ours) <= 1.01 * np.median(sk), (backend, np.median(ours), np.median(sk))
    # The seeding itself, seen after one Lloyd step (a continuous measure): the
    # mean over 16 seeds within 15% (measured 0.94..1.11: k-means++ with k=2 on
    # breast_cancer varies most).
    sk1 = inertias(lambda s: skc.KMeans(k, n_init=1, max_iter=1, random_state=s)).mean()
    for backend in ("c", "python"):
        ours1 = inertias(lambda s: mfs.KMeans(k, max_iter=1, random_state=s, backend=backend)).mean()
        assert ours1 <= 1.15 * sk1, (backend, ours1, sk1)


def test_random_init_and_n_init():
    X, k, _ = _data("blobs")
    one = mfs.KMeans(k, init="random", random_state=3).fit(X)
    many = mfs.KMeans(k, init="random", n_init=8, random_state=3).fit(X)
    # run 0 of n_init=8 is the single run: the best of 8 cannot be worse
    assert many.inertia_ <= one.inertia_
    best_sk = skc.KMeans(k, init="random", n_init=8, random_state=3).fit(X).inertia_
    assert many.inertia_ <= 1.01 * best_sk
    # "auto": 1 run for k-means++, 10 for random (scikit-learn's rule)
    a = mfs.KMeans(k, n_init="auto", random_state=0).fit(X)
    b = mfs.KMeans(k, n_init=1, random_state=0).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    r10 = mfs.KMeans(k, init="random", n_init=10, random_state=0).fit(X)
    ra = mfs.KMeans(k, init="random", n_init="auto", random_state=0).fit(X)
    np.testing.assert_array_equal(ra.cluster_centers_, r10.cluster_centers_)


def test_reference_random_and_empty_cluster():
    X, k, _ = _data("iris")
    ref = mfs.KMeans(k, init="random", n_init=3, random_state=0, backend="python").fit(X)
    assert ref.labels_.shape == (len(X),) and set(np.unique(ref.labels_)) <= set(range(k))
    # a center far from every point empties: it takes the farthest point (both sides)
    init = X[:3].copy()
    init[2] = 1e4
    c = mfs.KMeans(3, init=init).fit(X)
    r = mfs.KMeans(3, init=init, backend="python").fit(X)
    s = skc.KMeans(3, init=init, n_init=1).fit(X)
    assert len(np.unique(c.labels_)) == 3
    np.testing.assert_array_equal(c.labels_, r.labels_)
    np.testing.assert_array_equal(c.labels_, s.labels_)
    assert c.inertia_ == pytest.approx(s.inertia_, rel=1e-4)


def test_seeds_and_threads():
    X, k, _ = _data("digits")
    a = mfs.KMeans(k, random_state=5).fit(X)
    b = mfs.KMeans(k, random_state=5).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    # a RandomState draws the seed, as scikit-learn: the same state, the same draw
    c = mfs.KMeans(k, random_state=np.random.RandomState(0)).fit(X)
    e = mfs.KMeans(k, random_state=np.random.RandomState(0)).fit(X)
    np.testing.assert_array_equal(c.cluster_centers_, e.cluster_centers_)
    mfs.KMeans(k, random_state=None).fit(X)  # draws from numpy's global state
    # the thread count does not change a bit (chunks are fixed, sums ordered)
    Xb = np.repeat(X, 6, axis=0)  # ~10800 rows: several chunks
    before = mfs.get_num_threads()
    try:
        mfs.set_num_threads(1)
        one = mfs.KMeans(k, random_state=2).fit(Xb)
        mfs.set_num_threads(2)
        two = mfs.KMeans(k, random_state=2).fit(Xb)
    finally:
        mfs.set_num_threads(before)
    np.testing.assert_array_equal(one.cluster_centers_, two.cluster_centers_)
    np.testing.assert_array_equal(one.labels_, two.labels_)
    assert one.inertia_ == two.inertia_


def test_methods_and_attributes(backend):
    X, k, init = _data("wine")
    est = mfs.KMeans(k, init=init, backend=backend)
    labels = est.fit_predict(X)
    np.testing.assert_array_equal(labels, est.labels_)
    assert est.labels_.dtype == np.int32 and est.cluster_centers_.dtype == np.float32
    assert isinstance(est.inertia_, float) and isinstance(est.n_iter_, int)
    assert est.n_features_in_ == X.shape[1]
    np.testing.assert_allclose(est.fit_transform(X), est.transform(X))
    # score is -inertia on the training set (double sums both: 1e-6)
    assert est.score(X) == pytest.approx(-est.inertia_, rel=1e-6)
    assert list(est.get_feature_names_out()) == [f"kmeans{i}" for i in range(k)]
    # float64 and list input are converted; predict on new rows
    np.testing.assert_array_equal(est.predict(X.astype(np.float64).tolist()[:5]), labels[:5])


def test_pipeline_and_cross_val():
    X, k, _ = _data("iris")
    pipe = make_pipeline(StandardScaler(), mfs.KMeans(3, random_state=0))
    assert pipe.fit_predict(X).shape == (len(X),)
    scores = cross_val_score(mfs.KMeans(3, random_state=0), X, cv=3)
    assert np.all(scores < 0)


def test_pickle_deepcopy_clone_save_load(tmp_path):
    X, k, init = _data("iris")
    est = mfs.KMeans(k, init=init).fit(X)
    for other in (pickle.loads(pickle.dumps(est)), copy.deepcopy(est)):
        np.testing.assert_array_equal(other.predict(X), est.predict(X))
        np.testing.assert_array_equal(other.cluster_centers_, est.cluster_centers_)
        assert other.inertia_ == est.inertia_
    c = clone(est)
    assert not hasattr(c, "cluster_centers_") and c.get_params()["n_clusters"] == k
    np.testing.assert_array_equal(c.fit(X).labels_, est.labels_)
    path = tmp_path / "km.mfs"
    est.save(path)
    loaded = mfs.load(path)
    assert type(loaded) is mfs.KMeans
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    np.testing.assert_array_equal(loaded.labels_, est.labels_)
    assert loaded.inertia_ == est.inertia_ and loaded.n_iter_ == est.n_iter_
    assert loaded.n_clusters == k and loaded.n_features_in_ == X.shape[1]
    # the file keeps no init array: a refit of the loaded estimator starts at its centers
    assert loaded.init.shape == (k, X.shape[1])
    kpp = mfs.from_bytes(mfs.KMeans(2, init="random", random_state=4).fit(X)._model_bytes())
    assert kpp.init == "random" and kpp.random_state == 4
    pickle.loads(pickle.dumps(mfs.KMeans(3, backend="python").fit(X))).predict(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_inf_rejected(bad, backend):
    X, k, _ = _data("iris")
    X = X.copy()
    X[7, 2] = bad
    with pytest.raises(ValueError):
        mfs.KMeans(k, backend=backend).fit(X)
    est = mfs.KMeans(k, backend=backend).fit(_data("iris")[0])
    with pytest.raises(ValueError):
        est.predict(X)
    with pytest.raises(ValueError):
        est.transform(X)
    if backend == "c":  # the C check (in the pass that also finds max |X|) names the place
        what = "NaN" if np.isnan(bad) else "infinity"
        for call in (est.predict, est.transform, est.score):
            with pytest.raises(ValueError, match=f"X contains {what} at row 7, column 2"):
                call(X)


def test_bad_input(backend):
    X, k, init = _data("iris")
    with pytest.raises(ValueError):
        mfs.KMeans(k, backend=backend).fit(X[:, 0])  # 1-D
    with pytest.raises(ValueError):
        mfs.KMeans(k, backend=backend).fit([["a", "b"], ["c", "d"]])
    with pytest.raises(ValueError, match="n_clusters=10"):
        mfs.KMeans(10, backend=backend).fit(X[:5])
    with pytest.raises(NotFittedError):
        mfs.KMeans(k, backend=backend).predict(X)
    with pytest.raises(NotFittedError):
        mfs.KMeans(k, backend=backend).transform(X)
    est = mfs.KMeans(k, backend=backend).fit(X)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :3])
    with pytest.raises(ValueError, match="init has shape"):
        mfs.KMeans(k, init=init[:2], backend=backend).fit(X)
    with pytest.raises(ValueError, match="init has shape"):
        mfs.KMeans(k, init=init[:, :3], backend=backend).fit(X)


def test_c_messages_reach_python():
    X, k, init = _data("iris")
    # bypass the Python checks: the C library's own message comes through
    from mfs import _native
    m = _native.NativeModel.create("kmeans", {"n_clusters": 10})
    with pytest.raises(ValueError, match="n_clusters is 10, X has only 5 samples"):
        m.fit(np.ascontiguousarray(X[:5]))
    m = _native.NativeModel.create("kmeans", {"n_clusters": 3, "init": 2})
    with pytest.raises(ValueError, match="no 'init' array"):
        m.fit(X)
    m.set_array("init", init[:2])
    with pytest.raises(ValueError, match=r"shape \(2, 4\), expected \(n_clusters=3, n_features=4\)"):
        m.fit(X)


@pytest.mark.parametrize("kw", [{"n_clusters": 0}, {"n_clusters": 2.5}, {"init": "kmeans"},
                                {"n_init": 0}, {"n_init": "many"}, {"max_iter": 0}, {"tol": -1.0},
                                {"tol": float("nan")}, {"random_state": -1}, {"backend": "gpu"},
                                {"init": lambda X, k, random_state: X[:k]}])
def test_bad_params(kw):
    X, _, _ = _data("iris")
    with pytest.raises((ValueError, TypeError)):
        mfs.KMeans(**{"n_clusters": 3, **kw}).fit(X)


@pytest.mark.skipif(mfs.cuda_device_count() > 0, reason="a GPU is present")
def test_cuda_without_gpu_is_a_clear_error():
    X, k, _ = _data("iris")
    with pytest.raises(mfs.DeviceError):
        mfs.KMeans(k, backend="cuda").fit(X)


@pytest.mark.cuda
def test_cuda_matches_c():
    X, k, init = _data("blobs")
    c = mfs.KMeans(k, init=init).fit(X)
    g = mfs.KMeans(k, init=init, backend="cuda").fit(X)
    # the GPU sums in its own order: same trajectory on separated blobs
    np.testing.assert_array_equal(g.labels_, c.labels_)
    assert g.inertia_ == pytest.approx(c.inertia_, rel=1e-5)
    np.testing.assert_array_equal(g.predict(X), c.predict(X))
    np.testing.assert_allclose(g.transform(X), c.transform(X), rtol=1e-4, atol=1e-4)


# ---- sample_weight -------------------------------------------------------------------

def _weights(n, seed=0):
    """Real weights in [0.1, 3) with every 7th row 0 (absent)."""
    w = np.random.RandomState(seed).uniform(0.1, 3.0, n)
    w[::7] = 0.0
    return w


@pytest.mark.parametrize("name", ["iris", "wine", "blobs", "digits"])
def test_sample_weight_same_init_matches_sklearn(name, backend):
    X, k, init = _data(name)
    w = _weights(len(X))
    ours = mfs.KMeans(k, init=init, backend=backend).fit(X, sample_weight=w)
    sk = skc.KMeans(k, init=init, n_init=1).fit(X, sample_weight=w)
    # the same Lloyd trajectory: the same iterations and labels, exactly (as
    # the unweighted comparison above; zero-weight rows get labels too)
    assert ours.n_iter_ == sk.n_iter_
    np.testing.assert_array_equal(ours.labels_, sk.labels_)
    # scikit-learn sums w * d^2 and w * x in float32 (its dtype for float32 X),
    # we in double: as unweighted, the inertia to 1e-4 relative (measured
    # <= 6.7e-7) and the centers to 1e-5 of max |X| (measured <= 1.3e-7)
    assert ours.inertia_ == pytest.approx(sk.inertia_, rel=1e-4)
    scale = np.abs(X).max()
    np.testing.assert_allclose(ours.cluster_centers_, sk.cluster_centers_, rtol=0, atol=1e-5 * scale)
    if backend != "python":
        # C and the float64 reference: both sum in double, so they differ by
        # the float32 rounding of X and the centers only (1e-6 relative;
        # measured: inertia <= 1e-8, centers equal)
        ref = mfs.KMeans(k, init=init, backend="python").fit(X, sample_weight=w)
        np.testing.assert_array_equal(ours.labels_, ref.labels_)
        assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)
        np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=0, atol=1e-6 * scale)


def test_integer_weights_are_repeated_rows_zero_weights_dropped_rows(backend):
    X, k, init = _data("blobs")
    wi = np.random.RandomState(3).randint(0, 4, len(X))  # 0..3: a quarter of the rows absent
    # tol=0: scikit-learn's tol is relative to the unweighted variance of X,
    # which repeating rows changes; strict convergence does not depend on it
    kw = dict(init=init, tol=0.0, backend=backend)
    a = mfs.KMeans(k, **kw).fit(X, sample_weight=wi)
    b = mfs.KMeans(k, **kw).fit(np.repeat(X, wi, axis=0))
    # the same labels of the present rows at every iteration; the centers
    # differ in the order of the double sums only, then round to float32:
    # 1e-6 of max |X| (~1 float32 ulp at |X| ~ 50; measured: equal bits)
    scale = np.abs(X).max()
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=0, atol=1e-6 * scale)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-9)  # double sums of equal terms (measured <= 3e-16)
    np.testing.assert_array_equal(np.repeat(a.labels_, wi), b.labels_)
    present = wi > 0
    c = mfs.KMeans(k, **kw).fit(X, sample_weight=present.astype(np.float64))
    e = mfs.KMeans(k, **kw).fit(X[present])
    np.testing.assert_allclose(c.cluster_centers_, e.cluster_centers_, rtol=0, atol=1e-6 * scale)
    assert c.inertia_ == pytest.approx(e.inertia_, rel=1e-9)
    np.testing.assert_array_equal(c.labels_[present], e.labels_)
    # absent rows are labelled by the fitted centers, as predict does
    np.testing.assert_array_equal(c.labels_, c.predict(X))


@pytest.mark.parametrize("init", ["k-means++", "random", "array"])
def test_unit_weights_are_the_unweighted_bits(init, backend):
    X, k, init_array = _data("digits")
    kw = dict(init=init_array if init == "array" else init, random_state=4, backend=backend,
              n_init=1 if init == "array" else 2)
    a = mfs.KMeans(k, **kw).fit(X)
    b = mfs.KMeans(k, **kw).fit(X, sample_weight=np.ones(len(X)))
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_ and a.n_iter_ == b.n_iter_


def test_weighted_seeding_close_to_sklearn():
    # well separated blobs, of which every 10th row is moved far away with
    # weight 0: an unweighted seeding would spend centers on those rows
    X, k, _ = _data("blobs")
    X = X.copy()
    w = _weights(len(X), seed=1)
    w[::10] = 0.0
    X[::10] = 1e4

    def inertias(make, seeds):
        return np.array([make(s).fit(X, sample_weight=w).inertia_ for s in seeds])

    # k-means++: different random streams, the same weighted algorithm; as the
    # unweighted test above, the median final inertia over 12 seeds within 1%
    # (measured: equal to 1e-7, all at the same optimum)
    sk = inertias(lambda s: skc.KMeans(k, n_init=1, random_state=s), range(12))
    for backend in ("c", "python"):
        ours = inertias(lambda s: mfs.KMeans(k, random_state=s, backend=backend), range(12))
        assert np.median(ours) <= 1.01 * np.median(sk), (backend, np.median(ours), np.median(sk))
    # the seedings themselves, seen after one Lloyd step: the mean over 32
    # seeds within 15%, as the unweighted test (measured 0.88..1.003; over 16
    # seeds random init's mean swings by 12%)
    for init in ("k-means++", "random"):
        sk1 = inertias(lambda s: skc.KMeans(k, init=init, n_init=1, max_iter=1, random_state=s), range(32)).mean()
        for backend in ("c", "python"):
            ours1 = inertias(lambda s: mfs.KMeans(k, init=init, max_iter=1, random_state=s, backend=backend),
                             range(32)).mean()
            assert ours1 <= 1.15 * sk1, (init, backend, ours1, sk1)
            # no center among the absent far rows
            est = mfs.KMeans(k, init=init, n_init=5, random_state=0, backend=backend).fit(X, sample_weight=w)
            assert np.abs(est.cluster_centers_).max() < 1e3, (backend, init)


@pytest.mark.parametrize("init", ["random", "k-means++"])
def test_weighted_seeding_draws_in_proportion_to_the_weights(init, backend):
    # 3 rows, k = 3: every row is a center, in the order drawn (each cluster
    # is one row, whose weighted mean is the row itself), so cluster_centers_
    # shows the draws. Random init draws without replacement in proportion to
    # w: P(order a, b, c) = w_a / W * w_b / (W - w_a); k-means++ draws its
    # first center in proportion to w. Over 1000 seeds each frequency within
    # 5 binomial standard deviations + 0.005 (measured <= 1.7 sigma); the
    # unweighted draws (1/6, 1/3) are 7 or more sigma away.
    X = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 30.0]], np.float32)
    w = np.array([1.0, 2.0, 7.0])
    N = 1000
    orders = []
    for s in range(N):
        C = mfs.KMeans(3, init=init, random_state=s, backend=backend).fit(X, sample_weight=w).cluster_centers_
        orders.append(tuple(int(np.flatnonzero((X == c).all(axis=1))[0]) for c in C))

    def check(freq, p, what):
        assert abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / N) + 0.005, (what, freq, p)

    W = w.sum()
    for a in range(3):
        check(np.mean([o[0] == a for o in orders]), w[a] / W, f"first {a}")
    if init == "random":
        for a in range(3):
            for b in range(3):
                if a != b:
                    check(np.mean([o[:2] == (a, b) for o in orders]), w[a] / W * w[b] / (W - w[a]),
                          f"order {a}, {b}")


def test_sample_weight_score_fit_predict_fit_transform(backend):
    X, k, init = _data("wine")
    w = _weights(len(X), seed=2)
    est = mfs.KMeans(k, init=init, backend=backend).fit(X, sample_weight=w)
    # score is -(weighted inertia): both sum w d^2 in double (1e-6)
    assert est.score(X, sample_weight=w) == pytest.approx(-est.inertia_, rel=1e-6)
    unweighted = est.score(X)
    assert est.score(X, sample_weight=np.ones(len(X))) == pytest.approx(unweighted, rel=1e-12)
    assert est.score(X, sample_weight=2.0 * np.ones(len(X))) == pytest.approx(2.0 * unweighted, rel=1e-12)
    # scikit-learn's score with the same centers (float32 sums there: 1e-4)
    sk = skc.KMeans(k, init=init, n_init=1).fit(X, sample_weight=w)
    assert est.score(X, sample_weight=w) == pytest.approx(sk.score(X, sample_weight=w), rel=1e-4)
    with pytest.raises(ValueError):
        est.score(X, sample_weight=-w)
    # fit_predict / fit_transform pass the weights on: the weighted fit's results
    labels = mfs.KMeans(k, init=init, backend=backend).fit_predict(X, sample_weight=w)
    np.testing.assert_array_equal(labels, est.labels_)
    D = mfs.KMeans(k, init=init, backend=backend).fit_transform(X, sample_weight=w)
    np.testing.assert_array_equal(D, est.transform(X))
    assert not np.array_equal(labels, mfs.KMeans(k, init=init, backend=backend).fit_predict(X)) or \
        not np.allclose(est.cluster_centers_, mfs.KMeans(k, init=init, backend=backend).fit(X).cluster_centers_)


@pytest.mark.parametrize("bad, msg", [
    (lambda n: -np.ones(n), "(?i)negative|>= 0"),
    (lambda n: np.zeros(n), "non-zero|sum to zero"),
    (lambda n: np.ones(n - 1), r"sample_weight\.shape|shape"),
    (lambda n: np.ones((n, 2)), "1D|1-D|shape|sample_weight"),
    (lambda n: np.r_[np.nan, np.ones(n - 1)], "NaN|finite"),
    (lambda n: np.r_[np.inf, np.ones(n - 1)], "infinity|finite"),
    (lambda n: np.r_[1e300, np.ones(n - 1)], "finite in float32"),
])
def test_bad_sample_weight(bad, msg, backend):
    X, k, _ = _data("iris")
    with pytest.raises(ValueError, match=msg):
        mfs.KMeans(k, backend=backend).fit(X, sample_weight=bad(len(X)))


def test_random_init_needs_n_clusters_present_rows(backend):
    X, k, _ = _data("iris")
    w = np.zeros(len(X))
    w[[3, 70]] = 1.0
    with pytest.raises(ValueError, match="only 2 rows have sample_weight > 0, fewer than n_clusters=3"):
        mfs.KMeans(k, init="random", backend=backend).fit(X, sample_weight=w)
    # k-means++ fits (as scikit-learn): clusters without present rows are allowed
    from sklearn.exceptions import ConvergenceWarning
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        mfs.KMeans(k, backend=backend).fit(X, sample_weight=w)


def test_c_sample_weight_messages_reach_python():
    X, k, _ = _data("iris")
    from mfs import _native
    m = _native.NativeModel.create("kmeans", {"n_clusters": 3})
    m.set_array("sample_weight", np.r_[np.float32(-1.0), np.ones(len(X) - 1, np.float32)])
    with pytest.raises(ValueError, match=r"sample_weight\[0\] = -1, weights must be finite and >= 0"):
        m.fit(X)
    m.set_array("sample_weight", np.zeros(len(X), np.float32))
    with pytest.raises(ValueError, match="sample_weight sums to 0"):
        m.fit(X)
    m.set_array("sample_weight", np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"has 4 values, expected 150 \(the rows of X\)"):
        m.fit(X)


@pytest.mark.cuda
def test_cuda_sample_weight_is_a_type_error():
    X, k, init = _data("iris")
    with pytest.raises(TypeError, match="sample_weight is not supported on backend='cuda' yet"):
        mfs.KMeans(k, init=init, backend="cuda").fit(X, sample_weight=np.ones(len(X)))
    # the C library's own status, past the Python check
    from mfs import _native
    m = _native.NativeModel.create("kmeans", {"n_clusters": 3}, "cuda")
    m.set_array("sample_weight", np.ones(len(X), np.float32))
    with pytest.raises(TypeError, match="not supported on backend='cuda' yet; fit on the CPU"):  # MFS_E_UNSUPPORTED
        m.fit(X)
    # without weights the CUDA fit still runs
    mfs.KMeans(k, init=init, backend="cuda").fit(X)


# ---- data far from unit scale ----------------------------------------------------
# Squared distances in float32 overflow beyond |x| ~ 1e19 and underflow below
# ~ 1e-19; the C fit, predict and transform run such data rescaled by a power
# of two (exact), so the answers are those of the same data at unit scale.

@pytest.mark.parametrize("exp2", [-100, -70, 40, 70, 100])
def test_power_of_two_scaled_data_gives_the_scaled_answers(exp2):
    X, k, init = _data("wine")
    f = np.float32(2.0 ** exp2)
    base = mfs.KMeans(k, init=init, backend="c").fit(X)
    big = mfs.KMeans(k, init=init * f, backend="c").fit(X * f)
    # a power of two scales every float exactly and k-means is scale-equivariant:
    # the same labels and iterations, centers and inertia scaled exactly
    np.testing.assert_array_equal(big.labels_, base.labels_)
    assert big.n_iter_ == base.n_iter_
    np.testing.assert_array_equal(big.cluster_centers_, base.cluster_centers_ * f)
    assert big.inertia_ == base.inertia_ * float(f) ** 2
    np.testing.assert_array_equal(big.predict(X * f), base.predict(X))
    np.testing.assert_array_equal(big.transform(X * f), base.transform(X) * f)
    assert big.score(X * f) == pytest.approx(base.score(X) * float(f) ** 2, rel=1e-12)
    # k-means++ seeding draws the same rows
    pp = mfs.KMeans(k, random_state=3, n_init=2, backend="c").fit(X)
    pp_big = mfs.KMeans(k, random_state=3, n_init=2, backend="c").fit(X * f)
    np.testing.assert_array_equal(pp_big.labels_, pp.labels_)


@pytest.mark.parametrize("scale", [1e-30, 1e-22, 1e20, 1e30])
def test_extreme_scales_match_sklearn_float64(scale, backend):
    """Not powers of two: the float32 rounding of X * scale differs from X's, so
    the check is against scikit-learn's float64 fit of the same rows (same
    init): the partition and relative inertia."""
    X, y = make_blobs(400, 5, centers=3, cluster_std=1.0, random_state=2)
    Xs = (X * scale).astype(np.float32)
    init = Xs[[0, 1, 2]].copy()
    ours = mfs.KMeans(3, init=init, backend=backend).fit(Xs)
    sk = skc.KMeans(3, init=init.astype(np.float64), n_init=1).fit(Xs.astype(np.float64))
    np.testing.assert_array_equal(ours.labels_, sk.labels_)
    # float32 centers against float64: 1e-5 relative
    np.testing.assert_allclose(ours.cluster_centers_, sk.cluster_centers_, rtol=1e-5, atol=1e-5 * scale)
    assert ours.inertia_ == pytest.approx(sk.inertia_, rel=1e-5)
    assert np.isfinite(ours.transform(Xs)).all()
    np.testing.assert_array_equal(ours.predict(Xs), sk.predict(Xs.astype(np.float64)))
