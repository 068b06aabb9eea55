"""The MLP architecture, its initialisation, the forward pass and exact backpropagation.

For layers ``l = 1..L`` with ``a_0 = x``::

    z_l = a_(l−1) @ W_l + b_l          a_l = f_l(z_l)

where ``f_l`` is the hidden activation for ``l < L`` and the output activation
for ``l = L``. Backpropagation, batched over the rows of ``x``::

    δ_L = ∂loss/∂a_L ⊙ f_L'(z_L)
    ∂loss/∂W_l = a_(l−1)ᵀ @ δ_l        ∂loss/∂b_l = Σ_rows δ_l
    δ_(l−1) = (δ_l @ W_lᵀ) ⊙ f_(l−1)'(z_(l−1))

Every derivative is taken at the pre-activation ``z`` (see ``fmlp.activations``);
``tests/test_model.py`` checks the whole gradient against central finite differences.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs
import numpy as np
import numpy.typing as npt

from fmlp.activations import Activation, Identity, identity, relu
from fmlp.checks import as_float_array, check_non_negative_int, check_positive_int, float_dtype
from fmlp.losses import Loss, Targets
from fmlp.records import Array, Grads, Layer, Params, freeze

__all__ = ["MLP", "InitScheme", "evaluate", "forward", "grad", "init", "value_and_grad"]

InitScheme: TypeAlias = Literal["glorot", "he", "normal"]


def _sizes(value: object) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"sizes must be a tuple of layer widths, got {value!r}")
    sizes: tuple[object, ...] = tuple(value)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {sizes}")
    return tuple(check_positive_int(f"sizes[{i}]", s) for i, s in enumerate(sizes))


def _activation(name: str, value: object) -> Activation:
    if not isinstance(value, Activation):
        raise TypeError(
            f"{name} must be an Activation (with name, __call__ and derivative), got "
            f"{type(value).__name__} {value!r}"
        )
    return value


def _flag(value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"bias must be True or False, got {value!r}")


@attrs.frozen
class MLP:
    """An MLP architecture: layer widths and activations (no parameters).

    ``sizes = (n_in, h_1, ..., n_out)``. ``hidden`` is applied after every layer
    but the last, ``output`` after the last. With ``bias=False`` the biases stay
    zero: their gradient is defined as zero, so no optimizer moves them.

    >>> MLP((4, 8, 3)).layer_shapes
    ((4, 8), (8, 3))
    >>> MLP((4, 0))
    Traceback (most recent call last):
    ...
    ValueError: sizes[1] must be a positive integer, got 0
    """

    sizes: tuple[int, ...] = attrs.field(converter=_sizes)
    hidden: Activation = attrs.field(default=relu, validator=lambda _, a, v: _activation(a.name, v))
    output: Activation = attrs.field(
        default=identity, validator=lambda _, a, v: _activation(a.name, v)
    )
    bias: bool = attrs.field(default=True, validator=lambda _, __, v: _flag(v))

    @property
    def layer_shapes(self) -> tuple[tuple[int, int], ...]:
        """``(n_in, n_out)`` of each dense layer."""
        return tuple(zip(self.sizes[:-1], self.sizes[1:], strict=True))

    @property
    def n_inputs(self) -> int:
        return self.sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.sizes[-1]

    def activation(self, layer: int) -> Activation:
        """The activation applied after layer ``layer`` (0-based)."""
        return self.output if layer == len(self.sizes) - 2 else self.hidden

    def check_params(self, params: Params, name: str = "params") -> None:
        """Raise if ``params`` does not fit this architecture (number of layers, shapes)."""
        if not isinstance(params, Params):
            raise TypeError(f"{name} must be Params, got {type(params).__name__}")
        if params.shapes != self.layer_shapes:
            raise ValueError(
                f"{name} do not match the architecture: layer shapes {params.shapes}, "
                f"but sizes {self.sizes} need {self.layer_shapes}"
            )


def init(
    mlp: MLP,
    *,
    seed: int,
    dtype: npt.DTypeLike = np.float64,
    scheme: InitScheme = "glorot",
) -> Params:
    """Initial parameters drawn from an explicit ``seed`` (same seed ⇒ bit-identical params).

    Weights ``W_l`` of shape ``(n_in, n_out)``; biases are zero.

    * ``"glorot"``: ``U(−a, a)`` with ``a = sqrt(6 / (n_in + n_out))``;
    * ``"he"``: ``U(−a, a)`` with ``a = sqrt(6 / n_in)``;
    * ``"normal"``: the tutorial's standard normal ``N(0, 1)``.

    Values are drawn in float64 and rounded to ``dtype``.

    >>> params = init(MLP((3, 2)), seed=0, dtype="float32")
    >>> params.dtype, params.shapes
    (dtype('float32'), ((3, 2),))
    """
    resolved = float_dtype(dtype)
    if scheme not in ("glorot", "he", "normal"):
        raise ValueError(f"scheme must be 'glorot', 'he' or 'normal', got {scheme!r}")
    seed = check_non_negative_int("seed", seed)
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in mlp.layer_shapes:
        if scheme == "normal":
            w = rng.standard_normal((n_in, n_out))
        else:
            fan = n_in + n_out if scheme == "glorot" else n_in
            limit = np.sqrt(6.0 / fan)
            w = rng.uniform(-limit, limit, (n_in, n_out))
        layers.append(Layer(freeze(w.astype(resolved)), freeze(np.zeros(n_out, resolved))))
    return Params(tuple(layers))


def _forward_all(mlp: MLP, params: Params, x: Array) -> tuple[list[Array], list[Array]]:
    # Inputs to each layer (a_0..a_(L-1)) and pre-activations (z_1..z_L); last output appended.
    inputs: list[Array] = []
    pre: list[Array] = []
    a = x
    for i, layer in enumerate(params.layers):
        inputs.append(a)
        z = a @ layer.weights
        if mlp.bias:
            z += layer.bias
        pre.append(z)
        a = mlp.activation(i)(z)
    inputs.append(a)
    return inputs, pre


def forward_unchecked(mlp: MLP, params: Params, x: Array) -> Array:
    """``forward`` without the argument checks: for data fmlp has already checked."""
    a = x
    for i, layer in enumerate(params.layers):
        z = a @ layer.weights
        if mlp.bias:
            z += layer.bias
        a = mlp.activation(i)(z)
    return a


def value_and_grad_unchecked(
    mlp: MLP, params: Params, x: Array, y: Targets, loss: Loss
) -> tuple[float, Grads]:
    """``value_and_grad`` without the argument checks: the training step's hot path."""
    inputs, pre = _forward_all(mlp, params, x)
    value, delta = loss.value_and_grad(inputs[-1], y)
    layers: list[Layer] = []
    for i in range(len(params.layers) - 1, -1, -1):
        act = mlp.activation(i)
        if not isinstance(act, Identity):
            delta = delta * act.derivative(pre[i])
        d_weights = inputs[i].T @ delta
        d_bias = delta.sum(axis=0) if mlp.bias else np.zeros(delta.shape[1], delta.dtype)
        layers.append(Layer(freeze(d_weights), freeze(d_bias)))
        if i > 0:
            delta = delta @ params.layers[i].weights.T
    return value, Grads(tuple(reversed(layers)))


