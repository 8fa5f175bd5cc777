"""Denoising: corrupt images, clean them with a DAE, a plain AE and classical filters, and score every method."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.decomposition import PCA

from dashboard.core import baselines, corrupt, data, memo, metrics, nets, zoo

# The default DAE beats the classical filters on Gaussian and salt-and-pepper noise (the benchmark measures by how
# much); its recipe (dashboard/core/recipes.py) says why it trains longer.
DEFAULT_DAE = "dae-64"
MIN_COMPRESSION = 4  # a default DAE's code must be at least this many times smaller than the image (a real bottleneck)
# Sample sizes small enough that a slider move (a fresh evaluate + latent_view) stays quick on a small CPU.
EVAL_IMAGES = 64  # test digits behind the PSNR / SSIM table
KEEP_IMAGES = 8  # of those, the ones whose images are kept for the side-by-side grid
VIEW_IMAGES = 60  # digits in the 3D latent view (each is a clean/noisy pair joined by a line)
SWEEP_IMAGES = 200  # digits behind each point of the noise-level sweep
SWEEP_LEVELS = 10  # points per sweep curve
NOISY_KEY = "noisy"  # the corrupted input itself, scored like a method so every table shows the starting point
NOISY_LABEL = "Noisy input"
# The level each noise type opens at on the page, and the one the tour quotes: strong enough that the methods differ.
DEFAULT_LEVELS = {"gaussian": 0.5, "salt-pepper": 0.1, "mask": 0.4}
DEFAULT_NOISE = "gaussian"


@dataclass(frozen=True)
class DenoiseConfig:
    """Which models and filter settings a comparison uses; frozen and small so it can key a cache."""

    dataset: str = data.DEFAULT_DATASET  # models and PCA are the ones trained / fitted on this dataset's train split
    dae: str = DEFAULT_DAE  # the denoising autoencoder (trained on corrupted input, clean target); see default_dae
    plain_ae: str | None = None  # None: the shipped ae-k closest in code size to the DAE (at most its size)
    median_size: int = 3  # side of the median filter's square window, in pixels
    blur_sigma: float = 0.8  # Gaussian blur's standard deviation in pixels; the best of 0.5 / 0.8 / 1.0 at sigma 0.5
    pca_k: int | None = None  # None: as many components as the DAE has code numbers, so both keep the same budget


@dataclass(frozen=True)
class Method:
    """One denoiser in the comparison; the page, the benchmark and the tests all iterate over METHODS."""

    key: str  # stable id for dicts, cache keys and tests
    label: Callable[[DenoiseConfig], str]  # the name shown in tables and legends, which may mention its settings
    neural: bool  # True for the autoencoders, False for the classical baselines
    summary: str  # one plain sentence for the page: how the method cleans an image
    run: Callable[[torch.Tensor, DenoiseConfig], torch.Tensor]  # noisy (N, C, H, W) -> cleaned, same shape, [0, 1]


def dae_names(dataset: str) -> list[str]:
    """The shipped denoising autoencoders for a dataset, smallest code first."""
    return [name for name in zoo.names(dataset) if zoo.parse_name(name)[0] == "dae"]


def default_dae(dataset: str) -> str:
    """The DAE a page opens with: DEFAULT_DAE, or else the largest shipped one, whose code still compresses the image.

    On 8x8 digits a 64-number code is as large as the image, so there the default falls back to a smaller DAE.
    """
    shipped = dae_names(dataset)
    if not shipped:
        raise zoo.ModelNotFound(f"No denoising autoencoder is shipped for {dataset!r}.")
    n_pixels = int(np.prod(data.load(dataset).image_shape))
    compressing = [name for name in shipped if zoo.parse_name(name)[1] * MIN_COMPRESSION <= n_pixels] or shipped[:1]
    return DEFAULT_DAE if DEFAULT_DAE in compressing else compressing[-1]


def config_for(dataset: str, dae: str | None = None, **settings) -> DenoiseConfig:
    """A DenoiseConfig for a dataset, with that dataset's default DAE unless one is named."""
    return DenoiseConfig(dataset=dataset, dae=dae or default_dae(dataset), **settings)


