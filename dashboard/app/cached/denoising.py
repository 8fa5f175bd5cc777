"""Cached accessors of the Denoising page: comparisons, sweeps, latent views and image grids, keyed by small values."""

from __future__ import annotations

import dataclasses

import streamlit as st

from dashboard import denoising
from dashboard.core import artifacts, baselines, corrupt, threads
from dashboard.viz import denoising_charts, plots

# Each stored kind's version: bump it when that computation changes (checkpoints, data and parameters are tracked
# by themselves), so the build's old result is computed live until the build stores it anew.
COMPARISON_VERSION = 1
SWEEP_VERSION = 1
LATENT_VIEW_VERSION = 1


def _stored(kind: str, version: int, config: denoising.DenoiseConfig, params: dict, compute):
    """The shipped result for these settings when the build stored it (the page's defaults), else compute() live.

    The config names the checkpoints: any shipped DAE and its plain AE; one the build did not store for is live.
    """
    models = [config.dae, denoising.plain_ae_name(config)]
    return artifacts.stored(kind, config.dataset, {**params, "config": dataclasses.asdict(config)}, models, compute,
                            version=version)


@st.cache_resource(show_spinner="Corrupting test digits and running every method…", max_entries=64)
def comparison(noise: str, level: float, seed: int, config: denoising.DenoiseConfig) -> denoising.Comparison:
    params = {"noise": noise, "level": level, "seed": seed, "n_images": denoising.EVAL_IMAGES,
              "n_keep": denoising.KEEP_IMAGES}
    return _stored("denoising.comparison", COMPARISON_VERSION, config, params,
                   lambda: denoising.evaluate(noise, level, seed, config))


@st.cache_resource(show_spinner="Sweeping the noise level for every method (once per noise type)…", max_entries=16)
def sweep(noise: str, config: denoising.DenoiseConfig) -> denoising.Sweep:
    params = {"noise": noise, "n_images": denoising.SWEEP_IMAGES, "n_levels": denoising.SWEEP_LEVELS, "seed": 0}
    return _stored("denoising.sweep", SWEEP_VERSION, config, params, lambda: denoising.sweep(noise, config))


@st.cache_resource(show_spinner="Encoding clean and noisy digits…", max_entries=64)
def latent_view(noise: str, level: float, seed: int, config: denoising.DenoiseConfig) -> denoising.LatentView:
    params = {"noise": noise, "level": level, "seed": seed, "n_images": denoising.VIEW_IMAGES}
    return _stored("denoising.latent_view", LATENT_VIEW_VERSION, config, params,
                   lambda: denoising.latent_view(noise, level, seed, config))


@st.cache_data(show_spinner=False, max_entries=64)
def labelled_grid(noise: str, level: float, seed: int, config: denoising.DenoiseConfig) -> bytes:
    """The side-by-side grid as one PNG with a named heading over each column (noisy, each method, clean)."""
    found = comparison(noise, level, seed, config)
    headings = [denoising_charts.short_name(label) for label in found.column_labels(config)]
    return plots.grid_png(found.rows(), scale=3, column_labels=headings)


@st.cache_data(show_spinner=False, max_entries=64)
def grid_download(noise: str, level: float, seed: int, config: denoising.DenoiseConfig) -> bytes:
    """The grid for the download button, larger and without headings: drawn only when a visitor clicks it."""
    return plots.grid_png(comparison(noise, level, seed, config).rows(), scale=4)


@st.cache_data(show_spinner=False, max_entries=256)
def sweep_spec(noise: str, noise_label: str, level: float, config: denoising.DenoiseConfig) -> dict:
    """The sweep chart as a finished Vega-Lite spec: altair would build and check it on every rerun that draws it,
    though only the level (the dashed line) ever changes it."""
    spec = denoising_charts.sweep_chart(sweep(noise, config), level, noise_label).to_dict()
    spec.pop("config", None)  # altair's default theme (a 300 px view), which st.altair_chart leaves out too
    return spec


def precompute(dataset: str) -> None:
    """The page's heavy first-visit results, for `python -m dashboard.app.precompute`: the default DAE's comparison
    and code view at the default noise (seed 0), and its sweep for every noise type (the curve a type switch shows)."""
    if not denoising.dae_names(dataset):
        return
    config = denoising.config_for(dataset)
    level = float(denoising.DEFAULT_LEVELS[denoising.DEFAULT_NOISE])
    with threads.as_served():
        baselines.pca_for.cache_clear()  # a PCA another page's precompute fitted under other threads: fit it anew
        comparison(denoising.DEFAULT_NOISE, level, 0, config)
        latent_view(denoising.DEFAULT_NOISE, level, 0, config)
        for noise in corrupt.NOISE_TYPES:
            sweep(noise, config)
