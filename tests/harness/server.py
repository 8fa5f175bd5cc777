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
def running_app(timeout_s: float = 90.0, env: dict | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """Yield (base URL, process) of a headless server; the server is stopped on exit, whatever happens."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
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


def wait_until_rendered(page, timeout_ms: float = 120_000) -> None:
    """Wait for the sidebar and main title, then for the script to finish its run."""
    page.wait_for_selector("[data-testid=stSidebar] [data-testid=stSelectbox]", timeout=timeout_ms)
    page.wait_for_selector("[data-testid=stMain] h1", timeout=timeout_ms)
    page.wait_for_selector(READY_SELECTOR, timeout=timeout_ms)
