"""The conditional VAE at work: new samples of the digit asked for, and how the reference classifier sees them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dashboard.core import cvae, data, memo, metrics
from dashboard.sampling import quality

N_PER_CLASS = 1000  # samples asked for each digit when the cVAE is scored


def samples(model: cvae.ConditionalVAE, digit: int, n: int, seed: int = 0) -> torch.Tensor:
    """n images of one digit from z ~ N(0, I): (n, C, H, W)."""
    if not 0 <= int(digit) < model.config.n_classes:
        raise ValueError(f"Digit {digit} is not one of 0..{model.config.n_classes - 1}.")
    z = torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(seed))  # (n, k)
    labels = torch.full((n,), int(digit), dtype=torch.long)
    with torch.inference_mode():
        return torch.cat([model.decode(z[i:i + metrics.INFERENCE_BATCH], labels[i:i + metrics.INFERENCE_BATCH])
                          for i in range(0, n, metrics.INFERENCE_BATCH)])


@dataclass(frozen=True)
class ClassScore:
    """How the samples asked for one digit look to the reference classifier."""

    digit: int
    accuracy: float  # share classified as the digit asked for
    frechet: float  # FID-like distance to the test images of that digit (lower is closer)
    real_frechet: float  # the same distance for that digit's real train images: what a perfect sampler would get


@memo.shared(maxsize=64)
def real_features(dataset: str, split: str, digit: int) -> np.ndarray:
    """The reference classifier's features (N, F) of one digit's real images in a split; computed once."""
    ds = data.load(dataset)
    x, y = (ds.x_test, ds.y_test) if split == "test" else (ds.x_train, ds.y_train)
    net, _ = quality.reference_classifier(dataset)
    features, _ = quality.embed(net, x[y == digit])
    features.setflags(write=False)
    return features


def class_frechet(features: np.ndarray, dataset: str, digit: int) -> float:
    """FID-like distance between sample features (N, F) and the classifier features of one digit's test images."""
    return quality.frechet_distance(features, real_features(dataset, "test", digit))


def score_class(model: cvae.ConditionalVAE, dataset: str, digit: int, n: int = N_PER_CLASS,
                seed: int = 0) -> ClassScore:
    """Ask for n images of one digit and score them against that digit's test images."""
    net, _ = quality.reference_classifier(dataset)
    features, probs = quality.embed(net, samples(model, digit, n, seed))
    return ClassScore(digit=int(digit), accuracy=float((probs.argmax(axis=1) == digit).mean()),
                      frechet=class_frechet(features, dataset, digit),
                      real_frechet=class_frechet(real_features(dataset, "train", digit), dataset, digit))
