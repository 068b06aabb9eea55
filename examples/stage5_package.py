"""Stage 5: the clean package — stage 4's run as a composed step and a fold.

``make_step`` composes gradient, clipping, schedule and optimizer into one pure
``step(state, batch) -> state``; training is a left fold of it over the batches
(here: the one full batch, 500 times). ``itertools.accumulate`` is the same fold
keeping every intermediate state, which gives the loss curve. The run is
bit-for-bit stage 4's (Nesterov 0.9, leaky ReLU, clip, 1/(t+100)). The tutorial's
own stage 5 went back to plain momentum; pass ``fmlp.Momentum(0.9)`` to get it.

Run: ``python examples/stage5_package.py [--steps N] [--out FOLDER]``.
"""

from __future__ import annotations

import itertools
import time

from story import StageResult, main, tutorial_data

import fmlp

NAME = "5 package: make_step + fold"


def run(steps: int = 500, optimizer: fmlp.Momentum | None = None) -> StageResult:
    """Stage 4 in a handful of lines: ``fold(make_step(...), init_state(...), batches)``."""
    data = tutorial_data()
    # --- the whole training run --------------------------------------------------------
    mlp = fmlp.MLP((1000, 100, 10), hidden=fmlp.TUTORIAL_LEAKY_RELU, bias=False)
    loss = fmlp.SquaredError(reduction="sum")
    opt = optimizer or fmlp.Nesterov(0.9)
    step = fmlp.make_step(mlp, loss, opt, fmlp.TUTORIAL_DECAY, clip=1.0)
    first = fmlp.init_state(fmlp.init(mlp, seed=0, scheme="normal"), opt)
    last = fmlp.fold(step, first, itertools.repeat(data, steps))
    # --- the same fold as a scan (every intermediate state), for the loss curve --------
    start = time.perf_counter()
    monitor = fmlp.ValidationLoss(mlp, loss, data)
    losses, state = [], first
    for state in itertools.accumulate(itertools.repeat(data, steps), step, initial=first):
        losses.append(monitor(state.params))
    assert state == last  # pure and deterministic: the same run twice, bit for bit
    return StageResult(NAME, tuple(losses), time.perf_counter() - start)


if __name__ == "__main__":
    main(__doc__ or "", run, "stage5_package.png", "Stage 5: make_step + fold")
