"""Start a real `streamlit run` of the app on a free loopback port, for browser tests and the benchmark."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_SELECTOR = "[data-testid=stApp][data-test-script-state=notRunning]"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chromium_path() -> str | None:
    """Debian's Chromium, which Playwright drives through executable_path (its own download fails offline)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@contextlib.contextmanager
def running_app(timeout_s: float = 90.0, env: dict | None = None,
                python: str | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """Yield (base URL, process) of a headless server; the server is stopped on exit, whatever happens.

    python: another interpreter to serve with (e.g. a CPU-only torch venv's), default this one.
    """
    port = free_port()
    command = [python or sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
               "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false"]
    # The log goes to a file: a pipe that nobody reads fills up after a burst of output and stalls the server.
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                log.seek(0)
                output = log.read().decode(errors="replace")
                raise RuntimeError(f"streamlit exited early with code {process.returncode}:\n{output[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit did not answer on {base} within {timeout_s:.0f} s")
            time.sleep(0.2)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def wait_until_rendered(page, timeout_ms: float = 120_000, sidebar: bool = True) -> None:
    """Wait for the sidebar (unless it starts closed, as on a phone) and main title, then for the run to finish."""
    if sidebar:
        page.wait_for_selector("[data-testid=stSidebar] [data-testid=stSelectbox]", timeout=timeout_ms)
    page.wait_for_selector("[data-testid=stMain] h1", timeout=timeout_ms)
    page.wait_for_selector(READY_SELECTOR, timeout=timeout_ms)


def rss_mb(process: subprocess.Popen) -> float:
    """Resident memory of a server process, in MiB."""
    import psutil

    return psutil.Process(process.pid).memory_info().rss / 2**20


def cpu_seconds(process: subprocess.Popen) -> float:
    """User plus system CPU time a server process has used so far."""
    import psutil

    return sum(psutil.Process(process.pid).cpu_times()[:2])


def cold_start(visit_paths: list[str], python: str | None = None) -> tuple[float, float | None]:
    """Seconds from `streamlit run` to the Overview rendered in headless Chromium (its 3D figure drawn), and the
    server's RSS in MiB after visiting each of visit_paths once (None when none are given)."""
    from playwright.sync_api import sync_playwright

    # The browser is open before the clock starts: a visitor's or presenter's browser is already running.
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        start = time.perf_counter()
        with running_app(python=python) as (base, process):
            page.goto(f"{base}/")
            wait_until_rendered(page)
            page.wait_for_selector("[data-testid=stMain] .js-plotly-plot", timeout=120_000)
            seconds = time.perf_counter() - start
            for path in visit_paths:
                page.goto(f"{base}/{path}")
                wait_until_rendered(page)
            memory = rss_mb(process) if visit_paths else None
        browser.close()
    return seconds, memory


def memory_profile(visit_paths: list[str], python: str | None = None,
                   env: dict | None = None) -> list[tuple[str, float]]:
    """Server RSS in MiB when it first answers, then after each page of visit_paths is rendered in Chromium, in order.

    The differences are what each page's first visit adds (its imports, models and caches); later pages reuse what
    earlier ones loaded, so the order is part of the measurement.
    """
    from playwright.sync_api import sync_playwright

    profile = []
    with running_app(python=python, env=env) as (base, process), sync_playwright() as driver:
        profile.append(("server started (no session)", rss_mb(process)))
        browser = driver.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        for path in visit_paths:
            page.goto(f"{base}/{path}")
            wait_until_rendered(page)
            page.wait_for_timeout(300)  # late component and fragment runs
            profile.append((path or "overview", rss_mb(process)))
        browser.close()
    return profile


def full_page_screenshot(page, path: str) -> None:
    """Screenshot the whole page: Streamlit scrolls inside its main block, so grow the viewport to fit it first."""
    size = page.viewport_size
    height = page.evaluate("() => Math.max(...[...document.querySelectorAll("
                           "'[data-testid=stMain], [data-testid=stMainBlockContainer]')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 80, 16_000)})
    page.wait_for_timeout(400)  # charts re-lay out to the new size
    page.screenshot(path=path)
    page.set_viewport_size(size)


def wider_than_the_screen(page) -> list[str]:
    """Elements of the main block that stick out past the viewport's right edge (empty when everything fits)."""
    return page.evaluate("""() => {
        const limit = window.innerWidth + 1;
        const main = document.querySelector('[data-testid=stMain]');
        const found = [];
        if (main.scrollWidth > limit) found.push(`main block scrollWidth ${main.scrollWidth} > ${window.innerWidth}`);
        for (const el of main.querySelectorAll('[data-testid=stElementContainer]')) {
            const box = el.getBoundingClientRect();
            if (box.width > 0 && box.right > limit) {
                const kind = el.firstElementChild ? el.firstElementChild.getAttribute('data-testid') : '?';
                found.push(`${kind} reaches ${Math.round(box.right)} px`);
            }
        }
        return found.slice(0, 10);
    }""")
