"""CNNClassifier / CNNRegressor: the whole C network against PyTorch (10 SGD
steps from the same weights on the same batches: every loss and gradient, from
a saved fixture and live when torch is installed), C against the numpy
reference (backend="python"), accuracy on scikit-learn's digits, same seed same
bits, model files and pickling, warm start and partial_fit, the architecture
spec, bad input, and scikit-learn's estimator checks."""
import importlib.util
import os
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

import mfs
from mfs import _native
from mfs.cnn import CNNClassifier, CNNRegressor, parse_conv_layers
from mfs.reference import cnn as ref

HERE = os.path.dirname(__file__)
STEPS = os.path.join(HERE, "fixtures", "cnn_torch_steps.npz")
DEV = os.path.join(HERE, "..", "dev", "make_torch_fixtures_cnn.py")


def close(a, b):
    """max |a - b| / max |b|: the normalized error of every tensor comparison."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30)


def quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*a, **k)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, test_size=0.25, random_state=0)


# ---- the network of dev/make_torch_fixtures_cnn.py ------------------------------------
def _dev():
    spec = importlib.util.spec_from_file_location("make_torch_fixtures_cnn", DEV)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


NET = dict(input_shape=(1, 8, 8), hidden_layer_sizes=(16,), activation="relu",
           conv_layers=[{"filters": 4, "kernel_size": 3, "padding": 1, "pool": 2},
                        {"filters": 6, "kernel_size": 3, "padding": 1, "pool": 2, "pool_type": "avg",
                         "batch_norm": True}])


def c_steps(fx, backend="c"):
    """The fixture's SGD steps with libmfs: one warm-started fit per batch
    (batch_size = the batch, one epoch, no shuffling, alpha 0, momentum 0), so
    each fit's loss_ is that step's loss and (params before - after) / lr its
    gradient. Returns losses, grads (steps, P), the final params + buffers."""
    lr, B = float(fx["lr"]), int(fx["batch"])
    X, y = fx["X"], fx["y"]
    params = fx["params0"].astype(np.float32)
    P = fx["grads"].shape[1]
    clf = CNNClassifier(**NET, solver="sgd", learning_rate_init=lr, momentum=0.0, alpha=0.0, batch_size=B,
                        max_iter=1, shuffle=False, tol=0.0, warm_start=True, random_state=0, backend=backend)
    losses, grads = [], []
    for s in range(fx["grads"].shape[0]):
        rows = slice(s * B, (s + 1) * B)
        model = _native.NativeModel.create("cnn", _params_for(clf, X[rows], n_classes=10), backend)
        model.set_array("init_params", params)
        model.fit(np.ascontiguousarray(X[rows]), np.ascontiguousarray(y[rows], dtype=np.int32))
        st = model.arrays()
        losses.append(float(st["loss_curve"][0]))
        grads.append((params[:P].astype(np.float64) - st["params"][:P]) / lr)
        params = st["params"]
    return np.array(losses), np.stack(grads), params


def _params_for(est, X, n_classes):
    """The C params dict of an (unfitted) estimator for data X."""
    est._input_shape_used = None
    est._images_shape = None
    est._check_features(X)
    est.classes_ = np.arange(n_classes)
    return est._params(X)


def test_ten_sgd_steps_match_pytorch_fixture():
    fx = np.load(STEPS)
    losses, grads, params = c_steps(fx)
    # float32 on both sides over 10 steps of a small network: the losses agree
    # to ~1e-6; 1e-4 relative is the bar
    np.testing.assert_allclose(losses, fx["losses"], rtol=1e-4)
    for s in range(len(losses)):
        # gradients recovered from float32 parameters (|w| <= ~0.5, lr 0.1: ~1e-6
        # absolute) against PyTorch's float32 ones: 1e-4 of the largest entry
        assert close(grads[s], fx["grads"][s]) < 1e-4, s
    P = fx["grads"].shape[1]
    # running statistics after 10 momentum-0.1 updates, in float32
    np.testing.assert_allclose(params[P:P + 6], fx["running_mean"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(params[P + 6:P + 12], fx["running_var"], rtol=1e-4)


def test_reference_steps_match_pytorch_fixture():
    fx = np.load(STEPS)
    p = _params_for(CNNClassifier(**NET, solver="sgd", random_state=0), fx["X"][:20], n_classes=10)
    layers = ref.build_layers(p, 10)
    params = fx["params0"].astype(np.float64)
    P = fx["grads"].shape[1]
    assert ref.sizes(layers) == (P, 12)
    lr, B = float(fx["lr"]), int(fx["batch"])
    for s in range(10):
        rows = slice(s * B, (s + 1) * B)
        loss, g = ref.loss_and_grad(p, layers, params, fx["X"][rows].astype(np.float64), None,
                                    fx["y"][rows], ref.SOFTMAX_CE)
        # float64 reference against float32 PyTorch: PyTorch's rounding only
        assert abs(loss - fx["losses"][s]) < 1e-5 * abs(fx["losses"][s]), s
        assert close(g, fx["grads"][s]) < 1e-4, s
        params[:P] -= lr * g


def test_ten_sgd_steps_match_pytorch_live():
    pytest.importorskip("torch")
    dev = _dev()
    g = np.random.default_rng(7)
    fx0 = np.load(STEPS)
    params0 = fx0["params0"].copy()
    P = fx0["grads"].shape[1]
    params0[:P] = g.uniform(-0.4, 0.4, P).astype(np.float32)  # fresh weights, same layout
    X = g.random((200, 64)).astype(np.float32)
    y = g.integers(0, 10, 200)
    fx = dev.network_steps(params0, X, y)
    losses, grads, params = c_steps(fx)
    np.testing.assert_allclose(losses, fx["losses"], rtol=1e-4)
    for s in range(10):
        assert close(grads[s], fx["grads"][s]) < 1e-4, s


# ---- C against the numpy reference ------------------------------------------------------
@pytest.mark.parametrize("config", [
    dict(conv_layers="6x3p1/2,5x3p1/2", hidden_layer_sizes=(16,)),
    dict(conv_layers=[{"filters": 6, "pool": 2, "batch_norm": True},
                      {"filters": 5, "pool": 2, "pool_type": "avg"}],
         hidden_layer_sizes=(16,), dropout=0.2, solver="sgd", learning_rate_init=0.05, activation="tanh",
         early_stopping=True),
    dict(conv_layers="4x5s2p2+bn", hidden_layer_sizes=(), activation="gelu", solver="adamw", alpha=0.01),
])
def test_c_matches_reference(digits, config):
    Xtr, _, ytr, _ = digits
    kw = dict(input_shape=(1, 8, 8), max_iter=2, batch_size=50, random_state=3, tol=0.0, **config)
    c = quiet(CNNClassifier(backend="c", **kw).fit, Xtr[:300], ytr[:300])
    py = quiet(CNNClassifier(backend="python", **kw).fit, Xtr[:300], ytr[:300])
    # the same initial weights, batches, masks and updates: float32 (C) against
    # float64 (numpy) rounding over 12 steps stays below 1e-5 of the largest weight
    assert close(c._state["params"], py._state["params"]) < 1e-5
    np.testing.assert_allclose(c.loss_curve_, py.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(c.predict_proba(Xtr[:50]), py.predict_proba(Xtr[:50]), atol=1e-5)


def test_regressor_c_matches_reference():
    g = np.random.default_rng(0)
    X = g.normal(size=(120, 2, 5, 5)).astype(np.float32)
    y = np.stack([X.mean(axis=(1, 2, 3)), X[:, 0].max(axis=(1, 2))], axis=1)
    kw = dict(conv_layers="3x3p1/2", hidden_layer_sizes=(8,), max_iter=3, batch_size=32, random_state=1, tol=0.0)
    c = quiet(CNNRegressor(backend="c", **kw).fit, X, y)
    py = quiet(CNNRegressor(backend="python", **kw).fit, X, y)
    assert c.input_shape is None and c._input_shape_used == (2, 5, 5)  # from the 4-D X
    assert close(c._state["params"], py._state["params"]) < 1e-5
    np.testing.assert_allclose(c.predict(X), py.predict(X), atol=1e-5)
    assert c.predict(X).shape == (120, 2)


# ---- quality ---------------------------------------------------------------------------------
def test_digits_accuracy(digits):
    Xtr, Xte, ytr, yte = digits
    clf = quiet(CNNClassifier(input_shape=(1, 8, 8), conv_layers="16x3p1/2,32x3p1/2", hidden_layer_sizes=(64,),
                              batch_size=32, learning_rate_init=2e-3, max_iter=25, random_state=0).fit, Xtr, ytr)
    # the bar: >= 97% on the 25% test split
    assert clf.score(Xte, yte) >= 0.97
    assert clf.loss_curve_[-1] < clf.loss_curve_[0] / 10


def test_regressor_learns():
    g = np.random.default_rng(0)
    X = g.normal(size=(200, 1, 4, 4)).astype(np.float32)
    y = X.mean(axis=(1, 2, 3)) * 3
    reg = quiet(CNNRegressor(conv_layers="4x3p1", hidden_layer_sizes=(16,), max_iter=200, learning_rate_init=0.01,
                             random_state=0).fit, X, y)
    assert reg.score(X, y) > 0.9  # a linear target: R^2 near 1 once fitted
    assert reg.predict(X).shape == (200,)


# ---- determinism, files, pickling ---------------------------------------------------------------
def test_same_seed_same_bits(digits):
    Xtr, _, ytr, _ = digits
    kw = dict(input_shape=(1, 8, 8), conv_layers="4x3p1/2+bn", hidden_layer_sizes=(8,), max_iter=2,
              random_state=5, dropout=0.1)
    a = quiet(CNNClassifier(**kw).fit, Xtr[:200], ytr[:200])
    b = quiet(CNNClassifier(**kw).fit, Xtr[:200], ytr[:200])
    np.testing.assert_array_equal(a._state["params"], b._state["params"])
    c = quiet(CNNClassifier(**{**kw, "random_state": 6}).fit, Xtr[:200], ytr[:200])
    assert not np.array_equal(a._state["params"], c._state["params"])


def test_save_load_pickle_round_trip(digits, tmp_path):
    Xtr, Xte, ytr, _ = digits
    labels = np.array(list("abcdefghij"))[ytr[:300]]
    clf = quiet(CNNClassifier(input_shape=(1, 8, 8), conv_layers="4x3p1/2+bn", hidden_layer_sizes=(8,),
                              max_iter=3, random_state=0).fit, Xtr[:300], labels)
    path = tmp_path / "cnn.mfs"
    clf.save(path)
    back = mfs.load(path) if hasattr(mfs, "load") else __import__("mfs._base", fromlist=["load"]).load(path)
    assert isinstance(back, CNNClassifier)
    np.testing.assert_array_equal(back.predict(Xte), clf.predict(Xte))
    np.testing.assert_array_equal(back.predict_proba(Xte), clf.predict_proba(Xte))
    assert back.conv_layers[0]["batch_norm"] and back.input_shape == (1, 8, 8)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict(Xte), clf.predict(Xte))
    # the python backend writes the same format: C reads it
    py = quiet(CNNClassifier(input_shape=(1, 8, 8), conv_layers="4x3p1/2", hidden_layer_sizes=(8,), max_iter=1,
                             random_state=0, backend="python").fit, Xtr[:100], ytr[:100])
    p2 = tmp_path / "py.mfs"
    py.save(p2)
    from mfs._base import load
    np.testing.assert_allclose(load(p2).predict_proba(Xte), py.predict_proba(Xte), atol=1e-5)


def test_images_and_rows_are_the_same_input(digits):
    Xtr, Xte, ytr, _ = digits
    kw = dict(input_shape=(1, 8, 8), conv_layers="4x3p1/2", hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    a = quiet(CNNClassifier(**kw).fit, Xtr[:200], ytr[:200])
    b = quiet(CNNClassifier(**kw).fit, Xtr[:200].reshape(-1, 1, 8, 8), ytr[:200])
    np.testing.assert_array_equal(a._state["params"], b._state["params"])
    np.testing.assert_array_equal(a.predict_proba(Xte.reshape(-1, 1, 8, 8)), a.predict_proba(Xte))


def test_warm_start_and_partial_fit(digits):
    Xtr, _, ytr, _ = digits
    kw = dict(input_shape=(1, 8, 8), conv_layers="4x3p1/2+bn", hidden_layer_sizes=(8,), random_state=0, tol=0.0,
              shuffle=False)
    once = quiet(CNNClassifier(max_iter=4, **kw).fit, Xtr[:200], ytr[:200])
    twice = CNNClassifier(max_iter=2, warm_start=True, **kw)
    quiet(twice.fit, Xtr[:200], ytr[:200])
    quiet(twice.fit, Xtr[:200], ytr[:200])
    # weights, batch-norm statistics and Adam's moments all carry over: 2 + 2
    # epochs are 4 epochs, to float32 rounding of the same operations
    assert close(twice._state["params"], once._state["params"]) < 1e-6
    assert len(twice.loss_curve_) == 4
    part = CNNClassifier(**kw)
    for _ in range(4):
        part.partial_fit(Xtr[:200], ytr[:200], classes=np.arange(10))
    assert close(part._state["params"], once._state["params"]) < 1e-6


def test_verbose_prints_epochs(digits, capsys):
    Xtr, _, ytr, _ = digits
    quiet(CNNClassifier(input_shape=(1, 8, 8), conv_layers="2x3p1", hidden_layer_sizes=(), max_iter=2,
                        verbose=True, random_state=0).fit, Xtr[:100], ytr[:100])
    out = capsys.readouterr()
    assert "epoch" in (out.out + out.err).lower() or "Iteration 2" in out.out


# ---- the training parameters: the `train` member (mfs_train_params) plus batch norm's --------------
# A non-default value of every training parameter and what C must then hold:
# the shared ones in the params' `train` member, batch norm's at the top level.
TRAIN = {"solver": ("sgd", 0), "learning_rate": ("invscaling", 1), "alpha": (0.03, 0.03), "batch_size": (7, 7),
         "max_iter": (3, 3), "learning_rate_init": (0.02, 0.02), "power_t": (0.25, 0.25), "shuffle": (False, 0),
         "nesterovs_momentum": (False, 0), "random_state": (11, 11), "tol": (0.5, 0.5), "momentum": (0.5, 0.5),
         "early_stopping": (True, 1), "n_iter_no_change": (4, 4), "validation_fraction": (0.3, 0.3),
         "beta_1": (0.8, 0.8), "beta_2": (0.99, 0.99), "epsilon": (1e-6, 1e-6), "verbose": (True, 1),
         "warm_start": (True, 1), "dropout": (0.1, 0.1)}
BN = {"batch_norm_momentum": 0.2, "batch_norm_eps": 1e-3}
KW = dict(conv_layers="3x3p1/2+bn", hidden_layer_sizes=(6,), **{k: v for k, (v, _) in TRAIN.items()}, **BN)


def _raw_params(est):
    """The fitted model's mfs_cnn_params as C holds it (not the flat dict view)."""
    raw = _native.ffi.new("mfs_cnn_params *")
    _native.check(_native.lib.mfs_model_get_params(est._native._h, raw, _native.ffi.sizeof(raw[0])))
    return raw


