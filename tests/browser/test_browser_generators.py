"""Browser tests of today's generators: the reverse process scrubs in the browser alone; both pages fit the screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DATASET = "digits"

pytestmark = pytest.mark.browser


def test_the_reverse_process_has_frames_and_a_slider_and_scrubbing_asks_the_server_nothing(browser_page):
    base, page = browser_page
    page.goto(f"{base}/latent-diffusion?dataset={DATASET}")
    server.wait_until_rendered(page)
    plot = page.locator("[data-testid=stPlotlyChart] .js-plotly-plot").first
    plot.wait_for(timeout=120_000)
    assert page.locator("[data-testid=stException]").count() == 0
    found = plot.evaluate("el => ({frames: (el._transitionData && el._transitionData._frames || []).length, "
                          "sliders: (el.layout.sliders || []).length, "
                          "steps: ((el.layout.sliders || [])[0] || {steps: []}).steps.length})")
    assert found["sliders"] == 1 and found["frames"] == found["steps"] == 21  # 20 steps, noise included

    # Streamlit's one websocket is already open: count the messages it sends from here on.
    page.evaluate("() => { window.__sent = 0; const send = WebSocket.prototype.send; "
                  "WebSocket.prototype.send = function (...a) { window.__sent += 1; return send.apply(this, a); }; }")
    before = plot.evaluate("el => Array.from(el._fullData[el._fullData.length - 1].x).slice(0, 5)")
    plot.evaluate("el => Plotly.animate(el, ['0'], {frame: {duration: 0, redraw: false}, transition: {duration: 0},"
                  " mode: 'immediate'})")
    page.wait_for_timeout(400)
    after = plot.evaluate("el => Array.from(el._fullData[el._fullData.length - 1].x).slice(0, 5)")
    assert before != after  # the samples moved back to the noise
    grip = plot.locator(".slider-grip-rect").first
    grip.scroll_into_view_if_needed()
    rail, start = plot.locator(".slider-rail-rect").first.bounding_box(), grip.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()  # drag the grip from step 0 to the middle of the rail, as a visitor scrubs
    page.mouse.move(rail["x"] + rail["width"] * 0.5, start["y"] + start["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_timeout(600)
    middle = plot.evaluate("el => Array.from(el._fullData[el._fullData.length - 1].x).slice(0, 5)")
    assert middle not in (before, after)  # the scrub showed a step between noise and codes
    assert page.evaluate("() => window.__sent") == 0  # no rerun, no message: the browser played it alone
    assert page.locator("[data-testid=stException]").count() == 0
    page.get_by_role("button", name="New noise").click()  # a real control does talk to the server
    page.wait_for_function("() => window.__sent > 0", timeout=30_000)


@pytest.mark.parametrize(("path", "width", "scheme"), [("latent-diffusion", 1280, "light"),
                                                        ("latent-diffusion", 390, "dark"),
                                                        ("discrete-codes", 1280, "light"),
                                                        ("discrete-codes", 390, "dark")])
def test_the_pages_fit_the_screen(browser_page, path, width, scheme):
    base, desktop = browser_page
    phone = width < 600
    page = desktop.context.browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme,
                                            is_mobile=phone, has_touch=phone)
    try:
        page.goto(f"{base}/{path}?dataset=mnist-5k")
        server.wait_until_rendered(page, timeout_ms=240_000, sidebar=not phone)
        page.wait_for_timeout(800)
        ARTIFACTS.mkdir(exist_ok=True)
        server.full_page_screenshot(page, str(ARTIFACTS / f"{path}-{scheme}-{width}.png"))
        assert page.locator("[data-testid=stException]").count() == 0
        assert server.wider_than_the_screen(page) == []
    finally:
        page.close()
