"""A 2D code space as a grid: its extent, the cell under a point, the decoded atlas, density and classifier shading."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dashboard.core import data, memo, metrics, zoo
from dashboard.sampling import quality

GRID_SIDE = 64  # cells per side of a map: 4,096 decodes, fine enough for the fidelity target at 2 numbers per code
ATLAS_LEVELS = 16  # grey levels shipped to the browser: a 4-bit PNG, about half the bytes of 8 bits, still > 35 dB
MARGIN = 0.12  # share of the codes' range added on each side, so the pointer can wander a little past the data
PRIOR_REACH = 3.0  # a VAE's map always shows its N(0, I) prior out to three standard deviations
CLIP_PERCENTILE = 0.5  # a few stray codes must not stretch the map and squeeze the clusters into a corner
# Small batches: a 1,024-image batch's activations (~100 MB at 28 x 28) would stay in the server's RSS for good.
BATCH = 256
DENSITY_BANDWIDTH = 0.04  # KDE bandwidth as a share of the map's side: smooth, yet narrow enough to show the holes
# A hole: a spot sparser than all but this percentage of the training codes (the pinned point's test, in percent).
HOLE_PERCENTILE = 5.0
READABLE_CONFIDENCE = 0.9  # the classifier's top probability from which a decode counts as a readable digit


@dataclass(frozen=True)
class Extent:
    """A square window on a 2D code space: z1 runs left to right, z2 bottom to top (as on a chart)."""

    x0: float
    x1: float
    y0: float
    y1: float

    @property
    def side(self) -> float:
        return self.x1 - self.x0

    def contains(self, z: np.ndarray) -> bool:
        z = np.asarray(z, dtype=np.float64)
        return bool(self.x0 <= z[0] <= self.x1 and self.y0 <= z[1] <= self.y1)

    def as_list(self) -> list[float]:
        return [self.x0, self.x1, self.y0, self.y1]


def extent_for(codes: np.ndarray, prior_reach: float | None = None) -> Extent:
    """The square window that holds nearly every code (N, 2) with a margin, and the prior's reach if given.

    Square, so that distances look the same both ways: the nearest-neighbour search on this page is Euclidean.
    """
    codes = np.asarray(codes, dtype=np.float64)
    lo = np.percentile(codes, CLIP_PERCENTILE, axis=0)
    hi = np.percentile(codes, 100 - CLIP_PERCENTILE, axis=0)
    if prior_reach is not None:
        lo, hi = np.minimum(lo, -prior_reach), np.maximum(hi, prior_reach)
    centre, half = (lo + hi) / 2, float(np.max(hi - lo)) / 2 * (1 + 2 * MARGIN)
    half = max(half, 1e-3)
    return Extent(float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half))


def cell_centres(extent: Extent, n: int = GRID_SIDE) -> np.ndarray:
    """Codes (n * n, 2) at the centre of every cell, row by row from the top (high z2) and left to right."""
    step = extent.side / n
    xs = extent.x0 + (np.arange(n) + 0.5) * step
    ys = extent.y1 - (np.arange(n) + 0.5) * step
    grid_x, grid_y = np.meshgrid(xs, ys)  # (n, n) each, rows are constant z2
    return np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)


def cell_of(extent: Extent, z: np.ndarray, n: int = GRID_SIDE) -> tuple[int, int]:
    """(row, column) of the cell that holds code z; points on or past an edge belong to the edge cell.

    The browser does the same sum on the pointer position (assets/latent_map.js), so both agree cell for cell.
    """
    z = np.asarray(z, dtype=np.float64)
    column = int(np.floor((z[0] - extent.x0) / extent.side * n))
    row = int(np.floor((extent.y1 - z[1]) / extent.side * n))
    return min(max(row, 0), n - 1), min(max(column, 0), n - 1)


def decode(model: torch.nn.Module, codes: np.ndarray, batch_size: int = BATCH) -> np.ndarray:
    """Codes (N, k) -> images (N, H, W) as float32 in [0, 1], under inference mode."""
    codes_t = torch.as_tensor(np.asarray(codes, dtype=np.float32))
    parts = []
    with torch.inference_mode():
        for start in range(0, len(codes_t), batch_size):
            parts.append(model.decode(codes_t[start:start + batch_size])[:, 0].numpy())  # (B, H, W)
    return np.concatenate(parts) if parts else np.zeros((0, 1, 1), np.float32)


def tile(images: np.ndarray, n: int) -> np.ndarray:
    """Images (n * n, H, W), row by row -> one atlas (n * H, n * W): cell (r, c) at rows r*H.., columns c*W.."""
    _, height, width = images.shape
    return images.reshape(n, n, height, width).transpose(0, 2, 1, 3).reshape(n * height, n * width)


def quantise(images: np.ndarray, levels: int = ATLAS_LEVELS) -> np.ndarray:
    """Images in [0, 1] -> uint8 level indices 0..levels-1 (a 4-bit PNG stores them; the browser scales to 0..255)."""
    return np.round(np.clip(images, 0.0, 1.0) * (levels - 1)).astype(np.uint8)


def log_density(codes: np.ndarray, points: np.ndarray, bandwidth: float) -> np.ndarray:
    """Log of a Gaussian kernel density estimate of `codes` (N, k) at `points` (M, k), in chunks to bound memory."""
    codes = np.asarray(codes, dtype=np.float64)
    points = np.asarray(points, dtype=np.float64)
    k = codes.shape[1]
    norm = -np.log(len(codes)) - k * np.log(bandwidth * np.sqrt(2 * np.pi))
    out = np.empty(len(points))
    for start in range(0, len(points), 128):
        chunk = points[start:start + 128]
        squared = ((chunk[:, None, :] - codes[None, :, :]) ** 2).sum(-1) / (2 * bandwidth**2)  # (m, N)
        top = squared.min(axis=1)
        out[start:start + 128] = norm - top + np.log(np.exp(-(squared - top[:, None])).sum(axis=1))
    return out


@dataclass(frozen=True)
class MapGrid:
    """One model's 2D map, computed once per server: the decoded grid and what the background shades."""

    model_name: str
    dataset: str
    extent: Extent
    n: int  # cells per side
    atlas: np.ndarray  # (n * H, n * W) uint8 grey levels 0..ATLAS_LEVELS-1, cell (r, c) as in tile()
    image_shape: tuple[int, int]  # (H, W) of one decoded image
    density: np.ndarray  # (n, n) log-density of the training codes at each cell centre
    confidence: np.ndarray  # (n, n) the reference classifier's top probability for each cell's decode
    predicted: np.ndarray  # (n, n) the class it reads there
    bandwidth: float  # the KDE bandwidth in code units
    train_log_density: np.ndarray  # (N_train,) the density at every training code, for percentiles

    def cell_image(self, row: int, column: int) -> np.ndarray:
        """The decode of one cell as float32 (H, W) in [0, 1], as the browser shows it."""
        height, width = self.image_shape
        levels = self.atlas[row * height:(row + 1) * height, column * width:(column + 1) * width]
        return levels.astype(np.float32) / (ATLAS_LEVELS - 1)

    def density_percentile(self, log_value: float) -> float:
        """Share of training codes (0..1) that sit in sparser places than a point of this log-density."""
        return float(np.mean(self.train_log_density < log_value))


