"""What skgd promises about the data and the model, beyond the numbers.

Inputs are never changed (digests before and after, and read-only arrays);
one seed gives one model, bit for bit, whatever ``n_jobs`` and whatever the
process; pickling keeps the model and its dtype; a fitted model serves
predictions to many threads at once; a memory-mapped ``X`` is not copied.

``SKGD_LARGE_TESTS=1`` runs the memory-map test on a 2 GB file instead of
a 200 MB one.
"""

import os
import pickle
import subprocess
import sys
import threading
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from skgd import GDClassifier, losses, optimizers, penalties, schedules
from skgd._objective import Objective

LARGE = os.environ.get("SKGD_LARGE_TESTS", "") not in ("", "0")


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=300,
        n_features=12,
        n_informative=6,
        n_classes=4,
        n_clusters_per_class=1,
        random_state=0,
    )
    # A sparse copy with a third of the entries zero.
    Xs = sp.csr_matrix(X * (np.abs(X) > 0.4))
    return X, Xs, y


def _fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def _non_canonical(X):
    """CSR with its column indices reversed within rows and one entry split
    in two (a duplicate): valid, but not in scipy's canonical form."""
    X = sp.csr_matrix(X)
    data, indices = X.data.copy(), X.indices.copy()
    for i in range(X.shape[0]):
        row = slice(X.indptr[i], X.indptr[i + 1])
        data[row], indices[row] = data[row][::-1], indices[row][::-1]
    first = X.indptr[1] - 1  # row 0's last slot, its smallest column once reversed
    data = np.insert(data, first, 0.5 * data[first])
    data[first + 1] *= 0.5
    indices = np.insert(indices, first, indices[first])
    indptr = X.indptr.copy()
    indptr[1:] += 1
    out = sp.csr_matrix((data, indices, indptr), shape=X.shape)
    assert not out.has_canonical_format
    return out


def _read_only(*arrays):
    for a in arrays:
        if isinstance(a, np.ndarray):
            a.setflags(write=False)
        elif sp.issparse(a):
            for part in (a.data, a.indices, a.indptr):
                part.setflags(write=False)
    return arrays


# -- inputs are never changed -------------------------------------------------

COMPONENTS = [
    dict(loss="softmax", penalty="l1", optimizer="adam", batch_size=8),
    dict(loss="hinge", penalty="elasticnet", average=True),
    dict(loss="log_loss", optimizer="momentum", batch_size="full"),
    dict(loss="hinge", learning_rate="pa1", early_stopping=True),
    dict(
        loss=losses.MulticlassHinge(margin=0.5),
        penalty=penalties.ElasticNet(l1_ratio=0.5),
        optimizer=optimizers.RMSProp(rho=0.8),
        learning_rate=schedules.InvScaling(eta0=0.1, power_t=0.3),
        batch_size=5,
    ),
    dict(
        loss=losses.Huber(epsilon=0.5),
        optimizer=optimizers.Adam(beta_1=0.8),
        learning_rate=schedules.Adaptive(eta0=0.05),
        average=10,
        batch_size=1,
    ),
]
FORMATS = ["dense", "fortran", "float32", "csr", "csr-non-canonical", "csc"]


def _format(X, Xs, fmt):
    return {
        "dense": lambda: X.copy(),
        "fortran": lambda: np.asfortranarray(X),
        "float32": lambda: X.astype(np.float32),
        "csr": lambda: Xs.copy(),
        "csr-non-canonical": lambda: _non_canonical(Xs),
        "csc": lambda: Xs.tocsc(),
    }[fmt]()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("params", COMPONENTS, ids=range(len(COMPONENTS)))
