"""The compiled epoch against the NumPy engine: same order, same numbers."""

import itertools
import os

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import _problem
from scipy.special import expit
from sklearn.datasets import make_classification

from skgd import GDClassifier, _compiled
from skgd._engine import Engine

# Every loss the kernel implements (perceptron is the hinge at threshold 0).
LOSSES = [
    "softmax",
    "multiclass_hinge",
    "hinge",
    "squared_hinge",
    "log_loss",
    "modified_huber",
    "squared_error",
    "huber",
    "epsilon_insensitive",
    "squared_epsilon_insensitive",
    "perceptron",
]
PENALTIES = ["l2", "l1", "elasticnet", None]
SCHEDULES = ["constant", "invscaling", "adaptive"]


def _pair(params, X, y, monkeypatch):
    """The fit with the kernel (which must run) and with the NumPy engine."""
    monkeypatch.setattr(_compiled, "ENABLED", False)
    reference = GDClassifier(**params).fit(X, y)
    monkeypatch.setattr(_compiled, "ENABLED", True)
    spy = _Spy(_compiled._fast)
    monkeypatch.setattr(_compiled, "_fast", spy)
    compiled = GDClassifier(**params).fit(X, y)
    monkeypatch.setattr(_compiled, "_fast", spy._fast)
    assert spy.calls, "the compiled kernel did not run"
    return compiled, reference


requires_extension = pytest.mark.skipif(
    _compiled._fast is None, reason="the compiled extension is not built"
)


@pytest.fixture(autouse=True)
def _no_divergence_guard(monkeypatch):
    """These tests compare the engines step for step on short runs with
    arbitrary steps, some of which end above where they started: the guard
    that refuses such models (tests/test_engine.py) would stop both alike."""
    from skgd._engine import DivergenceGuard

    monkeypatch.setattr(DivergenceGuard, "check", lambda self, *args: None)
    monkeypatch.setattr(DivergenceGuard, "check_end", lambda self, *args: None)


def test_ci_builds_the_extension():
    if os.environ.get("CI") and _compiled._fast is None:
        pytest.fail("skgd._fast did not build: CI must run the compiled engine")


OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
BATCH_SIZES = [1, 7, 32, "full"]


