"""Class labels: checked and sorted the same way on every path.

``fit``, ``partial_fit``'s ``classes`` and a dask array's blocks all go
through :func:`sorted_labels`, so the same bad labels get the same error
wherever they come from: scikit-learn's own message for bytes, "Input ...
contains NaN." for a missing float label, and one that names the types for
labels NumPy cannot order (None beside strings, say).
"""

import numpy as np

#: scikit-learn's message for bytes labels (``check_classification_targets``).
BYTES = (
    "Support for labels represented as bytes is not supported. Convert the "
    "labels to a string or integer format."
)


def unorderable(name, labels):
    """The TypeError for labels of types that cannot be ordered together."""
    kinds = sorted({type(label).__name__ for label in np.ravel(labels).tolist()})
    return TypeError(
        f"{name} mixes labels of types {kinds}, which cannot be ordered; class "
        "labels must be all strings or all numbers (no None)."
    )


def _has_bytes(labels):
    if labels.dtype.kind == "S":
        return True
    if labels.dtype == object:
        return any(isinstance(label, bytes) for label in labels.ravel().tolist())
    return False


def sorted_labels(labels, name, return_inverse=False):
    """``np.unique(labels)`` (and the inverse, if asked), or the error that
    the same bad labels get everywhere (see the module docstring)."""
    labels = np.asarray(labels)
    if _has_bytes(labels):
        raise TypeError(BYTES)
    try:
        result = np.unique(labels, return_inverse=return_inverse)
    except TypeError as exc:
        raise unorderable(name, labels) from exc
    unique = result[0] if return_inverse else result
    if unique.dtype.kind in "fc" and np.isnan(unique).any():
        raise ValueError(f"Input {name} contains NaN.")
    return result
