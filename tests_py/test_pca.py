"""PCA: C vs numpy reference vs scikit-learn on the bundled data sets and
seeded synthetic data, every solver; transform / inverse_transform, whitening,
the variance fraction, randomized vs full, persistence and bad input."""
import copy
import pickle

import numpy as np
import pytest
import sklearn.decomposition as skd
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mfs


def _synthetic(n=3000, d=30, seed=0):
    """Distinct variances 4 * 0.7^j along a random rotation, mean 10: well
    separated axes (a gap of 51% between neighbours) and a centering test."""
    rng = np.random.default_rng(seed)
    R, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (rng.normal(size=(n, d)) * (2.0 * 0.7 ** np.arange(d))) @ R.T + 10.0


DATASETS = {
    "iris": lambda: load_iris().data,
    "wine": lambda: load_wine().data,
    "digits": lambda: load_digits().data,
    "breast_cancer": lambda: load_breast_cancer().data,
    "diabetes": lambda: load_diabetes().data,
    "synthetic": _synthetic,
    "wide": lambda: _synthetic(40, 120, seed=1),
}
SOLVERS = ["auto", "full", "covariance_eigh"]


def _defined(ev, n_samples, gap=1e-3):
    """Indices of components whose axis is determined well enough to compare:
    non-negligible variance (> 1e-6 of the largest: float32 data cannot place
    smaller axes) and a relative gap to both neighbours above `gap`."""
    ev = np.asarray(ev, np.float64)
    keep = []
    for i in range(min(len(ev), n_samples - 1)):
        if ev[i] <= 1e-6 * ev[0]:
            break
        lo = ev[i + 1] if i + 1 < len(ev) else 0.0
        hi = ev[i - 1] if i > 0 else np.inf
        if (ev[i] - lo) > gap * ev[i] and (hi - ev[i]) > gap * ev[i]:
            keep.append(i)
    return np.array(keep, dtype=int)


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("solver", SOLVERS)
def test_matches_sklearn_and_reference(name, solver, backend):
    X = DATASETS[name]()
    X32 = X.astype(np.float32)
    n = X.shape[0]
    ours = mfs.PCA(svd_solver=solver, backend=backend).fit(X)
    # The peer: scikit-learn's exact full SVD in float64 of the same float32 data.
    peer = skd.PCA(svd_solver="full").fit(X32.astype(np.float64))
    ref = mfs.PCA(backend="python").fit(X)
    assert ours.n_components_ == peer.n_components_ == min(X.shape)
    assert ours.n_samples_ == n and ours.n_features_in_ == X.shape[1]
    ev0 = peer.explained_variance_[0]
    # Variances: float32 data and outputs carry ~1e-7 relative; every route
    # (exact double Gram + eigh, Jacobi SVD) agrees to 1e-5 of the largest.
    # (The wide set with covariance_eigh has d variances, of which n..d are 0.)
    k = min(X.shape)
    np.testing.assert_allclose(ours.explained_variance_, peer.explained_variance_[:k], rtol=0, atol=1e-5 * ev0)
    np.testing.assert_allclose(ref.explained_variance_, peer.explained_variance_, rtol=0, atol=1e-6 * ev0)
    np.testing.assert_allclose(ours.explained_variance_ratio_, peer.explained_variance_ratio_, atol=1e-5)
    np.testing.assert_allclose(ours.singular_values_ ** 2, peer.singular_values_ ** 2, rtol=0,
                               atol=1e-5 * peer.singular_values_[0] ** 2)
    # The mean: float32 output of a double sum, relative 1e-6.
    np.testing.assert_allclose(ours.mean_, peer.mean_, rtol=1e-6, atol=1e-6 * np.abs(peer.mean_).max())
    # Components, with scikit-learn's signs (svd_flip, u_based_decision=False),
    # where the axis is determined: error ~ eps * ev0 / gap, so compare the
    # axes whose gap is > 1e-2 of their variance at 1e-5 * ev0 / gap.
    idx = _defined(peer.explained_variance_, n, gap=1e-2)
    assert len(idx) > 0
    for i in idx:
        e = peer.explained_variance_
        gap = min(e[i] - (e[i + 1] if i + 1 < len(e) else 0), (e[i - 1] - e[i]) if i > 0 else np.inf)
        tol = 1e-5 * ev0 / gap + 1e-5
        np.testing.assert_allclose(ours.components_[i], peer.components_[i], rtol=0, atol=tol,
                                   err_msg=f"component {i}")
        np.testing.assert_allclose(ref.components_[i], peer.components_[i], rtol=0, atol=tol)
    # Projections of the first 50 rows: float32 (X - mean) C^T, compared on the
    # well-determined axes, relative to the spread of each column.
    Z, Zp = ours.transform(X[:50]), peer.transform(X32[:50].astype(np.float64))
    for i in idx[:10]:
        scale = np.sqrt(peer.explained_variance_[i])
        np.testing.assert_allclose(Z[:, i], Zp[:, i], rtol=0, atol=1e-3 * scale + 1e-4 * np.sqrt(ev0))


