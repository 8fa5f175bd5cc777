"""Latent samplers (N(0, I), a fitted Gaussian, a Gaussian mixture), decoding, interpolation and latent-hole maps."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import torch
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from sklearn.neighbors import NearestNeighbors

from dashboard.core import data, memo, metrics, zoo
from dashboard.generators import diffusion
from dashboard.sampling import quality

DECODE_BATCH = 1000
N_SCORED = 1000  # samples per sampler behind every quality score the app shows: the page, the tour, the benchmark
SCORE_SEED = 0  # the seed of those samples (and of the real images behind the baselines)
# The temperatures a page offers: few enough to decode every one at once, so moving the slider is a lookup.
TEMPERATURES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
INTERPOLATION_METHODS = ("linear", "slerp")


def _as_codes(codes: np.ndarray | torch.Tensor) -> np.ndarray:
    array = np.asarray(codes.detach().cpu().numpy() if isinstance(codes, torch.Tensor) else codes, dtype=np.float64)
    if array.ndim != 2 or len(array) < 2:
        raise ValueError(f"Expected latent codes of shape (N, k) with N >= 2, got {array.shape}.")
    return array


class LatentSampler:
    """A distribution over latent codes: fit(codes) learns it, sample(n, seed, temperature) draws from it.

    Every sampler draws from its own numpy Generator, so the same seed gives the same codes whatever else ran
    before. The same seed also reuses the same underlying noise at every temperature, so moving the temperature
    stretches one set of samples instead of drawing a new one.
    """

    label = "sampler"

    def fit(self, codes: np.ndarray | torch.Tensor) -> LatentSampler:
        raise NotImplementedError

    def sample(self, n: int, seed: int = 0, temperature: float = 1.0) -> torch.Tensor:
        """N codes (n, k) float32; temperature scales the spread around the centre (1 = the fitted spread)."""
        self._check_fitted()
        if n < 0 or temperature < 0:
            raise ValueError("n and temperature must not be negative.")
        return torch.from_numpy(self._draw(int(n), np.random.default_rng(seed), float(temperature)).astype(np.float32))

    def _draw(self, n: int, rng: np.random.Generator, temperature: float) -> np.ndarray:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "latent_dim_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit(codes) first.")


class StandardNormal(LatentSampler):
    """The N(0, I) prior: right for a VAE, which was trained towards it, and a blind guess for a plain AE."""

    label = "N(0, I)"

    def fit(self, codes: np.ndarray | torch.Tensor) -> StandardNormal:
        self.latent_dim_ = _as_codes(codes).shape[1]  # the codes only fix the size: the prior ignores the data
        return self

    def _draw(self, n: int, rng: np.random.Generator, temperature: float) -> np.ndarray:
        return temperature * rng.standard_normal((n, self.latent_dim_))  # (n, k)


class FittedGaussian(LatentSampler):
    """One full-covariance Gaussian fitted to the codes: right centre, scale and correlations, but one blob."""

    label = "fitted Gaussian"

    def __init__(self, ridge: float = 1e-6):
        self.ridge = ridge  # added to the diagonal, relative to the mean variance, so the Cholesky always exists

    def fit(self, codes: np.ndarray | torch.Tensor) -> FittedGaussian:
        codes = _as_codes(codes)
        self.mean_ = codes.mean(axis=0)  # (k,)
        cov = np.atleast_2d(np.cov(codes, rowvar=False))  # (k, k)
        self.covariance_ = cov + self.ridge * max(float(np.trace(cov)) / len(cov), 1e-12) * np.eye(len(cov))
        self.cholesky_ = np.linalg.cholesky(self.covariance_)
        self.latent_dim_ = codes.shape[1]
        return self

    def _draw(self, n: int, rng: np.random.Generator, temperature: float) -> np.ndarray:
        noise = rng.standard_normal((n, self.latent_dim_))  # (n, k)
        return self.mean_ + temperature * noise @ self.cholesky_.T


class GaussianMixture(LatentSampler):
    """A mixture of full-covariance Gaussians (scikit-learn's EM) fitted to the codes: it can follow the clusters."""

    label = "Gaussian mixture"

    def __init__(self, n_components: int = 10, seed: int = 0, reg_covar: float = 1e-4, max_iter: int = 200):
        self.n_components = n_components  # mixture components; about one per class suits digit codes
        self.seed = seed  # seeds EM's k-means initialisation, so a refit gives the same mixture
        self.reg_covar = reg_covar  # scikit-learn's diagonal floor on every covariance
        self.max_iter = max_iter  # EM iterations at most

    def fit(self, codes: np.ndarray | torch.Tensor) -> GaussianMixture:
        codes = _as_codes(codes)
        mixture = SklearnGaussianMixture(n_components=min(self.n_components, len(codes)), covariance_type="full",
                                         reg_covar=self.reg_covar, max_iter=self.max_iter, random_state=self.seed)
        # EM on a few thousand small codes is many tiny matrix operations, where BLAS threads only add waiting (a 1 s
        # fit took 20 s on a busy two-core server); the app's one thread policy, set at startup, covers it.
        mixture.fit(codes)
        self.weights_ = mixture.weights_ / mixture.weights_.sum()  # (c,)
        self.means_ = mixture.means_  # (c, k)
        self.covariances_ = mixture.covariances_  # (c, k, k)
        self.choleskies_ = np.linalg.cholesky(self.covariances_)  # (c, k, k)
        self.converged_ = bool(mixture.converged_)
        self.latent_dim_ = codes.shape[1]
        return self

    def _draw(self, n: int, rng: np.random.Generator, temperature: float) -> np.ndarray:
        # Components first, then noise, so the same seed picks the same components at every temperature;
        # temperature scales the spread inside each component, not the distance between them.
        component = rng.choice(len(self.weights_), size=n, p=self.weights_)  # (n,)
        noise = rng.standard_normal((n, self.latent_dim_))  # (n, k)
        return self.means_[component] + temperature * np.einsum("nij,nj->ni", self.choleskies_[component], noise)


SAMPLER_KINDS = {"standard": StandardNormal, "gaussian": FittedGaussian, "gmm": GaussianMixture}


def make_sampler(kind: str, n_components: int = 10) -> LatentSampler:
    """An unfitted sampler by kind: "standard", "gaussian" or "gmm" (or "diffusion", which fitted_sampler sets up)."""
    if kind == "diffusion":  # a shipped flow model of a shipped AE's codes: trained by the build, never fitted here
        return diffusion.FlowSampler()
    if kind not in SAMPLER_KINDS:
        raise ValueError(f"Unknown sampler {kind!r}; expected one of {sorted(SAMPLER_KINDS)}.")
    return GaussianMixture(n_components=n_components) if kind == "gmm" else SAMPLER_KINDS[kind]()


@dataclass(frozen=True)
class SamplerSetup:
    """One way to make new images: a model family plus a distribution to draw its codes from."""

    label: str  # what the page and the benchmark call it
    family: str  # "ae" or "vae": which shipped model decodes the codes
    kind: str  # a SAMPLER_KINDS key

    def model_name(self, latent_dim: int) -> str:
        return f"{self.family}-{latent_dim}"

    def available(self, dataset: str, latent_dim: int) -> bool:
        """Whether its model (and, for latent diffusion, its flow model) ships at this code size."""
        name = self.model_name(latent_dim)
        return name in zoo.names(dataset) and (self.kind != "diffusion" or diffusion.available(dataset, name))


SETUPS = (
    SamplerSetup("AE + N(0, I)", "ae", "standard"),
    SamplerSetup("AE + fitted Gaussian", "ae", "gaussian"),
    SamplerSetup("AE + Gaussian mixture", "ae", "gmm"),
    SamplerSetup("VAE + N(0, I) prior", "vae", "standard"),
    # A mixture fitted to the VAE's own training codes (posterior means), as in Chadebec & Allassonnière (NeurIPS
    # 2022): the prior is what the VAE was pushed towards, the mixture is where its codes actually ended up.
    SamplerSetup("VAE + Gaussian mixture", "vae", "gmm"),
    # A flow-matching model trained on the AE's codes (Lipman et al. 2023), walked from noise in Euler steps: the
    # latent diffusion of Rombach et al. (2022) at toy scale. It ships for the 16- and 2-number AEs only.
    SamplerSetup("AE + latent diffusion", "ae", "diffusion"),
)


@memo.shared(maxsize=64)
def fitted_sampler(dataset: str, model_name: str, kind: str, n_components: int = 10) -> LatentSampler:
    """A sampler fitted to a shipped model's train codes, shared by every session; sample() never changes it."""
    if kind == "diffusion":
        return diffusion.fitted(dataset, model_name)  # trained by the build: nothing to fit here
    sampler = make_sampler(kind, n_components).fit(zoo.codes(model_name, dataset, "train").astype(np.float64))
    for value in vars(sampler).values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)  # the fitted parameters are shared: a stray write would reach every session
    return sampler


