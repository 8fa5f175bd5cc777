"""The server's start-up warm-up: `streamlit run` finds the app object, and the warm-up loads the Overview's needs."""

from __future__ import annotations

import asyncio
import gc
import importlib
import subprocess
import sys
import threading

import pytest
import streamlit as st
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


@pytest.fixture
def fresh_server(monkeypatch):
    """The warm-up's view of a server that has just started: a SessionWatch in place, no session yet."""
    for event in ("session_seen", "watching", "done"):
        monkeypatch.setattr(warmup, event, threading.Event())
    monkeypatch.setattr(warmup, "timings", {})
    warmup.SessionWatch(None)
    yield
    gc.unfreeze()  # the rest of this test process keeps an ordinary collector


def websocket_opens(watch: warmup.SessionWatch) -> None:
    asyncio.run(watch({"type": "websocket", "path": "/_stcore/stream"}, None, None))


def test_the_entry_point_builds_the_app_with_the_warm_up_and_the_session_watch(monkeypatch):
    built = {}
    monkeypatch.setattr(st, "App", lambda script, **options: built.update(script=script, **options))
    monkeypatch.delitem(sys.modules, "streamlit_app", raising=False)
    importlib.import_module("streamlit_app")
    monkeypatch.delitem(sys.modules, "streamlit_app")
    assert built["lifespan"] is warmup.lifespan and built["middleware"] == warmup.MIDDLEWARE


def test_warm_up_loads_the_overview_models_into_the_shared_caches(fresh_server):
    memo.clear_all()
    warmup.warm()
    assert warmup.done.is_set() and {"torch", "overview", "frozen imports", "frozen models"} <= set(warmup.timings)
    assert gc.get_freeze_count() > 0
    assert zoo.frozen("ae-16") is zoo.frozen("ae-16")
    assert zoo.codes("ae-3").shape[1] == 3


def test_the_session_watch_passes_every_request_on_and_notes_only_websockets(fresh_server):
    seen = []

    async def inner(scope, receive, send):
        seen.append(scope["type"])

    watch = warmup.SessionWatch(inner)
    for kind in ("lifespan", "http"):
        asyncio.run(watch({"type": kind}, None, None))
    assert seen == ["lifespan", "http"] and not warmup.session_seen.is_set()
    websocket_opens(watch)
    assert seen[-1] == "websocket" and warmup.session_seen.is_set()


def test_nothing_is_frozen_once_a_session_exists(fresh_server):
    async def inner(scope, receive, send):
        pass

    gc.unfreeze()
    websocket_opens(warmup.SessionWatch(inner))
    assert not warmup.freeze_unless_a_session_exists()
    assert gc.get_freeze_count() == 0


def test_nothing_is_frozen_where_no_session_watch_could_tell(fresh_server, monkeypatch):
    monkeypatch.setattr(warmup, "watching", threading.Event())
    gc.unfreeze()
    assert not warmup.freeze_unless_a_session_exists() and gc.get_freeze_count() == 0
    warmup.watching.set()
    assert warmup.freeze_unless_a_session_exists() and gc.get_freeze_count() > 0


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
