"""The speed paths of issue 6 give exactly what the plain formulas give, and stay pure.

The hot path keeps parameters as views of one flat buffer, writes backprop into
arrays it allocated itself, and fuses the momentum update. Each property here pins
one of those shortcuts to the straightforward computation it replaces, bit for bit,
or checks that nothing a caller holds is written.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

import fmlp
from fmlp.activations import Activation, Identity
from fmlp.losses import Loss, Targets
from fmlp.model import value_and_grad_unchecked
from fmlp.optimizers import Lookahead, _lerp, momentum_step
from fmlp.records import Array, Grads, Layer, Params, as_flat, tree_from_flat
from fmlp.testing import (
    activations,
    architectures,
    batches,
    classification_batches,
    float_dtypes,
    grads_like,
    params,
)


def _reference_value_and_grad(
    mlp: fmlp.MLP, p: Params, x: Array, y: Targets, loss: Loss
) -> tuple[float, list[tuple[Array, Array]]]:
    # Textbook backprop through the public Activation protocol, fresh arrays throughout.
    inputs, pre = [], []
    a = x
    for i, layer in enumerate(p.layers):
        inputs.append(a)
        z = a @ layer.weights
        if mlp.bias:
            z = z + layer.bias
        pre.append(z)
        a = mlp.activation(i)(z)
    value, delta = loss.value_and_grad(a, y)
    out: list[tuple[Array, Array]] = []
    for i in range(len(p.layers) - 1, -1, -1):
        act: Activation = mlp.activation(i)
        if not isinstance(act, Identity):
            delta = delta * act.derivative(pre[i])
        bias: Array = delta.sum(axis=0) if mlp.bias else np.zeros(delta.shape[1], delta.dtype)
        d_weights: Array = inputs[i].T @ delta
        out.append((d_weights, bias))
        if i > 0:
            delta = delta @ p.layers[i].weights.T
    return value, out[::-1]


def _flat_twin(tree: Params) -> Params:
    buffer, shapes = as_flat(tree)
    return tree_from_flat(buffer, shapes, Params)


def _assert_bits(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes(), f"{a} != {b}"


@settings(max_examples=30)
@given(st.data())
def test_backprop_equals_the_textbook_computation_bit_for_bit(data: st.DataObject) -> None:
    mlp = data.draw(architectures(output=activations()))
    p = data.draw(params(mlp))
    batch = data.draw(batches(mlp, dtype=p.dtype))
    loss = fmlp.SquaredError()
    x_before, weights_before = batch.x.copy(), [a.copy() for a in p.arrays()]
    value, g = value_and_grad_unchecked(mlp, p, batch.x, batch.y, loss)
    ref_value, ref = _reference_value_and_grad(mlp, p, batch.x, batch.y, loss)
    assert value == ref_value
    for layer, (gw, gb) in zip(g.layers, ref, strict=True):
        _assert_bits(layer.weights, gw)
        _assert_bits(layer.bias, gb)
    # Nothing the caller passed was written (batch and parameters are unchanged).
    _assert_bits(batch.x, x_before)
    for a, before in zip(p.arrays(), weights_before, strict=True):
        _assert_bits(a, before)


@settings(max_examples=30)
@given(st.data())
def test_flat_and_per_array_momentum_agree_bit_for_bit(data: st.DataObject) -> None:
    mlp = data.draw(architectures())
    p = data.draw(params(mlp))
    v = data.draw(grads_like(p))
    g = data.draw(grads_like(p))
    lr = data.draw(st.floats(0.0, 1.0))
    m = data.draw(st.floats(0.0, 0.99))
    state = fmlp.MomentumState(v)
    # The public constructor gives trees without a flat buffer: the per-array path.
    slow_p, slow_s = momentum_step(p, state, g, lr=lr, momentum=m)
    flat_v = tree_from_flat(as_flat(v)[0], v.shapes, Grads)
    flat_g = tree_from_flat(as_flat(g)[0], g.shapes, Grads)
    fast_p, fast_s = momentum_step(
        _flat_twin(p), fmlp.MomentumState(flat_v), flat_g, lr=lr, momentum=m
    )
    for a, b in zip(fast_p.arrays(), slow_p.arrays(), strict=True):
        _assert_bits(a, b)
    for a, b in zip(fast_s.velocity.arrays(), slow_s.velocity.arrays(), strict=True):
        _assert_bits(a, b)
    # And both equal the formula evaluated array by array.
    for w, vel, new_w in zip(p.arrays(), _lerp(v, g, m).arrays(), fast_p.arrays(), strict=True):
        _assert_bits(new_w, w if lr == 0.0 else w + (-lr) * vel)


@settings(max_examples=20)
@given(st.data())
def test_a_training_step_writes_nothing_it_was_given(data: st.DataObject) -> None:
    mlp = data.draw(architectures())
    p = data.draw(params(mlp))
    batch = data.draw(batches(mlp, dtype=p.dtype))
    optimizer = fmlp.Nesterov(momentum=0.9)
    step = fmlp.make_step(mlp, fmlp.SquaredError(), optimizer, fmlp.Constant(0.01))
    state = fmlp.init_state(p, optimizer)
    held = [a.copy() for a in (*state.params.arrays(), *state.opt_state.velocity.arrays())]
    new = step(step(state, batch), batch)
    for a, before in zip(
        (*state.params.arrays(), *state.opt_state.velocity.arrays()), held, strict=True
    ):
        _assert_bits(a, before)
    # Everything handed back is read-only, down to the buffer a view looks into.
    for a in (*new.params.arrays(), *new.opt_state.velocity.arrays()):
        assert not a.flags.writeable
        assert a.base is None or not a.base.flags.writeable


def test_frozen_views_are_kept_and_views_of_writable_arrays_copied() -> None:
    p = fmlp.init(fmlp.MLP((3, 2)), seed=0)
    w = p.layers[0].weights
    assert w.base is not None  # a view into the flat buffer
    assert Layer(w, p.layers[0].bias).weights is w  # safe to keep: nothing can write it
    writable = np.zeros(8)
    layer = Layer(writable[:6].reshape(3, 2), writable[6:])
    assert layer.weights.base is None and not layer.weights.flags.writeable
    writable[0] = 5.0
    assert layer.weights[0, 0] == 0.0


def test_copies_drop_the_flat_buffer_but_keep_the_value() -> None:
    p = fmlp.init(fmlp.MLP((3, 4, 2)), seed=0)
    assert p._flat is not None
    for q in (copy.deepcopy(p), pickle.loads(pickle.dumps(p)), Params(p.layers)):
        assert q == p
        assert q._flat is None


def _softmax_ce_reference(pred: Array, labels: npt.NDArray[np.integer]) -> tuple[float, Array]:
    # The plain formulas: log-softmax from the row max, then the picked entries.
    n = pred.shape[0]
    shifted = pred - pred.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    grad = np.exp(log_p)
    rows = np.arange(n)
    value = -float(log_p[rows, labels].sum())
    grad[rows, labels] -= 1.0
    grad *= 1.0 / n
    return value / n, grad


@settings(max_examples=20)
@given(st.data())
def test_softmax_cross_entropy_equals_the_plain_formulas_bit_for_bit(data: st.DataObject) -> None:
    mlp = data.draw(architectures())
    dtype = data.draw(float_dtypes())
    batch = data.draw(classification_batches(mlp, dtype=dtype))
    labels = batch.y.astype(data.draw(st.sampled_from([np.int64, np.int32, np.uint8])))
    pred = batch.x @ np.ones((mlp.n_inputs, mlp.n_outputs), dtype)
    value, grad = fmlp.SoftmaxCrossEntropy().value_and_grad(pred, labels)
    ref_value, ref_grad = _softmax_ce_reference(pred, labels)
    assert value == ref_value
    _assert_bits(grad, ref_grad)


def test_a_flat_tree_builds_its_layers_on_first_use() -> None:
    p = fmlp.init(fmlp.MLP((3, 4, 2)), seed=0)
    assert p._flat is not None and "layers" not in vars(p)
    assert p.dtype == np.float64 and p.shapes == ((3, 4), (4, 2))
    layers = p.layers
    assert p.layers is layers  # built once, then kept
    assert all(a.base is p._flat[0] and not a.flags.writeable for a in p.arrays())
    assert p == Params(tuple(Layer(a.weights.copy(), a.bias.copy()) for a in layers))
    assert not hasattr(p, "weights")


@settings(max_examples=20)
@given(st.data())
def test_the_flat_nesterov_lookahead_equals_the_per_array_one_bit_for_bit(
    data: st.DataObject,
) -> None:
    mlp = data.draw(architectures())
    p = data.draw(params(mlp))
    v = data.draw(grads_like(p))
    lr = data.draw(st.floats(0.0, 1.0))
    m = data.draw(st.floats(0.0, 0.99))
    forms: list[Lookahead] = ["sutskever", "tutorial"]
    form = data.draw(st.sampled_from(forms))
    flat_p = _flat_twin(p)
    flat_v = tree_from_flat(as_flat(v)[0], v.shapes, Grads)
    fast = fmlp.Nesterov(momentum=m, lookahead_form=form).lookahead(
        flat_p, fmlp.MomentumState(flat_v), lr
    )
    # The public constructor gives trees without a flat buffer: the per-array path.
    slow = fmlp.nesterov_lookahead(
        Params(p.layers), fmlp.MomentumState(Grads(v.layers)), lr=lr, momentum=m, lookahead=form
    )
    for a, b in zip(fast.arrays(), slow.arrays(), strict=True):
        _assert_bits(a, b)
        assert not a.flags.writeable
