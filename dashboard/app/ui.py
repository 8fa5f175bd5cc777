"""Streamlit glue shared by every page: cached data and models, the sidebar, URL state and common widgets."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
import torch

from dashboard.core import data, images, nets, paths, train, zoo

ASSETS = paths.ASSETS_DIR
DATASET_KEY = "dataset"
USER_MODELS_KEY = "user_models"
USER_SUFFIX = " (yours)"
UNAVAILABLE_RETRY_S = 60
# On-demand training for datasets without shipped models: bounded so that one visitor cannot hog the server.
ON_DEMAND_EPOCHS = 5
ON_DEMAND_MAX_IMAGES = 10_000
CANVAS_SIZE = 224
_training_lock = threading.Lock()


def _leave_legacy_page_mode() -> None:
    """Make every run go through streamlit_app.py, even the first run of a fresh server on a deep link.

    Streamlit decides once per process whether a `pages/` folder means its legacy multipage mode, and only
    st.navigation (in the entry file) turns that off. A fresh server whose first visitor opens /compression
    would run pages/compression.py bare, with the legacy menu and no shared sidebar. Every page imports this
    module, so the mode is switched off here; a run that already started bare is sent round again by
    `_rerun_if_unframed`, called from current_dataset() and url_key() (never during the import: other sessions may be
    importing this module at the same moment).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False


def _rerun_if_unframed() -> None:
    """Rerun a page that the legacy mode started without the entry point (its page list holds the entry file)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return
    pages = ctx.pages_manager.get_pages().values()
    if any(str(info.get("script_path", "")).endswith("streamlit_app.py") for info in pages):
        _leave_legacy_page_mode()
        st.rerun()


_leave_legacy_page_mode()
# Pages run small batches for many visitors at once; one thread per operation avoids the oversubscription that
# made a 36-image decode take 550 ms instead of 15 ms on a busy two-core server. Set LATENT_LAB_TORCH_THREADS
# to change it (the training CLI and the benchmark do not import this module and keep torch's default).
torch.set_num_threads(int(os.environ.get("LATENT_LAB_TORCH_THREADS", "1")))


# ---------------------------------------------------------------- cached data and models

@st.cache_resource(show_spinner=False, max_entries=4)
def dataset(name: str) -> data.Dataset:
    """A dataset shared read-only by every session."""
    return data.load(name)


@st.cache_resource(show_spinner=False)
def _models_trained_on_demand() -> dict[tuple[str, str], nets.Autoencoder]:
    """Models trained for datasets that ship none; shared by all sessions so each is trained once per server."""
    return {}


def user_models() -> dict[tuple[str, str], dict]:
    """This session's own trained models: {(dataset, name): {"model": ..., "card": ...}}."""
    return st.session_state.setdefault(USER_MODELS_KEY, {})


def model_names(dataset_name: str | None = None, family: str | None = None,
                latent: int | None = None) -> list[str]:
    """Shipped models for the dataset, then this session's own, optionally filtered by family or latent size."""
    dataset_name = dataset_name or current_dataset()
    found = zoo.names(dataset_name) + [n for (d, n) in user_models() if d == dataset_name]
    return [n for n in found
            if (family is None or model_family(n) == family) and (latent is None or model_latent(n) == latent)]


def model_family(name: str) -> str:
    return zoo.parse_name(name.removesuffix(USER_SUFFIX).rsplit(" #", 1)[0])[0]


def model_latent(name: str) -> int:
    return zoo.parse_name(name.removesuffix(USER_SUFFIX).rsplit(" #", 1)[0])[1]


def get_model(name: str, dataset_name: str | None = None) -> nets.Autoencoder | None:
    """A model by name (this session's own first, then shipped); None after showing why it is unavailable."""
    dataset_name = dataset_name or current_dataset()
    own = user_models().get((dataset_name, name))
    if own is not None:
        return own["model"]
    on_demand = _models_trained_on_demand().get((dataset_name, name))
    if on_demand is not None:
        return on_demand
    try:
        return zoo.frozen(name, dataset_name)
    except zoo.CheckpointError as exc:
        st.error(f"**The checkpoint for `{name}` could not be used.** {exc} "
                 "The file was refused, not loaded. Reinstall the app or retrain it on the Models page.", icon="🚫")
    except zoo.ModelNotFound:
        _offer_on_demand_training(name, dataset_name)
    return None


def require_model(name: str, dataset_name: str | None = None) -> nets.Autoencoder:
    """Like get_model, but stops the page (after the explanation) when the model is unavailable."""
    model = get_model(name, dataset_name)
    if model is None:
        st.stop()
    return model


