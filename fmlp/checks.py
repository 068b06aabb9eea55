"""Argument checks at the API boundary: one clear error, raised before any work starts.

Every message names the argument, what it got and what it needs. The checks
never modify what they are given; the hot training step does not call them on
data it built itself.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from fmlp.records import FLOAT_DTYPES, Array, Grads, Labels, Params

__all__ = [
    "as_float_array",
    "as_labels",
    "check_float",
    "check_non_negative_int",
    "check_positive_int",
    "float_dtype",
    "integral_to_int",
    "real_to_float",
]


def float_dtype(dtype: npt.DTypeLike, name: str = "dtype") -> np.dtype[np.floating]:
    """The numpy dtype for ``dtype`` if it is float32 or float64, else a ``TypeError``."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}") from err
    if resolved not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {resolved}")
    return resolved  # type: ignore[return-value]


def check_float(
    name: str,
    value: object,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a Python float if it is a finite real number within the bounds.

    >>> check_float("lr", 0.5, low=0.0)
    0.5
    >>> check_float("momentum", 1.0, low=0.0, high=1.0, high_open=True)
    Traceback (most recent call last):
    ...
    ValueError: momentum must be a finite number in [0.0, 1.0), got 1.0
    """
    if math.isinf(high):
        need = f"a finite number {'>' if low_open else '≥'} {low}"
    else:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        need = f"a finite number in {lo}{low}, {high}{hi}"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be {need}, got {type(value).__name__} {value!r}")
    try:
        v = float(value)
    except OverflowError:  # an int beyond float range is not finite either
        v = math.inf
    ok = math.isfinite(v) and (v > low if low_open else v >= low)
    ok = ok and (v < high if high_open else v <= high)
    if not ok:
        raise ValueError(f"{name} must be {need}, got {value!r}")
    return v


def check_positive_int(name: str, value: object) -> int:
    """``value`` as an int if it is an integer ≥ 1.

    >>> check_positive_int("batch_size", 0)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be a positive integer, got 0
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive integer, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_non_negative_int(name: str, value: object) -> int:
    """``value`` as an int if it is an integer ≥ 0 (a seed, an epoch number).

    >>> check_non_negative_int("seed", -1)
    Traceback (most recent call last):
    ...
    ValueError: seed must be a non-negative integer, got -1
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{name} must be a non-negative integer, got {type(value).__name__} {value!r}"
        )
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def real_to_float(value: float) -> float:
    """attrs converter for float hyperparameters: a real number becomes a Python float.

    Anything else (a string, ``None``, a bool) is passed on unchanged, so the field's
    validator, which knows the field's name, refuses it with a clear message
    (``float()`` would accept ``"0.1"`` and fail on ``None`` without naming the field).

    >>> import numpy as np
    >>> real_to_float(np.float32(0.5)), real_to_float("0.5")
    (0.5, '0.5')
    """
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    return value


def integral_to_int(value: int) -> int:
    """attrs converter for integer fields: an integer becomes an ``int``; the rest is left
    for the validator to refuse by name (``int()`` would truncate 2.5 and fail on NaN).

    >>> import numpy as np
    >>> integral_to_int(np.int64(3)), integral_to_int(2.5)
    (3, 2.5)
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return value


def _as_array(name: str, value: object) -> npt.NDArray[np.generic]:
    if isinstance(value, np.ndarray):
        arr: npt.NDArray[np.generic] = value
    else:
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError) as err:
            raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}") from err
    kind = arr.dtype.kind
    if kind not in "biuf":
        what = {"c": "a complex", "O": "an object", "U": "a string", "S": "a bytes"}.get(
            kind, f"a {arr.dtype}"
        )
        raise TypeError(f"{name} must be a real numeric array, got {what} array ({arr.dtype})")
    return arr


def _exactly_representable(arr: npt.NDArray[np.generic], dtype: np.dtype[np.floating]) -> bool:
    # Integers convert exactly when |v| <= 2**mantissa_bits.
    limit = 2 ** (np.finfo(dtype).nmant + 1)
    return arr.size == 0 or (
        bool(np.abs(arr.astype(np.float64)).max() <= limit)
        and bool(np.all(arr.astype(dtype).astype(arr.dtype) == arr))
    )


