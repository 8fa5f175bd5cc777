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
def column_pngs(noise: str, level: float, seed: int, config: denoising.DenoiseConfig) -> list[bytes]:
    """One vertical strip per column (noisy, each method, clean), as crisp PNGs."""
    rows = comparison(noise, level, seed, config).rows()
    return [plots.grid_png([[row[c]] for row in rows], scale=3) for c in range(len(rows[0]))]


@st.cache_data(show_spinner=False, max_entries=64)
def columns_html(noise: str, level: float, seed: int, config: denoising.DenoiseConfig) -> str:
    """The side-by-side grid as finished HTML: named columns that shrink with the screen."""
    return denoising_charts.image_columns_html(comparison(noise, level, seed, config).column_labels(config),
                                               column_pngs(noise, level, seed, config))


@st.cache_data(show_spinner=False, max_entries=64)
def grid_download(noise: str, level: float, seed: int, config: denoising.DenoiseConfig) -> bytes:
    return plots.grid_png(comparison(noise, level, seed, config).rows(), scale=4)
