"""Reference convolutional network in numpy (float64): the network of
src_c/neural/cnn.c (conv blocks, batch norm, pooling, flatten, dense layers)
written with the layers of conv_layers.py and layers.py, initialized, shuffled
and trained as train.c does (the optimizers, schedules, validation split and
stopping rule come from the MLP reference, mlp.py). Its state has the C
model's named arrays ("params" = the trained parameters then the batch-norm
running statistics, "optimizer_state", "counters", "n_outputs",
"loss_curve", "validation_scores"), so the two are compared array by array.

Params: the C params dict (mfs_cnn_params' fields), flat: the training fields of its
`train` member (mfs_train_params) by their own names, as the estimators build it
and _native.struct_to_dict reads it."""
import math

import numpy as np

from . import conv_layers as cl
from . import layers as ly
from . import mlp as _mlp

REGRESSION, CLASSIFICATION = 0, 1
SOFTMAX_CE, MSE = _mlp.SOFTMAX_CE, _mlp.MSE
STREAM_INIT, STREAM_SHUFFLE, STREAM_DROPOUT = _mlp.STREAM_INIT, _mlp.STREAM_SHUFFLE, _mlp.STREAM_DROPOUT
(CNT_SAMPLES_SEEN, CNT_STEPS, CNT_N_ITER, CNT_LR, CNT_BEST_LOSS, CNT_BEST_SCORE, CNT_NO_IMPROVEMENT, CNT_LOSS,
 CNT_EPOCHS_TOTAL, CNT_STOPPED) = range(10)


def build_layers(p, K):
    """The network of p with K outputs: a list of dicts, one per layer of the C
    network (the same order, so dropout streams and offsets agree), each with
    its kind, settings, shapes and parameter / buffer offsets."""
    C, H, W = (int(v) for v in p["input_shape"])
    act = int(p["activation"])
    layers, off, boff = [], 0, 0

    def add(L, w_n=0, b_n=0, buf_n=0):
        nonlocal off, boff
        L.update(w_off=off, w_n=w_n, b_off=off + w_n, b_n=b_n, buf_off=boff, buf_n=buf_n)
        off += w_n + b_n
        boff += buf_n
        layers.append(L)

    for i in range(int(p["n_conv"])):
        F, k = int(p["conv_filters"][i]), int(p["conv_kernel_size"][i])
        s, pad, bn = int(p["conv_stride"][i]), int(p["conv_padding"][i]), bool(p["conv_batch_norm"][i])
        OH, OW = cl.conv2d_output_size(H, W, k, k, s, pad)
        if OH < 1 or OW < 1:
            raise ValueError(f"cnn: conv block {i}: conv2d input is {H} x {W} (padded {H + 2 * pad} x {W + 2 * pad}), "
                             f"smaller than its {k} x {k} kernel")
        # no bias before a batch norm (cnn.c: the norm cancels it)
        add(dict(kind="conv", filters=F, k=k, stride=s, pad=pad, act=ly.IDENTITY if bn else act,
                 in_shape=(C, H, W), out_shape=(F, OH, OW), w_shape=(F, C, k, k)), F * C * k * k, 0 if bn else F)
        C, H, W = F, OH, OW
        if bn:
            add(dict(kind="bn", C=C, in_shape=(C, H, W), out_shape=(C, H, W)), 0, 2 * C, 2 * C)
            if act != ly.IDENTITY:
                add(dict(kind="act", act=act, in_shape=(C, H, W), out_shape=(C, H, W)))
        pool = int(p["conv_pool"][i])
        if pool >= 2:
            OH, OW = cl.pool2d_output_size(H, W, pool, pool, 0)
            if OH < 1 or OW < 1:
                raise ValueError(f"cnn: conv block {i}: pool2d input is {H} x {W}, smaller than its {pool} x {pool} "
                                 "window")
            kind = "avgpool" if int(p["conv_pool_type"][i]) == 1 else "maxpool"
            add(dict(kind=kind, k=pool, in_shape=(C, H, W), out_shape=(C, OH, OW)))
            H, W = OH, OW
    d = C * H * W
    add(dict(kind="flatten", in_shape=(C, H, W), out_shape=(d, 1, 1)))
    for h in [int(v) for v in list(p["hidden_layer_sizes"])[:int(p["n_hidden"])]]:
        add(dict(kind="linear", act=act, in_shape=(d, 1, 1), out_shape=(h, 1, 1), w_shape=(d, h)), d * h, h)
        d = h
        if p["dropout"] > 0:
            add(dict(kind="dropout", p=float(p["dropout"]), in_shape=(d, 1, 1), out_shape=(d, 1, 1)))
    add(dict(kind="linear", act=ly.IDENTITY, in_shape=(d, 1, 1), out_shape=(K, 1, 1), w_shape=(d, K)), d * K, K)
    return layers