def _tiny(cls):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 1, 6, 6)).astype(np.float32)
    return X, (np.arange(40) % 3 if cls is CNNClassifier else X.mean(axis=(1, 2, 3)))


def test_train_table_covers_every_shared_field():
    assert sorted(name for name, _ in _native.ffi.typeof("mfs_train_params").fields) == sorted(TRAIN)
    d = _native.struct_to_dict(_native.params_struct("cnn", {}))
    for name, (_, c) in TRAIN.items():
        assert d[name] != c, name  # each value above is a real change
    for name, v in BN.items():
        assert d[name] != v, name


@pytest.mark.parametrize("cls", [CNNClassifier, CNNRegressor])
def test_every_training_parameter_reaches_c(cls, capsys):
    X, y = _tiny(cls)
    est = cls(**KW).fit(X, y)
    raw, flat = _raw_params(est), est._native.params()
    for name, (_, c) in TRAIN.items():
        assert getattr(raw.train, name) == c, name
        assert flat[name] == c, name
    for name, v in BN.items():
        assert getattr(raw, name) == v and flat[name] == v, name
    # and C trained with them: rows held out and scored (early_stopping,
    # validation_fraction), at most max_iter epochs, progress shown (verbose)
    assert 1 <= est.n_iter_ <= 3 and len(est.validation_scores_) == est.n_iter_
    assert est.t_ == est.n_iter_ * (len(X) - 12)  # ceil(0.3 * 40) rows never trained on
    out, err = capsys.readouterr()
    assert (out + err).strip()


