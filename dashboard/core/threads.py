"""The serving thread policy: one thread per operation for torch and for scikit-learn's BLAS and OpenMP."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

# Pages run small batches for many visitors at once; one thread per operation avoids the oversubscription that
# made a 36-image decode take 550 ms instead of 15 ms on a busy two-core server. Set LATENT_LAB_TORCH_THREADS to
# change it. Training from the command line and the tests keep torch's default instead.
THREADS_ENV = "LATENT_LAB_TORCH_THREADS"
# Read by OpenBLAS, OpenMP and MKL when each loads: scipy's and scikit-learn's own copies load after the policy is
# applied, and threadpoolctl only limits libraries already loaded.
BLAS_ENVS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
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
            for name in BLAS_ENVS:
                os.environ.setdefault(name, str(threads))
            torch.set_num_threads(threads)
            threadpool_limits(limits=threads)
            _applied.append(threads)
        return _applied[0]


@contextlib.contextmanager
def as_served() -> Iterator[None]:
    """Within the block, torch and the BLAS/OpenMP libraries use the server's thread count, then what they had.

    A float sum's order, and so its last bits, follows the thread count (mnist-5k's PCA baseline differs in the
    8th digit between 1 and 2 threads); the build stores results computed this way so that they equal live ones.
    """
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(serving_threads())
    try:
        with threadpool_limits(limits=serving_threads()):
            yield
    finally:
        torch.set_num_threads(before)