@pytest.mark.parametrize("name", ["iris", "wine", "digits", "synthetic"])
def test_sklearn_same_solver_same_signs(name):
    """Each of our solvers against scikit-learn's same solver on float32 input:
    same axes, same signs."""
    X = DATASETS[name]().astype(np.float32)
    for solver in ("full", "covariance_eigh"):
        ours = mfs.PCA(n_components=3, svd_solver=solver).fit(X)
        peer = skd.PCA(n_components=3, svd_solver=solver).fit(X)
        # scikit-learn's covariance_eigh on float32 forms X^T X - n mean mean^T
        # in float32: cancellation on digits/wine leaves ~1e-3 in the axes.
        np.testing.assert_allclose(ours.components_, peer.components_, atol=5e-3)
        np.testing.assert_allclose(ours.explained_variance_, peer.explained_variance_,
                                   rtol=1e-3)
        assert np.all(np.sign(ours.components_[np.arange(3), np.abs(ours.components_).argmax(1)]) > 0)


def test_noise_variance_and_partial_components(backend):
    X = _synthetic()
    for k in (1, 5, 29, 30):
        ours = mfs.PCA(n_components=k, svd_solver="full", backend=backend).fit(X)
        peer = skd.PCA(n_components=k, svd_solver="full").fit(X.astype(np.float32).astype(np.float64))
        assert ours.components_.shape == (k, 30)
        # noise: mean of the left-out variances (0 when all are kept), to 1e-5 of ev0
        assert abs(ours.noise_variance_ - peer.noise_variance_) < 1e-5 * peer.explained_variance_[0]
        if k == 30:
            assert ours.noise_variance_ == 0.0


@pytest.mark.parametrize("frac", [0.1, 0.5, 0.8, 0.95, 0.99, 0.999])
@pytest.mark.parametrize("solver", SOLVERS)
def test_variance_fraction(frac, solver, backend):
    X = _synthetic()
    ours = mfs.PCA(n_components=frac, svd_solver=solver, backend=backend).fit(X)
    peer = skd.PCA(n_components=frac, svd_solver="full").fit(X.astype(np.float32).astype(np.float64))
    # The same k, as scikit-learn's searchsorted(cumsum, frac, side="right") + 1
    # (the cumulative ratios here are > 1e-3 away from each frac).
    assert ours.n_components_ == peer.n_components_
    assert ours.explained_variance_ratio_.sum() > frac
    assert ours.explained_variance_ratio_[:-1].sum() <= frac + 1e-6


@pytest.mark.parametrize("solver", SOLVERS + ["randomized"])
def test_transform_inverse_transform_whiten(solver, backend):
    X = _synthetic(800, 12)
    k = 12 if solver != "randomized" else 6
    for whiten in (False, True):
        ours = mfs.PCA(n_components=k, whiten=whiten, svd_solver=solver, random_state=0,
                       backend=backend).fit(X)
        peer = skd.PCA(n_components=k, whiten=whiten, svd_solver="full").fit(X.astype(np.float32).astype(np.float64))
        Z = ours.transform(X)
        assert Z.dtype == X.dtype and Z.shape == (800, k)  # dtype preserved, as scikit-learn
        # equal projections to 1e-4 of the largest spread (float32 products over d = 12)
        spread = np.sqrt(peer.explained_variance_[:k]) if not whiten else np.ones(k)
        np.testing.assert_allclose(Z, peer.transform(X), rtol=0, atol=1e-4 * spread.max())
        np.testing.assert_allclose(ours.fit_transform(X), Z, rtol=0, atol=1e-5 * spread.max())
        if whiten:  # unit variance per column (ddof=1)
            np.testing.assert_allclose(Z.var(axis=0, ddof=1), 1.0, rtol=1e-4)
        Xb = ours.inverse_transform(Z)
        np.testing.assert_allclose(Xb, peer.inverse_transform(peer.transform(X)), rtol=0, atol=1e-4 * np.abs(X).max())
        if k == 12:  # all components: exact round trip up to float32
            np.testing.assert_allclose(Xb, X, rtol=0, atol=1e-5 * np.abs(X).max())