@pytest.mark.parametrize("cls", [CNNClassifier, CNNRegressor])
def test_training_parameters_survive_get_set_clone_pickle_and_files(cls, tmp_path, capsys):
    est = cls(**KW)
    assert {k: est.get_params()[k] for k in KW} == KW
    assert clone(est).get_params() == est.get_params()
    assert cls().set_params(**KW).get_params() == est.get_params()
    X, y = _tiny(cls)
    est.fit(X, y)
    est.save(tmp_path / "m.mfs")
    train_keys = list(TRAIN) + list(BN) + ["hidden_layer_sizes", "activation", "backend"]
    for back in (pickle.loads(pickle.dumps(est)), mfs.load(tmp_path / "m.mfs"), clone(est).fit(X, y)):
        assert type(back) is cls
        # a loaded file spells the architecture out (conv_layers as dicts, input_shape)
        assert {k: back.get_params()[k] for k in train_keys} == {k: est.get_params()[k] for k in train_keys}
        assert bytes(_native.ffi.buffer(_raw_params(back))) == bytes(_native.ffi.buffer(_raw_params(est)))
        np.testing.assert_array_equal(back.predict(X), est.predict(X))


# ---- the architecture spec --------------------------------------------------------------------
def test_compact_spec():
    blocks = parse_conv_layers("t", "16x3p1/2,32x5s2/3avg+bn,8")
    assert blocks[0] == {"filters": 16, "kernel_size": 3, "stride": 1, "padding": 1, "pool": 2,
                         "pool_type": "max", "batch_norm": False}
    assert blocks[1] == {"filters": 32, "kernel_size": 5, "stride": 2, "padding": 2, "pool": 3,
                         "pool_type": "avg", "batch_norm": True}
    assert blocks[2]["kernel_size"] == 3 and blocks[2]["padding"] == 1 and blocks[2]["pool"] == 0
    with pytest.raises(ValueError, match="is not <filters>"):
        parse_conv_layers("t", "16y3")
    with pytest.raises(ValueError, match="unknown keys"):
        parse_conv_layers("t", [{"filters": 4, "kernels": 3}])


