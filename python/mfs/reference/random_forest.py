"""Reference random forest in numpy: the same forest as the C library, tree for
tree. Each tree's bootstrap is drawn from the library's Philox4x32-10 stream
2**32 + t keyed by random_state (reimplemented here in numpy, bit for bit:
mfs_rng_below's 64-bit rejection sampling, or with sample weights one
mfs_rng_uniform per draw against the weights' prefix sums), as per-sample counts; the tree
itself is grown by the reference CART of decision_tree.py with the counts as
sample weights and Philox stream t for its feature draws. Predictions average
the trees' leaf values (class fractions or target means) in tree order, in
float64. Parameters and fitted arrays are those of mfs_random_forest_params
(criterion 0 gini, 1 entropy, 2 squared_error; see include/mfs/random_forest.h).
Nothing here imports the native library."""
import sys

import numpy as np

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_LO32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
BOOTSTRAP_STREAM = 1 << 32


def philox(seed, stream, counters):
    """Philox4x32-10 blocks (len(counters), 4) uint32 for (seed, stream, counter),
    as mfs_philox in src_c/core/rng.h."""
    counters = np.asarray(counters, dtype=np.uint64)
    c0, c1 = counters & _LO32, counters >> _S32
    c2 = np.full_like(c0, stream & 0xFFFFFFFF)
    c3 = np.full_like(c0, (stream >> 32) & 0xFFFFFFFF)
    k0, k1 = seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF
    for _ in range(10):
        p0, p1 = _M0 * c0, _M1 * c2
        c0, c1, c2, c3 = (p1 >> _S32) ^ c1 ^ np.uint64(k0), p1 & _LO32, (p0 >> _S32) ^ c3 ^ np.uint64(k1), p0 & _LO32
        k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
    return np.stack([c0, c1, c2, c3], axis=-1).astype(np.uint32)


