"""Reference CART in numpy: the tree the C library grows (src_c/classical/tree.c),
written from scikit-learn's rules, not from the C code's structure: for each
node and feature the values are sorted and every split is scored at once with
cumulative sums (exact), or the node's per-bin sums come from np.bincount over
the bin codes (hist).

Rules, as scikit-learn's BestSplitter / DepthFirstTreeBuilder: a candidate
threshold lies between neighbouring sorted values that differ by more than
1e-7 (in float32) and is their midpoint x_lo/2 + x_hi/2 in float64; a sample
goes left when x <= threshold; a node is a leaf when depth >= max_depth, it has
fewer than min_samples_split (or 2 min_samples_leaf) samples, less than 2
min_weight_leaf weight, impurity <= machine epsilon, no valid split, or an
improvement below min_impurity_decrease; the best split has the largest proxy
improvement, the first one in visiting order on ties (features in index order
when all are visited). Features known to be constant at an ancestor are
skipped. With max_features < d, features are drawn as scikit-learn does
(Fisher-Yates, drawing on until max_features non-constant ones were visited)
with the library's Philox4x32-10 stream (seed random_state, stream `stream`),
bit for bit. max_leaf_nodes grows best-first (largest improvement first, the
older node on ties). Hist: 256 quantile bins per feature from (a Philox sample
of at most 2^18 of) the values, empty bins dropped; the threshold between two
bins is the midpoint of the largest value of the lower and the smallest of the
upper bin. Nothing here imports the native library."""
import heapq

import numpy as np

GINI, ENTROPY, SQUARED_ERROR = 0, 1, 2
EXACT, HIST = 1, 2
AUTO_HIST_MIN_SAMPLES = 500000  # MFS_TREE_AUTO_HIST_MIN_SAMPLES
BIN_SAMPLE = 1 << 18            # TREE_BIN_SAMPLE
MAX_BINS = 256
FEATURE_THRESHOLD = np.float32(1e-7)
EPSILON = np.finfo(np.float64).eps
BIN_SEED = 0x62696E73           # "bins"
MF_ALL, MF_SQRT, MF_LOG2, MF_COUNT, MF_FRACTION = range(5)

# ---- Philox4x32-10 (src_c/core/rng.h), one word at a time ----------------------
_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK = 0xFFFFFFFF


def _philox_block(seed, stream, counter):
    c0, c1 = counter & _MASK, (counter >> 32) & _MASK
    c2, c3 = stream & _MASK, (stream >> 32) & _MASK
    k0, k1 = seed & _MASK, (seed >> 32) & _MASK
    for _ in range(10):
        p0, p1 = _M0 * c0, _M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & _MASK, p1 & _MASK, ((p0 >> 32) ^ c3 ^ k1) & _MASK, p0 & _MASK
        k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
    return (c0, c1, c2, c3)


class PhiloxStream:
    """mfs_rng: successive 32-bit words of (seed, stream), counters 0, 1, ..."""

    def __init__(self, seed, stream):
        self.seed, self.stream = seed & 0xFFFFFFFFFFFFFFFF, stream & 0xFFFFFFFFFFFFFFFF
        self.counter, self.buf = 0, []

    def u32(self):
        if not self.buf:
            self.buf = list(_philox_block(self.seed, self.stream, self.counter))
            self.counter += 1
        return self.buf.pop(0)

    def below(self, n):
        """mfs_rng_below: uniform in [0, n) by 64-bit rejection sampling."""
        if n <= 1:
            return 0
        limit = (2**64 - 1) - (2**64 - 1) % n
        while True:
            x = (self.u32() << 32) | self.u32()
            if x < limit:
                return x % n


# ---- float keys: the order of float32 values as unsigned integers ---------------
def _keys(v):
    u = np.ascontiguousarray(v, dtype=np.float32).view(np.uint32)
    return np.where(u & np.uint32(0x80000000), ~u, u | np.uint32(0x80000000))


