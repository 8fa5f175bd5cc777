"""Shareable links: widgets seeded from the URL once, bad values refused with a notice, the URL kept in step.

Streamlit's own binding (a widget's bind="query-params") would replace most of this, but it drops a value it
cannot use without a word, and a learner who opens a mistyped or outdated link should be told why the page shows
its default instead; it also names each parameter after the widget's page-prefixed key, which would change every
link already shared. So the app keeps this small module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st


def url_key(widget_key: str, param: str, default: Any, options: Sequence | None = None,
            cast: Callable[[str], Any] = str) -> str:
    """Seed a widget's state from the URL once, fall back to `default` with a notice, and keep the URL in step.

    Use it as the widget's key and don't pass a value/index to the widget.
    """
    seeded = st.session_state.setdefault("_url_seeded", set())
    if widget_key not in seeded:
        seeded.add(widget_key)
        raw = st.query_params.get(param)
        if raw is not None:
            try:
                value = cast(raw)
                if options is not None and value not in options:
                    raise ValueError
                st.session_state[widget_key] = value
            except (ValueError, TypeError):
                shown = ", ".join(map(str, options)) if options is not None else "a valid value"
                st.warning(f"The link's `{param}={raw[:40]}` is not valid here (expected {shown}); "
                           f"showing the default, {default}.", icon="🔗")
    if widget_key not in st.session_state or (options is not None and st.session_state[widget_key] not in options):
        st.session_state[widget_key] = default
    else:
        # Written back even when unchanged: Streamlit tells the browser a widget's value only when it was written this
        # run, and a widget made without a value (as here) mounts at its first option. A run that ends in st.stop()
        # before the widget skips Streamlit's cleanup, so the old value outlives the unmounted element; without this
        # line the widget would reappear showing its first option while the script reads the kept value.
        st.session_state[widget_key] = st.session_state[widget_key]
    st.session_state.setdefault("_url_bindings", {})[param] = widget_key
    return widget_key


def sync_url(partial: bool = False) -> None:
    """Write the current value of every URL-bound widget of this run into the query string.

    The entry point calls it after each full run. A fragment calls it with partial=True at its end, so that a
    rerun of only the fragment updates its own values and leaves the rest of the link alone.
    """
    # A full run starts the bindings afresh; a fragment's partial sync must leave them for the entry's sync.
    bindings = st.session_state.get("_url_bindings", {}) if partial else st.session_state.pop("_url_bindings", {})
    wanted = {param: str(st.session_state[key]) for param, key in bindings.items() if key in st.session_state}
    if partial:
        for param, value in wanted.items():
            if st.query_params.get(param) != value:
                st.query_params[param] = value
        return
    if {k: st.query_params.get(k) for k in wanted} != wanted or set(st.query_params) - set(wanted):
        st.query_params.from_dict(wanted)
