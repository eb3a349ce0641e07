"""Keep freed tensor memory for reuse during training.

A training step of the shipped recipe allocates and frees many large
tensors (the (batch, time, vocabulary) logits and their gradients are tens
of MB each). With TensorFlow's default CPU allocator these go to glibc's
malloc, which serves a block above its mmap threshold (128 KiB, rising with
use up to 32 MiB, never above) from a fresh `mmap` and returns it with
`munmap` on free, so every step faults fresh zeroed pages in: on 2 cores a
third of the process's CPU time was in the kernel. Two settings, both made
by the training commands (`keras-seq2seq train` and `train-captioner`):

- `use_bfc_allocator`: TensorFlow's BFC allocator on CPU
  (TF_CPU_ALLOCATOR_USE_BFC, read when TensorFlow creates its CPU
  allocator, so it must be set before TensorFlow is imported). It keeps
  every block it allocated, large ones included, for reuse.
- `keep_large_allocations`: glibc's mmap and trim thresholds raised
  (`mallopt`, the same as the MALLOC_MMAP_THRESHOLD_ and
  MALLOC_TRIM_THRESHOLD_ environment variables), for what does not go
  through TensorFlow's allocator and for a process where TensorFlow was
  imported first.

On the race recipe (benchmarks/train_env.py, benchmarks/results/train_env.json,
2 cores): 1.18 steps/s with neither, 1.49 with the glibc thresholds, 1.73
with both; kernel CPU time 31 s, 21 s and 10 s over the same 60 steps.
The memory is then held until the process exits, which suits a training
process; `keras-seq2seq serve` and translation do not call these.
"""

import ctypes
import ctypes.util
import logging
import os
import sys

logger = logging.getLogger(__name__)

# mallopt parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# The largest mmap threshold glibc accepts on 64-bit (HEAP_MAX_SIZE / 2).
LARGEST_MMAP_THRESHOLD = 32 * 1024 * 1024


BFC_VARIABLE = "TF_CPU_ALLOCATOR_USE_BFC"


def use_bfc_allocator() -> bool:
    """Ask TensorFlow for its BFC allocator on CPU, unless the environment
    says otherwise (a TF_CPU_ALLOCATOR_USE_BFC the user set is kept).

    Returns True when TensorFlow will use it: the variable is true and
    TensorFlow was not imported yet (it reads the variable once, when it
    creates its CPU allocator).
    """
    if "tensorflow" in sys.modules:
        logger.debug("TensorFlow is imported already: %s not set.", BFC_VARIABLE)
        return os.environ.get(BFC_VARIABLE, "").lower() in ("1", "true")
    os.environ.setdefault(BFC_VARIABLE, "true")
    return os.environ[BFC_VARIABLE].lower() in ("1", "true")


def keep_large_allocations() -> bool:
    """Raise glibc's mmap and trim thresholds for this process.

    Returns True when glibc took both settings, False elsewhere (another C
    library, or macOS/Windows), where nothing changes.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = (mallopt(M_MMAP_THRESHOLD, LARGEST_MMAP_THRESHOLD) == 1
          and mallopt(M_TRIM_THRESHOLD, 2**31 - 1) == 1)
    if not ok:
        logger.debug("mallopt did not take the allocation thresholds.")
    return ok
