"""Smoke tests of the examples: run each script as a reader would and check what it says.

Each script runs in a subprocess (``python -W error``: any warning fails it) with a
small budget; the tests read its printed lines and the files it writes. The
stage scripts share ``examples/story.py``; ``examples/demo.py`` runs them all.
"""

from __future__ import annotations

import csv
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_example(script: str, *args: str) -> str:
    """Run ``examples/<script>`` with ``args``; return its standard output (it must succeed)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def assert_small_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert path.stat().st_size < 100_000, f"{path} is {path.stat().st_size} bytes"


def number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"no match for {pattern!r} in:\n{text}"
    return float(match.group(1))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("figures")
    return run_example("demo.py", "--steps", "150", "--story-only", "--out", str(out)), out


def summary(out: Path) -> dict[str, dict[str, str]]:
    with (out / "summary.csv").open(newline="") as f:
        return {row["stage"].split()[0]: row for row in csv.DictReader(f)}


def test_demo_writes_every_figure_small(demo: tuple[str, Path]) -> None:
    text, out = demo
    names = [
        "stage1_vanilla",
        "stage2_clip_decay",
        "stage3_momentum",
        "stage4_nesterov",
        "stage4_gradient_check",
        "stage5_package",
        "story",
    ]
    for name in names:
        assert_small_png(out / f"{name}.png")
    assert f"wrote {len(names)} figures to {out}" in text


def test_stage1_reports_divergence_with_step_and_last_finite_loss(demo: tuple[str, Path]) -> None:
    text, out = demo
    line = next(line for line in text.splitlines() if line.startswith("1 vanilla"))
    assert "DIVERGED" in line
    step = number(r"diverged at epoch 0, step (\d+)", line)
    last = number(r"last finite loss ([0-9.e+]+)", line)
    assert 1 <= step < 150 and math.isfinite(last) and last > 1e10
    assert summary(out)["1"]["diverged_at"] == str(int(step))


def test_every_fix_improves_on_the_one_before(demo: tuple[str, Path]) -> None:
    rows = summary(demo[1])
    level = {k: float(v["level"]) for k, v in rows.items()}
    final = {k: float(v["final"]) for k, v in rows.items()}
    assert math.isinf(final["1"])
    assert level["3"] < level["2"] and final["3"] < final["2"]
    assert level["4"] < level["3"] and final["4"] < final["3"]
    assert final["4"] < final["2"]


def test_stage5_is_stage4_bit_for_bit(demo: tuple[str, Path]) -> None:
    text, out = demo
    rows = summary(out)
    assert rows["5"]["final"] == rows["4"]["final"]
    assert "stage 5 reproduces stage 4 exactly: True" in text


def test_gradient_check_exposes_the_tutorials_leaky_relu_bug(demo: tuple[str, Path]) -> None:
    text = demo[0]
    assert number(r"exact gradient max relative error ([0-9.e+-]+)", text) < 1e-5
    assert number(r"the tutorial's backward pass ([0-9.e+-]+)", text) > 0.1


@pytest.mark.parametrize(
    ("script", "figure"),
    [
        ("stage1_vanilla.py", "stage1_vanilla"),
        ("stage2_clip_decay.py", "stage2_clip_decay"),
        ("stage3_momentum.py", "stage3_momentum"),
        ("stage4_nesterov.py", "stage4_nesterov"),
        ("stage5_package.py", "stage5_package"),
    ],
)
def test_each_stage_runs_on_its_own(script: str, figure: str, tmp_path: Path) -> None:
    text = run_example(script, "--steps", "12", "--out", str(tmp_path))
    assert_small_png(tmp_path / f"{figure}.png")
    assert f"figure: {tmp_path / figure}.png" in text


def test_mnist_meets_its_accuracy_target(tmp_path: Path) -> None:
    text = run_example("digits_mnist.py", "--data", "mnist", "--out", str(tmp_path))
    assert "3500 train / 750 validation / 750 test" in text
    assert number(r"test (0\.\d+)", text) >= 0.90
    assert_small_png(tmp_path / "mnist.png")


def test_digits_meets_its_accuracy_target(tmp_path: Path) -> None:
    text = run_example("digits_mnist.py", "--data", "digits", "--out", str(tmp_path))
    assert number(r"test (0\.\d+)", text) >= 0.95


def test_house_prices_log_loss_lowers_relative_error(tmp_path: Path) -> None:
    text = run_example("house_prices.py", "--out", str(tmp_path))
    assert "column 'B' dropped" in text

    def mean_mape(name: str) -> float:
        row = next(line for line in text.splitlines() if line.startswith(name))
        return float(re.findall(r"([0-9.]+)%", row)[1])  # split 0, then the mean

    dollars = mean_mape("squared error on $")
    assert mean_mape("squared error on log price") < dollars
    assert mean_mape("Huber on log price") < dollars
    assert_small_png(tmp_path / "house_prices.png")