def plain_ae_name(config: DenoiseConfig) -> str:
    """The plain AE compared with the DAE: the same code size when shipped, else the largest smaller one."""
    if config.plain_ae:
        return config.plain_ae
    _, k = zoo.parse_name(config.dae)
    sizes = sorted(size for family, size in map(zoo.parse_name, zoo.names(config.dataset)) if family == "ae")
    fitting = [size for size in sizes if size <= k] or sizes[:1]
    if not fitting:
        raise zoo.ModelNotFound(f"No plain autoencoder is shipped for {config.dataset!r}.")
    return f"ae-{fitting[-1]}"


def pca_components(config: DenoiseConfig) -> int:
    return config.pca_k or zoo.parse_name(config.dae)[1]


def _run_dae(noisy: torch.Tensor, config: DenoiseConfig) -> torch.Tensor:
    return metrics.reconstruct(zoo.frozen(config.dae, config.dataset), noisy)


def _run_plain_ae(noisy: torch.Tensor, config: DenoiseConfig) -> torch.Tensor:
    return metrics.reconstruct(zoo.frozen(plain_ae_name(config), config.dataset), noisy)


METHODS: tuple[Method, ...] = (
    Method("dae", lambda c: f"DAE ({c.dae})", True,
           "An autoencoder trained to rebuild clean digits from corrupted ones.", _run_dae),
    Method("plain-ae", lambda c: f"AE ({plain_ae_name(c)}, no noise in training)", True,
           "An autoencoder of the same design trained only on clean digits: it never saw noise.", _run_plain_ae),
    Method("median", lambda c: f"Median filter {c.median_size}x{c.median_size}", False,
           "Each pixel becomes the median of its neighbourhood, which removes isolated specks.",
           lambda x, c: baselines.median_filter(x, c.median_size)),
    Method("blur", lambda c: f"Gaussian blur (sigma {c.blur_sigma:g} px)", False,
           "Each pixel becomes a weighted average of its neighbours, which smooths noise and edges alike.",
           lambda x, c: baselines.gaussian_blur(x, c.blur_sigma)),
    Method("pca", lambda c: f"PCA projection ({pca_components(c)} components)", False,
           "The image is projected onto the main directions of the clean training digits and back.",
           lambda x, c: baselines.pca_denoise(x, c.dataset, pca_components(c))),
)
METHOD_KEYS = tuple(m.key for m in METHODS)


def method(key: str) -> Method:
    for candidate in METHODS:
        if candidate.key == key:
            return candidate
    raise KeyError(f"Unknown denoising method {key!r}; expected one of {METHOD_KEYS}.")


def labels(config: DenoiseConfig) -> dict[str, str]:
    """Display name per key, the noisy input first, in table order."""
    return {NOISY_KEY: NOISY_LABEL, **{m.key: m.label(config) for m in METHODS}}


@dataclass(frozen=True)
class Score:
    """How close one method's output is to the clean images, averaged over a batch."""

    key: str  # a METHODS key, or NOISY_KEY for the corrupted input
    label: str  # display name
    psnr: float  # mean per-image PSNR in dB (higher is better)
    ssim: float | None  # mean structural similarity in [-1, 1] (higher is better); None when not computed


@dataclass(frozen=True)
class Comparison:
    """A corrupted batch, every method's output and their scores against the clean images."""

    noise: str  # a corrupt.NOISE_TYPES entry
    level: float  # its strength, in that noise type's units
    seed: int  # the seed that drew the noise (and, for test batches, the images)
    clean: torch.Tensor  # (N, C, H, W) in [0, 1]
    noisy: torch.Tensor  # (N, C, H, W) in [0, 1]
    outputs: dict[str, torch.Tensor]  # method key -> (N, C, H, W) in [0, 1]
    scores: tuple[Score, ...]  # noisy input first, then METHODS order; scored on n_scored images
    n_scored: int  # images behind the scores (may exceed the images kept in the tensors)

    def score(self, key: str) -> Score:
        return next(s for s in self.scores if s.key == key)

    def records(self) -> list[dict]:
        """The scores as table rows, with the gain over the noisy input."""
        base = self.score(NOISY_KEY).psnr
        return [{"method": s.label, "PSNR (dB)": s.psnr, "gain (dB)": s.psnr - base, "SSIM": s.ssim}
                for s in self.scores]

    def rows(self, n: int | None = None) -> list[list[torch.Tensor]]:
        """Image rows for a grid: per image, noisy, then each method, then clean; each tile (H, W)."""
        keep = len(self.clean) if n is None else min(n, len(self.clean))
        return [[self.noisy[i, 0], *(self.outputs[m.key][i, 0] for m in METHODS), self.clean[i, 0]]
                for i in range(keep)]

    def column_labels(self, config: DenoiseConfig) -> list[str]:
        return [NOISY_LABEL, *(m.label(config) for m in METHODS), "Clean"]


