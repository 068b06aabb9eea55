"""Test configuration: hypothesis profiles and numpy strictness.

Profiles: ``ci`` (derandomized, fixed budget — what ``make test`` and CI use) and
``dev`` (more examples, random). Pick with ``HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=40,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _numpy_raises() -> Iterator[None]:
    # Any overflow, invalid operation or division by zero in fmlp is a bug in a test run.
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        yield
