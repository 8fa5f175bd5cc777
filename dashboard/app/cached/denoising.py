"""Cached accessors of the Denoising page: comparisons, sweeps, latent views and image grids, keyed by small values."""

from __future__ import annotations

import streamlit as st

from dashboard import denoising
from dashboard.viz import denoising_charts, plots


@st.cache_resource(show_spinner="Corrupting test digits and running every method…", max_entries=64)
def comparison(noise: str, level: float, seed: int, config: denoising.DenoiseConfig) -> denoising.Comparison:
    return denoising.evaluate(noise, level, seed, config)


@st.cache_resource(show_spinner="Sweeping the noise level for every method (once per noise type)…", max_entries=16)
def sweep(noise: str, config: denoising.DenoiseConfig) -> denoising.Sweep:
    return denoising.sweep(noise, config)


@st.cache_resource(show_spinner="Encoding clean and noisy digits…", max_entries=64)
def latent_view(noise: str, level: float, seed: int, config: denoising.DenoiseConfig) -> denoising.LatentView:
    return denoising.latent_view(noise, level, seed, config)


@st.cache_data(show_spinner=False, max_entries=64)
def labelled_grid(noise: str, level: float, seed: int, config: denoising.DenoiseConfig) -> bytes:
    """The side-by-side grid as one PNG with a named heading over each column (noisy, each method, clean)."""
    found = comparison(noise, level, seed, config)
    headings = [denoising_charts.short_name(label) for label in found.column_labels(config)]
    return plots.grid_png(found.rows(), scale=3, column_labels=headings)


@st.cache_data(show_spinner=False, max_entries=64)
def grid_download(noise: str, level: float, seed: int, config: denoising.DenoiseConfig) -> bytes:
    return plots.grid_png(comparison(noise, level, seed, config).rows(), scale=4)