def _from_keys(k):
    k = np.asarray(k, dtype=np.uint32)
    u = np.where(k & np.uint32(0x80000000), k & np.uint32(0x7FFFFFFF), ~k)
    return u.view(np.float32)


def make_bins(X):
    """codes (d, n) uint8, n_bins (d), thresholds (d, 256) of the hist finder."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    n, d = X.shape
    ss = min(n, BIN_SAMPLE)
    rows = None
    if ss < n:
        r = PhiloxStream(BIN_SEED, 0)
        rows = np.array([r.below(n) for _ in range(ss)], dtype=np.int64)
    codes = np.zeros((d, n), dtype=np.uint8)
    n_bins = np.zeros(d, dtype=np.int32)
    thr = np.full((d, MAX_BINS), np.inf)
    for f in range(d):
        col = X[:, f]
        sk = np.sort(_keys(col if rows is None else col[rows]))
        uk = np.unique(sk)
        if len(uk) <= MAX_BINS:
            ub = _from_keys(uk)
        else:
            ub = []
            for b in range(MAX_BINS):
                q = max(((b + 1) * ss) // MAX_BINS - 1, 0)
                v = _from_keys(sk[q:q + 1])[0]
                if not ub or v > ub[-1]:
                    ub.append(v)
            ub = np.array(ub, dtype=np.float32)
        code = np.minimum(np.searchsorted(ub, col, side="left"), len(ub) - 1)
        cnt = np.bincount(code, minlength=len(ub))
        keep = np.flatnonzero(cnt > 0)
        remap = np.cumsum(cnt > 0) - 1
        code = remap[code]
        lo = np.full(len(keep), np.inf, dtype=np.float32)
        hi = np.full(len(keep), -np.inf, dtype=np.float32)
        np.minimum.at(lo, code, col)
        np.maximum.at(hi, code, col)
        codes[f] = code
        n_bins[f] = max(len(keep), 1)
        for b in range(len(keep) - 1):
            m = float(hi[b]) / 2.0 + float(lo[b + 1]) / 2.0
            thr[f, b] = float(hi[b]) if m >= float(lo[b + 1]) else m
    return codes, n_bins, thr


# ---- impurities, as scikit-learn computes them ------------------------------------
def _entropy_terms(counts, w):
    with np.errstate(divide="ignore", invalid="ignore"):
        p = counts / w
        t = np.where(counts > 0.0, p * (np.log(np.where(counts > 0.0, p, 1.0)) / np.log(2.0)), 0.0)
    return -t.sum(axis=-1)


def node_impurity(criterion, s, w, sq, T):
    if criterion == GINI:
        return 1.0 - np.sum(s * s) / (w * w)
    if criterion == ENTROPY:
        return float(_entropy_terms(s, w))
    imp = sq / w
    for t in range(T):
        imp -= (s[t] / w) ** 2
    return imp / T


def children_impurity(criterion, tot, wn, sq_tot, sl, wl, sq_l, T):
    """scikit-learn's children_impurity; sl (..., V) and wl (...) may be batches."""
    wr = wn - wl
    sr = tot - sl
    if criterion == GINI:
        il = 1.0 - np.sum(sl * sl, axis=-1) / (wl * wl)
        ir = 1.0 - np.sum(sr * sr, axis=-1) / (wr * wr)
        return il, ir
    if criterion == ENTROPY:
        return _entropy_terms(sl, wl[..., None] if np.ndim(wl) else wl), \
            _entropy_terms(sr, wr[..., None] if np.ndim(wr) else wr)
    il, ir = sq_l / wl, (sq_tot - sq_l) / wr
    for t in range(T):
        il = il - (sl[..., t] / wl) ** 2
        ir = ir - (sr[..., t] / wr) ** 2
    return il / T, ir / T


