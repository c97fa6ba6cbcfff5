"""Class labels of any type survive model files, for every classifier: fitted
with backend "c" or "python", saved (file or bytes), loaded in C with
mfs.load / mfs.from_bytes, the estimator predicts the original labels and its
predict_proba columns follow the original classes_. Pandas column names
(feature_names_in_) travel the same way."""
import warnings

import numpy as np
import pandas as pd
import pytest

import mfs
from mfs import _native
from mfs._base import META_CLASSES, MfsClassifier

CLASSIFIERS = {
    "LogisticRegression": lambda backend: mfs.LogisticRegression(backend=backend),
    "KNeighborsClassifier": lambda backend: mfs.KNeighborsClassifier(n_neighbors=3, backend=backend),
    "GaussianNB": lambda backend: mfs.GaussianNB(backend=backend),
    "MultinomialNB": lambda backend: mfs.MultinomialNB(backend=backend),
    "BernoulliNB": lambda backend: mfs.BernoulliNB(binarize=2.5, backend=backend),
}

# each label set: its values for the 3 classes (index 0..2); sorted, as classes_ is
LABELS = {
    "strings": np.array(["apple", "banana", "cherry"]),
    "object_strings": np.array(["no", "unsure", "yes"], dtype=object),
    "ints_3_7_11": np.array([3, 7, 11]),
    "floats": np.array([-1.0, 0.0, 2.0]),  # integral values: non-integral floats are "continuous" to scikit-learn
}


def _data(seed=0, n=90):
    """Counts (non-negative, so every naive Bayes fits) whose rates depend on
    the class: separable enough that predictions are not ties."""
    rng = np.random.default_rng(seed)
    idx = np.arange(n) % 3
    rates = np.array([[1.0, 4.0, 1.0, 2.0], [4.0, 1.0, 1.0, 2.0], [1.0, 1.0, 5.0, 2.0]])
    X = rng.poisson(rates[idx]).astype(np.float64)
    return X, idx


def _roundtrip(est, via, tmp_path):
    if via == "file":
        est.save(tmp_path / "model.mfs")
        return mfs.load(tmp_path / "model.mfs")
    return mfs.from_bytes(est._model_bytes())


# Tolerance on predict_proba after the round trip. backend "c": the loaded model
# is the same C model on the same bytes, so the same float32 computation: exact.
# backend "python": C evaluates the numpy reference's fitted state in float32;
# 1e-5 is the C-vs-reference tolerance the model tests use for probabilities.
PROBA_ATOL = {"c": 0.0, "python": 1e-5}


@pytest.mark.parametrize("via", ["file", "bytes"])
@pytest.mark.parametrize("labels", sorted(LABELS))
@pytest.mark.parametrize("backend", ["c", "python"])
@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_labels_survive_the_model_file(name, backend, labels, via, tmp_path):
    X, idx = _data()
    y = LABELS[labels][idx]
    est = CLASSIFIERS[name](backend).fit(X, y)
    np.testing.assert_array_equal(est.classes_, LABELS[labels])
    loaded = _roundtrip(est, via, tmp_path)
    assert type(loaded) is type(est) and loaded.backend == "c"
    # the labels themselves, in the same order, of the same kind (object
    # arrays of strings come back as numpy strings: equal values)
    np.testing.assert_array_equal(loaded.classes_, est.classes_)
    want_kind = "U" if est.classes_.dtype == object else est.classes_.dtype.kind
    assert loaded.classes_.dtype.kind == want_kind
    pred = loaded.predict(X)
    np.testing.assert_array_equal(pred, est.predict(X))
    assert set(pred.tolist()) <= set(LABELS[labels].tolist())
    assert len(set(pred.tolist())) == 3  # every class predicted somewhere: the labels map is exercised
    # predict_proba's columns follow classes_: same probabilities, and the
    # argmax column's label is the prediction
    proba = loaded.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=0, atol=PROBA_ATOL[backend])
    np.testing.assert_array_equal(loaded.classes_[np.argmax(proba, axis=1)], pred)
    assert loaded.n_features_in_ == 4


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_feature_names_survive_the_model_file(name, tmp_path):
    X, idx = _data(1)
    df = pd.DataFrame(X, columns=["red", "green", "blue", "alpha"])
    y = pd.Series(LABELS["object_strings"][idx])  # pandas labels: an object column
    for backend in ("c", "python"):
        est = CLASSIFIERS[name](backend).fit(df, y)
        loaded = _roundtrip(est, "file", tmp_path)
        np.testing.assert_array_equal(loaded.feature_names_in_, ["red", "green", "blue", "alpha"])
        assert loaded.feature_names_in_.dtype == object  # as scikit-learn stores them
        np.testing.assert_array_equal(loaded.predict(df), est.predict(df))
        # a numpy X now draws scikit-learn's warning, as on the fitted estimator
        with pytest.warns(UserWarning, match="does not have valid feature names"):
            loaded.predict(X)
        # columns in another order are refused, as scikit-learn does
        with pytest.raises(ValueError, match="feature names"):
            loaded.predict(df[["green", "red", "blue", "alpha"]])


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_file_without_labels_falls_back_to_indices(name):
    """A file written before labels were stored (the C model's own bytes, as
    the old writer wrote them): classes_ are the indices 0..K-1."""
    X, idx = _data(2)
    est = CLASSIFIERS[name]("c").fit(X, LABELS["strings"][idx])
    old_bytes = est._native.to_bytes()
    assert META_CLASSES not in _native.NativeModel.from_bytes(old_bytes).array_names()
    loaded = mfs.from_bytes(old_bytes)
    np.testing.assert_array_equal(loaded.classes_, [0, 1, 2])
    np.testing.assert_array_equal(est.classes_[loaded.predict(X)], est.predict(X))


