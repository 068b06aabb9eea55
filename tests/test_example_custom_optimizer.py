"""examples/custom_optimizer.py: the user's RMSprop passes the kit; the broken ones are named."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fmlp
from fmlp.testing import LawViolation, check_optimizer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "custom_optimizer.py"


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    return runpy.run_path(str(EXAMPLE), run_name="custom_optimizer")


def test_rmsprop_follows_its_formula(example: dict[str, Any]) -> None:
    # s' = ρ·s + (1 − ρ)·g² = 0.1·4 from s = 0;  w' = 1 − 0.1·2/sqrt(0.4) (eps is negligible).
    w = fmlp.Params((fmlp.Layer(np.ones((1, 1)), np.zeros(1)),))
    g = fmlp.Grads((fmlp.Layer(np.full((1, 1), 2.0), np.zeros(1)),))
    optimizer = example["RMSprop"]()
    new, state = optimizer.apply(w, optimizer.init(w), g, 0.1)
    assert state.mean_square.layers[0].weights[0, 0] == pytest.approx(0.4)
    assert new.layers[0].weights[0, 0] == pytest.approx(1.0 - 0.2 / np.sqrt(0.4))


@pytest.mark.parametrize(
    ("name", "law", "detail"),
    [
        ("InPlaceMomentum", "no_mutation", "an input changed: state.velocity"),
        ("UpcastingAdamax", "structure", "apply returned float64 params for float32 params"),
    ],
)
def test_the_kit_names_the_law_a_broken_optimizer_breaks(
    example: dict[str, Any], name: str, law: str, detail: str
) -> None:
    with pytest.raises(LawViolation) as caught:
        check_optimizer(example[name]())
    assert caught.value.law == law
    assert detail in str(caught.value)


def test_main_checks_rmsprop_and_shows_each_violation(
    example: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    example["main"]()
    out = capsys.readouterr().out
    assert "RMSprop obeys every law" in out
    assert "InPlaceMomentum breaks 'no_mutation'" in out
    assert "UpcastingAdamax breaks 'structure'" in out
