"""KNeighborsClassifier / KNeighborsRegressor: C vs numpy reference vs
scikit-learn on the bundled data sets, kneighbors, ties, persistence, bad input."""
import copy
import pickle

import numpy as np
import pytest
import sklearn.neighbors as skn
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split

import mfs

CLASSIFICATION = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer,
                  "digits": load_digits}


def _split(load):
    X, y = load(return_X_y=True)
    return train_test_split(X.astype(np.float32), y, test_size=0.25, random_state=0)


def _untied_rows(dist, k, rtol=1e-5):
    """Rows whose k + 1 nearest distances (from a k + 1 query) are all distinct
    beyond float32 noise: there the neighbors are unique."""
    gaps = np.diff(dist[:, :k + 1], axis=1)
    return np.all(gaps > rtol * (1 + dist[:, 1:k + 1]), axis=1)


@pytest.mark.parametrize("name", sorted(CLASSIFICATION))
@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("algorithm", ["brute", "kd_tree", "auto"])
def test_classifier_matches_sklearn(name, weights, algorithm, backend):
    Xtr, Xte, ytr, yte = _split(CLASSIFICATION[name])
    ours = mfs.KNeighborsClassifier(weights=weights, algorithm=algorithm, backend=backend).fit(Xtr, ytr)
    peer = skn.KNeighborsClassifier(weights=weights, algorithm="brute").fit(Xtr, ytr)
    # accuracy within 0.5 percentage points (ties in distance may pick
    # another, equally near, neighbor than scikit-learn)
    assert abs(ours.score(Xte, yte) - peer.score(Xte, yte)) <= 0.005
    # neighbors identical wherever they are unique
    k = ours.n_neighbors
    pd, pi = peer.kneighbors(Xte, n_neighbors=k + 1)
    od, oi = ours.kneighbors(Xte)
    rows = _untied_rows(pd, k)
    assert rows.mean() > 0.5
    np.testing.assert_array_equal(oi[rows], pi[rows, :k])
    # float32 distances, exact per pair vs scikit-learn's float64: 1e-5 relative
    np.testing.assert_allclose(od, pd[:, :k], rtol=1e-5, atol=1e-5)
    proba = ours.predict_proba(Xte)
    assert proba.shape == (len(Xte), len(np.unique(ytr)))
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    same = np.all(oi == peer.kneighbors(Xte, n_neighbors=k)[1], axis=1)
    np.testing.assert_allclose(proba[same], peer.predict_proba(Xte)[same], atol=1e-6)


@pytest.mark.parametrize("metric, p", [("minkowski", 2), ("minkowski", 1), ("manhattan", 2), ("cosine", 2),
                                       ("euclidean", 2)])
@pytest.mark.parametrize("algorithm", ["brute", "auto"])
def test_metrics_match_sklearn(metric, p, algorithm, backend, rng):
    X = rng.normal(size=(700, 6)).astype(np.float32)
    Q = rng.normal(size=(90, 6)).astype(np.float32)
    ours = mfs.KNeighborsClassifier(n_neighbors=8, metric=metric, p=p, algorithm=algorithm, backend=backend)
    ours.fit(X, rng.integers(0, 3, 700))
    peer = skn.NearestNeighbors(n_neighbors=9, metric=metric, p=p, algorithm="brute").fit(X)
    # continuous data; scikit-learn's cosine is computed in float32, so rows
    # with near-ties (gaps below 1e-5) may legitimately differ
    for query in (Q, None):  # None: the training data, each point not its own neighbor
        od, oi = ours.kneighbors(query)
        pd, pi = peer.kneighbors(query)
        rows = _untied_rows(pd, 8)
        assert rows.mean() > 0.9
        np.testing.assert_array_equal(oi[rows], pi[rows, :8])
        np.testing.assert_allclose(od, pd[:, :8], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_regressor_matches_sklearn_on_diabetes(weights, backend):
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X.astype(np.float32), y, test_size=0.25, random_state=0)
    ours = mfs.KNeighborsRegressor(n_neighbors=7, weights=weights, backend=backend).fit(Xtr, ytr)
    peer = skn.KNeighborsRegressor(n_neighbors=7, weights=weights).fit(Xtr, ytr)
    # continuous features: unique neighbors, means of float32 targets: 1e-5
    np.testing.assert_allclose(ours.predict(Xte), peer.predict(Xte), rtol=1e-5)
    assert abs(ours.score(Xte, yte) - peer.score(Xte, yte)) < 1e-5
    Y2 = np.column_stack([ytr, -2 * ytr])
    two = mfs.KNeighborsRegressor(n_neighbors=7, weights=weights, backend=backend).fit(Xtr, Y2)
    pred = two.predict(Xte)
    assert pred.shape == (len(Xte), 2)
    np.testing.assert_allclose(pred[:, 1], -2 * pred[:, 0], rtol=1e-5)


