"""The denoising autoencoder as a vector field: a small MLP DAE on 2-D points near a curve, and its arrows."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

SHAPES = ("circle", "spiral")
NOISE_LEVELS = (0.05, 0.1, 0.2, 0.3)  # the training corruption's standard deviation, in data units
DEFAULT_SHAPE, DEFAULT_NOISE = "spiral", 0.1
N_POINTS = 600  # training points on the curve
CURVE_JITTER = 0.02  # how far the data sit off the exact curve
EXTENT = 1.4  # the grid spans [-EXTENT, EXTENT] on both axes
GRID_SIDE = 21  # arrows per side of the grid
STEPS = 500  # full-batch Adam steps: about half a second of one CPU core
HIDDEN = 64
LEARNING_RATE = 1e-2  # Adam's peak step, decayed to 0 along a cosine
ADAM_BETAS = (0.9, 0.999)
SEED = 0


def curve(shape: str, n: int = 2000) -> np.ndarray:
    """Points (n, 2) along the exact curve, in order."""
    t = np.linspace(0.0, 1.0, n, endpoint=shape != "circle")
    if shape == "circle":
        angle = 2 * math.pi * t
        return np.stack([np.cos(angle), np.sin(angle)], axis=1)
    if shape == "spiral":
        angle, radius = 2.0 * math.pi * t, 0.3 + 0.85 * t  # one turn: a small MLP learns it in a few hundred steps
        return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    raise ValueError(f"Unknown shape {shape!r}; expected one of {SHAPES}.")


def points(shape: str, n: int = N_POINTS, seed: int = SEED) -> np.ndarray:
    """The toy data set (n, 2): random places along the curve, jittered off it a little; fixed by the seed."""
    rng = np.random.default_rng(seed)
    exact = curve(shape, 4000)
    chosen = exact[rng.integers(0, len(exact), n)]
    return (chosen + rng.normal(0.0, CURVE_JITTER, chosen.shape)).astype(np.float32)


def near(noise: float) -> float:
    """How close to the curve a grid point must be to count as near it: 2 sigma, at most 0.25.

    Farther out, at a large sigma, the blurred density can peak on the far side of a loop, so "towards the nearest
    curve point" stops being the right direction even for a perfect denoiser.
    """
    return min(2 * noise, 0.25)


def distance_to_curve(xy: np.ndarray, shape: str) -> tuple[np.ndarray, np.ndarray]:
    """For points (N, 2): the distance to the nearest curve point (N,) and the unit vector towards it (N, 2)."""
    exact = curve(shape, 4000)
    gaps = exact[None, :, :] - xy[:, None, :]  # (N, M, 2)
    nearest = np.einsum("nmd,nmd->nm", gaps, gaps).argmin(axis=1)
    towards = exact[nearest] - xy  # (N, 2)
    distance = np.linalg.norm(towards, axis=1)
    return distance, towards / np.maximum(distance, 1e-12)[:, None]


class ToyDAE(nn.Module):
    """r: R^2 -> R^2, a two-hidden-layer MLP; trained to map a noisy point back to its clean one."""

    def __init__(self, noise: float, hidden: int = HIDDEN):
        super().__init__()
        self.noise = noise
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The residual form, scaled by the noise level: the network learns (r(x) - x) / sigma, which is of order 1 at
        # every noise level, so one learning rate suits them all.
        return x + self.noise * self.net(x)


@dataclass(frozen=True)
class Field:
    """A trained toy DAE's arrows on a grid, beside the data and the ideal arrows of the smoothed data density."""

    shape: str
    noise: float
    data: np.ndarray  # (N, 2) training points
    grid: np.ndarray  # (G, 2) arrow tails
    arrows: np.ndarray  # (G, 2) r(x) - x of the DAE
    ideal: np.ndarray  # (G, 2) sigma^2 * grad log p_sigma(x) of the data blurred by the training noise
    losses: list[float]  # training loss every 50 steps

    def towards_curve(self, near: float) -> float:
        """The share of grid points within `near` of the curve whose arrow has a component towards it."""
        distance, towards = distance_to_curve(self.grid, self.shape)
        keep = distance <= near
        return float(((self.arrows[keep] * towards[keep]).sum(axis=1) > 0).mean())

    def agreement(self, near: float | None = None) -> float:
        """Mean cosine between the DAE's arrows and the ideal ones, over grid points within `near` of the curve."""
        keep = np.ones(len(self.grid), bool) if near is None else distance_to_curve(self.grid, self.shape)[0] <= near
        a, b = self.arrows[keep], self.ideal[keep]
        cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
        return float(cos.mean())


