"""Image corruptions (Gaussian, salt-and-pepper, masked block, and a random mix) used to train and test denoisers."""

from __future__ import annotations

import torch

NOISE_TYPES = ("gaussian", "salt-pepper", "mask")
# Each noise type's level means something different; these are the ranges the sliders and "mixed" use.
LEVEL_RANGES = {
    "gaussian": (0.0, 1.0),  # standard deviation of added noise, pixels in [0, 1]
    "salt-pepper": (0.0, 0.5),  # fraction of pixels set to 0 or 1
    "mask": (0.0, 0.8),  # side of the blanked square as a fraction of the image side
}
MIXED_MAX_LEVELS = {"gaussian": 0.7, "salt-pepper": 0.25, "mask": 0.5}


def _generator(seed: int | None, device: torch.device) -> torch.Generator | None:
    if seed is None:
        return None
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def gaussian(x: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add N(0, sigma^2) noise to every pixel, then clip back to [0, 1]."""
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return (x + sigma * noise).clamp(0.0, 1.0)


def salt_pepper(x: torch.Tensor, fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Set a random `fraction` of pixels to 0 or 1, half each."""
    u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    out = x.clone()
    out[u < fraction / 2] = 0.0
    out[(u >= fraction / 2) & (u < fraction)] = 1.0
    return out


def mask(x: torch.Tensor, fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Blank a square whose side is `fraction` of the image side, at a random place in each image."""
    n, _, height, width = x.shape
    side_h, side_w = int(round(fraction * height)), int(round(fraction * width))
    out = x.clone()
    if side_h == 0 or side_w == 0:
        return out
    tops = torch.randint(0, height - side_h + 1, (n,), generator=generator, device=x.device)
    lefts = torch.randint(0, width - side_w + 1, (n,), generator=generator, device=x.device)
    rows = torch.arange(height, device=x.device).view(1, height, 1)
    cols = torch.arange(width, device=x.device).view(1, 1, width)
    inside = ((rows >= tops.view(n, 1, 1)) & (rows < (tops + side_h).view(n, 1, 1))
              & (cols >= lefts.view(n, 1, 1)) & (cols < (lefts + side_w).view(n, 1, 1)))  # (N, H, W)
    out[inside.unsqueeze(1).expand_as(out)] = 0.0
    return out


_FUNCTIONS = {"gaussian": gaussian, "salt-pepper": salt_pepper, "mask": mask}


def mixed(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image gets a random noise type at a random level up to MIXED_MAX_LEVELS (trains a general DAE)."""
    kinds = torch.randint(0, len(NOISE_TYPES), (len(x),), generator=generator, device=x.device)
    levels = torch.rand(len(x), generator=generator, device=x.device)
    out = x.clone()
    for index, kind in enumerate(NOISE_TYPES):
        chosen = kinds == index
        if not chosen.any():
            continue
        # One level per group keeps this vectorised; the group's level is drawn per batch.
        level = float(levels[chosen].mean()) * MIXED_MAX_LEVELS[kind]
        out[chosen] = _FUNCTIONS[kind](x[chosen], level, generator)
    return out


def apply(x: torch.Tensor, kind: str, level: float, seed: int | None = None,
          generator: torch.Generator | None = None) -> torch.Tensor:
    """Corrupt images (N, C, H, W) in [0, 1] with one noise type; a seed makes it repeatable."""
    if kind == "mixed":
        return mixed(x, generator or _generator(seed, x.device))
    if kind not in _FUNCTIONS:
        raise ValueError(f"Unknown noise type {kind!r}; expected one of {NOISE_TYPES + ('mixed',)}.")
    low, high = LEVEL_RANGES[kind]
    if not low <= level <= high:
        raise ValueError(f"{kind} level must be in [{low}, {high}], got {level}.")
    return _FUNCTIONS[kind](x, level, generator or _generator(seed, x.device))
