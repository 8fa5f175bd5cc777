"""Sample quality: the FID-like Fréchet distance on a shipped reference classifier's features, and its verdicts."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from dashboard.core import checkpoints, data, memo, nets, recipes, zoo

FILE_STEM = recipes.CLASSIFIER  # models/<dataset>/reference-classifier.{json,safetensors}
INFERENCE_BATCH = 1000


@memo.shared(maxsize=8)
def reference_classifier(dataset: str = data.DEFAULT_DATASET) -> tuple[nets.ReferenceClassifier, dict]:
    """The shipped classifier for a dataset (frozen, shared), or one made now from its recipe and saved.

    Shipping it keeps every machine's FID-like numbers identical; making it on demand covers downloaded datasets.
    A broken shipped file is refused loudly; a broken copy in the temp folder is simply made again.
    """
    try:
        net, card = checkpoints.load(zoo.folder_for(dataset), FILE_STEM, family=nets.ReferenceClassifier.family)
    except FileNotFoundError:
        fallback = zoo.writable_folder(dataset)
        try:
            net, card = checkpoints.load(fallback, FILE_STEM, family=nets.ReferenceClassifier.family)
        except (FileNotFoundError, checkpoints.CheckpointError):
            result, card, payload = recipes.make(recipes.recipe(FILE_STEM, dataset))
            net, card = result.model, checkpoints.save(payload, card, fallback, FILE_STEM)
    net.requires_grad_(False)
    return net, card


def embed(net: nets.ReferenceClassifier, images: torch.Tensor, batch_size: int = INFERENCE_BATCH
          ) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, C, H, W) -> (features (N, F), class probabilities (N, classes)) as float64 arrays."""
    feats, probs = [], []
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            f = net.features(images[i:i + batch_size].float())
            feats.append(f)
            probs.append(torch.softmax(net.head(f), dim=1))
    return torch.cat(feats).double().numpy(), torch.cat(probs).double().numpy()


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and covariance (F, F) of a set of feature vectors (N, F)."""
    features = np.asarray(features, dtype=np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_from_stats(mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray) -> float:
    """Fréchet (2-Wasserstein) distance squared between two Gaussians.

    |mu_a - mu_b|^2 + tr(A + B - 2 (A^1/2 B A^1/2)^1/2); the symmetric form needs only eigh, so it stays real and
    stable where scipy's sqrtm on A B can return complex noise.
    """
    root_a = _psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    value = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * cross)
    return max(value, 0.0)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, F) and (M, F)."""
    return frechet_from_stats(*gaussian_stats(features_a), *gaussian_stats(features_b))


@memo.shared(maxsize=8)
def reference_stats(dataset: str = data.DEFAULT_DATASET) -> tuple[np.ndarray, np.ndarray]:
    """Feature mean and covariance of the dataset's test split under its reference classifier (cached)."""
    net, _ = reference_classifier(dataset)
    features, _ = embed(net, data.load(dataset).x_test)
    return gaussian_stats(features)


@dataclass(frozen=True)
class QualityReport:
    """How a batch of generated images looks to the reference classifier."""

    n: int  # number of images scored
    frechet: float  # FID-like distance to the test split (lower is closer); only comparable within this app
    mean_confidence: float  # mean top-class probability; blurry or alien images score low
    class_counts: tuple[int, ...]  # how many images fell in each predicted class
    class_entropy: float  # entropy of the predicted-class histogram over log(classes): 1 = every class equally

    @property
    def missing_classes(self) -> int:
        return sum(1 for c in self.class_counts if c == 0)


def class_entropy(counts: np.ndarray) -> float:
    """Normalised entropy of a histogram: 0 when one class takes everything, 1 when all are equal."""
    counts = np.asarray(counts, dtype=np.float64)
    share = counts[counts > 0] / counts.sum()
    return float(-(share * np.log(share)).sum() / math.log(len(counts))) if len(counts) > 1 else 0.0


def assess(images: torch.Tensor, dataset: str = data.DEFAULT_DATASET) -> QualityReport:
    """Score generated images (N, C, H, W) in [0, 1] against the dataset's test split."""
    net, _ = reference_classifier(dataset)
    features, probs = embed(net, images)
    counts = np.bincount(probs.argmax(axis=1), minlength=probs.shape[1])
    distance = frechet_from_stats(*gaussian_stats(features), *reference_stats(dataset))
    return QualityReport(n=len(images), frechet=distance,
                         mean_confidence=float(probs.max(axis=1).mean()), class_counts=tuple(int(c) for c in counts),
                         class_entropy=class_entropy(counts))


def verdicts(images: torch.Tensor, dataset: str = data.DEFAULT_DATASET) -> tuple[np.ndarray, np.ndarray]:
    """The reference classifier's (predicted class (N,), confidence (N,)) for each image, e.g. along a path."""
    net, _ = reference_classifier(dataset)
    _, probs = embed(net, images)
    return probs.argmax(axis=1), probs.max(axis=1)
