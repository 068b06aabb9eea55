"""What the five stage scripts share: the tutorial's workload, one monitored run, the plots.

The tutorial's workload: ``x ~ N(0, 1)`` of shape (64, 1000), ``y ~ N(0, 1)`` of
shape (64, 10), a 1000 → 100 → 10 network without biases whose weights are drawn
from a standard normal, trained full-batch on the **sum** of squared errors
(``fmlp.SquaredError(reduction="sum")``: the tutorial back-propagates ``2(ŷ − y)``
without dividing by the batch size; with a mean, lr = 1e-5 would not diverge).

What we plot and tabulate is the plain training loss at the parameters after
each step, ``L(w_t) = Σ (ŷ − y)²`` for ``t = 0, 1, …, steps`` (the tutorial plots
an odd metric instead: the mean over samples of ``sqrt(Σ_outputs ((ŷ − y)²)²)``).
Taking it at ``w_t`` matters for Nesterov momentum, whose step computes its
loss at the look-ahead point, not at the parameters.
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import attrs
import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt
import numpy as np

import fmlp

S = TypeVar("S")

#: The tutorial's sizes: 64 samples, 1000 inputs, 100 hidden units, 10 outputs.
SAMPLES, INPUTS, HIDDEN, OUTPUTS = 64, 1000, 100, 10
#: The tutorial minimises the sum of squared errors over the whole batch.
LOSS = fmlp.SquaredError(reduction="sum")
#: Steps to reach this loss are compared across stages (a mean squared error of 1.56).
THRESHOLD = 1000.0
#: Where the figures go unless told otherwise (``out/`` is not committed).
DEFAULT_OUT = Path("out/figures")
#: The seed of the data and of the initial weights.
SEED = 0


def tutorial_data(seed: int = SEED) -> fmlp.Dataset:
    """The tutorial's random regression problem, checked and frozen by ``fmlp.prepare``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((SAMPLES, INPUTS))
    y = rng.standard_normal((SAMPLES, OUTPUTS))
    return fmlp.prepare(x, y, n_inputs=INPUTS, n_outputs=OUTPUTS, loss=LOSS)


def tutorial_mlp(hidden: fmlp.Activation = fmlp.relu) -> fmlp.MLP:
    """1000 → 100 → 10, no biases (the tutorial has none), identity output."""
    return fmlp.MLP((INPUTS, HIDDEN, OUTPUTS), hidden=hidden, bias=False)


def tutorial_params(mlp: fmlp.MLP, seed: int = SEED) -> fmlp.Params:
    """Standard-normal initial weights, as in the tutorial."""
    return fmlp.init(mlp, seed=seed, scheme="normal")


@attrs.frozen
class StageResult:
    """One training run: ``losses[t]`` is the loss after ``t`` steps (``losses[0]`` at start).

    If training diverged, ``diverged`` holds fmlp's message and ``losses`` ends
    with the last finite loss.
    """

    name: str
    losses: tuple[float, ...]
    seconds: float
    diverged: str | None = None
    diverged_at: int | None = None

    @property
    def final(self) -> float:
        """The loss after the last step taken (infinity if training diverged)."""
        return math.inf if self.diverged else self.losses[-1]

    @property
    def best(self) -> float:
        return min(self.losses)

    @property
    def tail_level(self) -> float:
        """The geometric mean of the last 50 losses: the level, whatever the last step's parity."""
        return math.inf if self.diverged else geometric_mean(self.losses[-50:])

    def steps_to(self, threshold: float = THRESHOLD) -> int | None:
        """The first ``t`` with ``losses[t] <= threshold``, or None if never."""
        return next((t for t, v in enumerate(self.losses) if v <= threshold), None)


def run_stage(
    name: str,
    mlp: fmlp.MLP,
    params: fmlp.Params,
    data: fmlp.Dataset,
    optimizer: fmlp.Optimizer[S],
    schedule: fmlp.Schedule,
    *,
    steps: int,
    clip: float | None = None,
) -> StageResult:
    """Take ``steps`` full-batch steps of ``make_step(...)``, recording ``L(w_t)`` after each.

    fmlp's own ``DivergedError`` ends the run; its message is kept in the result.
    """
    step = fmlp.make_step(mlp, LOSS, optimizer, schedule, clip=clip)
    monitor = fmlp.ValidationLoss(mlp, LOSS, data)  # L(w) on the training batch
    state = fmlp.init_state(params, optimizer)
    losses = [monitor(params)]
    start = time.perf_counter()
    try:
        for _ in range(steps):
            state = step(state, data)
            with np.errstate(over="ignore", invalid="ignore"):
                value = monitor(state.params)
            if not math.isfinite(value):
                # The next step would raise; let fmlp say so in its own words.
                step(state, data)
            losses.append(value)
    except fmlp.DivergedError as err:
        return StageResult(name, tuple(losses), time.perf_counter() - start, str(err), err.step)
    return StageResult(name, tuple(losses), time.perf_counter() - start)


