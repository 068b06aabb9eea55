"""fmlp.tune_allocator: opt-in, checked arguments, and freed memory is reused."""

from __future__ import annotations

import resource
import sys

import numpy as np
import pytest

import fmlp


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"mmap_threshold": 0}, "mmap_threshold"),
        ({"trim_threshold": -5}, "trim_threshold"),
        ({"mmap_threshold": 2**31}, "mmap_threshold"),
        ({"trim_threshold": True}, "trim_threshold"),
    ],
)
def test_bad_thresholds_are_refused_by_name(kwargs: dict[str, int], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        fmlp.tune_allocator(**kwargs)


def _faults_to_refill(n_bytes: int) -> int:
    first = np.ones(n_bytes // 8)
    del first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    again = np.ones(n_bytes // 8)  # touches every page
    after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    del again
    return after - before


def test_after_tuning_a_freed_block_is_reused_without_page_faults() -> None:
    # fmlp's machines run glibc on Linux, where the tweak applies.
    assert fmlp.tune_allocator() is sys.platform.startswith("linux")
    # 3 MiB: below numpy's huge-page threshold, above glibc's default mmap threshold.
    n_bytes = 3 * 1024 * 1024
    pages = n_bytes // resource.getpagesize()
    assert _faults_to_refill(n_bytes) < pages // 8
