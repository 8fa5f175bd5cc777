"""How likely a code is under the density of the normal training codes, and the reference that standardises scores.

Reconstruction error asks "can the decoder rebuild this?"; code density asks "does the encoder put this where
normal images go?". An anomaly can pass one test and fail the other: a held-out 1 rebuilds well (a stroke is easy)
but lands between the clusters of the other digits. Both are measured against the normal training images only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.mixture import GaussianMixture

from dashboard.core import metrics

IMAGES_PER_COMPONENT = 300  # a full-covariance component needs a few hundred codes to fit; fewer overfits
MAX_COMPONENTS = 10  # about one per digit class


def components_for(n_codes: int) -> int:
    """Mixture size for n normal codes: one Gaussian (Mahalanobis distance) for one digit's few hundred images, up
    to one per class for a whole training split."""
    return int(np.clip(n_codes // IMAGES_PER_COMPONENT, 1, MAX_COMPONENTS))


class CodeDensity:
    """A full-covariance Gaussian mixture fitted to normal codes; score(codes) is the negative log-likelihood.

    With one component the score is half the squared Mahalanobis distance plus a constant, so it ranks exactly as
    the Mahalanobis distance to the codes' mean does.
    """

    def __init__(self, n_components: int | None = None, reg_covar: float = 1e-3, seed: int = 0):
        self.n_components = n_components  # None: components_for(number of codes)
        self.reg_covar = reg_covar  # scikit-learn's floor on each covariance's diagonal, relative to unit codes
        self.seed = seed  # seeds EM's k-means start, so a refit gives the same mixture

    def fit(self, codes: np.ndarray) -> CodeDensity:
        codes = np.asarray(codes, dtype=np.float64)
        if codes.ndim != 2 or len(codes) < 2:
            raise ValueError(f"Expected normal codes of shape (N, k) with N >= 2, got {codes.shape}.")
        # Codes are standardised first, so reg_covar means the same for a VAE's unit codes and an AE's wide ones.
        self.center_ = codes.mean(axis=0)
        self.scale_ = codes.std(axis=0) + 1e-8
        wanted = self.n_components or components_for(len(codes))
        self.mixture_ = GaussianMixture(n_components=min(wanted, len(codes)), covariance_type="full",
                                        reg_covar=self.reg_covar, random_state=self.seed).fit(self._unit(codes))
        return self

    def _unit(self, codes: np.ndarray) -> np.ndarray:
        return (np.asarray(codes, dtype=np.float64) - self.center_) / self.scale_

    def score(self, codes: np.ndarray) -> np.ndarray:
        """Negative log-likelihood (N,) of codes (N, k): higher = the code is where normal codes rarely go."""
        return -self.mixture_.score_samples(self._unit(codes))


@dataclass(frozen=True)
class Standardiser:
    """Centre and spread of one score on the normal training images, so two scores can be added on one scale."""

    center: float
    spread: float

    @classmethod
    def of(cls, scores: np.ndarray) -> Standardiser:
        scores = np.asarray(scores, dtype=np.float64)
        return cls(float(np.median(scores)), float(scores.std()) or 1.0)

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return (np.asarray(scores, dtype=np.float64) - self.center) / self.spread


@dataclass(frozen=True)
class Reference:
    """What the code-density and combined scores need of the normal training images: the fitted density and
    each part's spread there."""

    density: CodeDensity
    code: Standardiser  # of the code score on the normal training images
    reconstruction: Standardiser  # of the reconstruction part (1 - SSIM) on the same images
    n_images: int


def fit_reference(model: torch.nn.Module, x_normal: torch.Tensor, reconstruction_scores: np.ndarray,
                  n_components: int | None = None) -> Reference:
    """Fit the code density to the normal images' codes and record each score's spread on them.

    reconstruction_scores (N,) are the same images' reconstruction scores, passed in so they are computed once.
    """
    codes = metrics.encode(model, x_normal).double().numpy()  # (N, k)
    density = CodeDensity(n_components).fit(codes)
    return Reference(density, Standardiser.of(density.score(codes)), Standardiser.of(reconstruction_scores),
                     len(x_normal))


def code_scores(model: torch.nn.Module, x: torch.Tensor, reference: Reference) -> np.ndarray:
    """Negative log-likelihood (N,) of each image's code under the normal codes' density."""
    return reference.density.score(metrics.encode(model, x).double().numpy())


def combine(reconstruction: np.ndarray, code: np.ndarray, reference: Reference) -> np.ndarray:
    """Reconstruction and code scores, each in spreads above its normal median, added with equal weight.

    Equal weights, fixed before looking at any anomaly: tuning them on the test labels would flatter the result.
    """
    return reference.reconstruction(reconstruction) + reference.code(code)
