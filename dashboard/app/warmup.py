"""Server start-up: import the heavy libraries and load the Overview's models before the first visitor arrives."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import threading
import time
from collections.abc import AsyncIterator

from starlette.middleware import Middleware

_LOG = logging.getLogger(__name__)
DISABLE_ENV = "LATENT_LAB_WARMUP"  # "off": the first visitor's run does all of it
# Filled in by the warm-up thread: how long each step took, for the benchmark and the tests.
timings: dict[str, float] = {}
done = threading.Event()
session_seen = threading.Event()  # a browser has opened a websocket, which is how a Streamlit session starts
watching = threading.Event()  # SessionWatch sits in the server: without it no one could tell, so nothing is frozen
_freezing = threading.Lock()  # a freeze and the first session's arrival never overlap


class SessionWatch:
    """ASGI middleware that notes the first websocket, so that the warm-up never freezes a visitor's objects."""

    def __init__(self, app):
        self.app = app
        watching.set()  # the server builds its middleware before it runs the start-up hook

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not session_seen.is_set():
            await asyncio.to_thread(_note_session)  # waits, off the event loop, for a freeze under way
        await self.app(scope, receive, send)


MIDDLEWARE = [Middleware(SessionWatch)]


def _note_session() -> None:
    with _freezing:
        session_seen.set()


def freeze_unless_a_session_exists() -> bool:
    """Move every object alive now out of the cyclic collector's sight, but only while no session exists.

    What start-up loaded lives as long as the server, so a full collection need not walk torch's and plotly's
    object graphs at every visitor's expense. A session's objects must stay collectable, so once a browser has
    connected (or when no SessionWatch can tell) nothing is frozen. True when it froze.
    """
    with _freezing:
        if session_seen.is_set() or not watching.is_set():
            return False
        gc.collect()
        gc.freeze()
        return True


def warm() -> None:
    """What the Overview's first run would otherwise do on the visitor's clock: torch, the app layer, its models.

    Imports take Python's import lock, so a visitor who arrives mid-way waits for the same import instead of
    doing it twice; every cache filled here is the process-wide one that the pages read.
    """
    start = time.perf_counter()
    try:
        from dashboard.core import allocator, threads

        allocator.apply_serving_policy()
        threads.apply_serving_policy()
        import torch  # noqa: F401  (the single biggest import)

        timings["torch"] = time.perf_counter() - start
        from dashboard.app import ui  # noqa: F401  (the page layer: plotly, altair, the widgets)
        from dashboard.core import data, zoo
        from dashboard.lesson import hourglass  # noqa: F401
        from dashboard.viz import plots  # noqa: F401

        # The imports hold the big object graphs; freezing them now, and the models after, makes it likely that
        # the freeze comes before the first visitor even on a server that is visited as soon as it answers.
        if freeze_unless_a_session_exists():
            timings["frozen imports"] = time.perf_counter() - start
        data.load(data.DEFAULT_DATASET)
        for name in ("ae-16", "ae-3"):  # the Overview's default model and its 3D map's
            if name in zoo.names(data.DEFAULT_DATASET):
                zoo.frozen(name, data.DEFAULT_DATASET)
        if "ae-3" in zoo.names(data.DEFAULT_DATASET):
            zoo.codes("ae-3", data.DEFAULT_DATASET)
        timings["overview"] = time.perf_counter() - start
        if freeze_unless_a_session_exists():
            timings["frozen models"] = time.perf_counter() - start
    except Exception:  # a warm-up that fails must never stop the server; the first run then does the work itself
        _LOG.exception("Warm-up failed; the first visit will load everything itself.")
    finally:
        done.set()


def enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "on").lower() not in ("off", "0", "false", "no")


@contextlib.asynccontextmanager
async def lifespan(_app) -> AsyncIterator[None]:
    """st.App's start-up hook: warm up in a daemon thread, so the server answers at once.

    The app is built with MIDDLEWARE too, which tells the warm-up when the first session starts.
    """
    if enabled():
        threading.Thread(target=warm, name="latent-lab-warmup", daemon=True).start()
    yield