def decode(model: torch.nn.Module, codes: torch.Tensor, batch_size: int = DECODE_BATCH) -> torch.Tensor:
    """Codes (N, k) -> images (N, C, H, W) in [0, 1], batched and without autograd."""
    codes = torch.as_tensor(codes, dtype=torch.float32)
    with torch.inference_mode():
        return torch.cat([model.decode(codes[i:i + batch_size]) for i in range(0, len(codes), batch_size)])


def generate(dataset: str, setup: SamplerSetup, latent_dim: int, n: int, seed: int = 0, temperature: float = 1.0,
             n_components: int = 10) -> torch.Tensor:
    """N new images (n, C, H, W) from one setup, using cached models and fits."""
    model_name = setup.model_name(latent_dim)
    sampler = fitted_sampler(dataset, model_name, setup.kind, n_components)
    return decode(zoo.frozen(model_name, dataset), sampler.sample(n, seed=seed, temperature=temperature))


def generate_sweep(dataset: str, setup: SamplerSetup, latent_dim: int, n: int,
                   temperatures: tuple[float, ...] = TEMPERATURES, seed: int = 0,
                   n_components: int = 10) -> torch.Tensor:
    """The same n draws at every temperature, decoded in one batch: (len(temperatures), n, C, H, W).

    One big decode costs far less than many small ones on a busy CPU, and afterwards moving a temperature
    slider only has to look the images up.
    """
    model_name = setup.model_name(latent_dim)
    sampler = fitted_sampler(dataset, model_name, setup.kind, n_components)
    codes = torch.cat([sampler.sample(n, seed=seed, temperature=t) for t in temperatures])  # (T * n, k)
    images = decode(zoo.frozen(model_name, dataset), codes)  # (T * n, C, H, W)
    return images.reshape(len(temperatures), n, *images.shape[1:])


