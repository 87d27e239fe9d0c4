"""Bad class labels get the same error on every path: fit on arrays in
memory, partial_fit's ``classes``, and fit on a dask array (where the labels
are read block by block)."""

import numpy as np
import pytest

from skgd import GDClassifier

da = pytest.importorskip("dask.array")

X = np.random.RandomState(0).normal(size=(6, 2))
BAD = {
    "bytes": (np.array([b"a", b"b"] * 3), TypeError, "labels represented as bytes"),
    "bytes-object": (
        np.array([b"a", b"b"] * 3, dtype=object),
        TypeError,
        "labels represented as bytes",
    ),
    "none-and-str": (
        np.array(["a", None, "a", None, "a", "b"], dtype=object),
        TypeError,
        r"y mixes labels of types \['NoneType', 'str'\]",
    ),
    "nan": (np.array([0.0, 1.0, np.nan, 1.0, 0.0, 1.0]), ValueError, "contains NaN"),
}


@pytest.mark.parametrize("case", BAD)
def test_the_same_error_in_memory_and_on_dask(case):
    y, error, match = BAD[case]
    with pytest.raises(error, match=match) as in_memory:
        GDClassifier().fit(X, y)
    with pytest.raises(error) as on_dask:
        GDClassifier(batch_size="full").fit(
            da.from_array(X, chunks=3), da.from_array(y, chunks=3)
        )
    assert str(on_dask.value) == str(in_memory.value)


@pytest.mark.parametrize("case", BAD)
def test_partial_fits_classes_get_the_same_error(case):
    labels, error, match = BAD[case]
    est = GDClassifier()
    with pytest.raises(error, match=match.replace("y mixes", "classes mixes")):
        est.partial_fit(X, np.zeros(6), classes=labels)
    assert not hasattr(est, "classes_")
