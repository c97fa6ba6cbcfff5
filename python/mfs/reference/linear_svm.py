"""Reference LinearSVC in numpy: dual coordinate descent for the L2-regularized
L1- (hinge) or L2-loss (squared hinge) SVM (Hsieh et al. 2008, liblinear's
solver), or (solver=1) the squared hinge in the primal by Newton-CG, one-vs-rest
for more than two classes. Readable, not fast: one
coordinate per Python step. The coordinate order is shuffled with the same
Philox stream as libmfs's C solver (reference/svm.py's _Rng), so a seed means
the same order; shrinking is liblinear's."""
import numpy as np

from .svm import _Rng

HINGE, SQUARED_HINGE = 0, 1


def _binary(X, s, Cp, Cn, loss, fit_intercept, intercept_scaling, tol, max_iter, seed, stream, W=None):
    n, d = X.shape
    bias = intercept_scaling if fit_intercept else 0.0
    Xb = np.hstack([X.astype(np.float64), np.full((n, 1), bias)])
    l2 = loss == SQUARED_HINGE
    Ci = np.where(s > 0, Cp, Cn) if W is None else W * np.where(s > 0, Cp, Cn)  # liblinear: C_i = W_i Cp
    diag = 0.5 / Ci if l2 else np.zeros(n)
    U = np.full(n, np.inf) if l2 else Ci
    QD = (Xb * Xb).sum(axis=1) + diag
    alpha = np.zeros(n)
    w = np.zeros(d + 1)
    index = list(range(n))
    active = n
    rng = _Rng(seed, stream)
    PGmax_old, PGmin_old = np.inf, -np.inf
    it = 0
    while it < max_iter:
        PGmax_new, PGmin_new = -np.inf, np.inf
        for i in range(active):
            j = i + rng.below(active - i)
            index[i], index[j] = index[j], index[i]
        t = 0
        while t < active:
            i = index[t]
            G = s[i] * (w @ Xb[i]) - 1 + alpha[i] * diag[i]
            PG = 0.0
            if alpha[i] == 0:
                if G > PGmax_old:       # stuck at the lower bound: shrink it
                    active -= 1
                    index[t], index[active] = index[active], index[t]
                    continue
                if G < 0:
                    PG = G
            elif alpha[i] == U[i]:
                if G < PGmin_old:       # stuck at the upper bound: shrink it
                    active -= 1
                    index[t], index[active] = index[active], index[t]
                    continue
                if G > 0:
                    PG = G
            else:
                PG = G
            PGmax_new, PGmin_new = max(PGmax_new, PG), min(PGmin_new, PG)
            if abs(PG) > 1e-12:
                old = alpha[i]
                alpha[i] = min(max(old - G / QD[i], 0.0), U[i])
                w += (alpha[i] - old) * s[i] * Xb[i]
            t += 1
        it += 1
        if PGmax_new - PGmin_new <= tol:
            if active == n:
                break
            active, PGmax_old, PGmin_old = n, np.inf, -np.inf
            continue
        PGmax_old = PGmax_new if PGmax_new > 0 else np.inf
        PGmin_old = PGmin_new if PGmin_new < 0 else -np.inf
    return w[:d], (w[d] * intercept_scaling if fit_intercept else 0.0), it