def proxy(criterion, tot, wn, sl, wl, T):
    wr = wn - wl
    if criterion == SQUARED_ERROR:
        sr = tot - sl
        return np.sum(sl * sl, axis=-1) / wl + np.sum(sr * sr, axis=-1) / wr
    il, ir = children_impurity(criterion, tot, wn, 0.0, sl, wl, 0.0, T)
    return -wr * ir - wl * il


# ---- the builder --------------------------------------------------------------
class _Builder:
    def __init__(self, X, y, w, criterion, K, T, cfg, bins, stream):
        self.X, self.w, self.criterion, self.K, self.T = X, w, criterion, K, T
        self.cls = criterion != SQUARED_ERROR
        n = X.shape[0]
        if self.cls:
            Y = np.zeros((n, K))
            Y[np.arange(n), y] = 1.0
            self.Yw = Y * w[:, None]  # per-sample value rows times weight
            self.sq = np.zeros(n)
        else:
            Y = np.asarray(y, dtype=np.float32).astype(np.float64).reshape(n, T)
            self.Yw = Y * w[:, None]
            self.sq = np.sum(w[:, None] * Y * Y, axis=1)
        self.cfg = cfg
        self.bins = bins
        d = X.shape[1]
        self.d = d
        self.rng = PhiloxStream(cfg["seed"], stream)
        self.features = list(range(d))
        self.constant_features = [0] * d
        self.W = float(np.sum(w))
        self.nodes = []

    def stats(self, idx):
        return self.Yw[idx].sum(axis=0), float(self.w[idx].sum()), float(self.sq[idx].sum())

    def _scan(self, f, idx, keys, tot, wn, sq_tot, hist):
        """Best (proxy, n_left, threshold, bin) of feature f, or None; 'const' if constant."""
        cfg = self.cfg
        order = np.argsort(keys, kind="stable")
        k = keys[order]
        m = len(idx)
        if hist:
            if k[0] == k[-1]:
                return "const"
            ok = k[1:] != k[:-1]
        else:
            v = _from_keys(k)
            if v[-1] <= np.float32(v[0] + FEATURE_THRESHOLD):
                return "const"
            ok = v[1:] > (v[:-1] + FEATURE_THRESHOLD).astype(np.float32)
        nl = np.arange(1, m)
        ok &= (nl >= cfg["min_samples_leaf"]) & (m - nl >= cfg["min_samples_leaf"])
        srt = idx[order]
        sl = np.cumsum(self.Yw[srt], axis=0)[:-1]
        wl = np.cumsum(self.w[srt])[:-1]
        ok &= (wl >= cfg["min_weight_leaf"]) & (wn - wl >= cfg["min_weight_leaf"])
        cand = np.flatnonzero(ok)
        if len(cand) == 0:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            pr = proxy(self.criterion, tot, wn, sl[cand], wl[cand], self.T)
        j = int(np.argmax(pr))
        p = int(cand[j])
        if hist:
            b = int(k[p])
            return float(pr[j]), p + 1, float(self.bins[2][f, b]), b
        lo, hi = float(v[p]), float(v[p + 1])
        t = lo / 2.0 + hi / 2.0
        return float(pr[j]), p + 1, (lo if t >= hi else t), -1

    def eval_feature(self, f, idx, tot, wn, sq_tot):
        hist = self.bins is not None
        keys = self.bins[0][f, idx].astype(np.uint32) if hist else _keys(self.X[idx, f])
        return self._scan(f, idx, keys, tot, wn, sq_tot, hist)

    def find_split(self, idx, tot, wn, sq_tot, n_known):
        """(best or None, n_total_constants)."""
        d, best = self.d, None
        if self.cfg["max_features"] >= d:
            known = set(self.constant_features[:n_known])
            nc = n_known
            for f in range(d):
                if f in known:
                    continue
                r = self.eval_feature(f, idx, tot, wn, sq_tot)
                if r == "const":
                    self.constant_features[nc] = f
                    nc += 1
                elif r is not None and (best is None or r[0] > best[0]):
                    best = (r[0], r[1], r[2], r[3], f)
            return best, nc
        feats, consts = self.features, self.constant_features
        f_i, n_visited, n_found, n_drawn = d, 0, 0, 0
        n_total = n_known
        mf = self.cfg["max_features"]
        while f_i > n_total and (n_visited < mf or n_visited <= n_found + n_drawn):
            n_visited += 1
            f_j = n_drawn + self.rng.below(f_i - n_found - n_drawn)
            if f_j < n_known:
                feats[n_drawn], feats[f_j] = feats[f_j], feats[n_drawn]
                n_drawn += 1
                continue
            f_j += n_found
            f = feats[f_j]
            r = self.eval_feature(f, idx, tot, wn, sq_tot)
            if r == "const":
                feats[f_j], feats[n_total] = feats[n_total], f
                n_found += 1
                n_total += 1
                continue
            f_i -= 1
            feats[f_j], feats[f_i] = feats[f_i], f
            if r is not None and (best is None or r[0] > best[0]):
                best = (r[0], r[1], r[2], r[3], f)
        feats[:n_known] = consts[:n_known]
        consts[n_known:n_known + n_found] = feats[n_known:n_known + n_found]
        return best, n_total

    def split(self, idx, tot, wn, sq, impurity, n_known):
        """(is_leaf, feature, threshold, left idx, right idx, il, ir, improvement, n_total)."""
        best, nc = self.find_split(idx, tot, wn, sq, n_known)
        if best is None:
            return True, None, None, None, None, 0.0, 0.0, 0.0, nc
        _, nl, thr, b, f = best
        if self.bins is not None:
            go = self.bins[0][f, idx] <= b
        else:
            go = self.X[idx, f].astype(np.float64) <= thr
        left, right = idx[go], idx[~go]
        assert len(left) == nl, "reference: partition and split disagree"
        sl, wl, sql = self.stats(left)
        il, ir = children_impurity(self.criterion, tot, wn, sq, sl, wl, sql, self.T)
        il, ir = float(il), float(ir)
        wr = wn - wl
        improvement = (wn / self.W) * (impurity - (wr / wn * ir) - (wl / wn * il))
        leaf = improvement + EPSILON < self.cfg["min_impurity_decrease"]
        return leaf, f, thr, left, right, il, ir, improvement, nc

    def stop(self, depth, m, wn):
        c = self.cfg
        return ((c["max_depth"] >= 0 and depth >= c["max_depth"]) or m < c["min_samples_split"]
                or m < 2 * c["min_samples_leaf"] or wn < 2 * c["min_weight_leaf"])

    def add(self, parent, is_left, leaf, f, thr, impurity, m, wn, s):
        q = len(self.nodes)
        if parent >= 0:
            self.nodes[parent][0 if is_left else 1] = q
        val = s / wn
        self.nodes.append([-1, -1, -2 if leaf else f, -2.0 if leaf else thr, val, impurity, m, wn])
        return q

    def depth_first(self, idx0):
        stack = [(idx0, 0, -1, False, np.inf, 0)]
        first, max_depth = True, 0
        while stack:
            idx, depth, parent, is_left, impurity, n_known = stack.pop()
            s, wn, sq = self.stats(idx)
            leaf = self.stop(depth, len(idx), wn)
            if first:
                impurity, first = node_impurity(self.criterion, s, wn, sq, self.T), False
            leaf = leaf or impurity <= EPSILON
            f = thr = None
            if not leaf:
                leaf, f, thr, left, right, il, ir, _, n_known = self.split(idx, s, wn, sq, impurity, n_known)
            q = self.add(parent, is_left, leaf, f, thr, impurity, len(idx), wn, s)
            if not leaf:
                stack.append((right, depth + 1, q, False, ir, n_known))
                stack.append((left, depth + 1, q, True, il, n_known))
            max_depth = max(max_depth, depth)
        return max_depth

    def _frontier(self, idx, impurity, first, parent, is_left, depth):
        s, wn, sq = self.stats(idx)
        if first:
            impurity = node_impurity(self.criterion, s, wn, sq, self.T)
        leaf = self.stop(depth, len(idx), wn) or impurity <= EPSILON
        f = thr = left = right = None
        il = ir = impurity
        improvement = 0.0
        if not leaf:
            leaf, f, thr, left, right, il, ir, improvement, _ = self.split(idx, s, wn, sq, impurity, 0)
        q = self.add(parent, is_left, leaf, f, thr, impurity, len(idx), wn, s)
        if leaf:
            return dict(node=q, depth=depth, leaf=True, improvement=0.0)
        return dict(node=q, depth=depth, leaf=False, improvement=improvement, left=left, right=right, il=il, ir=ir)

    def best_first(self, idx0):
        max_split = self.cfg["max_leaf_nodes"] - 1
        heap = []
        root = self._frontier(idx0, np.inf, True, -1, True, 0)
        heapq.heappush(heap, (-root["improvement"], root["node"], root))
        max_depth = 0
        while heap:
            _, _, rec = heapq.heappop(heap)
            q = rec["node"]
            if rec["leaf"] or max_split <= 0:
                self.nodes[q][0:4] = [-1, -1, -2, -2.0]
            else:
                max_split -= 1
                a = self._frontier(rec["left"], rec["il"], False, q, True, rec["depth"] + 1)
                b = self._frontier(rec["right"], rec["ir"], False, q, False, rec["depth"] + 1)
                heapq.heappush(heap, (-a["improvement"], a["node"], a))
                heapq.heappush(heap, (-b["improvement"], b["node"], b))
            max_depth = max(max_depth, rec["depth"])
        return max_depth