def test_inputs_are_never_changed(params, fmt, data, fingerprint):
    """Digests of every input before and after fit, partial_fit, predictions.

    The arrays are also read-only, so that a write anywhere raises at once
    (a digest only says that something changed, not where).
    """
    X, Xs, y = data
    X = _format(X, Xs, fmt)
    labels = np.array(["ant", "bee", "cat", "dog"])[y]
    weight = np.linspace(0.0, 2.0, len(y))
    classes = ["dog", "cat", "bee", "ant"]  # a list, not sorted: sortable in place
    coef_init = np.full((4, X.shape[1]), 0.01)
    intercept_init = np.array([0.1, 0.2, 0.3, 0.4])
    _read_only(X, labels, weight, coef_init, intercept_init)
    inputs = [X, labels, weight, classes, coef_init, intercept_init]
    components = [v for v in params.values() if hasattr(v, "get_params")]
    before = fingerprint(*inputs, *components)

    est = GDClassifier(max_iter=3, random_state=0, **params)
    _fit(
        est,
        X,
        labels,
        sample_weight=weight,
        coef_init=coef_init,
        intercept_init=intercept_init,
    )
    for method in ["predict", "decision_function", "predict_proba", "score"]:
        if hasattr(est, method):
            getattr(est, method)(*([X, labels] if method == "score" else [X]))
    if not params.get("early_stopping"):
        stream = GDClassifier(random_state=0, **params)
        stream.partial_fit(
            X[:150], labels[:150], classes=classes, sample_weight=weight[:150]
        )
        stream.partial_fit(X[150:], labels[150:], sample_weight=weight[150:])
    assert fingerprint(*inputs, *components) == before
    for component in components:
        # Component objects hold hyperparameters only: no state was added.
        assert set(vars(component)) == set(component.get_params())


# -- one seed, one model ------------------------------------------------------

PARALLEL = [
    # (id, params, sparse): the kernels that split one-vs-rest columns into
    # threads (batch 1 dense, any batch on CSR) and one that does not.
    ("dense-batch-1", dict(loss="hinge"), False),
    ("dense-batch-1-l1-average", dict(loss="log_loss", penalty="l1", average=5), False),
    ("csr-batch-1", dict(loss="modified_huber", penalty="elasticnet"), True),
    (
        "csr-mini-batch-adam",
        dict(
            loss="log_loss", batch_size=16, optimizer="adam", learning_rate="constant"
        ),
        True,
    ),
    (
        "csr-mini-batch-l1-adagrad",
        dict(
            loss="squared_hinge",
            penalty="l1",
            batch_size=8,
            optimizer="adagrad",
            learning_rate="constant",
        ),
        True,
    ),
    (
        "dense-mini-batch",
        dict(
            loss="hinge",
            batch_size=32,
            optimizer="nesterov",
            learning_rate="invscaling",
            eta0=0.1,
        ),
        False,
    ),
]


@pytest.mark.parametrize(
    "params, sparse", [p[1:] for p in PARALLEL], ids=[p[0] for p in PARALLEL]
)
def test_n_jobs_does_not_change_a_bit(params, sparse, data):
    """n_jobs = 1, 2 and -1: identical weights, intercepts and loss curves."""
    X, Xs, y = data
    X = Xs if sparse else X
    models = [
        _fit(GDClassifier(n_jobs=n_jobs, max_iter=4, random_state=3, **params), X, y)
        for n_jobs in (1, 2, -1)
    ]
    for other in models[1:]:
        np.testing.assert_array_equal(other.coef_, models[0].coef_)
        np.testing.assert_array_equal(other.intercept_, models[0].intercept_)
        np.testing.assert_array_equal(other.loss_curve_, models[0].loss_curve_)


# Fits in a child process: one model per (configuration, labels) printed as
# the hex digest of its weights. PYTHONHASHSEED differs between the children,
# so anything that hangs on the iteration order of a set or dict of strings
# would show.
_CHILD = """
import hashlib, sys, warnings
import numpy as np, scipy.sparse as sp
from sklearn.datasets import make_classification
from skgd import GDClassifier
warnings.simplefilter("ignore")
X, y = make_classification(n_samples=200, n_features=8, n_informative=5,
                           n_classes=3, n_clusters_per_class=1, random_state=0)
labels = np.array(["no", "maybe", "yes"])[y]
for params, X_ in [
    (dict(loss="softmax", batch_size=8, optimizer="adam", early_stopping=True), X),
    (dict(loss="hinge", penalty="l1", average=True, n_jobs=2), sp.csr_matrix(X)),
    (dict(loss="log_loss", class_weight="balanced", batch_size=1), X),
]:
    est = GDClassifier(random_state=5, max_iter=5, **params).fit(X_, labels)
    parts = [est.coef_, est.intercept_, np.asarray(est.loss_curve_)]
    print(hashlib.sha256(b"".join(p.tobytes() for p in parts)).hexdigest())
"""


