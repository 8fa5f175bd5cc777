"""The shared sidebar: the dataset picker with its download or offline fallback, the compute device, an about."""

from __future__ import annotations

import time

import streamlit as st

from dashboard.app.urlstate import url_key
from dashboard.core import data, paths, train

DATASET_KEY = "dataset"
UNAVAILABLE_RETRY_S = 60
# Closes the sidebar on phones after a menu tap; draws nothing (assets/components/phone_menu.js says why).
_PHONE_MENU = st.components.v2.component(
    "latent_lab.phone_menu", js=(paths.ASSETS_DIR / "components" / "phone_menu.js").read_text(encoding="utf-8"))


@st.cache_resource(show_spinner=False, max_entries=4)
def dataset(name: str) -> data.Dataset:
    """A dataset shared read-only by every session."""
    return data.load(name)


def current_dataset() -> str:
    """The dataset every page uses now: the sidebar's choice, or mnist-5k when that choice is unavailable."""
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
        _PHONE_MENU(key="phone_menu", height=0)
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
                "trained on real digits. Every number on these pages is computed from the shipped checkpoints in "
                "`models/`: what a page shows first was computed by the build and stored beside them, and "
                "everything you change is computed live.\n\nOpen source; runs offline on a laptop.")
