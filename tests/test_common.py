"""scikit-learn's estimator checks over a grid of descent modes, losses and rules."""

import itertools

from sklearn.utils.estimator_checks import parametrize_with_checks

from skgd import GDClassifier, MulticlassSVMClassifier, SoftmaxClassifier

# Each loss family: binary margin losses (one-vs-rest), the multinomial
# softmax and the multiclass SVM.
LOSSES = ["hinge", "log_loss", "softmax", "multiclass_hinge"]

# Plain SGD in the three descent modes. Bottou's "optimal" schedule is tuned
# for one sample per update; full-batch descent takes few, large steps and is
# run with the "adaptive" schedule, which is what a user should choose there.
SGD_MODES = {
    1: {},
    8: {},
    "full": {"learning_rate": "adaptive", "eta0": 0.1},
}


def _configurations():
    for loss, (batch_size, schedule) in itertools.product(LOSSES, SGD_MODES.items()):
        yield GDClassifier(loss=loss, batch_size=batch_size, **schedule)
    for loss in LOSSES:
        yield GDClassifier(
            loss=loss,
            batch_size=8,
            optimizer="adam",
            learning_rate="constant",
            eta0=0.05,
        )
    yield GDClassifier(
        loss="softmax",
        batch_size=4,
        optimizer="momentum",
        learning_rate="constant",
        eta0=0.001,
    )
    yield GDClassifier(
        loss="log_loss",
        optimizer="nesterov",
        batch_size=16,
        learning_rate="invscaling",
        eta0=0.01,
    )
    yield GDClassifier(penalty="l1", average=True, learning_rate="adaptive")
    yield GDClassifier(
        penalty="elasticnet",
        optimizer="adagrad",
        batch_size="full",
        learning_rate="constant",
        eta0=0.5,
    )
    yield GDClassifier(
        loss="modified_huber",
        optimizer="rmsprop",
        batch_size=32,
        learning_rate="constant",
        eta0=0.01,
    )
    for loss, penalty in (("softmax", "l2"), ("log_loss", "elasticnet")):
        yield GDClassifier(
            loss=loss, penalty=penalty, batch_size="full", learning_rate="line_search"
        )
    yield SoftmaxClassifier()
    yield MulticlassSVMClassifier()


_STOCHASTIC_WEIGHTS = (
    "a stochastic mode draws rows, not weights: a row of weight 2 is one draw "
    "with a doubled step where a repeated row is two draws, so the iterates "
    "differ (they agree in expectation). batch_size='full' passes this check, and "
    "so does any batch at least as large as the check's data (it is the full batch)"
)


def _expected_failed_checks(estimator):
    if estimator.batch_size == "full":
        failures = {}
    else:
        failures = {
            "check_sample_weight_equivalence_on_dense_data": _STOCHASTIC_WEIGHTS,
            "check_sample_weight_equivalence_on_sparse_data": _STOCHASTIC_WEIGHTS,
        }
    return failures


@parametrize_with_checks(
    list(_configurations()), expected_failed_checks=_expected_failed_checks
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
