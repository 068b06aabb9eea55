"""Stage 1: vanilla gradient descent explodes.

The tutorial's exact workload (see ``story.py``): full batch, the sum of squared
errors, 500 steps of ``w ← w − lr·g`` with a constant ``lr = 1e-5``. The gradient
grows faster than the step can correct it; within a few steps the loss
overflows. fmlp's step raises ``DivergedError`` naming the step and the last
finite loss, instead of carrying NaN through the remaining steps.

Run: ``python examples/stage1_vanilla.py [--steps N] [--out FOLDER]``.
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

NAME = "1 vanilla GD, lr 1e-5"


def run(steps: int = 500) -> StageResult:
    """Plain gradient descent with a constant learning rate: ``w' = w − 1e-5·g``."""
    mlp = tutorial_mlp(fmlp.relu)
    return run_stage(
        NAME,
        mlp,
        tutorial_params(mlp),
        tutorial_data(),
        fmlp.SGD(),
        fmlp.Constant(1e-5),
        steps=steps,
    )


if __name__ == "__main__":
    main(__doc__ or "", run, "stage1_vanilla.png", "Stage 1: vanilla GD explodes")
