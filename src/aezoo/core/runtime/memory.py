"""Keep freed memory in the process (glibc) so that a training step's large tensors reuse it.

glibc's malloc returns every block above its mmap threshold (128 KiB until a large block is freed) to the
kernel when it is freed; a conv net's activations for a batch of 128 are a few MiB each, so every step maps
fresh pages and pays a page fault for each 4 KiB of them. A plain loop that happens to load and free a few
MiB first (a test set) raises glibc's dynamic threshold and runs faster for no visible reason. We set the
thresholds explicitly instead: blocks up to 32 MiB come from the heap, and up to 64 MiB of freed heap is kept.

This changes the allocator of the whole process, so the library never does it on its own: ``zoo train`` and
the benchmarks call ``keep_freed_memory()``; from Python, call it yourself before ``aezoo.train`` if the
process is yours to tune.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20  # glibc's own upper bound for its dynamic threshold
TRIM_THRESHOLD = 64 << 20  # twice the mmap threshold, as glibc's dynamic adjustment sets it

_done = False


def keep_freed_memory() -> bool:
    """Set glibc's malloc thresholds once per process; False where there is no glibc (macOS, Windows, musl)."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done
