"""The damage the corrupted-inputs scenario does to test images: core.corrupt's noise and square, plus two it lacks."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dashboard.core import corrupt


@dataclass(frozen=True)
class Corruption:
    """One way to damage a test image, with the range of its strength for a slider."""

    key: str
    label: str
    level_meaning: str  # what the level number means, in plain words
    low: float
    high: float
    default: float


CORRUPTIONS: dict[str, Corruption] = {
    "noise": Corruption("noise", "Gaussian noise", "standard deviation of the added noise", 0.05, 1.0, 0.3),
    "rotation": Corruption("rotation", "Rotation", "angle in degrees", 5.0, 180.0, 90.0),
    "inversion": Corruption("inversion", "Inversion", "how far toward the photographic negative (1 = fully)",
                            0.1, 1.0, 1.0),
    "occlusion": Corruption("occlusion", "Occlusion", "side of the blanked square, as a fraction of the image side",
                            0.1, 0.8, 0.4),
    "mixed": Corruption("mixed", "A mix of all four", "ignored: each image gets one of the four at its default level",
                        1.0, 1.0, 1.0),
}
# The scenario's words for core.corrupt's noise types; the keys travel in shared links, so they stay as they are.
CORE_NOISE = {"noise": "gaussian", "occlusion": "mask"}
_SINGLE_CORRUPTIONS = ("noise", "rotation", "inversion", "occlusion")


# Rotation and inversion are not noise a denoiser learns to remove, so core.corrupt does not have them; they live
# here, the one place that uses them.
def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate images (N, C, H, W) about their centre, filling the corners with background (0)."""
    angle = math.radians(degrees)
    theta = torch.zeros(len(x), 2, 3, dtype=x.dtype)
    theta[:, 0, 0] = math.cos(angle)
    theta[:, 0, 1] = -math.sin(angle)
    theta[:, 1, 0] = math.sin(angle)
    theta[:, 1, 1] = math.cos(angle)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (N, H, W, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False).clamp(0.0, 1.0)


def invert(x: torch.Tensor, amount: float) -> torch.Tensor:
    """Blend images toward their photographic negative: 0 leaves them, 1 swaps ink and background."""
    return (1.0 - amount) * x + amount * (1.0 - x)


def corrupt_images(x: torch.Tensor, kind: str, level: float | None = None, seed: int = 0) -> torch.Tensor:
    """Apply one corruption to images (N, C, H, W) in [0, 1]; the same seed gives the same damage."""
    if kind not in CORRUPTIONS:
        raise ValueError(f"Unknown corruption {kind!r}; expected one of {', '.join(CORRUPTIONS)}.")
    spec = CORRUPTIONS[kind]
    level = spec.default if level is None else float(level)
    if not spec.low <= level <= spec.high:
        raise ValueError(f"{spec.label} level must be in [{spec.low}, {spec.high}], got {level}.")
    if kind in CORE_NOISE:
        return corrupt.apply(x, CORE_NOISE[kind], level, seed=seed)
    if kind == "rotation":
        return rotate(x, level)
    if kind == "inversion":
        return invert(x, level)
    # "mixed": a fixed, seeded assignment of one corruption per image, each at its default strength (unlike
    # core.corrupt's "mixed", which draws random levels of its own three noise types to train a general DAE).
    choice = np.random.default_rng(seed).integers(0, len(_SINGLE_CORRUPTIONS), len(x))
    out = x.clone()
    for index, single in enumerate(_SINGLE_CORRUPTIONS):
        chosen = torch.from_numpy(np.flatnonzero(choice == index))
        if len(chosen):
            out[chosen] = corrupt_images(x[chosen], single, seed=seed + index + 1)
    return out
