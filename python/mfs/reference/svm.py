"""Reference kernel SVM in numpy: C-SVC (one-vs-one) and epsilon-SVR by a plain
SMO with second-order working-set selection (Fan, Chen & Lin 2005; libsvm's
WSS 2), no shrinking and no cache: the whole Q matrix is computed up front.

Q = y y^T K is rounded to float32 as libsvm's (and libmfs's) kernel cache
stores it; the gradient and alpha are float64. The state holds the same
named arrays as the C model, in libsvm's layout. Probabilities: libsvm's
5-fold CV Platt scaling with the folds drawn from a pure-Python Philox4x32-10
(the generator of libmfs's core), so a seed means the same folds here."""
import numpy as np

TAU = 1e-12
SVC, SVR = 0, 1
LINEAR, POLY, RBF, SIGMOID = 0, 1, 2, 3
GAMMA_SCALE, GAMMA_AUTO = -1.0, -2.0


# ---- kernels -------------------------------------------------------------------

def kernel_matrix(A, B, kernel, degree, gamma, coef0):
    """K(A, B) in float64 for rows of A (m, d) and B (n, d)."""
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    dot = A @ B.T
    if kernel == LINEAR:
        return dot
    if kernel == POLY:
        return (gamma * dot + coef0) ** int(degree)
    if kernel == RBF:
        sq = (A * A).sum(axis=1)[:, None] + (B * B).sum(axis=1)[None, :] - 2 * dot
        return np.exp(-gamma * sq)
    return np.tanh(gamma * dot + coef0)


def resolve_gamma(X, gamma):
    d = X.shape[1]
    if gamma == GAMMA_AUTO:
        return 1.0 / d
    if gamma == GAMMA_SCALE:
        var = np.asarray(X, dtype=np.float64).var()
        return 1.0 / (d * var) if var != 0 else 1.0
    return float(gamma)


# ---- the SMO solver ------------------------------------------------------------------

def solve(Q, p, y, C, eps, max_iter=-1):
    """min 1/2 a^T Q a + p^T a  s.t.  y^T a = 0, 0 <= a_i <= C_i, for Q (l, l)
    float32 with Q_ij = y_i y_j K_ij. Returns (alpha, rho, iterations)."""
    l = len(p)
    y = np.asarray(y, dtype=np.float64)
    QD = np.diag(Q).astype(np.float64)
    alpha = np.zeros(l)
    G = np.asarray(p, dtype=np.float64).copy()
    it = 0
    while max_iter < 0 or it < max_iter:
        upper, lower = alpha >= C, alpha <= 0
        in_up = np.where(y > 0, ~upper, ~lower)     # can move to increase y_t a_t
        in_low = np.where(y > 0, ~lower, ~upper)    # can move to decrease it
        # i: the maximal violator, max of -y_t G_t over I_up (ties: last index)
        score = np.where(in_up, -y * G, -np.inf)
        i = l - 1 - int(np.argmax(score[::-1]))
        Gmax = score[i]
        # j: largest second-order decrease among I_low with -y_j G_j < Gmax
        yG = np.where(in_low, y * G, -np.inf)
        Gmax2 = yG.max()
        grad_diff = Gmax + yG
        quad = QD[i] + QD - 2.0 * y[i] * y * Q[i].astype(np.float64)
        quad = np.where(quad > 0, quad, TAU)
        obj = np.where(in_low & (grad_diff > 0), -(grad_diff * grad_diff) / quad, np.inf)
        if Gmax + Gmax2 < eps or not np.isfinite(obj).any():
            break
        j = l - 1 - int(np.argmin(obj[::-1]))
        it += 1
        # analytic update of the pair, clipped to the box (libsvm's rules)
        Qij = float(Q[i, j])
        ai, aj = alpha[i], alpha[j]
        Ci, Cj = C[i], C[j]
        if y[i] != y[j]:
            q = QD[i] + QD[j] + 2 * Qij
            q = q if q > 0 else TAU
            delta = (-G[i] - G[j]) / q
            diff = ai - aj
            ai += delta
            aj += delta
            if diff > 0:
                if aj < 0:
                    aj, ai = 0.0, diff
            elif ai < 0:
                ai, aj = 0.0, -diff
            if diff > Ci - Cj:
                if ai > Ci:
                    ai, aj = Ci, Ci - diff
            elif aj > Cj:
                aj, ai = Cj, Cj + diff
        else:
            q = QD[i] + QD[j] - 2 * Qij
            q = q if q > 0 else TAU
            delta = (G[i] - G[j]) / q
            s = ai + aj
            ai -= delta
            aj += delta
            if s > Ci:
                if ai > Ci:
                    ai, aj = Ci, s - Ci
            elif aj < 0:
                aj, ai = 0.0, s
            if s > Cj:
                if aj > Cj:
                    aj, ai = Cj, s - Cj
            elif ai < 0:
                ai, aj = 0.0, s
        dai, daj = ai - alpha[i], aj - alpha[j]
        alpha[i], alpha[j] = ai, aj
        G += Q[i].astype(np.float64) * dai + Q[j].astype(np.float64) * daj
    # rho: the mean of y_t G_t over free variables, else the middle of the bounds
    upper, lower = alpha >= C, alpha <= 0
    free = ~upper & ~lower
    yG = y * G
    if free.any():
        rho = yG[free].mean()
    else:
        ub_set = (upper & (y < 0)) | (lower & (y > 0))
        lb_set = (upper & (y > 0)) | (lower & (y < 0))
        ub = yG[ub_set].min() if ub_set.any() else np.inf
        lb = yG[lb_set].max() if lb_set.any() else -np.inf
        rho = (ub + lb) / 2
    return alpha, float(rho), it


