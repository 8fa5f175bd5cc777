"""Drive the app through its real entry point with Streamlit's AppTest, as the tests and the benchmark do."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard.app import navigation

ENTRY = Path(__file__).resolve().parents[2] / "streamlit_app.py"
# The first run imports torch, sklearn and plotly and loads models; two slow cores need headroom.
APP_TIMEOUT_S = float(os.environ.get("LATENT_LAB_APPTEST_TIMEOUT", "180"))


def open_page(page: str = navigation.DEFAULT_PAGE, dataset: str | None = None, query: dict | None = None,
              timeout: float = APP_TIMEOUT_S) -> AppTest:
    """Run the app through streamlit_app.py and land on a page (by URL path), optionally on a dataset.

    AppTest decides before every run whether `pages/` means Streamlit's legacy mode, so a deep-linked page
    starts bare each time; the page's own frame check (dashboard.app.frame) sends it round through the entry
    point, as it does for a fresh server's first deep link.
    """
    app = AppTest.from_file(str(ENTRY), default_timeout=timeout)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    if page != navigation.DEFAULT_PAGE:
        # Page paths match their url_path, so the first run can land on the page directly, as a deep link does.
        app.switch_page(navigation.by_key(page).path)
    app.run()
    if dataset is not None:
        app.sidebar.selectbox(key="dataset").set_value(dataset).run()
    return app


def rerun_ms(page: str, change: Callable[[AppTest, int], None], repeats: int = 5,
             dataset: str | None = None) -> float:
    """Median wall time (ms) of the script run that follows a widget change, caches warm.

    `change(app, i)` sets a widget for repeat i (use different values so every run does real work);
    AppTest runs the script in this process, so this is the server-side rerun time.
    """
    app = open_page(page, dataset=dataset)
    change(app, -1)
    app.run()  # warm every cache the measured reruns may touch
    timings = []
    for i in range(repeats):
        change(app, i)
        start = time.perf_counter()
        app.run()
        timings.append(1000 * (time.perf_counter() - start))
        if app.exception:
            raise RuntimeError(f"{page} raised: {app.exception[0].value}")
    return sorted(timings)[len(timings) // 2]
