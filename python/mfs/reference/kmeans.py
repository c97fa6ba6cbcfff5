"""Reference K-Means in numpy (float64 throughout): greedy k-means++ or random
seeding from a numpy RandomState (deterministic given the seed, but not the C
library's Philox stream), then Lloyd iterations with scikit-learn's rules:
strict convergence when no label changes, else stop when the squared center
shift is <= tol * mean(var(X)); a final assignment so labels match centers;
empty clusters take the points farthest from their centers.

sample_weight w (n,) >= 0, as the C library and scikit-learn: centers are
weighted means, inertia sum_i w_i ||x_i - c||^2, k-means++ draws the first
center with probability proportional to w and later candidates proportional
to w D^2, random init draws distinct rows proportional to w; a row of weight 0
is absent from the sums, the seeding and the relocation (it still gets a
label); tol stays relative to the unweighted variance of X (scikit-learn's
_tolerance)."""
import numpy as np

from .mlp import check_sample_weight

_CHUNK = 4096  # rows per distance block: the (n, k) matrix is never whole


def _sqdist(X, C):
    """(m, k) squared distances, float64, clamped at 0."""
    D = (X * X).sum(axis=1)[:, None] - 2.0 * (X @ C.T) + (C * C).sum(axis=1)[None, :]
    return np.maximum(D, 0.0)


def _assign(X, C):
    labels = np.empty(len(X), dtype=np.int32)
    mind = np.empty(len(X))
    for i in range(0, len(X), _CHUNK):
        D = _sqdist(X[i:i + _CHUNK], C)
        labels[i:i + _CHUNK] = D.argmin(axis=1)
        mind[i:i + _CHUNK] = D[np.arange(len(D)), labels[i:i + _CHUNK]]
    return labels, mind


def kmeans_plusplus(X, k, rs, w=None):
    """Greedy k-means++ with 2 + log(k) local trials (scikit-learn's rule),
    weighted by w (n,) when given (scikit-learn's _kmeans_plusplus)."""
    n = len(X)
    trials = 2 + int(np.log(k))
    centers = np.empty((k, X.shape[1]))
    centers[0] = X[rs.randint(n) if w is None else rs.choice(n, p=w / w.sum())]
    closest = _sqdist(X, centers[:1])[:, 0]
    pot = closest.sum() if w is None else closest @ w
    for c in range(1, k):
        r = rs.uniform(size=trials) * pot
        cand = np.minimum(np.searchsorted(np.cumsum(closest if w is None else w * closest), r), n - 1)
        D = np.minimum(closest[None, :], _sqdist(X[cand], X))
        pots = D.sum(axis=1) if w is None else D @ w
        best = int(np.argmin(pots))
        pot, closest = pots[best], D[best]
        centers[c] = X[cand[best]]
    return centers


def lloyd(X, centers, max_iter, tol, w=None):
    """Lloyd from centers (k, d), rows weighted by w (n,) or all 1; returns
    centers, labels, inertia, n_iter."""
    n, k = len(X), len(centers)
    labels_old = np.full(n, -1, dtype=np.int32)
    strict = False
    pos = np.ones(n, dtype=bool) if w is None else w > 0  # the rows present
    for it in range(max_iter):
        labels, _ = _assign(X, centers)
        # counts: rows of weight > 0 (an empty cluster has none); wsum: their weights
        counts = np.bincount(labels[pos], minlength=k).astype(np.float64)
        sums = np.zeros_like(centers)
        if w is None:
            wsum = counts
            np.add.at(sums, labels, X)
        else:
            wsum = np.bincount(labels, weights=w, minlength=k)
            np.add.at(sums, labels, X * w[:, None])
        empty = np.flatnonzero(counts == 0)
        if len(empty):
            far = ((X - centers[labels]) ** 2).sum(axis=1)
            order = np.argsort(-far, kind="stable")  # farthest first, lowest index on ties
            order = order[pos[order]]  # only rows of weight > 0 are taken
            for j, q in enumerate(empty):
                if j >= len(order):  # no row left (weights only): a zero sum, as the C library
                    sums[q] = 0.0
                    wsum[q] = 0.0
                    continue
                i = order[j]
                wi = 1.0 if w is None else w[i]
                sums[labels[i]] -= X[i] * wi
                counts[labels[i]] -= 1
                sums[q] = X[i] * wi
                counts[q] = 1
                if w is not None:
                    wsum[labels[i]] -= wi
                    wsum[q] = wi
        new = sums / np.where(counts > 0, wsum, 1.0)[:, None]
        shift = ((new - centers) ** 2).sum()
        centers = new
        if np.array_equal(labels, labels_old):
            strict = True
            break
        if shift <= tol:
            break
        labels_old = labels
    if not strict:
        labels, _ = _assign(X, centers)
    if w is None:
        inertia = float(((X - centers[labels]) ** 2).sum())
    else:
        inertia = float(((X - centers[labels]) ** 2).sum(axis=1) @ w)
    return centers, labels, inertia, it + 1


def fit(X, y=None, n_clusters=8, init=0, n_init=1, max_iter=300, tol=1e-4, random_state=0,
        init_array=None, sample_weight=None):
    """init: 0 k-means++, 1 random, 2 init_array (n_clusters, d); sample_weight
    (n,) >= 0 or None (all 1: the unweighted fit)."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    if n_clusters > n:
        raise ValueError(f"kmeans reference: n_clusters is {n_clusters}, X has only {n} samples")
    w = check_sample_weight(sample_weight, n)
    if w is not None and np.all(w == 1.0):
        w = None  # as the C library: all 1 is the unweighted fit
    if w is not None and init == 1 and np.count_nonzero(w) < n_clusters:
        raise ValueError(f"kmeans reference: init is random and only {np.count_nonzero(w)} rows have "
                         f"sample_weight > 0, fewer than n_clusters={n_clusters} (the initial centers "
                         f"are distinct rows of weight > 0)")
    tol_abs = 0.0 if tol == 0 else float(np.mean(np.var(X, axis=0))) * tol
    runs = 1 if init == 2 else n_init
    best = None
    for run in range(runs):
        rs = np.random.RandomState((int(random_state) + run) % 2**32)
        if init == 2:
            C0 = np.asarray(init_array, dtype=np.float64)
            if C0.shape != (n_clusters, d):
                raise ValueError(f"kmeans reference: init has shape {C0.shape}, expected {(n_clusters, d)}")
        elif init == 1:
            C0 = X[rs.permutation(n)[:n_clusters] if w is None else
                   rs.choice(n, size=n_clusters, replace=False, p=w / w.sum())]
        else:
            C0 = kmeans_plusplus(X, n_clusters, rs, w)
        res = lloyd(X, C0.copy(), max_iter, tol_abs, w)
        if best is None or res[2] < best[2]:
            best = res
    centers, labels, inertia, n_iter = best
    return {"cluster_centers": centers.astype(np.float32), "labels": labels.astype(np.int32),
            "inertia": np.float64(inertia), "n_iter": np.int32(n_iter)}


def predict(state, X, **params):
    C = np.asarray(state["cluster_centers"], dtype=np.float64)
    return _assign(np.asarray(X, dtype=np.float64), C)[0]


def transform(state, X, **params):
    C = np.asarray(state["cluster_centers"], dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    out = np.empty((len(X), len(C)), dtype=np.float32)
    for i in range(0, len(X), _CHUNK):
        out[i:i + _CHUNK] = np.sqrt(_sqdist(X[i:i + _CHUNK], C))
    return out