def test_c_equals_reference(rng):
    X = rng.normal(size=(1500, 12)).astype(np.float32)
    Q = rng.normal(size=(200, 12)).astype(np.float32)
    y = rng.integers(0, 4, 1500)
    for metric in ("euclidean", "manhattan", "cosine"):
        for weights in ("uniform", "distance"):
            c = mfs.KNeighborsClassifier(n_neighbors=6, metric=metric, weights=weights).fit(X, y)
            r = mfs.KNeighborsClassifier(n_neighbors=6, metric=metric, weights=weights, backend="python").fit(X, y)
            cd, ci = c.kneighbors(Q)
            rd, ri = r.kneighbors(Q)
            np.testing.assert_array_equal(ci, ri)
            np.testing.assert_array_equal(cd, rd)  # the same exact-per-pair formula, rounded once
            np.testing.assert_array_equal(c.predict(Q), r.predict(Q))
            np.testing.assert_allclose(c.predict_proba(Q), r.predict_proba(Q), atol=1e-6)


def test_ties_go_to_the_lower_index(backend):
    # integer data: many exact ties; every algorithm orders them by index
    rng = np.random.default_rng(1)
    X = rng.integers(0, 3, size=(2000, 4)).astype(np.float32)
    Q = rng.integers(0, 3, size=(100, 4)).astype(np.float32)
    D = np.abs(Q[:, None, :] - X[None, :, :]).astype(np.float64)
    want = np.argsort(np.sqrt((D ** 2).sum(axis=2)), axis=1, kind="stable")[:, :15]
    for algorithm in ("brute", "kd_tree"):
        est = mfs.KNeighborsClassifier(n_neighbors=15, algorithm=algorithm, backend=backend).fit(X, np.zeros(2000))
        np.testing.assert_array_equal(est.kneighbors(Q, return_distance=False), want)
    # duplicates of one point: the lowest indices, and the sample itself dropped
    est = mfs.KNeighborsClassifier(n_neighbors=2, backend=backend).fit(np.zeros((6, 2)), [0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(est.kneighbors(return_distance=False)[:3], [[1, 2], [0, 2], [0, 1]])
    np.testing.assert_array_equal(est.predict([[0.0, 0.0]]), [0])  # vote 1:1 -> the lower class


def test_string_labels_and_proba_columns(backend):
    Xtr, Xte, ytr, yte = _split(load_iris)
    names = np.array(["setosa", "versicolor", "virginica"])
    ours = mfs.KNeighborsClassifier(backend=backend).fit(Xtr, names[ytr])
    assert list(ours.classes_) == list(names)
    peer = skn.KNeighborsClassifier().fit(Xtr, names[ytr])
    assert np.mean(ours.predict(Xte) == peer.predict(Xte)) > 0.97
    assert ours.predict(Xte).dtype == names.dtype


def test_distance_weights_with_zero_distance(backend):
    X = np.array([[0.0], [0.0], [0.0], [1.0], [5.0]])
    est = mfs.KNeighborsClassifier(n_neighbors=4, weights="distance", backend=backend).fit(X, [2, 1, 1, 0, 0])
    np.testing.assert_allclose(est.predict_proba([[0.0]]), [[0, 2 / 3, 1 / 3]], atol=1e-7)
    reg = mfs.KNeighborsRegressor(n_neighbors=4, weights="distance", backend=backend).fit(X, [2.0, 1.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(reg.predict([[0.0]]), [4 / 3], rtol=1e-6)


def test_pickle_deepcopy_clone_save_load(tmp_path, rng):
    X = rng.normal(size=(300, 3))
    y = np.where(X[:, 0] > 0, "pos", "neg")
    clf = mfs.KNeighborsClassifier(n_neighbors=4, weights="distance", metric="manhattan").fit(X, y)
    for other in (pickle.loads(pickle.dumps(clf)), copy.deepcopy(clf)):
        np.testing.assert_array_equal(other.predict(X), clf.predict(X))
        np.testing.assert_array_equal(other.kneighbors(X[:5])[1], clf.kneighbors(X[:5])[1])
    c = clone(clf)
    assert c.get_params() == clf.get_params() and not hasattr(c, "classes_")
    clf.save(tmp_path / "knn.mfs")
    loaded = mfs.load(tmp_path / "knn.mfs")
    assert isinstance(loaded, mfs.KNeighborsClassifier)
    assert loaded.n_neighbors == 4 and loaded.weights == "distance" and loaded.effective_metric_ == "manhattan"
    # the file carries the labels (meta.classes)
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    reg = mfs.KNeighborsRegressor(n_neighbors=3).fit(X, X[:, 1])
    reg.save(tmp_path / "reg.mfs")
    back = mfs.load(tmp_path / "reg.mfs")
    assert type(back) is mfs.KNeighborsRegressor
    np.testing.assert_array_equal(back.predict(X), reg.predict(X))
    # a file written by the numpy backend (no k-d tree inside) loads in C
    pr = mfs.KNeighborsRegressor(n_neighbors=3, backend="python").fit(X, X[:, 1])
    pr.save(tmp_path / "py.mfs")
    np.testing.assert_allclose(mfs.load(tmp_path / "py.mfs").predict(X), pr.predict(X), rtol=1e-6)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(pr)).predict(X), pr.predict(X))


def test_model_copies_its_training_data(rng):
    X = rng.normal(size=(50, 2)).astype(np.float32)
    Q = rng.normal(size=(10, 2)).astype(np.float32)
    est = mfs.KNeighborsRegressor(n_neighbors=2).fit(X, X[:, 0])
    before = est.kneighbors(Q)
    X[:] = 1e6  # the caller's array changes; the model holds its own copy
    after = est.kneighbors(Q)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])


