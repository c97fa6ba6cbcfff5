"""Reference Linear Regression / Ridge in numpy (float64 throughout).

Centering removes the intercept; OLS uses numpy's SVD-based lstsq on unit-norm
columns (the minimum-norm solution in original units for rank-deficient X, with
the float32 cutoff the C code uses); ridge solves (Xc^T Xc + alpha I) w = Xc^T yc."""
import numpy as np


def fit(X, y, alpha=0.0, fit_intercept=1, solver=0, sample_weight=None):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    Y = y.reshape(len(y), -1)
    n, d = X.shape
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    xm = w @ X / w.sum() if fit_intercept else np.zeros(d)
    ym = w @ Y / w.sum() if fit_intercept else np.zeros(Y.shape[1])
    # weighted least squares: rows scaled by sqrt(w) after centering
    sw = np.sqrt(w)[:, None]
    Xc, Yc = (X - xm) * sw, (Y - ym) * sw
    if alpha > 0:
        W = np.linalg.solve(Xc.T @ Xc + alpha * np.eye(d), Xc.T @ Yc)
        rank = d
    else:
        # Columns scaled to unit norm first, so that rank is judged on
        # collinearity and not on the units of the features (as the C code).
        norms = np.linalg.norm(Xc, axis=0)
        scale = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 1.0)
        rcond = np.finfo(np.float32).eps * max(n, d)
        V, _, rank, _ = np.linalg.lstsq(Xc * scale, Yc, rcond=rcond)
        if rank == d:
            W = V * scale[:, None]
        else:  # rank-deficient: the minimum-norm solution in the original units
            W, _, rank, _ = np.linalg.lstsq(Xc, Yc, rcond=rcond)
    coef = W.T                       # (t, d)
    intercept = ym - xm @ W          # (t,)
    if y.ndim == 1:
        coef, intercept = coef[0], intercept[0]
    return {"coef": coef.astype(np.float32), "intercept": np.float32(intercept) if np.ndim(intercept) == 0
            else intercept.astype(np.float32), "rank": np.int32(rank)}


def predict(state, X, **params):
    X = np.asarray(X, dtype=np.float64)
    coef = state["coef"].astype(np.float64)
    return (X @ coef.T + state["intercept"]).astype(np.float32)
