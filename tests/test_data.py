"""Laws of fmlp.data: batches partition the data in a (seed, epoch)-determined order,
splits have the asked-for sizes, and ``prepare`` refuses bad input by name."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from purity import assert_same, check_pure

from fmlp.data import Dataset, batches, epoch_order, prepare, split
from fmlp.losses import BinaryCrossEntropy, SoftmaxCrossEntropy, SquaredError

sizes = st.integers(1, 40)
seeds = st.integers(0, 2**32)
epochs_ = st.integers(0, 1000)


def numbered(n: int, dtype: type[np.floating] = np.float64) -> Dataset:
    # Row i of x is (i, −i) and y[i] = i: every sample says who it is.
    i = np.arange(n, dtype=dtype)
    return Dataset(np.stack([i, -i], axis=1), np.arange(n))


@given(sizes, st.integers(1, 50), seeds, epochs_)
def test_batches_cover_every_sample_exactly_once(
    n: int, batch_size: int, seed: int, epoch: int
) -> None:
    data = numbered(n)
    parts = check_pure(lambda: list(batches(data, batch_size=batch_size, seed=seed, epoch=epoch)))
    seen = np.concatenate([b.y for b in parts])
    assert sorted(seen.tolist()) == list(range(n))
    for b in parts:
        assert np.array_equal(b.x[:, 0], b.y.astype(np.float64))  # rows stay paired
        assert not b.x.flags.writeable and not b.y.flags.writeable


@given(sizes, st.integers(1, 50), seeds, epochs_)
def test_batch_sizes_keep_the_last_partial_batch(
    n: int, batch_size: int, seed: int, epoch: int
) -> None:
    lengths = [len(b) for b in batches(numbered(n), batch_size=batch_size, seed=seed, epoch=epoch)]
    full, rest = divmod(n, batch_size)
    if batch_size >= n:
        assert lengths == [n]
    else:
        assert lengths == [batch_size] * full + ([rest] if rest else [])


@given(sizes, st.sampled_from([None, 0]), seeds, epochs_)
def test_a_full_batch_is_the_data_set_itself(
    n: int, extra: int | None, seed: int, epoch: int
) -> None:
    data = numbered(n)
    batch_size = None if extra is None else n + extra
    assert [b for b in batches(data, batch_size=batch_size, seed=seed, epoch=epoch)] == [data]
    assert next(iter(batches(data, batch_size=batch_size, seed=seed, epoch=epoch))) is data


@given(sizes, st.integers(1, 10), seeds, epochs_)
def test_order_is_a_pure_function_of_seed_and_epoch(
    n: int, batch_size: int, seed: int, epoch: int
) -> None:
    data = numbered(n)
    order = check_pure(epoch_order, n, seed=seed, epoch=epoch)
    assert sorted(order.tolist()) == list(range(n))
    assert np.array_equal(order, np.random.default_rng([seed, epoch]).permutation(n))
    if batch_size < n:
        got = np.concatenate(
            [b.y for b in batches(data, batch_size=batch_size, seed=seed, epoch=epoch)]
        )
        assert np.array_equal(got, order)  # consecutive slices of that permutation


def test_epochs_and_seeds_change_the_order() -> None:
    orders = {tuple(epoch_order(50, seed=s, epoch=e)) for s in range(3) for e in range(3)}
    assert len(orders) == 9


@st.composite
def fraction_lists(draw: st.DrawFn) -> list[float]:
    weights = draw(st.lists(st.integers(1, 20), min_size=1, max_size=4))
    return [w / sum(weights) for w in weights]


@given(st.integers(1, 200), fraction_lists(), seeds)
def test_split_sizes_follow_the_fractions(n: int, fractions: list[float], seed: int) -> None:
    x = np.arange(2 * n, dtype=np.float64).reshape(n, 2)
    y = np.arange(n)
    if any(f * n <= 1.0 for f in fractions):
        try:
            split(x, y, fractions=fractions, seed=seed)
        except ValueError as err:
            assert "leave part" in str(err)
            return
    parts = check_pure(split, x, y, fractions=fractions, seed=seed)
    assert len(parts) == len(fractions)
    lengths = [len(px) for px, _ in parts]
    assert sum(lengths) == n
    for length, f in zip(lengths, fractions, strict=True):
        # Each bound is rounded once, so a part is off by at most one row; never empty.
        assert abs(length - f * n) <= 1.0 and length >= 1
    together = np.concatenate([py for _, py in parts])
    assert sorted(together.tolist()) == list(range(n))  # a partition of the rows
    for px, py in parts:
        assert np.array_equal(px[:, 0], 2 * py)  # rows stay paired
    assert_same(split(x, y, fractions=fractions, seed=seed), parts)


def test_split_docstring_sizes() -> None:
    parts = split(np.zeros((10, 2)), np.zeros(10), fractions=(0.6, 0.2, 0.2), seed=0)
    assert [len(px) for px, _ in parts] == [6, 2, 2]


@pytest.mark.parametrize(
    ("fractions", "match"),
    [
        ((0.5, 0.6), "fractions must be positive and sum to 1"),
        ((), "fractions must be positive and sum to 1"),
        ((1.5, -0.5), r"fractions\[1\] must be a finite number"),
        ((0.05, 0.95), "leave part 0 empty"),
    ],
)
def test_split_refuses_bad_fractions(fractions: tuple[float, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        split(np.zeros((5, 2)), np.zeros(5), fractions=fractions, seed=0)


def test_split_refuses_mismatched_rows() -> None:
    with pytest.raises(ValueError, match="same number of rows, got 5 and 4"):
        split(np.zeros((5, 2)), np.zeros(4), fractions=(1.0,), seed=0)


@given(st.sampled_from([np.float32, np.float64]), st.integers(1, 10), st.integers(1, 4))
def test_prepare_converts_freezes_and_leaves_the_callers_arrays_alone(
    dtype: type[np.floating], n: int, d: int
) -> None:
    x = np.arange(n * d).reshape(n, d)  # integers convert exactly
    y = np.linspace(0, 1, n)
    data = check_pure(prepare, x, y, n_inputs=d, n_outputs=1, loss=SquaredError(), dtype=dtype)
    assert data.x.dtype == dtype and data.y.dtype == dtype
    assert data.y.shape == (n, 1)
    assert not data.x.flags.writeable and not data.y.flags.writeable
    assert x.flags.writeable and y.flags.writeable
    assert np.array_equal(data.x, x.astype(dtype))


BAD_INPUTS: list[tuple[object, object, type[Exception], str]] = [
    (
        np.zeros((3, 2)) + 1j,
        np.zeros(3),
        TypeError,
        "x must be a real numeric array, got a complex",
    ),
    (np.zeros((3, 2), bool), np.zeros(3), TypeError, "x must be a real numeric array, got a bool"),
    (
        np.array([["a", "b"]]),
        np.zeros(1),
        TypeError,
        "x must be a real numeric array, got a string",
    ),
    (np.array([[np.nan, 1.0]]), np.zeros(1), ValueError, r"x must be finite, got 1 NaN"),
    (
        np.array([[1.0, np.inf]]),
        np.zeros(1),
        ValueError,
        r"x must be finite, got 1 NaN or infinite entries \(first at index \(0, 1\)\)",
    ),
    (np.zeros((0, 2)), np.zeros(0), ValueError, "x must not be empty"),
    (np.zeros(2), np.zeros(2), ValueError, "x must be 2-D"),
    (np.zeros((3, 3)), np.zeros(3), ValueError, "x must have 2 columns"),
    (np.zeros((3, 2)), np.zeros(4), ValueError, "x and y must have the same number of rows"),
    (np.zeros((3, 2)), np.array([1.0, np.nan, 0.0]), ValueError, "y must be finite"),
    (
        np.full((1, 2), 2**60),
        np.zeros(1),
        ValueError,
        "x has integers that float64 cannot represent exactly",
    ),
]


@pytest.mark.parametrize(("x", "y", "error", "match"), BAD_INPUTS)
def test_prepare_refuses_bad_input_by_name(
    x: object, y: object, error: type[Exception], match: str
) -> None:
    # Every message starts with the argument's name (prefixed by the data set's name).
    with pytest.raises(error, match="^" + match):
        prepare(x, y, n_inputs=2, n_outputs=1, loss=SquaredError())
    with pytest.raises(error, match="^validation " + match):
        prepare(x, y, n_inputs=2, n_outputs=1, loss=SquaredError(), name="validation")


def test_prepare_checks_targets_for_the_loss() -> None:
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"class labels in \[0, 2\)"):
        prepare(x, [0, 1, 2], n_inputs=2, n_outputs=2, loss=SoftmaxCrossEntropy())
    with pytest.raises(ValueError, match="must hold integer class labels"):
        prepare(x, [0, 0.5, 1], n_inputs=2, n_outputs=2, loss=SoftmaxCrossEntropy())
    with pytest.raises(ValueError, match="targets in"):
        prepare(x, [0, 1, 2], n_inputs=2, n_outputs=1, loss=BinaryCrossEntropy())
    labels = prepare(x, [0.0, 1.0, 1.0], n_inputs=2, n_outputs=2, loss=SoftmaxCrossEntropy())
    assert labels.y.dtype == np.int64 and labels.y.tolist() == [0, 1, 1]


def test_dataset_checks_shapes() -> None:
    with pytest.raises(ValueError, match="x must be 2-D"):
        Dataset(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="same number of rows, got 3 and 2"):
        Dataset(np.zeros((3, 1)), np.zeros(2))
    with pytest.raises(TypeError, match="y must be a float or integer array"):
        Dataset(np.zeros((1, 1)), np.array(["a"]))
    assert len(numbered(7)) == 7
    assert math.isnan(float(Dataset(np.zeros((1, 1)), np.full(1, np.nan)).y[0]))
