"""Laws of fmlp.records: value equality, real immutability, copying, validation."""

from __future__ import annotations

import copy
import math
import pickle

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from purity import check_pure

from fmlp.data import Dataset
from fmlp.optimizers import Adam, Momentum
from fmlp.records import (
    Grads,
    Layer,
    Params,
    TrainState,
    array_equal,
    global_norm,
    zeros_like,
)
from fmlp.testing import adam_states, arrays, float_dtypes, grads_like, models


def rebuilt(p: Params) -> Params:
    # The same values in brand-new writable arrays.
    return Params(tuple(Layer(np.array(la.weights), np.array(la.bias)) for la in p))


@given(models())
def test_equality_is_value_equality(model: tuple[object, Params]) -> None:
    _, p = model
    assert p == rebuilt(p)
    assert p == copy.deepcopy(p)
    assert (p != rebuilt(p)) is False  # __ne__ agrees with __eq__


@given(models())
def test_equality_is_dtype_sensitive(model: tuple[object, Params]) -> None:
    _, p = model
    other = np.float32 if p.dtype == np.float64 else np.float64
    cast = Params(tuple(Layer(la.weights.astype(other), la.bias.astype(other)) for la in p))
    assert p != cast


@given(models(), st.data())
def test_equality_sees_every_entry(model: tuple[object, Params], data: st.DataObject) -> None:
    _, p = model
    i = data.draw(st.integers(0, 2 * len(p) - 1))
    arrs = [np.array(a) for a in p.arrays()]
    flat = arrs[i].reshape(-1)
    j = data.draw(st.integers(0, flat.size - 1))
    flat[j] = flat[j] + 1.0
    changed = Params(tuple(Layer(arrs[k], arrs[k + 1]) for k in range(0, len(arrs), 2)))
    assert p != changed


def test_nan_equals_itself_and_shape_matters() -> None:
    layer = Layer(np.full((2, 1), np.nan), np.zeros(1))
    assert layer == layer
    assert layer == Layer(np.full((2, 1), np.nan), np.zeros(1))
    assert array_equal(np.zeros((1, 2)), np.zeros((1, 2)))
    assert not array_equal(np.zeros((1, 2)), np.zeros((2, 1)))
    assert not array_equal(np.zeros(2), np.zeros(2, np.float32))
    state = TrainState(Params((layer,)), None)  # every float field starts as NaN
    assert state == state
    assert state == copy.deepcopy(state)
    assert state != attrs.evolve(state, step=1)
    assert state != attrs.evolve(state, loss=1.0)


def test_params_and_grads_are_distinct_types() -> None:
    layer = Layer(np.ones((1, 1)), np.ones(1))
    params: object = Params((layer,))
    assert params != Grads((layer,))


def test_records_with_arrays_are_not_hashable() -> None:
    layer = Layer(np.ones((1, 1)), np.ones(1))
    for record in (layer, Params((layer,)), TrainState(Params((layer,)), None)):
        with pytest.raises(TypeError):
            hash(record)


@given(models(), st.data())
def test_every_stored_array_is_read_only(model: tuple[object, Params], data: st.DataObject) -> None:
    _, p = model
    g = data.draw(grads_like(p))
    adam = data.draw(adam_states(p))
    records = [
        *p.arrays(),
        *g.arrays(),
        *adam.mu.arrays(),
        *adam.nu.arrays(),
        *zeros_like(p).arrays(),
        *Momentum().init(p).velocity.arrays(),
        *Adam().init(p).nu.arrays(),
    ]
    for a in records:
        assert not a.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            a.reshape(-1)[0] = 1.0


@given(models())
def test_copies_and_pickles_keep_arrays_read_only(model: tuple[object, Params]) -> None:
    _, p = model
    state = TrainState(p, Momentum().init(p))
    data = Dataset(np.zeros((3, 2)), np.arange(3))
    for copied in (copy.deepcopy((state, data)), pickle.loads(pickle.dumps((state, data)))):
        assert copied == (state, data)
        c_state, c_data = copied
        arrs = [*c_state.params.arrays(), *c_state.opt_state.velocity.arrays(), c_data.x, c_data.y]
        assert not any(a.flags.writeable for a in arrs)


def test_dataset_arrays_are_read_only() -> None:
    data = Dataset(np.zeros((3, 2)), np.arange(3))
    for a in (data.x, data.y):
        with pytest.raises(ValueError, match="read-only"):
            a[0] = 1