def check_model(mlp: MLP, loss: Loss | None = None) -> None:
    """Raise a ``TypeError`` naming the argument unless ``mlp`` is an MLP and ``loss`` a Loss."""
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be an MLP, got {type(mlp).__name__} {mlp!r}")
    if loss is not None and not isinstance(loss, Loss):
        raise TypeError(
            f"loss must be a Loss (with value_and_grad and prepare_targets), got "
            f"{type(loss).__name__} {loss!r}"
        )


def _checked_x(mlp: MLP, params: Params, x: object) -> Array:
    check_model(mlp)
    mlp.check_params(params)
    arr = as_float_array("x", x, dtype=params.dtype, ndim=2)
    if arr.shape[1] != mlp.n_inputs:
        raise ValueError(
            f"x must have {mlp.n_inputs} columns to match the architecture's input width, "
            f"got shape {arr.shape}"
        )
    return arr


def _checked_xy(
    mlp: MLP, params: Params, x: object, y: object, loss: Loss
) -> tuple[Array, Targets]:
    check_model(mlp, loss)
    arr = _checked_x(mlp, params, x)
    targets = loss.prepare_targets(y, n_outputs=mlp.n_outputs, dtype=params.dtype)
    if targets.shape[0] != arr.shape[0]:
        raise ValueError(
            f"x and y must have the same number of rows, got {arr.shape[0]} and {targets.shape[0]}"
        )
    return arr, targets


def forward(mlp: MLP, params: Params, x: Array) -> Array:
    """The network output ``a_L`` for inputs ``x`` of shape ``(n, n_in)``; shape ``(n, n_out)``.

    ``x`` is converted to the parameters' dtype, so a float32 model computes in float32.

    >>> import numpy as np
    >>> mlp = MLP((2, 3, 1))
    >>> forward(mlp, init(mlp, seed=0), np.zeros((5, 2))).shape
    (5, 1)
    """
    return forward_unchecked(mlp, params, _checked_x(mlp, params, x))


def value_and_grad(
    mlp: MLP, params: Params, x: Array, y: Targets, loss: Loss
) -> tuple[float, Grads]:
    """The loss at ``params`` on the batch ``(x, y)`` and its exact gradient (backpropagation).

    >>> import numpy as np
    >>> from fmlp.losses import SquaredError
    >>> mlp = MLP((2, 1), bias=False)
    >>> params = Params((Layer(np.array([[1.0], [2.0]]), np.zeros(1)),))
    >>> value, g = value_and_grad(mlp, params, np.array([[1.0, 1.0]]), np.array([[0.0]]),
    ...                           SquaredError())
    >>> value, g.layers[0].weights.ravel()
    (9.0, array([6., 6.]))
    """
    xs, ys = _checked_xy(mlp, params, x, y, loss)
    return value_and_grad_unchecked(mlp, params, xs, ys, loss)


def grad(mlp: MLP, params: Params, x: Array, y: Targets, loss: Loss) -> Grads:
    """The exact gradient of the loss with respect to ``params`` (see ``value_and_grad``)."""
    return value_and_grad(mlp, params, x, y, loss)[1]


def evaluate(mlp: MLP, params: Params, x: Array, y: Targets, loss: Loss) -> float:
    """The loss at ``params`` on ``(x, y)`` (forward pass only).

    >>> import numpy as np
    >>> from fmlp.losses import SquaredError
    >>> mlp = MLP((2, 1))
    >>> evaluate(mlp, init(mlp, seed=0), np.zeros((4, 2)), np.zeros((4, 1)), SquaredError())
    0.0
    """
    xs, ys = _checked_xy(mlp, params, x, y, loss)
    return loss.value_and_grad(forward_unchecked(mlp, params, xs), ys)[0]
