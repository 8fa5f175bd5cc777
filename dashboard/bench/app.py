"""App benchmark rows: cold start to a rendered Overview in Chromium, Overview rerun time, server memory."""

from __future__ import annotations

import torch

from dashboard.app import navigation
from tests.harness import server
from tests.harness.apptest import rerun_ms

from . import Row, section


@section("app: frame", order=20)
def frame(quick: bool) -> list[Row]:
    rows = []
    ms = rerun_ms("overview", lambda app, i: app.number_input(key="overview_image").set_value(10 + i))
    rows.append(Row("app: frame", "Overview server-side rerun after picking another image (median)", ms, "ms",
                    "<= 300", ms <= 300, "AppTest, caches warm"))
    rows += browser_rows(visit_all=not quick)
    return rows


def browser_rows(visit_all: bool) -> list[Row]:
    """Cold start and memory, measured on a real `streamlit run` with headless Chromium."""
    if server.chromium_path() is None:
        return [Row("app: frame", "cold start to rendered Overview", "not measured", note="Chromium not installed")]
    cold, rss_mb = server.cold_start([spec.address for spec in navigation.PAGES] if visit_all else [])
    rows = [Row("app: frame", "cold start: `streamlit run` to Overview rendered in Chromium", cold, "s",
                "<= 8", cold <= 8, "shipped models, fresh process")]
    if rss_mb is not None:
        build = "CUDA" if torch.version.cuda else "CPU-only"
        rows.append(Row("app: frame", "server RSS after visiting every page once", rss_mb, "MB", "<= 900",
                        rss_mb <= 900, f"torch {torch.__version__} ({build} build); every model a page loaded"))
    return rows