def sizes(layers):
    """(P, Q): trained parameters, buffers."""
    last = layers[-1]
    return last["b_off"] + last["b_n"], sum(L["buf_n"] for L in layers)


def initial_params(p, layers):
    """Glorot-uniform weights and biases from Philox stream 1 (cnn.c's order and
    formula), batch norm 1 / 0, running mean 0 and var 1. Returns params + buffers."""
    P, Q = sizes(layers)
    params = np.zeros(P + Q)
    rng = _mlp.Rng(p["random_state"], STREAM_INIT)
    factor = 2.0 if p["activation"] == ly.SIGMOID else 6.0
    for L in layers:
        if L["kind"] == "bn":
            C = L["C"]
            params[L["b_off"]:L["b_off"] + C] = 1.0
            params[P + L["buf_off"] + C:P + L["buf_off"] + 2 * C] = 1.0
        elif L["kind"] in ("conv", "linear"):
            if L["kind"] == "conv":
                F, C, k, _ = L["w_shape"]
                fan_in, fan_out = C * k * k, F * k * k
            else:
                fan_in, fan_out = L["w_shape"]
            bound = math.sqrt(factor / (fan_in + fan_out))
            n = L["w_n"] + L["b_n"]
            params[L["w_off"]:L["w_off"] + n] = (2.0 * rng.uniform(n) - 1.0) * bound
    return params.astype(np.float32).astype(np.float64)


def forward(p, layers, params, X, training=False, step=0):
    """Run the network on X (B, C H W). Returns (z, cache): z the outputs of the
    last layer (logits), cache what backward needs; updates the running
    statistics inside params in training (as the C layers do)."""
    P, _ = sizes(layers)
    a = np.asarray(X, dtype=np.float64).reshape((X.shape[0],) + tuple(layers[0]["in_shape"]))
    cache = []
    n_layers = len(layers)
    for li, L in enumerate(layers):
        kind, inp = L["kind"], a
        c = {"inp": inp}
        if kind == "conv":
            w = params[L["w_off"]:L["w_off"] + L["w_n"]].reshape(L["w_shape"])
            b = params[L["b_off"]:L["b_off"] + L["b_n"]] if L["b_n"] else None
            pre = cl.conv2d_forward(inp, w, b, L["stride"], L["pad"])
            c["pre"] = pre
            a = ly.activation_forward(pre, L["act"])
        elif kind == "bn":
            C = L["C"]
            g, be = params[L["b_off"]:L["b_off"] + C], params[L["b_off"] + C:L["b_off"] + 2 * C]
            rm = params[P + L["buf_off"]:P + L["buf_off"] + C]
            rv = params[P + L["buf_off"] + C:P + L["buf_off"] + 2 * C]
            a, c["mean"], c["rstd"], rm2, rv2 = cl.batchnorm_forward(inp, g, be, rm, rv, p["batch_norm_eps"],
                                                                     p["batch_norm_momentum"], training)
            if training:
                # the C layer keeps its running statistics in float32
                params[P + L["buf_off"]:P + L["buf_off"] + C] = np.float32(rm2)
                params[P + L["buf_off"] + C:P + L["buf_off"] + 2 * C] = np.float32(rv2)
        elif kind == "act":
            a = ly.activation_forward(inp, L["act"])
            c["pre"] = inp
        elif kind == "maxpool":
            a, c["arg"] = cl.maxpool2d_forward(inp, L["k"], L["k"], 0)
        elif kind == "avgpool":
            a = cl.avgpool2d_forward(inp, L["k"], L["k"], 0)
        elif kind == "flatten":
            a = cl.flatten_forward(inp)
        elif kind == "linear":
            w = params[L["w_off"]:L["w_off"] + L["w_n"]].reshape(L["w_shape"])
            b = params[L["b_off"]:L["b_off"] + L["b_n"]]
            pre = ly.linear_forward(inp, w, b)
            c["pre"] = pre
            a = ly.activation_forward(pre, L["act"])
        elif kind == "dropout":
            if training:
                stream = STREAM_DROPOUT + step * n_layers + li
                a = ly.dropout_forward(inp, L["p"], p["random_state"], stream)
                c["stream"] = stream
        c["out"] = a
        cache.append(c)
    return a, cache