def describe(result: StageResult) -> str:
    """One line for the console: divergence, or final / best loss."""
    if result.diverged:
        return f"{result.name}: DIVERGED — {result.diverged}"
    reach = result.steps_to()
    reached = f"reached {THRESHOLD:g} at step {reach}" if reach is not None else "never reached"
    return (
        f"{result.name}: final loss {result.final:.4g}, best {result.best:.4g}, "
        f"level of the last 50 steps {result.tail_level:.4g}, {reached} "
        f"({result.seconds:.2f} s)"
    )


#: Width of the running level drawn over each loss curve.
WINDOW = 25


def geometric_mean(values: Sequence[float]) -> float:
    """``exp(mean(log v))``: the typical level of a curve plotted on a log scale.

    A loss that alternates between two levels from one step to the next (as clipped
    steps make it do) gets the level midway between them on the plot.
    """
    return math.exp(float(np.mean(np.log(values))))


def running_level(values: Sequence[float]) -> list[float]:
    """``geometric_mean`` over a centred window of up to ``WINDOW`` steps around every ``t``.

    The window shrinks symmetrically near both ends, so the curve starts at ``values[0]``.
    """
    n = len(values)
    half = [min(WINDOW // 2, t, n - 1 - t) for t in range(n)]
    return [geometric_mean(values[t - h : t + h + 1]) for t, h in enumerate(half)]


def plot(results: Sequence[StageResult], path: Path, title: str) -> Path:
    """Loss curves on a log scale; a cross marks the last finite loss of a diverged run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7.2, 3.8), dpi=80)
    longest = max(len(r.losses) for r in results)
    # With converging runs on the same axes, cut a diverging curve off above their start.
    converging = [max(r.losses) for r in results if not r.diverged]
    top = 100 * max(converging) if converging else math.inf
    for result, style in zip(results, itertools.cycle(["-", "--", "-.", ":"]), strict=False):
        if result.diverged:
            # A few steps that grow by orders of magnitude: draw them as they are.
            (line,) = ax.plot(result.losses, style, linewidth=1.6, label=result.name)
            t, last = len(result.losses) - 1, min(result.losses[-1], top)
            ax.plot([t], [last], "x", color=line.get_color(), markersize=9)
            ax.annotate(
                f"step {t}: loss {result.losses[-1]:.2g}; overflow at step {result.diverged_at}",
                (t, last),
                textcoords="offset points",
                # Text on whichever side of the cross has room.
                xytext=(-10, -4) if t > longest / 2 else (10, -4),
                horizontalalignment="right" if t > longest / 2 else "left",
                fontsize=8,
            )
            continue
        # Clipped steps flip sign from one step to the next, so the raw curve is a band;
        # a bold running geometric mean shows the trend, the faint raw curve every step.
        (line,) = ax.plot(result.losses, linewidth=0.6, alpha=0.35)
        level = running_level(result.losses)
        ax.plot(level, style, color=line.get_color(), linewidth=1.6, label=result.name)
    ax.axhline(THRESHOLD, color="grey", linewidth=0.6, linestyle=":")
    ax.set_yscale("log")
    if math.isfinite(top):
        ax.set_ylim(min(min(r.losses) for r in results) / 10, top)
    ax.set_xlabel("step t")
    ax.set_ylabel("training loss L(w_t) = Σ (ŷ − y)²")
    if converging:
        title += f"\n(bold: geometric mean over {WINDOW} steps; faint: every step)"
    ax.set_title(title, fontsize=9)
    # Converging curves leave the upper right empty; a diverging one the upper left.
    ax.legend(fontsize=7.5, loc="upper right" if converging else "upper left")
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def arguments(description: str, steps: int = 500) -> argparse.Namespace:
    """``--steps`` and ``--out`` for every stage script."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--steps", type=int, default=steps, help="training steps (default 500)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the figure")
    return parser.parse_args()


def main(description: str, run: Callable[[int], StageResult], figure: str, title: str) -> None:
    """What a one-run stage script does when run: train, print the result, draw its figure."""
    args = arguments(description)
    result = run(args.steps)
    print(describe(result))
    print("figure:", plot([result], args.out / figure, title))
