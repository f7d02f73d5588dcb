"""Keeping freed memory in the process while the collector runs (glibc only; elsewhere nothing happens).

Every submission passes through dozens of short-lived buffers of 64-256 KiB (received pieces, inflated pieces,
multipart pieces). With glibc's defaults, freeing them leaves more than 128 KiB free at the top of a heap,
which glibc hands back to the kernel at once; the next buffers fault the same pages in again, zeroed. That
round trip was about a fifth of the collector's CPU per 1 MB submission. Raising the trim threshold keeps
up to :data:`TRIM_THRESHOLD` of free memory per heap; raising the mmap threshold keeps buffers up to
:data:`MMAP_THRESHOLD` on the heaps too instead of mapping and unmapping each one.
"""

from __future__ import annotations

import ctypes
import platform
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD = 32 * 1024 * 1024
MMAP_THRESHOLD = 4 * 1024 * 1024

_done = False


def keep_freed_memory() -> bool:
    """Tune glibc's allocator for the collector's buffers, once per process. Returns whether it applied."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    _done = bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return _done