@given(float_dtypes(), st.data())
def test_records_copy_the_callers_writable_arrays(
    dtype: np.dtype[np.floating], data: st.DataObject
) -> None:
    w = data.draw(arrays((3, 2), dtype))
    b = data.draw(arrays((2,), dtype))
    x = data.draw(arrays((4, 3), dtype))
    y = np.arange(4)
    layer, dataset = Layer(w, b), Dataset(x, y)
    snapshot = copy.deepcopy((layer, dataset))
    assert w.flags.writeable and x.flags.writeable  # the caller's arrays stay theirs
    for a in (w, b, x, y):
        a += 1
    assert layer == snapshot[0]
    assert dataset == snapshot[1]


def test_a_read_only_view_of_a_writable_array_is_copied() -> None:
    base = np.zeros((2, 2))
    view = base[:, :1]
    view.flags.writeable = False
    layer = Layer(view, np.zeros(1))
    base[0, 0] = 7.0
    assert layer.weights[0, 0] == 0.0


def test_a_frozen_owned_array_is_kept_without_copy() -> None:
    w = np.zeros((2, 1))
    w.flags.writeable = False
    assert Layer(w, np.zeros(1)).weights is w


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: Layer(np.ones(3), np.zeros(3)), ValueError, r"weights must be 2-D"),
        (lambda: Layer(np.ones((3, 2)), np.zeros(3)), ValueError, r"bias must have shape \(2,\)"),
        (
            lambda: Layer(np.ones((3, 2)), np.zeros(2, np.float32)),
            TypeError,
            "bias dtype float32 differs from weights dtype float64",
        ),
        (lambda: Layer(np.ones((3, 2), int), np.zeros(2)), TypeError, "got dtype int64"),
        (lambda: Layer([[1.0]], np.zeros(1)), TypeError, "got list"),
        (lambda: Params(()), ValueError, "Params: needs at least one layer"),
        (lambda: Params([1]), TypeError, r"layers\[0\] must be a Layer, got int"),
        (lambda: Grads(np.zeros(2)), TypeError, "layers must be a tuple of Layer"),
        (
            lambda: Params(
                (Layer(np.ones((3, 2)), np.zeros(2)), Layer(np.ones((3, 1)), np.zeros(1)))
            ),
            ValueError,
            "layer 0 outputs 2 features but layer 1 takes 3",
        ),
        (
            lambda: Params(
                (
                    Layer(np.ones((3, 2)), np.zeros(2)),
                    Layer(np.ones((2, 1), np.float32), np.zeros(1, np.float32)),
                )
            ),
            TypeError,
            "layer 0 is float64 but layer 1 is float32",
        ),
    ],
)
def test_invalid_records_are_refused_with_a_clear_message(
    make: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        make()  # type: ignore[operator]


@given(models())
def test_tree_accessors(model: tuple[object, Params]) -> None:
    _, p = model
    arrs = list(p.arrays())
    assert len(arrs) == 2 * len(p)
    for i, layer in enumerate(p):
        assert arrs[2 * i] is layer.weights and arrs[2 * i + 1] is layer.bias
    assert p.shapes == tuple(la.weights.shape for la in p)
    assert all(a.dtype == p.dtype for a in arrs)
    z = zeros_like(p)
    assert isinstance(z, Grads) and z.shapes == p.shapes and z.dtype == p.dtype
    assert not any(a.any() for a in z.arrays())


@given(models())
def test_global_norm_is_the_l2_norm_of_everything(model: tuple[object, Params]) -> None:
    _, p = model
    flat = np.concatenate([a.astype(np.float64).ravel() for a in p.arrays()])
    check_pure(global_norm, p)
    assert math.isclose(
        global_norm(p), float(np.sqrt(np.sum(flat**2))), rel_tol=1e-5, abs_tol=1e-30
    )


def _float_fields(state: TrainState[None]) -> list[float]:
    return [v for v in attrs.astuple(state, recurse=False) if isinstance(v, float)]


@given(params_and_step=models().flatmap(lambda m: st.tuples(st.just(m[1]), st.integers(0, 10))))
def test_train_state_defaults(params_and_step: tuple[Params, int]) -> None:
    p, step = params_and_step
    state = TrainState(p, None, step=step)
    assert state.epoch == 0 and state.samples == 0 and state.loss_sum == 0.0
    assert all(math.isnan(v) for v in _float_fields(state) if v != 0.0)
