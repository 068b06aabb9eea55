"""Laws of fmlp.checks: accept exactly what is valid, refuse the rest naming the argument."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from purity import check_pure

from fmlp.checks import as_float_array, as_labels, check_float, check_positive_int, float_dtype

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.booleans(), st.booleans())
def test_check_float_accepts_exactly_the_interval(
    value: float, low: float, low_open: bool, high_open: bool
) -> None:
    high = low + 10.0
    inside = (value > low if low_open else value >= low) and (
        value < high if high_open else value <= high
    )
    if inside:
        got = check_float("rate", value, low=low, high=high, low_open=low_open, high_open=high_open)
        assert got == value and type(got) is float
    else:
        with pytest.raises(ValueError, match=r"^rate must be a finite number in [\[(].*got"):
            check_float("rate", value, low=low, high=high, low_open=low_open, high_open=high_open)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_check_float_refuses_non_finite(value: float) -> None:
    with pytest.raises(ValueError, match=r"^lr must be a finite number"):
        check_float("lr", value)


@pytest.mark.parametrize("value", [True, "0.1", None, [0.1], np.array([0.1])])
def test_check_float_refuses_non_numbers(value: object) -> None:
    with pytest.raises(TypeError, match=r"^lr must be a finite number"):
        check_float("lr", value)


@given(st.integers(-(2**1100), 2**1100))
def test_check_float_on_integers_of_any_size(value: int) -> None:
    # Regression: ints beyond float range raised OverflowError instead of naming "lr".
    if abs(value) <= 1e300:
        assert check_float("lr", value) == float(value)
    else:
        with pytest.raises(ValueError, match=r"^lr must be a finite number"):
            check_float("lr", value)


def test_check_float_accepts_numpy_scalars_and_ints() -> None:
    assert check_float("lr", np.float32(0.5)) == 0.5
    assert check_float("lr", np.int64(2)) == 2.0
    assert check_float("lr", 3) == 3.0


@given(st.integers(-(2**70), 2**70))
def test_check_positive_int(value: int) -> None:
    if value >= 1:
        assert check_positive_int("batch_size", value) == value
        assert check_positive_int("batch_size", np.int64(min(value, 2**62))) == min(value, 2**62)
    else:
        with pytest.raises(
            ValueError, match=f"^batch_size must be a positive integer, got {value}"
        ):
            check_positive_int("batch_size", value)


@pytest.mark.parametrize("value", [True, 1.0, "3", None])
def test_check_positive_int_refuses_non_integers(value: object) -> None:
    with pytest.raises(TypeError, match=r"^epochs must be a positive integer"):
        check_positive_int("epochs", value)


@given(
    hnp.arrays(
        np.int64, hnp.array_shapes(min_dims=2, max_dims=2), elements=st.integers(-(2**24), 2**24)
    )
)
def test_integers_that_fit_convert_exactly(x: np.ndarray) -> None:
    for dtype in (F32, F64):
        out = check_pure(as_float_array, "x", x, dtype=dtype, ndim=2)
        assert out.dtype == dtype
        assert np.array_equal(out.astype(np.int64), x)


def test_integers_that_do_not_fit_are_refused() -> None:
    x = np.array([[2**24 + 1]])
    assert as_float_array("x", x, dtype=F64)[0, 0] == 2**24 + 1
    with pytest.raises(ValueError, match=r"^x has integers that float32 cannot represent exactly"):
        as_float_array("x", x, dtype=F32)


@given(hnp.arrays(F64, st.tuples(st.integers(1, 4), st.integers(1, 4))))
def test_non_finite_floats_are_refused_and_the_rest_kept(x: np.ndarray) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        with pytest.raises(ValueError, match=f"^x must be finite, got {int(bad.sum())} NaN"):
            as_float_array("x", x, dtype=F64)
    else:
        assert np.array_equal(check_pure(as_float_array, "x", x, dtype=F64), x)


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (np.array([[True]]), TypeError, "^x must be a real numeric array, got a bool array"),
        (np.array([[1 + 1j]]), TypeError, "^x must be a real numeric array, got a complex"),
        (np.array([[object()]]), TypeError, "^x must be a real numeric array, got a object"),
        (np.zeros((2, 0)), ValueError, r"^x must not be empty, got shape \(2, 0\)"),
        (np.zeros(3), ValueError, r"^x must be 2-D, got shape \(3,\)"),
        ([[1.0], [2.0, 3.0]], TypeError, "^x must be a numeric array, got list"),
    ],
)
def test_as_float_array_refuses_bad_input(
    value: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        as_float_array("x", value, dtype=F64, ndim=2)


@given(st.integers(1, 10), st.data())
def test_labels_in_range_are_accepted(k: int, data: st.DataObject) -> None:
    labels = data.draw(hnp.arrays(np.int32, st.integers(1, 10), elements=st.integers(0, k - 1)))
    out = check_pure(as_labels, "y", labels, n_classes=k)
    assert out.dtype == np.int64 and np.array_equal(out, labels)
    assert np.array_equal(as_labels("y", labels.astype(np.float64), n_classes=k), labels)


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ([0, 3], ValueError, r"^y must hold class labels in \[0, 3\), got values from 0 to 3"),
        ([-1, 0], ValueError, r"^y must hold class labels in \[0, 3\), got values from -1 to 0"),
        ([0.5, 1.0], ValueError, "^y must hold integer class labels, got non-integer values"),
        ([0.0, np.nan], ValueError, "^y must hold integer class labels"),
        ([True, False], TypeError, "^y must hold integer class labels, got a bool array"),
        ([[0, 1]], ValueError, r"^y must be 1-D class labels, got shape \(1, 2\)"),
        (np.zeros(0, int), ValueError, "^y must not be empty"),
        (["a"], TypeError, "^y must be a real numeric array"),
    ],
)
def test_as_labels_refuses_bad_labels(value: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        as_labels("y", value, n_classes=3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, "float32", "float64", float])
def test_float_dtype_accepts_float32_and_float64(dtype: object) -> None:
    assert float_dtype(dtype) in (F32, F64)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [np.float16, np.int64, "complex128", "bogus", bool])
def test_float_dtype_refuses_the_rest(dtype: object) -> None:
    with pytest.raises(TypeError, match=r"^dtype must be float32 or float64"):
        float_dtype(dtype)  # type: ignore[arg-type]