@memo.shared(maxsize=8)
def map_grid(model_name: str, dataset: str = data.DEFAULT_DATASET, n: int = GRID_SIDE) -> MapGrid:
    """Decode every cell of a 2-number model's map once, and shade it by training-code density and classifier."""
    model = zoo.frozen(model_name, dataset)
    if model.latent_dim != 2:
        raise ValueError(f"A map needs a 2-number code; {model_name} has {model.latent_dim}.")
    train_codes = zoo.codes(model_name, dataset, "train")  # (N, 2)
    extent = extent_for(train_codes, PRIOR_REACH if model.has_prior else None)
    centres = cell_centres(extent, n)  # (n * n, 2)
    images = decode(model, centres)  # (n * n, H, W)
    verdicts = [quality.verdicts(torch.from_numpy(images[i:i + BATCH, None]), dataset)
                for i in range(0, len(images), BATCH)]
    predicted, confidence = (np.concatenate(parts) for parts in zip(*verdicts))
    bandwidth = DENSITY_BANDWIDTH * extent.side
    density = log_density(train_codes, centres, bandwidth).reshape(n, n)
    train_density = log_density(train_codes, train_codes, bandwidth)
    for array in (density, train_density):
        array.setflags(write=False)
    atlas = quantise(tile(images, n))
    atlas.setflags(write=False)
    return MapGrid(model_name, dataset, extent, n, atlas, images.shape[1:], density,
                   confidence.reshape(n, n).astype(np.float32), predicted.reshape(n, n), bandwidth, train_density)


