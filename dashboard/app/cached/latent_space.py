"""Cached accessors of the Latent space page: maps, pins, own codes, 3D bases, directions, training snapshots."""

from __future__ import annotations

import dataclasses

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from _plotly_utils.utils import convert_to_base64

from dashboard import latent_space
from dashboard.app import ui
from dashboard.core import artifacts, zoo
from dashboard.core import snapshots as snapshot_files
from dashboard.sampling import quality
from dashboard.viz import latent_space_figures as figures

TITLES = {"ae": "Plain autoencoder (ae-2)", "vae": "Variational autoencoder (vae-2)"}
THREE_D_MODELS = ("ae-3", "vae-3")  # the page's slider view; their slider ranges are shipped
BIG_MODELS = ("ae-16", "vae-16")  # the page's principal directions view; their directions are shipped
N_DIRECTIONS = 4
# Each stored kind's version: bump it when that computation changes (checkpoints, data and parameters are tracked
# by themselves), so the build's old result is computed live until the build stores it anew.
MAP_VERSION = 1
SLIDER_RANGES_VERSION = 1
DIRECTIONS_VERSION = 1


def map_live(dataset: str, family: str) -> dict:
    """What a map needs, computed from the shipped model: its grid (less the atlas), the atlas as PNG bytes, and the
    training codes (for pins). The atlas ships as its PNG, a seventh of the raw levels, and is read back exactly."""
    name = f"{family}-2"
    grid = latent_space.map_grid(name, dataset)
    return {"grid": dataclasses.replace(grid, atlas=np.zeros((0, 0), np.uint8)),
            "atlas_png": np.frombuffer(figures.atlas_png(grid.atlas), np.uint8),
            "train_codes": zoo.codes(name, dataset, "train")}


@st.cache_resource(show_spinner="Decoding a 64 × 64 grid of codes for each map (once per server, a few seconds)…",
                   max_entries=8)
def map_data(dataset: str, family: str) -> tuple[latent_space.MapGrid, bytes, np.ndarray]:
    """(the map's grid, its atlas PNG, the model's training codes (N, 2)); shared read-only by every session."""
    name = f"{family}-2"
    found = artifacts.stored("latent_space.map", dataset, {"family": family, "n": latent_space.GRID_SIDE},
                             [name, quality.FILE_STEM], lambda: map_live(dataset, family), version=MAP_VERSION)
    png = found["atlas_png"].tobytes()
    return dataclasses.replace(found["grid"], atlas=figures.atlas_levels(png)), png, found["train_codes"]


@st.cache_resource(show_spinner=False, max_entries=8)
def map_payload(dataset: str, family: str) -> dict:
    """The hover component's data for one map; shared read-only by every session."""
    grid, png, _ = map_data(dataset, family)
    ds = ui.dataset(dataset)
    return figures.map_payload(grid, zoo.codes(f"{family}-2", dataset, "test"), ds.y_test.numpy(), ds.classes,
                               TITLES[family], atlas=png)


@st.cache_resource(show_spinner=False, max_entries=8)
def extents(dataset: str) -> dict[str, latent_space.Extent]:
    return {family: map_data(dataset, family)[0].extent for family in latent_space.MAP_FAMILIES}


@st.cache_data(show_spinner=False, max_entries=256)
def pinned(dataset: str, pin_text: str) -> latent_space.PinnedResult:
    pin = latent_space.parse_pin(pin_text)
    grid, _, train_codes = map_data(dataset, pin.family)
    return latent_space.pinned(pin, dataset, grid, train_codes)


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
    figure = figures.codes_3d(zoo.codes(model_name, dataset, "test"), ds.y_test.numpy(), ds.classes,
                              slider_ranges(dataset, model_name))
    # A step further back than the app's other 3D views: in a 1024 px laptop's narrower column, the z3 title sat
    # outside the scene's viewport and was cut off.
    return figure.update_layout(scene_camera_eye={"x": 1.9, "y": 1.9, "z": 1.25})


