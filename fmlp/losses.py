"""Loss functions: the mean loss and its gradient with respect to the network output.

A loss is anything with the two methods of the ``Loss`` protocol:

* ``value_and_grad(pred, target) -> (loss, dloss/dpred)`` — pure, keeps ``pred``'s dtype;
* ``prepare_targets(y, n_outputs=..., dtype=...)`` — checks and converts a caller's
  targets once, at the API boundary (so the hot step need not).

Regression losses act on the residual ``r = ŷ − y`` entry by entry and, by
default, average over all ``n·k`` entries (``reduction="sum"`` sums instead,
which is what the tutorial minimises). Classification losses take logits (use
the identity output activation) and are computed with the log-sum-exp trick,
so they stay finite for logits of any size.
"""

from __future__ import annotations

from typing import Literal, Protocol, TypeAlias, runtime_checkable

import attrs
import numpy as np

from fmlp.checks import as_float_array, as_labels, check_float, real_to_float
from fmlp.records import Array, Labels

__all__ = [
    "AbsoluteError",
    "BinaryCrossEntropy",
    "Huber",
    "LogCosh",
    "Loss",
    "SoftmaxCrossEntropy",
    "SquaredError",
    "Targets",
    "regression_targets",
]

#: Float targets shaped like the output, or integer class labels.
Targets: TypeAlias = Array | Labels

Reduction: TypeAlias = Literal["mean", "sum"]


@runtime_checkable
class Loss(Protocol):
    """A differentiable loss of the network output ``pred`` (shape ``(n, k)``)."""

    def value_and_grad(self, pred: Array, target: Targets) -> tuple[float, Array]:
        """The loss (a Python float) and its gradient with respect to ``pred``."""
        ...

    def prepare_targets(
        self, y: object, *, n_outputs: int, dtype: np.dtype[np.floating]
    ) -> Targets:
        """Check ``y`` for this loss and convert it (refusing bad input with a clear error)."""
        ...


def regression_targets(y: object, n_outputs: int, dtype: np.dtype[np.floating]) -> Array:
    """Float targets of shape ``(n, n_outputs)`` in ``dtype``, checked (finite, non-empty).

    A 1-D ``y`` is accepted for a single output. Your own regression loss can
    implement ``prepare_targets`` by returning this.

    >>> import numpy as np
    >>> regression_targets([1, 2, 3], 1, np.dtype(np.float32)).shape
    (3, 1)
    """
    arr = as_float_array("y", y, dtype=dtype)
    if arr.ndim == 1 and n_outputs == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != n_outputs:
        raise ValueError(
            f"y must have shape (n, {n_outputs}) to match the network's {n_outputs} outputs, "
            f"got {arr.shape}"
        )
    return arr


def _check_reduction(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {value!r}")


@attrs.frozen
class _Residual:
    """Base for losses of the residual ``r = ŷ − y``: ``L = reduce_i ℓ(r_i)``."""

    reduction: Reduction = attrs.field(default="mean", validator=_check_reduction, kw_only=True)

    def _elementwise(self, r: Array) -> tuple[Array, Array]:
        raise NotImplementedError

    def value_and_grad(self, pred: Array, target: Targets) -> tuple[float, Array]:
        r = pred - target.astype(pred.dtype, copy=False)
        values, grads = self._elementwise(r)
        if self.reduction == "sum":
            return float(values.sum()), grads
        scale = 1.0 / r.size
        return float(values.sum()) * scale, grads * scale

    def prepare_targets(
        self, y: object, *, n_outputs: int, dtype: np.dtype[np.floating]
    ) -> Targets:
        return regression_targets(y, n_outputs, dtype)


@attrs.frozen
class SquaredError(_Residual):
    """``ℓ(r) = r²``, ``ℓ'(r) = 2r``; mean over all entries (or the sum).

    >>> import numpy as np
    >>> SquaredError().value_and_grad(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    (2.5, array([[1., 2.]]))
    """

    def _elementwise(self, r: Array) -> tuple[Array, Array]:
        return r * r, 2.0 * r


@attrs.frozen
class AbsoluteError(_Residual):
    """``ℓ(r) = |r|``, ``ℓ'(r) = sign(r)`` (0 at r = 0).

    >>> import numpy as np
    >>> AbsoluteError().value_and_grad(np.array([[1.0, -3.0]]), np.array([[0.0, 0.0]]))
    (2.0, array([[ 0.5, -0.5]]))
    """

    def _elementwise(self, r: Array) -> tuple[Array, Array]:
        return np.abs(r), np.sign(r)


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    check_float(attribute.name, value, low=0.0, low_open=True)


@attrs.frozen
class Huber(_Residual):
    """``ℓ(r) = r²/2`` if ``|r| ≤ δ`` else ``δ·(|r| − δ/2)``; ``ℓ'(r) = clip(r, −δ, δ)``.

    >>> import numpy as np
    >>> Huber(delta=1.0).value_and_grad(np.array([[0.5, 3.0]]), np.array([[0.0, 0.0]]))
    (1.3125, array([[0.25, 0.5 ]]))
    """

    delta: float = attrs.field(default=1.0, converter=real_to_float, validator=_positive)

    def _elementwise(self, r: Array) -> tuple[Array, Array]:
        a = np.abs(r)
        d = self.delta
        values = np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
        return values, np.clip(r, -d, d)


@attrs.frozen
class LogCosh(_Residual):
    """``ℓ(r) = log(cosh(r))``, ``ℓ'(r) = tanh(r)``; stable as ``|r| + log1p(e^(−2|r|)) − log 2``.

    >>> import numpy as np
    >>> LogCosh().value_and_grad(np.array([[0.0]]), np.array([[0.0]]))
    (0.0, array([[0.]]))
    """

    def _elementwise(self, r: Array) -> tuple[Array, Array]:
        a = np.abs(r)
        values = a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0).astype(r.dtype)
        return values, np.tanh(r)


