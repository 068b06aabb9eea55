"""Gradient transformations: gradient in, gradient out, nothing mutated.

Laws (each a property test in ``tests/test_transforms.py``):

* ``clip``: every entry lies in ``[−limit, limit]``; clipping twice equals
  clipping once; a limit above every ``|g|`` returns ``g`` unchanged.
* ``clip_by_norm``: the norm never grows, the direction is kept, and the norm
  before clipping is returned with the result.
* ``add_weight_decay`` with ``rate = 0`` returns the gradient unchanged.
"""

from __future__ import annotations

import numpy as np

from fmlp.checks import check_float, check_like_params
from fmlp.records import Grads, Layer, Params, freeze, global_norm, tree_map_elementwise

__all__ = ["add_weight_decay", "clip", "clip_by_norm", "global_norm"]


def _check_grads(grads: object) -> None:
    if not isinstance(grads, Grads):
        raise TypeError(f"grads must be Grads, got {type(grads).__name__}")


def clip(grads: Grads, limit: float) -> Grads:
    """Element-wise clipping (the tutorial's fix): ``g' = min(max(g, −limit), limit)``.

    >>> import numpy as np
    >>> from fmlp.records import Layer
    >>> g = Grads((Layer(np.array([[-3.0, 0.5]]), np.array([2.0, -0.1])),))
    >>> clip(g, 1.0).layers[0]
    Layer(weights=array([[-1. ,  0.5]]), bias=array([ 1. , -0.1]))
    """
    limit = check_float("limit", limit, low=0.0, low_open=True)
    _check_grads(grads)
    return clip_unchecked(grads, limit)


def clip_unchecked(grads: Grads, limit: float) -> Grads:
    """``clip`` without the argument check (the training step checked ``limit`` once)."""
    return tree_map_elementwise(lambda g: np.clip(g, -limit, limit), Grads, grads)


def clip_by_norm(grads: Grads, max_norm: float) -> tuple[Grads, float]:
    """Scale the whole gradient down to global L2 norm ``max_norm`` if it is longer.

    ``g' = g · min(1, max_norm / ‖g‖)`` with ``‖g‖ = sqrt(Σ g²)`` over every array.
    Returns ``(g', ‖g‖)``: the norm *before* clipping, for reporting.

    >>> import numpy as np
    >>> from fmlp.records import Layer
    >>> g = Grads((Layer(np.array([[3.0]]), np.array([4.0])),))
    >>> clipped, norm = clip_by_norm(g, 1.0)
    >>> norm, clipped.layers[0].weights, clipped.layers[0].bias
    (5.0, array([[0.6]]), array([0.8]))
    """
    max_norm = check_float("max_norm", max_norm, low=0.0, low_open=True)
    _check_grads(grads)
    return clip_by_norm_unchecked(grads, max_norm, global_norm(grads))


def clip_by_norm_unchecked(grads: Grads, max_norm: float, norm: float) -> tuple[Grads, float]:
    """``clip_by_norm`` given the already computed ``norm`` of ``grads``."""
    if norm <= max_norm:
        return grads, norm
    scale = max_norm / norm
    return tree_map_elementwise(lambda g: g * scale, Grads, grads), norm


def add_weight_decay(grads: Grads, params: Params, rate: float) -> Grads:
    """L2 weight decay as a gradient term: ``g' = g + rate·W`` on weights; biases untouched.

    This is the gradient of ``loss + (rate/2)·Σ‖W_l‖²``. For decay decoupled from
    the gradient (AdamW), use ``Adam(weight_decay=...)`` instead.

    >>> import numpy as np
    >>> from fmlp.records import Layer
    >>> p = Params((Layer(np.array([[2.0]]), np.array([5.0])),))
    >>> g = Grads((Layer(np.array([[1.0]]), np.array([1.0])),))
    >>> add_weight_decay(g, p, 0.5).layers[0]
    Layer(weights=array([[2.]]), bias=array([1.]))
    """
    rate = check_float("rate", rate, low=0.0)
    check_like_params("grads", grads, params)
    return add_weight_decay_unchecked(grads, params, rate)


def add_weight_decay_unchecked(grads: Grads, params: Params, rate: float) -> Grads:
    """``add_weight_decay`` without the argument checks (the training step checked once)."""
    if rate == 0.0:
        return grads
    return Grads(
        tuple(
            Layer(freeze(g.weights + rate * p.weights), g.bias)
            for g, p in zip(grads.layers, params.layers, strict=True)
        )
    )
