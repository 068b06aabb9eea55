"""Laws of fmlp.losses: each docstring formula, stability, label forms, purity, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from purity import check_pure

import fmlp
from fmlp.losses import (
    AbsoluteError,
    BinaryCrossEntropy,
    Huber,
    LogCosh,
    Loss,
    SoftmaxCrossEntropy,
    SquaredError,
    Targets,
    regression_targets,
)
from fmlp.records import Array
from fmlp.testing import arrays, float_dtypes

F64 = np.dtype(np.float64)

shapes = st.tuples(st.integers(1, 5), st.integers(1, 4))


@st.composite
def pairs(
    draw: st.DrawFn, dtype: np.dtype[np.floating] = F64, bound: float = 5.0
) -> tuple[Array, Array]:
    shape = draw(shapes)
    return draw(arrays(shape, dtype, bound=bound)), draw(arrays(shape, dtype, bound=bound))


@st.composite
def logits_and_labels(draw: st.DrawFn, bound: float = 10.0) -> tuple[Array, Array]:
    n, k = draw(shapes)
    z = draw(arrays((n, k), F64, bound=bound))
    return z, draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1)))


def reference_elementwise(loss: Loss, r: float) -> tuple[float, float]:
    """ℓ(r) and ℓ'(r) of each regression docstring, one Python float at a time."""
    if isinstance(loss, SquaredError):
        return r**2, 2 * r
    if isinstance(loss, AbsoluteError):
        return abs(r), (r > 0) - (r < 0)
    if isinstance(loss, Huber):
        d = loss.delta
        if abs(r) <= d:
            return r * r / 2, r
        return d * (abs(r) - d / 2), math.copysign(d, r)
    if isinstance(loss, LogCosh):
        return math.log(math.cosh(r)), math.tanh(r)
    raise AssertionError(loss)


REGRESSION = [
    SquaredError(),
    SquaredError(reduction="sum"),
    AbsoluteError(),
    AbsoluteError(reduction="sum"),
    Huber(delta=1.0),
    Huber(delta=0.3, reduction="sum"),
    LogCosh(),
    LogCosh(reduction="sum"),
]


@pytest.mark.parametrize("loss", REGRESSION, ids=repr)
@given(pairs())
def test_regression_loss_is_its_docstring_formula(loss: Loss, pair: tuple[Array, Array]) -> None:
    pred, target = pair
    refs = [
        reference_elementwise(loss, float(p) - float(t))
        for p, t in zip(pred.ravel(), target.ravel(), strict=True)
    ]
    values = np.array([v for v, _ in refs])
    grads = np.array([g for _, g in refs]).reshape(pred.shape)
    scale = 1.0 if loss.reduction == "sum" else 1.0 / pred.size  # type: ignore[attr-defined]
    value, grad = loss.value_and_grad(pred, target)
    assert math.isclose(value, values.sum() * scale, rel_tol=1e-12, abs_tol=1e-12)
    np.testing.assert_allclose(grad, grads * scale, rtol=1e-12, atol=1e-15)


@given(pairs())
def test_sum_reduction_is_n_times_the_mean(pair: tuple[Array, Array]) -> None:
    pred, target = pair
    for mean, total in [
        (SquaredError(), SquaredError(reduction="sum")),
        (LogCosh(), LogCosh(reduction="sum")),
    ]:
        v_mean, g_mean = mean.value_and_grad(pred, target)
        v_sum, g_sum = total.value_and_grad(pred, target)
        assert math.isclose(v_sum, v_mean * pred.size, rel_tol=1e-12, abs_tol=1e-12)
        np.testing.assert_allclose(g_sum, g_mean * pred.size, rtol=1e-12, atol=1e-15)


def log_softmax_reference(z: Array) -> Array:
    # Naive, valid for |z| <= 10: log(e^z / Σ e^z).
    e = np.exp(z)
    out: Array = np.log(e / e.sum(axis=1, keepdims=True))
    return out


