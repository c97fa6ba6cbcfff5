"""The neural-network estimators (MLPClassifier, MLPRegressor, CNNClassifier,
CNNRegressor) called the way a scikit-learn user calls them, beyond the
fixtures of test_mlp.py / test_cnn.py: failed calls that must leave a fitted
estimator as it was, continuing a fit on incompatible data, parameter types,
scikit-learn's warnings and the python backend's parity with C."""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import mfs
from mfs import CNNClassifier, CNNRegressor, MLPClassifier, MLPRegressor

MLP_KW = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
CNN_KW = dict(conv_layers="2x3p1", hidden_layer_sizes=(4,), max_iter=3, random_state=0)


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*a, **k)


def _rows(n=40, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] > 0).astype(int), X @ np.arange(1.0, d + 1)


def _images(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 1, 6, 6))
    return X, (X[:, 0, :3].sum(axis=(1, 2)) > 0).astype(int), X.mean(axis=(1, 2, 3))


def _make(cls, **kw):
    return cls(**{**(CNN_KW if cls in (CNNClassifier, CNNRegressor) else MLP_KW), **kw})


def _data(cls):
    return _images() if cls in (CNNClassifier, CNNRegressor) else _rows()


# ---- a failed call leaves the fitted estimator as it was ---------------------------------------------------
@pytest.mark.parametrize("cls", [MLPClassifier, CNNClassifier])
def test_failed_warm_fit_keeps_the_fitted_labels(cls):
    # was: classes_ became the rejected call's labels while the network stayed the old one,
    # so predict returned the wrong labels ('b' -> 'c') without any error
    X, y, _ = _data(cls)
    m = _quiet(_make(cls, warm_start=True).fit, X, np.array(["a", "b"])[y])
    before = m.predict(X)
    y3 = np.array(["b", "c", "d"])[y + (np.arange(len(y)) % 2)]
    with pytest.raises(ValueError, match="same classes"):
        m.fit(X, y3)
    assert m.classes_.tolist() == ["a", "b"]
    np.testing.assert_array_equal(m.predict(X), before)


@pytest.mark.parametrize("cls", [MLPClassifier, CNNClassifier])
def test_fit_failing_in_c_keeps_the_previous_model_usable(cls):
    X, y, _ = _data(cls)
    m = _quiet(_make(cls).fit, X, np.array(["a", "b"])[y])
    before = m.predict(X)
    Xbad = X.copy()
    Xbad.reshape(len(X), -1)[2, 1] = np.nan  # rejected by the C library, after y was encoded
    with pytest.raises(ValueError, match="NaN"):
        m.fit(Xbad, np.array(["p", "q", "r"])[np.arange(len(X)) % 3])
    assert m.classes_.tolist() == ["a", "b"]
    np.testing.assert_array_equal(m.predict(X), before)


