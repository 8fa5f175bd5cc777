"""Browser test: every page opened in headless Chromium on a real server, with no exception shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.app import navigation
from tests.harness import server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.browser

def visit(browser_page, path: str, shot: str):
    base, page = browser_page
    page.goto(f"{base}/{path}")
    server.wait_until_rendered(page)
    page.wait_for_timeout(500)  # let charts and the canvas component paint before the screenshot
    ARTIFACTS.mkdir(exist_ok=True)
    server.full_page_screenshot(page, str(ARTIFACTS / f"{shot}.png"))
    errors = page.locator("[data-testid=stException]")
    assert errors.count() == 0, errors.first.inner_text()
    return page


def test_a_deep_link_on_a_fresh_server_runs_through_the_entry_point(browser_page):
    """The first visitor of a new server opens a page by its address: it must still get the shared sidebar."""
    page = visit(browser_page, "quiz?seed=3", "fresh-deep-link")
    assert "Dataset" in page.locator("[data-testid=stSidebar]").inner_text()
    assert page.locator("[data-testid=stSidebarNavItems]").get_by_text("Anomaly detection").count() == 1


@pytest.mark.parametrize("spec", navigation.PAGES, ids=lambda s: s.url_path)
def test_page_renders_without_exception(browser_page, spec):
    page = visit(browser_page, spec.address, spec.url_path)
    assert page.get_by_text("Page not found").count() == 0
    assert page.locator("[data-testid=stMain] h1").first.is_visible()


def test_shared_link_restores_the_dataset(browser_page):
    page = visit(browser_page, "?dataset=digits&image=5", "shared-link")
    assert "scikit-learn 8x8 digits" in page.locator("[data-testid=stSidebar]").inner_text()
    assert page.locator("[data-testid=stNumberInput] input").first.input_value() == "5"


@pytest.mark.parametrize("spec", navigation.PAGES, ids=lambda s: s.url_path)
def test_page_fits_a_phone_in_the_dark_theme(browser_page, spec):
    """At 390 px nothing may be wider than the screen, the sidebar starts closed, and the dark theme renders."""
    base, desktop = browser_page
    phone = desktop.context.browser.new_page(viewport={"width": 390, "height": 844}, color_scheme="dark",
                                             is_mobile=True, has_touch=True)
    try:
        phone.goto(f"{base}/{spec.address}")
        server.wait_until_rendered(phone, sidebar=False)
        phone.wait_for_timeout(800)
        ARTIFACTS.mkdir(exist_ok=True)
        server.full_page_screenshot(phone, str(ARTIFACTS / f"phone-dark-{spec.url_path}.png"))
        errors = phone.locator("[data-testid=stException]")
        assert errors.count() == 0, errors.first.inner_text()
        sidebar_right = phone.evaluate("() => document.querySelector('[data-testid=stSidebar]')"
                                       ".getBoundingClientRect().right")
        assert sidebar_right <= 0, "the sidebar starts open and covers the page"
        assert server.wider_than_the_screen(phone) == []
        background = phone.evaluate("() => getComputedStyle(document.querySelector('[data-testid=stApp]'))"
                                    ".backgroundColor")
        assert background == "rgb(17, 22, 29)", background  # .streamlit/config.toml's [theme.dark]
    finally:
        phone.close()


# Labels a visitor must read whole: buttons, segmented controls, tabs and metrics. A label cut with an ellipsis, or a
# row of options that scrolls sideways, has an element whose content is wider than its box.
CLIPPED_LABELS = """() => {
    const selectors = ['[data-testid=stButton] button', '[data-testid=stDownloadButton] button',
                       '[data-testid=stButtonGroup]', '[data-testid=stTab]', '[data-testid=stMetricLabel]',
                       '[data-testid=stMetricValue]'];
    const found = [];
    for (const selector of selectors) {
        for (const element of document.querySelectorAll(`[data-testid=stMain] ${selector}`)) {
            if (!element.checkVisibility()) continue;  // in a closed expander or another tab: not on screen
            const cut = [element, ...element.querySelectorAll('*')].find(
                e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1);
            if (cut) found.push(`${selector}: "${element.innerText.trim().replace(/\\s+/g, ' ').slice(0, 50)}"`);
        }
    }
    return found;
}"""


@pytest.mark.parametrize("spec", navigation.PAGES, ids=lambda s: s.url_path)
def test_page_fits_a_1024_laptop_with_the_sidebar_open(browser_page, spec):
    """A common laptop width with the menu open leaves the page about 560 px: nothing may stick out or be cut short."""
    base, desktop = browser_page
    laptop = desktop.context.browser.new_page(viewport={"width": 1024, "height": 800})
    try:
        laptop.goto(f"{base}/{spec.address}")
        server.wait_until_rendered(laptop)
        laptop.wait_for_timeout(800)  # charts and components lay themselves out
        ARTIFACTS.mkdir(exist_ok=True)
        server.full_page_screenshot(laptop, str(ARTIFACTS / f"laptop-1024-{spec.url_path}.png"))
        errors = laptop.locator("[data-testid=stException]")
        assert errors.count() == 0, errors.first.inner_text()
        assert laptop.get_attribute("[data-testid=stSidebar]", "data-collapsed") == "false"
        assert server.wider_than_the_screen(laptop) == []
        assert laptop.evaluate(CLIPPED_LABELS) == []
    finally:
        laptop.close()


def test_a_denoising_level_stays_with_its_noise_type(browser_page):
    """Set Gaussian noise to 0.6, look at Salt & pepper, come back: the slider reads 0.6, not the default."""
    base, page = browser_page
    page.goto(f"{base}/denoising")
    server.wait_until_rendered(page)
    level = page.locator("[data-testid=stMain] [data-testid=stSlider] input[type=range]").first
    for _ in range(12):  # 0.5 by default, in steps of 0.02; a key pressed while a rerun redraws it can be lost
        if level.input_value() == "0.6":
            break
        level.focus()
        level.press("ArrowRight")
        page.wait_for_timeout(150)
    page.wait_for_function("() => new URLSearchParams(location.search).get('level') === '0.6'", timeout=60_000)
    for noise, expected in (("Salt & pepper", "0.1"), ("Gaussian", "0.6")):
        page.locator("[data-testid=stMain] [data-testid=stButtonGroup] button").filter(has_text=noise).click()
        page.wait_for_function(f"() => new URLSearchParams(location.search).get('level') === '{expected}'",
                               timeout=60_000)
        server.wait_until_rendered(page)
        assert level.input_value() == expected


def test_the_phone_menu_closes_once_a_page_is_chosen(browser_page):
    """At 390 px the sidebar lies over the page: a tap on a menu entry must leave the chosen page in view."""
    base, desktop = browser_page
    phone = desktop.context.browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        phone.goto(f"{base}/quiz")
        server.wait_until_rendered(phone, sidebar=False)
        for target in ("Compression", "Tour"):
            phone.locator("[data-testid=stExpandSidebarButton]").click()
            phone.wait_for_function("() => document.querySelector('[data-testid=stSidebar]')"
                                    ".getBoundingClientRect().right > 200")
            phone.locator("[data-testid=stSidebarNavLink]").filter(has_text=target).click()
            phone.wait_for_function("() => document.querySelector('[data-testid=stSidebar]')"
                                    ".getAttribute('data-collapsed') === 'true'", timeout=5000)
            server.wait_until_rendered(phone, sidebar=False)
            assert f"/{target.lower()}" in phone.url
    finally:
        phone.close()


def test_a_laptop_menu_stays_open_after_a_page_is_chosen(browser_page):
    """Beside the page (wide screens) the sidebar is not in the way, so choosing a page leaves it open."""
    base, page = browser_page
    page.goto(f"{base}/quiz")
    server.wait_until_rendered(page)
    page.locator("[data-testid=stSidebarNavLink]").filter(has_text="Tour").click()
    server.wait_until_rendered(page)
    assert page.get_attribute("[data-testid=stSidebar]", "data-collapsed") == "false"
