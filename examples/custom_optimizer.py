"""Write your own optimizer against fmlp's ``Optimizer`` protocol and property-test it.

RMSprop, which fmlp does not ship, in about twenty lines; then ``check_optimizer``
lets hypothesis hunt for a counterexample to each optimizer law. Two broken
optimizers show what a violation looks like: one updates its state in place,
one silently turns float32 parameters into float64.

Run it with ``python examples/custom_optimizer.py`` (needs ``fmlp[testing]``);
``tests/test_example_custom_optimizer.py`` runs the same checks in CI.
"""

from __future__ import annotations

from typing import TypeVar

import attrs
import numpy as np

import fmlp
from fmlp.testing import LawViolation, check_optimizer

S = TypeVar("S")


@attrs.frozen
class RMSpropState:
    mean_square: fmlp.Grads  # running mean of g², shaped like the params


@attrs.frozen
class RMSprop(fmlp.Optimizer[RMSpropState]):
    """``s' = ρ·s + (1 − ρ)·g²``;  ``w' = w − lr·g / (sqrt(s') + eps)``."""

    rho: float = 0.9
    eps: float = 1e-8

    def init(self, params: fmlp.Params) -> RMSpropState:
        return RMSpropState(fmlp.zeros_like(params))

    def apply(
        self, params: fmlp.Params, state: RMSpropState, grads: fmlp.Grads, lr: float
    ) -> tuple[fmlp.Params, RMSpropState]:
        rho, eps = self.rho, self.eps
        ms = fmlp.tree_map(
            lambda s, g: rho * s + (1.0 - rho) * g * g, fmlp.Grads, state.mean_square, grads
        )
        new = fmlp.tree_map(
            lambda w, g, s: w - lr * g / (np.sqrt(s) + eps), fmlp.Params, params, grads, ms
        )
        return new, RMSpropState(ms)


# --- two broken optimizers, and the law each one breaks -------------------------------------


@attrs.define
class BufferState:
    velocity: list[fmlp.Array]  # the optimizer's own writable buffers


@attrs.frozen
class InPlaceMomentum(fmlp.Optimizer[BufferState]):
    """Momentum that updates its velocity buffers in place: breaks ``"no_mutation"``."""

    momentum: float = 0.9

    def init(self, params: fmlp.Params) -> BufferState:
        return BufferState([np.zeros_like(a) for a in params.arrays()])

    def apply(
        self, params: fmlp.Params, state: BufferState, grads: fmlp.Grads, lr: float
    ) -> tuple[fmlp.Params, BufferState]:
        for v, g in zip(state.velocity, grads.arrays(), strict=True):
            v *= self.momentum  # the caller's state changes under their feet
            v += (1.0 - self.momentum) * g
        arrays = [w - lr * v for w, v in zip(params.arrays(), state.velocity, strict=True)]
        layers = (fmlp.Layer(w, b) for w, b in zip(arrays[::2], arrays[1::2], strict=True))
        return fmlp.Params(tuple(layers)), state


@attrs.frozen
class UpcastingAdamax(fmlp.Optimizer[fmlp.AdamState]):
    """Adamax with a numpy-scalar bias correction, which upcasts float32: breaks ``"structure"``."""

    b1: float = 0.9
    b2: float = 0.999

    def init(self, params: fmlp.Params) -> fmlp.AdamState:
        return fmlp.AdamState(fmlp.zeros_like(params), fmlp.zeros_like(params), 0)

    def apply(
        self, params: fmlp.Params, state: fmlp.AdamState, grads: fmlp.Grads, lr: float
    ) -> tuple[fmlp.Params, fmlp.AdamState]:
        b1, b2, t = self.b1, self.b2, state.count + 1
        mu = fmlp.tree_map(lambda m, g: b1 * m + (1 - b1) * g, fmlp.Grads, state.mu, grads)
        nu = fmlp.tree_map(lambda u, g: np.maximum(b2 * u, np.abs(g)), fmlp.Grads, state.nu, grads)
        correction = 1.0 / (1.0 - np.power(b1, t))  # a float64 numpy scalar, not a Python float
        new = fmlp.tree_map(
            lambda w, m, u: w - lr * correction * m / (u + 1e-8), fmlp.Params, params, mu, nu
        )
        return new, fmlp.AdamState(mu, nu, t)


def show_violation(broken: fmlp.Optimizer[S]) -> None:
    try:
        check_optimizer(broken)
    except LawViolation as violation:
        print(f"\n{type(broken).__name__} breaks {violation.law!r}:\n{violation}")


def main() -> None:
    check_optimizer(RMSprop())
    print("RMSprop obeys every law")
    show_violation(InPlaceMomentum())
    show_violation(UpcastingAdamax())


if __name__ == "__main__":
    main()
