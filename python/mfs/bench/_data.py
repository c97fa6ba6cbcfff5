"""Seeded float32 data sets for the benchmark, identical in every worker.

Each generator writes the final float32 array chunk by chunk, so generating
the data never allocates much more than the data itself (no float64 copy):
the process's RSS high-water mark before the fit is then the data plus the
imports, which keeps the ru_maxrss-based fit memory honest.
"""
from __future__ import annotations

import numpy as np

CHUNK = 1 << 15  # rows generated at a time


def regression(n_samples, n_features, seed=0, noise=1.0):
    """make_regression-like: X ~ N(0, 1), y = X @ w + 3 + N(0, noise^2), w ~ N(0, 1).
    R^2 of the true model is about d / (d + noise^2)."""
    rng = np.random.default_rng([seed, 1])
    w = rng.standard_normal(n_features)
    X = np.empty((n_samples, n_features), dtype=np.float32)
    y = np.empty(n_samples, dtype=np.float32)
    for s in range(0, n_samples, CHUNK):
        e = min(n_samples, s + CHUNK)
        Xc = X[s:e]
        rng.standard_normal(out=Xc, dtype=np.float32)
        y[s:e] = Xc @ w.astype(np.float32) + 3.0 + noise * rng.standard_normal(e - s, dtype=np.float32)
    return X, y


def blobs(n_samples, n_features, n_centers, seed=0, cluster_std=1.0, box=(-10.0, 10.0)):
    """make_blobs-like: centers ~ U(box)^d, labels uniform, X = center + N(0, std^2).
    Returns X, labels, centers."""
    rng = np.random.default_rng([seed, 2])
    centers = rng.uniform(box[0], box[1], size=(n_centers, n_features)).astype(np.float32)
    labels = rng.integers(0, n_centers, size=n_samples)
    X = np.empty((n_samples, n_features), dtype=np.float32)
    for s in range(0, n_samples, CHUNK):
        e = min(n_samples, s + CHUNK)
        Xc = X[s:e]
        rng.standard_normal(out=Xc, dtype=np.float32)
        Xc *= np.float32(cluster_std)
        Xc += centers[labels[s:e]]
    return X, labels, centers


def kmeans_init(X, n_clusters, seed=0):
    """The one `init` array every KMeans gets: n_clusters distinct rows of X
    picked by a seeded RNG (a plain random init, so all backends start alike)."""
    rng = np.random.default_rng([seed, 3])
    idx = rng.choice(X.shape[0], size=n_clusters, replace=False)
    return np.ascontiguousarray(X[np.sort(idx)], dtype=np.float32)


def low_rank(n_samples, n_features, rank=10, seed=0, noise=0.5):
    """Data with a decaying spectrum for PCA: X = (Z * s) @ W + N(0, noise^2),
    Z ~ N(0, 1) (n, rank), s_i = 10 / (i + 1), W with orthonormal rows."""
    rng = np.random.default_rng([seed, 4])
    rank = min(rank, n_features)
    W = np.linalg.qr(rng.standard_normal((n_features, rank)))[0].T.astype(np.float32)
    scale = (10.0 / (np.arange(rank) + 1.0)).astype(np.float32)
    X = np.empty((n_samples, n_features), dtype=np.float32)
    for s in range(0, n_samples, CHUNK):
        e = min(n_samples, s + CHUNK)
        Xc = X[s:e]
        rng.standard_normal(out=Xc, dtype=np.float32)
        Xc *= np.float32(noise)
        Z = rng.standard_normal((e - s, rank), dtype=np.float32) * scale
        Xc += Z @ W
    return X


def gemm_operands(n, seed=0):
    rng = np.random.default_rng([seed, 5, n])
    A = rng.standard_normal((n, n), dtype=np.float32)
    B = rng.standard_normal((n, n), dtype=np.float32)
    return A, B


def binary_classification(n_samples, n_features, seed=0, scale=3.0, intercept=0.5):
    """Logistic-model data for LogisticRegression: X ~ N(0, 1), w ~ N(0, 1)
    scaled to ||w|| ~ scale, y ~ Bernoulli(sigmoid(X @ w + intercept)) in {0, 1}
    (int32). The Bayes accuracy is about 0.85 (label noise from the model)."""
    rng = np.random.default_rng([seed, 6])
    w = (rng.standard_normal(n_features) * (scale / np.sqrt(n_features))).astype(np.float32)
    X = np.empty((n_samples, n_features), dtype=np.float32)
    y = np.empty(n_samples, dtype=np.int32)
    for s in range(0, n_samples, CHUNK):
        e = min(n_samples, s + CHUNK)
        Xc = X[s:e]
        rng.standard_normal(out=Xc, dtype=np.float32)
        z = Xc @ w + np.float32(intercept)
        p = 1.0 / (1.0 + np.exp(-z.astype(np.float64)))
        y[s:e] = rng.random(e - s) < p
    return X, y