class _Spy:
    """Stands in for skgd._fast and counts the calls of each kernel."""

    def __init__(self, fast):
        self.calls = {}
        self.arguments = []
        self._fast = fast
        for name in _compiled.KERNELS:
            setattr(self, name, self._counted(name, getattr(fast, name)))

    def __getattr__(self, name):
        # Everything else (the component codes...) is the module's own.
        return getattr(self._fast, name)

    def _counted(self, name, kernel):
        def call(**kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            self.arguments.append(kwargs)
            return kernel(**kwargs)

        return call


def _sparsify(X, seed=0):
    """CSR with about half of the entries of X zeroed (so columns go untouched)."""
    mask = np.random.default_rng(seed).random(X.shape) < 0.5
    return sp.csr_matrix(np.where(mask, X, 0.0))


def _assert_same_fit(compiled, reference, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(compiled.coef_, reference.coef_, rtol=rtol, atol=atol)
    np.testing.assert_allclose(
        compiled.intercept_, reference.intercept_, rtol=rtol, atol=atol
    )
    np.testing.assert_allclose(compiled.loss_curve_, reference.loss_curve_, rtol=rtol)
    assert compiled.t_ == reference.t_


@requires_extension
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("loss", LOSSES)
def test_compiled_epoch_equals_numpy_epoch(loss, optimizer, monkeypatch):
    """Every loss x optimizer x penalty x batch size x dense/CSR x class count.

    The schedule and averaging are rotated through the cases (they only set
    the step size and the reported weights). Each case fits with the kernel
    and with the NumPy engine on the same shuffled orders.
    """
    problems = {k: _problem(k, n_samples=40, n_features=6) for k in (2, 3)}
    spy = _Spy(_compiled._fast)
    monkeypatch.setattr(_compiled, "_fast", spy)
    cases = itertools.product(PENALTIES, BATCH_SIZES, [False, True], [2, 3])
    for case, (penalty, batch_size, sparse, n_classes) in enumerate(cases):
        X, y = problems[n_classes]
        X = _sparsify(X) if sparse else X
        params = dict(
            loss=loss,
            optimizer=optimizer,
            penalty=penalty,
            batch_size=batch_size,
            learning_rate=SCHEDULES[case % 3],
            average=[False, 5][case % 2],
            alpha=1e-2,
            eta0=0.05 if optimizer in ("sgd", "momentum", "nesterov") else 0.02,
            max_iter=3,
            tol=None,
            random_state=case,
        )
        w = np.linspace(0.5, 1.5, len(y))
        monkeypatch.setattr(_compiled, "ENABLED", False)
        reference = GDClassifier(**params).fit(X, y, sample_weight=w)
        monkeypatch.setattr(_compiled, "ENABLED", True)
        before = sum(spy.calls.values())
        compiled = GDClassifier(**params).fit(X, y, sample_weight=w)
        # One kernel call per epoch; the full CSR batch is the NumPy engine's.
        expected = 0 if sparse and batch_size == "full" else 3
        assert sum(spy.calls.values()) == before + expected, params
        try:
            _assert_same_fit(compiled, reference)
        except AssertionError as error:
            raise AssertionError(f"{params}, sparse={sparse}") from error


@requires_extension
@pytest.mark.parametrize("learning_rate", ["pa1", "pa2"])
@pytest.mark.parametrize("loss", ["hinge", "perceptron", "epsilon_insensitive"])
def test_passive_aggressive_runs_compiled(learning_rate, loss, monkeypatch):
    """Passive-aggressive steps in the per-row kernel, against the NumPy
    engine: every penalty, dense and CSR, two and three classes, averaging,
    and a row of norm zero (which takes no data step)."""
    cases = itertools.product(PENALTIES, [False, True], [2, 3], [False, 7])
    for case, (penalty, sparse, n_classes, average) in enumerate(cases):
        X, y = _problem(n_classes, n_samples=40, n_features=6)
        X[3] = 0.0
        X = _sparsify(X) if sparse else X
        params = dict(
            loss=loss,
            learning_rate=learning_rate,
            eta0=0.3,
            penalty=penalty,
            alpha=1e-2,
            average=average,
            max_iter=3,
            tol=None,
            random_state=case,
        )
        compiled, reference = _pair(params, X, y, monkeypatch)
        try:
            _assert_same_fit(compiled, reference)
        except AssertionError as error:
            raise AssertionError(f"{params}, sparse={sparse}") from error


@requires_extension
@pytest.mark.parametrize("loss", ["hinge", "log_loss"])
def test_compiled_optimal_schedule(loss, problem, monkeypatch):
    X, y = problem
    params = dict(loss=loss, max_iter=2, tol=None, random_state=0)
    compiled, reference = _pair(params, X, y, monkeypatch)
    np.testing.assert_allclose(compiled.coef_, reference.coef_, rtol=1e-9, atol=1e-11)


@requires_extension
@pytest.mark.parametrize("loss", ["hinge", "log_loss", "modified_huber"])
def test_compiled_float32(loss, problem, monkeypatch):
    X, y = problem
    params = dict(
        loss=loss,
        learning_rate="constant",
        eta0=0.01,
        penalty="elasticnet",
        max_iter=3,
        tol=None,
        random_state=0,
    )
    compiled, reference = _pair(params, X.astype(np.float32), y, monkeypatch)
    assert compiled.coef_.dtype == np.float32
    # The kernel accumulates in double where NumPy rounds each float32 step.
    scale = np.abs(reference.coef_).max()
    np.testing.assert_allclose(
        compiled.coef_, reference.coef_, rtol=0, atol=1e-4 * scale
    )


@requires_extension
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vector_math_against_references(dtype):
    """The SIMD exponential and logistic loss of the dense blocks stay within
    a few ulps of their type from references, over the whole range they see
    (float32 against float64, float64 against NumPy's libm)."""
    lowest = -87.0 if dtype == np.float32 else -708.0
    x = np.concatenate(
        [
            np.linspace(-100, 100, 20001),
            np.linspace(-750, 750, 20001),
            -np.logspace(-8, 2, 500),
            [0.0, lowest - 0.5, lowest + 0.5, -1e-30],
        ]
    ).astype(dtype)
    e, loss, slope = _compiled._fast.vector_math(x)
    assert e.dtype == loss.dtype == slope.dtype == dtype
    x64 = x.astype(np.float64)
    eps = np.finfo(dtype).eps
    exp_ref = np.exp(np.minimum(x64, 0))
    # Relative error where e^x is a normal number of the type; below
    # e^lowest it is exactly 0 (no subnormal gradients downstream).
    normal = x64 >= lowest
    np.testing.assert_allclose(e[normal], exp_ref[normal], rtol=3 * eps, atol=0)
    assert np.all(e[~normal] == 0)
    # Past |x| = -lowest the exponential is 0: the absolute error is below
    # e^lowest.
    tiny = np.exp(lowest)
    np.testing.assert_allclose(loss, np.logaddexp(0, -x64), rtol=4 * eps, atol=tiny)
    np.testing.assert_allclose(slope, -expit(-x64), rtol=4 * eps, atol=tiny)


@requires_extension
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "nb, nf, n_out",
    [
        (1, 1, 1),
        (3, 7, 1),
        (4, 8, 2),
        (5, 17, 3),
        (9, 33, 10),
        (20, 100, 10),
        (7, 70, 5),
        (19, 37, 1),
        (16, 64, 1),
    ],
)
def test_block_products_against_numpy(dtype, nb, nf, n_out):
    """The dense pieces' two products (``_dense.h``: register tiles, the
    rows' and features' remainders one at a time) equal NumPy's, on shapes
    that leave every remainder, with rows further apart than their length,
    and add into the gradient they are given."""
    rng = np.random.default_rng(nb * 1000 + nf * 10 + n_out)
    X = rng.standard_normal((nb, nf + 3)).astype(dtype)[:, :nf]  # rows nf + 3 apart
    W = rng.standard_normal((n_out, nf + 5)).astype(dtype)[:, :nf]
    G = rng.standard_normal((nb, n_out)).astype(dtype)
    start = rng.standard_normal((n_out, nf + 1)).astype(dtype)
    GR = start.copy()
    Z = _compiled._fast.block_products(X, W, G, GR[:, :nf])
    x, w, g = (a.astype(np.float64) for a in (X, W, G))
    rtol, atol = (1e-12, 1e-12) if dtype == np.float64 else (1e-5, 1e-5)
    np.testing.assert_allclose(Z, x @ w.T, rtol=rtol, atol=atol * nf)
    np.testing.assert_allclose(
        GR[:, :nf], start[:, :nf] + g.T @ x, rtol=rtol, atol=atol * nb
    )
    # The padding past nf is not written.
    np.testing.assert_array_equal(GR[:, nf:], start[:, nf:])


@requires_extension
@pytest.mark.parametrize("loss", ["log_loss", "softmax"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_compiled_float32_blocks(loss, fit_intercept, monkeypatch):
    """float32 mini-batches take the SIMD block path for the logistic and
    softmax losses; weights and the loss curve match the NumPy engine."""
    X, y = _problem(4)
    X = X.astype(np.float32)
    weights = np.random.default_rng(0).uniform(0.1, 3.0, len(y))
    params = dict(
        loss=loss,
        batch_size=32,
        learning_rate="constant",
        eta0=0.05,
        fit_intercept=fit_intercept,
        class_weight="balanced",
        max_iter=4,
        tol=None,
        random_state=0,
    )
    spy = _Spy(_compiled._fast)
    monkeypatch.setattr(_compiled, "_fast", spy)
    compiled = GDClassifier(**params).fit(X, y, sample_weight=weights)
    assert spy.calls
    monkeypatch.setattr(_compiled, "_fast", None)
    reference = GDClassifier(**params).fit(X, y, sample_weight=weights)
    scale = np.abs(reference.coef_).max()
    np.testing.assert_allclose(
        compiled.coef_, reference.coef_, rtol=0, atol=1e-5 * scale
    )
    np.testing.assert_allclose(
        compiled.intercept_, reference.intercept_, rtol=0, atol=1e-5 * scale
    )
    np.testing.assert_allclose(compiled.loss_curve_, reference.loss_curve_, rtol=1e-5)


def test_fallback_without_the_extension(binary, monkeypatch):
    X, y = binary
    params = dict(
        loss="log_loss", learning_rate="constant", max_iter=2, tol=None, random_state=0
    )
    with_ext = GDClassifier(**params).fit(X, y)
    monkeypatch.setattr(_compiled, "_fast", None)
    est = GDClassifier(**params).fit(X, y)
    np.testing.assert_allclose(est.coef_, with_ext.coef_, rtol=1e-10)


def test_compiled_path_is_chosen_only_where_it_applies():
    """Built-in components run compiled; a subclass (which may change the
    arithmetic) or a penalty of its own runs on the NumPy engine."""
    from skgd._objective import Objective
    from skgd.losses import Hinge, Softmax
    from skgd.optimizers import SGD, Adam
    from skgd.penalties import L2
    from skgd.schedules import Constant, PassiveAggressive

    class MySGD(SGD):
        def update(self, grads, state, lr):
            return super().update(grads, state, 2 * lr)

    class MyHinge(Hinge):
        pass

    class Quartic(L2):
        def value(self, coef):
            return float((coef**4).sum())

        def gradient(self, coef):
            return 4 * coef**3

    def engine(loss=None, optimizer=None, schedule=None, batch=1, penalty=None):
        return Engine(
            Objective(loss or Hinge(), penalty, 1e-3, True, 2),
            optimizer or SGD(),
            schedule or Constant(),
            batch,
        )

    built = _compiled._fast is not None
    assert _compiled.applies(engine()) == built
    assert _compiled.applies(engine(optimizer=Adam(), batch=8)) == built
    assert _compiled.applies(engine(loss=Softmax())) == built
    assert _compiled.applies(engine(schedule=PassiveAggressive())) == built
    assert _compiled.applies(engine(penalty=L2())) == built
    assert not _compiled.applies(engine(optimizer=MySGD()))
    assert not _compiled.applies(engine(loss=MyHinge()))
    assert not _compiled.applies(engine(penalty=Quartic()))
    if not built:
        return

    def kind(X, n, **kw):
        eng = engine(**kw)
        return _compiled._epoch_kind(eng, _compiled._declarations(eng), X, n)

    dense, csr = np.zeros((500, 3)), sp.csr_matrix((500, 3))
    pa = dict(schedule=PassiveAggressive())
    assert kind(dense, 500) == "row"
    assert kind(np.asfortranarray(dense), 500) == "row"
    assert kind(dense[:, ::-1], 500) == "batch"  # columns backwards: gathered
    assert kind(dense[:, ::-1], 500, **pa) is None
    assert kind(dense, 500, **pa) == "row"
    assert kind(dense, 500, optimizer=Adam()) == "batch"
    assert kind(dense, 500, batch=8) == "batch"
    assert kind(dense, 500, batch=500) == "batch"
    assert kind(csr, 500) == "row"
    assert kind(csr, 500, **pa) == "row"
    assert kind(csr, 500, batch=499) == "batch"
    assert kind(csr, 500, batch=500) is None  # the full CSR batch: SciPy's
    assert kind(csr.tocsc(), 500) is None


@requires_extension
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_compiled_float32_stays_float32(optimizer, sparse, monkeypatch):
    X, y = _problem(3)
    X = X.astype(np.float32)
    X = _sparsify(X) if sparse else X
    params = dict(
        loss="log_loss",
        optimizer=optimizer,
        penalty="elasticnet",
        batch_size=4,
        learning_rate="constant",
        eta0=0.01,
        average=10,
        max_iter=3,
        tol=None,
        random_state=0,
    )
    compiled, reference = _pair(params, X, y, monkeypatch)
    assert compiled.coef_.dtype == np.float32
    # The kernel works in double and rounds on store; NumPy rounds every
    # float32 operation: they agree to a few float32 ulps of the weights.
    scale = np.abs(reference.coef_).max()
    np.testing.assert_allclose(
        compiled.coef_, reference.coef_, rtol=0, atol=1e-5 * scale
    )
    np.testing.assert_allclose(compiled.loss_curve_, reference.loss_curve_, rtol=1e-5)


@requires_extension
@pytest.mark.parametrize(
    "batch_size, sparse, optimizer",
    [(1, False, "sgd"), (7, False, "adam"), (1, True, "sgd"), (5, True, "momentum")],
)
def test_n_jobs_gives_bit_identical_models(batch_size, sparse, optimizer, monkeypatch):
    X, y = _problem(5, n_samples=200, n_features=8)
    X = _sparsify(X) if sparse else X
    spy = _Spy(_compiled._fast)
    monkeypatch.setattr(_compiled, "_fast", spy)
    fits = {}
    for n_jobs in (1, 2, 3, -1):
        calls = sum(spy.calls.values())
        est = GDClassifier(
            loss="hinge",
            penalty="elasticnet",
            optimizer=optimizer,
            batch_size=batch_size,
            learning_rate="constant",
            eta0=0.01,
            average=10,
            max_iter=4,
            tol=None,
            n_jobs=n_jobs,
            random_state=0,
        ).fit(X, y)
        # 4 epochs, each split into one kernel call per thread where the
        # kernel goes row by row; a dense mini-batch is one GEMM call.
        groups = min(_compiled.effective_n_jobs(n_jobs), 5)
        groups = groups if sparse or batch_size == 1 else 1
        assert sum(spy.calls.values()) - calls == 4 * groups
        fits[n_jobs] = est
    for n_jobs in (2, 3, -1):
        np.testing.assert_array_equal(fits[n_jobs].coef_, fits[1].coef_)
        np.testing.assert_array_equal(fits[n_jobs].intercept_, fits[1].intercept_)
        np.testing.assert_array_equal(fits[n_jobs].loss_curve_, fits[1].loss_curve_)


@requires_extension
@pytest.mark.parametrize("layout", ["C", "F", "strided", "reversed rows", "reversed"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_dense_layouts_and_row_orders(layout, shuffle, monkeypatch):
    """Rows used in place (consecutive, row-major) or gathered give the same fit."""
    X, y = _problem(3, n_samples=50, n_features=6)
    y = y[::-1] if layout == "reversed rows" else y
    if layout == "F":
        X = np.asfortranarray(X)
    elif layout == "strided":
        X = np.repeat(X, 2, axis=1)[:, ::2]  # a column stride of 2
    elif layout == "reversed rows":
        X = X[::-1]  # a negative row stride
    elif layout == "reversed":
        X = X[:, ::-1]  # a negative column stride
    params = dict(
        loss="softmax",
        optimizer="momentum",
        batch_size=8,
        shuffle=shuffle,
        learning_rate="constant",
        eta0=0.05,
        max_iter=3,
        tol=None,
        random_state=0,
    )
    compiled, reference = _pair(params, X, y, monkeypatch)
    _assert_same_fit(compiled, reference)


@requires_extension
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("batch_size", [1, 32, "full"])
def test_fit_neither_copies_nor_converts_X(dtype, sparse, batch_size, monkeypatch):
    """The kernel reads the user's X itself (float32 stays float32), and the
    extra memory of fit is O(n_samples + model), far below the size of X."""
    import tracemalloc

    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 300)).astype(dtype)
    y = rng.integers(0, 3, size=4000)
    if sparse:
        X[rng.random(X.shape) < 0.8] = 0.0
        X = sp.csr_matrix(X)
    spy = _Spy(_compiled._fast)
    monkeypatch.setattr(_compiled, "_fast", spy)
    est = GDClassifier(
        loss="softmax",
        batch_size=batch_size,
        learning_rate="constant",
        eta0=0.01,
        max_iter=2,
        tol=None,
        random_state=0,
    )
    tracemalloc.start()
    est.fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # Two epochs, two kernel calls (the full CSR batch is the NumPy engine's).
    assert len(spy.arguments) == (0 if sparse and batch_size == "full" else 2)
    for kwargs in spy.arguments:
        if sparse:
            data, indices, indptr, _ = kwargs["X"]
            assert data is X.data and indices is X.indices and indptr is X.indptr
        else:
            assert kwargs["X"] is X
    assert est.coef_.dtype == dtype
    x_bytes = X.data.nbytes + X.indices.nbytes if sparse else X.nbytes
    # Per-row vectors (targets, weights, order, scores of one full batch)
    # and the model: a small fraction of X here, and no copy of it.
    assert peak < 0.25 * x_bytes, (peak, x_bytes)


@requires_extension
@pytest.mark.parametrize("batch_size", [700, "full"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_dense_batches_span_several_blocks(batch_size, shuffle, monkeypatch):
    """Batches of more than 512 rows are summed block by block."""
    X, y = _problem(3, n_samples=1300, n_features=4)
    params = dict(
        loss="log_loss",
        optimizer="adam",
        penalty="elasticnet",
        batch_size=batch_size,
        shuffle=shuffle,
        learning_rate="constant",
        eta0=0.05,
        max_iter=4,
        tol=None,
        random_state=0,
    )
    compiled, reference = _pair(params, X, y, monkeypatch)
    _assert_same_fit(compiled, reference)


@requires_extension
@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize("layout", ["F", "reversed"])
def test_dense_layouts_with_plain_sgd(batch_size, layout, monkeypatch):
    X, y = _problem(2, n_samples=60, n_features=5)
    X = np.asfortranarray(X) if layout == "F" else X[:, ::-1]
    params = dict(
        loss="hinge",
        batch_size=batch_size,
        learning_rate="constant",
        eta0=0.05,
        alpha=1e-2,
        max_iter=3,
        tol=None,
        random_state=0,
    )
    compiled, reference = _pair(params, X, y, monkeypatch)
    _assert_same_fit(compiled, reference)


@requires_extension
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_warm_start_with_new_penalty_or_dtype(optimizer, monkeypatch):
    """A warm start that changes the penalty to L1, or the dtype of X, keeps
    both engines in step (each fit starts afresh from the warm weights)."""
    X, y = _problem(3)
    fits = []
    for enabled in (False, True):
        monkeypatch.setattr(_compiled, "ENABLED", enabled)
        est = GDClassifier(
            optimizer=optimizer,
            batch_size=4,
            learning_rate="constant",
            eta0=0.05,
            warm_start=True,
            max_iter=2,
            tol=None,
            random_state=0,
        )
        est.fit(X, y)
        est.set_params(penalty="l1", average=3).fit(X, y)
        est.fit(X.astype(np.float32), y)
        assert est.coef_.dtype == np.float32
        fits.append(est)
    np.testing.assert_allclose(fits[1].coef_, fits[0].coef_, rtol=1e-5, atol=1e-6)
    # The clock restarts at every fit, as SGDClassifier's.
    assert fits[1].t_ == fits[0].t_ == 1 + 2 * 15


@requires_extension
@pytest.mark.parametrize("batch_size", [200, "full"])
def test_lanes_give_the_same_bits_on_any_number_of_threads(batch_size, monkeypatch):
    """Large dense batches run in two lanes; one thread or two, same model."""
    X, y = _problem(4, n_samples=1500, n_features=7)
    fits = []
    for threads in (1, 2):
        monkeypatch.setattr(
            _compiled, "_lane_threads", lambda *shape, threads=threads: threads
        )
        fits.append(
            GDClassifier(
                loss="softmax",
                optimizer="rmsprop",
                batch_size=batch_size,
                learning_rate="constant",
                eta0=0.01,
                max_iter=3,
                tol=None,
                random_state=0,
            ).fit(X, y)
        )
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    np.testing.assert_array_equal(fits[0].intercept_, fits[1].intercept_)
    np.testing.assert_array_equal(fits[0].loss_curve_, fits[1].loss_curve_)


SAGA_CASES = [
    # (loss, classes, penalty, fit_intercept, batch_size)
    ("log_loss", 2, "elasticnet", True, 1),
    ("softmax", 2, "l2", True, 5),
    ("softmax", 3, "l1", False, 1),
    ("softmax", 3, "elasticnet", True, 16),
    ("modified_huber", 3, "l2", True, 7),
    ("squared_hinge", 2, None, True, "full"),
]


@requires_extension
@pytest.mark.parametrize("optimizer", ["saga", "svrg"])
@pytest.mark.parametrize("case", SAGA_CASES, ids=str)
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_saga_equals_numpy_saga(optimizer, case, sparse, dtype, monkeypatch):
    """The SAGA kernel takes the NumPy engine's steps, with the same table
    (SAGA's, or SVRG's frozen snapshot), on dense and CSR rows, in float64
    (to rounding) and float32."""
    loss, n_classes, penalty, fit_intercept, batch_size = case
    X, y = make_classification(
        n_samples=90,
        n_features=12,
        n_informative=6,
        n_classes=n_classes,
        random_state=1,
    )
    X[X < -0.5] = 0.0
    X = X.astype(dtype)
    if sparse:
        X = sp.csr_matrix(X)
    weights = np.random.RandomState(0).uniform(0.2, 3.0, len(y))
    params = dict(
        loss=loss,
        optimizer=optimizer,
        penalty=penalty,
        alpha=0.1 if penalty in ("l1", "elasticnet") else 0.01,
        l1_ratio=0.7,
        fit_intercept=fit_intercept,
        batch_size=batch_size,
        max_iter=4,
        tol=None,
        random_state=0,
    )
    if batch_size == "full":
        # ("auto" gives SAGA the line search at the full batch.)
        params.update(learning_rate="constant", eta0=0.02)
    fits = []
    for enabled in (False, True):
        monkeypatch.setattr(_compiled, "ENABLED", enabled)
        spy = _Spy(_compiled._fast)
        monkeypatch.setattr(_compiled, "_fast", spy)
        fits.append(GDClassifier(**params).fit(X, y, sample_weight=weights))
        monkeypatch.setattr(_compiled, "_fast", spy._fast)
        assert bool(spy.calls) == enabled
    reference, compiled = fits
    rtol, atol = (1e-10, 1e-12) if dtype == np.float64 else (2e-4, 2e-5)
    assert compiled.coef_.dtype == dtype
    np.testing.assert_allclose(compiled.coef_, reference.coef_, rtol=rtol, atol=atol)
    np.testing.assert_allclose(
        compiled.intercept_, reference.intercept_, rtol=rtol, atol=atol
    )
    np.testing.assert_allclose(compiled.loss_curve_, reference.loss_curve_, rtol=rtol)
    if penalty in ("l1", "elasticnet"):
        assert np.count_nonzero(compiled.coef_ == 0) > 0


def test_two_lanes_only_for_work_worth_sharing(monkeypatch):
    """A small step or a short epoch stays in one thread (waking a second
    costs more than it saves, and stalls when another program holds the
    other core); large ones get the cores OpenMP allows."""
    monkeypatch.setattr(_compiled, "_openmp_effective_n_threads", lambda: 8)
    lanes = _compiled._lane_threads
    assert lanes(256, 100_000, 100) == 2  # 25,600 entries of X a step
    assert lanes(128, 100_000, 100) == 1  # 12,800: one thread is faster
    assert lanes(10**9, 1347, 64) == 1  # digits' full batch: 86,000 an epoch
    assert lanes(10**9, 100_000, 100) == 2
    monkeypatch.setattr(_compiled, "_openmp_effective_n_threads", lambda: 1)
    assert lanes(256, 100_000, 100) == 1  # OMP_NUM_THREADS=1


def test_importing_the_kernel_leaves_the_environment_as_it_was():
    """GOMP_SPINCOUNT is set only while the kernel (and its OpenMP runtime)
    loads: afterwards the environment holds no trace of it, and a user's
    own OMP_WAIT_POLICY is left alone (their setting wins)."""
    import os
    import subprocess
    import sys

    code = (
        "import os; from skgd import _compiled; "
        "print(_compiled._fast is not None, os.environ.get('GOMP_SPINCOUNT'))"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["True", "None"]
    env["OMP_WAIT_POLICY"] = "active"
    out = subprocess.run(
        [sys.executable, "-c", code + "; print(os.environ['OMP_WAIT_POLICY'])"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["True", "None", "active"]
