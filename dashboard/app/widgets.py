"""Widgets every page shares: lesson text with quiz links, the draw-or-upload digit input, downloads, a picker."""

from __future__ import annotations

import io
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.app.frame import require_entry_point
from dashboard.app.sidebar import current_dataset, dataset
from dashboard.app.urlstate import url_key
from dashboard.core import data, images, paths

# Small enough to fit the narrowest column it sits in (a quarter of the page at 1280 px, with the sidebar open);
# drawings are scaled down to 28x28 or 8x8 anyway.
CANVAS_SIZE = 168
CANVAS_STROKE = 14


def needs_shipped(what: str, dataset_name: str) -> None:
    """Stop a page whose models ship only for the offline datasets, saying which and what to pick instead."""
    st.info(f"This page needs {what}, which ship for {' and '.join(data.OFFLINE_DATASETS)} but not for "
            f"**{dataset_name}**. Pick one of those in the sidebar.", icon="🧪")
    st.stop()


def page_header(title: str, lead: str, lesson_page: str) -> tuple[str, data.Dataset]:
    """Open a use-case page: check the frame, show the title, the lead paragraph and the folded lesson.

    Returns the dataset the sidebar chose (its name and its data), which every such page works on.
    """
    require_entry_point()
    st.title(title)
    st.markdown(lead)
    dataset_name = current_dataset()
    ds = dataset(dataset_name)
    lesson(lesson_page)
    return dataset_name, ds


def lesson(page: str, expanded: bool = False, label: str = "📖 How it works, in plain words") -> None:
    """Render assets/lessons/<page>.md in an expander, then the matching quiz question(s) as links.

    The page's explanation lives in assets/, not in code; folding it keeps the live result on the first screen.
    """
    path = paths.ASSETS_DIR / "lessons" / f"{page}.md"
    with st.expander(label, expanded=expanded):
        if path.exists():
            st.markdown(path.read_text())
        else:
            st.caption(f"(Lesson text for this page is missing: {path.name}.)")
        quiz_links(page)


@st.cache_resource(show_spinner=False)
def _quiz_questions() -> list:
    from dashboard.lesson import quiz

    return quiz.load()


def quiz_links(page: str) -> None:
    """Links to the quiz question(s) that check this page's idea."""
    try:
        questions = [q for q in _quiz_questions() if q.page == page]
    except (OSError, ValueError):
        return
    for question in questions[:2]:
        st.page_link("pages/quiz.py", label=f"Check yourself in the quiz: “{question.question}”",
                     icon="❓", query_params={"q": question.id})


def image_input(key: str, image_shape: tuple[int, int, int], label: str = "Your own digit",
                allow_draw: bool = True) -> images.PreparedImage | None:
    """Draw or upload an image; returns the model-ready image, or None after showing a clear message."""
    sources = ["Draw", "Upload"] if allow_draw else ["Upload"]
    source = st.segmented_control(label, sources, default=sources[0], key=f"{key}_source")
    try:
        if source == "Upload":
            upload = st.file_uploader("PNG or JPEG, up to 2 MB", type=images.ACCEPTED_EXTENSIONS,
                                      key=f"{key}_upload")
            if upload is None:
                st.caption("Upload a photo or scan of a single digit.")
                return None
            prepared = images.from_bytes(upload.getvalue(), image_shape, upload.name)
        elif source == "Draw":
            from streamlit_drawable_canvas import st_canvas

            st.caption("Draw one digit, large and centred.")
            # The canvas's toolbar (undo, reset) appears on hover about 2.6rem above the canvas: this space keeps
            # it off the caption.
            st.space("small")
            # The component's own toolbar (undo, reset) shows only on hover; a plain button under the canvas is a
            # visible way to start again. A new key gives a blank canvas.
            clears = st.session_state.setdefault(f"{key}_clears", 0)
            canvas = st_canvas(stroke_width=CANVAS_STROKE, stroke_color="#FFFFFF", background_color="#000000",
                               height=CANVAS_SIZE, width=CANVAS_SIZE, drawing_mode="freedraw",
                               return_image_data=True, key=f"{key}_canvas_{clears}")
            st.button("🧽 Clear the drawing", key=f"{key}_clear", on_click=_clear_canvas, args=(key,), wrap=True)
            pixels = canvas.image_data if canvas is not None else None
            if pixels is None or float(np.asarray(pixels)[..., :3].max(initial=0)) == 0:
                st.caption("The canvas is empty: draw a digit to see what the model makes of it.")
                return None
            prepared = images.from_canvas(pixels, image_shape)
        else:
            return None
    except images.ImageInputError as exc:
        st.error(str(exc), icon="🖼️")
        return None
    for note in prepared.notes:
        st.caption(f"ℹ️ {note}")
    return prepared


def _clear_canvas(key: str) -> None:
    """Callbacks run before the script, so the canvas drawn in this very run already has the new, empty key."""
    st.session_state[f"{key}_clears"] = st.session_state.get(f"{key}_clears", 0) + 1


def codes_csv(codes: np.ndarray, labels: np.ndarray | None = None, extra: dict | None = None) -> bytes:
    """Latent codes as CSV, one row per image, columns z1..zk (+ label and extras)."""
    frame = pd.DataFrame(np.asarray(codes), columns=[f"z{i + 1}" for i in range(np.asarray(codes).shape[1])])
    if labels is not None:
        frame.insert(0, "label", np.asarray(labels))
    for name, values in (extra or {}).items():
        frame[name] = np.asarray(values)
    buffer = io.StringIO()
    frame.to_csv(buffer, index_label="index", float_format="%.6g")
    return buffer.getvalue().encode()


def figure_html(figure) -> bytes:
    """A plotly figure as a standalone interactive HTML file (plotly.js inlined, so it works offline)."""
    return figure.to_html(include_plotlyjs=True, full_html=True).encode()


def pick_test_index(key: str, n_test: int, default: int = 0) -> int:
    """A test-image picker (number box and a shuffle button) whose value survives reruns and goes in the URL."""
    widget_key = url_key(key, key.split("_", 1)[-1], default, range(n_test), int)
    # The button sits under the number box, not beside it: beside it, a narrow column clipped the die. In a very
    # narrow column its label wraps rather than being cut short.
    if st.button("🎲 Random image", key=f"{key}_shuffle", help="Pick a random test image", width="stretch",
                 wrap=True):
        st.session_state[widget_key] = int(np.random.default_rng().integers(n_test))
    st.number_input("Test image #", 0, n_test - 1, step=1, key=widget_key)
    return int(st.session_state[widget_key])


def session_figure(key: str, token: Hashable, build: Callable[[], Any]) -> Any:
    """A figure this session keeps between reruns and updates in place, rebuilt only when token changes.

    Building a plotly figure validates every trace (50-75 ms for the Overview's); moving a marker or recolouring
    planes in place takes well under 10 ms. Each session holds its own, so no two visitors share a mutable figure.
    """
    held = st.session_state.get(key)
    if held is None or held[0] != token:
        held = (token, build())
        st.session_state[key] = held
    return held[1]
