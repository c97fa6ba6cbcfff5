"""Reference Logistic Regression in numpy (float64 throughout), the independent
witness of the C solver: the same objective as scikit-learn's lbfgs,

    f(W, b) = (1/S) [ sum_i s_i log_loss_i + 1/(2C) ||W||^2 ]     (b unpenalized),

with sample weights s_i >= 0 (sample_weight; all 1 without it) and S = sum_i s_i
(n without weights), as scikit-learn's _logistic_regression_path scales it;
binary (one coefficient row, class 1 against class 0) or multinomial (K rows),
but minimized by a different method: Newton's method with the exact Hessian
and a backtracking (Armijo) line search. It stops when max |grad f| <= tol or
after max_iter Newton iterations (so its n_iter counts Newton steps, not the C
code's L-BFGS iterations). Exact Hessians cost O(n K^2 d^2): fine for the test
data sets, not meant for large problems.

Columns of very different scales (1e-4 next to 1e6) are met as the C code
meets them: the same power of two per column, cs_j = 2^e_j nearest sqrt(h_j),
h_j = sum_i s_i x_ij^2 / (4 S) + 1/(C S) over the same rows (all of them up to
4096, else every (n // 4096)-th), applied under the same test (some |e_j| > 10
or a span above 10). Newton then solves in W' = W cs: the step solves
(D H D) s' = -D g with D = diag(1/cs) (1 on the intercepts), s = D s' -- in exact
arithmetic the same step (Newton is invariant to a linear change of
variables), numerically a Hessian of condition near its diagonal's -- and tol
applies to D g, the gradient in W', as in the C solver."""
import numpy as np

from .mlp import check_sample_weight


def _split(v, kk, d, fit_intercept):
    W = v[:kk * d].reshape(kk, d)
    b = v[kk * d:] if fit_intercept else np.zeros(kk)
    return W, b


def _log_softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


def _loss_grad_hess(v, X, y, kk, inv_c, fit_intercept, sw, hess=True):
    """f, grad f, Hessian at v; sw (n,) sample weights (ones when unweighted)."""
    n, d = X.shape
    S = sw.sum()
    W, b = _split(v, kk, d, fit_intercept)
    Z = X @ W.T + b                                   # (n, kk)
    if kk == 1:
        z = Z[:, 0]
        t = (y == 1).astype(np.float64)
        loss = np.sum(sw * (np.logaddexp(0.0, z) - t * z))
        p = 0.5 * (1.0 + np.tanh(0.5 * z))             # stable sigmoid
        R = (sw * (p - t))[:, None]
        Dw = [[sw * p * (1.0 - p)]]                   # second derivative of the weighted loss in z
    else:
        L = _log_softmax(Z)
        loss = -np.sum(sw * L[np.arange(n), y])
        P = np.exp(L)
        R = P.copy()
        R[np.arange(n), y] -= 1.0
        R *= sw[:, None]
        Dw = [[sw * P[:, k] * ((k == l) - P[:, l]) for l in range(kk)] for k in range(kk)]
    f = (loss + 0.5 * inv_c * np.sum(W * W)) / S
    gW = (R.T @ X + inv_c * W) / S
    g = np.concatenate([gW.ravel(), R.sum(axis=0) / S]) if fit_intercept else gW.ravel()
    if not hess:
        return f, g, None
    # Hessian over (W rows, then b): block (k, l) = [X 1]^T diag(D_kl) [X 1] / S
    Xa = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
    da = Xa.shape[1]
    H = np.zeros((kk * da, kk * da))
    for k in range(kk):
        for l in range(kk):
            H[k * da:(k + 1) * da, l * da:(l + 1) * da] = (Xa * Dw[k][l][:, None]).T @ Xa / S
    # reorder from per-row [w_k, b_k] blocks to the [W.ravel(), b] layout of g
    order = [k * da + j for k in range(kk) for j in range(d)]
    if fit_intercept:
        order += [k * da + d for k in range(kk)]
    H = H[np.ix_(order, order)]
    H[np.arange(kk * d), np.arange(kk * d)] += inv_c / S
    return f, g, H


def column_scales(X, sw, C):
    """The C solver's preconditioner: cs (d,) powers of two, or None when
    every exponent is within 10 of 0 and they span at most 10 (then nothing
    changes). sw: the sample weights (n,) (all 1 without them)."""
    n, d = X.shape
    step = n // 4096 if n > 4096 else 1
    rows = np.arange(0, n, step)
    s = sw[rows]
    keep = s != 0
    rows, s = rows[keep], s[keep]
    ss = s.sum()
    sq = (s[:, None] * X[rows] ** 2).sum(axis=0) if len(rows) else np.zeros(d)
    pen = 0.0 if np.isinf(C) else 1.0 / (C * sw.sum())
    h = (0.25 * sq / ss if ss > 0 else np.zeros(d)) + pen
    ok = (h > 0) & np.isfinite(h)
    if not ok.any():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        x = 0.5 * np.log2(np.where(ok, h, 1.0))
    e = np.where(ok, np.sign(x) * np.floor(np.abs(x) + 0.5), 0.0)  # C's lround: half away from 0
    emin, emax = e[ok].min(), e[ok].max()
    if emax - emin <= 10 and emax <= 10 and emin >= -10:
        return None
    return np.ldexp(1.0, e.astype(np.int64))


