"""Cached accessors of the Sampling page: fitted samplers, sample grids, quality scores, latent maps and paths."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.core import data, zoo
from dashboard.sampling import quality, samplers
from dashboard.viz import plots, sampling_figures

GRID_SIDE = 6  # a 6 x 6 grid of samples per sampler
N_SCORED = samplers.N_SCORED  # samples per sampler behind the quality scores, as in the tour and the benchmark
N_MAP_SAMPLES = 500  # samples drawn on the latent maps


def scale(dataset: str) -> int:
    """On-screen pixels per image pixel in the grids: tiny digits are blown up more."""
    return 6 if data.load(dataset).small_images else 2


@st.cache_resource(show_spinner="Fitting the samplers to the AE's codes (once per server)…", max_entries=64)
def fitted(dataset: str, model_name: str, kind: str, components: int) -> samplers.LatentSampler:
    """A fitted sampler, shared read-only by every session."""
    return samplers.fitted_sampler(dataset, model_name, kind, components)


@st.cache_data(show_spinner="Drawing and decoding the samples…", max_entries=64)
def grid_pngs(dataset: str, label: str, k: int, components: int, seed: int) -> list[bytes]:
    """The grid as PNG at every temperature, made at once, so that moving the temperature is a lookup."""
    setup = next(s for s in samplers.SETUPS if s.label == label)
    fitted(dataset, setup.model_name(k), setup.kind, components)  # fits under its own spinner on a cold server
    sweep = samplers.generate_sweep(dataset, setup, k, GRID_SIDE * GRID_SIDE, samplers.TEMPERATURES, seed,
                                    components)  # (temperatures, 36, C, H, W)
    return [plots.grid_png(samplers.as_rows(images, GRID_SIDE), scale=scale(dataset)) for images in sweep]


@st.cache_resource(show_spinner="Loading the reference classifier…", max_entries=4)
def reference_card(dataset: str) -> dict:
    return quality.reference_classifier(dataset)[1]


@st.cache_data(show_spinner=f"Scoring {N_SCORED:,} samples per sampler with the reference classifier…",
               max_entries=64)
def scores(dataset: str, k: int, components: int, temperature: float) -> dict:
    reference_card(dataset)
    return samplers.scores(dataset, k, temperature, components)


# A plotly figure is rebuilt on unpickling, so the finished figure is shared read-only instead.
@st.cache_resource(show_spinner="Drawing the latent map…", max_entries=32)
def latent_map(dataset: str, model_name: str, kind: str, seed: int):
    view = samplers.latent_map(dataset, model_name, kind, n_samples=N_MAP_SAMPLES, seed=seed)
    figure = sampling_figures.holes_figure(view, data.load(dataset).classes, height=400)
    return view, figure


@st.cache_data(show_spinner="Decoding the latent grid…", max_entries=16)
def manifold_png(dataset: str, model_name: str) -> tuple[bytes, str]:
    small = data.load(dataset).small_images
    model = zoo.frozen(model_name, dataset)
    grid = samplers.manifold_grid(model, zoo.codes(model_name, dataset), n=15)
    return plots.grid_png(grid.rows(), scale=3 if small else 1, gap=1 if small else 0), grid.spacing


@st.cache_data(show_spinner=False, max_entries=64)
def paths(dataset: str, k: int, a: np.ndarray, b: np.ndarray, steps: int, method: str
          ) -> tuple[list, list[bytes], bytes]:
    """Interpolation rows, one PNG per row and one of them all, for two images given as arrays (hashed by value,
    so drawn images cache too)."""
    rows = samplers.interpolation_rows(dataset, k, samplers.as_image(a), samplers.as_image(b), steps, method)
    strips = [samplers.as_rows(row.images, steps)[0] for row in rows]
    path_scale = scale(dataset) + 1
    return rows, [plots.grid_png([strip], scale=path_scale) for strip in strips], plots.grid_png(strips,
                                                                                                scale=path_scale)
