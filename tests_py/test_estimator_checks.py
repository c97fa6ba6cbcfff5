"""scikit-learn's common estimator checks over every libmfs estimator.
Known failures are listed with their reason (never silenced)."""
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import mfs

ESTIMATORS = [mfs.LinearRegression(), mfs.Ridge()]
for name in ("KMeans", "PCA", "KNeighborsClassifier", "KNeighborsRegressor"):
    if hasattr(mfs, name):
        ESTIMATORS.append(getattr(mfs, name)())
ESTIMATORS += [mfs.GaussianNB(), mfs.MultinomialNB(), mfs.BernoulliNB()]  # naive Bayes
ESTIMATORS += [mfs.LogisticRegression()]  # logistic regression

# Reasons, by estimator class name and check name.
_F32 = ("libmfs computes in float32 (~1e-7 relative rounding); this check compares "
        "predictions at rtol=1e-7, atol=1e-9, which only float64 arithmetic meets")
EXPECTED_FAILURES = {
    "Ridge": {"check_sample_weight_equivalence_on_dense_data": _F32},
    # the float64 reference (backend="python") passes it; the C fit differs from the
    # repeated-rows fit by ~4e-7 in probabilities (float32 sums in another order)
    "LogisticRegression": {"check_sample_weight_equivalence_on_dense_data": _F32},
    # weighted seeding draws differently from the seeding of repeated rows (as
    # scikit-learn's own KMeans, which lists this check as an expected failure);
    # with a given init and tol=0, weights equal repeated rows exactly
    # (tests_py/test_kmeans.py)
    "KMeans": {"check_sample_weight_equivalence_on_dense_data":
               "weighted k-means++ / random seeding draws differently from repeated rows"},
}


def _expected(est):
    return EXPECTED_FAILURES.get(type(est).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected)
def test_sklearn_compatible(estimator, check):
    check(estimator)