def _primal(X, s, Ci, fit_intercept, intercept_scaling, tol, max_iter):
    """Newton-CG on f(w) = 1/2 |w|^2 + sum_i C_i max(0, 1 - s_i w.x_i)^2 (the
    squared hinge in the primal), as the C solver: CG to |r| <= 0.1 |g|,
    Armijo backtracking from step 1, stop at |g| <= eps |g(0)| with
    eps = tol * max(min(n+, n-), 1) / n (liblinear's primal tolerance)."""
    n, d = X.shape
    bias = intercept_scaling if fit_intercept else 0.0
    Xb = np.hstack([X.astype(np.float64), np.full((n, 1), bias)])
    npos = int(np.sum(s > 0))
    eps = tol * max(min(npos, n - npos), 1) / n
    w, z = np.zeros(d + 1), np.zeros(n)

    def f_at(zz, ww):
        m = np.maximum(0.0, 1.0 - s * zz)
        return 0.5 * ww @ ww + np.sum(Ci * m * m)

    def grad(zz, ww):
        act = s * zz < 1.0
        return ww + Xb[act].T @ (2.0 * Ci[act] * (zz[act] - s[act]))

    g = grad(z, w)
    gnorm0, f, it = np.linalg.norm(g), f_at(z, w), 0
    while it < max_iter:
        gnorm = np.linalg.norm(g)
        if gnorm <= eps * gnorm0:
            break
        act = s * z < 1.0
        Xa, ca = Xb[act], 2.0 * Ci[act]
        dvec, r = np.zeros(d + 1), -g
        q, rr = r.copy(), r @ r
        for _ in range(d + 11):
            if np.sqrt(rr) <= 0.1 * gnorm:
                break
            Hq = q + Xa.T @ (ca * (Xa @ q))
            qHq = q @ Hq
            if not qHq > 0:
                break
            a = rr / qHq
            dvec, r = dvec + a * q, r - a * Hq
            rr_new = r @ r
            q, rr = r + (rr_new / rr) * q, rr_new
        zs = Xb @ dvec
        gs = g @ dvec
        it += 1
        if not gs < 0:
            break
        a = 1.0
        for _ in range(30):
            f_new = f_at(z + a * zs, w + a * dvec)
            if f_new <= f + 0.01 * a * gs:
                break
            a *= 0.5
        else:
            break
        w, z, f = w + a * dvec, z + a * zs, f_new
        g = grad(z, w)
    return w[:d], (w[d] * intercept_scaling if fit_intercept else 0.0), it


def fit(X, y, loss=SQUARED_HINGE, fit_intercept=1, max_iter=1000, C=1.0, tol=1e-4, intercept_scaling=1.0,
        random_state=0, class_weight=None, sample_weight=None, solver=0, **_):
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    K = int(y.max()) + 1
    if K < 2:
        raise ValueError("linear_svm: y has a single class; LinearSVC needs samples of at least 2 classes")
    W = None
    if sample_weight is not None:  # liblinear: C_i = W_i C, rows of weight 0 removed
        W = np.asarray(sample_weight, dtype=np.float64)
        if W.shape != (len(y),) or not np.all(np.isfinite(W)) or np.any(W < 0):
            raise ValueError("linear_svm: sample_weight must be (n_samples,), finite and >= 0")
        if not np.any(W > 0):
            raise ValueError("linear_svm: every sample_weight is 0; at least one must be > 0")
        for k in range(K):
            if np.any(y == k) and not np.any(W[y == k] > 0):
                raise ValueError(f"linear_svm: class {k} has {int(np.sum(y == k))} samples, all of sample_weight 0; "
                                 "every class needs one of weight > 0")
        keep = W > 0
        X, y, W = X[keep], y[keep], W[keep]
    wC = C * (np.ones(K) if class_weight is None else np.asarray(class_weight, dtype=np.float64))
    k = 1 if K == 2 else K
    coef, icpt, iters = np.zeros((k, X.shape[1])), np.zeros(k), np.zeros(k, dtype=np.int32)
    for c in range(k):
        pos = 1 if K == 2 else c
        s = np.where(y == pos, 1.0, -1.0)
        Cn = wC[0] if K == 2 else C
        if solver == 1:
            if loss != SQUARED_HINGE:
                raise ValueError("linear_svm: the primal solver needs the squared hinge loss")
            Ci = np.where(s > 0, wC[pos], Cn) * (1.0 if W is None else W)
            coef[c], icpt[c], iters[c] = _primal(X, s, Ci, fit_intercept, intercept_scaling, tol, max_iter)
        else:
            coef[c], icpt[c], iters[c] = _binary(X, s, wC[pos], Cn, loss, fit_intercept, intercept_scaling, tol,
                                                 max_iter, int(random_state), c, W)
    return {"coef": coef, "intercept": icpt, "n_iter": iters}


def decision_function(state, X, **_):
    d = np.asarray(X, dtype=np.float64) @ state["coef"].T + state["intercept"]
    return d[:, 0] if d.shape[1] == 1 else d


def predict(state, X, **_):
    d = decision_function(state, X)
    return (d > 0).astype(np.int32) if d.ndim == 1 else np.argmax(d, axis=1).astype(np.int32)
