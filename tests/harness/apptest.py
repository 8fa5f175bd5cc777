"""Drive the app through its real entry point with Streamlit's AppTest, as the tests and the benchmark do."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from dashboard.app import navigation

ENTRY = Path(__file__).resolve().parents[2] / "streamlit_app.py"
# The first run imports torch, sklearn and plotly and loads models; two slow cores need headroom.
APP_TIMEOUT_S = float(os.environ.get("LATENT_LAB_APPTEST_TIMEOUT", "180"))


@contextlib.contextmanager
def server_like_page_routing() -> Iterator[None]:
    """Route pages the way `streamlit run` does, for as long as the context is open.

    A real server decides once per process whether `pages/` means the legacy multipage mode, and st.navigation
    (plus dashboard.ui on a fresh server) turns it off for good, so every run executes streamlit_app.py, which
    then runs the page. AppTest re-decides before every run and, because pages/ exists, would run pages/<x>.py
    bare, without the entry point's sidebar. Turning the mode off after each of its resets restores the server's
    behaviour, so what is tested is the real entry point with its shared sidebar.
    """
    original_init = PagesManager.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    try:
        yield
    finally:
        PagesManager.__init__ = original_init


def open_page(page: str = navigation.DEFAULT_PAGE, dataset: str | None = None, query: dict | None = None,
              timeout: float = APP_TIMEOUT_S) -> AppTest:
    """Run the app through streamlit_app.py and land on a page (by URL path), optionally on a dataset.

    Call inside server_like_page_routing() (the tests' autouse fixture does).
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
    with server_like_page_routing():
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
