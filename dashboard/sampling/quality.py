"""Sample quality: a small reference CNN classifier per dataset and the FID-like Fréchet distance on its features."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes
from torch import nn

from dashboard.core import data, train, zoo

# The stem matches no zoo model name, so zoo.names() never lists the classifier as an autoencoder.
FILE_STEM = "reference-classifier"
CARD_VERSION = 1
INFERENCE_BATCH = 1000


@dataclass(frozen=True)
class ClassifierConfig:
    """The reference classifier's architecture and training recipe; stored in its JSON card."""

    image_shape: tuple[int, int, int] = (1, 28, 28)  # (channels, height, width) of the input
    n_classes: int = 10  # number of output classes
    channels: tuple[int, ...] = (16, 32)  # conv widths; each block halves the side with a max-pool
    features: int = 64  # width of the penultimate layer, the space the Fréchet distance is measured in
    epochs: int = 8  # passes over the training split
    batch_size: int = 128  # images per optimiser step
    lr: float = 3e-3  # peak learning rate of the one-cycle schedule
    shift: int = 2  # largest random translation in pixels while training; 0 turns it off
    seed: int = 0  # seeds weights, batch order and augmentation, so a retrain gives the same network

    def __post_init__(self):
        object.__setattr__(self, "image_shape", tuple(self.image_shape))
        object.__setattr__(self, "channels", tuple(self.channels))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ClassifierConfig:
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


def default_classifier_config(ds: data.Dataset) -> ClassifierConfig:
    """Tiny 8x8 digits get wider convs (they cost little at that size), more epochs (few images) and no shift
    (one pixel is an eighth of the image)."""
    small = ds.image_shape[1] <= 16
    sizes = {"channels": (32, 64), "epochs": 30, "shift": 0} if small else {}
    return ClassifierConfig(image_shape=ds.image_shape, n_classes=len(ds.classes), **sizes)


class ReferenceClassifier(nn.Module):
    """Conv blocks -> dense feature layer -> class logits; the feature layer stands in for Inception's pool."""

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = config
        in_ch, height, width = config.image_shape
        layers: list[nn.Module] = []
        for c_in, c_out in zip((in_ch, *config.channels[:-1]), config.channels):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)]
            height, width = math.ceil(height / 2), math.ceil(width / 2)
        self.conv = nn.Sequential(*layers)
        self.to_features = nn.Sequential(nn.Flatten(), nn.Linear(config.channels[-1] * height * width,
                                                                 config.features), nn.ReLU())
        self.head = nn.Linear(config.features, config.n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) in [0, 1] -> penultimate activations (N, features)."""
        return self.to_features(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (N, n_classes) logits


def _sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def train_classifier(ds: data.Dataset, config: ClassifierConfig | None = None) -> tuple[ReferenceClassifier, dict]:
    """Train the reference classifier on a dataset's train split (CPU, seconds) and return it with its card."""
    config = config or default_classifier_config(ds)
    torch.manual_seed(config.seed)
    net = ReferenceClassifier(config)
    generator = torch.Generator().manual_seed(config.seed)
    n = len(ds.x_train)
    steps = math.ceil(n / config.batch_size)
    optimiser = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr, total_steps=config.epochs * steps,
                                                   pct_start=0.2)
    start = time.perf_counter()
    net.train()
    for _ in range(config.epochs):
        order = torch.randperm(n, generator=generator)
        for step in range(steps):
            index = order[step * config.batch_size:(step + 1) * config.batch_size]
            x = ds.x_train[index]
            if config.shift:
                x = train.random_shift(x, config.shift, generator)
            loss = F.cross_entropy(net(x), ds.y_train[index])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
    seconds = time.perf_counter() - start
    net.eval()
    _, probs = embed(net, ds.x_test)
    accuracy = float((probs.argmax(1) == ds.y_test.numpy()).mean())
    card = {"card_version": CARD_VERSION, "name": FILE_STEM, "dataset": ds.name, "split_seed": data.SPLIT_SEED,
            "config": config.to_dict(), "test_accuracy": accuracy, "train_seconds": round(seconds, 2),
            "device": train.device_label("cpu"), "torch_version": torch.__version__,
            "parameters": sum(p.numel() for p in net.parameters())}
    return net, card


def save_classifier(net: ReferenceClassifier, card: dict, folder: Path | str) -> dict:
    """Write safetensors weights and the JSON card (with the weights' sha256) into folder."""
    payload = save_safetensors_bytes({k: v.detach().contiguous() for k, v in net.state_dict().items()})
    card = {**card, "sha256": _sha256(payload)}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{FILE_STEM}.safetensors").write_bytes(payload)
    (folder / f"{FILE_STEM}.json").write_text(json.dumps(card, indent=1))
    return card


