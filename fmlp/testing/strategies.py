"""Hypothesis strategies for fmlp's records: architectures, params, gradients, batches, states.

Every array is finite and bounded (``|v| <= bound``), in float32 or float64, and
never subnormal. Use them to property-test your own optimizers, losses and
activations, for example::

    from hypothesis import given
    from fmlp.testing import models, grads_like

    @given(models().flatmap(lambda m: grads_like(m[1]).map(lambda g: (m[1], g))))
    def test_my_rule(pair): ...

``fmlp.testing.laws`` builds its optimizer checks from these strategies.
"""

from __future__ import annotations

from typing import TypeVar, cast

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fmlp.activations import (
    Activation,
    LeakyReLU,
    identity,
    relu,
    sigmoid,
    softplus,
    tanh,
)
from fmlp.data import Dataset
from fmlp.model import MLP
from fmlp.optimizers import (
    SGD,
    Adam,
    AdamState,
    Momentum,
    MomentumState,
    Nesterov,
    Optimizer,
    SGDState,
)
from fmlp.records import Array, Grads, Layer, Params

__all__ = [
    "activations",
    "adam_states",
    "architectures",
    "arrays",
    "batches",
    "classification_batches",
    "float_dtypes",
    "grads_like",
    "learning_rates",
    "models",
    "momenta",
    "momentum_states",
    "optimizer_states",
    "optimizers",
    "params",
    "reachable_states",
]

T = TypeVar("T", Params, Grads)
S = TypeVar("S")


def float_dtypes() -> st.SearchStrategy[np.dtype[np.floating]]:
    """float32 or float64 (shrinks towards float32)."""
    return st.sampled_from([np.dtype(np.float32), np.dtype(np.float64)])


def activations() -> st.SearchStrategy[Activation]:
    """Every built-in activation, leaky ReLU with a slope in [0, 0.5]."""
    fixed: list[Activation] = [identity, relu, tanh, sigmoid, softplus]
    leaky = st.floats(0.0, 0.5).map(LeakyReLU)
    return st.one_of(st.sampled_from(fixed), leaky)


@st.composite
def architectures(
    draw: st.DrawFn,
    *,
    max_depth: int = 3,
    max_width: int = 6,
    hidden: st.SearchStrategy[Activation] | None = None,
    output: st.SearchStrategy[Activation] | None = None,
) -> MLP:
    """MLPs with 1..``max_depth`` layers of width 1..``max_width``.

    ``hidden`` and ``output`` draw the activations (every built-in activation and
    ``identity`` by default); ``bias`` is drawn too.

    >>> from hypothesis import find
    >>> find(architectures(max_depth=2), lambda mlp: len(mlp.sizes) == 3).sizes  # the smallest
    (1, 1, 1)
    """
    depth = draw(st.integers(1, max_depth))
    sizes = tuple(draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1)))
    return MLP(
        sizes,
        hidden=draw(hidden if hidden is not None else activations()),
        output=draw(output if output is not None else st.just(identity)),
        bias=draw(st.booleans()),
    )


def arrays(
    shape: tuple[int, ...], dtype: np.dtype[np.floating], *, bound: float = 2.0
) -> st.SearchStrategy[Array]:
    """Finite arrays of ``dtype`` with entries in ``[−bound, bound]``, no subnormals."""
    elements = st.floats(
        -bound,
        bound,
        width=32 if dtype == np.float32 else 64,
        allow_nan=False,
        allow_subnormal=False,
    )
    return hnp.arrays(dtype, shape, elements=elements)


def _tree(
    draw: st.DrawFn,
    kind: type[T],
    shapes: tuple[tuple[int, int], ...],
    dtype: np.dtype[np.floating],
    bound: float,
) -> T:
    layers = [
        Layer(
            draw(arrays((n_in, n_out), dtype, bound=bound)),
            draw(arrays((n_out,), dtype, bound=bound)),
        )
        for n_in, n_out in shapes
    ]
    return kind(tuple(layers))