def test_cnn_fit_failing_on_geometry_keeps_the_input_shape():
    X, y, _ = _images()
    m = _quiet(CNNClassifier(conv_layers="2x5p0", hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit, X, y)
    before = m.predict(X)
    small = np.random.default_rng(1).normal(size=(40, 1, 3, 3))  # a 5x5 kernel does not fit 3x3 images
    with pytest.raises(ValueError, match="smaller than its 5 x 5"):
        m.fit(small, y)
    assert m.n_features_in_ == 36
    np.testing.assert_array_equal(m.predict(X), before)


# ---- partial_fit / warm_start on data the fitted network cannot take -------------------------------------------
@pytest.mark.parametrize("first, second, match", [
    ("labels", "indicator", "fitted on 1-D class labels"),
    ("indicator", "labels", "fitted on a multilabel indicator"),
    ("indicator", "indicator3", "y has 3 labels"),
])
@pytest.mark.parametrize("backend", ["c", "python"])
def test_partial_fit_rejects_another_kind_of_target(first, second, match, backend):
    # was: a TypeError naming C dtypes ("got dtype 0"), or a numpy reshape error on the python
    # backend, and the estimator switched to the rejected kind (predict then returned indicators)
    X, y, _ = _rows()
    ys = {"labels": y, "indicator": np.c_[y, 1 - y], "indicator3": np.c_[y, 1 - y, y]}
    m = MLPClassifier(backend=backend, **MLP_KW).partial_fit(X, ys[first], classes=[0, 1])
    before = m.predict(X)
    with pytest.raises(ValueError, match=match):
        m.partial_fit(X, ys[second])
    np.testing.assert_array_equal(m.predict(X), before)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_warm_start_needs_the_fitted_number_of_features(cls):
    # was: "mfs_fit: warm_start: init_params has 31 values, this architecture ... has 26"
    X, yc, yr = _rows()
    y = yc if cls is MLPClassifier else yr
    m = _quiet(cls(warm_start=True, **MLP_KW).fit, X, y)
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 4 features"):
        m.fit(X[:, :3], y)
    assert m.n_features_in_ == 4 and m.predict(X).shape == (len(X),)


@pytest.mark.parametrize("cls", [MLPRegressor, CNNRegressor])
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_continuing_a_regressor_needs_the_fitted_number_of_targets(cls, how):
    X, _, y = _data(cls)
    m = _make(cls, warm_start=how == "warm_start")
    if how == "warm_start":
        _quiet(m.fit, X, y)
        with pytest.raises(ValueError, match="has 1 target.*y has 2"):
            m.fit(X, np.c_[y, -y])
    else:
        m.partial_fit(X, y)
        with pytest.raises(ValueError, match="has 1 target.*y has 2"):
            m.partial_fit(X, np.c_[y, -y])
    assert m.predict(X).shape == (len(X),)


def test_cnn_partial_fit_checks_classes_as_the_mlp():
    # was: silently ignored (MLPClassifier raised)
    X, y, _ = _images()
    m = CNNClassifier(**CNN_KW).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="not the same as on last call"):
        m.partial_fit(X, y, classes=[0, 1, 2])
    m.partial_fit(X, y, classes=[1, 0])  # the same set, in another order
    assert m.classes_.tolist() == [0, 1]


# ---- parameter types and ranges -----------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [MLPClassifier, CNNRegressor])
@pytest.mark.parametrize("name", ["shuffle", "warm_start", "nesterovs_momentum", "early_stopping"])
@pytest.mark.parametrize("value", ["no", None, 2])
def test_boolean_parameters_reject_non_booleans(cls, name, value):
    # was: accepted by truthiness (shuffle="no" shuffled, early_stopping="False" held rows out)
    X, yc, yr = _data(cls)
    with pytest.raises(TypeError, match=f"{name} must be a bool, got {value!r}"):
        _make(cls, **{name: value}).fit(X, yc if cls is MLPClassifier else yr)


@pytest.mark.parametrize("value", [np.False_, 0, 1, True])
def test_boolean_parameters_accept_numpy_bools_and_0_1(value):
    X, y, _ = _rows()
    m = _quiet(MLPClassifier(shuffle=value, **MLP_KW).fit, X, y)
    assert m._native.params()["shuffle"] == int(bool(value))


@pytest.mark.parametrize("value", [-1, "yes", None, 1.5])
def test_verbose_is_a_bool_or_a_non_negative_int(value):
    X, y, _ = _rows()
    with pytest.raises(TypeError, match="verbose must be a bool or an int >= 0"):
        MLPRegressor(verbose=value, **MLP_KW).fit(X, y)


def test_verbose_level_above_one_prints(capsys):
    X, _, y = _rows()
    _quiet(MLPRegressor(verbose=2, **MLP_KW).fit, X, y)
    assert capsys.readouterr().out.count("Iteration ") == 3


@pytest.mark.parametrize("name", ["max_iter", "batch_size", "n_iter_no_change"])
def test_int_parameters_above_int32_name_the_upper_bound(name):
    # was: "max_iter is 2147483648, it must be >= 1"
    X, y, _ = _rows()
    with pytest.raises(ValueError, match=f"{name} is 2147483648, it must be <= 2147483647"):
        MLPClassifier(**{**MLP_KW, name: 2**31}).fit(X, y)


def test_n_iter_no_change_inf_never_stops_as_sklearn():
    # scikit-learn accepts n_iter_no_change=np.inf; tol this large makes every epoch "no improvement"
    X, _, y = _rows()
    never = _quiet(MLPRegressor(n_iter_no_change=np.inf, tol=1e9, **{**MLP_KW, "max_iter": 6}).fit, X, y)
    soon = _quiet(MLPRegressor(n_iter_no_change=1, tol=1e9, **{**MLP_KW, "max_iter": 6}).fit, X, y)
    # scikit-learn's counts on this data: 6 and 3 (the third epoch is the second without improvement)
    assert never.n_iter_ == 6 and soon.n_iter_ == 3


