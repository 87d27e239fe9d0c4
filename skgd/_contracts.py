"""The contract of user-defined components, checked before training.

A loss, penalty, optimizer or schedule of the user's own is called once, on
two rows at the starting weights, and what it returns is checked against
what the engine will do with it: the structure (a pair, a list, a dict), the
shapes, a numeric dtype, finite values. A broken component thus fails at
once with a TypeError or ValueError that names the component, the method and
what was expected, rather than as a NumPy broadcast error, an IndexError
deep in the engine, or a "Training diverged" that blames the step size.
Integer arrays are accepted (the engine casts them).

skgd's own components are not checked: their contract is their tests.
"""

import numbers

import numpy as np


def own_component(component):
    """True for skgd's built-in components (their class is defined in skgd)."""
    return type(component).__module__.split(".")[0] == "skgd"


def _name(component, method):
    return f"{type(component).__name__}.{method}"


def _array(value, where, shape, what):
    """``value`` as a float array of ``shape``, or a clear error."""
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - any failure means "not an array"
        array = None
    if array is None or array.dtype.kind not in "fiu":
        kind = type(value).__name__ if array is None else f"dtype {array.dtype}"
        raise TypeError(
            f"{where} returned {what} of {kind}; it must be a numeric array of "
            f"shape {shape}."
        )
    if array.shape != shape:
        raise ValueError(
            f"{where} returned {what} of shape {array.shape}; it must have shape "
            f"{shape}."
        )
    if not np.isfinite(array).all():
        raise ValueError(
            f"{where} returned {what} with non-finite values (NaN or inf) at the "
            "starting weights, before any step: the component, not the step "
            "size, produced them."
        )
    return array.astype(np.float64, copy=False)


def _scalar(value, where, what):
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(())[()]
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(
            f"{where} returned {what} of type {type(value).__name__}; it must be "
            "a real number."
        )
    if not np.isfinite(value):
        raise ValueError(f"{where} returned a non-finite {what}: {value!r}.")
    return float(value)


def _check_loss(loss, Y, Z):
    where = _name(loss, "loss_gradient(y, z)")
    pinned = loss.multiclass and Z.shape[1] == 1
    if pinned:
        # Two classes, one output: class 0's score is held at 0 (Objective).
        Z = np.hstack([np.zeros_like(Z), Z])
    out = loss.loss_gradient(Y, Z)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(
            f"{where} returned {type(out).__name__}; it must return the pair "
            "(loss values, gradient with respect to z)."
        )
    values_shape = (Z.shape[0],) if loss.multiclass else Z.shape
    _array(out[0], where, values_shape, "loss values")
    G = _array(out[1], where, Z.shape, "a gradient")
    return G[:, 1:] if pinned else G


def _check_penalty(penalty, coef):
    where = _name(penalty, "value(coef)")
    _scalar(penalty.value(coef), where, "a penalty value")
    where = _name(penalty, "gradient(coef)")
    _array(penalty.gradient(coef), where, coef.shape, "a gradient")


def _check_optimizer(optimizer, coef, intercept, grad_coef, grad_intercept):
    state = optimizer.init([coef.copy(), intercept.copy()])
    if not isinstance(state, dict):
        raise TypeError(
            f"{_name(optimizer, 'init(params)')} returned {type(state).__name__}; "
            "it must return a dict (its state, {} for none)."
        )
    where = _name(optimizer, "update(grads, state, lr)")
    out = optimizer.update([grad_coef.copy(), grad_intercept.copy()], state, 1e-3)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(
            f"{where} returned {type(out).__name__}; it must return the pair "
            "(steps, new_state), steps a list [coef step, intercept step]."
        )
    steps, new_state = out
    if not (isinstance(steps, (list, tuple)) and len(steps) == 2):
        raise TypeError(
            f"{where} returned steps of type {type(steps).__name__}; they must be "
            "a list of two arrays, [coef step, intercept step]."
        )
    _array(steps[0], where, coef.shape, "a coef step")
    _array(steps[1], where, intercept.shape, "an intercept step")
    if not isinstance(new_state, dict):
        raise TypeError(
            f"{where} returned a new state of type {type(new_state).__name__}; "
            "it must be a dict."
        )


def _check_schedule(schedule):
    state = schedule.init()
    if not isinstance(state, dict):
        raise TypeError(
            f"{_name(schedule, 'init()')} returned {type(state).__name__}; it "
            "must return a dict (its state, {} for none)."
        )
    where = _name(schedule, "rate(t, state)")
    rate = _scalar(schedule.rate(1.0, state), where, "a step size")
    if not rate > 0:
        raise ValueError(f"{where} returned a step size of {rate!r}; it must be > 0.")


def check_components(objective, optimizer, schedule, start, X, y_idx):
    """Call each user-defined component once on the first two rows of
    ``X`` (class indices ``y_idx``) at the weights ``start`` (coef,
    intercept); raise what its contract is broken by. ``schedule`` may be
    None (not chosen yet: skgd's). Changes nothing."""
    coef, intercept = start
    rows = slice(0, min(2, X.shape[0]))
    Xb = X[rows]
    Yb = objective.encode(np.asarray(y_idx)[rows], coef.dtype)
    Z = objective.scores(coef, intercept, Xb)
    if own_component(objective.loss):
        _, G = objective.loss_gradient(Yb, Z)
    else:
        G = _check_loss(objective.loss, Yb, Z)
    penalty = objective.penalty
    if penalty is not None and not own_component(penalty):
        _check_penalty(penalty, coef.copy())
    if not own_component(optimizer):
        grad_coef, grad_intercept = objective.lift(Xb, np.asarray(G, dtype=float))
        _check_optimizer(optimizer, coef, intercept, grad_coef, grad_intercept)
    if schedule is not None and not own_component(schedule):
        _check_schedule(schedule)
