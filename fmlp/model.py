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

from fmlp.activations import (
    Activation,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Tanh,
    identity,
    relu,
)
from fmlp.checks import as_float_array, check_non_negative_int, check_positive_int, float_dtype
from fmlp.losses import Loss, Targets
from fmlp.records import Array, Grads, Params, flat_size, tree_from_flat

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
    shapes = mlp.layer_shapes
    # One flat buffer (weights then zero bias, layer by layer): the optimizers' fast path.
    flat = np.zeros(flat_size(shapes), resolved)
    start = 0
    for n_in, n_out in shapes:
        if scheme == "normal":
            w = rng.standard_normal((n_in, n_out))
        else:
            fan = n_in + n_out if scheme == "glorot" else n_in
            limit = np.sqrt(6.0 / fan)
            w = rng.uniform(-limit, limit, (n_in, n_out))
        flat[start : start + w.size] = w.ravel()  # rounded to dtype, as w.astype would
        start += w.size + n_out
    return tree_from_flat(flat, shapes, Params)


# The hot path below writes into arrays it allocated itself in the same call (out=,
# in-place ufuncs) and never into anything a caller passed in or can see: fewer large
# temporaries mean fewer trips through the allocator and fewer page faults (issue 6).
# Built-in activations are recognised by exact type; any other activation goes through
# its public ``__call__``/``derivative`` unchanged.
_OWN_OUTPUT = (Identity, ReLU, LeakyReLU, Tanh, Sigmoid)


def _activate(act: Activation, z: Array, scratch: Array | None) -> tuple[Array, Array]:
    """``(f(z), saved)``, where ``saved`` is what ``_factor`` needs to give ``f'(z)``.

    ``z`` must be an array allocated by the caller in this call: the built-in
    activations overwrite it with ``f(z)``; any other activation gets ``z``
    untouched. ``scratch`` (same shape, also the caller's) is used by leaky ReLU.
    """
    kind = type(act)
    if kind is Identity:
        return z, z
    if kind is ReLU:
        # Against a row of zeros, not the scalar 0.0: numpy's maximum has a fast
        # (vectorised) loop for two arrays but not for an array and a scalar (~2×).
        np.maximum(z, np.zeros(z.shape[-1], z.dtype), out=z)
        return z, z  # f'(z) = 1 exactly where f(z) > 0
    if kind is LeakyReLU:
        # max(z, slope·z) as LeakyReLU computes it, then f'(z) = max([z > 0], slope)
        # (1 where z > 0, else slope: the exact values of LeakyReLU.derivative) into
        # the scratch array. Branch-free whole-array passes: np.where or a where=
        # mask is several times slower on a random sign pattern.
        slope = act.slope  # type: ignore[attr-defined]
        scratch = np.multiply(z, slope, out=scratch)
        np.maximum(z, scratch, out=z)
        np.greater(z, 0.0, out=scratch)  # f(z) > 0 ⇔ z > 0
        np.maximum(scratch, np.full(z.shape[-1], slope, z.dtype), out=scratch)
        return z, scratch
    if kind is Tanh:
        np.tanh(z, out=z)
        return z, z  # f' = 1 − f²
    if kind is Sigmoid:
        a = act(z)
        return a, a  # f' = f·(1 − f)
    return act(z), z


def _factor(act: Activation, saved: Array) -> npt.NDArray[np.floating | np.bool] | None:
    """``f'(z)`` from what ``_activate`` saved (``None`` for the identity).

    For ReLU the boolean ``f(z) > 0`` (multiplying by it is multiplying by 1.0 or
    0.0); otherwise the same values ``act.derivative(z)`` returns.
    """
    kind = type(act)
    if kind is Identity:
        return None
    if kind is ReLU:
        return saved > 0
    if kind is LeakyReLU:
        return saved
    if kind is Tanh:
        d = np.multiply(saved, saved)
        np.subtract(1.0, d, out=d)
        return d
    if kind is Sigmoid:
        d = np.subtract(1.0, saved)
        np.multiply(saved, d, out=d)
        return d
    return act.derivative(saved)


