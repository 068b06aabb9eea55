"""Frozen records: the data every other module passes around.

Every array stored in a record is read-only (``flags.writeable`` is False), so
immutability is real, not just a frozen attribute table. Records built from a
caller's arrays copy them once; arrays fmlp produced itself inside a step are
frozen in place (no copy).

Equality is value equality: two records are equal when their fields are equal,
and two arrays are equal when they have the same dtype, the same shape and the
same entries (NaN equals NaN, so a record always equals itself). Records that
hold arrays are not hashable.

``Params`` and ``Grads`` have the same structure (a tuple of ``Layer``) but are
distinct types, so mypy rejects a gradient where parameters are expected.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, ClassVar, Generic, TypeAlias, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

__all__ = [
    "Array",
    "Grads",
    "Labels",
    "Layer",
    "Params",
    "TrainState",
    "array_equal",
    "global_norm",
    "tree_map",
    "zeros_like",
]

#: A floating-point array (float32 or float64 in practice).
Array: TypeAlias = npt.NDArray[np.floating]
#: Integer class labels, one per sample.
Labels: TypeAlias = npt.NDArray[np.integer]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

S = TypeVar("S")


def array_equal(a: npt.NDArray[np.generic], b: npt.NDArray[np.generic]) -> bool:
    """Value equality for stored arrays: same dtype, same shape, same entries (NaN == NaN).

    >>> import numpy as np
    >>> array_equal(np.zeros(2), np.zeros(2)), array_equal(np.zeros(2), np.zeros(2, np.float32))
    (True, False)
    """
    return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


def freeze(a: Array) -> Array:
    """Mark an array fmlp owns as read-only and return it (no copy)."""
    a.flags.writeable = False
    return a


def _owned_readonly(a: npt.NDArray[np.generic]) -> bool:
    # A read-only array that owns its data cannot be changed behind our back
    # (a read-only view of a writable array could). A read-only view of a read-only
    # array that owns its data is just as safe: that is how fmlp stores the layers of
    # a flat tree (see ``tree_from_flat``), and accepting it avoids a copy.
    if a.flags.writeable:
        return False
    if a.flags.owndata:
        return True
    base = a.base
    return isinstance(base, np.ndarray) and base.flags.owndata and not base.flags.writeable


def readonly_float_array(value: object, name: str = "array") -> Array:
    """Converter for array fields: keep a frozen float array as is, else copy and freeze.

    Only float32 and float64 are accepted; the message names the field and what was given.
    """
    if isinstance(value, np.ndarray) and value.dtype in FLOAT_DTYPES and _owned_readonly(value):
        return value
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array of float32 or float64, got {type(value).__name__}"
        )
    if value.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {value.dtype}")
    return freeze(np.array(value, copy=True))


def _weights(value: object) -> Array:
    return readonly_float_array(value, "weights")


def _bias(value: object) -> Array:
    return readonly_float_array(value, "bias")


def readonly_array(value: object) -> npt.NDArray[np.generic]:
    """Converter for non-float array fields (labels): keep if frozen, else copy and freeze."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"expected a numpy array, got {type(value).__name__}")
    if _owned_readonly(value):
        return value
    copy = np.array(value, copy=True)
    copy.flags.writeable = False
    return copy


#: Field equality for array fields (see ``array_equal``).
ARRAY_EQ = attrs.cmp_using(eq=array_equal)