def _binary(X, yy, Cs, kp, tol, max_iter):
    """C-SVC on rows X with labels yy (+1/-1): alpha * y, rho, iterations."""
    K = kernel_matrix(X, X, *kp)
    y = np.asarray(yy, dtype=np.float64)
    Q = (y[:, None] * y[None, :] * K).astype(np.float32)
    alpha, rho, it = solve(Q, -np.ones(len(y)), y, np.asarray(Cs, dtype=np.float64), tol, max_iter)
    return alpha * y, rho, it


# ---- Platt scaling -------------------------------------------------------------------

_M32 = 0xFFFFFFFF


def _philox(seed, stream, counter):
    """Philox4x32-10 (src_c/core/rng.h): 4 words for (seed, stream, counter)."""
    c0, c1, c2, c3 = counter & _M32, (counter >> 32) & _M32, stream & _M32, (stream >> 32) & _M32
    k0, k1 = seed & _M32, (seed >> 32) & _M32
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & _M32, (p0 >> 32) ^ c3 ^ k1, p0 & _M32
        k0, k1 = (k0 + 0x9E3779B9) & _M32, (k1 + 0xBB67AE85) & _M32
    return c0, c1, c2, c3


class _Rng:
    """mfs_rng: successive 32-bit words of (seed, stream, counter = 0, 1, ...)."""

    def __init__(self, seed, stream):
        self.seed, self.stream, self.counter, self.buf = seed & (2**64 - 1), stream, 0, []

    def u32(self):
        if not self.buf:
            self.buf = list(_philox(self.seed, self.stream, self.counter))
            self.counter += 1
        return self.buf.pop(0)

    def below(self, n):
        if n <= 1:
            return 0
        top = 2**64 - 1
        limit = top - top % n
        while True:
            x = (self.u32() << 32) | self.u32()
            if x < limit:
                return x % n


def sigmoid_train(dec, labels):
    """Platt's sigmoid P(y=1|f) = 1/(1+exp(A f + B)) by Newton's method with
    backtracking (Lin, Lin & Weng 2007, as libsvm)."""
    dec = np.asarray(dec, dtype=np.float64)
    pos = labels > 0
    prior1, prior0 = float(pos.sum()), float((~pos).sum())
    t = np.where(pos, (prior1 + 1) / (prior1 + 2), 1 / (prior0 + 2))
    A, B = 0.0, np.log((prior0 + 1) / (prior1 + 1))

    def f(A, B):
        z = dec * A + B
        return np.sum(np.where(z >= 0, t * z + np.log1p(np.exp(-np.abs(z))),
                               (t - 1) * z + np.log1p(np.exp(-np.abs(z)))))

    fval = f(A, B)
    for _ in range(100):
        z = dec * A + B
        p = np.where(z >= 0, np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))), 1 / (1 + np.exp(-np.abs(z))))
        q = 1 - p
        d2, d1 = p * q, t - p
        h11, h22, h21 = 1e-12 + np.sum(dec * dec * d2), 1e-12 + np.sum(d2), np.sum(dec * d2)
        g1, g2 = np.sum(dec * d1), np.sum(d1)
        if abs(g1) < 1e-5 and abs(g2) < 1e-5:
            break
        det = h11 * h22 - h21 * h21
        dA, dB = -(h22 * g1 - h21 * g2) / det, -(-h21 * g1 + h11 * g2) / det
        gd = g1 * dA + g2 * dB
        step = 1.0
        while step >= 1e-10:
            nA, nB = A + step * dA, B + step * dB
            nf = f(nA, nB)
            if nf < fval + 1e-4 * step * gd:
                A, B, fval = nA, nB, nf
                break
            step /= 2
        if step < 1e-10:
            break
    return A, B