def _offer_on_demand_training(name: str, dataset_name: str) -> None:
    ds = dataset(dataset_name)
    n_images = min(len(ds.x_train), ON_DEMAND_MAX_IMAGES)
    st.info(f"No model `{name}` ships for **{dataset_name}**. It can be trained here on {n_images:,} images "
            f"for {ON_DEMAND_EPOCHS} epochs, once for everyone using this server.", icon="🛠️")
    if not st.button(f"Train {name} for {dataset_name} now", key=f"on_demand_{dataset_name}_{name}"):
        return
    if not _training_lock.acquire(blocking=False):
        st.warning("Another training run is using this server. Try again in a minute.")
        return
    try:
        bar = st.progress(0.0, text=f"Training {name}…")
        config = zoo.config_for(name, dataset_name)
        result = train.train(config, ds.x_train[:n_images], train.TrainConfig(epochs=ON_DEMAND_EPOCHS),
                             progress=lambda e, n, loss: bar.progress(e / n, text=f"Epoch {e}/{n}: loss {loss:.4f}"))
        model = result.model
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        _models_trained_on_demand()[(dataset_name, name)] = model
    finally:
        _training_lock.release()
    st.rerun()


def training_lock() -> threading.Lock:
    """The server-wide lock that keeps training runs one at a time."""
    return _training_lock


# ---------------------------------------------------------------- URL state (shareable links)

def url_key(widget_key: str, param: str, default: Any, options: Sequence | None = None,
            cast: Callable[[str], Any] = str) -> str:
    """Seed a widget's state from the URL once, fall back to `default` with a notice, and keep the URL in step.

    Use it as the widget's key and don't pass a value/index to the widget.
    """
    _rerun_if_unframed()  # every page binds a control early, so a bare legacy-mode run is caught here too
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


# ---------------------------------------------------------------- the shared sidebar

def current_dataset() -> str:
    """The dataset every page uses now: the sidebar's choice, or mnist-5k when that choice is unavailable."""
    _rerun_if_unframed()
    chosen = st.session_state.get(DATASET_KEY, data.DEFAULT_DATASET)
    return st.session_state.get("_dataset_fallback", {}).get(chosen, chosen)


def _make_available(name: str) -> None:
    """Download an online dataset with a progress bar, or record a fallback to the default with the reason."""
    fallbacks = st.session_state.setdefault("_dataset_fallback", {})
    failures = st.session_state.setdefault("_dataset_failure", {})
    failed_at, reason = failures.get(name, (0.0, ""))
    if name in data.OFFLINE_DATASETS or data.is_downloaded(name):
        fallbacks.pop(name, None)
        return
    if time.monotonic() - failed_at > UNAVAILABLE_RETRY_S:
        bar = st.sidebar.progress(0.0, text=f"Downloading {name}…")
        try:
            data.load(name, progress=lambda fraction, text: bar.progress(min(fraction, 1.0), text=text))
            bar.empty()
            fallbacks.pop(name, None)
            return
        except data.DatasetUnavailable as exc:
            bar.empty()
            failures[name] = (time.monotonic(), str(exc))
            reason = str(exc)
    fallbacks[name] = data.DEFAULT_DATASET
    st.sidebar.warning(f"**{name} is not available, so the pages use {data.DEFAULT_DATASET}.** {reason}", icon="📡")


def sidebar() -> None:
    """The dataset picker, the compute device and a short about, on every page."""
    with st.sidebar:
        st.selectbox("Dataset", data.DATASETS, key=url_key(DATASET_KEY, "dataset", data.DEFAULT_DATASET,
                                                           data.DATASETS),
                     format_func=lambda n: n if n in data.OFFLINE_DATASETS or data.is_downloaded(n)
                     else f"{n} (downloads)",
                     help="mnist-5k and digits ship with the app and work offline. The others download from the "
                          "internet on first use and need models trained on the Models page.")
        st.caption(data.DESCRIPTIONS[st.session_state[DATASET_KEY]])
    _make_available(st.session_state[DATASET_KEY])
    with st.sidebar:
        st.markdown(f"**Compute:** {train.device_label()}")
        with st.expander("About Latent Lab"):
            st.markdown(
                "Latent Lab shows what an autoencoder's latent code is good for, with real PyTorch models "
                "trained on real digits. Every number on these pages is computed live from the shipped "
                "checkpoints in `models/`.\n\nOpen source; runs offline on a laptop.")


# ---------------------------------------------------------------- lesson text and small widgets

def lesson(page: str, expanded: bool = False, label: str = "📖 How it works, in plain words") -> None:
    """Render assets/lessons/<page>.md in an expander, then the matching quiz question(s) as links.

    The page's explanation lives in assets/, not in code; folding it keeps the live result on the first screen.
    """
    path = ASSETS / "lessons" / f"{page}.md"
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
        questions = [(n, q) for n, q in enumerate(_quiz_questions(), start=1) if q.page == page]
    except (OSError, ValueError):
        return
    for number, question in questions[:2]:
        st.page_link("pages/quiz.py", label=f"Check yourself: quiz question {number}, “{question.question}”",
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

            st.caption("Draw one digit, large and centred. Use the bin icon to clear.")
            canvas = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000",
                               height=CANVAS_SIZE, width=CANVAS_SIZE, drawing_mode="freedraw",
                               return_image_data=True, key=f"{key}_canvas")
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
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    if right.button("🎲", key=f"{key}_shuffle", help="Pick a random test image", width="stretch"):
        st.session_state[widget_key] = int(np.random.default_rng().integers(n_test))
    left.number_input("Test image #", 0, n_test - 1, step=1, key=widget_key)
    return int(st.session_state[widget_key])
