"""The serving thread policy: one thread per operation for torch and for scikit-learn's BLAS and OpenMP."""

from __future__ import annotations

import os
import threading

# Pages run small batches for many visitors at once; one thread per operation avoids the oversubscription that
# made a 36-image decode take 550 ms instead of 15 ms on a busy two-core server. Set LATENT_LAB_TORCH_THREADS to
# change it. Training from the command line and the tests keep torch's default instead.
THREADS_ENV = "LATENT_LAB_TORCH_THREADS"
_applied: list[int] = []
_lock = threading.Lock()


def serving_threads() -> int:
    """The thread count the policy asks for."""
    return int(os.environ.get(THREADS_ENV, "1"))


def apply_serving_policy() -> int:
    """Apply the policy once per process and return the thread count; later calls change nothing.

    torch's intra-op pool is process-wide, so it is set once (at the server's first run, or at the start of the
    benchmark) and never switched back and forth from a session's thread.
    """
    with _lock:
        if not _applied:
            import torch
            from threadpoolctl import threadpool_limits

            threads = serving_threads()
            torch.set_num_threads(threads)
            threadpool_limits(limits=threads)
            _applied.append(threads)
        return _applied[0]