def _binary_probability(X, yy, Cs, kp, tol, max_iter, seed, stream):
    """libsvm's svm_binary_svc_probability: 5-fold CV decision values -> sigmoid."""
    l = len(yy)
    rng = _Rng(seed, stream)
    perm = list(range(l))
    for i in range(l):
        j = i + rng.below(l - i)
        perm[i], perm[j] = perm[j], perm[i]
    perm = np.array(perm)
    dec = np.zeros(l)
    for f in range(5):
        begin, end = f * l // 5, (f + 1) * l // 5
        test = perm[begin:end]
        train = np.concatenate([perm[:begin], perm[end:]])
        # as libsvm's svm_train on the fold: class -1 first (+1 in the SMO problem)
        train = np.concatenate([train[yy[train] < 0], train[yy[train] > 0]])
        pc, nc = int((yy[train] > 0).sum()), int((yy[train] < 0).sum())
        if pc == 0 and nc == 0:
            dec[test] = 0
        elif nc == 0:
            dec[test] = 1
        elif pc == 0:
            dec[test] = -1
        else:
            a, rho, _ = _binary(X[train], -yy[train], Cs[train], kp, tol, max_iter)
            dec[test] = -(kernel_matrix(X[test], X[train], *kp) @ a - rho)
    return sigmoid_train(dec, yy)


# ---- fit -----------------------------------------------------------------------------

def _sample_weight(sample_weight, n, C):
    """float64 (n,) weights, finite, >= 0, not all 0 (the C library's checks;
    libsvm scales C by them in double, so they are not rounded to float32)."""
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"svm: sample_weight has shape {w.shape}, expected ({n},) (the rows of X)")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("svm: sample_weight must be finite and >= 0")
    with np.errstate(over="ignore"):
        overflow = not np.all(np.isfinite(w * C))
    if overflow:
        raise ValueError("svm: sample_weight times C overflows")
    if not np.any(w > 0):
        raise ValueError("svm: every sample_weight is 0; at least one must be > 0")
    return w


def fit(X, y, variant=SVC, kernel=RBF, degree=3, gamma=GAMMA_SCALE, coef0=0.0, tol=1e-3, C=1.0, epsilon=0.1,
        probability=0, max_iter=-1, random_state=0, class_weight=None, sample_weight=None, **_):
    """sample_weight (n,) >= 0: libsvm's C_i = W_i C (SVC: W_i C class_weight[y_i]);
    rows of weight 0 are removed before training, as libsvm does (support
    indexes the given X all the same). gamma is resolved on the whole X."""
    X = np.asarray(X, dtype=np.float32)
    g = resolve_gamma(X, gamma)
    kp = (kernel, degree, g, coef0)
    sw, keep = None, None
    if sample_weight is not None:
        sw = _sample_weight(sample_weight, X.shape[0], C)
        if variant != SVR:
            yl = np.asarray(y, dtype=np.int64)
            for k in np.unique(yl):
                if not np.any(sw[yl == k] > 0):
                    raise ValueError(f"svm: class {k} has {int((yl == k).sum())} samples, all of sample_weight 0; "
                                     "every class needs one of weight > 0")
        if not np.all(sw > 0):
            keep = np.flatnonzero(sw > 0)
            X, y, sw = X[keep], np.asarray(y)[keep], sw[keep]
    if variant == SVR:
        state = _fit_svr(X, np.asarray(y, dtype=np.float64), kp, tol, C, epsilon, max_iter, sw)
    else:
        state = _fit_svc(X, y, kp, tol, C, probability, max_iter, random_state, class_weight, sw)
    if keep is not None:
        state["support"] = keep[state["support"]].astype(np.int32)
    return state


