"""One code up close: a pinned point's exact decode, verdict, neighbours and density; own images; directions."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import torch

import dashboard.latent_space.grid as grids
from dashboard.core import data, memo, zoo
from dashboard.sampling import quality

MAP_FAMILIES = ("ae", "vae")  # the two maps, side by side: a plain AE and a VAE with 2-number codes
N_NEIGHBOURS = 5
PIN_DECIMALS = 3  # a link carries z to 3 decimals: far finer than a grid cell, short enough to read
# A pin this close to a test digit's code, as a share of the map's side, landed on its dot: a few pixels on the
# drawn map, about a fingertip's error on a phone's.
ON_A_DOT = 0.025
_PIN = re.compile(r"^(ae|vae):(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$")
NO_PIN = "none"


@dataclass(frozen=True)
class Pin:
    """A point pinned on one of the maps."""

    family: str  # "ae" or "vae": which map
    z: tuple[float, float]

    def __str__(self) -> str:
        return f"{self.family}:{self.z[0]:.{PIN_DECIMALS}f},{self.z[1]:.{PIN_DECIMALS}f}"


def parse_pin(text: str, extents: dict[str, grids.Extent] | None = None) -> Pin:
    """A link's "ae:0.512,-1.300" -> Pin; ValueError for anything else, or a point outside that map (given extents).

    Links come from anywhere, so nothing but this exact shape is accepted.
    """
    match = _PIN.match(str(text).strip())
    if not match:
        raise ValueError(f"not a pinned point: {text!r}")
    pin = Pin(match.group(1), (float(match.group(2)), float(match.group(3))))
    if not all(math.isfinite(v) for v in pin.z):
        raise ValueError(f"not a finite point: {text!r}")
    if extents is not None and (pin.family not in extents or not extents[pin.family].contains(np.array(pin.z))):
        raise ValueError(f"{text!r} lies outside the {pin.family.upper()} map")
    return pin


@dataclass(frozen=True)
class Neighbours:
    """The training images nearest a point, nearest first."""

    indices: np.ndarray  # (k,) positions in the training split
    distances: np.ndarray  # (k,) Euclidean distances in the space searched
    labels: np.ndarray  # (k,) their classes


def _nearest(rows: np.ndarray, query: np.ndarray, labels: np.ndarray, k: int) -> Neighbours:
    distances = np.sqrt(((rows - query[None, :]) ** 2).sum(axis=1))  # (N,)
    order = np.argsort(distances, kind="stable")[:k]
    return Neighbours(order, distances[order], labels[order])


@memo.shared(maxsize=4)
def _train_pixels(dataset: str) -> np.ndarray:
    pixels = data.load(dataset).x_train.reshape(len(data.load(dataset).x_train), -1).numpy()  # (N, H * W)
    pixels.setflags(write=False)
    return pixels


@dataclass(frozen=True)
class DigitOnDot:
    """The test digit whose dot a pin landed on."""

    index: int  # position in the test split
    label: int  # its class
    distance: float  # from the pin to its code, in code units


def digit_under(z: np.ndarray, test_codes: np.ndarray, labels: np.ndarray, side: float,
                share: float = ON_A_DOT) -> DigitOnDot | None:
    """The test digit whose code (N, 2) lies nearest z, if within share of the map's side; else None."""
    found = _nearest(np.asarray(test_codes, np.float64), np.asarray(z, np.float64), labels, 1)
    if not len(found.indices) or found.distances[0] > share * side:
        return None
    return DigitOnDot(int(found.indices[0]), int(found.labels[0]), float(found.distances[0]))


@dataclass(frozen=True)
class PinnedResult:
    """Everything the page shows for a pinned point."""

    pin: Pin
    model_name: str
    decoded: np.ndarray  # (H, W) the exact decode at z, float32 in [0, 1]
    predicted: int  # the reference classifier's class for the decode
    confidence: float  # its top probability
    code_neighbours: Neighbours  # nearest training codes to z
    pixel_neighbours: Neighbours  # nearest training images to the decode, pixel by pixel
    log_density: float  # training-code density at z (log, per unit area of the code space)
    density_percentile: float  # share of training codes in sparser places than z (0 = emptier than all of them)
    in_hole: bool  # sparser than 95% of training codes: the decoder was hardly trained here
    digit_on_dot: DigitOnDot | None = None  # the test digit whose dot the pin landed on, if any


def pinned(pin: Pin, dataset: str = data.DEFAULT_DATASET, grid: grids.MapGrid | None = None,
           train_codes: np.ndarray | None = None) -> PinnedResult:
    """The exact decode, verdict, nearest neighbours in code and pixel space and density of a pinned point, and the
    test digit whose dot it landed on (the dots are the test split's codes).

    grid and train_codes: the map's grid and the model's training codes when already at hand (the build ships
    them); by default computed here.
    """
    model_name = f"{pin.family}-2"
    model = zoo.frozen(model_name, dataset)
    z = np.asarray(pin.z, dtype=np.float64)
    decoded = grids.decode(model, z[None])  # (1, H, W)
    predicted, confidence = quality.verdicts(torch.from_numpy(decoded[:, None]), dataset)
    labels = data.load(dataset).y_train.numpy()
    train_codes = zoo.codes(model_name, dataset, "train") if train_codes is None else train_codes
    grid = grids.map_grid(model_name, dataset) if grid is None else grid
    log_value = float(grids.log_density(train_codes, z[None], grid.bandwidth)[0])
    percentile = grid.density_percentile(log_value)
    under = digit_under(z, zoo.codes(model_name, dataset, "test"), data.load(dataset).y_test.numpy(),
                        grid.extent.side)
    return PinnedResult(pin, model_name, decoded[0], int(predicted[0]), float(confidence[0]),
                        _nearest(np.asarray(train_codes, np.float64), z, labels, N_NEIGHBOURS),
                        _nearest(_train_pixels(dataset), decoded[0].ravel(), labels, N_NEIGHBOURS),
                        log_value, percentile, percentile < grids.HOLE_PERCENTILE / 100, under)


