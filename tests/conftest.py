"""Shared test fixtures: AppTest through the real entry point, with page routing as the real server does it."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import apptest, server

open_page = apptest.open_page


@pytest.fixture(autouse=True)
def server_like_page_routing():
    """Every AppTest in the suite runs through streamlit_app.py, as on the real server (see dashboard.apptest)."""
    with apptest.server_like_page_routing():
        yield


def assert_no_exception(app: AppTest) -> None:
    """Fail with the app's own error text if any element is an exception."""
    assert not app.exception, [e.value for e in app.exception]


def texts(app: AppTest) -> str:
    """Every markdown, caption, alert, metric and image caption on the page, joined (for `in` checks)."""
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader"):
        parts += [str(e.value) for e in getattr(app, kind)]
    parts += [f"{m.label} {m.value}" for m in app.metric]
    parts += [caption for image in app.get("image") for caption in image.captions]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def browser_page():
    """(base URL, Playwright page) on a fresh `streamlit run` of the app, in Debian's headless Chromium."""
    if server.chromium_path() is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install -y chromium); browser tests skipped")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev)")
    with server.running_app() as (base, _process), playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=server.chromium_path(), headless=True,
                                         args=server.CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        yield base, page
        browser.close()


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models on a shared, loaded machine: two threads spin against each other and crawl."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