def _fit_svc(X, y, kp, tol, C, probability, max_iter, random_state, class_weight, sw):
    y = np.asarray(y, dtype=np.int64)
    K = int(y.max()) + 1
    if K < 2:
        raise ValueError("svm: y has a single class; SVC needs samples of at least 2 classes")
    w = np.ones(K) if class_weight is None else np.asarray(class_weight, dtype=np.float64)
    wC = C * w
    perm = np.argsort(y, kind="stable")            # rows grouped by class, in order
    start = np.concatenate([[0], np.cumsum(np.bincount(y, minlength=K))])
    nonzero = np.zeros(len(y), dtype=bool)
    pairs, rho, iters, pa, pb = [], [], [], [], []
    for i in range(K):
        for j in range(i + 1, K):
            rows = np.concatenate([perm[start[i]:start[i + 1]], perm[start[j]:start[j + 1]]])
            ci = start[i + 1] - start[i]
            yy = np.where(np.arange(len(rows)) < ci, 1, -1)
            Cs = np.where(yy > 0, wC[i], wC[j])
            if sw is not None:
                Cs = sw[rows] * Cs
            if probability:
                A, B = _binary_probability(X[rows], yy, Cs, kp, tol, max_iter, int(random_state), len(pairs))
                pa.append(A)
                pb.append(B)
            a, r, it = _binary(X[rows], yy, Cs, kp, tol, max_iter)
            pairs.append(a)
            rho.append(r)
            iters.append(it)
            nonzero[perm[start[i]:start[i + 1]]] |= a[:ci] != 0
            nonzero[perm[start[j]:start[j + 1]]] |= a[ci:] != 0
    grouped = perm[nonzero[perm]]                   # SVs grouped by class
    n_support = np.array([nonzero[perm[start[k]:start[k + 1]]].sum() for k in range(K)], dtype=np.int32)
    pos = {int(r): q for q, r in enumerate(grouped)}
    coef = np.zeros((K - 1, len(grouped)))
    p = 0
    for i in range(K):
        for j in range(i + 1, K):
            a = pairs[p]
            rows = np.concatenate([perm[start[i]:start[i + 1]], perm[start[j]:start[j + 1]]])
            ci = start[i + 1] - start[i]
            for k, r in enumerate(rows):
                if nonzero[r]:
                    coef[j - 1 if k < ci else i, pos[int(r)]] = a[k]
            p += 1
    state = {"support": grouped.astype(np.int32), "support_vectors": X[grouped].astype(np.float32),
             "n_support": n_support, "dual_coef": coef,
             "intercept": np.array([-r if r != 0 else 0.0 for r in rho]),
             "n_iter": np.array(iters, dtype=np.int32), "gamma": np.float64(kp[2])}
    if probability:
        state["prob_a"], state["prob_b"] = np.array(pa), np.array(pb)
    return state


def _fit_svr(X, y, kp, tol, C, epsilon, max_iter, sw=None):
    n = len(y)
    Cs = np.full(n, C) if sw is None else sw * C
    K = kernel_matrix(X, X, *kp)
    s = np.concatenate([np.ones(n), -np.ones(n)])
    Kf = np.block([[K, K], [K, K]])
    Q = (s[:, None] * s[None, :] * Kf).astype(np.float32)
    p = np.concatenate([epsilon - y, epsilon + y])
    a2, rho, it = solve(Q, p, s, np.concatenate([Cs, Cs]), tol, max_iter)
    alpha = a2[:n] - a2[n:]
    sv = np.flatnonzero(alpha != 0)
    return {"support": sv.astype(np.int32), "support_vectors": X[sv].astype(np.float32),
            "n_support": np.array([len(sv)], dtype=np.int32), "dual_coef": alpha[sv][None, :],
            "intercept": np.array([-rho if rho != 0 else 0.0]), "n_iter": np.array([it], dtype=np.int32),
            "gamma": np.float64(kp[2])}


# ---- prediction -------------------------------------------------------------------------

