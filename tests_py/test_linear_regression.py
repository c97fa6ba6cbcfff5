"""LinearRegression / Ridge: C vs numpy reference vs scikit-learn on real and
synthetic data, multi-target, rank deficiency, bad input, persistence."""
import copy
import pickle

import numpy as np
import pytest
import sklearn.linear_model as sklm
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mfs

DATASETS = {
    "diabetes": lambda: load_diabetes(return_X_y=True),
    "wine": lambda: (load_wine().data, load_wine().data[:, 0]),      # regress alcohol on all (incl. itself)
    "breast_cancer": lambda: (load_breast_cancer().data[:, 1:], load_breast_cancer().data[:, 0]),
    "synthetic": lambda: make_regression(n_samples=2000, n_features=50, noise=1.0, random_state=0),
}


def _scaled_err(a, b):
    """max |a - b| relative to max |b|: the error measure for float32 solutions."""
    return np.max(np.abs(np.asarray(a, np.float64) - b)) / max(np.max(np.abs(b)), 1e-30)


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_matches_sklearn_and_reference(name, alpha, backend):
    X, y = DATASETS[name]()
    X32 = X.astype(np.float32)
    ours = (mfs.Ridge(alpha=alpha, backend=backend) if alpha else mfs.LinearRegression(backend=backend)).fit(X, y)
    # The peer sees the same float32 data, fitted in float64 for an exact answer.
    peer = (sklm.Ridge(alpha=alpha) if alpha else sklm.LinearRegression()).fit(X32.astype(np.float64), y)
    # Predictions: float32 data and float32 coefficients -> ~1e-6 relative per
    # term; 1e-4 of the spread of y allows for the summation over d terms.
    pred, want = ours.predict(X), peer.predict(X32.astype(np.float64))
    assert _scaled_err(pred, want) < 1e-4 * np.ptp(y) / np.max(np.abs(want)) + 1e-5
    # R^2 equal to 1e-5: it is what the user sees; the fits are the same optimum.
    assert abs(ours.score(X, y) - peer.score(X32, y)) < 1e-5
    # Coefficients: well-conditioned sets to 1e-3 relative; the float32 Gram of
    # diabetes/breast_cancer (cond ~1e3..1e7) makes coefficient error grow with
    # the condition number, so there we only require predictions to agree.
    if name in ("synthetic",):
        assert _scaled_err(ours.coef_, peer.coef_) < 1e-3


