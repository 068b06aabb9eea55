"""Stage 3: add momentum.

The tutorial's momentum is an exponential moving average of the (clipped)
gradients: ``v ← m·v + (1 − m)·g`` with ``m = 0.9``, then ``w ← w − lr·v``
(``fmlp.Momentum(0.9)``). Clipping and the 1/(t+100) decay stay. Averaging
cancels the sign flips that made stage 2 saw-toothed, so the loss falls faster
and to a lower value.

Run: ``python examples/stage3_momentum.py [--steps N] [--out FOLDER]``.
"""

from __future__ import annotations

from story import (
    StageResult,
    main,
    run_stage,
    tutorial_data,
    tutorial_mlp,
    tutorial_params,
)

import fmlp

NAME = "3 + momentum 0.9"


def run(steps: int = 500) -> StageResult:
    """Clipped gradients, 1/(t+100) decay, momentum ``v' = 0.9·v + 0.1·g``."""
    mlp = tutorial_mlp(fmlp.relu)
    return run_stage(
        NAME,
        mlp,
        tutorial_params(mlp),
        tutorial_data(),
        fmlp.Momentum(0.9),
        fmlp.TUTORIAL_DECAY,
        steps=steps,
        clip=1.0,
    )


if __name__ == "__main__":
    main(__doc__ or "", run, "stage3_momentum.png", "Stage 3: momentum")