def _pair_values(state, X, kernel=RBF, degree=3, coef0=0.0, **_):
    """libsvm's decision values (m, P): positive means the pair's first class."""
    kp = (kernel, degree, float(state["gamma"]), coef0)
    Kx = kernel_matrix(X, state["support_vectors"], *kp)
    coef, b = state["dual_coef"], state["intercept"]
    ns = state["n_support"]
    if len(b) == 1 and coef.shape[0] == 1 and len(ns) == 1:
        return (Kx @ coef[0] + b[0])[:, None]
    loc = np.concatenate([[0], np.cumsum(ns)])
    K = len(ns)
    out = []
    for i in range(K):
        for j in range(i + 1, K):
            si, sj = slice(loc[i], loc[i + 1]), slice(loc[j], loc[j + 1])
            out.append(Kx[:, si] @ coef[j - 1, si] + Kx[:, sj] @ coef[i, sj])
    return np.stack(out, axis=1) + b[None, :]


def ovr_decision(dec, K):
    """scikit-learn's _ovr_decision_function(dec < 0, -dec, K)."""
    votes = np.zeros((dec.shape[0], K))
    conf = np.zeros((dec.shape[0], K))
    p = 0
    for i in range(K):
        for j in range(i + 1, K):
            conf[:, i] += dec[:, p]
            conf[:, j] -= dec[:, p]
            votes[:, i] += dec[:, p] >= 0
            votes[:, j] += dec[:, p] < 0
            p += 1
    return votes + conf / (3 * (np.abs(conf) + 1))


def predict(state, X, variant=SVC, decision_function_shape=1, break_ties=0, **params):
    dec = _pair_values(state, X, **params)
    if variant == SVR:
        return dec[:, 0]
    K = len(state["n_support"])
    if break_ties and decision_function_shape == 1 and K > 2:
        return np.argmax(ovr_decision(dec, K), axis=1).astype(np.int32)
    votes = np.zeros((X.shape[0], K), dtype=np.int64)
    p = 0
    for i in range(K):
        for j in range(i + 1, K):
            votes[:, i] += dec[:, p] > 0
            votes[:, j] += dec[:, p] <= 0
            p += 1
    return np.argmax(votes, axis=1).astype(np.int32)


def decision_function(state, X, variant=SVC, decision_function_shape=1, **params):
    dec = _pair_values(state, X, **params)
    K = len(state["n_support"])
    if variant == SVR:
        return dec[:, 0]
    if K == 2:
        return -dec[:, 0]
    return dec if decision_function_shape == 0 else ovr_decision(dec, K)


def _couple(r, k):
    """Wu, Lin & Weng's method 2 (libsvm's multiclass_probability) for one row."""
    Q = np.where(np.eye(k, dtype=bool), 0.0, -r.T * r)
    Q[np.diag_indices(k)] = (r * r).sum(axis=0) - np.diag(r) ** 2
    p = np.full(k, 1.0 / k)
    for _ in range(max(100, k)):
        Qp = Q @ p
        pQp = p @ Qp
        if np.max(np.abs(Qp - pQp)) < 0.005 / k:
            break
        for t in range(k):
            diff = (-Qp[t] + pQp) / Q[t, t]
            p[t] += diff
            pQp = (pQp + diff * (diff * Q[t, t] + 2 * Qp[t])) / (1 + diff) / (1 + diff)
            Qp = (Qp + diff * Q[t]) / (1 + diff)
            p /= 1 + diff
    return p


def predict_proba(state, X, **params):
    dec = _pair_values(state, X, **params)
    K = len(state["n_support"])
    z = dec * state["prob_a"][None, :] + state["prob_b"][None, :]
    pr = np.where(z >= 0, np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))), 1 / (1 + np.exp(-np.abs(z))))
    pr = np.clip(pr, 1e-7, 1 - 1e-7)
    out = np.zeros((X.shape[0], K))
    for row in range(X.shape[0]):
        r = np.zeros((K, K))
        p = 0
        for i in range(K):
            for j in range(i + 1, K):
                r[i, j], r[j, i] = pr[row, p], 1 - pr[row, p]
                p += 1
        out[row] = [r[0, 1], r[1, 0]] if K == 2 else _couple(r, K)
    return out


def predict_log_proba(state, X, **params):
    return np.log(predict_proba(state, X, **params))
