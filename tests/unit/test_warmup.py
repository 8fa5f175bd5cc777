"""The server's start-up warm-up: `streamlit run` finds the app object, and the warm-up loads the Overview's needs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

from streamlit.web.server.app_discovery import discover_asgi_app

from dashboard.app import warmup
from dashboard.core import memo, paths, zoo


def test_streamlit_run_serves_the_entry_point_as_an_app_with_the_warm_up():
    found = discover_asgi_app(paths.ROOT / "streamlit_app.py")
    assert found.is_asgi_app and found.app_name == "app"


def test_importing_the_entry_point_builds_the_app_and_runs_no_page_code():
    # uvicorn imports the file under its module name; a page's code there would run outside any session.
    code = ("import sys, streamlit_app, streamlit as st; "
            "assert isinstance(streamlit_app.app, st.App); assert 'dashboard.app.ui' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=paths.ROOT, check=True, timeout=120)


def test_warm_up_loads_the_overview_models_into_the_shared_caches():
    memo.clear_all()
    warmup.done.clear()
    warmup.warm()
    assert warmup.done.is_set() and {"torch", "overview"} <= set(warmup.timings)
    assert zoo.frozen("ae-16") is zoo.frozen("ae-16")
    assert zoo.codes("ae-3").shape[1] == 3


def test_the_start_up_hook_starts_the_warm_up_in_a_thread_unless_switched_off(monkeypatch):
    ran = threading.Event()
    monkeypatch.setattr(warmup, "warm", ran.set)

    async def enter_and_leave():
        async with warmup.lifespan(None):
            pass

    asyncio.run(enter_and_leave())
    assert ran.wait(10)
    ran.clear()
    monkeypatch.setenv(warmup.DISABLE_ENV, "off")
    asyncio.run(enter_and_leave())
    assert not ran.wait(0.5)
