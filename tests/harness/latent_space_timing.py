"""Time the Latent space page in headless Chromium on a fresh server: hover, click, 3D slider, first visit, memory."""

from __future__ import annotations

import time

from tests.harness import server

DECODE_SRC = ("() => { const c = [...document.querySelectorAll('[data-testid=stImageCaption]')]"
              ".find(e => e.textContent === 'decode at z');"
              " return c ? c.closest('[data-testid=stImage]').querySelector('img').src : null; }")
PINNED_AND_LINKED = ("() => [...document.querySelectorAll('[data-testid=stMarkdownContainer]')]"
                     ".some(e => e.textContent.includes('Pinned on the AE map')) && "
                     "location.search.includes('pin=ae') && location.search !== window.__lastPin")


def measure(quick: bool = False) -> dict:
    """Raw timings in seconds (lists) and the server's RSS before and after its first visit of the page, in MiB."""
    from playwright.sync_api import sync_playwright

    found: dict = {}
    with server.running_app() as (base, process), sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=server.chromium_path(), headless=True,
                                          args=server.CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/")
        server.wait_until_rendered(page, 240_000)
        found["rss_before_mb"] = server.rss_mb(process)
        page.goto(f"{base}/latent-space")
        server.wait_until_rendered(page, 240_000)
        page.wait_for_selector(".llm-over", timeout=120_000)
        found["rss_after_mb"] = server.rss_mb(process)

        found["first_visit_s"] = []
        for _ in range(3):
            fresh = chromium.new_page(viewport={"width": 1280, "height": 900})
            start = time.perf_counter()
            fresh.goto(f"{base}/latent-space")
            server.wait_until_rendered(fresh, 120_000)
            for index in range(2):  # the maps live in shadow roots, which only Playwright's locators pierce
                handle = fresh.locator(".llm-readout").nth(index).element_handle(timeout=120_000)
                fresh.wait_for_function("el => el.textContent.length > 0", arg=handle, polling="raf")
            found["first_visit_s"].append(time.perf_counter() - start)
            fresh.close()

        page.wait_for_timeout(500)
        over = page.locator(".llm-over").first
        over.scroll_into_view_if_needed()
        box = over.bounding_box()
        readout = page.locator(".llm-readout").first
        handle = readout.element_handle()
        found["hover_s"] = []
        for i in range(40):
            x = box["x"] + box["width"] * (0.1 + 0.8 * ((i * 37) % 40) / 40)
            y = box["y"] + box["height"] * (0.1 + 0.8 * ((i * 13) % 40) / 40)
            old = readout.text_content()
            start = time.perf_counter()
            page.mouse.move(x, y)
            page.wait_for_function("([el, old]) => el.textContent !== old", arg=[handle, old], polling="raf")
            found["hover_s"].append(time.perf_counter() - start)

        found["pin_s"] = []
        for i in range(3 if quick else 6):
            x, y = box["x"] + box["width"] * (0.3 + 0.07 * i), box["y"] + box["height"] * (0.35 + 0.05 * i)
            start = time.perf_counter()
            page.mouse.click(x, y)
            page.wait_for_function(PINNED_AND_LINKED, polling="raf")
            page.wait_for_selector(server.READY_SELECTOR)
            found["pin_s"].append(time.perf_counter() - start)
            page.evaluate("() => { window.__lastPin = location.search; }")

        slider = page.locator("[data-testid=stSlider] [tabindex='0']").first  # the thumb of the 3D view's z1
        slider.scroll_into_view_if_needed()
        found["slider_s"] = []
        for i in range(3 if quick else 8):
            source = page.evaluate(DECODE_SRC)
            start = time.perf_counter()
            slider.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
            page.wait_for_function(f"(old) => ({DECODE_SRC})() !== old", arg=source, polling="raf")
            page.wait_for_selector(server.READY_SELECTOR)
            found["slider_s"].append(time.perf_counter() - start)
        chromium.close()
    return found
