"""Latent diffusion by flow matching: walk noise down to an autoencoder's codes, step by step, and check the result."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

from dashboard.core import checkpoints, generator_nets, memo, zoo

BASES = ("ae-16", "ae-2")  # the shipped autoencoders whose codes a flow model learns (16 numbers, and the 2-D map)
STEP_CHOICES = (2, 5, 10, 20, 50)  # numbers of sampling steps a page offers
DEFAULT_STEPS = 20  # Euler steps behind the sampler row and the page's first view
GUIDANCE_CHOICES = (0.0, 1.0, 2.0, 3.0)  # classifier-free guidance scales a page offers
DEFAULT_GUIDANCE = 1.0  # follow the asked-for label as trained: balanced classes, no extra push


def flow_name(base: str) -> str:
    """The file stem of the flow model over a base autoencoder's codes: "ae-16" -> "flow-ae-16"."""
    return f"flow-{base}"


def available(dataset: str, base: str) -> bool:
    """Whether a flow model over this base model's codes ships for the dataset."""
    return checkpoints.files_for(zoo.folder_for(dataset), flow_name(base))[0].exists()


@memo.shared(maxsize=8)
def shipped(dataset: str, base: str) -> generator_nets.LatentFlow:
    """The shipped flow model over a base model's codes, frozen and shared by every session."""
    if not available(dataset, base):
        raise zoo.ModelNotFound(f"No latent flow model over {base!r} ships for {dataset!r}: rebuild it with "
                                f"python -m dashboard.core.build --dataset {dataset} --only {flow_name(base)}")
    model, _ = checkpoints.load(zoo.folder_for(dataset), flow_name(base), family=generator_nets.LatentFlow.family)
    model.requires_grad_(False)
    return model


def card(dataset: str, base: str) -> dict:
    """The JSON card of the shipped flow model over a base model's codes (training time, metrics, config)."""
    return checkpoints.read_card(checkpoints.files_for(zoo.folder_for(dataset), flow_name(base))[0])


@dataclass(frozen=True)
class Trajectory:
    """Codes on their way from noise (step 0) to the data (the last step), in the base model's units."""

    codes: np.ndarray  # (steps + 1, n, k): row 0 is the noise, the last row the generated codes
    times: np.ndarray  # (steps + 1,) noise level t of each row, from 1 (all noise) down to 0
    labels: np.ndarray  # (n,) the class each sample was asked for (-1: none)

    @property
    def final(self) -> np.ndarray:
        return self.codes[-1]  # (n, k)