def test_one_seed_one_model_across_processes():
    """Two processes with different hash seeds fit bit-identical models."""
    digests = []
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run(
            [sys.executable, "-c", _CHILD],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.append(out.stdout.split())
    assert len(digests[0]) == 3 and digests[0] == digests[1]


# -- pickling -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "params",
    [
        dict(loss="softmax", batch_size=8, optimizer="adam"),
        dict(loss="log_loss", penalty="l1", average=True),
        dict(loss="multiclass_hinge", batch_size="full", optimizer="momentum"),
    ],
    ids=["softmax-adam", "log_loss-average", "multiclass_hinge-full"],
)
def test_pickle_round_trip_is_bit_identical(params, dtype, data):
    X, Xs, y = data
    X, Xs = X.astype(dtype), Xs.astype(dtype)
    est = _fit(GDClassifier(random_state=0, max_iter=3, **params), X, y)
    restored = pickle.loads(pickle.dumps(est))
    assert restored.coef_.dtype == dtype and restored.intercept_.dtype == dtype
    assert restored._state.coef.dtype == dtype  # training continues in dtype
    for X_ in (X, Xs):
        for method in ("predict", "decision_function", "predict_proba"):
            if hasattr(est, method):
                expected = getattr(est, method)(X_)
                got = getattr(restored, method)(X_)
                assert got.dtype == expected.dtype
                np.testing.assert_array_equal(got, expected)
    assert restored.decision_function(X).dtype == dtype
    # And the state travels: one more partial_fit step is the same step.
    est.partial_fit(X, y)
    restored.partial_fit(X, y)
    assert restored.coef_.dtype == dtype
    np.testing.assert_array_equal(restored.coef_, est.coef_)


def test_pickle_keeps_a_sparse_coef(data):
    X, Xs, y = data
    est = _fit(GDClassifier(penalty="l1", alpha=0.01, random_state=0), X, y)
    est.sparsify()
    restored = pickle.loads(pickle.dumps(est))
    assert sp.issparse(restored.coef_)
    np.testing.assert_array_equal(
        restored.decision_function(Xs), est.decision_function(Xs)
    )


# -- threads ------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        dict(loss="softmax", batch_size=16),
        dict(loss="log_loss"),
        dict(loss="modified_huber", penalty="l1", alpha=0.01),
    ],
    ids=["softmax", "log_loss-ovr", "modified_huber-sparse-coef"],
)
def test_predictions_from_many_threads_at_once(params, data):
    """8 threads x 25 rounds of every prediction method on one model, dense
    and sparse input: each result is the single-threaded one, bit for bit."""
    X, Xs, y = data
    est = _fit(GDClassifier(random_state=0, max_iter=5, **params), X, y)
    if params.get("penalty") == "l1":
        est.sparsify()  # predictions go through the sparse product
    methods = ["predict", "predict_proba", "predict_log_proba", "decision_function"]
    inputs = {"dense": X, "csr": Xs, "float32": X.astype(np.float32)}
    expected = {(m, k): getattr(est, m)(v) for m in methods for k, v in inputs.items()}
    start = threading.Barrier(8)

    def work(seed):
        start.wait()  # all threads call at once
        calls = list(expected) * 25
        mismatches = 0
        for i in np.random.default_rng(seed).permutation(len(calls)):
            method, kind = calls[i]
            got = getattr(est, method)(inputs[kind])
            mismatches += not np.array_equal(got, expected[method, kind])
        return mismatches

    with ThreadPoolExecutor(max_workers=8) as pool:
        mismatches = list(pool.map(work, range(8)))
    assert mismatches == [0] * 8


# -- memory -------------------------------------------------------------------


