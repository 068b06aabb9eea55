"""Laws of fmlp.model: exact backpropagation, the forward formula, init, purity, errors."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from purity import budget, check_pure

import fmlp
from fmlp.activations import Activation, LeakyReLU, identity, relu, sigmoid, softplus, tanh
from fmlp.data import Dataset
from fmlp.losses import (
    AbsoluteError,
    BinaryCrossEntropy,
    Huber,
    LogCosh,
    Loss,
    SoftmaxCrossEntropy,
    SquaredError,
)
from fmlp.model import MLP, evaluate, forward, grad, init, value_and_grad
from fmlp.records import Array, Params
from fmlp.testing import (
    architectures,
    arrays,
    batches,
    classification_batches,
    float_dtypes,
    models,
    params,
)

F64 = np.dtype(np.float64)
H = 1e-6
# Pre-activations and residuals stay this far from every kink, so that no
# perturbation of size H crosses one.
MARGIN = 1e-3

ACTIVATIONS: dict[str, st.SearchStrategy[Activation]] = {
    "identity": st.just(identity),
    "relu": st.just(relu),
    "leaky_relu": st.floats(0.0, 0.5).map(LeakyReLU),
    "tanh": st.just(tanh),
    "sigmoid": st.just(sigmoid),
    "softplus": st.just(softplus),
}

BatchFn = Callable[[MLP], st.SearchStrategy[Dataset]]


def regression(mlp: MLP) -> st.SearchStrategy[Dataset]:
    return batches(mlp, dtype=F64, max_rows=4)


def binary(mlp: MLP) -> st.SearchStrategy[Dataset]:
    # Targets in [0, 1], soft as well as hard.
    return regression(mlp).map(lambda b: Dataset(b.x, np.abs(b.y) / 2.0))


LOSSES: dict[str, tuple[Loss, BatchFn]] = {
    "squared": (SquaredError(), regression),
    "squared_sum": (SquaredError(reduction="sum"), regression),
    "absolute": (AbsoluteError(), regression),
    "huber": (Huber(delta=0.5), regression),
    "log_cosh": (LogCosh(), regression),
    "softmax_ce_labels": (
        SoftmaxCrossEntropy(),
        lambda mlp: classification_batches(mlp, dtype=F64, max_rows=4),
    ),
    "softmax_ce_one_hot": (
        SoftmaxCrossEntropy(),
        lambda mlp: classification_batches(mlp, dtype=F64, one_hot=True, max_rows=4),
    ),
    "sigmoid_bce": (BinaryCrossEntropy(), binary),
}


def pre_activations(
    mlp: MLP, weights: list[Array], biases: list[Array], x: Array
) -> tuple[list[Array], Array]:
    """z_1..z_L and a_L, straight from the module docstring's recurrence."""
    zs: list[Array] = []
    a = x
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        z = a @ w + (b if mlp.bias else 0.0)
        zs.append(z)
        a = mlp.activation(i)(z)
    return zs, a


def loss_at(
    mlp: MLP, loss: Loss, weights: list[Array], biases: list[Array], batch: Dataset
) -> float:
    return loss.value_and_grad(pre_activations(mlp, weights, biases, batch.x)[1], batch.y)[0]


def kinked(act: Activation) -> bool:
    return act is relu or isinstance(act, LeakyReLU)


def away_from_kinks(mlp: MLP, p: Params, loss: Loss, batch: Dataset) -> bool:
    weights = [layer.weights for layer in p]
    biases = [layer.bias for layer in p]
    zs, out = pre_activations(mlp, weights, biases, batch.x)
    for i, z in enumerate(zs):
        if kinked(mlp.activation(i)) and np.min(np.abs(z)) < MARGIN:
            return False
    if isinstance(loss, AbsoluteError):
        return bool(np.min(np.abs(out - batch.y)) >= MARGIN)
    if isinstance(loss, Huber):
        return bool(np.min(np.abs(np.abs(out - batch.y) - loss.delta)) >= MARGIN)
    return True