def _exported_classifiers():
    return sorted(n for n in mfs.__all__
                  if isinstance(getattr(mfs, n), type) and issubclass(getattr(mfs, n), MfsClassifier))


def test_the_five_classifiers_are_exported():
    assert set(CLASSIFIERS) <= set(_exported_classifiers())


@pytest.mark.parametrize("name", _exported_classifiers())
def test_every_exported_classifier_keeps_string_labels(name):
    """Generic: any MfsClassifier (the ones to come too) gets its labels back
    from a model file without code of its own."""
    X, idx = _data(3)
    y = LABELS["strings"][idx]
    try:
        est = getattr(mfs, name)().fit(X, y)
    except (ValueError, TypeError) as e:
        pytest.skip(f"{name} does not fit a 2-D float table of 3 classes with default parameters: {e}")
    loaded = mfs.from_bytes(est._model_bytes())
    np.testing.assert_array_equal(loaded.classes_, LABELS["strings"])
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_bool_labels(tmp_path):
    X, idx = _data(4)
    y = idx == 1
    est = mfs.LogisticRegression().fit(X, y)
    loaded = _roundtrip(est, "file", tmp_path)
    assert loaded.classes_.dtype == bool
    np.testing.assert_array_equal(loaded.classes_, [False, True])
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_partial_fit_then_save(tmp_path):
    """The naive Bayes native model lives across partial_fit calls: the file
    written after the last batch carries the labels given by `classes`."""
    X, idx = _data(5)
    labels = np.array(["x", "y", "z"])
    est = mfs.GaussianNB()
    est.partial_fit(X[:30], labels[idx[:30]], classes=labels)
    first = mfs.from_bytes(est._model_bytes())
    est.partial_fit(X[30:], labels[idx[30:]])
    second = _roundtrip(est, "file", tmp_path)
    for loaded in (first, second):
        np.testing.assert_array_equal(loaded.classes_, labels)
    np.testing.assert_array_equal(second.predict(X), est.predict(X))
    np.testing.assert_allclose(second.predict_proba(X), est.predict_proba(X), rtol=0, atol=0)  # same C model


def test_unencodable_labels_warn_and_fall_back():
    """Labels a file cannot hold without pickle (mixed Python objects): a
    warning at save, nothing stored, the loaded model has the indices."""
    X, idx = _data(6)
    est = mfs.KNeighborsClassifier(n_neighbors=3).fit(X, idx)
    est.classes_ = np.array([None, "b", 2.5], dtype=object)  # what a fit cannot make; a user can
    with pytest.warns(UserWarning, match="cannot store without pickle"):
        data = est._model_bytes()
    loaded = mfs.from_bytes(data)
    np.testing.assert_array_equal(loaded.classes_, [0, 1, 2])
    # and labels written by an earlier save are not left behind in the C model
    est2 = mfs.KNeighborsClassifier(n_neighbors=3).fit(X, np.array(["a", "b", "c"])[idx])
    est2._model_bytes()
    assert META_CLASSES in est2._native.array_names()
    est2.classes_ = np.array([None, "b", 2.5], dtype=object)
    with pytest.warns(UserWarning):
        data = est2._model_bytes()
    assert META_CLASSES not in est2._native.array_names()
    np.testing.assert_array_equal(mfs.from_bytes(data).classes_, [0, 1, 2])


def test_labels_do_not_change_the_model_state():
    """The metadata rides beside the fitted arrays: the file's model arrays are
    the same with and without it."""
    from mfs import _modelfile
    X, idx = _data(7)
    est = mfs.LogisticRegression().fit(X, np.array(["a", "b", "c"])[idx])
    plain = _modelfile.read(est._native.to_bytes())
    labelled = _modelfile.read(est._model_bytes())
    assert plain["meta"] == {} and set(labelled["meta"]) == {META_CLASSES}
    assert set(plain["arrays"]) == set(labelled["arrays"])
    for k in plain["arrays"]:
        np.testing.assert_array_equal(plain["arrays"][k], labelled["arrays"][k])


@pytest.mark.cuda
@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_labels_load_onto_cuda(name):
    """The labels are restored whatever device the file is loaded on."""
    X, idx = _data(8)
    est = CLASSIFIERS[name]("c").fit(X, LABELS["strings"][idx])
    loaded = mfs.from_bytes(est._model_bytes(), backend="cuda")
    assert loaded.backend == "cuda"
    np.testing.assert_array_equal(loaded.classes_, LABELS["strings"])
    # the GPU's arithmetic may differ in the last bits; these well-separated
    # classes leave the predicted labels unchanged
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