def backward(p, layers, params, cache, dz):
    """The gradient (P,) of the trained parameters given dz = dloss/dlogits."""
    P, _ = sizes(layers)
    grad = np.zeros(P)
    d = dz
    for li in range(len(layers) - 1, -1, -1):
        L, c = layers[li], cache[li]
        kind = L["kind"]
        if kind in ("conv", "linear", "act"):
            d = ly.activation_backward(d, c["out"], c["pre"], L["act"])
        if kind == "conv":
            w = params[L["w_off"]:L["w_off"] + L["w_n"]].reshape(L["w_shape"])
            d, dw, db = cl.conv2d_backward(d, c["inp"], w, L["stride"], L["pad"])
            grad[L["w_off"]:L["w_off"] + L["w_n"]] += dw.ravel()
            if L["b_n"]:
                grad[L["b_off"]:L["b_off"] + L["b_n"]] += db
        elif kind == "linear":
            w = params[L["w_off"]:L["w_off"] + L["w_n"]].reshape(L["w_shape"])
            d, dw, db = ly.linear_backward(d, c["inp"], w)
            grad[L["w_off"]:L["w_off"] + L["w_n"]] += dw.ravel()
            grad[L["b_off"]:L["b_off"] + L["b_n"]] += db
        elif kind == "bn":
            C = L["C"]
            d, dg, dbe = cl.batchnorm_backward(d, c["mean"], c["rstd"], c["inp"],
                                               params[L["b_off"]:L["b_off"] + C], True)
            grad[L["b_off"]:L["b_off"] + C] += dg
            grad[L["b_off"] + C:L["b_off"] + 2 * C] += dbe
        elif kind == "maxpool":
            d = cl.maxpool2d_backward(d, c["arg"], c["inp"].shape)
        elif kind == "avgpool":
            d = cl.avgpool2d_backward(d, c["inp"].shape, L["k"], L["k"], 0)
        elif kind == "flatten":
            d = cl.flatten_backward(d, c["inp"].shape)
        elif kind == "dropout" and "stream" in c:
            d = ly.dropout_backward(d, L["p"], p["random_state"], c["stream"])
    return grad


def _decay_mask(layers):
    P, _ = sizes(layers)
    m = np.zeros(P, dtype=bool)
    for L in layers:
        m[L["w_off"]:L["w_off"] + L["w_n"]] = True
    return m


def loss_and_grad(p, layers, params, X, Y, labels, loss, step=0, w=None):
    """The batch's data loss (mean; with sample weights w, the weighted mean)
    and the gradient of it; updates the running statistics in params."""
    z, cache = forward(p, layers, params, X, training=True, step=step)
    data_loss, dz = _mlp.output_loss(z, Y, labels, loss, w)
    return data_loss, backward(p, layers, params, cache, dz)


def _targets(p, y, K_fixed=0):
    y = np.asarray(y)
    if p["task"] == CLASSIFICATION:
        labels = y.astype(np.int64).ravel()
        K = K_fixed or int(p["n_classes"]) or int(labels.max()) + 1
        if K < 2:
            raise ValueError("cnn: a classifier needs at least 2 classes")
        return K, labels, None
    Y = np.asarray(y, dtype=np.float64)
    Y = Y[:, None] if Y.ndim == 1 else Y
    return Y.shape[1], None, Y