def test_whiten_set_after_fit_applies_at_each_call(backend):
    # scikit-learn reads whiten in transform / inverse_transform, not at fit: a
    # set_params(whiten=...) after the fit changes both (the C model keeps the
    # fitted flag; the estimator converts)
    X = _synthetic(600, 10)
    for fitted in (False, True):
        ours = mfs.PCA(n_components=6, whiten=fitted, backend=backend).fit(X)
        peer = skd.PCA(n_components=6, whiten=fitted, svd_solver="full").fit(X.astype(np.float32).astype(np.float64))
        spread = np.sqrt(peer.explained_variance_[0])
        for now in (not fitted, fitted):
            ours.set_params(whiten=now)
            peer.set_params(whiten=now)
            Z, Zp = ours.transform(X), peer.transform(X)
            # float32 projections over d = 10: 1e-4 of the largest spread (whitened: of 1),
            # as test_transform_inverse_transform_whiten
            np.testing.assert_allclose(Z, Zp, rtol=0, atol=1e-4 * (1.0 if now else spread))
            np.testing.assert_allclose(ours.inverse_transform(Zp), peer.inverse_transform(Zp), rtol=0,
                                       atol=1e-4 * np.abs(X).max())
        assert np.abs(ours.transform(X)).max() > 0  # the last call, back at the fitted flag


def test_c_equals_reference_on_seeded_data(rng):
    X = (rng.normal(size=(500, 20)) * np.linspace(3, 0.2, 20) + 1).astype(np.float32)
    for solver in ("full", "covariance_eigh"):
        c = mfs.PCA(n_components=8, svd_solver=solver, whiten=True).fit(X)
        p = mfs.PCA(n_components=8, whiten=True, backend="python").fit(X)
        # gaps >= ~7% here: axes to 1e-4, variances to 1e-5 relative (float32 outputs)
        np.testing.assert_allclose(c.components_, p.components_, atol=1e-4)
        np.testing.assert_allclose(c.explained_variance_, p.explained_variance_, rtol=1e-5)
        np.testing.assert_allclose(c.transform(X), p.transform(X), rtol=0, atol=1e-3)
        np.testing.assert_allclose(c.inverse_transform(c.transform(X)), p.inverse_transform(p.transform(X)),
                                   rtol=0, atol=1e-4 * np.abs(X).max())


def test_randomized_close_to_full_on_low_rank(rng):
    # rank 6 plus 1e-3 noise: the randomized range finder captures the 6 axes
    n, d, r = 4000, 60, 6
    X = rng.normal(size=(n, r)) * np.array([5, 4, 3, 2, 1.5, 1]) @ np.linalg.qr(rng.normal(size=(d, r)))[0].T
    X = X + 1e-3 * rng.normal(size=(n, d)) + 2.0
    full = mfs.PCA(n_components=r, svd_solver="full").fit(X)
    for seed in (0, 1):
        rnd = mfs.PCA(n_components=r, svd_solver="randomized", random_state=seed).fit(X)
        sk = skd.PCA(n_components=r, svd_solver="randomized", random_state=seed).fit(X.astype(np.float32))
        # float32 data and 7 power iterations: variances to 1e-5 relative, axes to 1e-4
        np.testing.assert_allclose(rnd.explained_variance_, full.explained_variance_, rtol=1e-5)
        np.testing.assert_allclose(rnd.components_, full.components_, atol=1e-4)
        np.testing.assert_allclose(rnd.components_, sk.components_, atol=1e-4)  # same signs as sklearn
        # noise variance from the total variance of Xc: the 1e-6 noise floor
        assert abs(rnd.noise_variance_ - sk.noise_variance_) < 1e-4 * rnd.explained_variance_[0]
    # the same seed gives the same bits; auto picks randomized for large data and small k
    a = mfs.PCA(5, svd_solver="randomized", random_state=3).fit(X).components_
    b = mfs.PCA(5, svd_solver="randomized", random_state=3).fit(X).components_
    np.testing.assert_array_equal(a, b)