def score_setups(dataset: str, latent_dim: int, n: int = 1000, seed: int = 0, temperature: float = 1.0,
                 n_components: int = 10) -> dict[str, quality.QualityReport]:
    """{setup label: report} for every sampler setup whose model ships at this latent size."""
    return {setup.label: quality.assess(generate(dataset, setup, latent_dim, n, seed, temperature, n_components),
                                dataset)
            for setup in SETUPS if setup.available(dataset, latent_dim)}


def baseline_reports(dataset: str, latent_dim: int, n: int = 1000, seed: int = 0) -> dict[str, quality.QualityReport]:
    """Yardsticks for the sampler scores: real train images and the AE's reconstructions of them.

    Real images show what a perfect sampler would score with this many samples (not 0: two finite samples of
    one distribution differ). Reconstructions show the cost of the decoder's blur alone, which samples decoded
    by the same AE can hardly beat.
    """
    ds = data.load(dataset)
    # The train split is ordered by class, so a random subset stands for all of it.
    pick = torch.randperm(len(ds.x_train), generator=torch.Generator().manual_seed(seed))[:n]
    real = ds.x_train[pick]
    reports = {"Real train images": quality.assess(real, dataset)}
    ae_name = f"ae-{latent_dim}"
    if ae_name in zoo.names(dataset):
        rebuilt = metrics.reconstruct(zoo.frozen(ae_name, dataset), real)
        reports[f"{ae_name} reconstructions"] = quality.assess(rebuilt, dataset)
    return reports


