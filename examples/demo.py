"""The main demo: the tutorial's story in five stages, then two real problems.

Runs ``stage1_vanilla`` … ``stage5_package`` on the tutorial's workload, prints a
table (final loss, best loss, the level of the last 50 steps, steps to reach a
common threshold, wall time), writes one figure per stage plus one comparison
figure, then trains the two real problems (``digits_mnist``, ``house_prices``).
Everything is seeded: the numbers are the same on every run.

Run: ``python examples/demo.py [--steps N] [--out FOLDER] [--story-only]``
(``make demo`` does this in a fresh virtual environment).
"""

from __future__ import annotations

import os

# The matrices here are small (64 × 1000 at most): BLAS threads cost more than they
# save, and on a busy 2-core machine they cost a lot. Must be set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import csv
import time
from pathlib import Path

import digits_mnist
import house_prices
import stage1_vanilla
import stage2_clip_decay
import stage3_momentum
import stage4_nesterov
import stage5_package
from story import DEFAULT_OUT, THRESHOLD, StageResult, describe, plot


def table(results: list[StageResult]) -> str:
    """The printed summary: one row per run."""
    head = (
        f"{'stage':<50} {'final loss':>11} {'best loss':>10} {'last-50 level':>13} "
        f"{'steps to ' + format(THRESHOLD, 'g'):>13} {'wall s':>7}"
    )
    rows = [head, "-" * len(head)]
    for r in results:
        reach = r.steps_to()
        final = f"diverged@{r.diverged_at}" if r.diverged else f"{r.final:.4g}"
        level = "—" if r.diverged else f"{r.tail_level:.4g}"
        rows.append(
            f"{r.name:<50} {final:>11} {r.best:>10.4g} {level:>13} "
            f"{'never' if reach is None else str(reach):>13} {r.seconds:>7.2f}"
        )
    return "\n".join(rows)


def write_summary(results: list[StageResult], path: Path) -> Path:
    """The table as CSV (what the tests read)."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["stage", "final", "best", "level", "steps_to_threshold", "diverged_at"])
        for r in results:
            writer.writerow([r.name, r.final, r.best, r.tail_level, r.steps_to(), r.diverged_at])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=500, help="steps per stage (default 500)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the figures")
    parser.add_argument(
        "--story-only", action="store_true", help="skip the two real problems (MNIST, houses)"
    )
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    print(f"The tutorial's story: {args.steps} full-batch steps per stage; figures in {out}/")

    s1 = stage1_vanilla.run(args.steps)
    print(describe(s1))
    plot([s1], out / "stage1_vanilla.png", "Stage 1: vanilla gradient descent explodes")
    s2 = stage2_clip_decay.run(args.steps)
    print(describe(s2))
    plot([s2], out / "stage2_clip_decay.png", "Stage 2: clip to [−1, 1], lr = 1/(t+100)")
    s3 = stage3_momentum.run(args.steps)
    print(describe(s3))
    plot([s3], out / "stage3_momentum.png", "Stage 3: + momentum 0.9")
    s4 = stage4_nesterov.run(args.steps)
    print(stage4_nesterov.report(s4))
    plot(s4.runs, out / "stage4_nesterov.png", "Stage 4: Nesterov + leaky ReLU")
    stage4_nesterov.plot_check(s4.check, out / "stage4_gradient_check.png")
    s5 = stage5_package.run(args.steps)
    print(describe(s5))
    plot([s5], out / "stage5_package.png", "Stage 5: make_step + fold (= stage 4)")

    results = [s1, s2, s3, *s4.runs, s5]
    plot(results, out / "story.png", "The tutorial's story, all stages")
    write_summary(results, out / "summary.csv")
    print()
    print(table(results))
    print(f"stage 5 reproduces stage 4 exactly: {s5.losses == s4.sutskever.losses}")

    if not args.story_only:
        print("\nReal problem 1: MNIST-5k digits, validation set and early stopping")
        mnist = digits_mnist.run("mnist")
        print(digits_mnist.report(mnist))
        digits_mnist.plot(mnist, out / "mnist.png")
        print("\nReal problem 2: house prices, a loss that matches how prices are judged")
        houses = house_prices.run()
        print(house_prices.report(houses))
        print(house_prices.report_bands(houses))
        house_prices.plot(houses, out / "house_prices.png")

    figures = sorted(p.name for p in out.glob("*.png"))
    print(f"\nwrote {len(figures)} figures to {out}/: {', '.join(figures)}")
    print(f"total time {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