@pytest.mark.parametrize("value", ["10", b"10"])
def test_hidden_layer_sizes_as_a_string_is_a_type_error(value):
    # was: "hidden_layer_sizes must hold ints, got '1'" (the string iterated by character)
    X, y, _ = _rows()
    with pytest.raises(TypeError, match="an int or a sequence of ints, got"):
        MLPClassifier(hidden_layer_sizes=value, max_iter=1).fit(X, y)


def test_hidden_layer_size_above_int32_is_a_value_error():
    X, y, _ = _rows()
    with pytest.raises(ValueError, match="at most 2147483647 units"):
        MLPClassifier(hidden_layer_sizes=(2**31,), max_iter=1).fit(X, y)


def test_conv_layers_as_one_dict_says_to_wrap_it():
    X, y, _ = _images()
    with pytest.raises(TypeError, match=r"got one dict; write conv_layers=\[\{'filters': 2\}\]"):
        CNNClassifier(conv_layers={"filters": 2}, max_iter=1).fit(X, y)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_conv_block_batch_norm_must_be_a_bool(value):
    X, y, _ = _images()
    with pytest.raises(TypeError, match="batch_norm'\\] must be a bool"):
        CNNClassifier(conv_layers=[{"filters": 2, "batch_norm": value}], max_iter=1).fit(X, y)


@pytest.mark.parametrize("cls", [MLPRegressor, CNNClassifier, CNNRegressor])
def test_out_activation_needs_a_fit(cls):
    # as MLPClassifier's (and scikit-learn's attributes): hasattr is False before fit
    with pytest.raises(NotFittedError):
        cls().out_activation_
    assert not hasattr(cls(), "out_activation_")


# ---- scikit-learn's warnings ----------------------------------------------------------------------------------
def test_convergence_warning_also_with_early_stopping():
    # scikit-learn warns whenever max_iter epochs ran without the stopping rule firing,
    # early_stopping or not (was: never with early_stopping=True)
    X, y, _ = _rows(n=80)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(2\\)"):
        m = MLPClassifier(early_stopping=True, **{**MLP_KW, "max_iter": 2}).fit(X, y)
    assert m.n_iter_ == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # stopped by the rule: no warning
        m = MLPClassifier(early_stopping=True, n_iter_no_change=1, tol=1e9, **{**MLP_KW, "max_iter": 50}).fit(X, y)
    assert m.n_iter_ == 3  # as scikit-learn's: stops after the second epoch without improvement


# ---- input -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [CNNClassifier, CNNRegressor])
def test_cnn_empty_images_are_sklearns_error(cls):
    # was: numpy's "cannot reshape array of size 0 into shape (0,newaxis)"
    with pytest.raises(ValueError, match="0 sample\\(s\\)"):
        cls(**CNN_KW).fit(np.zeros((0, 1, 6, 6)), np.zeros(0))


@pytest.mark.parametrize("backend", ["c", "python"])
def test_cnn_inferred_input_shape_is_named_when_it_cannot_work(backend):
    # 72 features, not a square: (1, 1, 72), which a 2x2 pool cannot take
    X = np.random.default_rng(0).normal(size=(20, 72))
    with pytest.raises(ValueError, match=r"inferred from 72 features: pass input_shape=\(C, H, W\)"):
        CNNClassifier(conv_layers="2x3p1/2", backend=backend, max_iter=1).fit(X, np.arange(20) % 2)
    m = _quiet(CNNClassifier(conv_layers="2x3p1/2", input_shape=(2, 6, 6), backend=backend, max_iter=1).fit,
               X, np.arange(20) % 2)
    assert m.coefs_[0].shape == (2, 2, 3, 3)


@pytest.mark.parametrize("cls", [MLPRegressor, CNNRegressor])
@pytest.mark.parametrize("backend", ["c", "python"])
def test_regression_targets_beyond_float32_are_a_clear_error(cls, backend):
    # finite in float64, infinite in float32 (the training precision); was: NaN predictions
    # (python backend) or "y contains infinity at row 0" for a finite y (C)
    X, _, y = _data(cls)
    with pytest.raises(ValueError, match="beyond float32's range"):
        _make(cls, backend=backend).fit(X, y * 1e39)


