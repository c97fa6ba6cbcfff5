"""Neural networks trained from scratch in C (or CUDA, or the numpy
reference): MLPClassifier and MLPRegressor with scikit-learn's parameters and
attributes, plus dropout, AdamW and a cosine schedule.

``_NetworkEstimator`` holds what every trained network shares (the training
parameters, the per-batch / per-epoch callback that becomes a progress bar and
stops cleanly on Ctrl-C, warm_start, partial_fit, the loss_curve_ family of
attributes); the CNN estimators (mfs/cnn.py) build on it."""
from __future__ import annotations

import contextlib
import numbers
import warnings

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _native
from ._base import MfsClassifier, MfsEstimator, register, store_params
from .reference import mlp as _ref

ACTIVATIONS = {"identity": 0, "relu": 1, "tanh": 2, "logistic": 3, "gelu": 4}
SOLVERS = {"sgd": 0, "adam": 1, "adamw": 2}
LEARNING_RATES = {"constant": 0, "invscaling": 1, "adaptive": 2, "cosine": 3}
_TASK_REGRESSION, _TASK_CLASSIFICATION, _TASK_MULTILABEL = 0, 1, 2
_CNT = {"samples_seen": 0, "steps": 1, "n_iter": 2, "lr": 3, "best_loss": 4, "best_score": 5,
        "no_improvement": 6, "loss": 7, "epochs_total": 8, "stopped": 9}


# ---- parameter checks -----------------------------------------------------------------
def _real(owner, name, value, low=None, high=None, low_open=False, high_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{owner}: {name} is {value}, it must be finite")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{owner}: {name} is {value}, it must be {'>' if low_open else '>='} {low}")
    if high is not None and (v > high or (high_open and v == high)):
        raise ValueError(f"{owner}: {name} is {value}, it must be {'<' if high_open else '<='} {high}")
    return v


_INT32_MAX = 2**31 - 1