def class_blobs(n_samples, n_features, n_classes, seed=0, cluster_std=1.5, box=(-1.0, 1.0)):
    """Overlapping Gaussian blobs for the classifiers (GaussianNB, k-NN): as
    blobs(), but the centers in U(-1, 1)^d and std 1.5, so the classes overlap
    (at d=100, 10 classes: GaussianNB ~0.95, 10-NN ~0.85 accuracy). Labels int32."""
    X, labels, _ = blobs(n_samples, n_features, n_classes, seed, cluster_std, box)
    return X, labels.astype(np.int32)


def counts(n_samples, n_features, n_classes, seed=0, length=20.0, concentration=2.0):
    """Bag-of-words-like counts for MultinomialNB / BernoulliNB: per class a
    word distribution p_c ~ Dirichlet(concentration), labels uniform, and
    X[i, j] ~ Poisson(length * p_{y_i, j}) (float32; about `length` counts a
    row; at d=100, 10 classes ~0.9 accuracy). BernoulliNB sees x > 0."""
    rng = np.random.default_rng([seed, 7])
    rates = (length * rng.dirichlet(np.full(n_features, concentration), size=n_classes))
    labels = rng.integers(0, n_classes, size=n_samples).astype(np.int32)
    X = np.empty((n_samples, n_features), dtype=np.float32)
    for s in range(0, n_samples, CHUNK):
        e = min(n_samples, s + CHUNK)
        X[s:e] = rng.poisson(rates[labels[s:e]])
    return X, labels


def nonlinear_classification(n_samples, n_features, seed=0, n_informative=10, flip=0.05):
    """Two classes with an axis-aligned, non-linear boundary for the trees,
    forests and the RBF SVC: X ~ N(0, 1), the score
    s = sum_j a_j sin(1.5 x_j) + x_0 x_1 over the first n_informative features
    (a_j ~ U(0.5, 1.5)), y = (s > 0) with a fraction `flip` of the labels
    flipped (int32). The Bayes accuracy is about 1 - flip; a tree that
    memorizes the noise reaches ~0.8, a forest ~0.9 at n = 1e5, d = 50."""
    rng = np.random.default_rng([seed, 8])
    k = min(n_informative, n_features)
    a = rng.uniform(0.5, 1.5, size=k).astype(np.float32)
    X = np.empty((n_samples, n_features), dtype=np.float32)
    y = np.empty(n_samples, dtype=np.int32)
    for s in range(0, n_samples, CHUNK):
        e = min(n_samples, s + CHUNK)
        Xc = X[s:e]
        rng.standard_normal(out=Xc, dtype=np.float32)
        score = np.sin(np.float32(1.5) * Xc[:, :k]) @ a
        if k >= 2:
            score += Xc[:, 0] * Xc[:, 1]
        lab = score > 0
        lab ^= rng.random(e - s) < flip
        y[s:e] = lab
    return X, y


def images(n_samples, shape=(1, 28, 28), n_classes=10, seed=0, noise=1.0):
    """Learnable synthetic images for the networks: per class a smooth random
    template (a sum of a few 2-D Gaussian bumps per channel), each sample its
    class template shifted by up to 2 pixels plus N(0, noise^2) pixel noise.
    Returns X (n, C, H, W) float32 and y (n,) int32 labels (uniform)."""
    rng = np.random.default_rng([seed, 9])
    C, H, W = shape
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    templates = np.zeros((n_classes, C, H, W), dtype=np.float32)
    for k in range(n_classes):
        for c in range(C):
            for _ in range(4):
                cy, cx = rng.uniform(4, H - 4), rng.uniform(4, W - 4)
                s = rng.uniform(2.0, 4.0)
                templates[k, c] += rng.uniform(1.0, 2.0) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    labels = rng.integers(0, n_classes, size=n_samples).astype(np.int32)
    X = np.empty((n_samples, C, H, W), dtype=np.float32)
    for s in range(0, n_samples, CHUNK):
        e = min(n_samples, s + CHUNK)
        Xc = X[s:e]
        rng.standard_normal(out=Xc, dtype=np.float32)
        Xc *= np.float32(noise)
        dy, dx = rng.integers(-2, 3, size=2)
        Xc += np.roll(templates[labels[s:e]], (int(dy), int(dx)), axis=(2, 3))
    return X, labels
