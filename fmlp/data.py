"""Data sets, mini-batches and splits.

``prepare`` checks a caller's ``(x, y)`` once, at the boundary, and returns a
frozen ``Dataset`` in the model's dtype; everything after that trusts it.

Mini-batch order is a pure function of ``(seed, epoch)``: the permutation of
epoch ``e`` is drawn from ``numpy.random.default_rng([seed, e])``, so a run
restarted from the state after epoch ``e`` sees exactly the batches the
uninterrupted run would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs
import numpy as np
import numpy.typing as npt

from fmlp.checks import (
    as_float_array,
    check_float,
    check_non_negative_int,
    check_positive_int,
    float_dtype,
)
from fmlp.losses import Loss, Targets
from fmlp.records import ARRAY_EQ, Array, freeze, readonly_array, readonly_float_array

__all__ = ["Batch", "Dataset", "batches", "epoch_order", "prepare", "split"]


def _float_x(value: object) -> Array:
    return readonly_float_array(value, "Dataset: x")


def _labels_or_floats(value: object) -> Targets:
    arr = readonly_array(value)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"Dataset: y must be a float or integer array, got dtype {arr.dtype}")
    return arr  # type: ignore[return-value]


@attrs.frozen
class Dataset:
    """Inputs ``x`` of shape ``(n, n_in)`` and targets ``y`` with ``n`` rows, both frozen.

    Build one from raw arrays with ``prepare`` (which checks the values); the
    constructor checks only shapes, so that batches cut from a checked data set
    cost nothing extra.
    """

    x: Array = attrs.field(converter=_float_x, eq=ARRAY_EQ)
    y: Targets = attrs.field(converter=_labels_or_floats, eq=ARRAY_EQ)

    def __attrs_post_init__(self) -> None:
        if self.x.ndim != 2:
            raise ValueError(f"Dataset: x must be 2-D (n, n_in), got shape {self.x.shape}")
        if self.y.shape[:1] != self.x.shape[:1]:
            raise ValueError(
                f"Dataset: x and y must have the same number of rows, got {self.x.shape[0]} "
                f"and {self.y.shape[0] if self.y.ndim else self.y.shape}"
            )

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __reduce__(self) -> tuple[type[Dataset], tuple[Array, Targets]]:
        # Rebuild through the constructor so that copies keep read-only arrays.
        return Dataset, (self.x, self.y)


def _batch_unchecked(x: Array, y: Targets) -> Dataset:
    # Rows cut from a checked Dataset, frozen by the caller: skip the constructor's
    # converters and checks (the training loop's hot path, issue 6).
    batch = object.__new__(Dataset)
    object.__setattr__(batch, "x", x)
    object.__setattr__(batch, "y", y)
    return batch


#: A mini-batch is a small ``Dataset``.
Batch = Dataset


def prepare(
    x: object,
    y: object,
    *,
    n_inputs: int,
    n_outputs: int,
    loss: Loss,
    dtype: npt.DTypeLike = np.float64,
    name: str = "",
) -> Dataset:
    """Check ``(x, y)`` for a network and a loss, and freeze them in ``dtype``.

    Refuses, naming the argument: non-numeric, complex or bool arrays, NaN or
    infinity, empty data, a width of ``x`` other than ``n_inputs``, targets the
    loss cannot use, and different numbers of rows. The caller's arrays are
    never modified (they are copied when converted or frozen).

    >>> import numpy as np
    >>> from fmlp.losses import SquaredError
    >>> data = prepare(np.ones((4, 2)), np.zeros(4), n_inputs=2, n_outputs=1, loss=SquaredError())
    >>> len(data), data.y.shape, data.x.flags.writeable
    (4, (4, 1), False)
    """
    prefix = f"{name} " if name else ""
    resolved = float_dtype(dtype)
    n_inputs = check_positive_int("n_inputs", n_inputs)
    n_outputs = check_positive_int("n_outputs", n_outputs)
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a Loss, got {type(loss).__name__} {loss!r}")
    try:
        xs = as_float_array("x", x, dtype=resolved, ndim=2)
        if xs.shape[1] != n_inputs:
            raise ValueError(
                f"x must have {n_inputs} columns to match the architecture's input width, "
                f"got shape {xs.shape}"
            )
        ys = loss.prepare_targets(y, n_outputs=n_outputs, dtype=resolved)
        if ys.shape[0] != xs.shape[0]:
            raise ValueError(
                f"x and y must have the same number of rows, got {xs.shape[0]} and {ys.shape[0]}"
            )
    except (TypeError, ValueError) as err:
        if not prefix:
            raise
        raise type(err)(f"{prefix}{err}") from err
    return Dataset(xs, ys)


def epoch_order(n: int, *, seed: int, epoch: int) -> npt.NDArray[np.intp]:
    """The permutation of ``range(n)`` used in epoch ``epoch``: a pure function of its arguments.

    >>> bool((epoch_order(5, seed=1, epoch=3) == epoch_order(5, seed=1, epoch=3)).all())
    True
    """
    seed = check_non_negative_int("seed", seed)
    epoch = check_non_negative_int("epoch", epoch)
    return np.random.default_rng([seed, epoch]).permutation(n)


def batches(data: Dataset, *, batch_size: int | None, seed: int, epoch: int) -> Iterator[Dataset]:
    """The mini-batches of one epoch, shuffled by ``epoch_order(len(data), seed, epoch)``.

    Every sample appears exactly once; the last batch keeps the remainder
    (smaller than ``batch_size``). ``batch_size=None`` or ``>= len(data)`` gives
    the whole data set as one batch, unshuffled (the order cannot matter then).

    >>> import numpy as np
    >>> data = Dataset(np.arange(10.0).reshape(5, 2), np.zeros(5))
    >>> [len(b) for b in batches(data, batch_size=2, seed=0, epoch=0)]
    [2, 2, 1]
    """
    n = len(data)
    if batch_size is not None:
        batch_size = check_positive_int("batch_size", batch_size)
    if batch_size is None or batch_size >= n:
        yield data
        return
    order = epoch_order(n, seed=seed, epoch=epoch)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        yield _batch_unchecked(freeze(data.x[idx]), freeze(data.y[idx]))  # type: ignore[arg-type]


def split(
    x: Array, y: Targets, *, fractions: Sequence[float], seed: int
) -> list[tuple[Array, Targets]]:
    """Shuffle the rows once (from ``seed``) and cut them into parts of the given fractions.

    ``fractions`` must be positive and sum to 1; part ``i`` gets the rows between
    ``round(n·(f_0 + … + f_(i−1)))`` and ``round(n·(f_0 + … + f_i))`` (so it is off by at
    most one row), the last part ends at ``n``, and no part may be empty. Returns new
    arrays; the inputs are not modified.

    >>> import numpy as np
    >>> parts = split(np.zeros((10, 2)), np.zeros(10), fractions=(0.6, 0.2, 0.2), seed=0)
    >>> [len(px) for px, _ in parts]
    [6, 2, 2]
    """
    for arg, value in (("x", x), ("y", y)):
        if not isinstance(value, np.ndarray) or value.ndim == 0:
            raise TypeError(
                f"{arg} must be a numpy array with one row per sample, got {type(value).__name__}"
            )
    seed = check_non_negative_int("seed", seed)
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"x and y must have the same number of rows, got {n} and {y.shape[0]}")
    fracs = [
        check_float(f"fractions[{i}]", f, low=0.0, low_open=True) for i, f in enumerate(fractions)
    ]
    if not fracs or abs(sum(fracs) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be positive and sum to 1, got {tuple(fractions)}")
    order = np.random.default_rng(seed).permutation(n)
    bounds = np.round(np.cumsum(fracs) * n).astype(int)
    bounds[-1] = n
    parts = np.split(order, bounds[:-1])
    for i, part in enumerate(parts):
        if part.size == 0:
            raise ValueError(
                f"fractions {tuple(fractions)} of {n} rows leave part {i} empty; "
                f"every part needs at least one row"
            )
    return [(x[idx], y[idx]) for idx in parts]
