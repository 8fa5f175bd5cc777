"""Feature sets (raw pixels, PCA-k or a shipped model's codes) and their train and test arrays, computed once."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.frozen import FrozenEstimator

from dashboard.core import baselines, data, memo, zoo
from dashboard.features.transformer import AutoencoderFeatures

RAW = "raw"


def parse_feature_set(name: str) -> tuple[str, int | None]:
    """"raw" -> ("raw", None), "pca-16" -> ("pca", 16), "vae-8" -> ("vae", 8); anything else raises ValueError."""
    if name == RAW:
        return RAW, None
    if name.startswith("pca-") and name[4:].isdigit() and int(name[4:]) > 0:
        return "pca", int(name[4:])
    try:
        return zoo.parse_name(name)
    except ValueError:
        raise ValueError(f"Unknown feature set {name!r}: use 'raw', 'pca-<k>' or a model name such as 'ae-16'.") \
            from None


def feature_set_label(name: str) -> str:
    """A display name: "raw" -> "Raw pixels", "vae-16" -> "VAE-16"."""
    kind, k = parse_feature_set(name)
    return "Raw pixels" if kind == RAW else f"{kind.upper()}-{k}"


def feature_sets(dataset: str = data.DEFAULT_DATASET) -> list[str]:
    """Raw pixels, PCA at every shipped latent size, then every shipped model."""
    models = zoo.names(dataset)
    sizes = sorted({zoo.parse_name(m)[1] for m in models})
    return [RAW, *(f"pca-{k}" for k in sizes), *models]


def uses_pixel_units(feature_set: str) -> bool:
    """Raw pixels and PCA coordinates (a rotation of pixel space) share one scale; latent codes do not."""
    return parse_feature_set(feature_set)[0] in (RAW, "pca")


def feature_step(feature_set: str, dataset: str = data.DEFAULT_DATASET):
    """The pipeline step that turns pixels into this feature set, or None for raw pixels.

    PCA is fitted on the whole train split without labels, like the autoencoders, and frozen, so a pipeline
    fitted on the labelled few does not refit it on them.
    """
    kind, k = parse_feature_set(feature_set)
    if kind == RAW:
        return None
    if kind == "pca":
        return FrozenEstimator(baselines.pca_for(dataset, k))
    return AutoencoderFeatures(feature_set, dataset)


def feature_width(feature_set: str, dataset: str = data.DEFAULT_DATASET) -> int:
    """Numbers per image in a feature set, without computing it: every pixel, or k (PCA keeps k components)."""
    kind, k = parse_feature_set(feature_set)
    return int(np.prod(data.load(dataset).x_train.shape[1:])) if kind == RAW else int(k)


@dataclass(frozen=True, eq=False)
class FeatureArrays:
    """One feature set of one dataset, computed once: train and test rows, read-only."""

    feature_set: str
    dataset: str
    train: np.ndarray  # (N_train, d)
    test: np.ndarray  # (N_test, d)
    seconds: float  # time it took to compute both


def pixels(images: torch.Tensor) -> np.ndarray:
    """Images (N, C, H, W) -> float32 rows (N, C*H*W), the input every pixel pipeline takes."""
    return images.reshape(len(images), -1).numpy()


@memo.shared(maxsize=32)
def features(dataset: str, feature_set: str) -> FeatureArrays:
    """Train and test features for a feature set, cached per process so classifiers refit from arrays."""
    ds = data.load(dataset)
    start = time.perf_counter()
    train, test = pixels(ds.x_train), pixels(ds.x_test)
    step = feature_step(feature_set, dataset)
    if step is not None:
        step.fit(train, None)
        train, test = step.transform(train), step.transform(test)
    train = np.array(train, dtype=np.float32)  # a private copy: the cache must not alias the dataset tensors
    test = np.array(test, dtype=np.float32)
    train.setflags(write=False)
    test.setflags(write=False)
    return FeatureArrays(feature_set, dataset, train, test, time.perf_counter() - start)