def test_auto_solver_choice():
    """auto as scikit-learn >= 1.5: the results of the solver it picks."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(600, 700)).astype(np.float32)   # not n >> d, max > 500, k small -> randomized
    a = mfs.PCA(10, svd_solver="auto", random_state=0).fit(X)
    r = mfs.PCA(10, svd_solver="randomized", random_state=0).fit(X)
    np.testing.assert_array_equal(a.components_, r.components_)


def test_pickle_clone_deepcopy_and_load(tmp_path):
    X = load_wine().data
    est = mfs.PCA(n_components=4, whiten=True, svd_solver="full").fit(X)
    for other in (pickle.loads(pickle.dumps(est)), copy.deepcopy(est)):
        np.testing.assert_array_equal(other.transform(X), est.transform(X))
        np.testing.assert_array_equal(other.components_, est.components_)
    c = clone(est)
    assert c.get_params() == est.get_params() and not hasattr(c, "components_")
    path = tmp_path / "pca.mfs"
    est.save(path)
    loaded = mfs.load(path)
    assert isinstance(loaded, mfs.PCA)
    assert loaded.n_components == 4 and loaded.whiten is True and loaded.svd_solver == "full"
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))
    np.testing.assert_array_equal(loaded.inverse_transform(est.transform(X)), est.inverse_transform(est.transform(X)))
    assert loaded.n_components_ == 4 and loaded.n_features_in_ == 13 and loaded.n_samples_ == len(X)
    assert loaded.noise_variance_ == est.noise_variance_
    # a float n_components survives the file too
    est2 = mfs.PCA(n_components=0.9).fit(X)
    est2.save(path)
    assert mfs.load(path).n_components == pytest.approx(0.9)
    # the python reference pickles its numpy state
    p = mfs.PCA(3, backend="python").fit(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(p)).transform(X), p.transform(X))


def test_pipeline_and_feature_names():
    X = load_iris().data
    pipe = make_pipeline(StandardScaler(), mfs.PCA(n_components=2)).fit(X)
    assert pipe.transform(X).shape == (150, 2)
    assert list(pipe[-1].get_feature_names_out()) == ["pca0", "pca1"]


def test_corrupted_file_is_format_error(tmp_path):
    est = mfs.PCA(2).fit(load_iris().data)
    data = bytearray(est._model_bytes())
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(mfs.ModelFormatError):
        mfs.from_bytes(bytes(data))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input(bad, backend):
    X = load_iris().data.copy()
    X[3, 2] = bad
    with pytest.raises(ValueError):
        mfs.PCA(backend=backend).fit(X)
    est = mfs.PCA(backend=backend).fit(load_iris().data)
    with pytest.raises(ValueError):
        est.transform(X)


def test_bad_input(backend):
    X = load_iris().data
    with pytest.raises(ValueError):                       # 1-D X
        mfs.PCA(backend=backend).fit(X[:, 0])
    with pytest.raises(ValueError):                       # strings
        mfs.PCA(backend=backend).fit([["a", "b"], ["c", "d"]])
    with pytest.raises(ValueError, match="n_components is 5"):   # > min(n, d) = 4
        mfs.PCA(n_components=5, backend=backend).fit(X)
    with pytest.raises(ValueError, match="1 sample"):     # variance needs n >= 2
        mfs.PCA(backend=backend).fit(X[:1])
    est = mfs.PCA(n_components=2, backend=backend)
    with pytest.raises(NotFittedError):                   # before fit
        est.transform(X)
    est.fit(X)
    with pytest.raises(ValueError, match="4 features"):   # wrong n_features
        est.transform(X[:, :3])
    with pytest.raises(ValueError, match="2 components"):
        est.inverse_transform(X)


@pytest.mark.parametrize("kwargs, err, match", [
    ({"n_components": "auto"}, ValueError, "not supported"),
    ({"n_components": 0}, ValueError, ">= 1"),
    ({"n_components": 1.5}, ValueError, r"\(0, 1\)"),
    ({"n_components": True}, TypeError, "n_components"),
    ({"svd_solver": "arpack"}, ValueError, "arpack"),
    ({"svd_solver": "lapack"}, ValueError, "svd_solver"),
    ({"iterated_power": -1}, ValueError, "iterated_power"),
    ({"n_oversamples": -3}, ValueError, "n_oversamples"),
    ({"n_components": 0.5, "svd_solver": "randomized"}, ValueError, "randomized"),
    ({"backend": "gpu"}, ValueError, "backend"),
])
def test_bad_params(kwargs, err, match):
    with pytest.raises(err, match=match):
        mfs.PCA(**kwargs).fit(load_iris().data)


@pytest.mark.skipif(mfs.cuda_device_count() > 0, reason="a GPU is present")
def test_cuda_without_gpu_raises_device_error():
    with pytest.raises(mfs.DeviceError):
        mfs.PCA(backend="cuda").fit(load_iris().data)


@pytest.mark.cuda
@pytest.mark.parametrize("solver", ["full", "covariance_eigh"])
def test_cuda_matches_cpu(solver):
    X = _synthetic(20000, 40)
    g = mfs.PCA(8, svd_solver=solver, whiten=True, backend="cuda").fit(X)
    c = mfs.PCA(8, svd_solver=solver, whiten=True).fit(X)
    # the GPU Gram is float32 GEMM in chunks summed in double, as covariance_eigh on the CPU
    np.testing.assert_allclose(g.explained_variance_, c.explained_variance_, rtol=1e-4)
    np.testing.assert_allclose(g.components_, c.components_, atol=1e-3)
    np.testing.assert_allclose(g.transform(X), c.transform(X), rtol=0, atol=1e-3)
    np.testing.assert_allclose(g.inverse_transform(g.transform(X)), c.inverse_transform(c.transform(X)),
                               rtol=0, atol=1e-3 * np.abs(X).max())


# ---- n_components="mle" -------------------------------------------------------------

def _mle_sets():
    from sklearn.datasets import load_diabetes, load_digits, load_iris, load_wine, make_low_rank_matrix
    r = np.random.default_rng(0)
    return {"iris": load_iris().data, "wine": load_wine().data, "diabetes": load_diabetes().data,
            "digits": load_digits().data,  # constant columns: eigenvalues ~0, ranks there are -inf
            "low_rank": make_low_rank_matrix(500, 30, effective_rank=5, random_state=0)
            + 0.01 * r.normal(size=(500, 30)),
            "latent_4": r.normal(size=(400, 4)) @ r.normal(size=(4, 20)) + 0.1 * r.normal(size=(400, 20))}


@pytest.mark.parametrize("name", ["iris", "wine", "diabetes", "digits", "low_rank", "latent_4"])
def test_mle_chooses_sklearns_dimension(name, backend):
    """Minka's evidence over the same spectrum: the same argmax as
    scikit-learn's (measured 3, 12, 9, 61, 9, 4), then the model of that
    many components."""
    X = _mle_sets()[name]
    peer = skd.PCA(n_components="mle").fit(X)
    ours = mfs.PCA(n_components="mle", backend=backend).fit(X)
    assert ours.n_components_ == peer.n_components_
    assert ours.components_.shape == peer.components_.shape
    # against the same fit with that count given as an int: the same model
    fixed = mfs.PCA(n_components=int(peer.n_components_), backend=backend).fit(X)
    np.testing.assert_array_equal(ours.components_, fixed.components_)
    assert ours.noise_variance_ == fixed.noise_variance_
    np.testing.assert_allclose(ours.explained_variance_, peer.explained_variance_, rtol=1e-4)
    if name == "latent_4":  # a 4-dimensional signal in noise is found
        assert ours.n_components_ == 4


def test_mle_errors_and_refits():
    r = np.random.default_rng(1)
    with pytest.raises(ValueError, match="n_samples >= n_features"):
        mfs.PCA(n_components="mle").fit(r.normal(size=(5, 10)))
    with pytest.raises(ValueError, match="at least 2 features"):  # scikit-learn returns 0 components
        mfs.PCA(n_components="mle").fit(r.normal(size=(50, 1)))
    with pytest.raises(ValueError, match="not 'randomized'"):
        mfs.PCA(n_components="mle", svd_solver="randomized").fit(r.normal(size=(50, 5)))
    with pytest.raises(ValueError, match="is not supported"):
        mfs.PCA(n_components="auto").fit(r.normal(size=(50, 5)))
    # a refit on other data chooses again (the previous choice is not reused)
    p = mfs.PCA(n_components="mle")
    a = p.fit(_mle_sets()["latent_4"]).n_components_
    b = p.fit(_mle_sets()["iris"]).n_components_
    assert (a, b) == (4, 3)