# ---- bad input ---------------------------------------------------------------------------------
def test_bad_input(digits):
    Xtr, _, ytr, _ = digits
    X, y = Xtr[:50], ytr[:50]
    base = dict(conv_layers="2x3p1/2", hidden_layer_sizes=(4,), max_iter=1)
    with pytest.raises(ValueError, match="input_shape"):
        CNNClassifier(input_shape=(1, 7, 7), **base).fit(X, y)  # 64 features, 49 needed
    with pytest.raises(ValueError, match=r"images of shape \(1, 8, 8\), input_shape is \(2, 4, 8\)"):
        CNNClassifier(input_shape=(2, 4, 8), **base).fit(X.reshape(-1, 1, 8, 8), y)
    with pytest.raises(ValueError, match="input_shape must be 3 positive ints"):
        CNNClassifier(input_shape=(8, 8), **base).fit(X, y)
    bad = X.copy()
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match="NaN|nan|finite"):
        CNNClassifier(input_shape=(1, 8, 8), **base).fit(bad, y)
    with pytest.raises(ValueError):
        CNNClassifier(input_shape=(1, 8, 8), **base).fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="batch_size is 0"):
        CNNClassifier(input_shape=(1, 8, 8), batch_size=0, **base).fit(X, y)
    with pytest.raises(ValueError, match="activation"):
        CNNClassifier(input_shape=(1, 8, 8), activation="swish", **base).fit(X, y)
    with pytest.raises(ValueError, match="conv block 2: conv2d input is 2 x 2.*smaller than its 5 x 5"):
        # 8x8 -> 4x4 -> 2x2 -> (an unpadded 5x5 kernel does not fit)
        CNNClassifier(input_shape=(1, 8, 8), conv_layers="2x3p1/2,2x3p1/2,2x5p0", max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="padding 3, at most"):
        CNNClassifier(input_shape=(1, 8, 8), conv_layers="2x3p3", max_iter=1).fit(X, y)
    clf = quiet(CNNClassifier(input_shape=(1, 8, 8), **base).fit, X, y)
    with pytest.raises(ValueError, match="64 features|has 63"):
        clf.predict(X[:, :63])
    with pytest.raises(ValueError, match="needs samples of at least 2 classes"):
        CNNClassifier(input_shape=(1, 8, 8), **base).fit(X, np.zeros(50))


