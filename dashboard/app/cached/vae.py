"""Cached accessors of the VAE page: the β ladder, one image's ELBO, cVAE samples, attribute directions, priors."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from dashboard.core import data, metrics, variants, zoo
from dashboard.sampling import quality
from dashboard.vae import attributes, conditional, elbo, prior
from dashboard.viz import plots, sampling_figures

SHOWN = 8  # test digits shown with their reconstructions
N_PRIOR_SHOWN = 16  # prior samples shown per β
N_CVAE_SHOWN = 10  # cVAE samples shown with their verdicts
ATTRIBUTE_MODEL = "vae-16"  # the Sampling page's VAE: its code is where the directions are fitted
FIT_EVERY = 4  # fit the directions on every 4th training digit (1,000 of mnist-5k's 4,000, all classes alike)
# The slider's reach, in within-class standard deviations of the attribute; within it the classifier keeps its
# verdict for most digits (the benchmark and tests/unit/test_vae.py check how many).
REACH = {"slant": 1.0, "thickness": 1.5}
N_STEPS = 9  # stops along the slider, the middle one the unmoved code


def offered(dataset: str) -> list[str]:
    """The attributes the page offers: on 8x8 digits a stroke is one or two pixels wide, too coarse for a thickness."""
    return ["slant"] if data.load(dataset).small_images else list(attributes.MEASURES)


def steps(attribute: str) -> np.ndarray:
    return np.linspace(-REACH[attribute], REACH[attribute], N_STEPS)


def scale(dataset: str) -> int:
    """On-screen pixels per image pixel: tiny digits are blown up more."""
    return 6 if data.load(dataset).small_images else 2


def available(dataset: str) -> list[str]:
    """The page's models missing for this dataset (empty when all ship)."""
    folder = zoo.folder_for(dataset)
    return [name for name in (*variants.NAMES, ATTRIBUTE_MODEL) if not (folder / f"{name}.json").exists()]


@st.cache_data(show_spinner="Measuring the β-VAEs on the test split…", max_entries=8)
def ladder(dataset: str, latent_dim: int) -> list[elbo.Rung]:
    """Every β-VAE of one code size, measured on the test split, weakest β first."""
    return [elbo.measure_rung(name, dataset) for name in elbo.ladder_names(latent_dim)]


@st.cache_data(show_spinner=False, max_entries=16)
def rung_pngs(dataset: str, name: str) -> tuple[bytes, bytes]:
    """(originals over reconstructions, prior samples) of one β-VAE as PNGs."""
    ds = data.load(dataset)
    picks = [int(np.flatnonzero(ds.y_test.numpy() == c)[0]) for c in range(SHOWN)]  # one digit of each class
    x = ds.x_test[picks]
    model = zoo.frozen(name, dataset)
    pairs = plots.grid_png([list(x), list(metrics.reconstruct(model, x))], scale=scale(dataset))
    samples = elbo.prior_samples(model, N_PRIOR_SHOWN, seed=0)
    return pairs, sampling_figures.sample_grid_png(samples, n_cols=N_PRIOR_SHOWN // 2, scale=scale(dataset))


@st.cache_data(show_spinner=False, max_entries=16)
def map_codes(dataset: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D VAE's test codes (posterior means) (N, 2) and labels (N,)."""
    ds = data.load(dataset)
    return metrics.encode(zoo.frozen(name, dataset), ds.x_test).numpy(), ds.y_test.numpy()


@st.cache_data(show_spinner=False, max_entries=256)
def image_elbo(dataset: str, name: str, image: np.ndarray) -> elbo.Elbo:
    """One image's ELBO under one β-VAE (the image (C, H, W) as an array, so it hashes by value)."""
    return elbo.image_elbo(zoo.frozen(name, dataset), torch.from_numpy(np.asarray(image, dtype=np.float32)))


@st.cache_data(show_spinner=False, max_entries=256)
def reconstruction(dataset: str, name: str, image: np.ndarray) -> np.ndarray:
    """One image's reconstruction from its posterior mean: (C, H, W)."""
    x = torch.from_numpy(np.asarray(image, dtype=np.float32))[None]
    return metrics.reconstruct(zoo.frozen(name, dataset), x)[0].numpy()


@st.cache_data(show_spinner="Asking the conditional VAE for 1,000 images of that digit…", max_entries=64)
def cvae_digit(dataset: str, digit: int, seed: int) -> tuple[bytes, conditional.ClassScore]:
    """N_CVAE_SHOWN samples of a digit with the classifier's verdict above each (PNG), and the 1,000-sample score."""
    model = zoo.frozen(variants.CVAE, dataset)
    shown = conditional.samples(model, digit, N_CVAE_SHOWN, seed=seed)
    predicted, confidence = quality.verdicts(shown, dataset)
    # Plain ASCII: the headings are drawn with PIL's default font, which has no tick or cross.
    headings = [f"{p} {c:.0%}" if p == digit else f"NOT {digit}: {p}" for p, c in zip(predicted, confidence)]
    png = plots.grid_png([list(shown)], scale=scale(dataset) + 1, column_labels=headings)
    return png, conditional.score_class(model, dataset, digit)


def cvae_beta(dataset: str) -> float:
    """The β the shipped conditional VAE was trained at, from its card."""
    return float(zoo.read_card(variants.CVAE, dataset)["config"]["beta"])


@st.cache_resource(show_spinner="Measuring slant and thickness and fitting their directions…", max_entries=4)
def directions(dataset: str) -> dict[str, attributes.Direction]:
    """Slant and thickness directions in vae-16's code space, fitted on a quarter of the training digits."""
    ds = data.load(dataset)
    x, y = ds.x_train[::FIT_EVERY], ds.y_train[::FIT_EVERY].numpy()
    codes = metrics.encode(zoo.frozen(ATTRIBUTE_MODEL, dataset), x).numpy()
    return {name: attributes.fit_direction(codes, measure(x), y, name)
            for name, measure in attributes.MEASURES.items()}


@st.cache_data(show_spinner=False, max_entries=128)
def pushed(dataset: str, image: np.ndarray, attribute: str) -> tuple[torch.Tensor, np.ndarray, np.ndarray,
                                                                      np.ndarray]:
    """One image pushed along a direction: (images (S, C, H, W), measured values (S,), verdicts (S,), confidences)."""
    model = zoo.frozen(ATTRIBUTE_MODEL, dataset)
    code = metrics.encode(model, torch.from_numpy(np.asarray(image, dtype=np.float32))[None])[0].numpy()
    images = attributes.push(model, code, directions(dataset)[attribute], steps(attribute))
    predicted, confidence = quality.verdicts(images, dataset)
    return images, attributes.MEASURES[attribute](images), predicted, confidence


@st.cache_data(show_spinner="Sampling 1,000 images from each and scoring them…", max_entries=4)
def prior_rows(dataset: str) -> list[prior.PriorRow]:
    """The VAE's prior against one Gaussian fitted to the AE's codes, and every k = 16 β-VAE's prior."""
    rows = [prior.gaussian_row(dataset, 16), prior.prior_row(dataset, "vae-16", "vae-16 + N(0, I) prior")]
    for name in elbo.ladder_names(16):
        rows.append(prior.prior_row(dataset, name, f"{name} + N(0, I) prior"))
    return rows + [prior.reconstruction_row(dataset, "ae-16"), prior.reconstruction_row(dataset, "vae-16")]
