"""Server start-up: import the heavy libraries and load the Overview's models before the first visitor arrives."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading
import time
from collections.abc import AsyncIterator

_LOG = logging.getLogger(__name__)
DISABLE_ENV = "LATENT_LAB_WARMUP"  # "off": the first visitor's run does all of it, as before
# Filled in by the warm-up thread: how long each step took, for the benchmark and the tests.
timings: dict[str, float] = {}
done = threading.Event()


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
        import torch  # noqa: F401  (the single biggest import: 1.2-1.5 s here)

        timings["torch"] = time.perf_counter() - start
        from dashboard.app import ui  # noqa: F401  (the page layer: plotly, altair, the widgets)
        from dashboard.core import data, zoo
        from dashboard.lesson import hourglass  # noqa: F401
        from dashboard.viz import plots  # noqa: F401

        data.load(data.DEFAULT_DATASET)
        for name in ("ae-16", "ae-3"):  # the Overview's default model and its 3D map's
            if name in zoo.names(data.DEFAULT_DATASET):
                zoo.frozen(name, data.DEFAULT_DATASET)
        if "ae-3" in zoo.names(data.DEFAULT_DATASET):
            zoo.codes("ae-3", data.DEFAULT_DATASET)
        timings["overview"] = time.perf_counter() - start
        # Everything loaded so far lives as long as the server: moved out of the collector's sight, a full
        # collection no longer walks torch's and plotly's object graphs.
        gc.collect()
        gc.freeze()
    except Exception:  # a warm-up that fails must never stop the server; the first run then does the work itself
        _LOG.exception("Warm-up failed; the first visit will load everything itself.")
    finally:
        done.set()


def enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "on").lower() not in ("off", "0", "false", "no")


@contextlib.asynccontextmanager
async def lifespan(_app) -> AsyncIterator[None]:
    """st.App's start-up hook: warm up in a daemon thread, so the server answers at once."""
    if enabled():
        threading.Thread(target=warm, name="latent-lab-warmup", daemon=True).start()
    yield
