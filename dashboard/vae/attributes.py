"""Latent arithmetic: slant and stroke thickness measured on images, their directions in a VAE's code space."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dashboard.core import metrics, nets

INK = 0.5  # a pixel at or above this brightness counts as ink for the thickness


def slant(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """Slant of each image (N, C, H, W) from its second-order central moments: -mu11 / mu02, shape (N,).

    The horizontal shear that would stand the digit upright (the classic deskewing of MNIST); positive leans right
    (rows count downwards, so a top to the right gives a negative mu11).
    """
    x = np.asarray(images, dtype=np.float64).reshape(len(images), *np.shape(images)[-2:])  # (N, H, W)
    rows = np.arange(x.shape[1], dtype=np.float64)[None, :, None]
    cols = np.arange(x.shape[2], dtype=np.float64)[None, None, :]
    mass = x.sum(axis=(1, 2)).clip(min=1e-9)
    row_c = (x * rows).sum(axis=(1, 2)) / mass
    col_c = (x * cols).sum(axis=(1, 2)) / mass
    dr = rows - row_c[:, None, None]
    dc = cols - col_c[:, None, None]
    mu11 = (x * dr * dc).sum(axis=(1, 2)) / mass
    mu02 = (x * dr * dr).sum(axis=(1, 2)) / mass
    return -mu11 / mu02.clip(min=1e-9)


def thickness(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """Mean stroke width in pixels, (N,): 2 x ink area / ink boundary length.

    A stroke of width w and length L covers about wL pixels and has a boundary of about 2L edges.
    """
    ink = np.asarray(images).reshape(len(images), *np.shape(images)[-2:]) >= INK  # (N, H, W)
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    edges = (padded[:, 1:, :] != padded[:, :-1, :]).sum(axis=(1, 2)) + (padded[:, :, 1:] != padded[:, :, :-1]).sum(
        axis=(1, 2))
    return 2.0 * ink.sum(axis=(1, 2)) / np.maximum(edges, 1)


MEASURES = {"slant": slant, "thickness": thickness}  # attribute -> measure over images (N, C, H, W) -> (N,)
UNITS = {"slant": "shear", "thickness": "pixels"}  # slant: pixels across per pixel down


@dataclass(frozen=True)
class Direction:
    """A direction in code space along which one attribute grows, holding the class."""

    attribute: str  # a MEASURES key
    vector: np.ndarray  # (k,) change of the code per unit of the attribute
    spread: float  # within-class standard deviation of the attribute on the images it was fitted to
    r2: float  # share of the attribute's within-class variance the codes predict linearly


def fit_direction(codes: np.ndarray, values: np.ndarray, labels: np.ndarray, attribute: str) -> Direction:
    """Regress the codes (N, k) on an attribute (N,) within each class, pooled: d = sum c_z c_a / sum c_a^2.

    Centring by class first keeps the direction from mixing in what differs between digits (a 1 leans more than
    a 0), so moving along it changes the attribute rather than the class.
    """
    codes, values, labels = np.asarray(codes, np.float64), np.asarray(values, np.float64), np.asarray(labels)
    cz, ca = codes.copy(), values.copy()
    for label in np.unique(labels):
        member = labels == label
        cz[member] -= cz[member].mean(axis=0)
        ca[member] -= ca[member].mean()
    vector = cz.T @ ca / max(float(ca @ ca), 1e-12)  # (k,)
    # How well the codes predict the attribute (the reverse regression), as a check that the direction is real.
    weights, *_ = np.linalg.lstsq(cz, ca, rcond=None)
    r2 = 1.0 - float(((ca - cz @ weights) ** 2).sum()) / max(float(ca @ ca), 1e-12)
    return Direction(attribute=attribute, vector=vector, spread=float(ca.std()), r2=r2)


def push(model: nets.Autoencoder, code: np.ndarray, direction: Direction, steps: np.ndarray) -> torch.Tensor:
    """Decode one code (k,) moved by each of steps (S,) within-class standard deviations: (S, C, H, W)."""
    moved = np.asarray(code)[None, :] + np.outer(steps * direction.spread, direction.vector)  # (S, k)
    with torch.inference_mode():
        return model.decode(torch.as_tensor(moved, dtype=torch.float32))


def push_many(model: nets.Autoencoder, codes: np.ndarray, direction: Direction, steps: np.ndarray) -> torch.Tensor:
    """Decode every code (N, k) at every step (S,): (S, N, C, H, W)."""
    shift = np.outer(np.asarray(steps) * direction.spread, direction.vector)  # (S, k)
    moved = (np.asarray(codes)[None, :, :] + shift[:, None, :]).reshape(-1, codes.shape[1])  # (S * N, k)
    with torch.inference_mode():
        z = torch.as_tensor(moved, dtype=torch.float32)
        images = torch.cat([model.decode(z[i:i + metrics.INFERENCE_BATCH])
                            for i in range(0, len(z), metrics.INFERENCE_BATCH)])
    return images.reshape(len(steps), len(codes), *images.shape[1:])


@dataclass(frozen=True)
class DirectionCheck:
    """How a direction behaves on a set of test digits over a slider's range."""

    monotone: float  # share of digits whose measured attribute rises at every step
    rises: float  # share whose attribute is higher at the last step than at the first
    class_holds: float  # share whose classifier verdict is the same at every step as at step 0
    change: float  # mean change of the attribute from the first step to the last, in its units


def check_direction(images: torch.Tensor, verdicts: np.ndarray, direction: Direction) -> DirectionCheck:
    """Score pushed images (S, N, C, H, W) with their verdicts (S, N); the middle step is the unmoved code."""
    measure = MEASURES[direction.attribute]
    values = np.stack([measure(step) for step in images])  # (S, N)
    middle = len(images) // 2
    return DirectionCheck(monotone=float((np.diff(values, axis=0) > 0).all(axis=0).mean()),
                          rises=float((values[-1] > values[0]).mean()),
                          class_holds=float((verdicts == verdicts[middle]).all(axis=0).mean()),
                          change=float((values[-1] - values[0]).mean()))