def grid(side: int = GRID_SIDE, extent: float = EXTENT) -> np.ndarray:
    """Arrow tails (side*side, 2) on a square grid."""
    axis = np.linspace(-extent, extent, side)
    xs, ys = np.meshgrid(axis, axis)
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


def ideal_arrows(where: np.ndarray, data: np.ndarray, noise: float) -> np.ndarray:
    """sigma^2 grad log p_sigma at each point (G, 2), for the data (N, 2) blurred by N(0, sigma^2 I).

    It equals E[clean | noisy = x] - x (Tweedie's formula), the best any DAE can do at this noise level: a weighted
    mean of the data points, weights softmax(-|x - x_i|^2 / (2 sigma^2)), minus x.
    """
    gaps = data[None, :, :] - where[:, None, :]  # (G, N, 2)
    logits = -np.einsum("gnd,gnd->gn", gaps, gaps) / (2 * noise ** 2)
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return np.einsum("gn,gnd->gd", weights, gaps)


def _adam_update(params: list[torch.Tensor], grads: tuple[torch.Tensor, ...],
                 moments: list[tuple[torch.Tensor, torch.Tensor]], step: int, rate: float) -> None:
    """One Adam step (Kingma & Ba, 2015), written out: a process's first torch.optim optimiser imports torch's
    compiler stack, about 2 s of CPU, several times what training this toy takes."""
    with torch.no_grad():
        for p, g, (mean, square) in zip(params, grads, moments):
            mean.mul_(ADAM_BETAS[0]).add_(g, alpha=1 - ADAM_BETAS[0])
            square.mul_(ADAM_BETAS[1]).addcmul_(g, g, value=1 - ADAM_BETAS[1])
            denominator = (square / (1 - ADAM_BETAS[1] ** step)).sqrt_().add_(1e-8)
            p.addcdiv_(mean / (1 - ADAM_BETAS[0] ** step), denominator, value=-rate)


def train(shape: str = DEFAULT_SHAPE, noise: float = DEFAULT_NOISE, steps: int = STEPS,
          seed: int = SEED) -> tuple[ToyDAE, list[float], np.ndarray]:
    """Fit a toy DAE: each step corrupts every point with fresh N(0, noise^2) noise and asks for the clean point."""
    if shape not in SHAPES:
        raise ValueError(f"Unknown shape {shape!r}; expected one of {SHAPES}.")
    if not 0 < noise <= 1:
        raise ValueError(f"The noise level must be in (0, 1], not {noise}.")
    data = points(shape, seed=seed)
    clean = torch.from_numpy(data)
    torch.manual_seed(seed)
    model = ToyDAE(noise)
    generator = torch.Generator().manual_seed(seed)
    params = list(model.parameters())
    moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    losses = []
    with torch.enable_grad():
        for step in range(steps):
            noisy = clean + noise * torch.randn(clean.shape, generator=generator)
            loss = (model(noisy) - clean).pow(2).sum(1).mean()
            grads = torch.autograd.grad(loss, params)
            rate = LEARNING_RATE * 0.5 * (1 + math.cos(math.pi * step / steps))  # cosine decay to 0
            _adam_update(params, grads, moments, step + 1, rate)
            if step % 50 == 0 or step == steps - 1:
                losses.append(float(loss.detach()))
    return model.eval(), losses, data


def field(shape: str = DEFAULT_SHAPE, noise: float = DEFAULT_NOISE, side: int = GRID_SIDE) -> Field:
    """Train a toy DAE and read its vector field r(x) - x on a grid, with the ideal field beside it."""
    model, losses, data = train(shape, noise)
    tails = grid(side)
    with torch.inference_mode():
        arrows = (model(torch.from_numpy(tails)) - torch.from_numpy(tails)).numpy()
    return Field(shape, noise, data, tails, arrows, ideal_arrows(tails, data, noise), losses)