# ---- bad input ------------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.array([[1.0, np.nan], [2.0, 3.0]]), np.array([[1.0, np.inf], [2.0, 3.0]]),
                                 np.array([1.0, 2.0]), np.empty((0, 2))])
def test_bad_X(bad, backend):
    with pytest.raises(ValueError):
        mfs.KNeighborsClassifier(n_neighbors=1, backend=backend).fit(bad, np.zeros(len(bad)))


def test_bad_neighbors_and_shapes(backend):
    X = np.arange(10.0).reshape(5, 2)
    est = mfs.KNeighborsClassifier(n_neighbors=6, backend=backend).fit(X, [0, 1, 0, 1, 0])
    with pytest.raises(ValueError, match="n_neighbors"):
        est.predict(X)                                   # 6 > 5 samples
    with pytest.raises(ValueError, match="n_neighbors"):
        est.kneighbors(X, n_neighbors=6)
    with pytest.raises(ValueError, match="n_neighbors"):
        est.kneighbors(n_neighbors=5)                    # X None: needs < 5
    for k in (0, -1):
        with pytest.raises(ValueError, match="n_neighbors"):
            mfs.KNeighborsClassifier(n_neighbors=k, backend=backend).fit(X, [0, 1, 0, 1, 0])
        with pytest.raises(ValueError, match="n_neighbors"):
            est.kneighbors(X, n_neighbors=k)
    with pytest.raises(TypeError):
        mfs.KNeighborsClassifier(n_neighbors=2.5).fit(X, [0, 1, 0, 1, 0])
    ok = mfs.KNeighborsClassifier(n_neighbors=2, backend=backend).fit(X, [0, 1, 0, 1, 0])
    with pytest.raises(ValueError, match="3 features|fitted on 2|expecting 2"):
        ok.predict(np.ones((2, 3)))
    with pytest.raises(ValueError):
        ok.predict(np.array([[np.nan, 1.0]]))
    with pytest.raises(NotFittedError):
        mfs.KNeighborsClassifier(backend=backend).predict(X)
    with pytest.raises(NotFittedError):
        mfs.KNeighborsRegressor(backend=backend).kneighbors(X)
    with pytest.raises(ValueError):
        mfs.KNeighborsRegressor(backend=backend).fit(X, [1.0, np.nan, 2.0, 3.0, 4.0])


@pytest.mark.parametrize("kw", [{"weights": "gaussian"}, {"weights": lambda d: d}, {"algorithm": "ball_tree"},
                                {"metric": "braycurtis"}, {"metric": "minkowski", "p": 3}, {"leaf_size": 0},
                                {"algorithm": "kd_tree", "metric": "cosine"}, {"metric_params": {"w": 1}}])
def test_bad_params(kw):
    with pytest.raises((ValueError, TypeError)):
        mfs.KNeighborsClassifier(**kw).fit(np.eye(3), [0, 1, 0])