# ---- the python backend as the C one -------------------------------------------------------------------------
@pytest.mark.parametrize("early_stopping", [False, True])
def test_python_backend_verbose_prints_the_same_lines_as_c(capsys, early_stopping):
    # was: nothing printed on backend="python"
    X, y, _ = _rows(n=60)
    out = {}
    for backend in ("c", "python"):
        _quiet(MLPClassifier(verbose=True, early_stopping=early_stopping, backend=backend, **MLP_KW).fit, X, y)
        out[backend] = capsys.readouterr().out.splitlines()
    assert len(out["python"]) == len(out["c"]) == 3 * (2 if early_stopping else 1)
    for a, b in zip(out["c"], out["python"]):
        head_a, _, val_a = a.rpartition(" ")
        head_b, _, val_b = b.rpartition(" ")
        assert head_a == head_b
        # float32 C against the float64 reference: the printed values agree to 1e-5
        assert abs(float(val_a) - float(val_b)) <= 1e-5


def test_python_backend_verbose_on_partial_fit_and_warm_start(capsys):
    X, _, y = _rows()
    m = _quiet(MLPRegressor(verbose=True, warm_start=True, backend="python", **MLP_KW).fit, X, y)
    _quiet(m.fit, X, y)
    m.partial_fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split(",")[0] for ln in lines] == ["Iteration 1", "Iteration 2", "Iteration 3"] * 2 + ["Iteration 1"]


def test_python_backend_small_validation_set_message_as_c():
    X, y, _ = _rows(n=6)
    msgs = []
    for backend in ("c", "python"):
        with pytest.raises(ValueError, match="validation_fraction 0.1 of 6 rows gives 1") as e:
            MLPClassifier(early_stopping=True, backend=backend, **MLP_KW).fit(X, np.arange(6) % 2)
        msgs.append(str(e.value).split(": ", 1)[1])
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("backend", ["c", "python"])
@pytest.mark.parametrize("spec, match", [("2x5p0", "conv block 0: conv2d input is 4 x 4 .*smaller than its 5 x 5"),
                                         ("2x3p1/8", "conv block 0: pool2d input is 4 x 4.*smaller than its 8 x 8")])
def test_cnn_geometry_errors_read_the_same_on_both_backends(backend, spec, match):
    X = np.random.default_rng(0).normal(size=(20, 1, 4, 4))
    with pytest.raises(ValueError, match=match):
        CNNClassifier(conv_layers=spec, input_shape=(1, 4, 4), backend=backend, max_iter=1).fit(X, np.arange(20) % 2)


@pytest.mark.parametrize("cls", [MLPRegressor, MLPClassifier, CNNClassifier])
def test_partial_fit_continues_a_python_backend_state_on_c(cls):
    # was: the C backend refitted from scratch for max_iter epochs, dropping the trained weights
    X, yc, yr = _data(cls)
    y, extra = (yr, {}) if cls is MLPRegressor else (np.array(["u", "v"])[yc], {"classes": ["u", "v"]})
    switched = _make(cls, backend="python", max_iter=4).partial_fit(X, y, **extra)
    switched.set_params(backend="c")
    switched.partial_fit(X, y)
    switched.partial_fit(X, y)
    ref = _make(cls, backend="python", max_iter=4).partial_fit(X, y, **extra)
    ref.partial_fit(X, y)
    ref.partial_fit(X, y)
    assert switched.t_ == 3 * len(X) and len(switched.loss_curve_) == 3 and switched._native is not None
    out = (lambda m: m.predict(X)) if cls is MLPRegressor else (lambda m: m.predict_proba(X))
    # two float32 C epochs after one float64 reference epoch: measured 2.5e-7
    np.testing.assert_allclose(out(switched), out(ref), rtol=0, atol=1e-5)
    np.testing.assert_allclose(switched.loss_curve_, ref.loss_curve_, rtol=1e-5)


