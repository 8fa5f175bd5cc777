"""Cached accessors of the Latent space page: maps, pins, own codes, 3D bases, directions, training snapshots."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from dashboard import latent_space
from dashboard.app import ui
from dashboard.core import snapshots as snapshot_files
from dashboard.core import zoo
from dashboard.sampling import quality
from dashboard.viz import latent_space_figures as figures

TITLES = {"ae": "Plain autoencoder (ae-2)", "vae": "Variational autoencoder (vae-2)"}


@st.cache_resource(show_spinner="Decoding a 64 × 64 grid of codes for each map (once per server, a few seconds)…",
                   max_entries=8)
def map_payload(dataset: str, family: str) -> dict:
    """The hover component's data for one map; shared read-only by every session."""
    name = f"{family}-2"
    grid = latent_space.map_grid(name, dataset)
    ds = ui.dataset(dataset)
    return figures.map_payload(grid, zoo.codes(name, dataset, "test"), ds.y_test.numpy(), ds.classes,
                               TITLES[family])


@st.cache_resource(show_spinner=False, max_entries=8)
def extents(dataset: str) -> dict[str, latent_space.Extent]:
    return {family: latent_space.map_grid(f"{family}-2", dataset).extent for family in latent_space.MAP_FAMILIES}


@st.cache_data(show_spinner=False, max_entries=256)
def pinned(dataset: str, pin_text: str) -> latent_space.PinnedResult:
    return latent_space.pinned(latent_space.parse_pin(pin_text), dataset)


@st.cache_data(show_spinner=False, max_entries=64)
def own_codes(dataset: str, image: np.ndarray) -> dict[str, latent_space.OwnCode]:
    """Where one image (hashed by value, so a redrawn digit is a new entry) lands on both maps."""
    x = torch.from_numpy(np.asarray(image, dtype=np.float32))
    return {family: latent_space.own_code(zoo.frozen(f"{family}-2", dataset), x)
            for family in latent_space.MAP_FAMILIES}


@st.cache_data(show_spinner=False, max_entries=256)
def resampled(dataset: str, mean: np.ndarray, sigma: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    code = latent_space.OwnCode("vae", mean, sigma, np.zeros((1, 1)))
    return latent_space.resample(zoo.frozen("vae-2", dataset), code, seed)


# A plotly figure is rebuilt on unpickling, so the finished base is shared read-only and copied as a dict per change.
@st.cache_resource(show_spinner="Drawing the 3D codes…", max_entries=8)
def base_3d(dataset: str, model_name: str) -> go.Figure:
    ds = ui.dataset(dataset)
    return figures.codes_3d(zoo.codes(model_name, dataset, "test"), ds.y_test.numpy(), ds.classes,
                            latent_space.slider_ranges(model_name, dataset))


@st.cache_data(show_spinner=False, max_entries=512)
def decode_with_verdict(dataset: str, model_name: str, z: tuple[float, ...]) -> tuple[np.ndarray, int, float]:
    """The decode (H, W) of one code and what the reference classifier reads in it."""
    image = latent_space.decode(zoo.frozen(model_name, dataset), np.asarray([z]))  # (1, H, W)
    predicted, confidence = quality.verdicts(torch.from_numpy(image[:, None]), dataset)
    return image[0], int(predicted[0]), float(confidence[0])


@st.cache_data(show_spinner="Finding the directions in which the codes vary most…", max_entries=16)
def direction_strips(dataset: str, model_name: str, index: int, scale: int) -> tuple[bytes, list[float]]:
    """What each principal direction does to one test image's code, as a PNG, and each direction's share."""
    found = latent_space.directions(model_name, dataset)
    start = zoo.codes(model_name, dataset, "test")[index]
    strips = latent_space.direction_strips(zoo.frozen(model_name, dataset), found, start)
    return figures.strips_png(strips, scale), found.explained.tolist()


@st.cache_resource(show_spinner=False, max_entries=8)
def slider_ranges(dataset: str, model_name: str) -> np.ndarray:
    return latent_space.slider_ranges(model_name, dataset)


@st.cache_data(show_spinner=False, max_entries=512)
def moved_code(dataset: str, model_name: str, index: int, steps: tuple[float, ...]) -> tuple[float, ...]:
    """A test image's code moved along the principal directions of the training codes."""
    found = latent_space.directions(model_name, dataset)
    start = zoo.codes(model_name, dataset, "test")[index]
    return tuple(float(v) for v in latent_space.move(start, found, np.asarray(steps)))


@st.cache_resource(show_spinner=False, max_entries=16)
def snapshots(dataset: str, model_name: str) -> snapshot_files.Snapshots | str:
    """A model's training snapshots, verified once per server; a string says why there are none to show."""
    try:
        return snapshot_files.load(model_name, dataset)
    except FileNotFoundError:
        return f"{model_name} ships no training snapshots for {dataset}."
    except zoo.CheckpointError as exc:
        return str(exc)


# A Figure, not a dict: st.plotly_chart validates a dict on every send (0.5 s for 41 frames), a Figure only once.
@st.cache_resource(show_spinner=False, max_entries=256)
def training_spec(dataset: str, model_name: str, start: int) -> go.Figure:
    """The snapshot animation of one model, opened at epoch start (shared read-only by every session)."""
    found = snapshots(dataset, model_name)
    ds = ui.dataset(dataset)
    epochs = figures.shown_epochs(len(found.epochs) - 1)
    start = min(epochs, key=lambda e: abs(e - start))
    spec = figures.training_figure(found.codes, ds.y_test.numpy()[found.indices], ds.classes, found.loss, epochs,
                                   start, model_name, height=460 if found.codes.shape[2] >= 3 else 420)
    return go.Figure(spec)


LOSS_WORDS = {"bce": "binary cross-entropy", "mse": "squared error"}


@st.cache_data(show_spinner=False, max_entries=32)
def training_loss_words(dataset: str, model_name: str) -> str:
    """What a shipped model's training loss measured, from its card (cards older than the choice mean BCE)."""
    try:
        kind = zoo.read_card(model_name, dataset).get("config", {}).get("recon_loss", "bce")
    except (LookupError, ValueError, RuntimeError, OSError):  # no readable card: the loss every model once used
        kind = "bce"
    return LOSS_WORDS.get(kind, kind)