def fit(X, y, C=1.0, tol=1e-4, fit_intercept=1, max_iter=100, sample_weight=None, coef_init=None,
        intercept_init=None):
    """coef_init (kk, d) and intercept_init (kk,): the starting point (the C
    fit's optional inputs of those names: warm_start); zeros without them."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n, d = X.shape
    sw = check_sample_weight(sample_weight, n)
    if sw is None:
        sw = np.ones(n)
    K = int(y.max()) + 1
    if K < 2:
        raise ValueError("logistic_regression reference: y has 1 class, needs samples of at least 2 classes")
    kk = 1 if K == 2 else K
    inv_c = 0.0 if np.isinf(C) else 1.0 / C
    v = np.zeros(kk * d + (kk if fit_intercept else 0))
    if intercept_init is not None and (coef_init is None or not fit_intercept):
        raise ValueError("logistic_regression reference: intercept_init needs coef_init and fit_intercept")
    if coef_init is not None:
        c0 = np.asarray(coef_init, dtype=np.float64)
        if c0.shape != (kk, d):
            raise ValueError(f"logistic_regression reference: coef_init has shape {c0.shape}, expected {(kk, d)}")
        v[:kk * d] = c0.ravel()
    if intercept_init is not None:
        b0 = np.asarray(intercept_init, dtype=np.float64)
        if b0.shape != (kk,):
            raise ValueError(f"logistic_regression reference: intercept_init has shape {b0.shape}, expected {(kk,)}")
        v[kk * d:] = b0
    if not np.all(np.isfinite(v)):
        raise ValueError("logistic_regression reference: coef_init or intercept_init contains NaN or infinity")
    cs = column_scales(X, sw, C)
    D = np.ones_like(v)  # the change of variables v' = v / D: W' = W cs
    if cs is not None:
        D[:kk * d] = np.tile(1.0 / cs, kk)
    n_iter = 0
    f, g, H = _loss_grad_hess(v, X, y, kk, inv_c, fit_intercept, sw)
    for it in range(1, max_iter + 1):
        if np.max(np.abs(D * g)) <= tol:
            break
        # The multinomial Hessian is singular along a common shift of the
        # intercepts (softmax ignores it); lstsq gives the minimum-norm step,
        # which keeps the intercepts' mean where it is (0).
        step = -D * np.linalg.lstsq(D[:, None] * H * D[None, :], D * g, rcond=1e-12)[0]
        slope = g @ step
        if not slope < 0:
            step = -D * D * g  # steepest descent in W'
            slope = g @ step
        a = 1.0
        while True:
            f_new, g_new, _ = _loss_grad_hess(v + a * step, X, y, kk, inv_c, fit_intercept, sw, hess=False)
            if f_new <= f + 1e-4 * a * slope or a < 1e-10:
                break
            a *= 0.5
        v = v + a * step
        n_iter = it
        if a < 1e-10:
            break
        f, g, H = _loss_grad_hess(v, X, y, kk, inv_c, fit_intercept, sw)
    W, b = _split(v, kk, d, fit_intercept)
    if fit_intercept and kk > 1:
        b = b - b.mean()
    return {"coef": W.astype(np.float32), "intercept": np.asarray(b, dtype=np.float32),
            "n_classes": np.int32(K), "n_iter": np.array([n_iter], dtype=np.int32)}


def decision_function(state, X, **params):
    X = np.asarray(X, dtype=np.float64)
    Z = X @ state["coef"].astype(np.float64).T + state["intercept"].astype(np.float64)
    return (Z[:, 0] if Z.shape[1] == 1 else Z).astype(np.float32)


def _log_proba64(state, X):
    X = np.asarray(X, dtype=np.float64)
    Z = X @ state["coef"].astype(np.float64).T + state["intercept"].astype(np.float64)
    if Z.shape[1] == 1:
        z = Z[:, 0]
        return np.stack([-np.logaddexp(0.0, z), -np.logaddexp(0.0, -z)], axis=1)
    return _log_softmax(Z)


def predict_log_proba(state, X, **params):
    return _log_proba64(state, X).astype(np.float32)


def predict_proba(state, X, **params):
    return np.exp(_log_proba64(state, X)).astype(np.float32)


def predict(state, X, **params):
    # argmax of the float32 probabilities that predict_proba returns: ties (and
    # differences below float32) go to the lowest index, as the C code's
    return np.argmax(predict_proba(state, X), axis=1).astype(np.int32)