@st.cache_data(show_spinner=False, max_entries=512)
def decode_with_verdict(dataset: str, model_name: str, z: tuple[float, ...]) -> tuple[np.ndarray, int, float]:
    """The decode (H, W) of one code and what the reference classifier reads in it."""
    image = latent_space.decode(zoo.frozen(model_name, dataset), np.asarray([z]))  # (1, H, W)
    predicted, confidence = quality.verdicts(torch.from_numpy(image[:, None]), dataset)
    return image[0], int(predicted[0]), float(confidence[0])


@st.cache_data(show_spinner="Finding the directions in which the codes vary most…", max_entries=16)
def direction_strips(dataset: str, model_name: str, index: int, scale: int) -> tuple[bytes, list[float]]:
    """What each principal direction does to one test image's code, as a PNG, and each direction's share."""
    found = directions(dataset, model_name)
    start = zoo.codes(model_name, dataset, "test")[index]
    strips = latent_space.direction_strips(zoo.frozen(model_name, dataset), found, start)
    return figures.strips_png(strips, scale), found.explained.tolist()


@st.cache_resource(show_spinner=False, max_entries=8)
def slider_ranges(dataset: str, model_name: str) -> np.ndarray:
    return artifacts.stored("latent_space.slider_ranges", dataset, {"name": model_name}, [model_name],
                            lambda: latent_space.slider_ranges(model_name, dataset), version=SLIDER_RANGES_VERSION)


@st.cache_resource(show_spinner=False, max_entries=8)
def directions(dataset: str, model_name: str) -> latent_space.Directions:
    """The principal directions of a shipped model's training codes (shipped: no pass over the training split)."""
    return artifacts.stored("latent_space.directions", dataset, {"name": model_name, "m": N_DIRECTIONS}, [model_name],
                            lambda: latent_space.directions(model_name, dataset, N_DIRECTIONS),
                            version=DIRECTIONS_VERSION)


@st.cache_data(show_spinner=False, max_entries=512)
def moved_code(dataset: str, model_name: str, index: int, steps: tuple[float, ...]) -> tuple[float, ...]:
    """A test image's code moved along the principal directions of the training codes."""
    found = directions(dataset, model_name)
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


# A Figure, not a dict: st.plotly_chart validates a dict on every send, a Figure only once. It opens at the last
# epoch whatever the visitor does, so every rerun sends it by reference (no bytes). Its arrays are already plotly's
# base64 typed arrays, the form they are sent in, so neither building it nor each rerun's copy for sending converts
# them again (the JSON is the same; a test checks it).
@st.cache_resource(show_spinner=False, max_entries=64)
def training_spec(dataset: str, model_name: str) -> go.Figure:
    """The snapshot animation of one model, opened at its last epoch (shared read-only by every session)."""
    found = snapshots(dataset, model_name)
    ds = ui.dataset(dataset)
    epochs = figures.shown_epochs(len(found.epochs) - 1)
    spec = figures.training_figure(found.codes, ds.y_test.numpy()[found.indices], ds.classes, found.loss, epochs,
                                   epochs[-1], model_name, height=460 if found.codes.shape[2] >= 3 else 420)
    convert_to_base64(spec)  # in place: plotly's own step before sending (no public name)
    return go.Figure(spec)


LOSS_WORDS = {"bce": "binary cross-entropy", "mse": "squared error"}


@st.cache_data(show_spinner=False, max_entries=32)
def training_loss_words(dataset: str, model_name: str) -> str:
    """What a shipped model's training loss measured, from its card (cards older than the choice mean BCE)."""
    try:
        kind = zoo.read_card(model_name, dataset).get("config", {}).get("recon_loss", "bce")
    except (LookupError, ValueError, RuntimeError, OSError):  # no readable card: BCE, the default of older cards
        kind = "bce"
    return LOSS_WORDS.get(kind, kind)


def precompute(dataset: str) -> None:
    """The page's heavy first-visit results, for `python -m dashboard.app.precompute`."""
    shipped = zoo.names(dataset)
    for family in latent_space.MAP_FAMILIES:
        if f"{family}-2" in shipped:
            map_data(dataset, family)
    for name in THREE_D_MODELS:
        if name in shipped:
            slider_ranges(dataset, name)
    for name in BIG_MODELS:
        if name in shipped:
            directions(dataset, name)
