"""The common base of every skgd component (loss, penalty, optimizer, schedule)."""

from sklearn.base import BaseEstimator


class Component(BaseEstimator):
    """Base class of skgd's components: hyperparameters only, never state.

    A component stores its constructor arguments under the same names and
    nothing else, so ``get_params``/``set_params`` expose them to scikit-learn
    (``optimizer__beta_1`` in a grid search), ``clone`` copies them, and one
    instance can be shared by many estimators: everything that changes during
    training (velocities, moments, step counts, cumulative penalties) lives in
    state objects that the estimator owns.
    """
