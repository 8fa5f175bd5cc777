"""Anomaly scores: reconstruction error (pixel MSE, 1 - SSIM), code density, both combined; error maps; one image's."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dashboard.anomaly.density import Reference, code_scores, combine
from dashboard.core import metrics


@dataclass(frozen=True)
class ScoreKind:
    """One way to turn an image and its reconstruction into an anomaly score (higher = more anomalous)."""

    key: str
    label: str
    explanation: str  # plain words for the page
    needs_reference: bool = False  # True: it needs the normal training codes' density (a density.Reference)


SCORE_KINDS: dict[str, ScoreKind] = {
    "mse": ScoreKind("mse", "Squared error (MSE)", "the mean squared difference between each pixel and its "
                     "reconstruction"),
    "ssim": ScoreKind("ssim", "Structural error (1 - SSIM)", "one minus the structural similarity of image and "
                      "reconstruction: it compares local brightness, contrast and stroke shape in 7x7 windows, "
                      "so a missing or extra stroke counts more than a slightly blurred edge"),
    "code": ScoreKind("code", "Code density (GMM on z)", "how unlikely the image's code z is under a Gaussian mixture "
                      "fitted to the normal training images' codes: high when the encoder puts the image where "
                      "normal images rarely go, however well it is rebuilt", True),
    "combined": ScoreKind("combined", "Structure + code density", "the structural error and the code density, each "
                          "counted in spreads above its median on the normal training images, added with equal "
                          "weight: an anomaly has to look normal to both to pass", True),
}
# Measured on mnist-5k (python -m dashboard.bench --only "anomaly: novelty", "anomaly: one-class", "anomaly: shipped
# detector"): the combined score lifts novelty and the not-a-digit probe set, where a well rebuilt anomaly still lands
# off the normal codes. One digit's few hundred codes give too rough a density, so one-class keeps the structural
# error alone (combined 0.970 against 0.976 mean AUROC).
DEFAULT_SCORE = "combined"
SCENARIO_DEFAULTS = {"one-class": "ssim"}
RECONSTRUCTION_PART = "ssim"  # the reconstruction half of "combined", and the error map the code scores show
SSIM_WINDOW = 7
_SSIM_C1, _SSIM_C2 = 0.01 ** 2, 0.03 ** 2  # the usual stabilisers for a data range of 1


def default_score(scenario: str) -> str:
    """The score a scenario opens with: the best measured one for that kind of anomaly."""
    return SCENARIO_DEFAULTS.get(scenario, DEFAULT_SCORE)


def _ssim_window(height: int, width: int) -> int:
    """The largest odd window up to 7 that fits the image (8x8 digits get 7, smaller images less)."""
    side = min(SSIM_WINDOW, height, width)
    return side if side % 2 else side - 1


def ssim_map(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Local structural similarity (N, C, H-w+1, W-w+1) with a uniform window; matches scikit-image's default."""
    window = _ssim_window(x.shape[-2], x.shape[-1])
    kernel = torch.full((x.shape[1], 1, window, window), 1.0 / window ** 2, dtype=x.dtype)

    def local_mean(a: torch.Tensor) -> torch.Tensor:
        return F.conv2d(a, kernel, groups=x.shape[1])

    unbiased = window ** 2 / (window ** 2 - 1)  # sample covariance, as scikit-image uses by default
    mu_x, mu_y = local_mean(x), local_mean(x_hat)
    var_x = (local_mean(x * x) - mu_x ** 2) * unbiased
    var_y = (local_mean(x_hat * x_hat) - mu_y ** 2) * unbiased
    cov = (local_mean(x * x_hat) - mu_x * mu_y) * unbiased
    return ((2 * mu_x * mu_y + _SSIM_C1) * (2 * cov + _SSIM_C2)) / (
        (mu_x ** 2 + mu_y ** 2 + _SSIM_C1) * (var_x + var_y + _SSIM_C2))


def score_pairs(x: torch.Tensor, x_hat: torch.Tensor, kind: str = RECONSTRUCTION_PART) -> np.ndarray:
    """Reconstruction score per image (N,) from images and their reconstructions ("mse" or "ssim")."""
    if kind == "mse":
        return metrics.mse_per_image(x, x_hat)
    if kind == "ssim":
        return (1.0 - ssim_map(x.double(), x_hat.double()).mean(dim=(1, 2, 3))).numpy()
    if kind in SCORE_KINDS:
        raise ValueError(f"The {kind!r} score needs the model's codes: use anomaly_scores(model, x, kind, reference).")
    raise ValueError(f"Unknown score {kind!r}; expected one of {', '.join(SCORE_KINDS)}.")


def error_maps(x: torch.Tensor, x_hat: torch.Tensor, kind: str = DEFAULT_SCORE) -> torch.Tensor:
    """Per-pixel error (N, H, W) for heatmaps: squared error, or 1 - local SSIM padded back to the image size.

    The code-density scores have no pixels of their own, so they show their reconstruction part's map.
    """
    if kind == "mse":
        return (x - x_hat).pow(2).mean(dim=1)
    local = 1.0 - ssim_map(x.double(), x_hat.double()).float().mean(dim=1, keepdim=True)  # (N, 1, H-w+1, W-w+1)
    pad_h, pad_w = x.shape[-2] - local.shape[-2], x.shape[-1] - local.shape[-1]
    # Each window's value belongs to its centre pixel; the border, which no window centres on, gets its nearest.
    padded = F.pad(local, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), mode="replicate")
    return padded[:, 0]


def _check_reference(kind: str, reference: Reference | None) -> None:
    if kind not in SCORE_KINDS:
        raise ValueError(f"Unknown score {kind!r}; expected one of {', '.join(SCORE_KINDS)}.")
    if SCORE_KINDS[kind].needs_reference and reference is None:
        raise ValueError(f"The {kind!r} score needs the normal codes' density: pass a density.Reference "
                         "(fit_reference, or reference_for a split).")


def _from_pairs(model: torch.nn.Module, x: torch.Tensor, x_hat: torch.Tensor, kind: str,
                reference: Reference | None) -> np.ndarray:
    if kind in ("mse", "ssim"):
        return score_pairs(x, x_hat, kind)
    code = code_scores(model, x, reference)
    return code if kind == "code" else combine(score_pairs(x, x_hat, RECONSTRUCTION_PART), code, reference)


def anomaly_scores(model: torch.nn.Module, x: torch.Tensor, kind: str = "ssim",
                   reference: Reference | None = None) -> np.ndarray:
    """Score images (N, C, H, W) with the model (N,); "code" and "combined" also need the normal codes' reference."""
    _check_reference(kind, reference)
    return _from_pairs(model, x, metrics.reconstruct(model, x), kind, reference)


def all_scores(model: torch.nn.Module, x: torch.Tensor, reference: Reference | None = None) -> dict[str, np.ndarray]:
    """Every score kind of images (N, C, H, W) from one reconstruction and one encoding (those needing a reference
    are left out without one): cheaper than asking for each kind in turn."""
    x_hat = metrics.reconstruct(model, x)
    found = {kind: score_pairs(x, x_hat, kind) for kind in ("mse", "ssim")}
    if reference is not None:
        found["code"] = code_scores(model, x, reference)
        found["combined"] = combine(found[RECONSTRUCTION_PART], found["code"], reference)
    return found


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
    scores = _from_pairs(model, x, x_hat, kind, reference)
    return [ImageScore(x[i:i + 1], x_hat[i:i + 1], maps[i], float(scores[i])) for i in range(len(x))]
