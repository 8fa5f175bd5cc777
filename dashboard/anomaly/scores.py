"""Anomaly scores: one registry of every score (function, label, caption), their error maps, and one image's score."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dashboard.anomaly.density import Reference, code_scores, combine
from dashboard.core import metrics


class ScoreInputs:
    """What scores are computed from: images, their reconstructions, the model and the normal codes' reference.

    Each score is computed at most once, so a score built from others (combined) reuses them.
    """

    def __init__(self, model: torch.nn.Module | None, x: torch.Tensor, x_hat: torch.Tensor,
                 reference: Reference | None = None):
        self.model = model
        self.x = x  # (N, C, H, W) the images
        self.x_hat = x_hat  # (N, C, H, W) their reconstructions
        self.reference = reference
        self._found: dict[str, np.ndarray] = {}

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._found:
            self._found[key] = score_kind(key).compute(self)
        return self._found[key]


def squared_error_map(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Squared error per pixel (N, H, W), averaged over channels."""
    return (x - x_hat).pow(2).mean(dim=1)


def structural_error_map(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """1 - local SSIM per pixel (N, H, W): each window's value belongs to its centre pixel, and the border, which
    no window centres on, gets its nearest value."""
    local = 1.0 - metrics.ssim_map(x, x_hat).mean(axis=1, keepdims=True)  # (N, 1, H-w+1, W-w+1)
    local = torch.from_numpy(local).float()
    pad_h, pad_w = x.shape[-2] - local.shape[-2], x.shape[-1] - local.shape[-1]
    padded = F.pad(local, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), mode="replicate")
    return padded[:, 0]


@dataclass(frozen=True)
class ScoreKind:
    """One anomaly score: how it is computed and how the page names it. Higher always means more anomalous, which
    the threshold rules rely on."""

    key: str
    label: str  # the full name: chart axes, tables, the page's summary line
    short: str  # one word: the page's buttons and narrow table headers
    explanation: str  # plain words for the page
    compute: Callable[[ScoreInputs], np.ndarray]  # (N,) scores
    error_map: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x, x_hat) -> (N, H, W) for the heatmaps
    needs_reference: bool = False  # True: it needs the normal training codes' density (a density.Reference)


RECONSTRUCTION_PART = "ssim"  # the reconstruction half of "combined", and the error map the code scores show
SCORES = (
    ScoreKind("mse", "Squared error (MSE)", "Pixels",
              "the mean squared difference between each pixel and its reconstruction",
              lambda s: metrics.mse_per_image(s.x, s.x_hat), squared_error_map),
    ScoreKind("ssim", "Structural error (1 - SSIM)", "Structure",
              "one minus the structural similarity of image and reconstruction: it compares local brightness, "
              "contrast and stroke shape in 7x7 windows, so a missing or extra stroke counts more than a slightly "
              "blurred edge",
              lambda s: 1.0 - metrics.ssim_per_image(s.x, s.x_hat), structural_error_map),
    ScoreKind("code", "Code density (GMM on z)", "Code",
              "how unlikely the image's code z is under a Gaussian mixture fitted to the normal training images' "
              "codes: high when the encoder puts the image where normal images rarely go, however well it is rebuilt",
              lambda s: code_scores(s.model, s.x, s.reference), structural_error_map, needs_reference=True),
    ScoreKind("combined", "Structure + code density", "Both",
              "the structural error and the code density, each counted in spreads above its median on the normal "
              "training images, added with equal weight: an anomaly has to look normal to both to pass",
              lambda s: combine(s[RECONSTRUCTION_PART], s["code"], s.reference), structural_error_map,
              needs_reference=True),
)
SCORE_KINDS: dict[str, ScoreKind] = {score.key: score for score in SCORES}
# The combined score helps where a well rebuilt anomaly still lands off the normal codes (novelty, the not-a-digit
# probes). One digit's few hundred codes give too rough a density, so one-class opens with the structural error
# alone; the benchmark's anomaly entries measure every score in every scenario.
DEFAULT_SCORE = "combined"
SCENARIO_DEFAULTS = {"one-class": "ssim"}


def score_kind(key: str) -> ScoreKind:
    """The registry's entry for a score key; an unknown key is an error, never a blank label."""
    try:
        return SCORE_KINDS[key]
    except KeyError:
        raise ValueError(f"Unknown score {key!r}; expected one of {', '.join(SCORE_KINDS)}.") from None


def default_score(scenario: str) -> str:
    """The score a scenario opens with: the best measured one for that kind of anomaly."""
    return SCENARIO_DEFAULTS.get(scenario, DEFAULT_SCORE)


def score_pairs(x: torch.Tensor, x_hat: torch.Tensor, kind: str = RECONSTRUCTION_PART) -> np.ndarray:
    """Reconstruction score per image (N,) from images and their reconstructions (a score that needs no codes)."""
    if score_kind(kind).needs_reference:
        raise ValueError(f"The {kind!r} score needs the model's codes: use anomaly_scores(model, x, kind, reference).")
    return ScoreInputs(None, x, x_hat)[kind]


def error_maps(x: torch.Tensor, x_hat: torch.Tensor, kind: str = DEFAULT_SCORE) -> torch.Tensor:
    """Per-pixel error (N, H, W) for heatmaps. The code-density scores have no pixels of their own, so they show
    their reconstruction part's map."""
    return score_kind(kind).error_map(x, x_hat)


def _check_reference(kind: str, reference: Reference | None) -> None:
    if score_kind(kind).needs_reference and reference is None:
        raise ValueError(f"The {kind!r} score needs the normal codes' density: pass a density.Reference "
                         "(fit_reference, or reference_for a split).")


def anomaly_scores(model: torch.nn.Module, x: torch.Tensor, kind: str = "ssim",
                   reference: Reference | None = None) -> np.ndarray:
    """Score images (N, C, H, W) with the model (N,); "code" and "combined" also need the normal codes' reference."""
    _check_reference(kind, reference)
    return ScoreInputs(model, x, metrics.reconstruct(model, x), reference)[kind]


def all_scores(model: torch.nn.Module, x: torch.Tensor, reference: Reference | None = None) -> dict[str, np.ndarray]:
    """Every score of images (N, C, H, W) from one reconstruction and one encoding (those needing a reference are
    left out without one): cheaper than asking for each score in turn."""
    inputs = ScoreInputs(model, x, metrics.reconstruct(model, x), reference)
    return {score.key: inputs[score.key] for score in SCORES if reference is not None or not score.needs_reference}


@dataclass(frozen=True)
class ImageScore:
    """One image's reconstruction, error map and score, e.g. for the user's own drawing."""

    x: torch.Tensor  # (1, C, H, W) the input
    x_hat: torch.Tensor  # (1, C, H, W) its reconstruction
    error_map: torch.Tensor  # (H, W) per-pixel error
    score: float


def explain(model: torch.nn.Module, x: torch.Tensor, kind: str = "ssim",
            reference: Reference | None = None) -> list[ImageScore]:
    """Reconstruction, error map and score for each of a few images (N, C, H, W)."""
    _check_reference(kind, reference)
    x_hat = metrics.reconstruct(model, x)
    maps = error_maps(x, x_hat, kind)
    scores = ScoreInputs(model, x, x_hat, reference)[kind]
    return [ImageScore(x[i:i + 1], x_hat[i:i + 1], maps[i], float(scores[i])) for i in range(len(x))]
