"""An opt-in tweak of the C allocator for training loops with large temporaries.

A numpy training step allocates and frees the same large arrays every step. With
glibc's default settings a freed block above the *trim threshold* is handed back to
the kernel, so the next step's array of the same size is faulted in again, page by
page (each minor fault costs microseconds). ``tune_allocator`` raises both
thresholds so freed blocks stay in the process and are reused.

It changes a process-global setting, so fmlp never calls it on its own: call it
yourself at the start of a training script if you want it (the benchmark can apply
it to every contender alike, with ``--tune-allocator``). Memory freed by the process
is then kept for reuse rather than returned to the system.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["tune_allocator"]

# From glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_allocator(
    *, mmap_threshold: int = 32 * 1024 * 1024, trim_threshold: int = 1024 * 1024 * 1024
) -> bool:
    """Ask glibc's malloc to keep freed memory for reuse; return whether it was applied.

    Sets ``M_MMAP_THRESHOLD = mmap_threshold`` (blocks below it come from the heap,
    not a fresh ``mmap``) and ``M_TRIM_THRESHOLD = trim_threshold`` (free heap memory
    up to it is kept, not returned to the kernel). Both are in bytes and must be
    positive; glibc caps ``mmap_threshold`` at 32 MiB on 64-bit systems. Returns
    ``False``, changing nothing, where the C library is not glibc.

    >>> isinstance(tune_allocator(), bool)
    True
    """
    for name, value in (("mmap_threshold", mmap_threshold), ("trim_threshold", trim_threshold)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
            raise ValueError(f"{name} must be a positive int below 2**31 bytes, got {value!r}")
    if not sys.platform.startswith("linux"):
        return False
    path = ctypes.util.find_library("c")
    if path is None:
        return False
    try:
        libc = ctypes.CDLL(path)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success, 0 on error.
    ok_mmap = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold) == 1)
    ok_trim = bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold) == 1)
    return ok_mmap and ok_trim
