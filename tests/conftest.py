import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler


def _problem(n_classes, n_samples=60, n_features=5, seed=0):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    return StandardScaler().fit_transform(X), y


@pytest.fixture
def binary():
    return _problem(2)


@pytest.fixture
def multiclass():
    return _problem(3)


@pytest.fixture(params=[2, 3], ids=["binary", "multiclass"])
def problem(request):
    return _problem(request.param)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