@dataclass(frozen=True)
class OwnCode:
    """Where one image lands on a map: its code, and for a VAE the spread of its posterior."""

    family: str
    mean: np.ndarray  # (k,) the code (a VAE's posterior mean)
    sigma: np.ndarray | None  # (k,) the posterior standard deviation; None for a plain AE
    decoded: np.ndarray  # (H, W) decode of the mean


def own_code(model: torch.nn.Module, image: torch.Tensor) -> OwnCode:
    """Encode one image (1, C, H, W): the AE's code, or the VAE's posterior mean and standard deviation."""
    with torch.inference_mode():
        if hasattr(model, "encode_distribution"):
            mu, logvar = model.encode_distribution(image)
            sigma = torch.exp(0.5 * logvar)[0].numpy().astype(np.float64)
        else:
            mu, sigma = model.encode(image), None
        decoded = model.decode(mu)[0, 0].numpy()
    return OwnCode(model.family, mu[0].numpy().astype(np.float64), sigma, decoded)


def resample(model: torch.nn.Module, code: OwnCode, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One draw z = mu + sigma * eps of a VAE's posterior and its decode: (z (k,), image (H, W))."""
    if code.sigma is None:
        raise ValueError("Only a VAE's code has a spread to sample from.")
    eps = np.random.default_rng(seed).standard_normal(len(code.mean))
    z = code.mean + code.sigma * eps
    return z, grids.decode(model, z[None])[0]


# ---------------------------------------------------------------- larger codes: 3 sliders, or principal directions

@memo.shared(maxsize=8)
def slider_ranges(model_name: str, dataset: str = data.DEFAULT_DATASET) -> np.ndarray:
    """(k, 2) slider ends per code number: the training codes' range with a margin (a VAE's ±3 at least)."""
    codes = zoo.codes(model_name, dataset, "train")
    lo, hi = np.percentile(codes, 0.5, axis=0), np.percentile(codes, 99.5, axis=0)
    if zoo.frozen(model_name, dataset).has_prior:
        lo, hi = np.minimum(lo, -grids.PRIOR_REACH), np.maximum(hi, grids.PRIOR_REACH)
    pad = (hi - lo) * grids.MARGIN
    ranges = np.stack([lo - pad, hi + pad], axis=1)
    ranges.setflags(write=False)
    return ranges


@dataclass(frozen=True)
class Directions:
    """The principal directions of a model's training codes: where they vary most, in order."""

    mean: np.ndarray  # (k,) mean training code
    vectors: np.ndarray  # (m, k) unit directions, most variance first
    std: np.ndarray  # (m,) standard deviation of the codes along each direction
    explained: np.ndarray  # (m,) share of the codes' variance along each direction


@memo.shared(maxsize=8)
def directions(model_name: str, dataset: str = data.DEFAULT_DATASET, m: int = 4) -> Directions:
    """PCA of the training codes (an SVD of the centred codes), the m strongest directions."""
    codes = np.asarray(zoo.codes(model_name, dataset, "train"), dtype=np.float64)
    mean = codes.mean(axis=0)
    _, singular, vt = np.linalg.svd(codes - mean, full_matrices=False)
    variance = singular**2 / (len(codes) - 1)
    m = min(m, len(variance))
    # A direction's sign is arbitrary; fix it so that + always points the same way from run to run.
    signs = np.sign(vt[:m, np.argmax(np.abs(vt[:m]), axis=1)].diagonal())
    return Directions(mean, vt[:m] * signs[:, None], np.sqrt(variance[:m]), variance[:m] / variance.sum())


def move(start: np.ndarray, found: Directions, steps: np.ndarray) -> np.ndarray:
    """start (k,) moved by steps[i] standard deviations along direction i."""
    steps = np.asarray(steps, dtype=np.float64)
    return np.asarray(start, dtype=np.float64) + (steps * found.std[:len(steps)]) @ found.vectors[:len(steps)]


def direction_strips(model: torch.nn.Module, found: Directions, start: np.ndarray,
                     steps: tuple[float, ...] = (-2.0, -1.0, 0.0, 1.0, 2.0)) -> np.ndarray:
    """Decodes (m, len(steps), H, W) of start moved along each direction alone: what each direction changes."""
    codes = np.stack([move(start, found, np.eye(len(found.std))[i] * s) for i in range(len(found.std))
                      for s in steps])
    images = grids.decode(model, codes)
    return images.reshape(len(found.std), len(steps), *images.shape[1:])
