"""Keep large arrays on the heap: generated kernels allocate and free the same big buffers on
every call (tapes, adjoints, whole-array temporaries), and glibc's default serves each from fresh
mmap'd pages, which costs a page fault per 4 KiB on every call: up to 3x the kernel's own work.

Raising glibc's mmap and trim thresholds makes freed buffers reusable. It is process-wide, so it
is documented (docs/backends.md) and can be turned off with ADC_KEEP_MALLOC=1.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def keep_large_blocks_on_the_heap(mmap_threshold: int = 1 << 28, trim_threshold: int = 1 << 29) -> bool:
    if os.environ.get("ADC_KEEP_MALLOC") or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))
