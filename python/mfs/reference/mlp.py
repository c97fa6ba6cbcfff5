"""Reference multi-layer perceptron in numpy (float64): the same network, the
same initialization, the same shuffling, validation split and dropout masks
(the core Philox generator, re-implemented in layers.philox), the same loss,
optimizers and schedules as src_c/neural (mlp.c, train.c, optim.c), written
out step by step with the layers of layers.py. Its state has the C model's
named arrays, so the two are compared array by array.

Params: the C params dict (mfs_mlp_params' fields), flat: the training fields of its
`train` member (mfs_train_params) by their own names, as the estimators build it
and _native.struct_to_dict reads it."""
import math

import numpy as np

from . import layers as ly

REGRESSION, CLASSIFICATION, MULTILABEL = 0, 1, 2
SGD, ADAM, ADAMW = 0, 1, 2
CONSTANT, INVSCALING, ADAPTIVE, COSINE = 0, 1, 2, 3
SOFTMAX_CE, SIGMOID_CE, MSE = 0, 1, 2
(CNT_SAMPLES_SEEN, CNT_STEPS, CNT_N_ITER, CNT_LR, CNT_BEST_LOSS, CNT_BEST_SCORE, CNT_NO_IMPROVEMENT, CNT_LOSS,
 CNT_EPOCHS_TOTAL, CNT_STOPPED) = range(10)
STREAM_INIT, STREAM_SPLIT, STREAM_SHUFFLE, STREAM_DROPOUT = 1, 2, 1 << 61, 1 << 62
_U64_MAX = (1 << 64) - 1