@st.composite
def params(
    draw: st.DrawFn, mlp: MLP, *, dtype: np.dtype[np.floating] | None = None, bound: float = 2.0
) -> Params:
    """Parameters for ``mlp`` (dtype drawn when not given), entries in ``[−bound, bound]``."""
    resolved = dtype if dtype is not None else draw(float_dtypes())
    return _tree(draw, Params, mlp.layer_shapes, resolved, bound)


@st.composite
def grads_like(draw: st.DrawFn, tree: Params | Grads, *, bound: float = 2.0) -> Grads:
    """A gradient with the structure and dtype of ``tree``, entries in ``[−bound, bound]``."""
    return _tree(draw, Grads, tree.shapes, tree.dtype, bound)


@st.composite
def models(
    draw: st.DrawFn,
    *,
    dtype: np.dtype[np.floating] | None = None,
    max_depth: int = 3,
    max_width: int = 6,
) -> tuple[MLP, Params]:
    """An architecture and parameters for it."""
    mlp = draw(architectures(max_depth=max_depth, max_width=max_width))
    return mlp, draw(params(mlp, dtype=dtype))


@st.composite
def batches(
    draw: st.DrawFn,
    mlp: MLP,
    *,
    dtype: np.dtype[np.floating],
    max_rows: int = 8,
    bound: float = 2.0,
) -> Dataset:
    """A batch of regression data ``(x, y)`` for ``mlp`` with 1..``max_rows`` rows.

    ``x`` has shape ``(n, n_inputs)``, ``y`` shape ``(n, n_outputs)``, both of ``dtype``.
    """
    n = draw(st.integers(1, max_rows))
    x = draw(arrays((n, mlp.n_inputs), dtype, bound=bound))
    y = draw(arrays((n, mlp.n_outputs), dtype, bound=bound))
    return Dataset(x, y)


@st.composite
def classification_batches(
    draw: st.DrawFn,
    mlp: MLP,
    *,
    dtype: np.dtype[np.floating],
    one_hot: bool = False,
    max_rows: int = 8,
    bound: float = 2.0,
) -> Dataset:
    """A batch of classification data for ``mlp``: ``x`` and int64 labels in ``[0, n_outputs)``.

    The labels suit ``SoftmaxCrossEntropy`` (one class per output). With ``one_hot``
    ``y`` holds the same labels one-hot in ``dtype`` (shape ``(n, n_outputs)``).

    >>> from hypothesis import find
    >>> float64 = np.dtype(np.float64)
    >>> find(classification_batches(MLP((2, 3)), dtype=float64), lambda b: len(b) == 2).y
    array([0, 0])
    >>> find(classification_batches(MLP((2, 3)), dtype=float64, one_hot=True), bool).y
    array([[1., 0., 0.]])
    """
    n = draw(st.integers(1, max_rows))
    x = draw(arrays((n, mlp.n_inputs), dtype, bound=bound))
    labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, mlp.n_outputs - 1)))
    if one_hot:
        return Dataset(x, np.eye(mlp.n_outputs, dtype=dtype)[labels])
    return Dataset(x, labels)


def learning_rates(max_value: float = 1.0) -> st.SearchStrategy[float]:
    """Learning rates in ``[0, max_value]`` (0 included: it is a law-bearing edge)."""
    return st.one_of(st.just(0.0), st.floats(0.0, max_value, allow_subnormal=False))


def momenta() -> st.SearchStrategy[float]:
    """Momentum coefficients in ``[0, 0.99]``."""
    return st.one_of(st.just(0.0), st.floats(0.0, 0.99, allow_subnormal=False))


@st.composite
def momentum_states(draw: st.DrawFn, tree: Params, *, bound: float = 2.0) -> MomentumState:
    """A momentum/Nesterov state with a random velocity shaped like ``tree``."""
    return MomentumState(draw(grads_like(tree, bound=bound)))