def scores(dataset: str, latent_dim: int, temperature: float = 1.0,
           n_components: int = 10) -> dict[str, quality.QualityReport]:
    """The baselines, then every setup's report, on N_SCORED samples from SCORE_SEED: the one computation behind
    every quality number the app quotes, so the Sampling page and the tour cannot disagree (and share one entry)."""
    return dict(_scores(dataset, int(latent_dim), float(temperature), int(n_components)))  # the shared one stays as is


@memo.shared(maxsize=32)
def _scores(dataset: str, latent_dim: int, temperature: float, n_components: int) -> dict[str, quality.QualityReport]:
    return {**baseline_reports(dataset, latent_dim, N_SCORED, SCORE_SEED),
            **score_setups(dataset, latent_dim, N_SCORED, SCORE_SEED, temperature, n_components)}


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of two codes (k,) at fractions t (T,) -> (T, k); falls back to linear when parallel.

    It follows the arc between the directions and blends the lengths, so midpoints keep a typical norm instead of
    cutting through the low-density middle of a Gaussian, where straight lines pass.
    """
    z0, z1, t = z0.double(), z1.double(), t.double()[:, None]  # t: (T, 1)
    n0, n1 = z0.norm(), z1.norm()
    if n0 < 1e-12 or n1 < 1e-12:
        return (1 - t) * z0 + t * z1
    omega = torch.arccos(torch.clamp(torch.dot(z0 / n0, z1 / n1), -1.0, 1.0))
    if torch.sin(omega).abs() < 1e-6:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int = 8, method: str = "linear") -> torch.Tensor:
    """Steps codes (steps, k) from z0 to z1 inclusive, along a straight line or a spherical arc."""
    if method not in INTERPOLATION_METHODS:
        raise ValueError(f"Unknown interpolation {method!r}; expected one of {INTERPOLATION_METHODS}.")
    if steps < 2:
        raise ValueError("An interpolation needs at least 2 steps (the two ends).")
    z0, z1 = torch.as_tensor(z0).reshape(-1), torch.as_tensor(z1).reshape(-1)
    t = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)
    path = slerp(z0, z1, t) if method == "slerp" else (1 - t[:, None]) * z0.double() + t[:, None] * z1.double()
    return path.float()


def interpolation_strip(model: torch.nn.Module, x0: torch.Tensor, x1: torch.Tensor, steps: int = 8,
                        method: str = "linear") -> torch.Tensor:
    """Encode two images (1, C, H, W) or (C, H, W), walk between their codes, decode: (steps, C, H, W)."""
    pair = torch.stack([x0.reshape(x0.shape[-3:]), x1.reshape(x1.shape[-3:])])  # (2, C, H, W)
    codes = metrics.encode(model, pair)  # (2, k)
    return decode(model, interpolate(codes[0], codes[1], steps, method))


def pixel_blend(x0: torch.Tensor, x1: torch.Tensor, steps: int = 8) -> torch.Tensor:
    """The no-model baseline: cross-fade the pixels, (steps, C, H, W); midway it shows two faint digits at once."""
    a, b = x0.reshape(x0.shape[-3:]).float(), x1.reshape(x1.shape[-3:]).float()
    t = torch.linspace(0.0, 1.0, steps)[:, None, None, None]  # (steps, 1, 1, 1)
    return (1 - t) * a + t * b


@dataclass(frozen=True)
class PathRow:
    """One interpolation strip and what the reference classifier makes of each frame."""

    label: str  # "AE", "VAE" or "Pixel blend"
    images: torch.Tensor  # (steps, C, H, W)
    predicted: np.ndarray  # (steps,) class index the classifier reads in each frame
    confidence: np.ndarray  # (steps,) its top-class probability


def interpolation_rows(dataset: str, latent_dim: int, x0: torch.Tensor, x1: torch.Tensor, steps: int = 9,
                       method: str = "linear") -> list[PathRow]:
    """AE and VAE paths between two images at one latent size, then the pixel cross-fade as the baseline."""
    shipped = zoo.names(dataset)
    strips = {family.upper(): interpolation_strip(zoo.frozen(f"{family}-{latent_dim}", dataset), x0, x1, steps,
                                                  method)
              for family in ("ae", "vae") if f"{family}-{latent_dim}" in shipped}
    strips["Pixel blend"] = pixel_blend(x0, x1, steps)
    rows = []
    for label, images in strips.items():
        predicted, confidence = quality.verdicts(images, dataset)
        rows.append(PathRow(label, images, predicted, confidence))
    return rows


def default_pair(labels: torch.Tensor | np.ndarray, classes: tuple[int, int] = (1, 7)) -> tuple[int, int]:
    """Indices of the first test image of each of two classes (a 1 and a 7 by default): a clear first example."""
    labels = np.asarray(labels)
    found = [int(np.flatnonzero(labels == c)[0]) if (labels == c).any() else i for i, c in enumerate(classes)]
    return found[0], found[1]


def as_array(image: torch.Tensor) -> np.ndarray:
    """An image tensor -> a float32 (C, H, W) array, a value Streamlit's cache can hash."""
    return image.detach().cpu().float().reshape(image.shape[-3:]).numpy()