def _int(owner, name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{owner}: {name} is {value}, it must be >= {low}")
    if value > _INT32_MAX:
        raise ValueError(f"{owner}: {name} is {value}, it must be <= {_INT32_MAX} (a C int32)")
    return int(value)


def _bool(owner, name, value):
    """A boolean parameter: bool, numpy bool, or the ints 0 / 1. Anything else
    (a string such as "no" is truthy) is a TypeError, never silently True."""
    if isinstance(value, (bool, np.bool_)):
        return int(bool(value))
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return int(value)
    raise TypeError(f"{owner}: {name} must be a bool, got {value!r}")


def _verbose(owner, value):
    """verbose: a bool or an int >= 0 (scikit-learn's rule); only on/off matters."""
    if isinstance(value, (bool, np.bool_)):
        return int(bool(value))
    if isinstance(value, numbers.Integral) and value >= 0:
        return int(value > 0)
    raise TypeError(f"{owner}: verbose must be a bool or an int >= 0, got {value!r}")


def _n_iter_no_change(owner, value):
    """An int >= 1, or np.inf (scikit-learn's "never stop on no improvement"),
    given to C as the largest int32."""
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and value == np.inf:
        return _INT32_MAX
    return _int(owner, "n_iter_no_change", value, 1)


def _choice(owner, name, value, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{owner}: {name} is {value!r}, expected one of {sorted(options)}")
    return options[value]



class _Progress:
    """The per-batch / per-epoch callback of a fit: progress (tqdm when it is
    installed, else one line per epoch as scikit-learn prints them), the
    interrupt flag (Ctrl-C stops after the current batch)."""

    def __init__(self, owner, verbose, early_stopping):
        self.owner, self.verbose, self.early = owner, verbose, early_stopping
        self.interrupted = False
        self.error = None
        self.bar = None

    def __call__(self, event):
        try:
            if self.verbose:
                self._show(event)
        except KeyboardInterrupt:
            self.interrupted = True
            return 1
        except Exception as e:  # never let an exception cross into C
            self.error = e
            return 1
        return 0

    def _show(self, ev):
        if ev.kind == 0:  # batch
            if self.bar is not None:
                self.bar.update(1)
            elif ev.batch == 1 and ev.epoch == 1:
                try:
                    from tqdm.auto import tqdm
                    self.bar = tqdm(total=ev.n_batches * ev.max_iter, desc=self.owner, unit="batch")
                    self.bar.update(1)
                except ImportError:
                    self.bar = None
            return
        if self.bar is not None:
            post = {"loss": f"{ev.loss:.5f}"}
            if self.early:
                post["val"] = f"{ev.validation_score:.4f}"
            self.bar.set_postfix(post, refresh=False)
            self.bar.set_description(f"{self.owner} epoch {ev.epoch}")
        else:
            print(f"Iteration {ev.epoch}, loss = {ev.loss:.8f}")
            if self.early:
                print(f"Validation score: {ev.validation_score:f}")

    def replay(self, losses, scores=None):
        """The per-epoch lines of a fit that ran without callbacks (the numpy
        reference, backend="python"), printed once it has finished."""
        for e, loss in enumerate(losses, 1):
            print(f"Iteration {e}, loss = {loss:.8f}")
            if self.early and scores is not None and e <= len(scores):
                print(f"Validation score: {scores[e - 1]:f}")

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class _NetworkEstimator(MfsEstimator):
    """Base of the trained networks. Subclasses define ``_kind``,
    ``_reference``, ``_task(y)``, ``_arch_params(X)`` (the architecture part of
    the C params) and how y is encoded."""

    _reference = _ref
    # what fit / partial_fit set before the network trains; put back when the call fails
    _ROLLBACK = ("classes_", "_multilabel", "n_features_in_", "feature_names_in_", "_seed_used")

    @contextlib.contextmanager
    def _rollback_on_error(self):
        """Restore the attributes of _ROLLBACK when the body raises, so that a
        failed fit / partial_fit leaves a fitted estimator as it was (its network
        never paired with the labels or input size of the call that failed)."""
        missing = object()
        saved = {name: self.__dict__.get(name, missing) for name in self._ROLLBACK}
        try:
            yield
        except BaseException:
            for name, value in saved.items():
                if value is missing:
                    self.__dict__.pop(name, None)
                else:
                    self.__dict__[name] = value
            raise

    def _check_warm_classes(self, prev):
        """fit with warm_start on a fitted classifier: y must have the fitted
        classes (prev, before this call's encoding), scikit-learn's message."""
        if prev is not None and (len(prev) != len(self.classes_) or np.any(prev != self.classes_)):
            raise ValueError(f"{type(self).__name__}: warm_start can only be used where `y` has the same classes "
                             f"as in the previous call to fit. Previously got {prev}, `y` has {self.classes_}")

    def _check_partial_classes(self, classes):
        """partial_fit after the first call: `classes`, if given, must be the
        fitted ones (scikit-learn's message)."""
        if classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ValueError(f"`classes={classes!r}` is not the same as on last call to partial_fit, "
                             f"was: {self.classes_!r}")

    def _continues(self):
        """Whether fit continues the previous fit (warm_start on a fitted
        estimator): X must then have the fitted number of features, as in
        scikit-learn."""
        return (bool(_bool(type(self).__name__, "warm_start", self.warm_start))
                and getattr(self, "_state", None) is not None)

    # ---- parameters ------------------------------------------------------------
    def _train_params(self, n=None):
        """The training part of the C params, validated: the fields of
        mfs_train_params (mfs/train.h), the ``train`` member every network's
        params struct embeds. The dict stays flat (params_struct puts these
        names into ``train``), as the numpy references read it."""
        o = type(self).__name__
        if self.solver == "lbfgs":
            raise ValueError(f"{o}: solver 'lbfgs' is not available in libmfs (a full-batch quasi-Newton "
                             "method); use 'adam', 'adamw' or 'sgd'")
        if hasattr(self, "max_fun"):  # scikit-learn's lbfgs budget: checked, unused without lbfgs
            _int(o, "max_fun", self.max_fun, 1)
        if hasattr(self, "loss") and self.loss != "squared_error":
            raise ValueError(f"{o}: loss={self.loss!r} is not supported; libmfs fits the squared error "
                             "('squared_error'; scikit-learn's 'poisson' is not implemented)")
        bs = self.batch_size
        if isinstance(bs, str) and bs == "auto":
            bs = -1
        else:
            bs = _int(o, "batch_size", bs, 1)
        p = {
            "solver": _choice(o, "solver", self.solver, SOLVERS),
            "learning_rate": _choice(o, "learning_rate", self.learning_rate, LEARNING_RATES),
            "alpha": _real(o, "alpha", self.alpha, 0.0),
            "batch_size": bs,
            "max_iter": _int(o, "max_iter", self.max_iter, 1),
            "learning_rate_init": _real(o, "learning_rate_init", self.learning_rate_init, 0.0, low_open=True),
            "power_t": _real(o, "power_t", self.power_t, 0.0),
            "shuffle": _bool(o, "shuffle", self.shuffle),
            "nesterovs_momentum": _bool(o, "nesterovs_momentum", self.nesterovs_momentum),
            "tol": _real(o, "tol", self.tol, 0.0),
            "momentum": _real(o, "momentum", self.momentum, 0.0, 1.0),
            "early_stopping": _bool(o, "early_stopping", self.early_stopping),
            "n_iter_no_change": _n_iter_no_change(o, self.n_iter_no_change),
            "validation_fraction": _real(o, "validation_fraction", self.validation_fraction, 0.0, 1.0,
                                         high_open=True),
            "beta_1": _real(o, "beta_1", self.beta_1, 0.0, 1.0, high_open=True),
            "beta_2": _real(o, "beta_2", self.beta_2, 0.0, 1.0, high_open=True),
            "epsilon": _real(o, "epsilon", self.epsilon, 0.0, low_open=True),
            "verbose": _verbose(o, self.verbose),
            "warm_start": _bool(o, "warm_start", self.warm_start),
            "dropout": _real(o, "dropout", self.dropout, 0.0, 1.0, high_open=True),
            "random_state": self._seed() if n is not None else int(getattr(self, "_seed_used", 0)),
        }
        # the optimizers run in float32 (src_c/neural/optim.c, the numpy reference): an epsilon that
        # rounds to 0 there divides 0 by 0 (a beta that rounds to 1 is fine: 1 - beta is taken in double)
        if np.float32(p["epsilon"]) == 0.0:
            raise ValueError(f"{o}: epsilon is {p['epsilon']!r}, which is 0 in float32 (libmfs's training "
                             f"precision); it must be >= {float(np.finfo(np.float32).smallest_subnormal):.3g}")
        if p["early_stopping"] and p["validation_fraction"] == 0.0:
            raise ValueError(f"{o}: early_stopping needs validation_fraction in (0, 1), got 0")
        return p

    @staticmethod
    def _train_kwargs(p):
        """The estimator's training keyword arguments from a params dict (flat,
        as struct_to_dict gives it): the inverse of _train_params."""
        inv = lambda d, v: {b: a for a, b in d.items()}[v]  # noqa: E731
        return dict(solver=inv(SOLVERS, p["solver"]), alpha=p["alpha"],
                    batch_size="auto" if p["batch_size"] == -1 else int(p["batch_size"]),
                    learning_rate=inv(LEARNING_RATES, p["learning_rate"]),
                    learning_rate_init=p["learning_rate_init"], power_t=p["power_t"], max_iter=p["max_iter"],
                    shuffle=bool(p["shuffle"]), random_state=int(p["random_state"]), tol=p["tol"],
                    verbose=bool(p["verbose"]), warm_start=bool(p["warm_start"]), momentum=p["momentum"],
                    nesterovs_momentum=bool(p["nesterovs_momentum"]), early_stopping=bool(p["early_stopping"]),
                    validation_fraction=p["validation_fraction"], beta_1=p["beta_1"], beta_2=p["beta_2"],
                    epsilon=p["epsilon"], n_iter_no_change=p["n_iter_no_change"], dropout=p["dropout"])

    def _seed(self):
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            if rs < 0 or rs > 2**63 - 1:
                raise ValueError(f"{type(self).__name__}: random_state is {rs}, it must be in [0, 2**63 - 1]")
            seed = int(rs)
        else:
            seed = int(check_random_state(rs).randint(np.iinfo(np.int32).max))
        self._seed_used = seed
        return seed

    def _params(self, X):
        p = self._train_params(None if X is None else X.shape[0])
        p.update(self._arch_params(X))
        return p

    # ---- training ------------------------------------------------------------------
    def _can_warm_start(self, params):
        st = getattr(self, "_state", None)
        return (bool(self.warm_start) and st is not None and "params" in st
                and getattr(self, "_fit_params_arch", None) == self._arch_key(params))

    def _arch_key(self, params):
        return tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                            for k, v in self._arch_params_for_key(params).items()))

    def _arch_params_for_key(self, params):
        keys = ("task", "n_classes", "n_hidden", "hidden_layer_sizes", "activation", "dropout")
        return {k: params[k] for k in keys if k in params}

    def _train(self, X, y, partial, sample_weight=None):
        """Fit (partial=False) or one partial_fit epoch on validated X and the
        encoded y; sets the fitted attributes. sample_weight (n_samples,):
        scikit-learn's weighted loss (CPU backends)."""
        backend = self._check_backend()
        params = self._params(X)
        sw = _ref.check_sample_weight(sample_weight, X.shape[0])
        owner = type(self).__name__
        first_partial = partial and getattr(self, "_state", None) is None
        warm = (not partial) and self._can_warm_start(params)
        prev_curve = list(getattr(self, "loss_curve_", []) or []) if (warm or (partial and not first_partial)) else []
        prev_val = list(getattr(self, "validation_scores_", None) or []) if warm else []
        progress = _Progress(owner, self.verbose, bool(params["early_stopping"]))
        n_old = 0
        if isinstance(self.batch_size, numbers.Integral) and self.batch_size > X.shape[0]:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                          UserWarning, stacklevel=3)
        try:
            if backend == "python":
                kwargs = {}
                if partial and not first_partial:
                    kwargs["state"] = self._state
                elif warm:
                    kwargs.update(init_params=self._state["params"], init_optimizer=self._state["optimizer_state"],
                                  init_counters=self._state["counters"])
                n_old = len(self._state["loss_curve"]) if (partial and not first_partial) else 0
                state = self._reference.fit(X, y, incremental=partial, sample_weight=sw, **kwargs, **params)
                self._native = None
                self._state = {k: np.asarray(v) for k, v in state.items()}
            else:
                if partial and not first_partial:
                    model = self._native
                    if model is None:
                        # a python-backend state continued on C: the same state (weights, optimizer,
                        # counters, curves) as a C model, through the model-file format both write;
                        # was: a fresh fit of max_iter epochs that dropped the trained weights
                        model = _native.NativeModel.from_bytes(self._model_bytes(), backend)
                else:
                    model = _native.NativeModel.create(self._kind, params, backend)
                    if warm:
                        model.set_array("init_params", self._state["params"].astype(np.float32))
                        model.set_array("init_optimizer", self._state["optimizer_state"].astype(np.float32))
                        model.set_array("init_counters", self._state["counters"].astype(np.float64))
                n_old = len(self._state["loss_curve"]) if (partial and not first_partial) else 0
                # an input of the native model: set for this call, or removed (partial_fit reuses the model)
                model.set_array("sample_weight", None if sw is None else sw.astype(np.float32))
                cb = _native.ffi.callback("int32_t(void *, const mfs_train_event *)",
                                          lambda user, ev: progress(ev))
                _native.check(_native.lib.mfs_fit_with_callback(
                    model._h, _native.view(X), _native.view(y), int(bool(partial)), cb, _native.ffi.NULL))
                self._native = model
                self._state = model.arrays()
        finally:
            progress.close()
        if progress.error is not None:
            raise progress.error
        self._fit_params_arch = self._arch_key(params)
        # partial_fit's state holds the whole curve; fit's only this call's epochs
        self._set_network_attributes(prev_curve, prev_val, skip=n_old)
        if backend == "python" and params["verbose"]:
            progress.replay(self.loss_curve_[len(prev_curve):], (self.validation_scores_ or [])[len(prev_val):])
        if (params["verbose"] and not partial and not progress.interrupted
                and self._counters[_CNT["no_improvement"]] > params["n_iter_no_change"]):
            # scikit-learn's last line of a fit that its stopping rule ended
            what = "Validation score" if params["early_stopping"] else "Training loss"
            tail = "Learning rate too small. Stopping." if self.learning_rate == "adaptive" else "Stopping."
            print(f"{what} did not improve more than tol={params['tol']:f} for {params['n_iter_no_change']} "
                  f"consecutive epochs. {tail}")
        if progress.interrupted:
            warnings.warn("Training interrupted by user.", UserWarning, stacklevel=3)
        elif (not partial and self.n_iter_ == params["max_iter"]
              and self._counters[_CNT["no_improvement"]] <= params["n_iter_no_change"]):
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({params['max_iter']}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=3)
        return self

    def _set_network_attributes(self, prev_curve=(), prev_val=(), skip=0):
        st = self._state
        c = np.asarray(st["counters"], dtype=np.float64)
        self._counters = c
        self.loss_curve_ = list(prev_curve) + [float(v) for v in st["loss_curve"][skip:]]
        self.n_iter_ = int(c[_CNT["n_iter"]])
        self.t_ = int(c[_CNT["samples_seen"]])
        self.loss_ = float(c[_CNT["loss"]]) if self.loss_curve_ else None
        if bool(self.early_stopping):
            self.validation_scores_ = list(prev_val) + [float(v) for v in st.get("validation_scores", [])]
            self.best_validation_score_ = float(c[_CNT["best_score"]])
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = float(c[_CNT["best_loss"]])
        self._set_layer_attributes()

    def _set_layer_attributes(self):
        units = [int(u) for u in self._state["layer_units"]]
        params = np.asarray(self._state["params"])
        coefs, intercepts = _ref.unpack(params, units)
        self.coefs_ = [np.array(c) for c in coefs]
        self.intercepts_ = [np.array(b) for b in intercepts]
        self.n_layers_ = len(units)
        self.n_outputs_ = units[-1]

    # ---- prediction -------------------------------------------------------------------
    def _run(self, method, X):
        check_is_fitted(self, "_state")
        if self._native is None:
            return getattr(self._reference, method)(self._state, X, **self._params(None))
        if method == "predict_log_proba":
            return self._native._apply(_native.lib.MFS_METHOD_PREDICT_LOG_PROBA,
                                       _native.lib.mfs_predict_log_proba, X)
        return getattr(self._native, method)(X)


