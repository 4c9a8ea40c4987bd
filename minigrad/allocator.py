"""Keep freed memory for reuse: glibc malloc settings for a training loop.

Every op of a training step allocates its output afresh (8 MB per activation of the CIFAR
CNN's first block), and the previous step's arrays of the same sizes were just freed. With
glibc's adaptive defaults those large blocks keep going back to the operating system (the
heap top is trimmed, big blocks are mmap'd and unmapped), so every step page-faults its
memory in again: 170,000 faults over 13 CIFAR steps. Fixed thresholds keep blocks of up
to 32 MB in the heap for the next step (42,000 faults; the CIFAR step 1.2x faster, LeNet's
1.3x, peak memory unchanged: benchmarks/README.md). The price: memory freed after a peak
stays with the process, as in the caching allocators of the big frameworks.

Linux with glibc only; elsewhere, or with MINIGRAD_TUNE_MALLOC=0, nothing is changed.
"""
import ctypes
import os
import platform

# From glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 << 20  # blocks below this come from the heap (glibc's own upper limit)
TRIM_THRESHOLD = 1 << 30  # give the heap's free top back only when this much is free


def tune_malloc():
    """Apply the settings above; return True if they were applied."""
    if os.environ.get("MINIGRAD_TUNE_MALLOC", "1") == "0":
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):
        return False
