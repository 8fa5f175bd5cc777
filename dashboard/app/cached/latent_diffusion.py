"""Cached accessors of the Latent diffusion page: the reverse process on the map, sample grids and their scores."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from dashboard.core import data, zoo
from dashboard.generators import diffusion
from dashboard.sampling import quality, samplers
from dashboard.viz import diffusion_figures, plots, sampling_figures

MAP_BASE, CODE_BASE = "ae-2", "ae-16"  # the autoencoders whose codes the two flow models learned
VAE_MAP = "vae-2"  # the prior the map's holes are compared with
N_MAP = 300  # samples flowing on the map (enough to see the clusters fill, light enough to animate smoothly)
N_HOLES = 500  # samples behind the holes comparison, as on the Sampling page
N_SCORED = samplers.N_SCORED  # samples behind the FID-like score, as on the Sampling page
STRIP_SAMPLES = 4  # rows of the decoded-steps picture
GRID_SIDE = 6  # a 6 x 6 grid of 16-number samples


def ready(dataset: str) -> bool:
    """Whether both flow models and their autoencoders ship for this dataset."""
    shipped = zoo.names(dataset)
    return all(base in shipped and diffusion.available(dataset, base) for base in (MAP_BASE, CODE_BASE)) \
        and VAE_MAP in shipped


def scale(dataset: str) -> int:
    return 6 if data.load(dataset).small_images else 2


@st.cache_resource(show_spinner=False, max_entries=4)
def card(dataset: str, base: str) -> dict:
    return diffusion.card(dataset, base)


def _label(label: int) -> int | None:
    return None if label < 0 else int(label)


@st.cache_data(show_spinner=False, max_entries=64)
def trajectory(dataset: str, base: str, n: int, steps: int, guidance: float, label: int, seed: int
               ) -> diffusion.Trajectory:
    """The reverse process of n samples (label -1: every class in turn)."""
    return diffusion.draw(diffusion.shipped(dataset, base), n, seed, steps, guidance, _label(label))


# A Figure, not a dict: st.plotly_chart validates a dict on every send, a Figure only once; shared read-only.
@st.cache_resource(show_spinner="Walking the noise down to the codes…", max_entries=32)
def reverse_figure(dataset: str, steps: int, guidance: float, label: int, seed: int) -> go.Figure:
    path = trajectory(dataset, MAP_BASE, N_MAP, steps, guidance, label, seed)
    ds = data.load(dataset)
    return go.Figure(diffusion_figures.reverse_figure(path.codes, path.times, path.labels,
                                                      zoo.codes(MAP_BASE, dataset), ds.y_test.numpy(), ds.classes))


@st.cache_data(show_spinner=False, max_entries=64)
def steps_png(dataset: str, base: str, steps: int, guidance: float, label: int, seed: int) -> bytes:
    """The first few samples decoded at a handful of steps: one row per sample, noise on the left."""
    path = trajectory(dataset, base, N_MAP if base == MAP_BASE else GRID_SIDE ** 2, steps, guidance, label, seed)
    shown = diffusion_figures.shown_steps(steps)
    codes = torch.from_numpy(path.codes[shown, :STRIP_SAMPLES].reshape(-1, path.codes.shape[-1]))
    images = samplers.decode(zoo.frozen(base, dataset), codes)  # (len(shown) * STRIP_SAMPLES, C, H, W)
    images = images.reshape(len(shown), STRIP_SAMPLES, *images.shape[1:])
    return diffusion_figures.steps_png(images, shown, path.times, scale(dataset) + 1)


@st.cache_data(show_spinner=False, max_entries=64)
def grid_png(dataset: str, steps: int, guidance: float, label: int, seed: int) -> bytes:
    """A grid of 16-number samples decoded by ae-16."""
    path = trajectory(dataset, CODE_BASE, GRID_SIDE ** 2, steps, guidance, label, seed)
    images = samplers.decode(zoo.frozen(CODE_BASE, dataset), torch.from_numpy(path.final))
    return sampling_figures.sample_grid_png(images, GRID_SIDE, scale(dataset))


@st.cache_data(show_spinner="Scoring 1,000 samples with the reference classifier…", max_entries=64)
def scores(dataset: str, steps: int, guidance: float, label: int) -> dict:
    """The flow model's samples at k = 16 against the yardsticks: FID-like, class spread and the copying check."""
    path = diffusion.draw(diffusion.shipped(dataset, CODE_BASE), N_SCORED, samplers.SCORE_SEED, steps, guidance,
                          _label(label))
    report = quality.assess(samplers.decode(zoo.frozen(CODE_BASE, dataset), torch.from_numpy(path.final)), dataset)
    return {"report": report, "baselines": baselines(dataset),
            "copy": diffusion.copy_check(dataset, CODE_BASE, path.final)}


@st.cache_data(show_spinner=False, max_entries=4)
def baselines(dataset: str) -> dict:
    """Real train images and ae-16's reconstructions, scored as on the Sampling page (the same samples)."""
    return samplers.baseline_reports(dataset, 16, N_SCORED, samplers.SCORE_SEED)


@st.cache_data(show_spinner=False, max_entries=16)
def holes(dataset: str, steps: int, guidance: float, label: int) -> dict[str, float]:
    """Share of samples in the map's holes: the flow model on ae-2's map against the VAE's prior on vae-2's."""
    flow = trajectory(dataset, MAP_BASE, N_HOLES, steps, guidance, label, 0).final
    flow_holes = samplers.holes(zoo.codes(MAP_BASE, dataset).astype(np.float64), flow)[0]
    prior = samplers.StandardNormal().fit(zoo.codes(VAE_MAP, dataset)).sample(N_HOLES, seed=0).double().numpy()
    prior_holes = samplers.holes(zoo.codes(VAE_MAP, dataset).astype(np.float64), prior)[0]
    return {"flow": float(flow_holes.mean()), "prior": float(prior_holes.mean())}


@st.cache_data(show_spinner=False, max_entries=16)
def denoiser_png(dataset: str, seed: int) -> bytes:
    """One test code pushed to several noise levels (top row) and the flow model's one-step guess of the clean
    code from each (bottom row), decoded by ae-16: the denoiser at every noise level."""
    model = diffusion.shipped(dataset, CODE_BASE)
    noisy, guess, levels = diffusion.denoiser_views(model, zoo.codes(CODE_BASE, dataset), seed)
    decoder = zoo.frozen(CODE_BASE, dataset)
    rows = [[img[0] for img in samplers.decode(decoder, torch.from_numpy(row))] for row in (noisy, guess)]
    return plots.grid_png(rows, scale=scale(dataset) + 1, column_labels=[f"t = {t:.2f}" for t in levels])
