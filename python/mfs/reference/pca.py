"""Reference PCA in numpy (float64 throughout): the SVD of the centered X.

The independent witness for the C solvers: whatever route C takes (exact
double Gram + eigh, Jacobi SVD, randomized), its results must match this one
within the tolerances the tests state. Signs as scikit-learn's
svd_flip(u_based_decision=False): the entry of largest |.| of each component
is positive."""
import numpy as np


def _flip(Vt):
    idx = np.argmax(np.abs(Vt), axis=1)
    signs = np.sign(Vt[np.arange(Vt.shape[0]), idx])
    signs[signs == 0] = 1.0
    return Vt * signs[:, None]


def fit(X, y=None, n_components=-1, whiten=0, variance_fraction=0.0, svd_solver=0,
        iterated_power=-1, n_oversamples=10, random_state=0, pad_=0):
    """Fitted arrays named as the C model's. The solver parameters are accepted
    and ignored: the reference always takes the exact SVD."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    r = min(n, d)
    if n < 2:
        raise ValueError(f"PCA needs at least 2 samples to estimate variances (ddof=1), X has {n} sample{'' if n == 1 else 's'}")
    if n_components > r:
        raise ValueError(f"n_components is {n_components}, it must be <= min(n_samples, n_features) = {r}")
    mean = X.mean(axis=0)
    Xc = X - mean
    _, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    Vt = _flip(Vt)
    ev = S ** 2 / (n - 1)
    total = ev.sum()
    ratio = ev / total if total > 0 else np.zeros_like(ev)
    if variance_fraction > 0:
        k = int(np.searchsorted(np.cumsum(ratio), variance_fraction, side="right")) + 1
        k = min(k, r)
    else:
        k = r if n_components < 0 else int(n_components)
    noise = float(ev[k:].mean()) if k < r else 0.0
    return {"components": Vt[:k].astype(np.float32),
            "explained_variance": ev[:k].astype(np.float32),
            "explained_variance_ratio": ratio[:k].astype(np.float32),
            "singular_values": S[:k].astype(np.float32),
            "mean": mean.astype(np.float32),
            "noise_variance": np.float64(noise),
            "n_samples": np.int64(n)}


def transform(state, X, whiten=0, **params):
    X = np.asarray(X, dtype=np.float64)
    C = state["components"].astype(np.float64)
    Z = (X - state["mean"].astype(np.float64)) @ C.T
    if whiten:
        scale = np.sqrt(state["explained_variance"].astype(np.float64))
        Z /= np.maximum(scale, np.finfo(np.float32).eps)
    return Z.astype(np.float32)


def inverse_transform(state, Z, whiten=0, **params):
    Z = np.asarray(Z, dtype=np.float64)
    C = state["components"].astype(np.float64)
    if whiten:
        C = np.sqrt(state["explained_variance"].astype(np.float64))[:, None] * C
    return (Z @ C + state["mean"].astype(np.float64)).astype(np.float32)
