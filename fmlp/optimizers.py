"""Optimizers: pure step functions, and the small protocol that makes them interchangeable.

An optimizer is a record with three pure methods (``Optimizer`` below):

* ``init(params) -> state``;
* ``lookahead(params, state, lr) -> params`` — where to evaluate the gradient
  (``params`` itself for every optimizer but Nesterov's);
* ``apply(params, state, grads, lr) -> (params, state)`` — one update.

The learning rate always multiplies the final update (``w − lr·u``), so
``lr = 0`` leaves the parameters unchanged, and hyperparameters are Python
floats, so a float32 model stays float32. Each named optimizer also exists as a
plain function (``sgd_step``, ``momentum_step``, ``nesterov_step``, ``adam_step``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol, TypeAlias, TypeVar

import attrs
import numpy as np

from fmlp.checks import check_float, check_like_params, real_to_float
from fmlp.records import (
    Array,
    Grads,
    Params,
    freeze,
    tree_from_flat,
    tree_map_elementwise,
    zeros_like,
)

__all__ = [
    "SGD",
    "Adam",
    "AdamState",
    "Lookahead",
    "Momentum",
    "MomentumState",
    "Nesterov",
    "Optimizer",
    "SGDState",
    "adam_step",
    "momentum_step",
    "nesterov_lookahead",
    "nesterov_step",
    "sgd_step",
]

S = TypeVar("S")
Lookahead: TypeAlias = Literal["sutskever", "tutorial"]


class Optimizer(Protocol[S]):
    """What ``make_step`` needs from an optimizer with state type ``S``.

    Subclass it to inherit the default ``lookahead`` (the gradient is taken at
    ``params``); any class with these methods fits without subclassing.
    """

    def init(self, params: Params) -> S:
        """The state before the first step."""
        ...

    def apply(self, params: Params, state: S, grads: Grads, lr: float) -> tuple[Params, S]:
        """One update from the gradient ``grads`` (taken at ``lookahead(params, state, lr)``)."""
        ...

    def lookahead(self, params: Params, state: S, lr: float) -> Params:
        """The point at which the next gradient is taken; ``params`` by default."""
        return params


# --- the update rules as plain functions -------------------------------------------------


# The update rules below write into arrays they have just allocated (out=, +=), which
# saves allocations and passes over memory; each entry is rounded exactly as in the
# plain formula in the comment (the same products, then the same sum).


def _axpy(alpha: float, direction: Grads, params: Params) -> Params:
    # w + alpha·d, the one update every optimizer ends with. alpha = 0 returns w itself:
    # w + 0·d would turn a −0.0 weight into +0.0, so "lr = 0 leaves w unchanged" needs it.
    if alpha == 0.0:
        return params

    def axpy(w: Array, d: Array) -> Array:
        out = np.multiply(d, alpha)
        out += w
        return out

    return tree_map_elementwise(axpy, Params, params, direction)


def _lerp(state: Grads, grads: Grads, momentum: float) -> Grads:
    # m·v + (1 − m)·g, the exponential moving average.
    keep, take = momentum, 1.0 - momentum

    def lerp(v: Array, g: Array) -> Array:
        out = np.multiply(v, keep)
        out += np.multiply(g, take)
        return out

    return tree_map_elementwise(lerp, Grads, state, grads)


def _momentum(
    params: Params, velocity: Grads, grads: Grads, lr: float, momentum: float
) -> tuple[Params, MomentumState]:
    # v' = m·v + (1 − m)·g;  w' = w − lr·v'  (each entry rounded as in that formula).
    pf, vf, gf = params._flat, velocity._flat, grads._flat
    if lr == 0.0 or pf is None or vf is None or gf is None or not (pf[1] is vf[1] is gf[1]):
        new_velocity = _lerp(velocity, grads, momentum)
        return _axpy(-lr, new_velocity, params), MomentumState(new_velocity)
    w, v, g = pf[0], vf[0], gf[0]
    if not (w.dtype == v.dtype == g.dtype):
        new_velocity = _lerp(velocity, grads, momentum)
        return _axpy(-lr, new_velocity, params), MomentumState(new_velocity)
    # Speed (issue 6): the new velocity and parameters share one new block, and the
    # parameter half serves as the scratch for (1 − m)·g, so the update makes one
    # allocation and no temporary (fewer page faults on large models).
    n = w.size
    block = np.empty(2 * n, w.dtype)
    v_new, w_new = block[:n], block[n:]
    np.multiply(v, momentum, out=v_new)
    np.multiply(g, 1.0 - momentum, out=w_new)
    v_new += w_new
    np.multiply(v_new, -lr, out=w_new)
    w_new += w
    freeze(block)
    shapes = pf[1]
    return (
        tree_from_flat(w_new, shapes, Params),
        MomentumState(tree_from_flat(v_new, shapes, Grads)),
    )


def _check_lr(lr: float) -> float:
    return check_float("lr", lr, low=0.0)


def _check_momentum(momentum: float) -> float:
    return check_float("momentum", momentum, low=0.0, high=1.0, high_open=True)


def _check_like(name: str, tree: object, params: Params) -> None:
    # The plain-function steps are a boundary: a gradient or state shaped unlike the
    # parameters would otherwise broadcast into a silently different model.
    check_like_params(name, tree, params)


def _check_state(state: object, kind: type) -> None:
    if not isinstance(state, kind):
        raise TypeError(f"state must be a {kind.__name__}, got {type(state).__name__}")


def sgd_step(params: Params, grads: Grads, *, lr: float) -> Params:
    """Plain gradient descent: ``w' = w − lr·g``.

    >>> import numpy as np
    >>> from fmlp.records import Layer
    >>> p = Params((Layer(np.array([[1.0]]), np.array([0.0])),))
    >>> g = Grads((Layer(np.array([[2.0]]), np.array([1.0])),))
    >>> sgd_step(p, g, lr=0.25).layers[0]
    Layer(weights=array([[0.5]]), bias=array([-0.25]))
    """
    _check_like("grads", grads, params)
    return _axpy(-_check_lr(lr), grads, params)


@attrs.frozen
class SGDState:
    """SGD keeps no state."""


@attrs.frozen
class MomentumState:
    """The velocity ``v`` of momentum and Nesterov momentum (zeros at the start)."""

    velocity: Grads


def momentum_step(
    params: Params, state: MomentumState, grads: Grads, *, lr: float, momentum: float
) -> tuple[Params, MomentumState]:
    """The tutorial's momentum: ``v' = m·v + (1 − m)·g``;  ``w' = w − lr·v'``.

    With ``m = 0`` this is ``sgd_step``; with ``lr = 0`` the parameters do not move.

    >>> import numpy as np
    >>> from fmlp.records import Layer
    >>> p = Params((Layer(np.array([[1.0]]), np.array([0.0])),))
    >>> g = Grads((Layer(np.array([[1.0]]), np.array([1.0])),))
    >>> p2, s = momentum_step(p, Momentum().init(p), g, lr=1.0, momentum=0.9)
    >>> s.velocity.layers[0].weights, p2.layers[0].weights
    (array([[0.1]]), array([[0.9]]))
    """
    m = _check_momentum(momentum)
    _check_state(state, MomentumState)
    _check_like("grads", grads, params)
    _check_like("state.velocity", state.velocity, params)
    return _momentum(params, state.velocity, grads, _check_lr(lr), m)


def nesterov_lookahead(
    params: Params,
    state: MomentumState,
    *,
    lr: float,
    momentum: float,
    lookahead: Lookahead = "sutskever",
) -> Params:
    """Where Nesterov momentum takes its gradient.

    * ``"sutskever"`` (default): ``w − lr·m·v`` — the point the momentum part of
      the next update ``w − lr·(m·v + (1−m)·g)`` would reach (Sutskever et al. 2013,
      in this library's velocity convention). With ``m = 0`` it is ``w`` itself,
      so Nesterov reduces to SGD.
    * ``"tutorial"``: ``w − lr·v`` — the tutorial's look-ahead by the whole previous
      velocity. It looks further ahead (by ``lr·(1−m)·v`` more) and does *not*
      reduce to SGD at ``m = 0``.
    """
    m = _check_momentum(momentum)
    _check_state(state, MomentumState)
    _check_like("state.velocity", state.velocity, params)
    scale = m if lookahead == "sutskever" else 1.0
    if lookahead not in ("sutskever", "tutorial"):
        raise ValueError(f"lookahead must be 'sutskever' or 'tutorial', got {lookahead!r}")
    return _axpy(-_check_lr(lr) * scale, state.velocity, params)


def nesterov_step(
    params: Params,
    state: MomentumState,
    grad_fn: Callable[[Params], Grads],
    *,
    lr: float,
    momentum: float,
    lookahead: Lookahead = "sutskever",
) -> tuple[Params, MomentumState]:
    """Nesterov momentum: the gradient at the look-ahead point, then the momentum update.

    ``g = grad_fn(nesterov_lookahead(w, v))``;  ``v' = m·v + (1 − m)·g``;  ``w' = w − lr·v'``.
    See ``nesterov_lookahead`` for the two look-ahead forms.

    >>> import numpy as np
    >>> from fmlp.records import Layer
    >>> p = Params((Layer(np.array([[1.0]]), np.array([0.0])),))
    >>> grad_fn = lambda q: Grads(q.layers)  # the gradient of ½‖w‖²
    >>> p2, _ = nesterov_step(p, Momentum().init(p), grad_fn, lr=0.5, momentum=0.0)
    >>> p2.layers[0].weights
    array([[0.5]])
    """
    point = nesterov_lookahead(params, state, lr=lr, momentum=momentum, lookahead=lookahead)
    return momentum_step(params, state, grad_fn(point), lr=lr, momentum=momentum)


@attrs.frozen
class AdamState:
    """Adam's first and second moment estimates and the number of steps taken."""

    mu: Grads
    nu: Grads
    count: int = 0


def adam_step(
    params: Params,
    state: AdamState,
    grads: Grads,
    *,
    lr: float,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[Params, AdamState]:
    """Adam, with optional decoupled weight decay (AdamW).

    ``t = count + 1``;  ``μ' = b1·μ + (1 − b1)·g``;  ``ν' = b2·ν + (1 − b2)·g²``;
    ``μ̂ = μ'/(1 − b1^t)``;  ``ν̂ = ν'/(1 − b2^t)``;
    ``w' = w − lr·(μ̂ / (sqrt(ν̂) + eps) + weight_decay·w)``.

    >>> import numpy as np
    >>> from fmlp.records import Layer
    >>> p = Params((Layer(np.array([[1.0]]), np.array([0.0])),))
    >>> g = Grads((Layer(np.array([[4.0]]), np.array([0.0])),))
    >>> p2, s = adam_step(p, Adam().init(p), g, lr=0.1)
    >>> p2.layers[0].weights, s.count
    (array([[0.9]]), 1)
    """
    lr = _check_lr(lr)
    b1 = check_float("b1", b1, low=0.0, high=1.0, high_open=True)
    b2 = check_float("b2", b2, low=0.0, high=1.0, high_open=True)
    eps = check_float("eps", eps, low=0.0, low_open=True)
    weight_decay = check_float("weight_decay", weight_decay, low=0.0)
    _check_state(state, AdamState)
    _check_like("grads", grads, params)
    _check_like("state.mu", state.mu, params)
    _check_like("state.nu", state.nu, params)
    return _adam(params, state, grads, lr, b1, b2, eps, weight_decay)


def _adam(
    params: Params,
    state: AdamState,
    grads: Grads,
    lr: float,
    b1: float,
    b2: float,
    eps: float,
    weight_decay: float,
) -> tuple[Params, AdamState]:
    t = state.count + 1
    mu = _lerp(state.mu, grads, b1)

    def second_moment(v: Array, g: Array) -> Array:
        # b2·v + (1 − b2)·(g·g)
        out = np.multiply(g, g)
        out *= 1.0 - b2
        out += np.multiply(v, b2)
        return out

    nu = tree_map_elementwise(second_moment, Grads, state.nu, grads)
    c1, c2 = 1.0 / (1.0 - b1**t), 1.0 / (1.0 - b2**t)

    def update(w: Array, m: Array, v: Array) -> Array:
        # w − lr·((c1·m) / (sqrt(c2·v) + eps) + weight_decay·w)
        denom = np.multiply(v, c2)
        np.sqrt(denom, out=denom)
        denom += eps
        direction = np.multiply(m, c1)
        direction /= denom
        if weight_decay:
            direction += np.multiply(w, weight_decay)
        direction *= -lr
        direction += w
        return direction

    # lr = 0 leaves w bit-identical (w − 0·u can flip the sign of a zero weight).
    new_params = params if lr == 0.0 else tree_map_elementwise(update, Params, params, mu, nu)
    return new_params, AdamState(mu, nu, t)


# --- the same rules as Optimizer records ---------------------------------------------------


def _unit_interval(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    check_float(attribute.name, value, low=0.0, high=1.0, high_open=True)


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    check_float(attribute.name, value, low=0.0)


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    check_float(attribute.name, value, low=0.0, low_open=True)


@attrs.frozen
class SGD(Optimizer[SGDState]):
    """Plain gradient descent (see ``sgd_step``)."""

    def init(self, params: Params) -> SGDState:
        return SGDState()

    def apply(
        self, params: Params, state: SGDState, grads: Grads, lr: float
    ) -> tuple[Params, SGDState]:
        return _axpy(-lr, grads, params), state


@attrs.frozen
class Momentum(Optimizer[MomentumState]):
    """The tutorial's momentum (see ``momentum_step``); ``momentum`` in [0, 1)."""

    momentum: float = attrs.field(default=0.9, converter=real_to_float, validator=_unit_interval)

    def init(self, params: Params) -> MomentumState:
        return MomentumState(zeros_like(params))

    def apply(
        self, params: Params, state: MomentumState, grads: Grads, lr: float
    ) -> tuple[Params, MomentumState]:
        return _momentum(params, state.velocity, grads, lr, self.momentum)


@attrs.frozen
class Nesterov(Momentum):
    """Nesterov momentum (see ``nesterov_step``): momentum with a look-ahead gradient."""

    lookahead_form: Lookahead = attrs.field(default="sutskever", kw_only=True)

    @lookahead_form.validator
    def _check_form(self, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in ("sutskever", "tutorial"):
            raise ValueError(f"lookahead_form must be 'sutskever' or 'tutorial', got {value!r}")

    def lookahead(self, params: Params, state: MomentumState, lr: float) -> Params:
        scale = self.momentum if self.lookahead_form == "sutskever" else 1.0
        if scale == 0.0:
            return params
        alpha = -lr * scale
        pf, vf = params._flat, state.velocity._flat
        if alpha != 0.0 and pf is not None and vf is not None and pf[1] is vf[1]:
            w, v = pf[0], vf[0]
            if w.dtype == v.dtype:
                # _axpy's two operations on the flat buffers, without its generic plumbing.
                out = np.multiply(v, alpha)
                out += w
                return tree_from_flat(out, pf[1], Params)
        return _axpy(alpha, state.velocity, params)


@attrs.frozen
class Adam(Optimizer[AdamState]):
    """Adam / AdamW (see ``adam_step``)."""

    b1: float = attrs.field(default=0.9, converter=real_to_float, validator=_unit_interval)
    b2: float = attrs.field(default=0.999, converter=real_to_float, validator=_unit_interval)
    eps: float = attrs.field(default=1e-8, converter=real_to_float, validator=_positive)
    weight_decay: float = attrs.field(default=0.0, converter=real_to_float, validator=_non_negative)

    def init(self, params: Params) -> AdamState:
        return AdamState(zeros_like(params), zeros_like(params), 0)

    def apply(
        self, params: Params, state: AdamState, grads: Grads, lr: float
    ) -> tuple[Params, AdamState]:
        return _adam(params, state, grads, lr, self.b1, self.b2, self.eps, self.weight_decay)