def as_float_array(
    name: str, value: object, *, dtype: np.dtype[np.floating], ndim: int | None = None
) -> Array:
    """``value`` as an array of ``dtype`` (a new array when a conversion is needed).

    Accepts float arrays and integer arrays whose values convert exactly; refuses
    object, string, complex and bool arrays, wrong dimensions, empty arrays and
    NaN or infinity.

    >>> import numpy as np
    >>> as_float_array("x", [[1, 2]], dtype=np.dtype(np.float32)).dtype
    dtype('float32')
    >>> as_float_array("x", np.array([[np.nan]]), dtype=np.dtype(np.float64))
    Traceback (most recent call last):
    ...
    ValueError: x must be finite, got 1 NaN or infinite entries (first at index (0, 0))
    """
    arr = _as_array(name, value)
    if arr.dtype.kind == "b":
        raise TypeError(f"{name} must be a real numeric array, got a bool array")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if arr.dtype.kind in "iu" and not _exactly_representable(arr, dtype):
        limit = 2 ** (np.finfo(dtype).nmant + 1)
        raise ValueError(
            f"{name} has integers that {dtype} cannot represent exactly, got values from "
            f"{arr.min()} to {arr.max()}; integers convert exactly up to ±{limit} (2**"
            f"{np.finfo(dtype).nmant + 1})"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        out = arr.astype(dtype, copy=False)
    finite = np.isfinite(out)
    if not finite.all():
        bad = np.argwhere(~finite)
        raise ValueError(
            f"{name} must be finite, got {len(bad)} NaN or infinite entries "
            f"(first at index {tuple(int(i) for i in bad[0])})"
        )
    return out


def as_labels(name: str, value: object, *, n_classes: int) -> Labels:
    """``value`` as a 1-D int64 array of class labels in ``[0, n_classes)``.

    Float arrays holding whole numbers are accepted.

    >>> as_labels("y", [0, 2, 1], n_classes=3)
    array([0, 2, 1])
    >>> as_labels("y", [0, 3], n_classes=3)
    Traceback (most recent call last):
    ...
    ValueError: y must hold class labels in [0, 3), got values from 0 to 3
    """
    arr = _as_array(name, value)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D class labels, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if arr.dtype.kind == "b":
        raise TypeError(f"{name} must hold integer class labels, got a bool array")
    if arr.dtype.kind == "f":
        floats = arr.astype(np.float64)
        whole = np.isfinite(floats) & (floats == np.round(floats))
        if not whole.all():
            first = floats[~whole][0]
            raise ValueError(
                f"{name} must hold integer class labels, got non-integer values such as {first}"
            )
    lo, hi = arr.min(), arr.max()
    if lo < 0 or hi >= n_classes:
        raise ValueError(
            f"{name} must hold class labels in [0, {n_classes}), got values from {lo:g} to {hi:g}"
        )
    return arr.astype(np.int64, copy=False)


def check_like_params(name: str, tree: object, params: object) -> None:
    """Raise unless ``params`` is ``Params`` and ``tree`` is ``Grads`` of its shapes and dtype.

    >>> import numpy as np
    >>> from fmlp.records import Grads, Layer, Params
    >>> p = Params((Layer(np.zeros((2, 1)), np.zeros(1)),))
    >>> g = Grads((Layer(np.zeros((3, 1)), np.zeros(1)),))
    >>> check_like_params("grads", g, p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: grads must have the layer shapes and dtype of params, ((2, 1),) float64, got ...
    """
    if not isinstance(params, Params):
        raise TypeError(f"params must be Params, got {type(params).__name__}")
    if not isinstance(tree, Grads):
        raise TypeError(f"{name} must be Grads, got {type(tree).__name__}")
    if tree.shapes != params.shapes or tree.dtype != params.dtype:
        raise ValueError(
            f"{name} must have the layer shapes and dtype of params, {params.shapes} "
            f"{params.dtype}, got {tree.shapes} {tree.dtype}"
        )