@attrs.frozen
class Layer:
    """One dense layer: ``z = a @ weights + bias``.

    ``weights`` has shape ``(n_in, n_out)`` and ``bias`` shape ``(n_out,)``, both of
    one float dtype. Arrays are copied and frozen unless already frozen.

    >>> import numpy as np
    >>> layer = Layer(np.ones((3, 2)), np.zeros(2))
    >>> layer.weights.flags.writeable
    False
    >>> Layer(np.ones((3, 2)), np.zeros(3))
    Traceback (most recent call last):
    ...
    ValueError: Layer: bias must have shape (2,) to match weights of shape (3, 2), got (3,)
    """

    weights: Array = attrs.field(converter=_weights, eq=ARRAY_EQ)
    bias: Array = attrs.field(converter=_bias, eq=ARRAY_EQ)

    def __attrs_post_init__(self) -> None:
        w, b = self.weights, self.bias
        if w.ndim != 2:
            raise ValueError(f"Layer: weights must be 2-D (n_in, n_out), got shape {w.shape}")
        if b.shape != (w.shape[1],):
            raise ValueError(
                f"Layer: bias must have shape ({w.shape[1]},) to match weights of shape "
                f"{w.shape}, got {b.shape}"
            )
        if b.dtype != w.dtype:
            raise TypeError(f"Layer: bias dtype {b.dtype} differs from weights dtype {w.dtype}")

    @property
    def dtype(self) -> np.dtype[np.floating]:
        """The dtype of both arrays."""
        return self.weights.dtype

    def __reduce__(self) -> tuple[type[Layer], tuple[Array, Array]]:
        # copy.deepcopy and pickle rebuild through the constructor, so the copy's
        # arrays are frozen too (restoring the fields directly would leave them writable).
        return Layer, (self.weights, self.bias)


def _check_layers(owner: str, layers: tuple[Layer, ...]) -> None:
    if not layers:
        raise ValueError(f"{owner}: needs at least one layer, got none")
    for i, (prev, nxt) in enumerate(itertools.pairwise(layers)):
        if prev.weights.shape[1] != nxt.weights.shape[0]:
            raise ValueError(
                f"{owner}: layer {i} outputs {prev.weights.shape[1]} features but layer {i + 1} "
                f"takes {nxt.weights.shape[0]}"
            )
        if prev.dtype != nxt.dtype:
            raise TypeError(f"{owner}: layer {i} is {prev.dtype} but layer {i + 1} is {nxt.dtype}")


def _layers(value: object) -> tuple[Layer, ...]:
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"layers must be a tuple of Layer, got {type(value).__name__}")
    layers: tuple[object, ...] = tuple(value)
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise TypeError(f"layers[{i}] must be a Layer, got {type(layer).__name__}")
    return layers  # type: ignore[return-value]


def layer_unchecked(weights: Array, bias: Array) -> Layer:
    """A ``Layer`` of two frozen arrays fmlp made itself, without the constructor's checks.

    Internal (the training step's hot path): the caller guarantees what the public
    constructor would check (read-only arrays, matching shapes and dtype).
    """
    layer = object.__new__(Layer)
    object.__setattr__(layer, "weights", weights)
    object.__setattr__(layer, "bias", bias)
    return layer


#: ``(n_in, n_out)`` of each layer: the layout of a flat tree.
Shapes: TypeAlias = tuple[tuple[int, int], ...]