def as_image(array: np.ndarray) -> torch.Tensor:
    """The inverse of as_array: (C, H, W) array -> (1, C, H, W) float32 tensor."""
    return torch.as_tensor(np.asarray(array, dtype=np.float32))[None]


def as_rows(images: torch.Tensor, n_cols: int) -> list[list[torch.Tensor]]:
    """Images (N, C, H, W) -> rows of n_cols (H, W) images, the layout plots.grid_png draws."""
    return [[img[0] for img in images[i:i + n_cols]] for i in range(0, len(images), n_cols)]


@dataclass(frozen=True)
class LatentMap:
    """Encoded data and sampled points in a small latent space, for the "holes" plot."""

    codes: np.ndarray  # (N, k) encoded test images
    labels: np.ndarray  # (N,) their classes
    samples: np.ndarray  # (M, k) codes drawn by the sampler
    in_hole: np.ndarray  # (M,) bool: the sample is farther from every code than data points are from each other
    uncovered: np.ndarray  # (N,) bool: the code is farther than that from every sample (the sampler misses it)
    threshold: float  # the distance that counts as far: the 95th percentile of code-to-nearest-code distances

    @property
    def hole_fraction(self) -> float:
        """Share of samples that land where there is no data: they decode to something the model never saw."""
        return float(self.in_hole.mean()) if len(self.in_hole) else 0.0

    @property
    def coverage(self) -> float:
        """Share of the data that has a sample near it: low when the sampler only reaches part of the codes."""
        return 1.0 - float(self.uncovered.mean()) if len(self.uncovered) else 0.0


def holes(codes: np.ndarray, samples: np.ndarray, quantile: float = 0.95) -> tuple[np.ndarray, np.ndarray, float]:
    """Samples (M, k) in holes, codes (N, k) no sample reaches, and the distance that decides both.

    "Far" means farther than `quantile` of the codes are from their nearest other code, so the yardstick scales
    with each model's own latent space (an AE's codes may spread over tens of units, a VAE's over a few).
    """
    codes, samples = np.asarray(codes, dtype=np.float64), np.asarray(samples, dtype=np.float64)
    index = NearestNeighbors(n_neighbors=2).fit(codes)
    neighbour_gap = index.kneighbors(codes)[0][:, 1]  # column 0 is each point itself
    threshold = float(np.quantile(neighbour_gap, quantile))
    in_hole = index.kneighbors(samples, n_neighbors=1)[0][:, 0] > threshold  # (M,)
    uncovered = NearestNeighbors(n_neighbors=1).fit(samples).kneighbors(codes)[0][:, 0] > threshold  # (N,)
    return in_hole, uncovered, threshold


