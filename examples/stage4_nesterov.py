"""Stage 4: Nesterov momentum and leaky ReLU, with the tutorial's two slips made visible.

Nesterov momentum takes the gradient at a look-ahead point, then updates as in
stage 3 (``fmlp.Nesterov(0.9)``)::

    w̃ = look-ahead(w, v)       g = clip(∇L(w̃), −1, 1)
    v ← m·v + (1 − m)·g         w ← w − lr·v

Two look-ahead forms, run side by side:

* ``lookahead_form="sutskever"`` (fmlp's default): ``w̃ = w − lr·m·v``, the point the
  momentum part of the next update reaches (it reduces to SGD when ``m = 0``);
* ``lookahead_form="tutorial"``: ``w̃ = w − lr·v``, the tutorial's look-ahead by the
  whole previous velocity.

The hidden activation becomes the leaky ReLU ``f(z) = max(z, 0.1·z)``
(``fmlp.TUTORIAL_LEAKY_RELU``), whose exact derivative is ``1`` where ``z > 0``
and ``0.1`` elsewhere. The tutorial's backward pass instead wrote
``np.where(grad > 0, grad, 0.1·grad)``: it switches on the sign of the
*incoming gradient*, not of ``z``. A central finite-difference check shows
which one is the gradient; a third run trains with the tutorial's code as
written (its look-ahead and its backward pass), built from fmlp's plain-function
forms ``nesterov_lookahead``, ``clip`` and ``momentum_step``.

Run: ``python examples/stage4_nesterov.py [--steps N] [--out FOLDER]``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import attrs
import matplotlib.pyplot as plt
import numpy as np
from story import (
    LOSS,
    StageResult,
    arguments,
    describe,
    plot,
    run_stage,
    tutorial_data,
    tutorial_mlp,
    tutorial_params,
)

import fmlp

NAME = "4 Nesterov + leaky ReLU"
NAME_TUTORIAL_LOOKAHEAD = "4b same, look-ahead w − lr·v"
NAME_AS_WRITTEN = "4c tutorial as written (w − lr·v, buggy backward)"
MOMENTUM = 0.9


def tutorial_grads(params: fmlp.Params, data: fmlp.Dataset) -> fmlp.Grads:
    """The tutorial's backward pass for 1000 → 100 → 10 with leaky ReLU (bug included).

    Identical to the exact gradient except at the hidden layer, where the slope
    is chosen by the sign of the incoming gradient ``∂L/∂a`` instead of ``z``.
    """
    w1, w2 = params.layers[0].weights, params.layers[1].weights
    z = data.x @ w1
    a = np.maximum(z, 0.1 * z)
    d_out = 2.0 * (a @ w2 - data.y)  # the sum of squared errors: no 1/n
    d_a = d_out @ w2.T
    d_z = np.where(d_a > 0, d_a, 0.1 * d_a)  # the bug: should be np.where(z > 0, d_a, 0.1 * d_a)
    return fmlp.Grads(
        (
            fmlp.Layer(data.x.T @ d_z, np.zeros(w1.shape[1])),
            fmlp.Layer(a.T @ d_out, np.zeros(w2.shape[1])),
        )
    )


@attrs.frozen
class GradientCheck:
    """Central finite differences ``(L(w + h·e) − L(w − h·e)) / 2h`` at chosen entries of W1.

    ``fraction_wrong`` is the share of the 64 × 100 hidden pre-activations ``z``
    at which the tutorial's backward pass uses the wrong slope (the sign of
    ``∂L/∂a`` differs from the sign of ``z``); every W1 entry sums over them.
    """

    finite_difference: tuple[float, ...]
    exact: tuple[float, ...]
    tutorial: tuple[float, ...]
    fraction_wrong: float

    @staticmethod
    def _error(approx: tuple[float, ...], reference: tuple[float, ...]) -> float:
        a, r = np.array(approx), np.array(reference)
        return float(np.max(np.abs(a - r) / np.maximum(np.abs(r), 1e-12)))

    @property
    def exact_error(self) -> float:
        """Largest relative error of fmlp's gradient against finite differences."""
        return self._error(self.exact, self.finite_difference)

    @property
    def tutorial_error(self) -> float:
        """Largest relative error of the tutorial's gradient against finite differences."""
        return self._error(self.tutorial, self.finite_difference)