# A dict-based base (slots=False) so that instances can carry ``_flat`` below
# without it being an attrs field (fields are compared, copied and serialised).
@attrs.frozen(slots=False)
class _LayerTree:
    """Shared structure of Params and Grads: a non-empty tuple of chained layers."""

    layers: tuple[Layer, ...] = attrs.field(converter=_layers)
    # Speed (issue 6), not part of the value: a tree fmlp builds itself keeps every
    # array as a view of one flat, read-only buffer (weights then bias, layer by layer)
    # and remembers ``(buffer, shapes)`` here, so an optimizer update is a few
    # whole-buffer operations instead of a few per array. Not an attrs field: never
    # compared, shown, evolved or saved; the public constructor, attrs.evolve, copy
    # and pickle all give a tree without it (None), which takes the per-array path.
    _flat: ClassVar[tuple[Array, Shapes] | None] = None

    def __reduce__(self) -> tuple[type[_LayerTree], tuple[tuple[Layer, ...]]]:
        # Copies and pickles rebuild through the constructor (and drop ``_flat``).
        return type(self), (self.layers,)

    if not TYPE_CHECKING:  # hidden from mypy, which would accept any attribute otherwise

        def __getattr__(self, name: str) -> object:
            # Only reached when ordinary lookup fails: a flat tree (``tree_from_flat``)
            # builds its ``Layer`` views on first use. A training step never looks at
            # the layers of most trees it makes (gradient, velocity, new parameters),
            # so they cost nothing there (issue 6).
            flat = self._flat
            if name == "layers" and flat is not None:
                layers = _layers_of(*flat)
                object.__setattr__(self, "layers", layers)
                return layers
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __attrs_post_init__(self) -> None:
        _check_layers(type(self).__name__, self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def dtype(self) -> np.dtype[np.floating]:
        """The dtype shared by every array."""
        if self._flat is not None:
            return self._flat[0].dtype
        return self.layers[0].dtype

    @property
    def shapes(self) -> tuple[tuple[int, int], ...]:
        """``(n_in, n_out)`` of each layer."""
        if self._flat is not None:
            return self._flat[1]
        return tuple((layer.weights.shape[0], layer.weights.shape[1]) for layer in self.layers)

    def arrays(self) -> Iterator[Array]:
        """Every array, in order: weights then bias of each layer."""
        for layer in self.layers:
            yield layer.weights
            yield layer.bias


@attrs.frozen
class Params(_LayerTree):
    """The parameters of an MLP: one ``Layer`` per dense layer, input to output."""


@attrs.frozen
class Grads(_LayerTree):
    """A gradient (or any update direction) with the same structure as ``Params``."""


T = TypeVar("T", Params, Grads)


def tree_map(fn: Callable[..., Array], out: type[T], *trees: Params | Grads) -> T:
    """``out`` of ``fn(a_1, ..., a_k)`` for the matching arrays ``a_i`` of ``trees``.

    Applies ``fn`` to the weights, then the biases, of each layer across trees of
    equal structure (``Params`` or ``Grads``), and wraps the results in ``out``.
    ``fn`` must return a new array (the results are frozen in place, not copied);
    it is the building block of every optimizer update.

    >>> import numpy as np
    >>> w = Params((Layer(np.array([[1.0]]), np.array([2.0])),))
    >>> g = Grads((Layer(np.array([[4.0]]), np.array([0.0])),))
    >>> tree_map(lambda w, g: w - 0.5 * g, Params, w, g).layers[0]
    Layer(weights=array([[-1.]]), bias=array([2.]))
    """
    layers = []
    for parts in zip(*(t.layers for t in trees), strict=True):
        w = freeze(fn(*(p.weights for p in parts)))
        b = freeze(fn(*(p.bias for p in parts)))
        layers.append(Layer(w, b))
    return out(tuple(layers))


# --- flat trees: the optimizers' fast path (issue 6) ---------------------------------------

# Every layout seen, interned (a handful per program).
_LAYOUTS: dict[Shapes, Shapes] = {}


def flat_size(shapes: Shapes) -> int:
    """The number of entries of a tree with these layer shapes (weights and biases)."""
    return sum(n_in * n_out + n_out for n_in, n_out in shapes)


def tree_from_flat(flat: Array, shapes: Shapes, out: type[T]) -> T:
    """Wrap a 1-D buffer fmlp owns as a tree of read-only views: no copy, no checks.

    Internal: ``flat`` holds, layer by layer, the weights (row-major) then the bias.
    It is frozen here, before the views are taken, so every view is read-only too.
    Equal layouts are stored as one tuple, so ``tree_map_elementwise`` compares them
    by identity.
    """
    freeze(flat)
    shapes = _LAYOUTS.setdefault(shapes, shapes)
    tree = object.__new__(out)
    # ``layers`` is built from the buffer when first asked for (``_LayerTree.__getattr__``).
    object.__setattr__(tree, "_flat", (flat, shapes))
    return tree


def _layers_of(flat: Array, shapes: Shapes) -> tuple[Layer, ...]:
    # The layers of a flat tree: read-only views into its (frozen) buffer.
    layers = []
    start = 0
    for n_in, n_out in shapes:
        mid = start + n_in * n_out
        end = mid + n_out
        layers.append(layer_unchecked(flat[start:mid].reshape(n_in, n_out), flat[mid:end]))
        start = end
    return tuple(layers)


def as_flat(tree: Params | Grads) -> tuple[Array, Shapes]:
    """``(buffer, shapes)`` of ``tree``: its own flat buffer if it has one, else a flat copy."""
    flat = tree._flat
    if flat is not None:
        return flat
    shapes = tree.shapes
    return np.concatenate([a.ravel() for a in tree.arrays()]), shapes


def tree_map_elementwise(fn: Callable[..., Array], out: type[T], *trees: Params | Grads) -> T:
    """``tree_map`` for an ``fn`` that acts entry by entry: run once over flat buffers.

    Internal (fmlp's own optimizers). When every tree has the same layer shapes and
    dtype, ``fn`` runs once over the trees' flat buffers (a copy is made of any tree
    without one) and the result is a flat tree, so the next call is fast too; each
    entry gets exactly the value ``tree_map`` would give it. ``fn`` must return a
    new array (it may write into arrays it allocated itself). Unlike ``tree_map``,
    an ``fn`` that looks at whole arrays (a norm, a shape) would be wrong here.
    """
    first = trees[0]._flat
    if first is not None:
        # The hot path: every tree flat, with the same layout and dtype.
        buffer, shapes = first
        flats = [buffer]
        for t in trees[1:]:
            other = t._flat
            if other is None or other[1] is not shapes or other[0].dtype != buffer.dtype:
                break
            flats.append(other[0])
        else:
            return tree_from_flat(fn(*flats), shapes, out)
    shapes = trees[0].shapes
    dtype = trees[0].dtype
    if all(t.dtype == dtype for t in trees[1:]):
        pairs = [as_flat(t) for t in trees]
        if all(s is shapes or s == shapes for _, s in pairs):
            return tree_from_flat(fn(*(f for f, _ in pairs)), shapes, out)
    # Mixed dtypes or shapes: array by array, so that the usual errors are raised.
    return tree_map(fn, out, *trees)


def zeros_like(tree: Params | Grads) -> Grads:
    """A gradient of zeros with the structure and dtype of ``tree``.

    >>> import numpy as np
    >>> zeros_like(Params((Layer(np.ones((1, 2), np.float32), np.ones(2, np.float32)),))).layers
    (Layer(weights=array([[0., 0.]], dtype=float32), bias=array([0., 0.], dtype=float32)),)
    """
    # One flat buffer, so that the optimizer state starts on the fast path.
    shapes = tree.shapes
    return tree_from_flat(np.zeros(flat_size(shapes), tree.dtype), shapes, Grads)


def global_norm(tree: Params | Grads) -> float:
    """``sqrt(Σ_i a_i²)`` over every entry of every array (a Python float).

    >>> import numpy as np
    >>> g = Grads((Layer(np.full((1, 1), 3.0), np.full(1, 4.0)),))
    >>> global_norm(g)
    5.0
    """
    if tree._flat is not None:
        flat = tree._flat[0]
        return math.sqrt(float(np.dot(flat, flat)))
    total = 0.0
    for a in tree.arrays():
        flat = a.ravel()
        total += float(np.dot(flat, flat))
    return math.sqrt(total)


@attrs.frozen
class TrainState(Generic[S]):
    """Everything the training loop carries from one step to the next.

    ``step`` counts optimizer steps taken, ``epoch`` completed epochs. ``lr`` and
    ``grad_norm`` are those of the latest step (``grad_norm`` is the global L2 norm
    of the raw gradient, before clipping). ``loss`` is the mean training loss of
    the latest completed epoch and ``val_loss`` the validation loss after it (NaN
    until known). ``loss_sum``/``samples`` accumulate the current epoch:
    ``loss = loss_sum / samples`` at the epoch's end. ``last_finite_loss`` is the
    latest batch loss. Batch losses are taken where the gradient was taken: at the
    look-ahead point for Nesterov, at the parameters for every other built-in.
    """

    params: Params
    opt_state: S
    step: int = 0
    epoch: int = 0
    lr: float = math.nan
    grad_norm: float = math.nan
    loss: float = math.nan
    val_loss: float = math.nan
    loss_sum: float = 0.0
    samples: int = 0
    last_finite_loss: float = math.nan

    def __eq__(self, other: object) -> bool:
        # Floats compare NaN-equal so a state equals itself and its round trip.
        if not isinstance(other, TrainState):
            return NotImplemented
        mine, theirs = attrs.astuple(self, recurse=False), attrs.astuple(other, recurse=False)
        return all(_same(a, b) for a, b in zip(mine, theirs, strict=True))

    __hash__ = None  # type: ignore[assignment]


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b
