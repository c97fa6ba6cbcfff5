"""Reference Naive Bayes in numpy (float64 throughout): Gaussian, multinomial
and Bernoulli, fitted batch by batch from sufficient statistics.

The state holds the same named arrays as the C model. Gaussian batches merge
with Chan, Golub & LeVeque's exact update of mean and sum of squared
deviations; epsilon = var_smoothing * the batch's largest feature variance is
taken out of var before a merge and the new one added after (scikit-learn's
rule). Sample weights (scikit-learn's semantics): class and feature counts are
sums of w_i and w_i x_i; Gaussian means and variances are weighted (np.average),
a class whose batch weight is np.isclose to 0 keeps its mean and variance but
adds that weight to its count; epsilon uses the unweighted batch variance.
The joint log-likelihood is the textbook formula (no expansion, no
GEMM), normalized with logsumexp."""
import numpy as np

GAUSSIAN, MULTINOMIAL, BERNOULLI = 0, 1, 2


def _logsumexp(a):
    m = np.max(a, axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return m + np.log(np.sum(np.exp(a - m), axis=1, keepdims=True))


def _prior(class_prior, K):
    if class_prior is None:
        return None
    p = np.asarray(class_prior, dtype=np.float64)
    if p.shape != (K,):
        raise ValueError(f"naive_bayes: class_prior has {p.size} values, the model has {K} classes")
    if np.any(~np.isfinite(p)) or np.any(p < 0):
        raise ValueError("naive_bayes: priors must be finite and >= 0")
    if not np.isclose(p.sum(), 1.0):
        raise ValueError(f"naive_bayes: class_prior sums to {p.sum()}, it must sum to 1")
    return p


def fit(X, y, **params):
    return partial_fit(None, X, y, **params)


def partial_fit(state, X, y, variant=GAUSSIAN, n_classes=0, var_smoothing=1e-9, alpha=1.0, fit_prior=1,
                binarize=0.0, class_prior=None, sample_weight=None, **_):
    """Fold one batch X (n, d), y (n,) int labels, optional sample_weight (n,)
    >= 0, into `state` (None: a fresh fit) and return the new state (the old
    one is not modified)."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n, d = X.shape
    if state is None:
        K = int(n_classes) if n_classes else int(y.max()) + 1
    else:
        K = state["class_count"].shape[0]
    if y.shape != (n,) or (n and (y.min() < 0 or y.max() >= K)):
        raise ValueError(f"naive_bayes: labels must be in 0..{K - 1}")
    prior = _prior(class_prior, K)
    if sample_weight is None:
        w = np.ones(n)
    else:
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (n,) or np.any(~np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"naive_bayes: sample_weight must be ({n},), finite and >= 0")
        prev = 0.0 if state is None else state["class_count"].sum()
        if not w.sum() + prev > 0:
            raise ValueError("naive_bayes: sample weights sum to zero (and so would every class count)")
    Y = np.zeros((n, K))
    Y[np.arange(n), y] = w
    nk = Y.sum(axis=0)
    if variant == GAUSSIAN:
        eps = var_smoothing * np.max(np.var(X, axis=0))
        if state is None:
            theta, var, cc = np.zeros((K, d)), np.zeros((K, d)), np.zeros(K)
        else:
            theta, var, cc = state["theta"].copy(), state["var"] - eps, state["class_count"].copy()
        for k in range(K):
            if nk[k] <= 1e-8:  # scikit-learn: np.isclose(n_new, 0) keeps mean and variance
                cc[k] += nk[k]
                continue
            Xk, wk = X[y == k], w[y == k]
            mu = np.average(Xk, axis=0, weights=wk)
            v = np.average((Xk - mu) ** 2, axis=0, weights=wk)
            if cc[k] == 0:
                theta[k], var[k] = mu, v
            else:
                tot = cc[k] + nk[k]
                ssd = cc[k] * var[k] + nk[k] * v + (nk[k] * cc[k] / tot) * (theta[k] - mu) ** 2
                theta[k] = (nk[k] * mu + cc[k] * theta[k]) / tot
                var[k] = ssd / tot
            cc[k] += nk[k]
        var = var + eps
        return {"theta": theta, "var": var, "class_count": cc,
                "class_prior": prior if prior is not None else cc / cc.sum(), "epsilon": np.float64(eps)}
    if variant == MULTINOMIAL and np.any(X < 0):
        raise ValueError("naive_bayes: Negative values in data: MultinomialNB needs counts >= 0 in X")
    if variant == BERNOULLI and not np.isnan(binarize):
        X = (X > binarize).astype(np.float64)
    fc = (np.zeros((K, d)) if state is None else state["feature_count"]) + Y.T @ X
    cc = (np.zeros(K) if state is None else state["class_count"]) + nk
    if variant == MULTINOMIAL:
        sfc = fc + alpha
        flp = np.log(sfc) - np.log(sfc.sum(axis=1, keepdims=True))
    else:
        flp = np.log(fc + alpha) - np.log(cc + 2 * alpha)[:, None]
    with np.errstate(divide="ignore"):
        if prior is not None:
            clp = np.log(prior)
        elif fit_prior:
            clp = np.log(cc) - np.log(cc.sum())
        else:
            clp = np.full(K, -np.log(K))
    return {"feature_count": fc, "class_count": cc, "feature_log_prob": flp, "class_log_prior": clp}


def _jll(state, X, variant=GAUSSIAN, binarize=0.0, **_):
    X = np.asarray(X, dtype=np.float64)
    if variant == GAUSSIAN:
        th, var = state["theta"], state["var"]
        out = np.empty((X.shape[0], th.shape[0]))
        for k in range(th.shape[0]):
            out[:, k] = (np.log(state["class_prior"][k]) - 0.5 * np.sum(np.log(2 * np.pi * var[k]))
                         - 0.5 * np.sum((X - th[k]) ** 2 / var[k], axis=1))
        return out
    flp = state["feature_log_prob"]
    if variant == MULTINOMIAL:
        return X @ flp.T + state["class_log_prior"]
    if not np.isnan(binarize):
        X = (X > binarize).astype(np.float64)
    neg = np.log(1 - np.exp(flp))
    return X @ (flp - neg).T + state["class_log_prior"] + neg.sum(axis=1)


def decision_function(state, X, **params):
    """The joint log-likelihood log P(x, c) (scikit-learn's predict_joint_log_proba)."""
    return _jll(state, X, **params).astype(np.float32)


def predict_log_proba(state, X, **params):
    j = _jll(state, X, **params)
    return (j - _logsumexp(j)).astype(np.float32)


def predict_proba(state, X, **params):
    j = _jll(state, X, **params)
    return np.exp(j - _logsumexp(j)).astype(np.float32)


def predict(state, X, **params):
    return np.argmax(_jll(state, X, **params), axis=1).astype(np.int32)
