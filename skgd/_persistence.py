"""What a fitted estimator is when saved: plain data and a version.

pickle, joblib and skops save an estimator's ``__dict__`` through
``__getstate__``. The training state (:class:`skgd._engine.TrainState`, a
private class) goes out as a dict of arrays, numbers and strings, with
what a later ``partial_fit`` needs to continue exactly: the weights, the
optimizer's velocities and moments, the schedule's state and clock, the L1
bookkeeping, the averaged iterate and the random generator. What a later
call would start afresh anyway is left out (SAGA's and SVRG's table of row
gradients, the full-batch solver's momentum and certificate: see
:meth:`skgd._engine.Engine.resume`), so that a saved model is about the
size of its weights and optimizer state, and a loader trusts no private
type (``skops.io.get_untrusted_types``).

The version of skgd that saved a model goes with it; loading it with
another version warns (:class:`InconsistentVersionWarning`), as
scikit-learn does for its own version.
"""

import warnings
from dataclasses import fields

import numpy as np
from sklearn.exceptions import InconsistentVersionWarning as _SklearnWarning

import skgd
from skgd._engine import TrainState

#: The key of the saving version in a saved estimator's state.
VERSION_KEY = "_skgd_version"


class InconsistentVersionWarning(_SklearnWarning):
    """A model saved by one version of skgd is loaded by another.

    A subclass of scikit-learn's warning of the same name, so that a filter
    on that one applies to this one too. Nothing checks that the model still
    means the same: refit it with this version, or load it with the version
    that saved it (``original_skgd_version``).
    """

    def __init__(self, *, estimator_name, current_skgd_version, original_skgd_version):
        self.estimator_name = estimator_name
        self.current_skgd_version = current_skgd_version
        self.original_skgd_version = original_skgd_version
        # scikit-learn's attributes, for code that reads them.
        self.current_sklearn_version = current_skgd_version
        self.original_sklearn_version = original_skgd_version

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from skgd version "
            f"{self.original_skgd_version} when using version "
            f"{self.current_skgd_version}. This might lead to breaking code or "
            "invalid results. Use at your own risk. The models of one version "
            "load safely in that version only; see the page 'Saving and "
            "deploying models'."
        )


def plain_state(state):
    """``state`` (a :class:`TrainState`) as a dict of plain data."""
    plain = {f.name: getattr(state, f.name) for f in fields(state)}
    # The generator's own dict form: a bit generator's name, its key array
    # and position, numbers.
    plain["rng"] = state.rng.get_state(legacy=False)
    solver = state.solver
    plain["solver"] = (
        {"eta": solver["eta"]} if solver is not None and "eta" in solver else None
    )
    return plain


def train_state(plain):
    """The :class:`TrainState` that :func:`plain_state` saved."""
    values = dict(plain)
    rng = np.random.RandomState()
    rng.set_state(values["rng"])
    values["rng"] = rng
    # The full-batch solver's state is its step alone: the next call's
    # Engine.resume fills in the rest, as it would have reset it.
    return TrainState(**values)


def saved(estimator_state):
    """An estimator's ``__dict__`` as it is saved (a new dict)."""
    state = dict(estimator_state)
    if isinstance(state.get("_state"), TrainState):
        state["_state"] = plain_state(state["_state"])
    state[VERSION_KEY] = skgd.__version__
    return state


def loaded(estimator, state):
    """A saved ``__dict__`` as the estimator holds it; warns if another
    version of skgd saved it."""
    state = dict(state)
    original = state.pop(VERSION_KEY, "unknown")
    if original != skgd.__version__:
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=type(estimator).__name__,
                current_skgd_version=skgd.__version__,
                original_skgd_version=original,
            ),
            stacklevel=3,  # the caller of pickle.load
        )
    if isinstance(state.get("_state"), dict):
        state["_state"] = train_state(state["_state"])
    return state