def _check_same_outputs(est, y, what):
    """A regressor continued (warm_start, partial_fit) on y (n,) or (n, k):
    k must be the fitted number of targets."""
    k = 1 if y.ndim == 1 else y.shape[1]
    if k != est.n_outputs_:
        raise ValueError(f"{type(est).__name__}: {what}, which has {est.n_outputs_} target(s); y has {k}. "
                         "Call fit with warm_start=False to train a new network")


def _float32_targets(est, y):
    """Regression targets as C-contiguous float32. y was checked finite (in
    float64) by validate_data; a value beyond float32's range would become
    infinity here, and the fit NaN: a ValueError instead."""
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(y, dtype=np.float32)
    if not np.all(np.isfinite(out)):
        big = np.asarray(y, dtype=np.float64)
        big = big[~np.isfinite(out)].ravel()[0]
        raise ValueError(f"{type(est).__name__}: y holds {big:g}, beyond float32's range (|y| <= "
                         f"{float(np.finfo(np.float32).max):.4g}), in which libmfs trains; scale y down")
    return out


def _column_y(y):
    """A column vector y becomes 1-D with scikit-learn's DataConversionWarning."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        from sklearn.utils.validation import column_or_1d
        y = column_or_1d(y, warn=True)
    return y


def _hidden_sizes(owner, h):
    if isinstance(h, numbers.Integral) and not isinstance(h, bool):
        h = [h]
    if isinstance(h, (str, bytes)):
        raise TypeError(f"{owner}: hidden_layer_sizes must be an int or a sequence of ints, got {h!r}")
    try:
        h = list(h)
    except TypeError:
        raise TypeError(f"{owner}: hidden_layer_sizes must be an int or a sequence of ints, got {h!r}") from None
    if len(h) > 16:
        raise ValueError(f"{owner}: hidden_layer_sizes has {len(h)} layers, libmfs supports at most 16")
    out = []
    for v in h:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{owner}: hidden_layer_sizes must hold ints, got {v!r}")
        if v <= 0:
            raise ValueError(f"{owner}: hidden_layer_sizes must be > 0, got {list(h)}.")
        if v > _INT32_MAX:
            raise ValueError(f"{owner}: hidden_layer_sizes holds {v}, a layer has at most {_INT32_MAX} units")
        out.append(int(v))
    return out


class _BaseMLP(_NetworkEstimator):
    _kind = "mlp"

    def _arch_params(self, X):
        o = type(self).__name__
        h = _hidden_sizes(o, self.hidden_layer_sizes)
        return {"task": self._task_code(), "n_classes": self._n_classes_param(),
                "n_hidden": len(h), "hidden_layer_sizes": h + [0] * (16 - len(h)),
                "activation": _choice(o, "activation", self.activation, ACTIVATIONS)}

    def _n_classes_param(self):
        return 0

    @classmethod
    def _common_from_params(cls, p):
        inv = lambda d, v: {b: a for a, b in d.items()}[v]  # noqa: E731
        return dict(hidden_layer_sizes=tuple(int(v) for v in list(p["hidden_layer_sizes"])[:p["n_hidden"]]),
                    activation=inv(ACTIVATIONS, p["activation"]), **cls._train_kwargs(p))

    @classmethod
    def _from_native(cls, model, backend):
        p = model.params()
        est = cls(**cls._common_from_params(p), backend=backend)
        est._seed_used = int(p["random_state"])
        est._native = model
        est._state = model.arrays()
        est.n_features_in_ = model.n_features_in
        est._fit_params_arch = est._arch_key(est._params_from_struct(p))
        est._after_load(p)
        est._set_network_attributes()
        return est

    @staticmethod
    def _params_from_struct(p):
        return {k: (list(v) if not isinstance(v, (int, float)) else v) for k, v in p.items()}

    def _after_load(self, p):
        pass


_DOC_PARAMS = """
    hidden_layer_sizes : tuple of int, default=(100,)
        Units of each hidden layer (at most 16 layers).
    activation : {"identity", "logistic", "tanh", "relu", "gelu"}, default="relu"
        Hidden-layer activation; "gelu" is the exact erf form (PyTorch's default).
    solver : {"adam", "sgd", "adamw"}, default="adam"
        "adam" and "sgd" follow scikit-learn's update formulas; "adamw" is
        PyTorch's AdamW with ``alpha`` as decoupled weight decay. "lbfgs" is
        not available.
    alpha : float, default=1e-4
        L2 penalty on the weights (not the biases), scaled as scikit-learn
        (``alpha / batch`` added to their gradient).
    batch_size : int or "auto", default="auto"
        Rows per mini-batch; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default="constant"
        Schedule of the step size, as scikit-learn's (applied to every solver),
        plus "cosine": ``learning_rate_init * (1 + cos(pi * epoch / max_iter)) / 2``.
    learning_rate_init : float, default=1e-3
    power_t : float, default=0.5
    max_iter : int, default=200
        Epochs.
    shuffle : bool, default=True
    random_state : int, RandomState or None, default=None
        Seed of the library's counter-based generator (init, shuffling, the
        validation split, dropout): the same seed gives the same bits on a
        given thread count.
    tol : float, default=1e-4
    verbose : bool or int >= 0, default=False
        Show a progress bar (tqdm, when installed) or one line per epoch
        (backend="python": the lines, once the fit has finished).
    warm_start : bool, default=False
        Continue from the previous fit's weights AND optimizer state (scikit-learn
        restarts the optimizer; keeping it makes a saved model resumable). X must
        have the fitted number of features and y the fitted classes / targets
        (ValueError otherwise); a changed architecture starts a new network.
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
    n_iter_no_change : int or np.inf, default=10
        np.inf: never stop for lack of improvement (as scikit-learn).
    max_fun : int, default=15000
        Accepted for compatibility (>= 1): scikit-learn's lbfgs budget of
        loss evaluations, unused by the solvers libmfs has.
    dropout : float, default=0.0
        Probability of zeroing each hidden unit during training (inverted
        dropout, masks from the core generator).
    backend : {"c", "cuda", "python"}, default="c"

    Attributes
    ----------
    coefs_, intercepts_ : lists of ndarray
        Weights (n_in, n_out) and biases of each layer (float32).
    loss_ : float
        Training loss of the last epoch (with the L2 term).
    loss_curve_ : list of float
    best_loss_ : float or None
    validation_scores_ : list of float or None
    best_validation_score_ : float or None
    n_iter_ : int
    t_ : int
        Training samples seen.
    n_layers_, n_outputs_, out_activation_ : int, int, str