def atlas_psnr(grid: MapGrid, model: torch.nn.Module, n_points: int = 200, seed: int = 0) -> np.ndarray:
    """PSNR (dB) of the atlas cell the browser shows against the exact decode, at random points of the map."""
    rng = np.random.default_rng(seed)
    e = grid.extent
    points = np.column_stack([rng.uniform(e.x0, e.x1, n_points), rng.uniform(e.y0, e.y1, n_points)])
    exact = decode(model, points)  # (n_points, H, W)
    shown = np.stack([grid.cell_image(*cell_of(e, z, grid.n)) for z in points])
    return metrics.psnr_per_image(torch.from_numpy(shown[:, None]), torch.from_numpy(exact[:, None]))


def central_cells(grid: MapGrid, codes: np.ndarray, percentile: float = 5.0) -> np.ndarray:
    """(n, n) mask of the cells inside the box that holds the middle of the codes on each axis (5th to 95th
    percentile): where the data lives, so that maps of different extents are compared on like ground."""
    codes = np.asarray(codes, dtype=np.float64)
    lo, hi = np.percentile(codes, percentile, axis=0), np.percentile(codes, 100 - percentile, axis=0)
    centres = cell_centres(grid.extent, grid.n)
    return ((centres >= lo) & (centres <= hi)).all(axis=1).reshape(grid.n, grid.n)


def hole_share(grid: MapGrid, mask: np.ndarray, percentile: float = HOLE_PERCENTILE) -> float:
    """Share of the masked cells sparser than all but `percentile`% of training codes: places the decoder rarely
    saw during training."""
    return float(np.mean(grid.density[mask] < np.percentile(grid.train_log_density, percentile)))


def readable_share(grid: MapGrid, mask: np.ndarray, confidence: float = READABLE_CONFIDENCE) -> float:
    """Share of the masked cells whose decode the reference classifier reads with at least this confidence."""
    return float(np.mean(grid.confidence[mask] >= confidence))


@dataclass(frozen=True)
class MapSummary:
    """What one map's numbers say, measured on the same ground for every model: the box of its data."""

    holes: float  # share of the box's cells that are holes (sparser than all but HOLE_PERCENTILE% of training codes)
    readable: float  # share of the box's cells whose decode the classifier reads with READABLE_CONFIDENCE or more
    cells: int  # grid cells inside the box


def summary(grid: MapGrid, train_codes: np.ndarray) -> MapSummary:
    """Holes and readable decodes in the box where the middle 90% of the training codes lie on each axis.

    The Latent space page and the tour's stop both show these numbers, so they cannot disagree.
    """
    mask = central_cells(grid, train_codes)
    return MapSummary(hole_share(grid, mask), readable_share(grid, mask), int(mask.sum()))


def line_across(grid: MapGrid, k: int = 10) -> np.ndarray:
    """Decodes (k, H, W) of k evenly spaced cells along the map's middle row, left to right."""
    columns = np.linspace(0, grid.n - 1, k).round().astype(int)
    return np.stack([grid.cell_image(grid.n // 2, c) for c in columns])
