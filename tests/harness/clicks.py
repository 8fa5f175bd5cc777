"""What a visitor feels: each page's main controls clicked in headless Chromium, timed to the finished page."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.harness import server

# Counts the runs that finished (the app's script state going back to notRunning), so a click's own run is seen
# even when it starts and ends between two polls; then waits two frames, so charts have painted.
WATCH_RUNS = """() => {
    if (window.__runsDone !== undefined) return;
    window.__runsDone = 0;
    const app = document.querySelector('[data-testid=stApp]');
    new MutationObserver(() => {
        if (app.getAttribute('data-test-script-state') === 'notRunning') window.__runsDone += 1;
    }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
PAINTED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"


@dataclass(frozen=True)
class Control:
    """One control on one page, and how a visitor changes it (round i of the measurement)."""

    page: str  # the page's address ("" for the Overview)
    name: str
    act: Callable  # (playwright page, round index) -> None


def _button(label: str) -> Callable:
    return lambda page, i: page.get_by_role("button", name=label).first.click()


def _slider(label: str) -> Callable:
    """Move a slider one step with the keyboard, alternating right and left so it stays in range."""
    def act(page, i):
        thumb = page.locator("[data-testid=stSlider]").filter(has_text=label).locator("[tabindex='0']").first
        thumb.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
    return act


def _number(label: str, values: tuple[int, ...]) -> Callable:
    def act(page, i):
        box = page.get_by_label(label).first
        box.fill(str(values[i % len(values)]))
        box.press("Enter")
    return act


def _choice(label: str, options: tuple[str, ...]) -> Callable:
    """Pick a segmented-control or radio option by its text, cycling through options."""
    return lambda page, i: page.get_by_text(options[i % len(options)], exact=True).first.click()


def _selectbox(label: str, options: tuple[str, ...]) -> Callable:
    def act(page, i):
        page.locator("[data-testid=stSelectbox]").filter(has_text=label).first.click()
        page.get_by_role("option", name=options[i % len(options)], exact=True).click()
    return act


CONTROLS = [
    Control("", "🎲 Random image", _button("🎲 Random image")),
    Control("", "test image number", _number("Test image #", (5, 6))),
    Control("", "model", _selectbox("Model", ("ae-8", "ae-16"))),
    Control("compression", "code size k", _slider("Code size k")),
    Control("compression", "🎲 Shuffle", _button("🎲 Shuffle")),
    Control("denoising", "noise level", _slider("Noise level")),
    Control("denoising", "🎲 New", _button("🎲 New")),
    Control("anomaly", "score", _choice("Anomaly score", ("Pixels", "Both"))),
    Control("features", "labels per class", _slider("Labelled images per class")),
    Control("features", "code size k", _slider("Code size k")),
    Control("sampling", "code size k", _slider("Code size k")),
    Control("sampling", "🎲 New samples", _button("🎲 New samples")),
]


def _finished_run(page, act: Callable, i: int, timeout_ms: float) -> float:
    page.evaluate(WATCH_RUNS)
    before = page.evaluate("() => window.__runsDone")
    start = time.perf_counter()
    act(page, i)
    page.wait_for_function(f"() => window.__runsDone > {before}", timeout=timeout_ms, polling="raf")
    page.wait_for_selector(server.READY_SELECTOR, timeout=timeout_ms)
    page.evaluate(PAINTED)
    return time.perf_counter() - start


def measure(repeats: int = 5, controls: list[Control] | None = None, timeout_ms: float = 120_000) -> dict:
    """On one fresh server: each page's first visit (in menu order of CONTROLS), then each control's click times.

    Returns {"first_visit_s": {page: s}, "clicks_s": {(page, control): [s, ...]}, "errors": {(page, control): msg}}.
    A control that cannot be found is reported in errors rather than failing the others.
    """
    from playwright.sync_api import sync_playwright

    controls = controls or CONTROLS
    found: dict = {"first_visit_s": {}, "clicks_s": {}, "errors": {}}
    with server.running_app() as (base, _), sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=server.chromium_path(), headless=True,
                                          args=server.CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        for address in dict.fromkeys(c.page for c in controls):
            start = time.perf_counter()
            page.goto(f"{base}/{address}")
            server.wait_until_rendered(page, 240_000)
            page.evaluate(PAINTED)
            found["first_visit_s"][address or "overview"] = time.perf_counter() - start
            for control in (c for c in controls if c.page == address):
                key = (address or "overview", control.name)
                try:
                    _finished_run(page, control.act, 0, timeout_ms)  # warm: the first change may fill a cache
                    found["clicks_s"][key] = [_finished_run(page, control.act, i + 1, timeout_ms)
                                              for i in range(repeats)]
                except Exception as exc:  # noqa: BLE001 - one missing control must not hide the others' times
                    found["errors"][key] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        chromium.close()
    return found


def median(values: list[float]) -> float:
    return statistics.median(values)
