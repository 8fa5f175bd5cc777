"""The serving memory policy: two heap arenas, and free heap pages handed back after a run that grew the process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from dashboard.core import allocator

needs_glibc = pytest.mark.skipif(allocator._glibc() is None, reason="the policy only applies to glibc (Linux)")


def _run(code: str, **env: str) -> str:
    """Run code in a fresh interpreter (the policy is process-wide and applied once), return its last line."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", **env})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@needs_glibc
def test_policy_caps_the_arenas_once_and_yields_to_the_environment():
    code = """
        from dashboard.core import allocator
        first = allocator.apply_serving_policy()
        print(first == allocator.apply_serving_policy(), sorted(first.items()))
    """
    root = str(allocator.__file__).rsplit("/dashboard/", 1)[0]
    assert _run(code, PYTHONPATH=root) == f"True [({allocator.M_ARENA_MAX}, 2)]"
    assert _run(code, PYTHONPATH=root, MALLOC_ARENA_MAX="4") == "True []"  # the operator's setting wins
    assert _run(code, PYTHONPATH=root, **{allocator.SWITCH_ENV: "off"}) == "True []"


@needs_glibc
def test_release_returns_freed_heap_pages_to_the_system():
    # 120 MB of 2 KB heap blocks (below glibc's mmap threshold), of which every eighth stays alive: the holes
    # between them cannot be trimmed off the heap's top by free() itself, so they stay resident until a trim.
    code = """
        from dashboard.core import allocator
        allocator.apply_serving_policy()
        allocator.release_free_memory(grown_by=0)
        blocks = [bytearray(2048) for _ in range(60_000)]
        survivors = blocks[::8]
        del blocks
        kept = allocator.resident_bytes()
        released = allocator.release_free_memory()
        after = allocator.resident_bytes()
        print(released, (kept - after) // 2**20, len(survivors))
    """
    root = str(allocator.__file__).rsplit("/dashboard/", 1)[0]
    released, freed_by_trim_mb, _ = _run(code, PYTHONPATH=root).split()
    assert released == "True"
    assert int(freed_by_trim_mb) > 50, "the trim should hand back most of the 105 MB of holes"


@needs_glibc
def test_release_skips_a_run_that_did_not_grow_the_process():
    code = """
        from dashboard.core import allocator
        allocator.release_free_memory(grown_by=0)
        print(allocator.release_free_memory(grown_by=64 << 20))
    """
    root = str(allocator.__file__).rsplit("/dashboard/", 1)[0]
    assert _run(code, PYTHONPATH=root) == "False"


def test_resident_bytes_is_a_plausible_size():
    resident = allocator.resident_bytes()
    if resident is None:
        pytest.skip("no /proc on this system")
    assert 10 << 20 < resident < 64 << 30
