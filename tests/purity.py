"""Shared checks for the core test suite: bit-level sameness and purity of a call.

``assert_same`` compares two values structurally and bit for bit (arrays by dtype,
shape and bytes, so −0.0 differs from +0.0 and NaN equals NaN; floats by their bits;
attrs records field by field). ``check_pure`` runs a call twice and asserts that its
arguments were left unchanged and that both calls gave the same result.
"""

from __future__ import annotations

import copy
import math
import struct
from collections.abc import Callable
from typing import TypeVar, cast

import attrs
import numpy as np
from hypothesis import settings

R = TypeVar("R")


def assert_same(a: object, b: object, path: str = "value") -> None:
    """Assert ``a`` and ``b`` are the same value, bit for bit, recursively."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), path
        assert a.dtype == b.dtype, f"{path}: dtype {a.dtype} != {b.dtype}"
        assert a.shape == b.shape, f"{path}: shape {a.shape} != {b.shape}"
        assert a.tobytes() == b.tobytes(), f"{path}: entries differ:\n{a}\n{b}"
    elif attrs.has(type(a)):
        assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
        for field in attrs.fields(cast("type[attrs.AttrsInstance]", type(a))):
            name = field.name
            assert_same(getattr(a, name), getattr(b, name), f"{path}.{name}")
    elif isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), f"{path}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{path}: keys differ"
        for key in a:
            assert_same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, float):
        assert isinstance(b, float), f"{path}: {a!r} != {b!r}"
        assert struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b)), (
            f"{path}: {a!r} != {b!r}"
        )
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def check_pure(fn: Callable[..., R], *args: object, **kwargs: object) -> R:
    """Call ``fn`` twice; assert the arguments are unchanged and the results identical."""
    before = copy.deepcopy((args, kwargs))
    first = fn(*args, **kwargs)
    assert_same((args, kwargs), before, "arguments")
    second = fn(*args, **kwargs)
    assert_same(first, second, "result")
    return first


def budget(ci_examples: int) -> settings:
    """Settings for a slow property: ``ci_examples`` under the ci profile (40 by default),
    scaled in proportion under the others (so ``dev`` still explores more)."""
    current = settings.default
    assert current is not None
    return settings(max_examples=max(1, current.max_examples * ci_examples // 40))