def gradient_check(
    mlp: fmlp.MLP, params: fmlp.Params, data: fmlp.Dataset, *, entries: int = 12, h: float = 1e-4
) -> GradientCheck:
    """Compare both gradients with finite differences at the W1 entries where they differ most.

    ``entries`` entries where the two disagree most, plus as many random ones.
    """
    exact = fmlp.grad(mlp, params, data.x, data.y, LOSS).layers[0].weights
    buggy = tutorial_grads(params, data).layers[0].weights
    gap = np.abs(buggy - exact)
    w1, rest = params.layers[0], params.layers[1:]
    z = data.x @ w1.weights
    d_a = 2.0 * (fmlp.forward(mlp, params, data.x) - data.y) @ rest[0].weights.T
    wrong = (z > 0) != (d_a > 0)
    rng = np.random.default_rng(1)
    chosen = np.concatenate(
        [np.argsort(gap, axis=None)[-entries:], rng.choice(exact.size, entries, replace=False)]
    )
    fd = []
    for flat in chosen:
        index = np.unravel_index(flat, exact.shape)
        values = []
        for sign in (1.0, -1.0):
            w = w1.weights.copy()
            w[index] += sign * h
            moved = fmlp.Params((fmlp.Layer(w, w1.bias), *rest))
            values.append(fmlp.evaluate(mlp, moved, data.x, data.y, LOSS))
        fd.append((values[0] - values[1]) / (2 * h))
    pick = np.unravel_index(chosen, exact.shape)
    return GradientCheck(
        tuple(fd),
        tuple(exact[pick].tolist()),
        tuple(buggy[pick].tolist()),
        float(wrong.mean()),
    )


def run_as_written(steps: int) -> StageResult:
    """The tutorial's stage 4 loop: look-ahead ``w − lr·v``, buggy backward, clip, momentum."""
    mlp = tutorial_mlp(fmlp.TUTORIAL_LEAKY_RELU)
    data = tutorial_data()
    params = tutorial_params(mlp)
    state = fmlp.Momentum(MOMENTUM).init(params)
    monitor = fmlp.ValidationLoss(mlp, LOSS, data)
    losses = [monitor(params)]
    start = time.perf_counter()
    for t in range(steps):
        lr = fmlp.TUTORIAL_DECAY(t)
        point = fmlp.nesterov_lookahead(
            params, state, lr=lr, momentum=MOMENTUM, lookahead="tutorial"
        )
        grads = fmlp.clip(tutorial_grads(point, data), 1.0)
        params, state = fmlp.momentum_step(params, state, grads, lr=lr, momentum=MOMENTUM)
        losses.append(monitor(params))
    return StageResult(NAME_AS_WRITTEN, tuple(losses), time.perf_counter() - start)


@attrs.frozen
class NesterovStage:
    """Stage 4's three runs and the gradient check."""

    sutskever: StageResult
    tutorial_lookahead: StageResult
    as_written: StageResult
    check: GradientCheck

    @property
    def runs(self) -> tuple[StageResult, StageResult, StageResult]:
        return (self.sutskever, self.tutorial_lookahead, self.as_written)


def run(steps: int = 500) -> NesterovStage:
    """Nesterov momentum 0.9 on clipped gradients, 1/(t+100) decay, leaky ReLU (slope 0.1)."""
    mlp = tutorial_mlp(fmlp.TUTORIAL_LEAKY_RELU)
    params, data = tutorial_params(mlp), tutorial_data()

    def nesterov(name: str, form: fmlp.Lookahead) -> StageResult:
        optimizer = fmlp.Nesterov(MOMENTUM, lookahead_form=form)
        return run_stage(
            name, mlp, params, data, optimizer, fmlp.TUTORIAL_DECAY, steps=steps, clip=1.0
        )

    return NesterovStage(
        nesterov(NAME, "sutskever"),
        nesterov(NAME_TUTORIAL_LOOKAHEAD, "tutorial"),
        run_as_written(steps),
        gradient_check(mlp, params, data),
    )


def report(stage: NesterovStage) -> str:
    """The three runs and the gradient check, as console lines."""
    check = stage.check
    lines = [describe(r) for r in stage.runs]
    lines.append(
        f"gradient check at w_0 (central differences on {len(check.exact)} entries of W1): "
        f"fmlp's exact gradient max relative error {check.exact_error:.1e}; "
        f"the tutorial's backward pass {check.tutorial_error:.1e} "
        f"(it takes the wrong slope at {check.fraction_wrong:.0%} of the hidden units' "
        "pre-activations)"
    )
    return "\n".join(lines)


def plot_check(check: GradientCheck, path: Path) -> Path:
    """Finite differences against both gradients: the exact one lies on the diagonal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4.2, 3.8), dpi=80)
    fd = np.array(check.finite_difference)
    ax.plot(fd, np.array(check.exact), "o", label="fmlp (exact)", markersize=5)
    ax.plot(fd, np.array(check.tutorial), "x", label="tutorial's backward", markersize=6)
    span = float(np.max(np.abs(fd))) * 1.1 or 1.0
    ax.plot([-span, span], [-span, span], color="grey", linewidth=0.6)
    ax.set_xlabel("finite difference ∂L/∂W1[i,j]")
    ax.set_ylabel("gradient from backprop")
    ax.set_title("Leaky-ReLU backward: which is right?", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


if __name__ == "__main__":
    args = arguments(__doc__ or "")
    stage = run(args.steps)
    print(report(stage))
    print("figure:", plot(stage.runs, args.out / "stage4_nesterov.png", "Stage 4: Nesterov"))
    print("figure:", plot_check(stage.check, args.out / "stage4_gradient_check.png"))
    assert math.isfinite(stage.sutskever.final)
