"""Browser test: every page opened in headless Chromium on a real server, with no exception shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard import navigation, server

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = pytest.mark.browser

if server.chromium_path() is None:
    pytest.skip("Chromium is not installed (Debian: apt-get install -y chromium); browser tests skipped",
                allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev)")


@pytest.fixture(scope="module")
def browser_page():
    with server.running_app() as (base, _process), playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=server.chromium_path(), headless=True,
                                         args=server.CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        yield base, page
        browser.close()


def visit(browser_page, path: str, shot: str):
    base, page = browser_page
    page.goto(f"{base}/{path}")
    server.wait_until_rendered(page)
    page.wait_for_timeout(500)  # let charts and the canvas component paint before the screenshot
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    errors = page.locator("[data-testid=stException]")
    assert errors.count() == 0, errors.first.inner_text()
    return page


@pytest.mark.parametrize("spec", navigation.PAGES, ids=lambda s: s.url_path)
def test_page_renders_without_exception(browser_page, spec):
    page = visit(browser_page, spec.address, spec.url_path)
    assert page.get_by_text("Page not found").count() == 0
    assert page.locator("[data-testid=stMain] h1").first.is_visible()


def test_shared_link_restores_the_dataset(browser_page):
    page = visit(browser_page, "?dataset=digits&image=5", "shared-link")
    assert "scikit-learn 8x8 digits" in page.locator("[data-testid=stSidebar]").inner_text()
    assert page.locator("[data-testid=stNumberInput] input").first.input_value() == "5"