def test_one_vs_rest_targets_take_their_own_size_only():
    """The +1/-1 targets of 1000 classes, float32: no temporaries besides."""
    y_idx = np.random.default_rng(0).integers(0, 1000, size=5000)
    objective = Objective(losses.Hinge(), None, 0.0, True, 1000)
    tracemalloc.start()
    try:
        Y = objective.encode(y_idx, np.float32)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert Y.shape == (5000, 1000) and Y.dtype == np.float32
    np.testing.assert_array_equal(Y.argmax(axis=1), y_idx)
    assert set(np.unique(Y)) == {-1.0, 1.0}
    assert peak < 1.1 * Y.nbytes


# Run in a child process so that its memory is its own. The child maps X,
# fits, and prints three numbers: the growth of its anonymous resident memory
# during fit, the same for an explicit copy of a quarter of X (the control:
# it shows the measure sees a copy), and whether every kernel call received
# X's own buffer.
#
# Why RssAnon: reading the pages of a memmap makes them resident too, but as
# file-backed pages (RssFile) that the kernel can drop at any time; a copy
# is anonymous memory. Linux reports no peak of RssAnon, so a thread samples
# it every millisecond; a copy lives for the whole fit, so it cannot slip
# between samples.
_MEMMAP_CHILD = """
import sys, threading, time
import numpy as np
from skgd import GDClassifier, _compiled

def anonymous():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024

def growth(work):
    base = peak = anonymous()
    done = threading.Event()
    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, anonymous())
            time.sleep(0.001)
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = work()
    finally:
        done.set()
        sampler.join()
    return max(peak, anonymous()) - base, result

path, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
X = np.memmap(path, dtype=np.float32, mode="r", shape=(n, d))
y = np.asarray(X[:, 0] > 0, dtype=np.int8)
pointer = X.__array_interface__["data"][0]

# Record the buffer of X each kernel call receives.
received = []
class Recording:
    def __init__(self, kernel):
        self.kernel = kernel
    def __call__(self, **kwargs):
        # The training epochs (not the calibration of learning_rate="auto"
        # on a sample of 1000 rows) read X where it lies.
        if kwargs["X"].shape[0] == n:
            received.append(kwargs["X"].__array_interface__["data"][0])
        return self.kernel(**kwargs)
fast = _compiled._fast
class Fast:
    epoch = Recording(fast.epoch)
    def __getattr__(self, name):
        return getattr(fast, name)
_compiled._fast = Fast()

params = dict(max_iter=1, tol=None, random_state=0)
fit_growth, _ = growth(lambda: GDClassifier(**params).fit(X, y))
fit_growth_mb, _ = growth(
    lambda: GDClassifier(batch_size=256, optimizer="adam", **params).fit(X, y)
)
copy_growth, copy = growth(lambda: np.array(X[: n // 4]))
print(max(fit_growth, fit_growth_mb), copy_growth, copy.nbytes,
      len(received) > 0 and all(p == pointer for p in received))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/status")
def test_a_memory_mapped_x_is_not_copied(tmp_path):
    """fit on a float32 memmap (200 MB, 2 GB with SKGD_LARGE_TESTS=1): the
    fit's anonymous memory grows by far less than the file, and the kernels
    work on the mapped buffer itself."""
    n, d = (5_242_880, 100) if LARGE else (524_288, 100)
    path = tmp_path / "X.f32"
    rng = np.random.default_rng(0)
    with open(path, "wb") as f:
        for start in range(0, n, 65_536):
            rows = min(65_536, n - start)
            f.write(rng.standard_normal((rows, d), dtype=np.float32).tobytes())
    size = n * d * 4
    try:
        out = subprocess.run(
            [sys.executable, "-c", _MEMMAP_CHILD, str(path), str(n), str(d)],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        path.unlink()  # pytest keeps the last runs' tmp_path: not 2 GB of it
    fit_growth, copy_growth, copy_size, same_buffer = out.stdout.split()
    assert int(copy_growth) > 0.9 * int(copy_size)  # the measure sees a copy
    assert int(fit_growth) < 0.25 * size, (int(fit_growth), size)
    assert same_buffer == "True"