def balanced_labels(n: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """n labels with every class as often as n allows, in random order: a sampler row should not skew the classes."""
    return rng.permutation(np.arange(n) % n_classes)


def reverse_process(model: generator_nets.LatentFlow, noise: np.ndarray, labels: np.ndarray | None, steps: int,
                    guidance: float) -> Trajectory:
    """Euler steps along the learned velocity from t = 1 (the standardised noise (n, k)) to t = 0.

    labels None (or guidance 0) samples without a label. Each step moves every point by (t_next - t) * v, so the
    whole cloud slides toward where the codes live.
    """
    if steps < 1:
        raise ValueError("The reverse process needs at least one step.")
    times = torch.linspace(1.0, 0.0, steps + 1)
    x = torch.as_tensor(noise, dtype=torch.float32)
    label_tensor = None if labels is None else torch.as_tensor(labels, dtype=torch.long)
    path = [x]
    with torch.inference_mode():
        for t, t_next in zip(times[:-1], times[1:]):
            v = model.guided_velocity(x, torch.full((len(x),), float(t)), label_tensor, guidance)
            x = x + (t_next - t) * v
            path.append(x)
        codes = model.unstandardise(torch.stack(path))  # (steps + 1, n, k)
    return Trajectory(codes=codes.numpy(), times=times.numpy(),
                      labels=np.full(len(noise), -1) if labels is None else np.asarray(labels))


def draw(model: generator_nets.LatentFlow, n: int, seed: int = 0, steps: int = DEFAULT_STEPS,
         guidance: float = DEFAULT_GUIDANCE, label: int | None = None, temperature: float = 1.0) -> Trajectory:
    """N samples' reverse process: balanced labels (or all one label), noise scaled by temperature."""
    rng = np.random.default_rng(seed)
    noise = temperature * rng.standard_normal((n, model.latent_dim))  # (n, k)
    if label is None:
        labels = balanced_labels(n, model.config.n_classes, rng) if guidance != 0 else None
    else:
        labels = np.full(n, int(label))
    return reverse_process(model, noise, labels, steps, guidance)


class FlowSampler:
    """The sampler setups' face of a shipped flow model: sample(n, seed, temperature) -> codes (n, k) float32.

    fit() only checks the size: the model was trained by the build, not on the codes handed over.
    """

    label = "latent diffusion"

    def __init__(self, dataset: str | None = None, base: str | None = None, steps: int = DEFAULT_STEPS,
                 guidance: float = DEFAULT_GUIDANCE):
        self.dataset = dataset  # which dataset's shipped flow model
        self.base = base  # the autoencoder whose codes it generates
        self.steps = steps  # Euler steps from noise to code
        self.guidance = guidance  # classifier-free guidance scale, over balanced labels

    def fit(self, codes: np.ndarray | torch.Tensor) -> FlowSampler:
        k = np.shape(codes)[1]
        if shipped(self.dataset, self.base).latent_dim != k:
            raise ValueError(f"The flow model over {self.base} makes {k}-number codes only.")
        self.latent_dim_ = k
        return self

    def sample(self, n: int, seed: int = 0, temperature: float = 1.0) -> torch.Tensor:
        if not hasattr(self, "latent_dim_"):
            raise RuntimeError("FlowSampler is not fitted yet: call fit(codes) first.")
        if n < 0 or temperature < 0:
            raise ValueError("n and temperature must not be negative.")
        model = shipped(self.dataset, self.base)
        return torch.from_numpy(draw(model, int(n), seed, self.steps, self.guidance,
                                     temperature=float(temperature)).final.astype(np.float32))


def fitted(dataset: str, base: str) -> FlowSampler:
    """The sampler behind the "latent diffusion" setup."""
    return FlowSampler(dataset, base).fit(np.zeros((2, zoo.parse_name(base)[1])))


def nearest_distance(reference: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distance (M,) from each point (M, k) to its nearest reference code (N, k)."""
    index = NearestNeighbors(n_neighbors=1).fit(np.asarray(reference, dtype=np.float64))
    return index.kneighbors(np.asarray(points, dtype=np.float64))[0][:, 0]


@dataclass(frozen=True)
class CopyCheck:
    """Whether generated codes sit closer to the training codes than unseen test codes do (a sign of copying)."""

    generated_median: float  # median distance from a generated code to its nearest training code
    test_median: float  # the same for the test split's codes: what a fresh, uncopied code looks like

    @property
    def copies(self) -> bool:
        return self.generated_median < self.test_median


def copy_check(dataset: str, base: str, generated: np.ndarray) -> CopyCheck:
    train = zoo.codes(base, dataset, "train")
    return CopyCheck(float(np.median(nearest_distance(train, generated))),
                     float(np.median(nearest_distance(train, zoo.codes(base, dataset, "test")))))


def class_share_gap(class_counts: tuple[int, ...] | np.ndarray) -> float:
    """Largest gap (in share points, 0..1) between a class's share of the samples and a uniform share."""
    counts = np.asarray(class_counts, dtype=np.float64)
    return float(np.abs(counts / counts.sum() - 1.0 / len(counts)).max())


DENOISER_LEVELS = (0.1, 0.3, 0.5, 0.7, 0.9)  # noise levels of the "one denoiser at every level" picture


def denoiser_views(model: generator_nets.LatentFlow, codes: np.ndarray, seed: int = 0,
                   levels: tuple[float, ...] = DENOISER_LEVELS) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    """One code (picked by seed) moved to each noise level, and the net's one-step guess of the clean code.

    The guess is z_t - t * v(z_t, t) with no label: along a straight path the velocity is noise minus code, so
    this is the denoising autoencoder's job, done at every level by one network. Returns (noisy, guess) codes,
    each (len(levels), k) in the base model's units.
    """
    rng = np.random.default_rng(seed)
    x = model.standardise(torch.tensor(np.array(codes[rng.integers(len(codes))]), dtype=torch.float32))  # (k,)
    noise = torch.as_tensor(rng.standard_normal(len(x)), dtype=torch.float32)
    t = torch.tensor(levels, dtype=torch.float32)  # (L,)
    z_t = (1 - t[:, None]) * x + t[:, None] * noise  # (L, k)
    with torch.inference_mode():
        guess = z_t - t[:, None] * model.guided_velocity(z_t, t, None, 0.0)
        return model.unstandardise(z_t).numpy(), model.unstandardise(guess).numpy(), levels