def _importances(left, right, feature, impurity, wn, d):
    imp = np.zeros(d)
    for q in np.flatnonzero(left != -1):
        imp[feature[q]] += wn[q] * impurity[q] - wn[left[q]] * impurity[left[q]] - wn[right[q]] * impurity[right[q]]
    imp /= wn[0]
    s = imp.sum()
    return imp / s if s > 0 else imp


def resolve(n, d, W, max_depth=-1, max_features_mode=MF_ALL, max_features=0.0, min_samples_split=2.0,
            min_samples_leaf=1.0, min_weight_fraction_leaf=0.0, min_impurity_decrease=0.0, max_leaf_nodes=-1,
            random_state=0, **_):
    """The resolved configuration, as decision_tree.c resolves its params."""
    msl = int(min_samples_leaf) if min_samples_leaf >= 1 else int(np.ceil(min_samples_leaf * n))
    msl = max(msl, 1)
    if min_samples_split >= 2:
        mss = int(min_samples_split)
    else:
        mss = max(int(np.ceil(min_samples_split * n)), 2)
    mss = max(mss, 2 * msl)
    if max_features_mode == MF_SQRT:
        mf = max(1, int(np.sqrt(d)))
    elif max_features_mode == MF_LOG2:
        mf = max(1, int(np.log2(d)))
    elif max_features_mode == MF_COUNT:
        mf = int(max_features)
        if mf > d:
            raise ValueError(f"decision_tree reference: max_features is {mf}, X has only {d} features")
    elif max_features_mode == MF_FRACTION:
        mf = max(1, int(max_features * d))
    else:
        mf = d
    return dict(max_depth=int(max_depth), min_samples_split=mss, min_samples_leaf=msl,
                min_weight_leaf=min_weight_fraction_leaf * W, min_impurity_decrease=float(min_impurity_decrease),
                max_features=mf, max_leaf_nodes=int(max_leaf_nodes), seed=int(random_state))