def _apply_factor(
    act: Activation, delta: Array, factor: npt.NDArray[np.floating | np.bool] | None, owned: bool
) -> Array:
    """``delta ⊙ f'(z)``, written into ``delta`` when it is ``owned`` (allocated here).

    Bit-identical to ``delta * act.derivative(z)``: the same products, entry by entry.
    """
    if factor is None:
        return delta
    out: Array = np.multiply(delta, factor, out=delta if owned else None)
    return out


def _forward_all(mlp: MLP, params: Params, x: Array) -> tuple[list[Array], list[Array]]:
    # Inputs to each layer (a_0..a_(L-1)) and what each activation saved; output appended.
    # All pre-activations (and leaky ReLU's scratch) live in one array allocated here:
    # one large block per step instead of several keeps glibc's malloc from handing
    # the memory back to the kernel and faulting it in again on the next step.
    rows = x.shape[0]
    layers = params.layers
    last = len(layers) - 1
    acts = [mlp.hidden] * last + [mlp.output]
    shapes = params.shapes
    # rows·width entries per layer, twice that for leaky ReLU (z and its scratch).
    total = sum(
        n_out * (2 if type(act) is LeakyReLU else 1)
        for (_, n_out), act in zip(shapes, acts, strict=True)
    )
    arena = np.empty(rows * total, params.dtype)
    inputs: list[Array] = []
    saved: list[Array] = []
    a = x
    start = 0
    for layer, act, (_, n_out) in zip(layers, acts, shapes, strict=True):
        inputs.append(a)
        size = rows * n_out
        z = np.matmul(a, layer.weights, out=arena[start : start + size].reshape(rows, n_out))
        start += size
        scratch = None
        if type(act) is LeakyReLU:
            scratch = arena[start : start + size].reshape(rows, n_out)
            start += size
        if mlp.bias:
            z += layer.bias
        a, keep = _activate(act, z, scratch)
        saved.append(keep)
    inputs.append(a)
    return inputs, saved


def forward_unchecked(mlp: MLP, params: Params, x: Array) -> Array:
    """``forward`` without the argument checks: for data fmlp has already checked."""
    a = x
    for i, layer in enumerate(params.layers):
        z = a @ layer.weights
        if mlp.bias:
            z += layer.bias
        a = _activate(mlp.activation(i), z, None)[0]
    return a


def value_and_grad_unchecked(
    mlp: MLP, params: Params, x: Array, y: Targets, loss: Loss
) -> tuple[float, Grads]:
    """``value_and_grad`` without the argument checks: the training step's hot path.

    The gradient is written straight into one new flat buffer (a flat ``Grads``).
    Once layer ``l``'s weight gradient is taken, its input ``a_(l−1)`` is dead, so
    ``δ_(l−1)`` is written over it: one batch of activations is all the memory used.
    """
    inputs, saved = _forward_all(mlp, params, x)
    value, delta = loss.value_and_grad(inputs[-1], y)
    shapes = params.shapes
    flat = np.empty(flat_size(shapes), delta.dtype)
    last = len(shapes) - 1
    out_act, act, bias = mlp.output, mlp.hidden, mlp.bias
    # The loss's gradient is not ours to overwrite.
    delta = _apply_factor(out_act, delta, _factor(out_act, saved[last]), owned=False)
    end = flat.size
    for i in range(last, -1, -1):  # the buffer is filled from its end
        n_in, n_out = shapes[i]
        mid = end - n_out
        np.matmul(inputs[i].T, delta, out=flat[mid - n_in * n_out : mid].reshape(n_in, n_out))
        if bias:
            np.add.reduce(delta, axis=0, out=flat[mid:end])
        else:
            flat[mid:end] = 0.0
        end = mid - n_in * n_out
        if i > 0:
            factor = _factor(act, saved[i - 1])  # taken before a_(i) may be overwritten
            # a_(i) is ours (made by a built-in activation in _forward_all) and now dead.
            reuse = type(act) in _OWN_OUTPUT and inputs[i].shape == (delta.shape[0], n_in)
            buffer = inputs[i] if reuse else None
            weights_t = params.layers[i].weights.T
            if n_out == 1:
                # An outer product: a broadcast multiply is the same products, much faster.
                delta = np.multiply(delta, weights_t, out=buffer)
            else:
                delta = np.matmul(delta, weights_t, out=buffer)
            delta = _apply_factor(act, delta, factor, owned=True)
    return value, tree_from_flat(flat, shapes, Grads)


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
    >>> from fmlp.records import Layer
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
