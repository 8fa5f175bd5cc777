"""The server's one training slot: visitors' training runs take turns, and what they train is frozen to share."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import streamlit as st
from torch import nn

_SLOT = threading.Lock()
BUSY_MESSAGE = "Another visitor is training on this server right now. Try again in a minute."


@contextlib.contextmanager
def slot(wait_s: float = 0.0, busy_message: str = BUSY_MESSAGE) -> Iterator[bool]:
    """Hold the training slot for the block; yields False (after a notice) when it stays busy for wait_s seconds.

    Training two models at once on a small shared server makes both crawl and can run it out of memory, so
    every training run in the app, on-demand or a visitor's own, goes through here, and runs in a child process
    (core.isolated) so that it cannot grow the server.
    """
    acquired = _SLOT.acquire(timeout=wait_s) if wait_s > 0 else _SLOT.acquire(blocking=False)
    if not acquired:
        st.warning(busy_message, icon="⏳")
        yield False
        return
    try:
        yield True
    finally:
        _SLOT.release()


def freeze(model: nn.Module) -> nn.Module:
    """Turn gradients off so that a model shared between sessions cannot be trained further by accident."""
    model.requires_grad_(False)
    return model.eval()


def busy() -> bool:
    """Whether a training run holds the slot now (for a hint next to a Train button)."""
    return _SLOT.locked()