@attrs.frozen
class SoftmaxCrossEntropy:
    """Softmax cross-entropy of logits ``z`` (shape ``(n, k)``), mean over the n samples.

    ``L = (1/n) Σ_i [logsumexp(z_i) − Σ_j y_ij·z_ij]``, ``∂L/∂z = (softmax(z) − Y)/n``,
    where ``Y`` is one-hot for integer labels (shape ``(n,)``) or the given
    probabilities (shape ``(n, k)``, rows summing to 1).

    >>> import numpy as np
    >>> loss, g = SoftmaxCrossEntropy().value_and_grad(np.zeros((1, 2)), np.array([1]))
    >>> round(loss, 6), g
    (0.693147, array([[ 0.5, -0.5]]))
    """

    def value_and_grad(self, pred: Array, target: Targets) -> tuple[float, Array]:
        n, k = pred.shape
        # log_softmax(z) = (z − max z) − log Σ exp(z − max z), row by row, written into two
        # arrays made here (fewer temporaries, issue 6).
        log_p: Array = np.subtract(pred, np.maximum.reduce(pred, axis=1, keepdims=True))
        grad: Array = np.exp(log_p)
        log_sum: Array = np.add.reduce(grad, axis=1, keepdims=True)
        np.log(log_sum, out=log_sum)
        log_p -= log_sum
        np.exp(log_p, out=grad)
        if target.ndim == 1:
            # Entry (i, target_i) sits at i·k + target_i of the flattened rows.
            picks = np.arange(0, n * k, k)
            # (unsigned labels would not add into int64 in place)
            picks += target if target.dtype.kind == "i" else target.astype(np.intp)
            value = -float(np.add.reduce(log_p.reshape(-1).take(picks)))
            grad.reshape(-1)[picks] -= 1.0
        else:
            t = target.astype(pred.dtype, copy=False)
            value = -float((t * log_p).sum())
            grad -= t
        grad *= 1.0 / n
        return value / n, grad

    def prepare_targets(
        self, y: object, *, n_outputs: int, dtype: np.dtype[np.floating]
    ) -> Targets:
        arr = np.asarray(y) if not isinstance(y, np.ndarray) else y
        if arr.ndim == 1:
            return as_labels("y", arr, n_classes=n_outputs)
        probs = regression_targets(arr, n_outputs, dtype)
        if np.any(probs < 0) or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-5):
            raise ValueError(
                "y as a 2-D array must hold class probabilities (one-hot or rows of "
                "non-negative numbers summing to 1); got rows that do not"
            )
        return probs


@attrs.frozen
class BinaryCrossEntropy:
    """Sigmoid binary cross-entropy of logits ``z`` against targets ``t ∈ [0, 1]``.

    ``ℓ(z, t) = max(z, 0) − z·t + log1p(e^(−|z|))`` (stable), mean over all
    entries; ``∂L/∂z = (sigmoid(z) − t)/(n·k)``.

    >>> import numpy as np
    >>> loss, g = BinaryCrossEntropy().value_and_grad(np.zeros((1, 1)), np.ones((1, 1)))
    >>> round(loss, 6), g
    (0.693147, array([[-0.5]]))
    """

    def value_and_grad(self, pred: Array, target: Targets) -> tuple[float, Array]:
        t = target.astype(pred.dtype, copy=False)
        e = np.exp(-np.abs(pred))
        values = np.maximum(pred, 0.0) - pred * t + np.log1p(e)
        sig = np.where(pred >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        scale = 1.0 / pred.size
        return float(values.sum()) * scale, (sig - t) * scale

    def prepare_targets(
        self, y: object, *, n_outputs: int, dtype: np.dtype[np.floating]
    ) -> Targets:
        arr = regression_targets(y, n_outputs, dtype)
        if np.any(arr < 0) or np.any(arr > 1):
            raise ValueError(
                f"y must hold targets in [0, 1] for binary cross-entropy, got values from "
                f"{arr.min():g} to {arr.max():g}"
            )
        return arr
