"""Give freed memory back to the operating system, so a long recording peaks like a short one.

glibc's malloc serves large blocks from its heap once its mmap threshold has grown (it grows each time a large
block is freed, up to 32 MB), and a freed heap block stays with the process: every window of a long recording
then leaves its buffers behind (VAD, features, embeddings). `trim()` hands the free heap pages back
(malloc_trim); the runner calls it after each stage and the audio windows after each window. A fixed mmap
threshold would do the same but made every large numpy allocation a fresh mapping: 1.7x slower on the
6-minute benchmark show (bench/RESULTS.md). Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc: the allocator keeps its own policy
        return None


def trim() -> bool:
    """Return free heap memory to the operating system; True where that is possible."""
    release = _malloc_trim()
    return bool(release(0)) if release is not None else False
