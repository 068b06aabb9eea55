"""Stage 2: clip every gradient entry to [−1, 1] and decay the learning rate.

``g ← clip(g, −1, 1)`` entry by entry (``make_step(..., clip=1.0)``) and
``lr(t) = 1/(t + 100)`` for ``t = 0, 1, …`` (``fmlp.TUTORIAL_DECAY``); the
update is still ``w ← w − lr·g``. The loss now falls instead of exploding.

Because almost every raw gradient entry is far larger than 1, clipping turns
the step into (nearly) sign descent: every weight moves by about ``lr`` per step,
so the loss falls in a noisy, saw-tooth way (the tutorial remarks on the swings
too). Its best value and the median of the last steps say more than the last
value alone.

Run: ``python examples/stage2_clip_decay.py [--steps N] [--out FOLDER]``.
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

NAME = "2 clip ±1 + lr 1/(t+100)"


def run(steps: int = 500) -> StageResult:
    """Gradient descent on clipped gradients with the tutorial's 1/(t+100) decay."""
    mlp = tutorial_mlp(fmlp.relu)
    return run_stage(
        NAME,
        mlp,
        tutorial_params(mlp),
        tutorial_data(),
        fmlp.SGD(),
        fmlp.TUTORIAL_DECAY,
        steps=steps,
        clip=1.0,
    )


if __name__ == "__main__":
    main(__doc__ or "", run, "stage2_clip_decay.png", "Stage 2: clip + decay")
