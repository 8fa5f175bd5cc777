"""How every run is framed: the process's one thread policy, and each page's check that the entry point ran.

Streamlit treats a `pages/` folder beside the entry file as its legacy multipage mode until some run calls
st.navigation. On a fresh server whose first visitor opens a deep link such as /compression, that first run
executes pages/compression.py bare: no shared sidebar, no URL sync. Streamlit's AppTest re-decides the mode before
every run, so there every run of a non-default page starts bare.

What was tried: flipping the private class attribute `PagesManager.uses_pages_directory` (any
release may rename it) and reading the page list from the script-run context (private too); then, with public
API only, st.navigation plus st.rerun from the bare page, which works but drops a button click made in that run
(a click is a one-run trigger). What is used now: the entry point marks the session's run as framed; a page
that finds no mark runs streamlit_app.py in its place, in the same script run, so the widget values and clicks
of that run reach the page. The entry's st.navigation ends the legacy mode for the whole process and routes to
the page the URL names; the bare page then stops.
"""

from __future__ import annotations

import contextlib
import runpy
from collections.abc import Iterator

import streamlit as st

from dashboard.core import allocator, paths, threads

ENTRY_POINT = "streamlit_app.py"
FRAMED_KEY = "_entry_point_ran"


@st.cache_resource(show_spinner=False)
def configure_process() -> int:
    """The server's thread and memory policies (dashboard.core.threads, .allocator), applied on its first run."""
    allocator.apply_serving_policy()
    return threads.apply_serving_policy()


@contextlib.contextmanager
def entry_point_run() -> Iterator[None]:
    """Mark this session's script run as started by streamlit_app.py, for as long as the page runs."""
    st.session_state[FRAMED_KEY] = True
    try:
        yield
    finally:
        st.session_state.pop(FRAMED_KEY, None)
        allocator.release_free_memory()


def require_entry_point() -> None:
    """First call of every page: when the run did not come through streamlit_app.py, send it round through it.

    A fragment's rerun never reaches a page's top level, so only whole-page runs are checked.
    """
    if st.session_state.get(FRAMED_KEY):
        return
    runpy.run_path(str(paths.ROOT / ENTRY_POINT), run_name="__main__")
    st.stop()
