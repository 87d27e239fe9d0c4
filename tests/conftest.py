import hashlib
import os
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, settings
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler


def training_objective(est, X, y, sample_weight=None):
    """F(coef, intercept): the objective ``est``'s parameters train on,
    over ``X`` and ``y`` (weighted by ``sample_weight``)."""
    from skgd._objective import Objective
    from skgd.losses import get_loss
    from skgd.penalties import get_penalty

    classes = np.unique(y)
    obj = Objective(
        get_loss(est.loss),
        get_penalty(est.penalty, est.l1_ratio),
        est.alpha,
        est.fit_intercept,
        len(classes),
    )
    Y = obj.encode(np.searchsorted(classes, y), np.float64)
    w = np.ones(len(y)) if sample_weight is None else sample_weight
    return lambda coef, b: obj.value_and_gradient(coef, b, X, Y, w)[0]


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


# -- shared by the hardening tests (properties, bad inputs, integrity) --------

# SKGD_HYPOTHESIS_PROFILE=thorough runs the property tests on 500 examples each;
# the default profile, "ci", is bounded and derandomized, so that the suite
# runs the same examples on every machine and a failure reproduces.
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("SKGD_HYPOTHESIS_PROFILE", "ci"))


def _fingerprint(*objects):
    """A digest of arrays, sparse matrices and component objects.

    Arrays are hashed by their bytes, shape and dtype; sparse matrices by
    their index and data arrays; anything else (object arrays of labels,
    component objects) by its pickle, which holds every attribute.
    """
    h = hashlib.sha256()
    for obj in objects:
        if sp.issparse(obj):
            parts = (obj.data, obj.indices, obj.indptr)
            if obj.format == "coo":
                parts = (obj.data, obj.row, obj.col)
            for part in parts:
                h.update(np.ascontiguousarray(part).tobytes())
            h.update(repr((obj.format, obj.shape, obj.dtype)).encode())
        elif isinstance(obj, np.ndarray) and obj.dtype != object:
            h.update(np.ascontiguousarray(obj).tobytes())
            h.update(repr((obj.shape, obj.dtype)).encode())
        else:
            h.update(pickle.dumps(obj))
    return h.hexdigest()


@pytest.fixture(scope="session")
def fingerprint():
    return _fingerprint
