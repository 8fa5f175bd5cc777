"""The hover-decode map component (Streamlit components v2, inline JS/CSS from assets/components/)."""

from __future__ import annotations

import streamlit as st

from dashboard.core import paths

_ASSETS = paths.ASSETS_DIR / "components"
_JS = (_ASSETS / "latent_map.js").read_text(encoding="utf-8")
_CSS = (_ASSETS / "latent_map.css").read_text(encoding="utf-8")
# One JS module serves both: the map instance holds the heavy atlas, the marks instance the small changing markers.
_MAP = st.components.v2.component("latent_lab.latent_map", js=_JS, css=_CSS)
_MARKS = st.components.v2.component("latent_lab.latent_marks", js=_JS)


def latent_map(payload: dict, key: str) -> tuple[float, float] | None:
    """Mount one map; returns the z the visitor just clicked, on the run that click started, else None.

    The payload never changes for a map, so Streamlit sends it once and refers to it on later runs.
    """
    result = _MAP(key=key, data=payload, on_pin_change=lambda: None, height="content")
    clicked = getattr(result, "pin", None)
    if not isinstance(clicked, dict):
        return None
    try:
        x, y = (float(v) for v in clicked.get("z", ()))
    except (TypeError, ValueError):
        return None
    return x, y


def map_marks(marks: dict, key: str) -> None:
    """Send a map its markers (pin, the visitor's code, a VAE's σ ellipse and resampled z); draws nothing itself."""
    _MARKS(key=key, data=marks, height=0)