@given(logits_and_labels())
def test_softmax_cross_entropy_is_its_docstring_formula(data: tuple[Array, Array]) -> None:
    z, labels = data
    n, k = z.shape
    one_hot = np.eye(k)[labels]
    log_p = log_softmax_reference(z)
    expected = -np.mean([log_p[i, labels[i]] for i in range(n)])
    expected_grad = (np.exp(log_p) - one_hot) / n
    value, grad = SoftmaxCrossEntropy().value_and_grad(z, labels)
    assert math.isclose(value, expected, rel_tol=1e-10, abs_tol=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-14)


@given(logits_and_labels(bound=1e4))
def test_integer_labels_and_one_hot_give_the_same_loss_and_gradient(
    data: tuple[Array, Array],
) -> None:
    z, labels = data
    one_hot = np.eye(z.shape[1])[labels]
    loss = SoftmaxCrossEntropy()
    v_labels, g_labels = loss.value_and_grad(z, labels)
    v_one_hot, g_one_hot = loss.value_and_grad(z, one_hot)
    assert math.isclose(v_labels, v_one_hot, rel_tol=1e-12, abs_tol=1e-12)
    # softmax − Y is the same subtraction entry by entry: bit-identical.
    assert np.array_equal(g_labels, g_one_hot)


@given(pairs(bound=10.0))
def test_binary_cross_entropy_is_its_docstring_formula(pair: tuple[Array, Array]) -> None:
    z, t_raw = pair
    t = np.abs(t_raw) / 10.0  # targets in [0, 1]
    s = 1.0 / (1.0 + np.exp(-z))
    expected = np.mean(-(t * np.log(s) + (1 - t) * np.log(1 - s)))
    value, grad = BinaryCrossEntropy().value_and_grad(z, t)
    assert math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-12)
    np.testing.assert_allclose(grad, (s - t) / z.size, rtol=1e-10, atol=1e-15)


@given(float_dtypes(), st.sampled_from([1e4, -1e4]), st.integers(0, 2))
def test_classification_losses_stay_finite_for_huge_logits(
    dtype: np.dtype[np.floating], big: float, label: int
) -> None:
    z = np.array([[big, -big, 0.0]], dtype=dtype)
    value, grad = SoftmaxCrossEntropy().value_and_grad(z, np.array([label]))
    # −log softmax(z)_label = max(z) − z_label (the other terms vanish at this scale).
    assert value == pytest.approx(float(z.max() - z[0, label]), abs=1.0)
    assert grad.dtype == dtype and np.all(np.isfinite(grad))
    value, grad = BinaryCrossEntropy().value_and_grad(z, np.array([[1.0, 0.0, 1.0]], dtype))
    # ℓ(z, 1) = log(1 + e^(−z)), ℓ(z, 0) = log(1 + e^z): ≈ |z| on the wrong side, else ≈ 0.
    assert value == pytest.approx((max(-big, 0.0) + max(-big, 0.0) + math.log(2)) / 3, rel=1e-3)
    assert grad.dtype == dtype and np.all(np.isfinite(grad))


@pytest.mark.parametrize("loss", [*REGRESSION, BinaryCrossEntropy()], ids=repr)
@given(st.data())
def test_losses_keep_dtype_and_are_pure(loss: Loss, data: st.DataObject) -> None:
    dtype = data.draw(float_dtypes())
    pred, target = data.draw(pairs(dtype, bound=2.0))
    if isinstance(loss, BinaryCrossEntropy):
        target = np.abs(target) / 2.0
    value, grad = check_pure(loss.value_and_grad, pred, target)
    assert isinstance(value, float)
    assert grad.dtype == dtype and grad.shape == pred.shape


@given(logits_and_labels())
def test_softmax_cross_entropy_is_pure(data: tuple[Array, Array]) -> None:
    z, labels = data
    check_pure(SoftmaxCrossEntropy().value_and_grad, z, labels)
    check_pure(SoftmaxCrossEntropy().value_and_grad, z, np.eye(z.shape[1])[labels])
    check_pure(SoftmaxCrossEntropy().prepare_targets, labels, n_outputs=z.shape[1], dtype=F64)