def build(X, y, sample_weight=None, stream=0, criterion=GINI, split_algorithm=0, n_classes=0, bins=None, **params):
    """One tree: a dict of the C model's node arrays and "info" (max depth,
    leaves, n_classes, n_outputs, y ndim). bins: make_bins(X), reused across
    trees (computed here when None and the hist finder is used)."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    n, d = X.shape
    cls = criterion != SQUARED_ERROR
    if cls:
        y = np.asarray(y, dtype=np.int64)
        K = int(n_classes) if n_classes else int(y.max()) + 1
        if y.min() < 0 or y.max() >= K:
            raise ValueError(f"decision_tree reference: labels must be in 0..{K - 1}")
        T, y_ndim = 1, 1
    else:
        y = np.asarray(y, dtype=np.float32)
        y_ndim = y.ndim
        T = 1 if y.ndim == 1 else y.shape[1]
        K = 0
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError("decision_tree reference: sample weights must be finite and >= 0")
    W = float(np.sum(w))
    idx0 = np.flatnonzero(w != 0.0)
    if len(idx0) == 0 or not W > 0:
        raise ValueError(f"decision_tree reference: the sample weights sum to {W}")
    cfg = resolve(n, d, W, **params)
    if split_algorithm == 0:
        split_algorithm = HIST if n >= AUTO_HIST_MIN_SAMPLES else EXACT
    if split_algorithm == HIST and bins is None:
        bins = make_bins(X)
    b = _Builder(X, y, w, criterion, K, T, cfg, bins if split_algorithm == HIST else None, stream)
    depth = b.best_first(idx0) if cfg["max_leaf_nodes"] > 0 else b.depth_first(idx0)
    nodes = b.nodes
    L = np.array([q[0] for q in nodes], dtype=np.int32)
    state = {
        "children_left": L,
        "children_right": np.array([q[1] for q in nodes], dtype=np.int32),
        "feature": np.array([q[2] for q in nodes], dtype=np.int32),
        "threshold": np.array([q[3] for q in nodes], dtype=np.float64),
        "value": np.array([q[4] for q in nodes], dtype=np.float64).reshape(len(nodes), K if cls else T),
        "impurity": np.array([q[5] for q in nodes], dtype=np.float64),
        "n_node_samples": np.array([q[6] for q in nodes], dtype=np.int64),
        "weighted_n_node_samples": np.array([q[7] for q in nodes], dtype=np.float64),
    }
    state["info"] = np.array([depth, int(np.sum(L == -1)), K, T, y_ndim], dtype=np.int64)
    return state


def _weakest_links(state, ccp_alpha):
    """Minimal cost-complexity pruning (Breiman et al. 1984, ch. 3), written
    independently of the C code: R(t) = w_t imp_t / w_root, and while the tree
    has a split, the internal node of smallest (R(t) - R(T_t)) / (leaves - 1)
    (the first of equal ones) becomes a leaf if that alpha is <= ccp_alpha.
    Returns (is_leaf mask of the pruned tree, the path's alphas, the path's
    total leaf costs), the path starting at (0, R(T))."""
    L, R = state["children_left"], state["children_right"]
    n = len(L)
    r_node = state["weighted_n_node_samples"] * state["impurity"] / state["weighted_n_node_samples"][0]
    parent = np.full(n, -1, dtype=np.int64)
    inner = np.flatnonzero(L != -1)
    parent[L[inner]] = inner
    parent[R[inner]] = inner
    is_leaf = L == -1
    r_branch = np.zeros(n)
    n_leaves = np.zeros(n, dtype=np.int64)
    for q in np.flatnonzero(is_leaf):  # leaf costs up to the root, in index order
        r_branch[q] = r_node[q]
        a = q
        while a != 0:
            a = parent[a]
            r_branch[a] += r_node[q]
            n_leaves[a] += 1
    cand = ~is_leaf
    alive = np.ones(n, dtype=bool)
    alphas, costs = [0.0], [r_branch[0]]
    while cand[0]:
        idx = np.flatnonzero(cand)
        a_eff = (r_node[idx] - r_branch[idx]) / (n_leaves[idx] - 1)
        k = int(np.argmin(a_eff))  # the first of the smallest
        q, best = int(idx[k]), float(a_eff[k])
        if ccp_alpha < best:
            break
        todo = [q]
        while todo:
            u = todo.pop()
            if not alive[u]:
                continue
            alive[u] = cand[u] = is_leaf[u] = False
            if L[u] != -1:
                todo += [int(L[u]), int(R[u])]
        alive[q] = is_leaf[q] = True
        dropped, rdiff = n_leaves[q] - 1, r_node[q] - r_branch[q]
        n_leaves[q], r_branch[q] = 0, r_node[q]
        a = parent[q]
        while a != -1:
            n_leaves[a] -= dropped
            r_branch[a] += rdiff
            a = parent[a]
        alphas.append(best)
        costs.append(r_branch[0])
    return is_leaf, np.array(alphas), np.array(costs)


def ccp_path(state):
    """scikit-learn's cost_complexity_pruning_path of a grown tree: the
    effective alphas at which the weakest links go, and the total leaf
    impurity (weighted by w_t / w_root) of each pruned tree."""
    _, alphas, costs = _weakest_links(state, np.inf)
    return alphas, costs


def prune(state, ccp_alpha):
    """The tree pruned at ccp_alpha, renumbered in preorder (left first)."""
    if not ccp_alpha > 0:
        return state
    is_leaf, _, _ = _weakest_links(state, ccp_alpha)
    L, R = state["children_left"], state["children_right"]
    order, depth_of, stack = [], {}, [(0, 0)]
    while stack:
        q, depth = stack.pop()
        order.append(q)
        depth_of[q] = depth
        if not is_leaf[q]:
            stack += [(int(R[q]), depth + 1), (int(L[q]), depth + 1)]
    order = np.array(order, dtype=np.int64)
    new = np.full(len(L), -1, dtype=np.int64)
    new[order] = np.arange(len(order))
    leaf = is_leaf[order]
    out = {k: np.array(v[order]) for k, v in state.items()
           if k in ("threshold", "value", "impurity", "n_node_samples", "weighted_n_node_samples", "feature")}
    out["children_left"] = np.where(leaf, -1, new[L[order]]).astype(np.int32)
    out["children_right"] = np.where(leaf, -1, new[R[order]]).astype(np.int32)
    out["feature"] = np.where(leaf, -2, out["feature"]).astype(np.int32)
    out["threshold"] = np.where(leaf, -2.0, out["threshold"])
    info = np.array(state["info"])
    info[0], info[1] = max(depth_of.values()), int(np.sum(leaf))
    out["info"] = info
    return out


def fit(X, y, sample_weight=None, ccp_alpha=0.0, **params):
    state = prune(build(X, y, sample_weight=sample_weight, **params), ccp_alpha)
    d = np.asarray(X).shape[1]
    state["feature_importances"] = _importances(state["children_left"], state["children_right"], state["feature"],
                                                state["impurity"], state["weighted_n_node_samples"], d)
    return state


def apply(state, X, **_):
    """The leaf (node index) of each row of X, int64."""
    L, R = state["children_left"], state["children_right"]
    F, TH = state["feature"], state["threshold"]
    X = np.asarray(X, dtype=np.float32)
    node = np.zeros(len(X), dtype=np.int64)
    active = np.flatnonzero(L[node] != -1)
    while len(active):
        q = node[active]
        go_left = X[active, F[q]].astype(np.float64) <= TH[q]
        node[active] = np.where(go_left, L[q], R[q])
        active = active[L[node[active]] != -1]
    return node


def predict_proba(state, X, **_):
    v = state["value"][apply(state, X)]
    s = v.sum(axis=1, keepdims=True)
    return v / np.where(s == 0.0, 1.0, s)


def predict(state, X, **_):
    info = state["info"]
    v = state["value"][apply(state, X)]
    if info[2] > 0:
        return np.argmax(v, axis=1).astype(np.int32)
    return v[:, 0] if info[4] == 1 else v