def rng_below(seed, stream, n, count):
    """`count` successive mfs_rng_below(rng, n) draws of a fresh mfs_rng (seed,
    stream): each takes two 32-bit words (high, low) of the stream, redrawn
    while the 64-bit value is >= the largest multiple of n."""
    if n <= 1:
        return np.zeros(count, dtype=np.int64)
    limit = np.uint64((2**64 - 1) - (2**64 - 1) % n)
    words = philox(seed, stream, np.arange((2 * count + 3) // 4)).ravel().astype(np.uint64)[:2 * count]
    x = (words[0::2] << _S32) | words[1::2]
    if np.all(x < limit):  # the rule: a redraw has probability < n / 2**64
        return (x % np.uint64(n)).astype(np.int64)
    out, pos, blocks = [], 0, philox(seed, stream, np.arange((2 * count + 7) // 4 + 64)).ravel()
    while len(out) < count:  # exact sequential path
        if pos + 2 > len(blocks):
            blocks = philox(seed, stream, np.arange(len(blocks) // 2)).ravel()
        v = (int(blocks[pos]) << 32) | int(blocks[pos + 1])
        pos += 2
        if v < int(limit):
            out.append(v % n)
    return np.asarray(out, dtype=np.int64)


def n_bootstrap(n, max_samples_mode=0, max_samples=1.0, total_weight=None):
    """Draws per tree: n, the count, or max(1, floor(fraction * W)) with W the
    total sample weight (n without weights), as scikit-learn >= 1.9."""
    if max_samples_mode == 1:
        return int(max_samples)
    if max_samples_mode == 2:
        return max(1, int(np.floor(max_samples * (n if total_weight is None else total_weight))))
    return n


def bootstrap_counts(seed, t, n, nb, cum=None):
    """Per-sample counts (n,) of tree t's bootstrap: nb draws of stream 2**32 + t,
    uniform over the rows (mfs_rng_below) without weights; with the prefix sums
    `cum` of the weights, row i with probability w_i / W: u = uniform * W (two
    32-bit words -> 53 bits, as mfs_rng_uniform), the first row with cum > u."""
    if cum is None:
        idx = rng_below(seed, BOOTSTRAP_STREAM + t, n, nb)
    else:
        words = philox(seed, BOOTSTRAP_STREAM + t, np.arange((2 * nb + 3) // 4)).ravel().astype(np.uint64)[:2 * nb]
        bits = ((words[0::2] << np.uint64(21)) ^ (words[1::2] >> np.uint64(11))) & np.uint64((1 << 53) - 1)
        W = cum[-1]
        u = bits.astype(np.float64) * (1.0 / 9007199254740992.0) * W
        u = np.where(u < W, u, np.nextafter(W, 0.0))  # the product can round up to W
        idx = np.searchsorted(cum, u, side="right")
    return np.bincount(idx, minlength=n).astype(np.float64)


def _importances(left, right, feature, impurity, wn, d):
    imp = np.zeros(d)
    inner = np.flatnonzero(left != -1)
    for q in inner:  # tree order: sums as the C loop does
        imp[feature[q]] += wn[q] * impurity[q] - wn[left[q]] * impurity[left[q]] - wn[right[q]] * impurity[right[q]]
    imp /= wn[0]
    s = imp.sum()
    return imp / s if s > 0 else imp


def leaves(state, X, t):
    """The tree-local leaf of each row of X in tree t."""
    off = state["tree_offsets"]
    o, e = int(off[t]), int(off[t + 1])
    L, R = state["children_left"][o:e], state["children_right"][o:e]
    F, TH = state["feature"][o:e], state["threshold"][o:e]
    X = np.asarray(X, dtype=np.float32)
    node = np.zeros(len(X), dtype=np.int64)
    active = np.flatnonzero(L[node] != -1)
    while len(active):
        q = node[active]
        go_left = X[active, F[q]].astype(np.float64) <= TH[q]
        node[active] = np.where(go_left, L[q], R[q])
        active = active[L[node[active]] != -1]
    return node


def apply(state, X, **params):
    T = len(state["tree_offsets"]) - 1
    return np.stack([leaves(state, X, t) for t in range(T)], axis=1).astype(np.int64)


def _sum(state, X):
    off, val = state["tree_offsets"], state["value"]
    acc = np.zeros((len(X), val.shape[1]))
    for t in range(len(off) - 1):
        acc += val[int(off[t]) + leaves(state, X, t)]
    return acc


def fit(X, y, n_estimators=100, criterion=0, split_algorithm=0, max_depth=-1, max_features_mode=1,
        max_features=1.0, bootstrap=1, min_samples_split=2.0, min_samples_leaf=1.0,
        min_weight_fraction_leaf=0.0, min_impurity_decrease=0.0, max_leaf_nodes=-1, oob_score=0,
        max_samples_mode=0, max_samples=1.0, random_state=0, n_classes=0, sample_weight=None, verbose=0,
        ccp_alpha=0.0, class_weight_subsample=0):
    from . import decision_tree as _tree  # the reference CART (imported when a forest is grown)
    X = np.ascontiguousarray(X, dtype=np.float32)
    n, d = X.shape
    cls = criterion != 2
    if cls:
        y = np.asarray(y, dtype=np.int32)
        K = int(n_classes) if n_classes else int(y.max()) + 1
        V = K
    else:
        y = np.asarray(y, dtype=np.float32)
        V = 1 if y.ndim == 1 else y.shape[1]
    if oob_score and not bootstrap:
        raise ValueError("random_forest reference: oob_score needs bootstrap")
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    cum = None if sw is None or not bootstrap else np.cumsum(sw)  # sequential sums, as the C loop
    nb = n_bootstrap(n, max_samples_mode, max_samples, None if cum is None else cum[-1]) if bootstrap else n
    if cum is not None and np.all(sw == sw[0]):
        cum = None  # equal weights draw uniformly: the unweighted draws, the same forest
    tree_params = dict(criterion=criterion, max_depth=max_depth,
                       max_features_mode=max_features_mode, max_features=max_features,
                       min_samples_split=min_samples_split, min_samples_leaf=min_samples_leaf,
                       min_weight_fraction_leaf=min_weight_fraction_leaf,
                       min_impurity_decrease=min_impurity_decrease, max_leaf_nodes=max_leaf_nodes,
                       random_state=random_state, n_classes=V if cls else 0)
    split = split_algorithm or (_tree.HIST if n >= _tree.AUTO_HIST_MIN_SAMPLES else _tree.EXACT)
    bins = _tree.make_bins(X) if split == _tree.HIST else None  # binned once for every tree
    trees, masks = [], []
    for t in range(n_estimators):
        if bootstrap:
            counts = bootstrap_counts(random_state, t, n, nb, cum)
            w = counts  # with weights, they chose the draws; the tree sees the counts
            if class_weight_subsample:  # "balanced" over this tree's draws
                per = np.bincount(y, weights=counts, minlength=V)
                k_drawn = np.count_nonzero(per)
                with np.errstate(divide="ignore"):
                    cw = np.where(per > 0, counts.sum() / (k_drawn * per), 0.0)
                w = counts * cw[y]
            masks.append(counts == 0)
        else:
            w = sw
        trees.append(_tree.prune(_tree.build(X, y, sample_weight=w, stream=t, split_algorithm=split, bins=bins,
                                             **tree_params), ccp_alpha))
        if verbose:
            print(f"random_forest reference: tree {t + 1} of {n_estimators}, "
                  f"{len(trees[-1]['children_left'])} nodes", file=sys.stderr)
    state = {name: np.concatenate([tr[name] for tr in trees]) for name in
             ("children_left", "children_right", "feature", "threshold", "value", "impurity",
              "weighted_n_node_samples", "n_node_samples")}
    sizes = [len(tr["children_left"]) for tr in trees]
    state["tree_offsets"] = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    state["tree_info"] = np.array([[tr["info"][0], tr["info"][1]] for tr in trees], dtype=np.int64)
    imps = [_importances(tr["children_left"], tr["children_right"], tr["feature"], tr["impurity"],
                         tr["weighted_n_node_samples"], d) for tr in trees if len(tr["children_left"]) > 1]
    imp = np.zeros(d)
    for one in imps:
        imp += one
    if imps:
        imp /= len(imps)
        if imp.sum() > 0:
            imp /= imp.sum()
    state["feature_importances"] = imp
    state["info"] = np.array([V if cls else 0, 1 if cls else V, nb, n], dtype=np.int64)
    if oob_score:
        pred, count = np.zeros((n, V)), np.zeros(n)
        for t, mask in enumerate(masks):
            rows = np.flatnonzero(mask)
            if len(rows):
                pred[rows] += state["value"][int(state["tree_offsets"][t]) + leaves(state, X[rows], t)]
                count[rows] += 1
        pred /= np.maximum(count, 1)[:, None]
        if cls:
            state["oob_decision_function"] = pred
            state["oob_score"] = np.float64(np.mean(pred.argmax(axis=1) == y))
        else:
            Y = y.reshape(n, V).astype(np.float64)
            r2 = []
            for k in range(V):
                ss_res = ((Y[:, k] - pred[:, k]) ** 2).sum()
                ss_tot = ((Y[:, k] - Y[:, k].mean()) ** 2).sum()
                r2.append(1 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0))
            state["oob_prediction"] = pred
            state["oob_score"] = np.float64(np.mean(r2))
    return state


def predict_proba(state, X, **params):
    T = len(state["tree_offsets"]) - 1
    return (_sum(state, X) / T).astype(np.float32)


def predict(state, X, criterion=0, **params):
    acc = _sum(state, X)
    if criterion != 2:
        return acc.argmax(axis=1).astype(np.int32)
    out = (acc / (len(state["tree_offsets"]) - 1)).astype(np.float32)
    return out[:, 0] if out.shape[1] == 1 else out