def load_classifier(folder: Path | str) -> tuple[ReferenceClassifier, dict]:
    """Load a stored classifier without unpickling: check the card, the sha256, then tensor names and shapes."""
    folder = Path(folder)
    card_path, weights_path = folder / f"{FILE_STEM}.json", folder / f"{FILE_STEM}.safetensors"
    if not card_path.exists() or not weights_path.exists():
        raise FileNotFoundError(f"No reference classifier in {folder}.")
    try:
        card = json.loads(card_path.read_text())
        config = ClassifierConfig.from_dict(card["config"])
        expected_hash = card["sha256"]
        payload = weights_path.read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise zoo.CheckpointError(f"Reference classifier in {folder} is unreadable: {exc}") from exc
    if _sha256(payload) != expected_hash:
        raise zoo.CheckpointError(f"{weights_path} does not match its card (sha256 differs): corrupt or replaced.")
    try:
        state = load_safetensors_bytes(payload)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise zoo.CheckpointError(f"{weights_path} is not a valid safetensors file: {exc}") from exc
    net = ReferenceClassifier(config)
    expected = net.state_dict()
    if set(state) != set(expected) or any(state[k].shape != v.shape for k, v in expected.items()):
        raise zoo.CheckpointError(f"{weights_path} holds tensors that do not fit the config in its card.")
    net.load_state_dict(state, strict=True)
    return net.eval(), card


@functools.lru_cache(maxsize=8)
def reference_classifier(dataset: str = data.DEFAULT_DATASET) -> tuple[ReferenceClassifier, dict]:
    """The shipped classifier for a dataset, or one trained now (and saved) when none ships; cached per process.

    Shipping it keeps every machine's FID-like numbers identical; training on demand covers downloaded datasets.
    """
    folder = zoo.folder_for(dataset)
    try:
        return load_classifier(folder)
    except FileNotFoundError:
        pass
    fallback = zoo.writable_folder(dataset)
    if fallback != folder:
        try:
            return load_classifier(fallback)
        except (FileNotFoundError, zoo.CheckpointError):
            pass
    net, card = train_classifier(data.load(dataset))
    card = save_classifier(net, card, fallback)
    return net, card


def embed(net: ReferenceClassifier, images: torch.Tensor, batch_size: int = INFERENCE_BATCH
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


@functools.lru_cache(maxsize=8)
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


def class_spread_chart(reports: dict[str, QualityReport], classes: list[str],
                       colors: dict[str, str] | None = None) -> alt.Chart:
    """Share of samples per predicted class, one small bar chart per sampler, on a shared axis."""
    rows = [{"sampler": label, "class": classes[i], "share": count / max(report.n, 1), "even": 1 / len(classes)}
            for label, report in reports.items() for i, count in enumerate(report.class_counts)]
    domain = list(reports)
    color = alt.Color("sampler:N", scale=alt.Scale(domain=domain, range=[(colors or {}).get(d, "#888888")
                                                                        for d in domain]), legend=None)
    base = alt.Chart()
    bars = base.mark_bar().encode(
        x=alt.X("class:N", sort=classes, title="predicted class", axis=alt.Axis(labelAngle=0, labelOverlap=False)),
        y=alt.Y("share:Q", title="share of samples", axis=alt.Axis(format="%")),
        color=color, tooltip=["sampler", "class", alt.Tooltip("share:Q", format=".1%")])
    even = base.mark_rule(strokeDash=[4, 3], color="#555555").encode(y="mean(even):Q")  # every class equally often
    return alt.layer(bars, even, data=pd.DataFrame(rows)).properties(height=120, width=150).facet(
        facet=alt.Facet("sampler:N", sort=domain, title=None), columns=len(domain))


def main(argv: list[str] | None = None) -> None:
    """Train and ship reference classifiers: python -m dashboard.quality [dataset ...] (default: offline sets)."""
    import sys

    for name in (sys.argv[1:] if argv is None else argv) or data.OFFLINE_DATASETS:
        net, card = train_classifier(data.load(name))
        card = save_classifier(net, card, zoo.folder_for(name))
        print(f"{name}: test accuracy {card['test_accuracy']:.4f}, {card['train_seconds']} s, "
              f"{card['parameters']} parameters")


if __name__ == "__main__":
    main()