def central_differences(mlp: MLP, p: Params, loss: Loss, batch: Dataset) -> list[Array]:
    """∂loss/∂θ for every entry θ of every array (weights, bias, weights, bias, ...)."""
    weights = [np.array(layer.weights) for layer in p]
    biases = [np.array(layer.bias) for layer in p]
    out = []
    for arrays_ in (weights, biases):
        for a in arrays_:
            d = np.zeros_like(a)
            for idx in np.ndindex(a.shape):
                keep = a[idx]
                a[idx] = keep + H
                up = loss_at(mlp, loss, weights, biases, batch)
                a[idx] = keep - H
                down = loss_at(mlp, loss, weights, biases, batch)
                a[idx] = keep
                d[idx] = (up - down) / (2 * H)
            out.append(d)
    n = len(weights)
    # Reorder to weights_0, bias_0, weights_1, bias_1, ...
    return [out[i // 2 + (i % 2) * n] for i in range(2 * n)]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("loss_name", list(LOSSES))
@pytest.mark.parametrize("act_name", list(ACTIVATIONS))
@budget(8)
@given(data=st.data())
def test_gradient_equals_central_differences(
    act_name: str, loss_name: str, bias: bool, data: st.DataObject
) -> None:
    act = data.draw(ACTIVATIONS[act_name], label="activation")
    loss, batch_strategy = LOSSES[loss_name]
    # The activation is the hidden one, and the output one as well half of the time.
    output = data.draw(st.sampled_from([identity, act]), label="output")
    mlp = data.draw(
        architectures(max_depth=3, max_width=4, hidden=st.just(act), output=st.just(output)),
        label="mlp",
    )
    mlp = MLP(mlp.sizes, hidden=act, output=output, bias=bias)
    p = data.draw(params(mlp, dtype=F64, bound=1.5), label="params")
    batch = data.draw(batch_strategy(mlp), label="batch")
    assume(away_from_kinks(mlp, p, loss, batch))

    value, g = value_and_grad(mlp, p, batch.x, batch.y, loss)
    assert value == loss_at(mlp, loss, [la.weights for la in p], [la.bias for la in p], batch)
    fd = central_differences(mlp, p, loss, batch)
    tol = 1e-8 * (1.0 + abs(value))
    for i, (exact, approx) in enumerate(zip(g.arrays(), fd, strict=True)):
        np.testing.assert_allclose(exact, approx, rtol=1e-6, atol=tol, err_msg=f"array {i}")
    if not bias:
        assert all(not layer.bias.any() for layer in g)


@given(models(), st.integers(1, 5), st.data())
def test_forward_is_the_layer_recurrence(
    model: tuple[MLP, Params], n: int, data: st.DataObject
) -> None:
    mlp, p = model
    x = data.draw(arrays((n, mlp.n_inputs), p.dtype))
    expected = pre_activations(mlp, [la.weights for la in p], [la.bias for la in p], x)[1]
    out = forward(mlp, p, x)
    assert out.dtype == p.dtype
    tol = 1e-5 if p.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)


@given(models(), st.data())
def test_gradient_keeps_dtype_and_structure(model: tuple[MLP, Params], data: st.DataObject) -> None:
    mlp, p = model
    batch = data.draw(batches(mlp, dtype=p.dtype))
    value, g = value_and_grad(mlp, p, batch.x, batch.y, SquaredError())
    assert isinstance(value, float)
    assert isinstance(g, fmlp.Grads)
    assert g.shapes == p.shapes
    assert all(a.dtype == p.dtype for a in g.arrays())


@given(models(), st.data())
def test_model_functions_are_pure_and_consistent(
    model: tuple[MLP, Params], data: st.DataObject
) -> None:
    mlp, p = model
    batch = data.draw(batches(mlp, dtype=p.dtype))
    # Writable caller arrays, as a user would pass them.
    x, y = np.array(batch.x), np.array(batch.y)
    loss = Huber()
    value, g = check_pure(value_and_grad, mlp, p, x, y, loss)
    assert check_pure(grad, mlp, p, x, y, loss) == g
    assert check_pure(evaluate, mlp, p, x, y, loss) == value
    check_pure(forward, mlp, p, x)


@given(architectures(), float_dtypes(), st.integers(0, 2**32))
def test_init_is_a_pure_function_of_the_seed(
    mlp: MLP, dtype: np.dtype[np.floating], seed: int
) -> None:
    p = check_pure(init, mlp, seed=seed, dtype=dtype)
    assert p.dtype == dtype
    assert p.shapes == mlp.layer_shapes
    assert all(not layer.bias.any() for layer in p)
    for (n_in, n_out), layer in zip(mlp.layer_shapes, p, strict=True):
        glorot = np.sqrt(6.0 / (n_in + n_out))
        assert np.all(np.abs(layer.weights) <= dtype.type(glorot))
    he = init(mlp, seed=seed, dtype=dtype, scheme="he")
    for (n_in, _), layer in zip(mlp.layer_shapes, he, strict=True):
        assert np.all(np.abs(layer.weights) <= dtype.type(np.sqrt(6.0 / n_in)))


def test_init_draws_in_float64_and_rounds_to_the_dtype() -> None:
    mlp = MLP((5, 7, 3))
    p64 = init(mlp, seed=3, scheme="normal")
    p32 = init(mlp, seed=3, dtype=np.float32, scheme="normal")
    for a, b in zip(p64.arrays(), p32.arrays(), strict=True):
        assert np.array_equal(a.astype(np.float32), b)
    assert init(mlp, seed=3) != init(mlp, seed=4)


def test_normal_init_is_standard_normal() -> None:
    w = init(MLP((200, 300)), seed=0, scheme="normal").layers[0].weights
    assert abs(w.mean()) < 0.01
    assert abs(w.std() - 1.0) < 0.01


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seed": -1}, ValueError, "seed must be a non-negative integer"),
        ({"seed": 1.5}, TypeError, "seed must be a non-negative integer"),
        ({"seed": 0, "scheme": "lecun"}, ValueError, "scheme must be"),
        ({"seed": 0, "dtype": np.float16}, TypeError, "dtype must be float32 or float64"),
    ],
)
def test_init_refuses_bad_arguments(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        init(MLP((2, 1)), **kwargs)  # type: ignore[arg-type]


def test_bias_false_ignores_the_bias_in_forward() -> None:
    mlp = MLP((2, 1), bias=False)
    p = Params((fmlp.Layer(np.ones((2, 1)), np.full(1, 5.0)),))
    assert np.array_equal(forward(mlp, p, np.ones((1, 2))), np.array([[2.0]]))


@pytest.mark.parametrize(
    ("sizes", "error", "match"),
    [
        ((3,), ValueError, "at least an input and an output"),
        ((3, 0), ValueError, r"sizes\[1\] must be a positive integer"),
        ((3, 2.5), TypeError, r"sizes\[1\] must be a positive integer"),
        (3, TypeError, "sizes must be a tuple"),
    ],
)
def test_mlp_refuses_bad_sizes(sizes: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        MLP(sizes)


def test_mlp_refuses_a_non_activation() -> None:
    with pytest.raises(TypeError, match=r"^hidden must be an Activation"):
        MLP((2, 1), hidden=np.tanh)  # type: ignore[arg-type]


def test_bad_shapes_are_refused_with_the_argument_named() -> None:
    mlp = MLP((3, 2))
    p = init(mlp, seed=0)
    with pytest.raises(ValueError, match="x must have 3 columns"):
        forward(mlp, p, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="params do not match the architecture"):
        forward(MLP((3, 4, 2)), p, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="same number of rows, got 4 and 5"):
        value_and_grad(mlp, p, np.zeros((4, 3)), np.zeros((5, 2)), SquaredError())
    with pytest.raises(ValueError, match=r"y must have shape \(n, 2\)"):
        value_and_grad(mlp, p, np.zeros((4, 3)), np.zeros((4, 3)), SquaredError())
    with pytest.raises(TypeError, match="params must be Params"):
        forward(mlp, p.layers, np.zeros((4, 3)))  # type: ignore[arg-type]


@given(st.data())
def test_a_float32_gradient_is_the_float64_gradient_rounded(data: st.DataObject) -> None:
    # The same network in float32 and float64: a float32 path that lost precision
    # (or computed in another dtype) would drift far beyond float32 rounding.
    mlp = data.draw(architectures(max_depth=3, max_width=4))
    p32 = data.draw(params(mlp, dtype=np.dtype(np.float32), bound=1.5))
    batch = data.draw(batches(mlp, dtype=np.dtype(np.float32), max_rows=4))
    p64 = Params(tuple(fmlp.Layer(la.weights.astype(F64), la.bias.astype(F64)) for la in p32))
    x64, y64 = batch.x.astype(F64), np.asarray(batch.y).astype(F64)
    loss = LogCosh()
    assume(away_from_kinks(mlp, p64, loss, Dataset(x64, y64)))
    v32, g32 = value_and_grad(mlp, p32, batch.x, batch.y, loss)
    v64, g64 = value_and_grad(mlp, p64, x64, y64, loss)
    assert v32 == pytest.approx(v64, rel=1e-4, abs=1e-5)
    scale = max(1.0, *(float(np.max(np.abs(a))) for a in g64.arrays()))
    for a32, a64 in zip(g32.arrays(), g64.arrays(), strict=True):
        assert a32.dtype == np.float32
        np.testing.assert_allclose(a32, a64, rtol=1e-3, atol=1e-4 * scale)
