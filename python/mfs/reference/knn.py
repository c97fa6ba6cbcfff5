"""Reference k-Nearest Neighbors in numpy: brute force over exact pairwise
distances (float64 differences, no ||x||^2 - 2 x.y + ||y||^2), rounded to
float32 as the C library returns them, then a stable sort, so ties in distance
go to the lower training index. Queries run in chunks that keep the (chunk,
n, d) difference block near 80 MB. Same parameters as the C model
(mfs_knn_params): metric 0 euclidean, 1 manhattan, 2 cosine, 3 chebyshev; weights 0
uniform, 1 distance; task 0 classification, 1 regression."""
import numpy as np


def fit(X, y, n_neighbors=5, weights=0, algorithm=0, metric=0, leaf_size=30, task=0):
    X = np.ascontiguousarray(X, dtype=np.float32)
    state = {"fit_X": X.copy()}
    if task == 0:
        y = np.asarray(y, dtype=np.int32)
        state["y"] = y.copy()
        state["n_classes"] = np.int32(y.max() + 1)
    else:
        state["y"] = np.asarray(y, dtype=np.float32).copy()
    return state


def _distances(Q, T, metric):
    """(m, n) distances in float64, exact per pair."""
    Q = Q.astype(np.float64)
    T = T.astype(np.float64)
    if metric == 2:
        qn = np.linalg.norm(Q, axis=1)
        tn = np.linalg.norm(T, axis=1)
        S = (Q @ T.T) / np.outer(np.where(qn > 0, qn, 1.0), np.where(tn > 0, tn, 1.0))
        S[qn == 0, :] = 0.0
        S[:, tn == 0] = 0.0
        return np.clip(1.0 - S, 0.0, 2.0)
    rows = max(1, int(1e7 // max(1, T.size)))
    out = np.empty((len(Q), len(T)))
    for i in range(0, len(Q), rows):
        diff = Q[i:i + rows, None, :] - T[None, :, :]
        out[i:i + rows] = (np.abs(diff).sum(axis=2) if metric == 1
                           else np.abs(diff).max(axis=2) if metric == 3
                           else np.sqrt((diff * diff).sum(axis=2)))
    return out


def kneighbors(state, X, n_neighbors, metric=0, **params):
    """(distances float32 (m, k), indices int64 (m, k)), nearest first, ties
    by the lower index. X None: the training data, each sample not its own
    neighbor (scikit-learn's rule: drop the sample, else the nearest)."""
    T = state["fit_X"]
    n = len(T)
    self_query = X is None
    Q = T if self_query else np.asarray(X, dtype=np.float32)
    k = n_neighbors + (1 if self_query else 0)
    if k > n:
        raise ValueError(f"n_neighbors is {n_neighbors}, the model was fitted on {n} samples")
    dist_out = np.empty((len(Q), k), np.float32)
    ind_out = np.empty((len(Q), k), np.int64)
    chunk = max(1, int(2e7 // max(1, n)))
    for i in range(0, len(Q), chunk):
        D = _distances(Q[i:i + chunk], T, metric).astype(np.float32)
        order = np.argsort(D, axis=1, kind="stable")[:, :k]
        ind_out[i:i + chunk] = order
        dist_out[i:i + chunk] = np.take_along_axis(D, order, axis=1)
    if self_query:
        keep = ind_out != np.arange(len(Q))[:, None]
        keep[np.all(keep, axis=1), 0] = False
        dist_out = dist_out[keep].reshape(len(Q), n_neighbors)
        ind_out = ind_out[keep].reshape(len(Q), n_neighbors)
    return dist_out, ind_out


def _weights(dist, weights):
    if weights == 0:
        return np.ones(dist.shape)
    with np.errstate(divide="ignore"):
        w = 1.0 / dist.astype(np.float64)
    zero = dist == 0
    rows = zero.any(axis=1)
    w[rows] = zero[rows]
    return w


def predict_proba(state, X, n_neighbors=5, weights=0, metric=0, **params):
    dist, ind = kneighbors(state, X, n_neighbors, metric=metric)
    w = _weights(dist, weights)
    K = int(state["n_classes"])
    P = np.zeros((len(ind), K))
    labels = state["y"][ind]
    for r in range(ind.shape[1]):
        np.add.at(P, (np.arange(len(ind)), labels[:, r]), w[:, r])
    total = P.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    return (P / total).astype(np.float32)


def predict(state, X, n_neighbors=5, weights=0, metric=0, task=0, **params):
    if task == 0:
        # argmax of the (unnormalized) votes: ties to the lowest class index
        dist, ind = kneighbors(state, X, n_neighbors, metric=metric)
        w = _weights(dist, weights)
        V = np.zeros((len(ind), int(state["n_classes"])))
        labels = state["y"][ind]
        for r in range(ind.shape[1]):
            np.add.at(V, (np.arange(len(ind)), labels[:, r]), w[:, r])
        return np.argmax(V, axis=1).astype(np.int32)
    dist, ind = kneighbors(state, X, n_neighbors, metric=metric)
    w = _weights(dist, weights)
    Y = state["y"].astype(np.float64)
    Yn = Y[ind]                                         # (m, k) or (m, k, t)
    if Y.ndim == 1:
        out = (Yn * w).sum(axis=1) / w.sum(axis=1)
    else:
        out = (Yn * w[:, :, None]).sum(axis=1) / w.sum(axis=1)[:, None]
    return out.astype(np.float32)
