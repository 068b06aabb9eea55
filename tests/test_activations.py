"""Laws of fmlp.activations: values, exact derivatives, dtype, stability, purity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from purity import check_pure

import fmlp
from fmlp.activations import (
    TUTORIAL_LEAKY_RELU,
    Activation,
    LeakyReLU,
    identity,
    leaky_relu,
    relu,
    sigmoid,
    softplus,
    tanh,
)
from fmlp.records import Array
from fmlp.testing import activations, arrays, float_dtypes

F64 = np.dtype(np.float64)
H = 1e-6


def shapes() -> st.SearchStrategy[tuple[int, ...]]:
    return st.tuples(st.integers(1, 5), st.integers(1, 5))


def away_from_zero(bound: float = 3.0) -> st.SearchStrategy[float]:
    # Entries at least 0.01 from the kink of relu / leaky ReLU at 0.
    return st.floats(0.01, bound) | st.floats(-bound, -0.01)


def reference(act: Activation, z: Array) -> Array:
    """Each docstring formula, computed independently (naively, in float64)."""
    if act is identity:
        return z
    if act is relu:
        return np.where(z > 0, z, 0.0)
    if isinstance(act, LeakyReLU):
        return np.array([v if v > 0 else act.slope * v for v in z.ravel()]).reshape(z.shape)
    if act is tanh:
        out: Array = (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))
        return out
    if act is sigmoid:
        out = 1.0 / (1.0 + np.exp(-z))
        return out
    if act is softplus:
        out = np.log(1.0 + np.exp(z))
        return out
    raise AssertionError(f"no reference for {act!r}")


@given(activations(), shapes().flatmap(lambda s: arrays(s, F64, bound=5.0)))
def test_value_matches_the_docstring_formula(act: Activation, z: np.ndarray) -> None:
    np.testing.assert_allclose(act(z), reference(act, z), rtol=1e-12, atol=1e-15)


@given(activations(), shapes().flatmap(lambda s: arrays(s, F64, bound=5.0)))
def test_derivative_matches_central_differences(act: Activation, z: np.ndarray) -> None:
    fd = (act(z + H) - act(z - H)) / (2 * H)
    # At the kink (|z| < h for relu and leaky ReLU) the derivative is a convention.
    smooth = np.abs(z) > 10 * H
    np.testing.assert_allclose(act.derivative(z)[smooth], fd[smooth], rtol=1e-6, atol=1e-8)


def test_derivative_at_the_kink_is_the_documented_convention() -> None:
    zero = np.zeros(3)
    assert np.array_equal(relu.derivative(zero), np.zeros(3))
    assert np.array_equal(LeakyReLU(0.2).derivative(zero), np.full(3, 0.2))


@given(
    st.floats(0.0, 0.5).map(LeakyReLU),
    shapes().flatmap(lambda s: arrays(s, F64, bound=5.0)),
)
def test_leaky_relu_equals_the_tutorials_max_form(act: LeakyReLU, z: np.ndarray) -> None:
    assert np.array_equal(act(z), np.maximum(z, act.slope * z))


@given(st.data())
def test_tutorial_leaky_backward_is_wrong_and_ours_is_exact(data: st.DataObject) -> None:
    # Back-propagate an upstream gradient g through f = leaky ReLU(0.1) at z.
    n = data.draw(st.integers(1, 6))
    z = np.array(data.draw(st.lists(away_from_zero(), min_size=n, max_size=n)))
    g = np.array(data.draw(st.lists(away_from_zero(), min_size=n, max_size=n)))
    # Somewhere the signs of the pre-activation and of the gradient differ.
    assume(np.any(np.sign(z) != np.sign(g)))
    act = TUTORIAL_LEAKY_RELU
    # d/dz Σ g·f(z) by central differences, entry by entry.
    fd = g * (act(z + H) - act(z - H)) / (2 * H)
    ours = g * act.derivative(z)
    tutorial = np.where(g > 0, g, 0.1 * g)
    np.testing.assert_allclose(ours, fd, rtol=1e-7, atol=1e-9)
    wrong = np.sign(z) != np.sign(g)
    # Exactly where the signs differ, the tutorial's rule is off by 0.9·|g|.
    assert np.all(np.abs(tutorial - fd)[wrong] > 0.5 * np.abs(g)[wrong])
    np.testing.assert_allclose(tutorial[~wrong], fd[~wrong], rtol=1e-7, atol=1e-9)


@given(activations(), float_dtypes(), shapes())
def test_value_and_derivative_keep_dtype_and_shape(
    act: Activation, dtype: np.dtype[np.floating], shape: tuple[int, ...]
) -> None:
    z = np.linspace(-3, 3, int(np.prod(shape))).reshape(shape).astype(dtype)
    for out in (act(z), act.derivative(z)):
        assert out.dtype == dtype
        assert out.shape == shape


@given(activations(), float_dtypes())
def test_huge_inputs_stay_finite(act: Activation, dtype: np.dtype[np.floating]) -> None:
    # conftest turns any overflow / invalid operation into an error.
    z = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype)
    assert np.all(np.isfinite(act(z)))
    assert np.all(np.isfinite(act.derivative(z)))
    d = act.derivative(z)
    assert np.all(d >= 0)  # every built-in activation is non-decreasing


@given(activations(), shapes().flatmap(lambda s: arrays(s, F64)))
def test_activations_are_pure(act: Activation, z: np.ndarray) -> None:
    check_pure(act, z)
    check_pure(act.derivative, z)


def test_built_ins_satisfy_the_protocol_and_have_names() -> None:
    names = [a.name for a in (identity, relu, tanh, sigmoid, softplus)]
    assert names == ["identity", "relu", "tanh", "sigmoid", "softplus"]
    assert leaky_relu(0.25) == LeakyReLU(0.25)
    assert leaky_relu(0.25).name == "leaky_relu(0.25)"
    assert TUTORIAL_LEAKY_RELU.slope == 0.1
    for act in (identity, relu, tanh, sigmoid, softplus, leaky_relu()):
        assert isinstance(act, fmlp.Activation)


@pytest.mark.parametrize("slope", [-0.1, 1.0, 2.0, float("nan")])
def test_leaky_relu_refuses_a_slope_outside_0_1(slope: float) -> None:
    with pytest.raises(ValueError, match="slope must be a finite number in"):
        LeakyReLU(slope)