"""


@register
class MLPClassifier(ClassifierMixin, MfsClassifier, _BaseMLP):
    __doc__ = """Multi-layer perceptron classifier trained with Adam or SGD,
    from scratch in C (or CUDA, or the numpy reference). Softmax output for
    three or more classes, one logistic unit for two (as scikit-learn),
    logistic units for a multilabel indicator y.

    Parameters
    ----------""" + _DOC_PARAMS + """    classes_ : ndarray

    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]] * 10)
    >>> y = np.array([0, 1, 1, 0] * 10)
    >>> clf = mfs.MLPClassifier(hidden_layer_sizes=(16,), activation="tanh", learning_rate_init=0.05,
    ...                         max_iter=300, random_state=0).fit(X, y)
    >>> clf.predict([[0., 1.], [1., 1.]]).tolist()
    [1, 0]
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate="constant", learning_rate_init=1e-3, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0,
                 backend="c"):
        store_params(self, locals())

    def _task_code(self):
        return _TASK_MULTILABEL if getattr(self, "_multilabel", False) else _TASK_CLASSIFICATION

    def _n_classes_param(self):
        if getattr(self, "_multilabel", False):
            return 0
        classes = getattr(self, "classes_", None)
        return 0 if classes is None else len(classes)

    def _encode(self, y, classes=None):
        y = _column_y(y)
        if y.ndim == 2 and y.shape[1] > 1:
            from sklearn.utils.multiclass import type_of_target
            if type_of_target(y) != "multilabel-indicator":
                raise ValueError(f"{type(self).__name__}: a 2-D y must be a multilabel indicator matrix of 0/1, "
                                 f"got {type_of_target(y)}")
            self._multilabel = True
            self.classes_ = np.arange(y.shape[1])
            return np.ascontiguousarray(y, dtype=np.float32)
        self._multilabel = False
        yi = self._encode_y(y, classes)
        if len(self.classes_) < 2:
            only = self.classes_[0]
            only = only.item() if isinstance(only, np.generic) else only
            raise ValueError(f"{type(self).__name__}: needs samples of at least 2 classes in the data, but the "
                             f"data contains only one class: {only!r}")
        return yi

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n_samples, n_features) and y: labels (n_samples,) of any
        type, or a multilabel indicator (n_samples, n_labels); sample_weight
        (n_samples,) >= 0 weighs each row's loss as scikit-learn's (not on
        backend="cuda" yet). Returns self."""
        self._check_backend()
        with self._rollback_on_error():
            warm = self._continues()
            X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1, multi_output=True,
                                 reset=not warm, ensure_all_finite=self.backend == "python")
            prev = getattr(self, "classes_", None)
            yi = self._encode(y)
            if warm:
                self._check_warm_classes(prev)
            self._params(X)
            return self._train(X, yi, partial=False, sample_weight=sample_weight)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over X, y from the current state (the first call needs
        `classes`, every label that can occur). Returns self."""
        self._check_backend()
        first = getattr(self, "_state", None) is None
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        with self._rollback_on_error():
            X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1, reset=first,
                                 multi_output=True, ensure_all_finite=self.backend == "python")
            if first:
                yi = self._encode(y, classes=np.unique(np.asarray(classes)))
            else:
                y = self._check_same_target_kind(_column_y(y))
                self._check_partial_classes(classes)
                yi = self._encode(y, classes=self.classes_)
            return self._train(X, yi, partial=True, sample_weight=sample_weight)

    def _check_same_target_kind(self, y):
        """partial_fit after the first call: y must be of the fitted kind (1-D
        labels, or a multilabel indicator with the fitted number of columns)."""
        o = type(self).__name__
        multilabel = y.ndim == 2 and y.shape[1] > 1
        if getattr(self, "_multilabel", False):
            if not multilabel:
                raise ValueError(f"{o}: the model was fitted on a multilabel indicator y with {len(self.classes_)} "
                                 f"labels; partial_fit got y of shape {y.shape}")
            if y.shape[1] != len(self.classes_):
                raise ValueError(f"{o}: y has {y.shape[1]} labels (columns), the model was fitted on "
                                 f"{len(self.classes_)}")
        elif multilabel:
            raise ValueError(f"{o}: the model was fitted on 1-D class labels; partial_fit got a 2-D y of shape "
                             f"{y.shape} (a multilabel indicator needs a model first fitted on one)")
        return y

    @property
    def out_activation_(self):
        check_is_fitted(self, "_state")
        if getattr(self, "_multilabel", False) or len(self.classes_) == 2:
            return "logistic"
        return "softmax"

    def predict(self, X):
        """Labels (n_samples,), or the 0/1 indicator (n_samples, n_labels) for multilabel."""
        out = self._apply("predict", X)
        if getattr(self, "_multilabel", False):
            return out
        return self._decode(out)

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), columns in classes_ order."""
        return self._apply("predict_proba", X)

    def predict_log_proba(self, X):
        """Log of predict_proba."""
        return self._apply("predict_log_proba", X)

    def _after_load(self, p):
        self._multilabel = p["task"] == _TASK_MULTILABEL
        units = [int(u) for u in self._state["layer_units"]]
        K = 2 if (not self._multilabel and units[-1] == 1) else units[-1]
        self.classes_ = np.arange(K)

    @classmethod
    def _accepts(cls, params):
        return params["task"] != _TASK_REGRESSION


@register
class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron regressor (identity output, scikit-learn's
    squared loss) trained with Adam or SGD from scratch in C (or CUDA, or numpy).

    Parameters
    ----------
    loss : {"squared_error"}, default="squared_error"
        scikit-learn's default loss; its "poisson" is not implemented (an error).
        A keyword here (scikit-learn 1.9 takes it first, positionally).""" + _DOC_PARAMS + """
    Examples
    --------
    >>> import numpy as np, mfs
    >>> X = np.linspace(-1, 1, 64).reshape(-1, 1)
    >>> reg = mfs.MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.02, batch_size=16,
    ...                        max_iter=1000, random_state=0).fit(X, 2 * X.ravel() + 1)
    >>> bool(abs(reg.predict([[0.5]])[0] - 2.0) < 0.1)
    True
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate="constant", learning_rate_init=1e-3, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0,
                 loss="squared_error", backend="c"):
        store_params(self, locals())

    def _task_code(self):
        return _TASK_REGRESSION

    def _targets(self, y):
        return _float32_targets(self, _column_y(y))

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n_samples, n_features) and y (n_samples,) or (n_samples, n_targets);
        sample_weight (n_samples,) as MLPClassifier.fit. Returns self."""
        self._check_backend()
        with self._rollback_on_error():
            warm = self._continues()
            X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1, multi_output=True,
                                 y_numeric=True, reset=not warm, ensure_all_finite=self.backend == "python")
            yt = self._targets(y)
            if warm and self._can_warm_start(self._params(X)):
                _check_same_outputs(self, yt, "warm_start continues the previous fit")
            self._params(X)
            return self._train(X, yt, partial=False, sample_weight=sample_weight)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over X, y from the current state. Returns self."""
        self._check_backend()
        first = getattr(self, "_state", None) is None
        with self._rollback_on_error():
            X, y = validate_data(self, X, y, dtype=np.float32, order="C", ensure_min_samples=1, reset=first,
                                 multi_output=True, y_numeric=True, ensure_all_finite=self.backend == "python")
            yt = self._targets(y)
            if not first:
                _check_same_outputs(self, yt, "partial_fit continues the fitted network")
            return self._train(X, yt, partial=True, sample_weight=sample_weight)

    @property
    def out_activation_(self):
        check_is_fitted(self, "_state")
        return "identity"

    def predict(self, X):
        """Predictions (n_samples,) or (n_samples, n_targets)."""
        return self._apply("predict", X)

    @classmethod
    def _accepts(cls, params):
        return params["task"] == _TASK_REGRESSION