@pytest.mark.parametrize("backend", ["c", "python"])
def test_an_epsilon_that_float32_cannot_hold_is_rejected(backend):
    # valid for scikit-learn (float64), but the optimizers run in float32: epsilon -> 0 made 0/0
    # (a "diverged" error that blamed the learning rate)
    X, y, _ = _rows()
    with pytest.raises(ValueError, match="epsilon is 1e-300, which is 0 in float32"):
        MLPClassifier(backend=backend, **MLP_KW, epsilon=1e-300).fit(X, y)


@pytest.mark.parametrize("backend", ["c", "python"])
@pytest.mark.parametrize("kw", [dict(beta_1=0.99999999), dict(beta_2=0.99999999),
                                dict(solver="adamw", beta_2=0.99999999)])
def test_betas_that_float32_rounds_to_one_still_train(backend, kw):
    # scikit-learn accepts any beta < 1; float32 rounds these to 1.0, and 1.0f - beta was 0: Adam's
    # first moment froze (no learning) and AdamW's second (a loss of 1e32). 1 - beta is now taken
    # in double on both backends.
    X, y, _ = _rows()
    m = _quiet(MLPClassifier(backend=backend, **MLP_KW, **kw).fit, X, y)
    assert np.all(np.isfinite(m.loss_curve_)) and np.all(np.isfinite(m.coefs_[0]))
    assert m.loss_curve_[-1] < m.loss_curve_[0]


@pytest.mark.parametrize("kw", [dict(beta_1=0.99999994), dict(beta_2=0.99999994), dict(epsilon=1e-45)])
def test_optimizer_constants_at_the_float32_limits_train(kw):
    X, y, _ = _rows()
    m = _quiet(MLPClassifier(**MLP_KW, **kw).fit, X, y)
    assert np.all(np.isfinite(m.loss_curve_)) and np.all(np.isfinite(m.coefs_[0]))


@pytest.mark.parametrize("cls", [MLPRegressor, CNNClassifier])
def test_python_backend_divergence_is_an_error_as_on_c(cls):
    # was: backend="python" returned a model of NaN weights (NaN predictions), C raised
    X, yc, yr = _data(cls)
    y = yr if cls is MLPRegressor else yc
    for backend in ("c", "python"):
        # numpy's overflow warnings on the way to NaN are expected
        with np.errstate(all="ignore"), pytest.raises(ValueError, match="the training diverged .* lower learning_"):
            _make(cls, backend=backend, learning_rate_init=1e300).fit(X, y)


@pytest.mark.parametrize("backend", ["c", "python"])
@pytest.mark.parametrize("early_stopping, what", [(False, "Training loss"), (True, "Validation score")])
def test_verbose_ends_with_sklearns_stopping_line(capsys, backend, early_stopping, what):
    # scikit-learn's last verbose line when its stopping rule ends the fit (was: none)
    X, y, _ = _rows(n=80)
    m = MLPClassifier(verbose=True, early_stopping=early_stopping, n_iter_no_change=1, tol=1e9, backend=backend,
                      **{**MLP_KW, "max_iter": 50}).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert m.n_iter_ == 3
    assert lines[-1] == (f"{what} did not improve more than tol=1000000000.000000 for 1 consecutive epochs. "
                         "Stopping.")
    assert sum(ln.startswith("Iteration ") for ln in lines) == 3


def test_verbose_prints_no_stopping_line_when_max_iter_ends_the_fit(capsys):
    X, y, _ = _rows()
    _quiet(MLPClassifier(verbose=True, **MLP_KW).fit, X, y)
    assert "Stopping" not in capsys.readouterr().out


@pytest.mark.parametrize("cls", [MLPRegressor, CNNRegressor])
def test_a_column_y_is_raveled_with_a_warning_and_stays_1d_through_a_model_file(cls, tmp_path):
    # scikit-learn's regressors ravel a (n, 1) y with a DataConversionWarning and predict (n,);
    # the CNN used to keep (n, 1), and then predicted (n,) once saved and loaded
    from sklearn.exceptions import DataConversionWarning
    X, _, y = _data(cls)
    with pytest.warns(DataConversionWarning):
        m = _quiet(_make(cls).fit, X, y[:, None])
    assert m.predict(X).shape == (len(X),)
    path = tmp_path / "m.mfs"
    m.save(str(path))
    np.testing.assert_array_equal(mfs.load(str(path)).predict(X), m.predict(X))
