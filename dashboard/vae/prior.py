"""Does the VAE's prior sample better than one Gaussian fitted to a plain AE's codes? Both on the FID-like score."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dashboard.core import data, metrics, zoo
from dashboard.sampling import quality, samplers

GAUSSIAN_SETUP = next(s for s in samplers.SETUPS if (s.family, s.kind) == ("ae", "gaussian"))
PRIOR_SETUP = next(s for s in samplers.SETUPS if (s.family, s.kind) == ("vae", "standard"))


@dataclass(frozen=True)
class PriorRow:
    """One way of drawing images, scored on N_SCORED samples like the Sampling page."""

    label: str  # what the page calls it
    model: str  # the shipped model that decodes
    frechet: float  # FID-like distance to the test split (lower is better)
    mean_confidence: float  # the reference classifier's mean top-class probability


def _row(label: str, model: str, report: quality.QualityReport) -> PriorRow:
    return PriorRow(label, model, report.frechet, report.mean_confidence)


def gaussian_row(dataset: str, latent_dim: int = 16) -> PriorRow:
    """One Gaussian fitted to ae-k's training codes, decoded by ae-k: the bar the VAE's prior must clear."""
    images = samplers.generate(dataset, GAUSSIAN_SETUP, latent_dim, samplers.N_SCORED, samplers.SCORE_SEED)
    return _row(GAUSSIAN_SETUP.label, GAUSSIAN_SETUP.model_name(latent_dim), quality.assess(images, dataset))


def prior_row(dataset: str, name: str, label: str) -> PriorRow:
    """A shipped VAE decoding z ~ N(0, I): the Sampling page's prior sampler, sample count and seed."""
    model = zoo.frozen(name, dataset)
    codes = samplers.StandardNormal().fit(np.zeros((2, model.latent_dim))).sample(samplers.N_SCORED,
                                                                                  samplers.SCORE_SEED)
    images = samplers.decode(model, codes)
    return _row(label, name, quality.assess(images, dataset))


def reconstruction_row(dataset: str, name: str) -> PriorRow:
    """A model's reconstructions of the Sampling page's 1,000 real training images: the sharpness its decoder can
    reach from codes it has seen, with no sampler in between."""
    ds = data.load(dataset)
    # The same random subset as samplers.baseline_reports (the train split is ordered by class).
    pick = torch.randperm(len(ds.x_train), generator=torch.Generator().manual_seed(samplers.SCORE_SEED))
    rebuilt = metrics.reconstruct(zoo.frozen(name, dataset), ds.x_train[pick[:samplers.N_SCORED]])
    return _row(f"{name} reconstructions (no sampling)", name, quality.assess(rebuilt, dataset))