def test_cuda_without_gpu_is_a_device_error(digits):
    if mfs.cuda_device_count() > 0:
        pytest.skip("a GPU is present: tested by test_cuda_matches_c")
    Xtr, _, ytr, _ = digits
    with pytest.raises(_native.DeviceError):
        CNNClassifier(input_shape=(1, 8, 8), conv_layers="2x3p1", max_iter=1, backend="cuda").fit(Xtr[:20],
                                                                                                ytr[:20])


@pytest.mark.cuda
def test_cuda_matches_c(digits):
    Xtr, Xte, ytr, _ = digits
    kw = dict(input_shape=(1, 8, 8), conv_layers=[{"filters": 6, "pool": 2, "batch_norm": True},
                                                  {"filters": 5, "pool": 2, "pool_type": "avg"}],
              hidden_layer_sizes=(16,), max_iter=3, batch_size=50, random_state=3, tol=0.0)
    c = quiet(CNNClassifier(backend="c", **kw).fit, Xtr[:300], ytr[:300])
    g = quiet(CNNClassifier(backend="cuda", **kw).fit, Xtr[:300], ytr[:300])
    # different float32 summation orders (GEMM tiles, block reductions) over 18 steps
    assert close(g._state["params"], c._state["params"]) < 1e-4
    np.testing.assert_allclose(g.predict_proba(Xte), c.predict_proba(Xte), atol=1e-4)
    # trained on the GPU, predicts on the CPU
    cpu = pickle.loads(pickle.dumps(g))
    cpu.backend = "c"
    cpu._native = _native.NativeModel.from_bytes(g._native.to_bytes(), "c")
    np.testing.assert_allclose(cpu.predict_proba(Xte), g.predict_proba(Xte), atol=1e-5)
    bad = Xte.copy()
    bad[2, 60] = np.inf
    with pytest.raises(ValueError, match="infinity at row 2, column 60"):
        g.predict(bad)


# ---- scikit-learn's estimator checks ----------------------------------------------------------
_SMALL = dict(conv_layers=[{"filters": 3, "kernel_size": 1}], hidden_layer_sizes=(8,), max_iter=50,
              learning_rate_init=0.01, random_state=0)
# No expected failures: every check passes (sklearn's array-API checks skip
# themselves unless SCIPY_ARRAY_API is set).
# Measured: weighted fits equal fits on repeated / removed rows up to float32
# rounding (9.6e-7 relative on predict_proba); the check asks rtol=1e-7.
_F32 = ("libmfs computes in float32 (~1e-7 relative rounding); this check compares "
        "predictions at rtol=1e-7, atol=1e-9, which only float64 arithmetic meets")
EXPECTED = {"CNNClassifier": {"check_sample_weight_equivalence_on_dense_data": _F32},
            "CNNRegressor": {"check_sample_weight_equivalence_on_dense_data": _F32}}


@parametrize_with_checks([CNNClassifier(**_SMALL), CNNRegressor(**_SMALL)],
                         expected_failed_checks=lambda e: EXPECTED.get(type(e).__name__, {}))
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