def latent_map(dataset: str, model_name: str, kind: str = "standard", n_samples: int = 1000, seed: int = 0,
               temperature: float = 1.0, n_components: int = 10) -> LatentMap:
    """Test codes of a (2D or 3D) model with samples from one sampler on top, and where the two miss each other."""
    codes = zoo.codes(model_name, dataset).astype(np.float64)  # (N, k)
    samples = fitted_sampler(dataset, model_name, kind, n_components).sample(
        n_samples, seed=seed, temperature=temperature).double().numpy()  # (M, k)
    in_hole, uncovered, threshold = holes(codes, samples)
    return LatentMap(codes=codes, labels=data.load(dataset).y_test.numpy(), samples=samples, in_hole=in_hole,
                     uncovered=uncovered, threshold=threshold)


@dataclass(frozen=True)
class ManifoldGrid:
    """Decoded images on a regular grid over a 2D latent space, top row first (highest z2)."""

    images: torch.Tensor  # (rows * cols, C, H, W), row-major, top row = largest z2
    z1: np.ndarray  # (cols,) first-coordinate value of each column, left to right
    z2: np.ndarray  # (rows,) second-coordinate value of each row, top to bottom
    spacing: str  # "normal" (inverse normal CDF, for a N(0, I) prior) or "range" (the data's own spread)

    def rows(self) -> list[list[torch.Tensor]]:
        """The images as rows of (H, W) tensors, for plots.grid_png."""
        cols = len(self.z1)
        return [[img[0] for img in self.images[r * cols:(r + 1) * cols]] for r in range(len(self.z2))]


def grid_axis(n: int, spacing: str, values: np.ndarray | None = None, coverage: float = 0.9) -> np.ndarray:
    """N grid positions along one latent axis covering the central `coverage` of the mass.

    "normal": equal steps of probability under N(0, 1), via the inverse CDF, so each cell holds the same prior
    mass. "range": equal steps between the data's own quantiles, since a plain AE's codes follow no known law.
    """
    low, high = (1 - coverage) / 2, (1 + coverage) / 2
    if spacing == "normal":
        return np.array([NormalDist().inv_cdf(p) for p in np.linspace(low, high, n)])
    if spacing == "range":
        if values is None:
            raise ValueError("Range spacing needs the data's codes along that axis.")
        return np.linspace(*np.quantile(values, [low, high]), n)
    raise ValueError(f"Unknown spacing {spacing!r}; expected 'normal' or 'range'.")


def manifold_grid(model: torch.nn.Module, codes: np.ndarray | None = None, n: int = 15,
                  spacing: str | None = None) -> ManifoldGrid:
    """Decode an n-by-n grid over a 2D latent space.

    A model trained towards a N(0, I) prior (the VAE) defaults to normal spacing, the others to their codes' range.
    """
    if model.latent_dim != 2:
        raise ValueError(f"A manifold grid needs a 2D latent space; this model has {model.latent_dim}.")
    spacing = spacing or ("normal" if model.has_prior else "range")
    values = None if codes is None else _as_codes(codes)
    z1 = grid_axis(n, spacing, None if values is None else values[:, 0])
    z2 = grid_axis(n, spacing, None if values is None else values[:, 1])[::-1].copy()
    mesh = np.stack(np.meshgrid(z1, z2), axis=-1).reshape(-1, 2)  # (n * n, 2), row-major from the top
    return ManifoldGrid(images=decode(model, torch.from_numpy(mesh)), z1=z1, z2=z2, spacing=spacing)