@st.composite
def adam_states(draw: st.DrawFn, tree: Params, *, bound: float = 2.0) -> AdamState:
    """An Adam state: random first moments, non-negative second moments, count in [0, 100]."""
    mu = draw(grads_like(tree, bound=bound))
    nu_raw = draw(grads_like(tree, bound=bound))
    nu = Grads(tuple(Layer(np.abs(layer.weights), np.abs(layer.bias)) for layer in nu_raw.layers))
    return AdamState(mu, nu, draw(st.integers(0, 100)))


@st.composite
def reachable_states(
    draw: st.DrawFn,
    optimizer: Optimizer[S],
    tree: Params,
    *,
    max_steps: int = 3,
    bound: float = 2.0,
) -> S:
    """A state ``optimizer`` reaches from ``init(tree)`` in 0..``max_steps`` steps.

    Each step applies a random gradient (entries in ``[−bound, bound]``) with a
    random learning rate in ``[0, 1]``, starting from ``tree``. Works for any
    optimizer, including yours; shrinks towards ``optimizer.init(tree)``.

    >>> from hypothesis import find
    >>> w = Params((Layer(np.zeros((1, 1)), np.zeros(1)),))
    >>> moved = lambda s: s.velocity.layers[0].bias[0] != 0
    >>> find(reachable_states(Momentum(0.5), w), moved).velocity.layers[0].bias  # 0.5·0 + 0.5·1
    array([0.5])
    """
    state = optimizer.init(tree)
    point = tree
    for _ in range(draw(st.integers(0, max_steps))):
        grads = draw(grads_like(tree, bound=bound))
        point, state = optimizer.apply(point, state, grads, draw(learning_rates()))
    return state


def optimizer_states(
    optimizer: Optimizer[S], tree: Params, *, max_steps: int = 3, bound: float = 2.0
) -> st.SearchStrategy[S]:
    """States of ``optimizer`` for parameters shaped like ``tree``.

    Always includes ``reachable_states(optimizer, tree)``; for fmlp's built-in
    optimizers also arbitrary valid states (``momentum_states``, ``adam_states``,
    ``SGDState()``), which reach corners a few steps do not.

    >>> from hypothesis import find
    >>> w = Params((Layer(np.zeros((1, 1)), np.zeros(1)),))
    >>> find(optimizer_states(Adam(), w), lambda s: s.count > 0).count
    1
    """
    reachable = reachable_states(optimizer, tree, max_steps=max_steps, bound=bound)
    # isinstance cannot bind S, so the built-in state strategies are cast to it.
    arbitrary: st.SearchStrategy[object] | None = None
    if isinstance(optimizer, Adam):
        arbitrary = adam_states(tree, bound=bound)
    elif isinstance(optimizer, Momentum):  # Nesterov too
        arbitrary = momentum_states(tree, bound=bound)
    elif isinstance(optimizer, SGD):
        arbitrary = st.just(SGDState())
    if arbitrary is None:
        return reachable
    return st.one_of(reachable, cast("st.SearchStrategy[S]", arbitrary))


def optimizers() -> st.SearchStrategy[SGD | Momentum | Adam]:
    """fmlp's built-in optimizers with hyperparameters drawn from their valid ranges.

    SGD; Momentum and Nesterov (both look-ahead forms) with momentum in [0, 0.99];
    Adam with b1, b2 in [0, 0.999], eps in [1e-8, 1e-3], weight decay in [0, 0.1].
    """
    unit = st.floats(0.0, 0.999, allow_subnormal=False)
    return st.one_of(
        st.just(SGD()),
        momenta().map(Momentum),
        st.builds(Nesterov, momenta(), lookahead_form=st.sampled_from(["sutskever", "tutorial"])),
        st.builds(
            Adam,
            b1=unit,
            b2=unit,
            eps=st.floats(1e-8, 1e-3),
            weight_decay=st.one_of(st.just(0.0), st.floats(0.0, 0.1, allow_subnormal=False)),
        ),
    )