class Rng:
    """mfs_rng of src_c/core/rng.h: a sequential stream of Philox words."""

    def __init__(self, seed, stream):
        self.seed, self.stream = int(seed), int(stream)
        self.words = np.empty(0, dtype=np.uint32)
        self.pos = 0
        self.counter = 0

    def _refill(self, need):
        nblk = max(256, (need + 3) // 4)
        blocks = ly.philox(self.seed, self.stream, np.arange(self.counter, self.counter + nblk, dtype=np.uint64))
        self.counter += nblk
        self.words = np.concatenate([self.words[self.pos:], blocks.reshape(-1)])
        self.pos = 0

    def u32(self, count):
        if self.pos + count > len(self.words):
            self._refill(count)
        w = self.words[self.pos:self.pos + count]
        self.pos += count
        return w

    def uniform(self, count):
        """count doubles in [0, 1), two words each (mfs_rng_uniform)."""
        w = self.u32(2 * count).astype(np.uint64)
        hi, lo = w[0::2], w[1::2]
        x = ((hi << np.uint64(21)) ^ (lo >> np.uint64(11))) & np.uint64((1 << 53) - 1)
        return x.astype(np.float64) * (1.0 / 9007199254740992.0)

    def below(self, n):
        """mfs_rng_below: uniform integer in [0, n) by rejection."""
        if n <= 1:
            return 0
        limit = _U64_MAX - _U64_MAX % n
        while True:
            hi, lo = (int(v) for v in self.u32(2))
            x = (hi << 32) | lo
            if x < limit:
                return x % n


def _shuffle(v, rng):
    for i in range(len(v) - 1, 0, -1):
        j = rng.below(i + 1)
        v[i], v[j] = v[j], v[i]


# ---- the network ------------------------------------------------------------------
def _hidden(p):
    return [int(h) for h in list(p["hidden_layer_sizes"])[:int(p["n_hidden"])]]


def _out_units(p, K):
    return 1 if p["task"] == CLASSIFICATION and K == 2 else K


def _loss_kind(p, K):
    if p["task"] == REGRESSION:
        return MSE
    if p["task"] == MULTILABEL or K == 2:
        return SIGMOID_CE
    return SOFTMAX_CE


def layer_units(p, d, K):
    return [d] + _hidden(p) + [_out_units(p, K)]


def unpack(params, units):
    """coefs (units[i], units[i+1]) and intercepts (units[i+1]) from the flat params."""
    coefs, intercepts, off = [], [], 0
    for a, b in zip(units[:-1], units[1:]):
        coefs.append(params[off:off + a * b].reshape(a, b))
        off += a * b
        intercepts.append(params[off:off + b])
        off += b
    return coefs, intercepts


def init_params(p, units):
    """scikit-learn's Glorot-uniform bounds, drawn from Philox stream 1: W then b,
    layer after layer."""
    rng = Rng(p["random_state"], STREAM_INIT)
    factor = 2.0 if p["activation"] == ly.SIGMOID else 6.0
    out = []
    for a, b in zip(units[:-1], units[1:]):
        bound = math.sqrt(factor / (a + b))
        out.append(-bound + 2.0 * bound * rng.uniform(a * b))
        out.append(-bound + 2.0 * bound * rng.uniform(b))
    # the C model draws in double and stores float32
    return np.concatenate(out).astype(np.float32).astype(np.float64)


def _net_layer_count(p):
    return len(_hidden(p)) * (2 if p["dropout"] > 0 else 1) + 1


def forward(p, params, units, X, training=False, step=0, loss=SOFTMAX_CE):
    """Activations of every layer (eval: dropout off). Returns (acts, pre, z):
    acts[i] the input of linear layer i (after dropout), z the logits."""
    coefs, intercepts = unpack(params, units)
    n_layers = _net_layer_count(p)
    act = p["activation"]
    a = np.asarray(X, dtype=np.float64)
    acts, pre, outs, masks = [a], [], [], []
    net_index = 0
    for i in range(len(coefs) - 1):
        z = ly.linear_forward(a, coefs[i], intercepts[i])
        pre.append(z)
        a = ly.activation_forward(z, act)
        outs.append(a)
        net_index += 1
        if p["dropout"] > 0:
            stream = STREAM_DROPOUT + step * n_layers + net_index
            if training:
                keep = ly.dropout_keep(a.size, p["dropout"], p["random_state"], stream).reshape(a.shape)
                a = a * keep / (1.0 - p["dropout"])
                masks.append(keep)
            else:
                masks.append(None)
            net_index += 1
        acts.append(a)
    z = ly.linear_forward(a, coefs[-1], intercepts[-1])
    return acts, pre, outs, masks, z


def output(loss, z):
    if loss == SOFTMAX_CE:
        zz = z - z.max(axis=1, keepdims=True)
        e = np.exp(zz)
        return e / e.sum(axis=1, keepdims=True)
    if loss == SIGMOID_CE:
        return ly.sigmoid_forward(z)
    return z


def output_loss(z, Y, labels, loss, w=None):
    """The output layer's batch data loss and its gradient dz, as train.c: the
    mean over the rows, or with sample weights w (B,) scikit-learn's weighted
    mean: sum_b w_b loss_b / sum(w), each row of dz scaled by w_b / sum(w)."""
    B, K = z.shape
    sw = float(B) if w is None else float(np.sum(w))
    if loss == SOFTMAX_CE:
        probs, losses = ly.softmax_crossentropy_forward(z, labels)
        dz = ly.softmax_crossentropy_backward(probs, labels, 1.0 / sw)
        coef = 1.0
    elif loss == SIGMOID_CE:
        probs, losses = ly.sigmoid_crossentropy_forward(z, Y)
        dz = ly.sigmoid_crossentropy_backward(probs, Y, 1.0 / sw)
        coef = 1.0
    else:
        losses = ly.mse_forward(z, Y)
        dz = ly.mse_backward(z, Y, 0.5 / sw)
        coef = 1.0 / (2.0 * K)
    if w is not None:
        dz = dz * np.asarray(w, dtype=np.float64)[:, None]
        losses = losses * w
    return losses.sum() * coef / sw, dz


def loss_and_grad(p, params, units, X, Y, labels, loss, step=0, w=None):
    """scikit-learn's batch loss (data term + 0.5 alpha ||W||^2 / B for SGD /
    Adam; with sample weights w, / sum(w)) and the gradient of the data term
    (dW without the L2 term)."""
    acts, pre, outs, masks, z = forward(p, params, units, X, training=True, step=step, loss=loss)
    data_loss, dz = output_loss(z, Y, labels, loss, w)
    coefs, intercepts = unpack(params, units)
    dcoefs, dints = [None] * len(coefs), [None] * len(coefs)
    d = dz
    for i in range(len(coefs) - 1, -1, -1):
        dinp, dW, db = ly.linear_backward(d, acts[i], coefs[i])
        dcoefs[i], dints[i] = dW, db
        if i > 0:
            if p["dropout"] > 0:
                dinp = dinp * masks[i - 1] / (1.0 - p["dropout"])
            d = ly.activation_backward(dinp, outs[i - 1], pre[i - 1], p["activation"])
    grad = np.concatenate([np.concatenate([dW.ravel(), db]) for dW, db in zip(dcoefs, dints)])
    return data_loss, grad


def _decay_mask(units):
    m = []
    for a, b in zip(units[:-1], units[1:]):
        m.append(np.ones(a * b, dtype=bool))
        m.append(np.zeros(b, dtype=bool))
    return np.concatenate(m)


def optim_step(p, params, grad, state, t, lr, B, decay):
    """One step of optim.c's formulas (in float64). Returns the sum of squares
    of the decayed parameters before the update."""
    sumsq = float((params[decay] ** 2).sum())
    solver = p["solver"]
    n = params.size
    if solver != ADAMW and p["alpha"] > 0:
        grad = grad + np.where(decay, p["alpha"] / B * params, 0.0)
    if solver == SGD:
        mu = p["momentum"]
        v = state[:n]
        v[:] = mu * v - lr * grad
        nesterov = p["nesterovs_momentum"] and mu > 0
        params += (mu * v - lr * grad) if nesterov else v
    elif solver == ADAM:
        m, v = state[:n], state[n:]
        m[:] = p["beta_1"] * m + (1 - p["beta_1"]) * grad
        v[:] = p["beta_2"] * v + (1 - p["beta_2"]) * grad ** 2
        step = lr * math.sqrt(1 - p["beta_2"] ** t) / (1 - p["beta_1"] ** t)
        params -= step * m / (np.sqrt(v) + p["epsilon"])
    else:
        m, v = state[:n], state[n:]
        params *= np.where(decay, 1.0 - lr * p["alpha"], 1.0)
        m[:] = p["beta_1"] * m + (1 - p["beta_1"]) * grad
        v[:] = p["beta_2"] * v + (1 - p["beta_2"]) * grad ** 2
        params -= lr / (1 - p["beta_1"] ** t) * m / (np.sqrt(v) / math.sqrt(1 - p["beta_2"] ** t) + p["epsilon"])
    return sumsq


def _schedule(p, lr, samples_seen, epoch):
    if p["learning_rate"] == INVSCALING:
        return p["learning_rate_init"] / (samples_seen + 1.0) ** p["power_t"]
    if p["learning_rate"] == COSINE:
        f = min(epoch / p["max_iter"], 1.0)
        return p["learning_rate_init"] * 0.5 * (1.0 + math.cos(math.pi * f))
    return lr


def end_epoch(p, counters, ep_loss, vs, n_train, n_epochs, lr, e):
    """scikit-learn's end-of-epoch bookkeeping, shared by every network's
    reference (train.c does the same): the counters, the improvement count on
    the validation score vs (None without early stopping) or on the loss, the
    schedule and the stopping rule. Returns (lr, improved, finished); improved:
    vs is a new best (the caller keeps these parameters)."""
    counters[CNT_SAMPLES_SEEN] += n_train
    counters[CNT_EPOCHS_TOTAL] += 1
    counters[CNT_LOSS] = ep_loss
    improved = False
    if vs is not None:
        best = counters[CNT_BEST_SCORE]
        counters[CNT_NO_IMPROVEMENT] = 0 if vs >= best + p["tol"] else counters[CNT_NO_IMPROVEMENT] + 1
        if vs > best:
            counters[CNT_BEST_SCORE] = vs
            improved = True
    else:
        best = counters[CNT_BEST_LOSS]
        counters[CNT_NO_IMPROVEMENT] = 0 if ep_loss <= best - p["tol"] else counters[CNT_NO_IMPROVEMENT] + 1
        if ep_loss < best:
            counters[CNT_BEST_LOSS] = ep_loss
    counters[CNT_N_ITER] = n_epochs
    lr = _schedule(p, lr, counters[CNT_SAMPLES_SEEN], e)
    finished = False
    if counters[CNT_NO_IMPROVEMENT] > p["n_iter_no_change"]:
        if p["learning_rate"] == ADAPTIVE and lr > 1e-6:
            lr /= 5.0
            counters[CNT_NO_IMPROVEMENT] = 0
        else:
            finished = True
    counters[CNT_LR] = lr
    return lr, improved, finished


def check_diverged(kind, params32, epochs):
    """train.c's last check: a network whose (float32) parameters are not all
    finite is an error, not a silently useless model."""
    bad = ~np.isfinite(params32)
    if np.any(bad):
        raise ValueError(f"{kind}: the training diverged (a parameter is {float(params32[bad][0]):g} after {epochs} "
                         "epochs); lower learning_rate_init or scale the inputs")


def _split(p, labels, K, n):
    n_val = int(math.ceil(p["validation_fraction"] * n))
    if n_val < 2:
        raise ValueError(f"mlp: The validation set is too small: validation_fraction {p['validation_fraction']:g} "
                         f"of {n} rows gives {n_val}; increase validation_fraction or the size of your dataset")
    if n - n_val < 1:
        raise ValueError(f"mlp: validation_fraction {p['validation_fraction']:g} of {n} rows leaves no training rows")
    rng = Rng(p["random_state"], STREAM_SPLIT)
    is_val = np.zeros(n, dtype=bool)
    if labels is not None:
        count = np.bincount(labels, minlength=K)
        take = count * n_val // n
        rem = count * n_val % n
        given = int(take.sum())
        while given < n_val:
            best = -1
            for k in range(K):
                if take[k] >= count[k]:
                    continue
                if best < 0 or rem[k] > rem[best] or (rem[k] == rem[best] and count[k] > count[best]):
                    best = k
            if best < 0:
                break
            take[best] += 1
            rem[best] = -1
            given += 1
        for k in range(K):
            rows = list(np.flatnonzero(labels == k))
            _shuffle(rows, rng)
            is_val[rows[:take[k]]] = True
    else:
        rows = list(range(n))
        _shuffle(rows, rng)
        is_val[rows[:n_val]] = True
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def _score(loss, P, labels, Y, w=None):
    """Accuracy / subset accuracy / mean R^2 of the outputs P, weighted by w
    as scikit-learn's score(X, y, sample_weight)."""
    w = np.ones(P.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    if loss == SOFTMAX_CE:
        return float(np.sum(w * (np.argmax(P, axis=1) == labels)) / np.sum(w))
    if loss == SIGMOID_CE:
        return float(np.sum(w * np.all((P > 0.5) == (Y > 0.5), axis=1)) / np.sum(w))
    total = 0.0
    for k in range(Y.shape[1]):
        y = Y[:, k]
        ssr = (w * (y - P[:, k]) ** 2).sum()
        sst = (w * (y - np.sum(w * y) / np.sum(w)) ** 2).sum()
        total += 1.0 - ssr / sst if sst > 0 else (1.0 if ssr == 0 else 0.0)
    return total / Y.shape[1]


def check_sample_weight(sample_weight, n):
    """float64 (n,) weights, finite, >= 0, not all 0 (the C library's checks),
    rounded through float32 as the C library uses them; or None. Shared by the
    references that take sample weights (mlp, cnn, logistic_regression)."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"sample_weight has shape {w.shape}, expected ({n},) (the rows of X)")
    with np.errstate(over="ignore"):
        w = w.astype(np.float32).astype(np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sample_weight must be finite (in float32) and >= 0")
    if not np.any(w > 0):
        raise ValueError("every sample_weight is zero; at least one must be > 0")
    return w


def _targets(p, y, n, K_fixed=0):
    y = np.asarray(y)
    if p["task"] == CLASSIFICATION:
        labels = y.astype(np.int64).ravel()
        K = K_fixed or int(p["n_classes"]) or int(labels.max()) + 1
        if K < 2:
            raise ValueError("mlp: a classifier needs at least 2 classes")
        Y = (labels == 1).astype(np.float64)[:, None] if K == 2 else None
        return K, labels, Y
    Y = np.asarray(y, dtype=np.float64)
    Y = Y[:, None] if Y.ndim == 1 else Y
    return Y.shape[1], None, Y


def fit(X, y, state=None, incremental=False, init_params=None, init_optimizer=None, init_counters=None,
        callback=None, sample_weight=None, **p):
    """Train as src_c/neural/train.c does; state: continue from a fitted state
    (partial_fit); init_*: warm start; sample_weight (n,): scikit-learn's
    weighted loss (a batch whose weights are all 0 is skipped). Returns the
    new state."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    sw_all = check_sample_weight(sample_weight, n)
    K_fixed = 0
    if state is not None:
        u = [int(v) for v in state["layer_units"]]
        K_fixed = 2 if (p["task"] == CLASSIFICATION and u[-1] == 1) else u[-1]
    K, labels, Y = _targets(p, y, n, K_fixed)
    loss = _loss_kind(p, K)
    units = layer_units(p, d, K)
    P = sum(a * b + b for a, b in zip(units[:-1], units[1:]))
    spp = 1 if p["solver"] == SGD else 2
    warm = False
    if state is not None:
        params = state["params"].astype(np.float64).copy()
        opt = state["optimizer_state"].astype(np.float64).copy()
        counters = state["counters"].astype(np.float64).copy()
        warm = True
    elif p.get("warm_start") and init_params is not None:
        params = np.asarray(init_params, dtype=np.float64).copy()
        if params.shape != (P,):
            raise ValueError(f"mlp: warm_start: init_params has {params.size} values, this architecture has {P}")
        opt = (np.asarray(init_optimizer, dtype=np.float64).copy()
               if init_optimizer is not None and np.size(init_optimizer) == P * spp else np.zeros(P * spp))
        if init_counters is not None and np.size(init_counters) == 10:
            counters = np.asarray(init_counters, dtype=np.float64).copy()
            if init_optimizer is None or np.size(init_optimizer) != P * spp:
                counters[CNT_STEPS] = 0
        else:
            counters = np.zeros(10)
            counters[CNT_BEST_LOSS] = np.nan if p["early_stopping"] else np.inf
            counters[CNT_BEST_SCORE] = -np.inf if p["early_stopping"] else np.nan
        warm = True
    else:
        params = globals()["init_params"](p, units)
        opt = np.zeros(P * spp)
        counters = np.zeros(10)
    if not warm:
        counters[CNT_BEST_LOSS] = np.nan if p["early_stopping"] else np.inf
        counters[CNT_BEST_SCORE] = -np.inf if p["early_stopping"] else np.nan
        counters[CNT_LR] = p["learning_rate_init"]
    else:
        if p["early_stopping"] and np.isnan(counters[CNT_BEST_SCORE]):
            counters[CNT_BEST_SCORE], counters[CNT_NO_IMPROVEMENT] = -np.inf, 0
        if not p["early_stopping"] and np.isnan(counters[CNT_BEST_LOSS]):
            counters[CNT_BEST_LOSS], counters[CNT_NO_IMPROVEMENT] = np.inf, 0
    counters[CNT_STOPPED] = 0
    if incremental and p["early_stopping"]:
        raise ValueError("mlp: partial_fit does not support early_stopping=1")
    if p["early_stopping"]:
        strat = labels if labels is not None else None
        tr, va = _split(p, strat, K if loss == SOFTMAX_CE else 2, n)
    else:
        tr, va = np.arange(n), np.empty(0, dtype=np.int64)
    n_train = len(tr)
    bs = p["batch_size"] if p["batch_size"] != -1 else min(200, n)
    bs = min(bs, n_train)
    lr = p["learning_rate_init"]
    if p["learning_rate"] == ADAPTIVE and warm and counters[CNT_LR] > 0:
        lr = counters[CNT_LR]
    if p["learning_rate"] == INVSCALING and warm:
        lr = _schedule(p, lr, counters[CNT_SAMPLES_SEEN], 0)
    decay = _decay_mask(units)
    t = int(counters[CNT_STEPS])
    best_params = params.copy()
    curve, vcurve = [], []
    idx = list(tr)
    max_epochs = 1 if incremental else p["max_iter"]
    for e in range(1, max_epochs + 1):
        if p["shuffle"]:
            idx = list(tr)
            _shuffle(idx, Rng(p["random_state"], STREAM_SHUFFLE + int(counters[CNT_EPOCHS_TOTAL])))
        acc = 0.0
        for r0 in range(0, n_train, bs):
            rows = np.asarray(idx[r0:r0 + bs])
            B = len(rows)
            wb = None if sw_all is None else sw_all[rows]
            sw = float(B) if wb is None else float(wb.sum())
            if sw <= 0:  # all weights 0: no information, no step (train.c)
                if callback is not None:
                    callback(e, r0 // bs + 1, float("nan"))
                continue
            data_loss, grad = loss_and_grad(p, params, units, X[rows], None if Y is None else Y[rows],
                                            None if labels is None else labels[rows], loss, step=t, w=wb)
            t += 1
            sumsq = optim_step(p, params, grad, opt, t, lr, sw, decay)
            acc += data_loss * B  # scikit-learn: the batch's (weighted) mean times its rows
            if p["solver"] != ADAMW and p["alpha"] > 0:
                acc += 0.5 * p["alpha"] * sumsq * (B / sw)
            if callback is not None:
                callback(e, r0 // bs + 1, data_loss)
        counters[CNT_STEPS] = t
        ep_loss = acc / n_train
        curve.append(ep_loss)
        vs = None
        if len(va):
            Pv = output(loss, forward(p, params, units, X[va], loss=loss)[-1])
            vs = _score(loss, Pv, None if labels is None else labels[va], None if Y is None else Y[va],
                        None if sw_all is None else sw_all[va])
            vcurve.append(vs)
        lr, improved, finished = end_epoch(p, counters, ep_loss, vs, n_train, len(curve), lr, e)
        if improved:
            best_params = params.copy()
        if finished:
            break
    if len(va):
        params = best_params
    with np.errstate(over="ignore"):
        params32 = params.astype(np.float32)
    check_diverged("mlp", params32, len(curve))
    # stored with the C model's dtypes, so the python backend writes the same model files
    out = {"layer_units": np.asarray(units, dtype=np.int64), "params": params32,
           "optimizer_state": opt.astype(np.float32),
           "counters": counters,
           "loss_curve": np.asarray((list(state["loss_curve"]) if state is not None else []) + curve)}
    if len(va):
        out["validation_scores"] = np.asarray(vcurve)
    return out


def _K(state, p):
    last = int(state["layer_units"][-1])
    return 2 if p["task"] == CLASSIFICATION and last == 1 else last


def _outputs(state, X, p):
    units = [int(v) for v in state["layer_units"]]
    K = _K(state, p)
    loss = _loss_kind(p, K)
    z = forward(p, np.asarray(state["params"], dtype=np.float64), units, X, loss=loss)[-1]
    return output(loss, z), K


def predict_proba(state, X, **p):
    P, K = _outputs(state, X, p)
    if P.shape[1] == 1 and K == 2:
        P = np.hstack([1.0 - P, P])
    return P


def predict_log_proba(state, X, **p):
    return np.log(predict_proba(state, X, **p))


def predict(state, X, **p):
    P, K = _outputs(state, X, p)
    if p["task"] == REGRESSION:
        return P.ravel() if P.shape[1] == 1 else P
    if p["task"] == MULTILABEL:
        return (P > 0.5).astype(np.int32)
    if P.shape[1] == 1:
        return (P[:, 0] > 0.5).astype(np.int32)
    return np.argmax(P, axis=1).astype(np.int32)
