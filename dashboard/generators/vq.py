"""Discrete codes: the shipped VQ-VAE's codebook, usage, editable index grids, prior samples and bits per image."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from dashboard.core import checkpoints, data, generator_recipes, memo, metrics, vq_nets, zoo

NAME, PRIOR = generator_recipes.VQ_NAME, generator_recipes.PRIOR_NAME


def available(dataset: str) -> bool:
    folder = zoo.folder_for(dataset)
    return all(checkpoints.files_for(folder, name)[0].exists() for name in (NAME, PRIOR))


def model(dataset: str) -> vq_nets.VQVAE:
    """The shipped VQ-VAE, frozen and shared (zoo.load("vq-32") gives a fresh copy)."""
    return zoo.frozen(NAME, dataset)


@memo.shared(maxsize=4)
def prior(dataset: str) -> vq_nets.PixelPrior:
    """The shipped PixelCNN over the VQ-VAE's index grids, frozen and shared."""
    net, _ = checkpoints.load(zoo.folder_for(dataset), PRIOR, family=vq_nets.PixelPrior.family)
    net.requires_grad_(False)
    return net


def card(dataset: str, name: str = NAME) -> dict:
    return checkpoints.read_card(checkpoints.files_for(zoo.folder_for(dataset), name)[0])


def entry_patches(net: vq_nets.VQVAE, images: torch.Tensor) -> torch.Tensor:
    """What each entry stands for: the mean image patch around the cells that pick it, (K, C, 2s, 2s) for cells
    s pixels apart (a patch reaches half a cell beyond its own). An entry nobody picks gets a blank patch."""
    grids = metrics.encode(net, images)  # (N, h, w)
    step = images.shape[-1] // net.grid[1]  # pixels per cell
    padded = torch.nn.functional.pad(images.float(), [step // 2] * 4)
    patches = torch.nn.functional.unfold(padded, kernel_size=2 * step, stride=step)  # (N, C * 4 s^2, h * w)
    patches = patches.permute(0, 2, 1).reshape(-1, patches.shape[1])  # (N h w, C * 4 s^2)
    k = net.config.codebook_size
    sums = torch.zeros(k, patches.shape[1]).index_add_(0, grids.flatten(), patches)
    counts = torch.bincount(grids.flatten(), minlength=k).clamp_min(1)[:, None]
    return (sums / counts).reshape(k, images.shape[1], 2 * step, 2 * step)


@dataclass(frozen=True)
class Usage:
    """How often each codebook entry is picked over a set of images."""

    counts: np.ndarray  # (K,) cells that chose each entry

    @property
    def used(self) -> float:
        """Share of entries picked at least once."""
        return float((self.counts > 0).mean())

    @property
    def commonest(self) -> int:
        """The entry picked most often: on digits, the empty background."""
        return int(np.argmax(self.counts))

    @property
    def perplexity(self) -> float:
        """exp(entropy) of the entries' shares: the number of equally used entries that would give this spread."""
        share = self.counts[self.counts > 0] / self.counts.sum()
        return float(math.exp(-(share * np.log(share)).sum()))


def usage(net: vq_nets.VQVAE, images: torch.Tensor) -> Usage:
    grids = metrics.encode(net, images)  # (N, h, w)
    return Usage(np.bincount(grids.flatten().numpy(), minlength=net.config.codebook_size))


def encode_one(net: vq_nets.VQVAE, image: torch.Tensor) -> np.ndarray:
    """One image (C, H, W) or (1, C, H, W) -> its index grid (h, w) as int64."""
    with torch.inference_mode():
        return net.encode(image.reshape(1, *image.shape[-3:]).float())[0].numpy()


def decode_grid(net: vq_nets.VQVAE, grid: np.ndarray) -> torch.Tensor:
    """An index grid (h, w) -> its image (C, H, W); entries outside the codebook are refused with a clear message."""
    grid = np.asarray(grid)
    if grid.shape != tuple(net.grid):
        raise ValueError(f"A code for this model is a {net.grid[0]} x {net.grid[1]} grid, not {grid.shape}.")
    if grid.min() < 0 or grid.max() >= net.config.codebook_size:
        raise ValueError(f"Codebook entries run from 0 to {net.config.codebook_size - 1}.")
    with torch.inference_mode():
        return net.decode(torch.as_tensor(grid, dtype=torch.long)[None])[0]


def sample_grids(net: vq_nets.PixelPrior, n: int, seed: int = 0) -> torch.Tensor:
    """N index grids (n, h, w) drawn from the prior, one cell at a time."""
    return net.sample(n, torch.Generator().manual_seed(seed))


def prior_samples(dataset: str, n: int, seed: int = 0) -> torch.Tensor:
    """N new images (n, C, H, W): grids from the PixelCNN, decoded by the VQ-VAE."""
    grids = sample_grids(prior(dataset), n, seed)
    with torch.inference_mode():
        return torch.cat([model(dataset).decode(grids[i:i + 500]) for i in range(0, n, 500)])


@dataclass(frozen=True)
class RatePoint:
    """One point of the rate-distortion chart: bits per image against test error."""

    method: str  # e.g. "VQ-VAE (vq-32)" or "AE (ae-16, float16)"
    bits: float  # bits per image
    mse: float  # mean squared error on the test split
    psnr: float  # the same in dB


def vq_points(dataset: str) -> list[RatePoint]:
    """The VQ-VAE's point(s) for the Compression page's rate-distortion chart: cells x log2(K) bits per image."""
    net = model(dataset)
    ds = data.load(dataset)
    x_hat = metrics.reconstruct(net, ds.x_test)
    return [RatePoint(f"VQ-VAE ({NAME})", net.bits, metrics.mse(ds.x_test, x_hat), metrics.psnr(ds.x_test, x_hat))]


def ae_points(dataset: str) -> list[RatePoint]:
    """The shipped plain AEs at 16 bits (float16) per code number, from their cards' test error."""
    points = []
    for name in zoo.names(dataset):
        family, k = zoo.parse_name(name)
        if family == "ae":
            scores = zoo.read_card(name, dataset)["metrics"]
            points.append(RatePoint(f"AE ({name}, float16)", 16.0 * k, scores["test_mse"], scores["test_psnr"]))
    return points


def rate_distortion_rows(dataset: str) -> list[dict]:
    """The VQ-VAE as rows of the Compression page's rate-distortion table (its columns): k is the code's size in
    float16 numbers (bits / 16), so the point sits where a continuous code of the same bits would."""
    return [{"method": "VQ-VAE", "model": NAME, "k": p.bits / 16, "code_bytes": p.bits / 8, "mse": p.mse,
             "psnr": p.psnr, "mse_vs_pca": float("nan")} for p in vq_points(dataset)]