@pytest.mark.skipif(mfs.cuda_device_count() > 0, reason="a GPU is present")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(mfs.DeviceError):
        mfs.KNeighborsClassifier(n_neighbors=1, backend="cuda").fit(np.eye(3), [0, 1, 0])


@pytest.mark.cuda
@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "cosine"])
def test_cuda_matches_c(metric, rng):
    X = rng.normal(size=(5000, 40)).astype(np.float32) + 3
    Q = rng.normal(size=(700, 40)).astype(np.float32) + 3
    y = rng.integers(0, 5, 5000)
    c = mfs.KNeighborsClassifier(n_neighbors=9, metric=metric, algorithm="brute").fit(X, y)
    g = mfs.KNeighborsClassifier(n_neighbors=9, metric=metric, algorithm="brute", backend="cuda").fit(X, y)
    cd, ci = c.kneighbors(Q)
    gd, gi = g.kneighbors(Q)
    # both recompute the chosen distances exactly on the host: equal neighbors
    # and bitwise equal distances (continuous data, no near-ties)
    np.testing.assert_array_equal(gi, ci)
    np.testing.assert_array_equal(gd, cd)
    np.testing.assert_array_equal(g.predict(Q), c.predict(Q))


def test_outputs_2d_flag_as_sklearn():
    X, y = load_iris(return_X_y=True)
    ours = mfs.KNeighborsClassifier().fit(X, y)
    peer = skn.KNeighborsClassifier().fit(X, y)
    assert ours.outputs_2d_ is False and ours.outputs_2d_ == peer.outputs_2d_


# ---- metric="chebyshev" (minkowski p = inf) ------------------------------------------

@pytest.mark.parametrize("algorithm", ["brute", "kd_tree", "auto"])
@pytest.mark.parametrize("spelling", [{"metric": "chebyshev"}, {"metric": "infinity"},
                                      {"metric": "minkowski", "p": np.inf}])
def test_chebyshev_matches_sklearn(algorithm, spelling, backend, rng):
    """max |x - y|: on continuous data (no ties) the same neighbors and
    distances as scikit-learn; C, kd-tree and the reference agree exactly."""
    X = rng.normal(size=(300, 5)).astype(np.float32)
    Q = rng.normal(size=(40, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    ours = mfs.KNeighborsClassifier(7, algorithm=algorithm, backend=backend, **spelling).fit(X, y)
    peer = skn.KNeighborsClassifier(7, metric="chebyshev", algorithm="brute").fit(X, y)
    d, i = ours.kneighbors(Q)
    dp, ip = peer.kneighbors(Q)
    np.testing.assert_array_equal(i, ip)
    np.testing.assert_allclose(d, dp, rtol=1e-6)  # float32 data: the max difference is exact, then rounded
    assert ours.effective_metric_ == "chebyshev"
    ref = mfs.KNeighborsClassifier(7, metric="chebyshev", backend="python").fit(X, y)
    np.testing.assert_array_equal(ref.kneighbors(Q)[1], i)
    np.testing.assert_array_equal(ours.predict(Q), peer.predict(Q))


def test_chebyshev_ties_by_index_on_every_path():
    X, y = load_iris(return_X_y=True)  # one decimal: many equal max-differences
    res = [mfs.KNeighborsClassifier(9, metric="chebyshev", algorithm=a, backend=b).fit(X, y).kneighbors(X[::7])
           for a in ("brute", "kd_tree") for b in ("c", "python")]
    for d, i in res[1:]:
        np.testing.assert_array_equal(i, res[0][1])
        np.testing.assert_array_equal(d, res[0][0])
    peer = skn.KNeighborsClassifier(9, metric="chebyshev", algorithm="brute").fit(X, y)
    # the same distances up to iris's float32 rounding (values < 8: 1e-6 absolute)
    np.testing.assert_allclose(res[0][0], peer.kneighbors(X[::7])[0], rtol=0, atol=2e-6)


def test_chebyshev_regressor_and_bad_p():
    X, y = load_diabetes(return_X_y=True)
    ours = mfs.KNeighborsRegressor(5, metric="chebyshev", weights="distance").fit(X, y)
    peer = skn.KNeighborsRegressor(5, metric="chebyshev", weights="distance").fit(X, y)
    np.testing.assert_allclose(ours.predict(X[:50]), peer.predict(X[:50]), rtol=1e-5)
    with pytest.raises(ValueError, match="p=inf"):
        mfs.KNeighborsClassifier(p=3).fit(X[:20], (y[:20] > 100).astype(int))
