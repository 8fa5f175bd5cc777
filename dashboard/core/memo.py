"""One small process-wide cache for the layers below Streamlit: bounded, locked, and each value computed once."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
_ALL_CACHES: list[SharedCache] = []


class SharedCache:
    """A least-recently-used map shared by every session's thread.

    Streamlit runs each session in its own thread, so two visitors may ask for the same model or table at the same
    moment. A per-key lock makes the second one wait for the first one's result instead of computing it again, and
    the bound keeps a long-running server's memory flat.
    """

    def __init__(self, function: Callable, maxsize: int):
        self.function = function
        self.maxsize = maxsize
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        key = (args, tuple(sorted(kwargs.items())))
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._values:  # another thread finished it while this one waited
                    self._values.move_to_end(key)
                    return self._values[key]
            value = self.function(*args, **kwargs)
            with self._lock:
                self._values[key] = value
                while len(self._values) > self.maxsize:
                    self._values.popitem(last=False)
                self._key_locks.pop(key, None)
        return value

    def cache_clear(self) -> None:
        self.clear()

    def __len__(self) -> int:
        return len(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


def shared(maxsize: int) -> Callable[[F], F]:
    """Decorate a function of small hashable arguments (names, numbers) whose result every session may share.

    Results are shared, so callers must treat them as read-only: freeze models, mark arrays unwritable.
    """

    def wrap(function: F) -> F:
        cache = SharedCache(function, maxsize)
        _ALL_CACHES.append(cache)
        functools.update_wrapper(cache, function)
        return cache  # type: ignore[return-value]

    return wrap


def clear_all() -> None:
    """Empty every shared cache (tests that swap the models folder call this)."""
    for cache in _ALL_CACHES:
        cache.clear()
