"""The serving memory policy: glibc's allocator gives freed memory back to the system instead of hoarding it."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys
import threading

# mallopt parameter numbers, from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
# Why: every Streamlit session runs its script in its own thread, and glibc gives each new thread a heap arena of
# its own (up to 8 per core); memory freed after a page's first run stays in those arenas, counted as the server's
# for ever. Two arenas, plus handing free pages back after a run that left much of it (release_free_memory), keep
# the server within its memory goal (README, Performance; python -m bench --only "app: memory"). Large blocks stay
# in the heap rather than in mappings of their own: a mapping per activation costs page faults on every forward pass.
POLICY = {M_ARENA_MAX: 2}
# The environment variable that sets the same thing at process start; when it is set, it wins over the policy.
ENVIRONMENT = {M_ARENA_MAX: "MALLOC_ARENA_MAX"}
# Trimming costs about 4 ms and the pages it returns fault back in on the next use, so a run only trims when the
# process grew by this much since the last trim (a first visit, a training run), not after every small rerun.
# (Asking glibc how much is free, mallinfo2, costs as much as trimming.)
TRIM_AFTER_GROWTH_BYTES = 8 << 20
SWITCH_ENV = "LATENT_LAB_MALLOC_POLICY"  # "off" leaves the allocator as it is
_lock = threading.Lock()
_applied: list[dict[int, int]] = []
_after_last_trim: list[int] = []  # resident bytes just after the last trim


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (the only one with these knobs); None on macOS, Windows or musl.

    Looked up once: find_library runs `ldconfig -p` in a subprocess, which cost tens of ms on every script run.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it; musl raises AttributeError here
        return libc
    except (OSError, AttributeError):
        return None


def apply_serving_policy() -> dict[int, int]:
    """Apply the policy once per process; returns the settings that took effect (empty where none could)."""
    with _lock:
        if not _applied:
            libc = None if os.environ.get(SWITCH_ENV, "").lower() == "off" else _glibc()
            done = {}
            for parameter, value in POLICY.items():
                if libc is not None and ENVIRONMENT[parameter] not in os.environ and libc.mallopt(parameter, value):
                    done[parameter] = value
            _applied.append(done)
        return _applied[0]


def resident_bytes() -> int | None:
    """This process's resident memory, read from /proc (about 20 microseconds); None where there is no /proc."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def release_free_memory(grown_by: int = TRIM_AFTER_GROWTH_BYTES) -> bool:
    """Hand the heap's free pages back to the system if the process grew by more than grown_by since the last time.

    Returns whether memory was released. Meant for the end of a script run; grown_by=0 releases whatever is free.
    """
    libc = _glibc()
    if libc is None or os.environ.get(SWITCH_ENV, "").lower() == "off":
        return False
    resident = resident_bytes()
    with _lock:
        if resident is not None and _after_last_trim and resident - _after_last_trim[0] <= grown_by:
            return False
        libc.malloc_trim(0)
        _after_last_trim[:] = [resident_bytes() or 0]
    return True
