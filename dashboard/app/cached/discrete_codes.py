"""Cached accessors of the Discrete codes page: the codebook, its usage, edited grids, prior samples and bits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from dashboard.core import data, zoo
from dashboard.generators import vq
from dashboard.sampling import quality, samplers
from dashboard.viz import plots, sampling_figures

N_SCORED = samplers.N_SCORED  # prior samples behind the FID-like score, as on the Sampling page
GRID_SIDE = 6  # a 6 x 6 grid of prior samples
VAE_PRIOR = samplers.SETUPS[3]  # "VAE + N(0, I) prior", the yardstick the issue names
CODEBOOK_COLUMNS = 8


def scale(dataset: str) -> int:
    return 6 if data.load(dataset).small_images else 2


@st.cache_data(show_spinner=False, max_entries=4)
def codebook_png(dataset: str) -> bytes:
    """Every entry's mean test patch, in rows of CODEBOOK_COLUMNS, in index order."""
    patches = vq.entry_patches(vq.model(dataset), data.load(dataset).x_test)
    return plots.grid_png(samplers.as_rows(patches, CODEBOOK_COLUMNS), scale=2 * scale(dataset) + 2)


@st.cache_data(show_spinner=False, max_entries=4)
def background(dataset: str) -> int:
    """The entry the test images pick most often (the empty background)."""
    return vq.usage(vq.model(dataset), data.load(dataset).x_test).commonest


@st.cache_data(show_spinner=False, max_entries=4)
def usage(dataset: str) -> tuple[np.ndarray, float, float]:
    """(cells per entry on the test split, share of entries used, perplexity)."""
    found = vq.usage(vq.model(dataset), data.load(dataset).x_test)
    return found.counts, found.used, found.perplexity


@st.cache_data(show_spinner=False, max_entries=256)
def grid_of(dataset: str, index: int) -> np.ndarray:
    return vq.encode_one(vq.model(dataset), data.load(dataset).x_test[index])


@st.cache_data(show_spinner=False, max_entries=256)
def decoded_png(dataset: str, grid: np.ndarray) -> bytes:
    """An index grid's image (raises ValueError for a grid the model cannot read)."""
    image = vq.decode_grid(vq.model(dataset), grid)
    return plots.grid_png([[image[0]]], scale=scale(dataset) * 4)


@st.cache_data(show_spinner=False, max_entries=256)
def image_png(dataset: str, index: int) -> bytes:
    return plots.grid_png([[data.load(dataset).x_test[index][0]]], scale=scale(dataset) * 4)


@st.cache_data(show_spinner=False, max_entries=32)
def prior_png(dataset: str, seed: int) -> bytes:
    images = vq.prior_samples(dataset, GRID_SIDE ** 2, seed)
    return sampling_figures.sample_grid_png(images, GRID_SIDE, scale(dataset))


@st.cache_data(show_spinner=f"Scoring {N_SCORED:,} prior samples with the reference classifier…", max_entries=4)
def prior_scores(dataset: str) -> dict[str, quality.QualityReport]:
    """The PixelCNN prior's samples and the VAE prior's (k = 16), scored as on the Sampling page (seed 0)."""
    return {"VQ-VAE + PixelCNN prior": quality.assess(vq.prior_samples(dataset, N_SCORED, samplers.SCORE_SEED),
                                                      dataset),
            VAE_PRIOR.label: quality.assess(samplers.generate(dataset, VAE_PRIOR, 16, N_SCORED,
                                                              samplers.SCORE_SEED), dataset)}


@st.cache_data(show_spinner=False, max_entries=4)
def rate_table(dataset: str) -> pd.DataFrame:
    """Bits per image and test error of the VQ-VAE and the shipped plain AEs (float16 codes)."""
    points = vq.vq_points(dataset) + vq.ae_points(dataset)
    return pd.DataFrame([{"code": p.method, "bits per image": p.bits, "test MSE": p.mse, "PSNR (dB)": p.psnr}
                         for p in points]).sort_values("bits per image", ignore_index=True)


def ready(dataset: str) -> bool:
    return vq.available(dataset) and "vae-16" in zoo.names(dataset)


def as_tensor(grid: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(grid), dtype=torch.long)
