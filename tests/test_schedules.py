"""Laws of fmlp.schedules: non-negative, finite, decaying, and each docstring formula."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fmlp.schedules import (
    TUTORIAL_DECAY,
    Constant,
    CosineDecay,
    ExponentialDecay,
    InverseTime,
    LinearDecay,
    Schedule,
    StepDecay,
    Warmup,
)

rates = st.floats(0.0, 10.0)
fractions_ = st.floats(0.0, 1.0)
spans = st.floats(0.5, 1e4)
steps = st.integers(0, 10**12)


@st.composite
def cosine(draw: st.DrawFn) -> CosineDecay:
    lr0 = draw(rates)
    return CosineDecay(lr0, draw(spans), final=draw(st.floats(0.0, lr0)))


def decaying() -> st.SearchStrategy[Schedule]:
    return st.one_of(
        st.builds(InverseTime, rates, st.floats(1e-3, 1e3)),
        st.builds(LinearDecay, rates, spans),
        st.builds(ExponentialDecay, rates, fractions_, spans),
        st.builds(StepDecay, rates, fractions_, st.integers(1, 1000)),
        cosine(),
    )


def schedules() -> st.SearchStrategy[Schedule]:
    plain = st.one_of(st.builds(Constant, rates), decaying())
    return st.one_of(plain, st.builds(Warmup, plain, st.integers(1, 100), st.floats(0.0, 10.0)))


@given(schedules(), steps)
def test_every_schedule_is_non_negative_and_finite(schedule: Schedule, t: int) -> None:
    lr = schedule(t)
    assert isinstance(lr, float)
    assert math.isfinite(lr) and lr >= 0.0
    assert schedule(t) == lr  # a pure function of t


@given(decaying(), steps, st.integers(0, 10**6))
def test_decaying_schedules_never_increase(schedule: Schedule, t: int, dt: int) -> None:
    assert schedule(t + dt) <= schedule(t)
    assert schedule(t + 1) <= schedule(t)


@given(steps)
def test_tutorial_decay_is_one_over_t_plus_100_exactly(t: int) -> None:
    assert TUTORIAL_DECAY(t) == 1 / (t + 100)
    # And it is the correctly rounded value of the exact rational.
    assert TUTORIAL_DECAY(t) == float(Fraction(1, t + 100))


@given(rates, st.floats(1e-3, 1e3), st.integers(0, 10**6))
def test_inverse_time_formula(scale: float, offset: float, t: int) -> None:
    exact = Fraction(scale) / (t + Fraction(offset))
    assert InverseTime(scale, offset)(t) == pytest.approx(float(exact), rel=1e-15)


@given(rates, spans, st.integers(0, 10**5))
def test_linear_decay_formula(lr0: float, span: float, t: int) -> None:
    expected = float(np.interp(t, [0.0, span], [lr0, 0.0]))  # 0 past the end
    assert LinearDecay(lr0, span)(t) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@given(rates, fractions_, spans, st.integers(0, 10**5))
def test_exponential_decay_formula(lr0: float, rate: float, span: float, t: int) -> None:
    if rate == 0.0:
        expected = lr0 if t == 0 else 0.0
    else:
        expected = lr0 * math.exp(t / span * math.log(rate))
    assert ExponentialDecay(lr0, rate, span)(t) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@given(rates, fractions_, st.integers(1, 100), st.integers(0, 2000))
def test_step_decay_formula(lr0: float, factor: float, every: int, t: int) -> None:
    expected = lr0
    for _ in range(t // every):  # one multiplication per completed period
        expected *= factor
    assert StepDecay(lr0, factor, every)(t) == pytest.approx(expected, rel=1e-12, abs=1e-300)


@given(cosine(), st.integers(0, 10**5))
def test_cosine_decay_formula(schedule: CosineDecay, t: int) -> None:
    progress = min(t / schedule.steps, 1.0)
    expected = schedule.final + (schedule.lr0 - schedule.final) * (np.cos(np.pi * progress) + 1) / 2
    assert schedule(t) == pytest.approx(float(expected), rel=1e-9, abs=1e-12)
    assert schedule(0) == pytest.approx(schedule.lr0, rel=1e-15)
    assert schedule(10**9) == pytest.approx(schedule.final, abs=1e-15)


@given(schedules(), st.integers(1, 100), st.floats(0.0, 10.0), st.integers(0, 300))
def test_warmup_law(after: Schedule, span: int, start: float, t: int) -> None:
    w = Warmup(after, span, start)
    if t < span:
        # On the straight line from (0, start) to (span, after(0)).
        expected = start + (after(0) - start) * Fraction(t, span)
        assert w(t) == pytest.approx(float(expected), rel=1e-12, abs=1e-12)
    else:
        assert w(t) == after(t - span)
    assert w(0) == start
    assert w(span) == after(0)


def test_docstring_examples_hold() -> None:
    assert Constant(0.1)(1000) == 0.1
    assert StepDecay(1.0, 0.5, 100)(250) == 0.25
    assert ExponentialDecay(1.0, 0.5, 10)(20) == 0.25


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Constant(-0.1), "lr must be a finite number"),
        (lambda: Constant(math.nan), "lr must be a finite number"),
        (lambda: InverseTime(1.0, 0.0), "offset must be a finite number"),
        (lambda: LinearDecay(1.0, -5), "steps must be a finite number"),
        (lambda: ExponentialDecay(1.0, 1.5), "rate must be a finite number"),
        (lambda: StepDecay(1.0, 0.5, 0), "every must be a positive integer"),
        (lambda: CosineDecay(1.0, 10, final=2.0), "final must be at most lr0"),
        (lambda: Warmup(Constant(1.0), 0), "steps must be a positive integer"),
        (lambda: Warmup(Constant(1.0), 3, start=-1.0), "start must be a finite number"),
    ],
)
def test_bad_hyperparameters_are_refused(make: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()  # type: ignore[operator]