def compare(clean: torch.Tensor, noise: str, level: float, seed: int = 0, config: DenoiseConfig = DenoiseConfig(),
            with_ssim: bool = True) -> Comparison:
    """Corrupt clean images (N, C, H, W) with one noise type, run every method and score each against clean."""
    noisy = corrupt.apply(clean, noise, level, seed=seed)
    outputs = {m.key: m.run(noisy, config) for m in METHODS}
    names = labels(config)
    scores = tuple(
        Score(key, names[key], metrics.psnr(clean, image), metrics.ssim(clean, image) if with_ssim else None)
        for key, image in {NOISY_KEY: noisy, **outputs}.items())
    return Comparison(noise, level, seed, clean, noisy, outputs, scores, len(clean))


def sample_test(dataset: str, n_images: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random sample of the test split: images (n, C, H, W) and labels (n,)."""
    ds = data.load(dataset)
    n = min(n_images, len(ds.x_test))
    index = torch.randperm(len(ds.x_test), generator=torch.Generator().manual_seed(seed))[:n]
    return ds.x_test[index], ds.y_test[index]


def _read_only(*arrays: np.ndarray) -> None:
    for array in arrays:
        array.setflags(write=False)  # results are shared by every session through memo.shared


@memo.shared(maxsize=32)
def evaluate(noise: str, level: float, seed: int = 0, config: DenoiseConfig = DenoiseConfig(),
             n_images: int = EVAL_IMAGES, n_keep: int = KEEP_IMAGES) -> Comparison:
    """Scores on n_images test digits under fresh seeded noise, keeping only n_keep images' tensors (a small entry)."""
    clean, _ = sample_test(config.dataset, n_images, seed)
    result = compare(clean, noise, level, seed, config)
    def keep(images: torch.Tensor) -> torch.Tensor:
        return images[:n_keep].clone()  # a clone drops the full batch's storage, which a slice would keep alive

    return Comparison(noise, level, seed, keep(result.clean), keep(result.noisy),
                      {key: keep(out) for key, out in result.outputs.items()}, result.scores, result.n_scored)


def trained_levels(config: DenoiseConfig, noise: str) -> tuple[float, float] | None:
    """The range of levels of this noise type that the DAE saw in training; None when it never saw that type."""
    dae_config = zoo.frozen(config.dae, config.dataset).config
    if dae_config.noise in ("mixed", nets.EACH_IMAGE_MIX):
        return 0.0, corrupt.MIXED_MAX_LEVELS[noise]
    if dae_config.noise == noise:
        return dae_config.noise_level, dae_config.noise_level
    return None


@dataclass(frozen=True)
class Sweep:
    """PSNR against noise level for every method, on one fixed sample of test images."""

    noise: str  # a corrupt.NOISE_TYPES entry
    levels: np.ndarray  # (L,) noise levels, increasing
    psnr: dict[str, np.ndarray]  # key (NOISY_KEY or a method) -> (L,) mean PSNR in dB
    labels: dict[str, str]  # key -> display name
    trained: tuple[float, float] | None  # the DAE's training range for this noise (see trained_levels)
    n_images: int  # test images behind each point

    def records(self) -> list[dict]:
        """Long format (one row per level and method), the shape altair wants."""
        return [{"level": float(level), "method": self.labels[key], "key": key, "PSNR (dB)": float(values[i])}
                for key, values in self.psnr.items() for i, level in enumerate(self.levels)]


def sweep_levels(noise: str, n_levels: int = SWEEP_LEVELS) -> np.ndarray:
    """Evenly spaced levels across the noise type's slider range, without 0 (where PSNR is unbounded)."""
    _, high = corrupt.LEVEL_RANGES[noise]
    return np.round(np.linspace(high / n_levels, high, n_levels), 4)


@memo.shared(maxsize=16)
def sweep(noise: str, config: DenoiseConfig = DenoiseConfig(), n_images: int = SWEEP_IMAGES,
          n_levels: int = SWEEP_LEVELS, seed: int = 0) -> Sweep:
    """PSNR per method at each level; PSNR only (SSIM would triple the cost), computed once per process."""
    clean, _ = sample_test(config.dataset, n_images, seed)
    levels = sweep_levels(noise, n_levels)
    curves: dict[str, list[float]] = {key: [] for key in labels(config)}
    for level in levels:
        result = compare(clean, noise, float(level), seed, config, with_ssim=False)
        for score in result.scores:
            curves[score.key].append(score.psnr)
    psnr = {key: np.array(values) for key, values in curves.items()}
    _read_only(levels, *psnr.values())
    return Sweep(noise, levels, psnr, labels(config), trained_levels(config, noise), len(clean))


@dataclass(frozen=True)
class CodeShift:
    """Where one model puts clean images and their noisy copies in its latent space."""

    model: str  # zoo name, e.g. "ae-16"
    clean_codes: np.ndarray  # (N, k) codes of the clean images
    noisy_codes: np.ndarray  # (N, k) codes of the same images after corruption
    clean_3d: np.ndarray  # (N, 3) the clean codes on the model's 3 main axes (PCA of its train-split codes)
    noisy_3d: np.ndarray  # (N, 3) the noisy codes on the same axes, so each pair can be joined by a line
    shift: np.ndarray  # (N,) distance noisy -> clean code over the typical distance between two clean codes
    axes: str  # how the 3D axes were made, for a caption

    @property
    def mean_shift(self) -> float:
        return float(self.shift.mean())


@dataclass(frozen=True)
class LatentView:
    """Clean and noisy codes from the plain AE and the DAE, for one corrupted test sample."""

    labels: np.ndarray  # (N,) class index of each image
    plain: CodeShift  # the AE that never saw noise
    dae: CodeShift  # the denoising AE


@memo.shared(maxsize=16)
def _code_space(name: str, dataset: str) -> tuple[PCA | None, float, str]:
    """3D axes and the typical code distance, fitted once on the model's codes of the clean train split."""
    codes = metrics.encode(zoo.frozen(name, dataset), data.load(dataset).x_train).numpy().astype(np.float64)  # (N, k)
    # Two independent codes lie sqrt(2 * total variance) apart on average (in the root-mean-square sense).
    spread = float(np.sqrt(2.0 * codes.var(axis=0).sum()))
    k = codes.shape[1]
    if k <= 3:
        return None, spread, f"the {k} latent dimensions themselves"
    pca = PCA(n_components=3, random_state=0).fit(codes)
    share = 100 * pca.explained_variance_ratio_.sum()
    return pca, spread, f"the 3 main axes of {k}-d codes of the training digits ({share:.0f}% of their variance)"


def _to_3d(pca: PCA | None, codes: np.ndarray) -> np.ndarray:
    if pca is not None:
        return pca.transform(codes)  # (N, 3)
    return np.hstack([codes, np.zeros((len(codes), 3 - codes.shape[1]))])


def code_shift(name: str, dataset: str, clean: torch.Tensor, noisy: torch.Tensor) -> CodeShift:
    """Encode clean and noisy images with one model and measure how far the noise moved each code."""
    net = zoo.frozen(name, dataset)
    clean_codes = metrics.encode(net, clean).numpy().astype(np.float64)  # (N, k)
    noisy_codes = metrics.encode(net, noisy).numpy().astype(np.float64)  # (N, k)
    pca, spread, axes = _code_space(name, dataset)
    shift = np.linalg.norm(noisy_codes - clean_codes, axis=1) / max(spread, 1e-12)
    clean_3d, noisy_3d = _to_3d(pca, clean_codes), _to_3d(pca, noisy_codes)
    _read_only(clean_codes, noisy_codes, clean_3d, noisy_3d, shift)
    return CodeShift(name, clean_codes, noisy_codes, clean_3d, noisy_3d, shift, axes)


@memo.shared(maxsize=32)
def latent_view(noise: str, level: float, seed: int = 0, config: DenoiseConfig = DenoiseConfig(),
                n_images: int = VIEW_IMAGES) -> LatentView:
    """Codes of n_images test digits, clean and corrupted, from the plain AE and the DAE."""
    clean, y = sample_test(config.dataset, n_images, seed)
    noisy = corrupt.apply(clean, noise, level, seed=seed)
    digit_labels = y.numpy()  # (N,); indexing made it a copy, so freezing it leaves the dataset writable
    _read_only(digit_labels)
    return LatentView(digit_labels, code_shift(plain_ae_name(config), config.dataset, clean, noisy),
                      code_shift(config.dae, config.dataset, clean, noisy))
