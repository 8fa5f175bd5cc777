"""App benchmark rows: cold start in Chromium, Overview rerun time, server memory per page, the CPU-only install."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import torch

from dashboard.app import navigation
from dashboard.core import paths
from tests.harness import server
from tests.harness.apptest import rerun_ms

from . import Row, section

# The memory goals after visiting every page once, by torch build; CI fails 10% above them.
MEMORY_GOAL_MB = {"CUDA": 900, "CPU-only": 690}
COLD_START_GOAL_S = 5.0
CLOUD_REQUIREMENTS = paths.ROOT / "requirements-cloud.txt"
CLOUD_VENVS = Path.home() / ".cache" / "latent-lab" / "bench-venvs"


def torch_build() -> str:
    return "CUDA" if torch.version.cuda else "CPU-only"


@section("app: frame", order=20)
def frame(quick: bool) -> list[Row]:
    rows = []
    ms = rerun_ms("overview", lambda app, i: app.number_input(key="overview_image").set_value(10 + i))
    rows.append(Row("app: frame", "Overview server-side rerun after picking another image (median)", ms, "ms",
                    "<= 300", ms <= 300, "AppTest, caches warm"))
    rows += browser_rows(visit_all=not quick)
    return rows


def browser_rows(visit_all: bool, python: str | None = None, build: str | None = None,
                 section_name: str = "app: frame") -> list[Row]:
    """Cold start and memory, measured on a real `streamlit run` with headless Chromium."""
    if server.chromium_path() is None:
        return [Row(section_name, "cold start to rendered Overview", "not measured", note="Chromium not installed")]
    build = build or torch_build()
    cold, rss_mb = server.cold_start([spec.address for spec in navigation.PAGES] if visit_all else [], python)
    rows = [Row(section_name, "cold start: `streamlit run` to Overview rendered in Chromium", cold, "s",
                f"<= {COLD_START_GOAL_S:g}", cold <= COLD_START_GOAL_S,
                f"{build} torch; shipped models, fresh process")]
    if rss_mb is not None:
        goal = MEMORY_GOAL_MB[build]
        rows.append(Row(section_name, "server RSS after visiting every page once", rss_mb, "MB", f"<= {goal}",
                        rss_mb <= goal, f"{build} torch; every model a page loaded"))
    return rows


def memory_rows(section_name: str, python: str | None = None, build: str | None = None) -> list[Row]:
    """What each page's first visit adds to the server's RSS, pages in menu order (later ones reuse what is loaded)."""
    if server.chromium_path() is None:
        return [Row(section_name, "memory per page", "not measured", note="Chromium not installed")]
    build = build or torch_build()
    profile = server.memory_profile([spec.address for spec in navigation.PAGES], python=python)
    rows, before = [], None
    for label, mb in profile:
        added = "" if before is None else f"; +{mb - before:.0f} MB for this page's first visit"
        rows.append(Row(section_name, f"server RSS after {label}", mb, "MB", note=f"{build} torch{added}"))
        before = mb
    goal = MEMORY_GOAL_MB[build]
    rows.append(Row(section_name, "server RSS after every page", profile[-1][1], "MB", f"<= {goal}",
                    profile[-1][1] <= goal, f"{build} torch"))
    return rows


@section("app: memory", order=21)
def memory(quick: bool) -> list[Row]:
    return memory_rows("app: memory")


def cloud_venv() -> tuple[Path, float | None]:
    """A venv with requirements-cloud.txt installed (made once per version of that file), and its install seconds.

    pip reads the machine's own configuration, so an offline machine with the CPU wheel on disk installs it from
    there; the file's extra index (download.pytorch.org) is tried once and skipped when unreachable.
    """
    digest = hashlib.sha256(CLOUD_REQUIREMENTS.read_bytes()).hexdigest()[:12]
    venv = CLOUD_VENVS / f"cloud-{digest}"
    python = venv / "bin" / "python"
    if python.exists():
        return python, None
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--retries", "0", "-r", str(CLOUD_REQUIREMENTS)],
                   check=True, timeout=1800)
    return python, time.perf_counter() - start


@section("app: cloud install", order=22)
def cloud_install(quick: bool) -> list[Row]:
    """The CPU-only deploy as README gives it for Community Cloud, in a fresh venv: memory and cold start."""
    name = "app: cloud install"
    try:
        python, install_s = cloud_venv()
    except (subprocess.SubprocessError, OSError) as exc:
        return [Row(name, "install requirements-cloud.txt in a fresh venv", "failed", ok=False, note=str(exc)[:200])]
    version = subprocess.run([str(python), "-c", "import torch; print(torch.__version__)"], capture_output=True,
                             text=True, check=True).stdout.strip()
    rows = [Row(name, "install requirements-cloud.txt in a fresh venv", install_s if install_s else "reused",
                "s" if install_s else "", note=f"torch {version}; {python.parent.parent}")]
    rows += browser_rows(visit_all=False, python=str(python), build="CPU-only", section_name=name)
    if not quick:
        rows += memory_rows(name, python=str(python), build="CPU-only")
    return rows