def test_prepare_targets_converts_and_refuses_with_clear_errors() -> None:
    y = SquaredError().prepare_targets([1, 2, 3], n_outputs=1, dtype=F64)
    assert y.shape == (3, 1) and y.dtype == F64
    with pytest.raises(ValueError, match=r"y must have shape \(n, 2\) to match"):
        SquaredError().prepare_targets(np.zeros((3, 3)), n_outputs=2, dtype=F64)
    with pytest.raises(ValueError, match="y must be finite"):
        SquaredError().prepare_targets(np.array([[np.nan]]), n_outputs=1, dtype=F64)
    ce = SoftmaxCrossEntropy()
    assert ce.prepare_targets([0, 2], n_outputs=3, dtype=F64).dtype == np.int64
    with pytest.raises(ValueError, match=r"class labels in \[0, 3\), got values from 0 to 3"):
        ce.prepare_targets([0, 3], n_outputs=3, dtype=F64)
    with pytest.raises(ValueError, match="must hold class probabilities"):
        ce.prepare_targets(np.array([[0.5, 0.6]]), n_outputs=2, dtype=F64)
    with pytest.raises(ValueError, match="must hold class probabilities"):
        ce.prepare_targets(np.array([[1.5, -0.5]]), n_outputs=2, dtype=F64)
    with pytest.raises(ValueError, match=r"targets in \[0, 1\] for binary cross-entropy"):
        BinaryCrossEntropy().prepare_targets(np.array([[2.0]]), n_outputs=1, dtype=F64)


@pytest.mark.parametrize("delta", [0.0, -1.0, math.inf, math.nan])
def test_huber_refuses_a_non_positive_delta(delta: float) -> None:
    with pytest.raises(ValueError, match="delta must be a finite number"):
        Huber(delta=delta)


def test_reduction_must_be_mean_or_sum() -> None:
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum', got 'max'"):
        SquaredError(reduction="max")  # type: ignore[arg-type]


def test_losses_satisfy_the_protocol() -> None:
    for loss in [*REGRESSION, SoftmaxCrossEntropy(), BinaryCrossEntropy()]:
        assert isinstance(loss, Loss)


class QuarticError:
    """A user's own loss, written without subclassing: ``L = mean(r⁴)``, ``∂L/∂ŷ = 4r³/(n·k)``."""

    def value_and_grad(self, pred: Array, target: Targets) -> tuple[float, Array]:
        r = pred - target.astype(pred.dtype, copy=False)
        return float((r**4).mean()), 4.0 * r**3 / r.size

    def prepare_targets(
        self, y: object, *, n_outputs: int, dtype: np.dtype[np.floating]
    ) -> Targets:
        return regression_targets(y, n_outputs, dtype)


def test_a_user_written_loss_goes_anywhere_a_built_in_goes() -> None:
    loss: Loss = QuarticError()
    assert isinstance(loss, Loss)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    mlp = fmlp.MLP((3, 4, 2), hidden=fmlp.tanh)
    params = fmlp.init(mlp, seed=0)
    value, grads = fmlp.value_and_grad(mlp, params, x, y, loss)
    assert value == pytest.approx(fmlp.evaluate(mlp, params, x, y, loss))
    # The gradient it induces is exact, by central differences on one weight.
    h = 1e-6
    w = params.layers[0].weights.copy()
    bumped = []
    for sign in (1.0, -1.0):
        w2 = w.copy()
        w2[1, 2] += sign * h
        p2 = fmlp.Params((fmlp.Layer(w2, params.layers[0].bias), params.layers[1]))
        bumped.append(fmlp.evaluate(mlp, p2, x, y, loss))
    numeric = (bumped[0] - bumped[1]) / (2 * h)
    assert grads.layers[0].weights[1, 2] == pytest.approx(numeric, rel=1e-6, abs=1e-9)
    # And it trains through make_step, fold and train like a built-in.
    states = list(
        fmlp.train(
            mlp,
            params,
            x,
            y,
            loss=loss,
            optimizer=fmlp.SGD(),
            schedule=fmlp.Constant(0.05),
            epochs=30,
        )
    )
    assert states[-1].loss < states[0].loss
    with pytest.raises(ValueError, match="y must have shape"):
        fmlp.value_and_grad(mlp, params, x, y[:, :1], loss)