def test_c_equals_reference_on_seeded_data(rng):
    X = rng.normal(size=(500, 20)).astype(np.float32) * 3 + 1
    y = (X @ rng.normal(size=20) + rng.normal(size=500)).astype(np.float32)
    c = mfs.LinearRegression().fit(X, y)
    p = mfs.LinearRegression(backend="python").fit(X, y)
    # Well-conditioned (cond ~ 10): float32 Gram -> 1e-5 relative is float32 noise.
    np.testing.assert_allclose(c.coef_, p.coef_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(c.intercept_, p.intercept_, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(c.predict(X), p.predict(X), rtol=1e-4, atol=1e-4)


def test_multi_target_shapes(rng):
    X = rng.normal(size=(100, 4))
    Y = rng.normal(size=(100, 3))
    m = mfs.LinearRegression().fit(X, Y)
    assert m.coef_.shape == (3, 4) and m.intercept_.shape == (3,)
    assert m.predict(X).shape == (100, 3)
    m1 = mfs.LinearRegression().fit(X, Y[:, :1])
    assert m1.coef_.shape == (1, 4) and m1.predict(X).shape == (100, 1)
    m0 = mfs.LinearRegression().fit(X, Y[:, 0])
    assert m0.coef_.shape == (4,) and np.ndim(m0.intercept_) == 0 and m0.predict(X).shape == (100,)
    peer = sklm.LinearRegression().fit(X, Y)
    np.testing.assert_allclose(m.coef_, peer.coef_, rtol=1e-3, atol=1e-5)  # float32 vs float64


def test_rank_deficient_matches_lstsq_minimum_norm(rng):
    X = rng.normal(size=(200, 3))
    X = np.hstack([X, X[:, :1]])  # column 3 == column 0
    y = X @ np.array([1.0, 2.0, 3.0, 1.0]) + 0.5
    for backend in ("c", "python"):
        m = mfs.LinearRegression(backend=backend).fit(X, y)
        assert m.rank_ == 3
        peer = sklm.LinearRegression().fit(X, y)  # scipy lstsq: minimum norm
        np.testing.assert_allclose(m.coef_, peer.coef_, atol=2e-3)  # float32 data
        np.testing.assert_allclose(m.predict(X), peer.predict(X), atol=2e-3)


def test_ill_conditioned_falls_back_to_qr(rng):
    # Polynomial features: cond(X^T X) ~ 1e10, beyond what the float32 Gram carries.
    t = np.linspace(0, 1, 400)
    X = np.stack([t ** k for k in range(1, 7)], axis=1)
    y = np.sin(3 * t)
    ours = mfs.LinearRegression().fit(X, y)
    peer = sklm.LinearRegression().fit(X.astype(np.float32).astype(np.float64), y)
    # Fit quality is what float32 data allows: residuals as small as the peer's to 1e-3.
    r_ours = np.abs(ours.predict(X) - y).max()
    r_peer = np.abs(peer.predict(X) - y).max()
    assert r_ours < r_peer + 1e-3


def test_no_intercept(rng):
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, -1.0, 2.0]) + 5.0
    m = mfs.LinearRegression(fit_intercept=False).fit(X, y)
    assert m.intercept_ == 0.0
    peer = sklm.LinearRegression(fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(m.coef_, peer.coef_, rtol=1e-4, atol=1e-4)


# ---- the sklearn ecosystem ------------------------------------------------------

def test_pipeline_gridsearch_cross_val():
    X, y = load_diabetes(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), mfs.Ridge())
    gs = GridSearchCV(pipe, {"ridge__alpha": [0.1, 1.0, 10.0]}, cv=3).fit(X, y)
    assert gs.best_params_["ridge__alpha"] in (0.1, 1.0, 10.0)
    scores = cross_val_score(mfs.LinearRegression(), X, y, cv=3)
    peer = cross_val_score(sklm.LinearRegression(), X, y, cv=3)
    np.testing.assert_allclose(scores, peer, atol=1e-4)  # R^2 of float32 vs float64 fits


def test_pickle_deepcopy_clone_save_load(tmp_path, rng):
    X = rng.normal(size=(60, 5))
    y = rng.normal(size=60)
    m = mfs.Ridge(alpha=0.3).fit(X, y)
    for other in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        np.testing.assert_array_equal(other.predict(X), m.predict(X))
        assert other.alpha == 0.3
    c = clone(m)
    assert c.get_params() == m.get_params() and not hasattr(c, "coef_")
    path = tmp_path / "ridge.mfs"
    m.save(path)
    loaded = mfs.load(path)
    assert isinstance(loaded, mfs.Ridge) and loaded.alpha == 0.3
    np.testing.assert_array_equal(loaded.predict(X), m.predict(X))
    lr = mfs.LinearRegression().fit(X, y)
    lr.save(tmp_path / "lr.mfs")
    assert type(mfs.load(tmp_path / "lr.mfs")) is mfs.LinearRegression
    pr = mfs.LinearRegression(backend="python").fit(X, y)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(pr)).predict(X), pr.predict(X))


def test_joblib_workers(rng):
    joblib = pytest.importorskip("joblib")
    X = rng.normal(size=(80, 3))
    y = X.sum(axis=1)
    m = mfs.LinearRegression().fit(X, y)
    out = joblib.Parallel(n_jobs=2, backend="loky")(joblib.delayed(m.predict)(X[i::2]) for i in range(2))
    np.testing.assert_allclose(out[0], m.predict(X[0::2]))


def test_pandas_input():
    pd = pytest.importorskip("pandas")
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    m = mfs.LinearRegression().fit(X, y)
    assert list(m.feature_names_in_) == list(X.columns)
    assert m.predict(X).shape == (len(X),)


# ---- bad input ------------------------------------------------------------------

