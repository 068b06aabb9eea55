"""Numerical robustness: huge logits and pre-activations stay finite and never warn.

conftest.py turns numpy's overflow, invalid and divide-by-zero into errors and
pytest turns every warning into an error, so "no warning" is checked by simply
running the computation.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fmlp

DTYPES = [np.dtype(np.float32), np.dtype(np.float64)]
BIG = [1e4, 1e8]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("big", BIG)
def test_softmax_cross_entropy_is_finite_and_right_for_huge_logits(
    dtype: np.dtype[np.floating], big: float
) -> None:
    logits = np.array([[big, -big, 0.0], [-big, big, 0.0]], dtype=dtype)
    right = np.array([0, 1])
    wrong = np.array([1, 2])
    loss = fmlp.SoftmaxCrossEntropy()
    value, grad = loss.value_and_grad(logits, right)
    assert value == 0.0 and grad.dtype == dtype
    assert np.all(np.isfinite(grad)) and np.allclose(grad, 0.0, atol=1e-12)
    # Confidently wrong: the loss is the logit gap, mean over the two rows.
    value, grad = loss.value_and_grad(logits, wrong)
    assert value == pytest.approx((2 * big + big) / 2, rel=1e-6)
    assert np.all(np.isfinite(grad)) and np.all(np.abs(grad) <= 0.5 + 1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("big", BIG)
def test_binary_cross_entropy_is_finite_and_right_for_huge_logits(
    dtype: np.dtype[np.floating], big: float
) -> None:
    logits = np.array([[big], [-big], [big], [-big]], dtype=dtype)
    targets = np.array([[1.0], [0.0], [0.0], [1.0]], dtype=dtype)
    value, grad = fmlp.BinaryCrossEntropy().value_and_grad(logits, targets)
    # Two right (loss 0) and two wrong by |z| each: mean = big / 2.
    assert value == pytest.approx(big / 2, rel=1e-6)
    assert grad.dtype == dtype and np.all(np.isfinite(grad))
    assert np.allclose(grad.ravel(), [0.0, 0.0, 0.25, -0.25])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "act", [fmlp.tanh, fmlp.sigmoid, fmlp.softplus, fmlp.relu, fmlp.leaky_relu(0.1)]
)
def test_activations_do_not_overflow_for_huge_inputs(
    dtype: np.dtype[np.floating], act: fmlp.Activation
) -> None:
    z = np.array([-1e30, -1e4, -710.0, -89.0, 0.0, 89.0, 710.0, 1e4, 1e30], dtype=dtype)
    value, slope = act(z), act.derivative(z)
    assert value.dtype == dtype and slope.dtype == dtype
    assert np.all(np.isfinite(slope)) and np.all((slope >= 0) & (slope <= 1))
    assert np.all(np.isfinite(value))
    far = np.abs(z) >= 1e4
    if act in (fmlp.tanh, fmlp.sigmoid):
        # Saturated exactly: tanh → ±1, sigmoid → 0 or 1.
        low = -1.0 if act is fmlp.tanh else 0.0
        assert np.array_equal(value[far], np.where(z[far] > 0, 1.0, low).astype(dtype))
    else:
        # The unbounded ones equal their asymptote exactly: max(z, 0), or slope·z below 0.
        slope_below = 0.1 if act.name.startswith("leaky") else 0.0
        expected = np.where(z[far] > 0, z[far], dtype.type(slope_below) * z[far])
        assert np.array_equal(value[far], expected.astype(dtype))


@settings(max_examples=30)
@given(
    z=st.lists(st.floats(-1e4, 1e4, allow_subnormal=False), min_size=1, max_size=8),
    dtype=st.sampled_from(DTYPES),
)
def test_sigmoid_and_softplus_stay_consistent_for_any_input(
    z: list[float], dtype: np.dtype[np.floating]
) -> None:
    arr = np.array(z, dtype=dtype)
    s, sp = fmlp.sigmoid(arr), fmlp.softplus(arr)
    # softplus(z) − softplus(−z) = z and sigmoid(z) + sigmoid(−z) = 1, with no overflow.
    assert np.allclose(sp - fmlp.softplus(-arr), arr, rtol=1e-5, atol=1e-5)
    assert np.allclose(s + fmlp.sigmoid(-arr), 1.0, atol=1e-6)
    assert np.array_equal(fmlp.softplus.derivative(arr), s)


@pytest.mark.parametrize("dtype", DTYPES)
def test_backprop_through_saturated_units_is_finite(dtype: np.dtype[np.floating]) -> None:
    # Inputs so large that every hidden unit saturates and the logits reach ~1e4.
    mlp = fmlp.MLP((3, 4, 2), hidden=fmlp.tanh)
    params = fmlp.Params(
        (
            fmlp.Layer(np.full((3, 4), 100.0, dtype), np.zeros(4, dtype)),
            fmlp.Layer(np.array([[2500.0, -2500.0]] * 4, dtype), np.zeros(2, dtype)),
        )
    )
    x = np.array([[1e3, -1e3, 5e2], [-1e3, 1e3, 0.0]], dtype)
    cases: list[tuple[fmlp.Loss, np.ndarray]] = [
        (fmlp.SoftmaxCrossEntropy(), np.array([1, 0])),
        (fmlp.BinaryCrossEntropy(), np.array([[1.0, 0.0], [0.0, 1.0]])),
        (fmlp.LogCosh(), np.zeros((2, 2))),
    ]
    for loss, y in cases:
        value, grads = fmlp.value_and_grad(mlp, params, x, y, loss)
        assert np.isfinite(value) and grads.dtype == dtype
        assert all(np.all(np.isfinite(a)) for a in grads.arrays())


def test_training_on_badly_scaled_data_emits_no_warning() -> None:
    # Unscaled inputs (~1e3) with saturating activations: a classic source of numpy
    # warnings. Training either runs finite or stops with DivergedError, never warns.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3)) * 1e3
    y = (x[:, 0] > 0).astype(np.int64)
    for hidden in (fmlp.sigmoid, fmlp.tanh, fmlp.softplus):
        mlp = fmlp.MLP((3, 8, 2), hidden=hidden)
        states = fmlp.train(
            mlp,
            fmlp.init(mlp, seed=0, scheme="normal"),
            x,
            y,
            loss=fmlp.SoftmaxCrossEntropy(),
            optimizer=fmlp.Adam(),
            schedule=fmlp.Constant(0.05),
            epochs=5,
            batch_size=8,
            max_norm=10.0,
        )
        last = list(states)[-1]
        assert np.isfinite(last.loss)
