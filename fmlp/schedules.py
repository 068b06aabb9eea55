"""Learning-rate schedules: pure functions of the step counter ``t = 0, 1, 2, ...``.

A schedule is any ``Callable[[int], float]``. The built-ins are frozen records,
so their hyperparameters stay readable (``schedule.lr0``), and their arguments
are checked when built so that no step can produce a negative or non-finite rate.

Laws (``tests/test_schedules.py``): every schedule is non-negative and finite;
the decaying ones are non-increasing in ``t``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeAlias

import attrs

from fmlp.checks import check_float, check_positive_int, integral_to_int, real_to_float

__all__ = [
    "TUTORIAL_DECAY",
    "Constant",
    "CosineDecay",
    "ExponentialDecay",
    "InverseTime",
    "LinearDecay",
    "Schedule",
    "StepDecay",
    "Warmup",
]

#: A learning-rate schedule: step index ``t >= 0`` to learning rate ``>= 0``.
Schedule: TypeAlias = Callable[[int], float]


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    check_float(attribute.name, value, low=0.0)


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    check_float(attribute.name, value, low=0.0, low_open=True)


def _positive_int(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    check_positive_int(attribute.name, value)


def _fraction(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    check_float(attribute.name, value, low=0.0, high=1.0)


@attrs.frozen
class Constant:
    """``lr(t) = lr``.

    >>> Constant(0.1)(1000)
    0.1
    """

    lr: float = attrs.field(converter=real_to_float, validator=_non_negative)

    def __call__(self, t: int) -> float:
        return self.lr


@attrs.frozen
class InverseTime:
    """``lr(t) = scale / (t + offset)``; the tutorial's decay is ``InverseTime(1.0, 100.0)``.

    >>> InverseTime(1.0, 100.0)(0), InverseTime(1.0, 100.0)(900)
    (0.01, 0.001)
    """

    scale: float = attrs.field(converter=real_to_float, validator=_non_negative)
    offset: float = attrs.field(converter=real_to_float, validator=_positive)

    def __attrs_post_init__(self) -> None:
        # The largest rate is lr(0) = scale / offset; it must be finite too.
        if not math.isfinite(self.scale / self.offset):
            raise ValueError(
                f"scale / offset must be finite (it is the rate at t = 0), got "
                f"{self.scale!r} / {self.offset!r}"
            )

    def __call__(self, t: int) -> float:
        return self.scale / (t + self.offset)


#: The tutorial's learning rate, ``1 / (t + 100)``.
TUTORIAL_DECAY = InverseTime(1.0, 100.0)


@attrs.frozen
class LinearDecay:
    """``lr(t) = lr0 · max(0, 1 − t/steps)``: linear from ``lr0`` to 0 at ``t = steps``.

    >>> LinearDecay(1.0, 4)(1), LinearDecay(1.0, 4)(9)
    (0.75, 0.0)
    """

    lr0: float = attrs.field(converter=real_to_float, validator=_non_negative)
    steps: float = attrs.field(converter=real_to_float, validator=_positive)

    def __call__(self, t: int) -> float:
        return self.lr0 * max(0.0, 1.0 - t / self.steps)


@attrs.frozen
class ExponentialDecay:
    """``lr(t) = lr0 · rate^(t / steps)`` with ``0 <= rate <= 1``.

    >>> ExponentialDecay(1.0, 0.5, 10)(20)
    0.25
    """

    lr0: float = attrs.field(converter=real_to_float, validator=_non_negative)
    rate: float = attrs.field(converter=real_to_float, validator=_fraction)
    steps: float = attrs.field(default=1.0, converter=real_to_float, validator=_positive)

    def __call__(self, t: int) -> float:
        return self.lr0 * float(self.rate ** (t / self.steps))


@attrs.frozen
class StepDecay:
    """``lr(t) = lr0 · factor^floor(t / every)`` with ``0 <= factor <= 1``.

    >>> StepDecay(1.0, 0.1, 100)(99), StepDecay(1.0, 0.5, 100)(250)
    (1.0, 0.25)
    """

    lr0: float = attrs.field(converter=real_to_float, validator=_non_negative)
    factor: float = attrs.field(converter=real_to_float, validator=_fraction)
    every: int = attrs.field(converter=integral_to_int, validator=_positive_int)

    def __call__(self, t: int) -> float:
        return self.lr0 * self.factor ** (t // self.every)


@attrs.frozen
class CosineDecay:
    """``lr(t) = final + (lr0 − final) · (1 + cos(π · min(t, steps)/steps)) / 2``.

    >>> CosineDecay(1.0, 10)(0), CosineDecay(1.0, 10)(5), CosineDecay(1.0, 10)(99)
    (1.0, 0.5, 0.0)
    """

    lr0: float = attrs.field(converter=real_to_float, validator=_non_negative)
    steps: float = attrs.field(converter=real_to_float, validator=_positive)
    final: float = attrs.field(default=0.0, converter=real_to_float, validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        if self.final > self.lr0:
            raise ValueError(f"final must be at most lr0={self.lr0}, got {self.final}")

    def __call__(self, t: int) -> float:
        progress = min(t, self.steps) / self.steps
        return self.final + (self.lr0 - self.final) * 0.5 * (1.0 + math.cos(math.pi * progress))


@attrs.frozen
class Warmup:
    """Linear warm-up in front of any schedule.

    ``lr(t) = start + (after(0) − start) · t / steps`` for ``t < steps``, then
    ``after(t − steps)``.

    >>> w = Warmup(Constant(1.0), steps=4)
    >>> [w(t) for t in range(6)]
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """

    after: Schedule = attrs.field()
    steps: int = attrs.field(converter=integral_to_int, validator=_positive_int)
    start: float = attrs.field(default=0.0, converter=real_to_float, validator=_non_negative)

    @after.validator
    def _check_after(self, attribute: attrs.Attribute[Schedule], value: Schedule) -> None:
        if not callable(value):
            raise TypeError(f"after must be a schedule (step -> learning rate), got {value!r}")
        # The warm-up climbs to after(0): a negative or non-finite value would show up there.
        check_float("after(0)", value(0), low=0.0)

    def __call__(self, t: int) -> float:
        if t < self.steps:
            return self.start + (self.after(0) - self.start) * t / self.steps
        return self.after(t - self.steps)