@pytest.mark.parametrize("bad, exc", [
    (np.array([[1.0, np.nan], [2.0, 3.0]]), ValueError),
    (np.array([[1.0, np.inf], [2.0, 3.0]]), ValueError),
    (np.array([1.0, 2.0]), ValueError),                       # 1-D X
    ([["a", "b"], ["c", "d"]], ValueError),                   # strings
    (np.empty((0, 2)), ValueError),                           # no samples
])
def test_bad_X(bad, exc, backend):
    with pytest.raises(exc):
        mfs.LinearRegression(backend=backend).fit(bad, np.zeros(len(bad)))


def test_bad_y_and_shapes():
    X = np.ones((4, 2)) + np.arange(8).reshape(4, 2)
    with pytest.raises(ValueError):
        mfs.LinearRegression().fit(X, [1.0, 2.0, 3.0])         # mismatched lengths
    with pytest.raises(ValueError):
        mfs.LinearRegression().fit(X, [1.0, np.nan, 3.0, 4.0])
    m = mfs.LinearRegression().fit(X, [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="3 features|fitted on 2|expecting 2"):
        m.predict(np.ones((2, 3)))
    with pytest.raises(NotFittedError):
        mfs.LinearRegression().predict(X)
    with pytest.raises(ValueError, match="too large|float32|infinity|inf"):
        mfs.LinearRegression().fit(np.full((3, 2), 1e300), [1.0, 2.0, 3.0])  # overflows float32


def test_one_sample_fits_like_sklearn():
    # One sample is a valid (degenerate) least-squares problem: coef 0, intercept y.
    m = mfs.LinearRegression().fit([[1.0, 2.0]], [3.0])
    np.testing.assert_allclose(m.coef_, [0.0, 0.0], atol=1e-6)
    assert abs(m.intercept_ - 3.0) < 1e-6


@pytest.mark.parametrize("kw", [{"alpha": -1.0}, {"alpha": np.nan}, {"alpha": "x"}, {"solver": "lsqr"}])
def test_bad_params(kw):
    with pytest.raises((ValueError, TypeError)):
        mfs.Ridge(**kw).fit(np.eye(3), [1.0, 2.0, 3.0])


def test_bad_backend():
    with pytest.raises(ValueError, match="backend"):
        mfs.LinearRegression(backend="tpu").fit(np.eye(3), [1.0, 2.0, 3.0])


@pytest.mark.skipif(mfs.cuda_device_count() > 0, reason="a GPU is present")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(mfs.DeviceError):
        mfs.LinearRegression(backend="cuda").fit(np.eye(3), [1.0, 2.0, 3.0])


@pytest.mark.cuda
def test_cuda_matches_c(rng):
    X = rng.normal(size=(5000, 40)).astype(np.float32)
    y = X @ rng.normal(size=40) + 1
    c = mfs.LinearRegression().fit(X, y)
    g = mfs.LinearRegression(backend="cuda").fit(X, y)
    # Different summation orders of float32 Gram entries: 1e-4 relative.
    np.testing.assert_allclose(g.coef_, c.coef_, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("alpha", [0.0, 2.0])
def test_sample_weight_matches_sklearn(alpha, backend, rng):
    X = rng.normal(size=(300, 5)) + 3
    y = X @ rng.normal(size=5) + rng.normal(size=300) + 1
    w = rng.uniform(0, 3, size=300)
    w[:20] = 0
    ours = (mfs.Ridge(alpha=alpha, backend=backend) if alpha else mfs.LinearRegression(backend=backend))
    ours.fit(X, y, sample_weight=w)
    peer = (sklm.Ridge(alpha=alpha) if alpha else sklm.LinearRegression()).fit(X, y, sample_weight=w)
    # float32 data, well conditioned after centering: 1e-4 relative.
    np.testing.assert_allclose(ours.coef_, peer.coef_, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, peer.intercept_, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(ours.predict(X), peer.predict(X), rtol=1e-4, atol=1e-3)
    # the C model (and its saved file) carries the weighted intercept
    if backend == "c":
        np.testing.assert_allclose(mfs.from_bytes(ours._model_bytes()).predict(X), ours.predict(X))
    with pytest.raises(ValueError):
        ours.fit(X, y, sample_weight=-w)
