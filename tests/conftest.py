"""Shared test fixtures: a real server in headless Chromium, and a one-thread torch for tiny models."""

from __future__ import annotations

import pytest

from tests.harness import server


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