def fit(X, y, state=None, incremental=False, init_params=None, init_optimizer=None, init_counters=None,
        callback=None, sample_weight=None, **p):
    """Train as src_c/neural/train.c does (see mlp.fit, whose loop this is with
    the CNN's layers); state: continue from a fitted state (partial_fit);
    init_*: warm start; sample_weight: as mlp.fit. Returns the new state."""
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    sw_all = _mlp.check_sample_weight(sample_weight, n)
    K_fixed = int(np.asarray(state["n_outputs"])) if state is not None else 0
    K, labels, Y = _targets(p, y, K_fixed)
    loss = SOFTMAX_CE if p["task"] == CLASSIFICATION else MSE
    layers = build_layers(p, K)
    P, Q = sizes(layers)
    spp = 1 if p["solver"] == _mlp.SGD else 2
    warm = False
    if state is not None:
        params = state["params"].astype(np.float64).copy()
        opt = state["optimizer_state"].astype(np.float64).copy()
        counters = state["counters"].astype(np.float64).copy()
        warm = True
    elif p.get("warm_start") and init_params is not None:
        params = np.asarray(init_params, dtype=np.float64).copy()
        if params.shape != (P + Q,):
            raise ValueError(f"cnn: warm_start: init_params has {params.size} values, this network has {P + Q}")
        if init_optimizer is not None and init_counters is not None:
            opt = np.asarray(init_optimizer, dtype=np.float64).copy()
            counters = np.asarray(init_counters, dtype=np.float64).copy()
            warm = True
        else:
            opt, counters = np.zeros(P * spp), np.zeros(10)
    else:
        params = initial_params(p, layers)
        opt, counters = np.zeros(P * spp), np.zeros(10)
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
    early = bool(p["early_stopping"]) and not incremental
    if early:
        tr, va = _mlp._split(p, labels, K if loss == SOFTMAX_CE else 2, n)
    else:
        tr, va = np.arange(n), np.empty(0, dtype=np.int64)
    n_train = len(tr)
    bs = p["batch_size"] if p["batch_size"] != -1 else min(200, n)
    bs = min(bs, n_train)
    lr = p["learning_rate_init"]
    if p["learning_rate"] == _mlp.ADAPTIVE and warm and counters[CNT_LR] > 0:
        lr = counters[CNT_LR]
    if p["learning_rate"] == _mlp.INVSCALING and warm:
        lr = _mlp._schedule(p, lr, counters[CNT_SAMPLES_SEEN], 0)
    decay = _decay_mask(layers)
    t = int(counters[CNT_STEPS])
    best = params.copy()
    curve, vcurve = [], []
    idx = list(tr)
    for e in range(1, (1 if incremental else p["max_iter"]) + 1):
        if p["shuffle"]:  # every epoch permutes the rows from their first order (train.c)
            idx = list(tr)
            _mlp._shuffle(idx, _mlp.Rng(p["random_state"], STREAM_SHUFFLE + int(counters[CNT_EPOCHS_TOTAL])))
        acc = 0.0
        for r0 in range(0, n_train, bs):
            rows = np.asarray(idx[r0:r0 + bs])
            B = len(rows)
            wb = None if sw_all is None else sw_all[rows]
            sw = float(B) if wb is None else float(wb.sum())
            if sw <= 0:  # all weights 0: no step (train.c)
                if callback is not None:
                    callback(e, r0 // bs + 1, float("nan"))
                continue
            data_loss, grad = loss_and_grad(p, layers, params, X[rows], None if Y is None else Y[rows],
                                            None if labels is None else labels[rows], loss, step=t, w=wb)
            t += 1
            trained = params[:P]  # a view: the optimizer updates params in place
            sumsq = _mlp.optim_step(p, trained, grad, opt, t, lr, sw, decay)
            acc += data_loss * B
            if p["solver"] != _mlp.ADAMW and p["alpha"] > 0:
                acc += 0.5 * p["alpha"] * sumsq * (B / sw)
            if callback is not None:
                callback(e, r0 // bs + 1, data_loss)
        counters[CNT_STEPS] = t
        ep_loss = acc / n_train
        curve.append(ep_loss)
        vs = None
        if len(va):
            Pv = _mlp.output(loss, forward(p, layers, params, X[va])[0])
            vs = _mlp._score(loss, Pv, None if labels is None else labels[va], None if Y is None else Y[va],
                             None if sw_all is None else sw_all[va])
            vcurve.append(vs)
        lr, improved, finished = _mlp.end_epoch(p, counters, ep_loss, vs, n_train, len(curve), lr, e)
        if improved:
            best = params.copy()
        if finished:
            break
    if len(va):
        params = best
    with np.errstate(over="ignore"):
        params32 = params.astype(np.float32)
    _mlp.check_diverged("cnn", params32, len(curve))
    # the C model's dtypes, so that the state is also a valid model file
    out = {"params": params32, "optimizer_state": opt.astype(np.float32), "counters": counters,
           "n_outputs": np.int64(K),
           "loss_curve": np.asarray((list(state["loss_curve"]) if state is not None else []) + curve)}
    if len(va):
        out["validation_scores"] = np.asarray(vcurve)
    return out


def _outputs(state, X, p):
    K = int(np.asarray(state["n_outputs"]))
    layers = build_layers(p, K)
    params = np.asarray(state["params"], dtype=np.float64).copy()
    z = forward(p, layers, params, np.asarray(X, dtype=np.float64))[0]
    return _mlp.output(SOFTMAX_CE if p["task"] == CLASSIFICATION else MSE, z)


def predict_proba(state, X, **p):
    return _outputs(state, X, p)


def predict(state, X, **p):
    P = _outputs(state, X, p)
    if p["task"] == CLASSIFICATION:
        return np.argmax(P, axis=1).astype(np.int32)
    return P
