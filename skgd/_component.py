"""The common base of every skgd component (loss, penalty, optimizer, schedule)."""

from dataclasses import dataclass

from sklearn.base import BaseEstimator

from skgd._doc_link import DocLinkMixin


class Component(DocLinkMixin, BaseEstimator):
    """Base class of skgd's components: hyperparameters only, never state.

    A component stores its constructor arguments under the same names and
    nothing else, so ``get_params``/``set_params`` expose them to scikit-learn
    (``optimizer__beta_1`` in a grid search), ``clone`` copies them, and one
    instance can be shared by many estimators: everything that changes during
    training (velocities, moments, step counts, cumulative penalties) lives in
    state objects that the estimator owns.

    ``_parameter_constraints`` declares the valid values of each
    hyperparameter in scikit-learn's vocabulary; the estimator checks them
    with scikit-learn's own machinery before training, so that
    ``Momentum(momentum=1.5)`` is refused as ``eta0=-1`` is.
    """

    _parameter_constraints: dict = {}


@dataclass(frozen=True)
class KernelSpec:
    """What the compiled kernel needs to run a built-in component.

    A built-in component class declares one as its class attribute
    ``_kernel``; ``skgd._compiled`` reads it, and only on the class that
    declares it: a subclass (which may change the arithmetic) runs on the
    NumPy engine unless it declares its own.

    Parameters
    ----------
    code : str
        The name of the component's member in the kernel's enumeration of
        its kind (``LossCode``, ``OptimizerCode``, ``ScheduleCode`` in
        ``skgd/_fast.pxd``, the one definition of the codes).
    params : tuple of str, default=()
        Attributes read as floats, in the kernel's order (properties allowed).
    slots : tuple of str, default=()
        Optimizers: the keys of the state's per-coordinate arrays (each a
        ``[coef_array, intercept_array]`` pair).
    counter : str or None, default=None
        Optimizers: the key of the state's step count.
    preconditioned : bool, default=False
        Optimizers: the step is scaled per coordinate (adaptive rules), so
        each coordinate owes its own L1 truncation.
    state : tuple of str, default=()
        Schedules: keys of the schedule's state read as further parameters.
    """

    code: str
    params: tuple = ()
    slots: tuple = ()
    counter: str | None = None
    preconditioned: bool = False
    state: tuple = ()


def declared_kernel(component):
    """The :class:`KernelSpec` the component's own class declares, or None."""
    return type(component).__dict__.get("_kernel")
