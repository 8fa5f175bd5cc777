"""Anomaly detection with autoencoders: scenarios, on-demand detectors, scores, threshold rules and baselines."""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve
from sklearn.svm import OneClassSVM

from dashboard.core import corrupt, data, metrics, nets, train, zoo

SPLIT_SEED = 0
VAL_FRACTION = 0.2  # share of each class's training images held out as the labelled validation split
# Shipped-model scenarios have no unseen normal training images, so their validation split comes from the test set.
SHIPPED_VAL_FRACTION = 0.3
SHIPPED_MODEL = "ae-8"  # the all-digits model used where "normal" means "any digit"
OOD_DATASET = "fashion-mnist"

ProgressFn = Callable[[int, int, float], None]  # (epoch done, epochs in total, mean train loss)
StopFn = Callable[[], bool]


# ---------------------------------------------------------------------------------------------------------------
# Scenarios as data
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScenarioInfo:
    """What one scenario calls normal and anomalous, and which model it needs; the page shows these words."""

    key: str
    title: str
    normal: str  # plain words: what the detector learns as normal
    anomalous: str  # plain words: what it should flag
    model: str  # plain words: where the model comes from
    digit_role: str | None  # what the digit picker means here, or None when the scenario has no digit
    trains_model: bool  # True: an autoencoder is trained on demand on the normal images only


SCENARIOS: dict[str, ScenarioInfo] = {
    "one-class": ScenarioInfo(
        "one-class", "One-class", "one digit class", "every other digit",
        "a small autoencoder trained on demand on that digit only", "normal digit", True),
    "novelty": ScenarioInfo(
        "novelty", "Novelty", "every digit but one", "the one held-out digit, never seen in training",
        "a small autoencoder trained on demand on the nine other digits", "held-out digit", True),
    "corrupted": ScenarioInfo(
        "corrupted", "Corrupted inputs", "clean test digits", "the same kind of digits after noise, rotation, "
        "inversion or occlusion", f"the shipped {SHIPPED_MODEL}, trained on clean digits of every class", None, False),
    "ood": ScenarioInfo(
        "ood", "Out of distribution", "handwritten digits", "Fashion-MNIST clothing images",
        f"the shipped {SHIPPED_MODEL}, trained on clean digits of every class", None, False),
    "own": ScenarioInfo(
        "own", "Your own input", "handwritten digits", "whatever you draw or upload that does not look like one "
        "(letters, scribbles)", f"the shipped {SHIPPED_MODEL}, trained on clean digits of every class", None, False),
}


@dataclass(frozen=True)
class Corruption:
    """One way to damage a test image, with the range of its strength for a slider."""

    key: str
    label: str
    level_meaning: str  # what the level number means, in plain words
    low: float
    high: float
    default: float


CORRUPTIONS: dict[str, Corruption] = {
    "noise": Corruption("noise", "Gaussian noise", "standard deviation of the added noise", 0.05, 1.0, 0.3),
    "rotation": Corruption("rotation", "Rotation", "angle in degrees", 5.0, 180.0, 90.0),
    "inversion": Corruption("inversion", "Inversion", "how far toward the photographic negative (1 = fully)",
                            0.1, 1.0, 1.0),
    "occlusion": Corruption("occlusion", "Occlusion", "side of the blanked square, as a fraction of the image side",
                            0.1, 0.8, 0.4),
    "mixed": Corruption("mixed", "A mix of all four", "ignored: each image gets one of the four at its default level",
                        1.0, 1.0, 1.0),
}
_SINGLE_CORRUPTIONS = ("noise", "rotation", "inversion", "occlusion")


def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate images (N, C, H, W) about their centre, filling the corners with background (0)."""
    angle = math.radians(degrees)
    theta = torch.zeros(len(x), 2, 3, dtype=x.dtype)
    theta[:, 0, 0] = math.cos(angle)
    theta[:, 0, 1] = -math.sin(angle)
    theta[:, 1, 0] = math.sin(angle)
    theta[:, 1, 1] = math.cos(angle)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (N, H, W, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False).clamp(0.0, 1.0)


def corrupt_images(x: torch.Tensor, kind: str, level: float | None = None, seed: int = 0) -> torch.Tensor:
    """Apply one corruption to images (N, C, H, W) in [0, 1]; the same seed gives the same damage."""
    if kind not in CORRUPTIONS:
        raise ValueError(f"Unknown corruption {kind!r}; expected one of {', '.join(CORRUPTIONS)}.")
    spec = CORRUPTIONS[kind]
    level = spec.default if level is None else float(level)
    if not spec.low <= level <= spec.high:
        raise ValueError(f"{spec.label} level must be in [{spec.low}, {spec.high}], got {level}.")
    if kind == "noise":
        return corrupt.apply(x, "gaussian", level, seed=seed)
    if kind == "occlusion":
        return corrupt.apply(x, "mask", level, seed=seed)
    if kind == "rotation":
        return rotate(x, level)
    if kind == "inversion":
        return (1.0 - level) * x + level * (1.0 - x)
    # "mixed": a fixed, seeded assignment of one corruption per image, each at its default strength.
    choice = np.random.default_rng(seed).integers(0, len(_SINGLE_CORRUPTIONS), len(x))
    out = x.clone()
    for index, single in enumerate(_SINGLE_CORRUPTIONS):
        chosen = torch.from_numpy(np.flatnonzero(choice == index))
        if len(chosen):
            out[chosen] = corrupt_images(x[chosen], single, seed=seed + index + 1)
    return out


@dataclass
class Split:
    """The images of one scenario: normal training images, and labelled validation and test sets (1 = anomaly)."""

    scenario: str
    dataset: str
    digit: int | None  # one-class: the normal digit; novelty: the held-out digit; else None
    x_train: torch.Tensor  # (N_train, C, H, W) normal images the detector learns what normal is from
    x_val: torch.Tensor  # (N_val, C, H, W) labelled images for the best-F1 rule, never used to train
    y_val: np.ndarray  # (N_val,) 1 = anomaly, 0 = normal
    x_test: torch.Tensor  # (N_test, C, H, W) the images every number on the page is measured on
    y_test: np.ndarray  # (N_test,) 1 = anomaly, 0 = normal
    test_names: list[str]  # (N_test,) what each test image is, e.g. "7", "7, rotated", "Sneaker"
    description: str = ""  # one sentence: what is normal and what is anomalous here
    corruption: str | None = None
    level: float | None = None

    @property
    def anomaly_rate(self) -> float:
        return float(self.y_test.mean())


class ScenarioUnavailable(RuntimeError):
    """A scenario cannot be built here (e.g. Fashion-MNIST offline); the message says why, for the page."""


def _stratified_fraction(labels: np.ndarray, fraction: float, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held-out) indices; held-out takes `fraction` of every class, so both parts keep the class mix."""
    kept, held = data.stratified_split(labels, test_per_class=float(fraction), seed=seed)
    return kept, held


def _digit_split(ds: data.Dataset, scenario: str, digit: int) -> Split:
    """One-class and novelty: train on the normal classes' training images, validate on held-out ones."""
    if not 0 <= digit < len(ds.classes):
        raise ValueError(f"Digit must be in 0..{len(ds.classes) - 1}, got {digit}.")
    y_train = ds.y_train.numpy()
    fit_idx, val_idx = _stratified_fraction(y_train, VAL_FRACTION)
    is_anomaly = (lambda y: y != digit) if scenario == "one-class" else (lambda y: y == digit)
    normal_fit = fit_idx[~is_anomaly(y_train[fit_idx])]
    y_test = ds.y_test.numpy()
    noun = "digit" if ds.classes == data.DIGIT_CLASSES else "class"
    name = ds.classes[digit]
    description = (f"Normal: {noun} {name}. Anomalous: every other {noun}." if scenario == "one-class"
                   else f"Normal: every {noun} except {name}. Anomalous: {name}, which the model never saw.")
    return Split(scenario, ds.name, digit, ds.x_train[normal_fit], ds.x_train[val_idx],
                 is_anomaly(y_train[val_idx]).astype(np.int64), ds.x_test, is_anomaly(y_test).astype(np.int64),
                 [ds.classes[c] for c in y_test], description)


def _halves(n: int, seed: int) -> np.ndarray:
    """A seeded 0/1 mask that marks half of n items (rounded down) as anomalous."""
    mask = np.zeros(n, dtype=np.int64)
    mask[np.random.default_rng(seed).permutation(n)[: n // 2]] = 1
    return mask


def _corrupted_split(ds: data.Dataset, kind: str, level: float | None, scenario: str) -> Split:
    """Half of each held-out set is corrupted; the clean half is the normal data."""
    spec = CORRUPTIONS[kind]
    level = spec.default if level is None else level
    test_idx, val_idx = _stratified_fraction(ds.y_test.numpy(), SHIPPED_VAL_FRACTION)
    parts = []
    for offset, idx in enumerate((val_idx, test_idx)):
        x = ds.x_test[idx].clone()
        flags = _halves(len(idx), SPLIT_SEED + offset)
        chosen = torch.from_numpy(np.flatnonzero(flags))
        x[chosen] = corrupt_images(x[chosen], kind, level, seed=SPLIT_SEED + offset)
        parts.append((x, flags, ds.y_test[idx].numpy()))
    (x_val, y_val, _), (x_test, y_test, classes) = parts
    suffix = "corrupted" if kind == "mixed" else spec.label.lower()
    names = [f"{ds.classes[c]}, {suffix}" if flag else ds.classes[c] for c, flag in zip(classes, y_test)]
    what = "a mix of noise, rotation, inversion and occlusion" if kind == "mixed" else f"{spec.label.lower()} " \
        f"({spec.level_meaning} {level:g})"
    description = f"Normal: clean test digits. Anomalous: the same kind of digits with {what}."
    return Split(scenario, ds.name, None, ds.x_train, x_val, y_val, x_test, y_test, names, description,
                 corruption=kind, level=level)


def _resize(x: torch.Tensor, image_shape: tuple[int, int, int]) -> torch.Tensor:
    if tuple(x.shape[1:]) == tuple(image_shape):
        return x
    return F.interpolate(x, size=image_shape[1:], mode="area")  # (N, C, H', W')


def _ood_split(ds: data.Dataset, progress: data.ProgressFn | None) -> Split:
    if ds.name == OOD_DATASET:
        raise ScenarioUnavailable("The normal data is already Fashion-MNIST here; pick a digit dataset in the "
                                  "sidebar to test clothing against digits.")
    try:
        other = data.load(OOD_DATASET, progress=progress)
    except data.DatasetUnavailable as exc:
        raise ScenarioUnavailable(f"Fashion-MNIST is unavailable here, so this scenario cannot run. {exc}") from exc
    test_idx, val_idx = _stratified_fraction(ds.y_test.numpy(), SHIPPED_VAL_FRACTION)
    # As many clothing images as digits, drawn evenly from the clothing classes, so half of each set is anomalous.
    rng = np.random.default_rng(SPLIT_SEED)
    pool = rng.permutation(len(other.x_test))[: len(val_idx) + len(test_idx)]
    ood_val, ood_test = pool[: len(val_idx)], pool[len(val_idx):]
    ood_x = _resize(other.x_test, ds.image_shape)
    x_val = torch.cat([ds.x_test[val_idx], ood_x[ood_val]])
    x_test = torch.cat([ds.x_test[test_idx], ood_x[ood_test]])
    y_val = np.r_[np.zeros(len(val_idx)), np.ones(len(ood_val))].astype(np.int64)
    y_test = np.r_[np.zeros(len(test_idx)), np.ones(len(ood_test))].astype(np.int64)
    names = [ds.classes[c] for c in ds.y_test[test_idx].numpy()] + \
        [other.classes[c] for c in other.y_test[ood_test].numpy()]
    return Split("ood", ds.name, None, ds.x_train, x_val, y_val, x_test, y_test, names,
                 "Normal: handwritten digits. Anomalous: Fashion-MNIST clothing images.")


def download_ood(progress: data.ProgressFn | None = None) -> None:
    """Fetch Fashion-MNIST into the cache; raises ScenarioUnavailable with the reason (quickly when offline)."""
    try:
        data.download(OOD_DATASET, progress)
    except data.DatasetUnavailable as exc:
        raise ScenarioUnavailable(f"Fashion-MNIST could not be downloaded, so this scenario cannot run. {exc}") \
            from exc


def ood_available() -> bool:
    """Whether Fashion-MNIST is already on disk, so the OOD scenario runs without touching the network."""
    return data.is_downloaded(OOD_DATASET)


def make_split(dataset: str, scenario: str, digit: int | None = None, corruption: str = "noise",
               level: float | None = None, progress: data.ProgressFn | None = None) -> Split:
    """The images of a scenario; raises ScenarioUnavailable (quickly) when it needs data that cannot be fetched."""
    if scenario not in SCENARIOS:
        raise ValueError(f"Unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}.")
    ds = data.load(dataset)
    if scenario in ("one-class", "novelty"):
        if digit is None:
            raise ValueError(f"The {scenario} scenario needs a digit.")
        return _digit_split(ds, scenario, int(digit))
    if scenario == "corrupted":
        return _corrupted_split(ds, corruption, level, scenario)
    if scenario == "ood":
        return _ood_split(ds, progress)
    # "own": the user's image is scored against clean digits and a reference set of mixed corruptions.
    split = _corrupted_split(ds, "mixed", None, scenario)
    split.description = ("Normal: clean test digits. Anomalous, as a reference for the charts: the same kind of "
                         "digits with a mix of noise, rotation, inversion and occlusion.")
    return split


# ---------------------------------------------------------------------------------------------------------------
# Detectors: an autoencoder trained on normal images only
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DetectorConfig:
    """How the on-demand one-class and novelty autoencoders are built and trained (small, so CPU takes seconds)."""

    latent_dim: int = 8  # a narrow code: too wide and the network learns to rebuild anything, anomalies included
    channels: tuple[int, ...] = (16, 32)  # conv widths, lighter than the shipped models to train in seconds
    hidden: int = 64  # dense layer width between the conv stack and the code
    steps: int = 300  # optimiser steps in total; epochs follow from the training-set size
    min_epochs: int = 3  # even a large normal set gets at least this many passes
    batch_size: int = 32  # small batches: more updates for the same compute, which a tiny model needs
    lr: float = 6e-3  # peak learning rate of the one-cycle schedule
    # Random shifts made the model rebuild off-centre strokes too, and cost ~0.05 mean AUROC on mnist-5k:
    # MNIST digits are centred by mass, so a shift is itself unusual.
    shift: int = 0
    seed: int = 0  # seeds weights, batch order and augmentation

    def epochs_for(self, n_images: int) -> int:
        steps_per_epoch = max(1, math.ceil(n_images / self.batch_size))
        return max(self.min_epochs, math.ceil(self.steps / steps_per_epoch))

    def model_config(self, image_shape: tuple[int, int, int]) -> nets.ModelConfig:
        small = image_shape[1] <= 16  # 8x8 digits: two convs already shrink the side to 2
        channels = self.channels[:2] if small else self.channels
        return nets.default_config("ae", self.latent_dim, image_shape, channels=channels, hidden=self.hidden)


# Nine digits of normal data need more updates than one: on mnist-5k novelty AUROC rose from 0.89 (300 steps)
# to 0.93 (900) and 0.94 (1800) on held-out digits 2, 5 and 8; 1200 keeps on-demand training bearable on a CPU.
DETECTOR_CONFIGS: dict[str, DetectorConfig] = {
    "one-class": DetectorConfig(),
    "novelty": DetectorConfig(steps=1200),
}


# These models are so small that a second intra-op thread only adds synchronisation: on a 2-core machine shared
# with other work, one-class training took 75 s with two threads and 2-3 s with one (mnist-5k, digit 3).
TRAIN_THREADS = 1


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run a block with n intra-op threads, then restore the process-wide setting (None: leave it alone)."""
    before = torch.get_num_threads()
    if n is not None and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def train_detector(split: Split, config: DetectorConfig | None = None, progress: ProgressFn | None = None,
                   should_stop: StopFn | None = None, device: str = "cpu",
                   threads: int | None = TRAIN_THREADS) -> train.TrainResult:
    """Train an autoencoder on the split's normal training images only (deterministic for a given seed)."""
    config = config or DETECTOR_CONFIGS.get(split.scenario, DetectorConfig())
    settings = train.TrainConfig(epochs=config.epochs_for(len(split.x_train)), batch_size=config.batch_size,
                                 lr=config.lr, shift=config.shift, seed=config.seed, device=device)
    with torch_threads(threads if train.pick_device(device).type == "cpu" else None):
        return train.train(config.model_config(tuple(split.x_train.shape[1:])), split.x_train, settings,
                           progress=progress, should_stop=should_stop)


def detector_for(dataset: str, scenario: str, digit: int | None = None, config: DetectorConfig | None = None,
                 progress: ProgressFn | None = None) -> nets.Autoencoder:
    """The model a scenario scores with: a fresh one-class/novelty AE, or the shipped all-digits model.

    Keyed only by small values, so a page can cache it by (dataset, scenario, digit).
    """
    if SCENARIOS[scenario].trains_model:
        return train_detector(make_split(dataset, scenario, digit), config, progress).model
    return zoo.frozen(SHIPPED_MODEL, dataset)


# ---------------------------------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScoreKind:
    """One way to turn an image and its reconstruction into an anomaly score (higher = more anomalous)."""

    key: str
    label: str
    explanation: str  # plain words for the page


SCORE_KINDS: dict[str, ScoreKind] = {
    "mse": ScoreKind("mse", "Squared error (MSE)", "the mean squared difference between each pixel and its "
                     "reconstruction"),
    "ssim": ScoreKind("ssim", "Structural error (1 - SSIM)", "one minus the structural similarity of image and "
                      "reconstruction: it compares local brightness, contrast and stroke shape in 7x7 windows, "
                      "so a missing or extra stroke counts more than a slightly blurred edge"),
}
DEFAULT_SCORE = "ssim"
SSIM_WINDOW = 7
_SSIM_C1, _SSIM_C2 = 0.01 ** 2, 0.03 ** 2  # the usual stabilisers for a data range of 1


def _ssim_window(height: int, width: int) -> int:
    """The largest odd window up to 7 that fits the image (8x8 digits get 7, smaller images less)."""
    side = min(SSIM_WINDOW, height, width)
    return side if side % 2 else side - 1


def ssim_map(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Local structural similarity (N, C, H-w+1, W-w+1) with a uniform window; matches scikit-image's default."""
    window = _ssim_window(x.shape[-2], x.shape[-1])
    kernel = torch.full((x.shape[1], 1, window, window), 1.0 / window ** 2, dtype=x.dtype)

    def local_mean(a: torch.Tensor) -> torch.Tensor:
        return F.conv2d(a, kernel, groups=x.shape[1])

    unbiased = window ** 2 / (window ** 2 - 1)  # sample covariance, as scikit-image uses by default
    mu_x, mu_y = local_mean(x), local_mean(x_hat)
    var_x = (local_mean(x * x) - mu_x ** 2) * unbiased
    var_y = (local_mean(x_hat * x_hat) - mu_y ** 2) * unbiased
    cov = (local_mean(x * x_hat) - mu_x * mu_y) * unbiased
    return ((2 * mu_x * mu_y + _SSIM_C1) * (2 * cov + _SSIM_C2)) / (
        (mu_x ** 2 + mu_y ** 2 + _SSIM_C1) * (var_x + var_y + _SSIM_C2))


def score_pairs(x: torch.Tensor, x_hat: torch.Tensor, kind: str = DEFAULT_SCORE) -> np.ndarray:
    """Anomaly score per image (N,) from images and their reconstructions."""
    if kind == "mse":
        return metrics.mse_per_image(x, x_hat)
    if kind == "ssim":
        return (1.0 - ssim_map(x.double(), x_hat.double()).mean(dim=(1, 2, 3))).numpy()
    raise ValueError(f"Unknown score {kind!r}; expected one of {', '.join(SCORE_KINDS)}.")


def error_maps(x: torch.Tensor, x_hat: torch.Tensor, kind: str = DEFAULT_SCORE) -> torch.Tensor:
    """Per-pixel error (N, H, W) for heatmaps: squared error, or 1 - local SSIM padded back to the image size."""
    if kind == "mse":
        return (x - x_hat).pow(2).mean(dim=1)
    local = 1.0 - ssim_map(x.double(), x_hat.double()).float().mean(dim=1, keepdim=True)  # (N, 1, H-w+1, W-w+1)
    pad_h, pad_w = x.shape[-2] - local.shape[-2], x.shape[-1] - local.shape[-1]
    # Each window's value belongs to its centre pixel; the border, which no window centres on, gets its nearest.
    padded = F.pad(local, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), mode="replicate")
    return padded[:, 0]


def anomaly_scores(model: torch.nn.Module, x: torch.Tensor, kind: str = DEFAULT_SCORE) -> np.ndarray:
    """Reconstruct images (N, C, H, W) with the model and score each one (N,)."""
    return score_pairs(x, metrics.reconstruct(model, x), kind)


@dataclass(frozen=True)
class ImageScore:
    """One image's reconstruction, error map and score, e.g. for the user's own drawing."""

    x: torch.Tensor  # (1, C, H, W) the input
    x_hat: torch.Tensor  # (1, C, H, W) its reconstruction
    error_map: torch.Tensor  # (H, W) per-pixel error
    score: float


def explain(model: torch.nn.Module, x: torch.Tensor, kind: str = DEFAULT_SCORE) -> list[ImageScore]:
    """Reconstruction, error map and score for each of a few images (N, C, H, W)."""
    x_hat = metrics.reconstruct(model, x)
    maps = error_maps(x, x_hat, kind)
    scores = score_pairs(x, x_hat, kind)
    return [ImageScore(x[i:i + 1], x_hat[i:i + 1], maps[i], float(scores[i])) for i in range(len(x))]


# ---------------------------------------------------------------------------------------------------------------
# Quality from continuous scores, and what happens at one threshold
# ---------------------------------------------------------------------------------------------------------------

def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve from continuous scores: the chance that a random anomaly outscores a random normal.

    Computing it from 0/1 flags would measure one threshold, not the ranking, and usually understates it.
    """
    labels = np.asarray(labels)
    if labels.min() == labels.max():
        return float("nan")  # undefined without both kinds of image
    return float(roc_auc_score(labels, np.asarray(scores, dtype=np.float64)))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve (step-wise, no interpolation) from continuous scores."""
    labels = np.asarray(labels)
    if labels.max() == 0:
        return float("nan")
    return float(average_precision_score(labels, np.asarray(scores, dtype=np.float64)))


@dataclass(frozen=True)
class OperatingPoint:
    """Counts and rates when every image with score > threshold is flagged as an anomaly."""

    threshold: float
    tp: int  # anomalies flagged
    fp: int  # normal images flagged (false alarms)
    tn: int  # normal images passed
    fn: int  # anomalies missed

    @property
    def precision(self) -> float:
        """Of the flagged images, the share that are anomalies (1.0 when nothing is flagged: no false alarms)."""
        flagged = self.tp + self.fp
        return self.tp / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        """Of the anomalies, the share that are flagged (the true-positive rate)."""
        total = self.tp + self.fn
        return self.tp / total if total else 0.0

    @property
    def false_positive_rate(self) -> float:
        total = self.fp + self.tn
        return self.fp / total if total else 0.0

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0

    @property
    def flagged(self) -> int:
        return self.tp + self.fp

    def confusion(self) -> np.ndarray:
        """[[tn, fp], [fn, tp]]: rows are the truth (normal, anomaly), columns the decision (passed, flagged)."""
        return np.array([[self.tn, self.fp], [self.fn, self.tp]])


def operating_point(labels: np.ndarray, scores: np.ndarray, threshold: float) -> OperatingPoint:
    """Confusion counts at a threshold, directly from the flags (score > threshold); O(N), for checking."""
    labels = np.asarray(labels).astype(bool)
    flagged = np.asarray(scores) > threshold
    return OperatingPoint(float(threshold), int((flagged & labels).sum()), int((flagged & ~labels).sum()),
                          int((~flagged & ~labels).sum()), int((~flagged & labels).sum()))


@dataclass(frozen=True)
class ThresholdRule:
    """A way to pick the threshold, its knob, and the one-sentence assumption the page shows beside it."""

    key: str
    label: str
    assumption: str
    parameter: str | None = None  # what the knob means, or None when the rule has none
    default: float = 0.0
    low: float = 0.0
    high: float = 0.0
    step: float = 0.0
    needs_labels: bool = False  # True: it needs labelled anomalies, which real deployments often lack


THRESHOLD_RULES: dict[str, ThresholdRule] = {
    "percentile": ThresholdRule(
        "percentile", "Percentile of training errors",
        "Assumes the training images are all normal and that new normal images rebuild about as well as they "
        "did, so about (100 - p)% of normal images get flagged by design (a little more in practice, because the "
        "model has seen its training images).",
        "percentile p", 99.0, 80.0, 100.0, 0.5),
    "sigma": ThresholdRule(
        "sigma", "Mean + k·σ of training errors",
        "Assumes the training errors are roughly bell-shaped around their mean; reconstruction errors usually "
        "have a long right tail, so more normal images cross the line than the bell curve promises.",
        "k (standard deviations)", 3.0, 0.0, 8.0, 0.25),
    "best-f1": ThresholdRule(
        "best-f1", "Best F1 on a labelled validation split",
        "Assumes you already hold labelled anomalies, and that future anomalies look like them and turn up about "
        "as often as they do in the validation split.",
        needs_labels=True),
}


def threshold_percentile(train_scores: np.ndarray, percentile: float) -> float:
    """The p-th percentile of the training scores (linear interpolation)."""
    if not 0.0 <= percentile <= 100.0:
        raise ValueError(f"Percentile must be in [0, 100], got {percentile}.")
    return float(np.percentile(np.asarray(train_scores, dtype=np.float64), percentile))


def threshold_sigma(train_scores: np.ndarray, k: float) -> float:
    """Mean + k standard deviations (population) of the training scores."""
    scores = np.asarray(train_scores, dtype=np.float64)
    return float(scores.mean() + k * scores.std())


def threshold_best_f1(val_labels: np.ndarray, val_scores: np.ndarray) -> float:
    """The threshold with the highest F1 on labelled validation data (flag when score > threshold).

    Candidates are midpoints between neighbouring distinct scores, so the result does not sit exactly on one
    validation image and tips over with float noise; ties go to the higher threshold (fewer alarms).
    """
    labels = np.asarray(val_labels).astype(bool)
    if not labels.any():
        raise ValueError("The best-F1 rule needs at least one labelled anomaly in the validation split.")
    scores = np.asarray(val_scores, dtype=np.float64)
    distinct = np.unique(scores)
    candidates = np.r_[distinct[0] - 1.0, (distinct[:-1] + distinct[1:]) / 2]  # below everything, then midpoints
    order = np.sort(scores[labels]), np.sort(scores[~labels])
    tp = len(order[0]) - np.searchsorted(order[0], candidates, side="right")
    fp = len(order[1]) - np.searchsorted(order[1], candidates, side="right")
    fn = labels.sum() - tp
    f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    best = np.flatnonzero(f1 == f1.max())[-1]
    return float(candidates[best])


@dataclass
class Evaluation:
    """A detector's scores on one split, with everything a threshold needs precomputed so moving it is cheap."""

    kind: str  # the score, a SCORE_KINDS key
    scores: np.ndarray  # (N_test,) higher = more anomalous
    labels: np.ndarray  # (N_test,) 1 = anomaly
    train_scores: np.ndarray  # (N_train,) scores of the normal training images
    val_scores: np.ndarray  # (N_val,)
    val_labels: np.ndarray  # (N_val,)
    auroc: float = float("nan")
    average_precision: float = float("nan")
    roc: tuple[np.ndarray, np.ndarray, np.ndarray] = field(default=None, repr=False)  # (fpr, tpr, thresholds)
    pr: tuple[np.ndarray, np.ndarray, np.ndarray] = field(default=None, repr=False)  # (precision, recall, thresholds)
    _normal_sorted: np.ndarray = field(default=None, repr=False)
    _anomaly_sorted: np.ndarray = field(default=None, repr=False)

    def __post_init__(self):
        self.labels = np.asarray(self.labels).astype(np.int64)
        self._normal_sorted = np.sort(self.scores[self.labels == 0])
        self._anomaly_sorted = np.sort(self.scores[self.labels == 1])
        self.auroc = auroc(self.labels, self.scores)
        self.average_precision = average_precision(self.labels, self.scores)
        if 0 < self.labels.sum() < len(self.labels):
            self.roc = roc_curve(self.labels, self.scores)
            self.pr = precision_recall_curve(self.labels, self.scores)

    def at(self, threshold: float) -> OperatingPoint:
        """Counts at a threshold by binary search in the sorted scores: O(log N), no scores recomputed."""
        normal_passed = int(np.searchsorted(self._normal_sorted, threshold, side="right"))
        anomaly_missed = int(np.searchsorted(self._anomaly_sorted, threshold, side="right"))
        return OperatingPoint(float(threshold), len(self._anomaly_sorted) - anomaly_missed,
                              len(self._normal_sorted) - normal_passed, normal_passed, anomaly_missed)

    def threshold(self, rule: str, parameter: float | None = None) -> float:
        """The threshold a rule picks; the parameter defaults to the rule's default."""
        spec = THRESHOLD_RULES[rule]
        value = spec.default if parameter is None else parameter
        if rule == "percentile":
            return threshold_percentile(self.train_scores, value)
        if rule == "sigma":
            return threshold_sigma(self.train_scores, value)
        return threshold_best_f1(self.val_labels, self.val_scores)

    def score_range(self) -> tuple[float, float]:
        """Low and high ends for a threshold slider: every score on the page, and a little room above."""
        everything = np.concatenate([self.scores, self.train_scores, self.val_scores])
        low, high = float(everything.min()), float(everything.max())
        return low, high + 0.02 * (high - low + 1e-12)

    def rank_of(self, score: float) -> float:
        """Share of the normal test images that score lower: 0.99 means higher than 99% of them."""
        return float(np.searchsorted(self._normal_sorted, score, side="left")) / max(len(self._normal_sorted), 1)

    def extremes(self, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the n most anomalous (highest first) and n most normal (lowest first) test images."""
        order = np.argsort(self.scores, kind="stable")
        return order[::-1][:n].copy(), order[:n].copy()


def evaluate(model: torch.nn.Module, split: Split, kind: str = DEFAULT_SCORE) -> Evaluation:
    """Score a split's training, validation and test images with a model's reconstruction error."""
    return Evaluation(kind, anomaly_scores(model, split.x_test, kind), split.y_test,
                      anomaly_scores(model, split.x_train, kind), anomaly_scores(model, split.x_val, kind),
                      split.y_val)


def scores_csv(split: Split, evaluation: Evaluation, threshold: float) -> str:
    """CSV text of every test image: what it is, its truth, score and the decision at the threshold."""
    table = pd.DataFrame({
        "index": np.arange(len(evaluation.scores)),
        "image": split.test_names,
        "truth": np.where(evaluation.labels == 1, "anomaly", "normal"),
        f"score_{evaluation.kind}": evaluation.scores,
        "flagged": evaluation.scores > threshold,
    })
    buffer = io.StringIO()
    buffer.write(f"# scenario={split.scenario}, dataset={split.dataset}, digit={split.digit}, "
                 f"score={evaluation.kind}, threshold={threshold:.6g}, flag rule: score > threshold\n")
    table.to_csv(buffer, index=False)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# Classical baselines on the same splits
# ---------------------------------------------------------------------------------------------------------------

BASELINES = ("PCA reconstruction error", "IsolationForest", "One-Class SVM")


@dataclass(frozen=True)
class BaselineConfig:
    """Settings of the scikit-learn baselines; fixed here, not tuned on test labels."""

    pca_components: int = 8  # as many as the detector's code, so both squeeze the image equally hard
    forest_trees: int = 200  # IsolationForest ensemble size
    svm_nu: float = 0.1  # One-Class SVM: upper bound on the share of training images treated as outliers
    svm_gamma: str | float = "scale"  # RBF width; "scale" = 1 / (pixels * pixel variance)
    svm_max_train: int = 2000  # the SVM's cost grows with the square of its training set, so larger sets are sampled
    seed: int = 0


_FITTED_BASELINES: dict[tuple, dict] = {}
_MAX_FITTED = 16


def _training_identity(split: Split) -> tuple:
    """Splits that share their training images (every shipped-model scenario) share their fitted baselines."""
    if SCENARIOS[split.scenario].trains_model:
        return split.dataset, split.scenario, split.digit
    return split.dataset, "all training images"


def fit_baselines(split: Split, config: BaselineConfig = BaselineConfig()) -> dict:
    """PCA, IsolationForest and One-Class SVM fitted on the split's normal training pixels, cached per process."""
    key = (*_training_identity(split), config)
    if key in _FITTED_BASELINES:
        return _FITTED_BASELINES[key]
    train_flat = split.x_train.reshape(len(split.x_train), -1).numpy()  # (N_train, pixels)
    k = min(config.pca_components, *train_flat.shape)
    svm_rows = np.random.default_rng(config.seed).permutation(len(train_flat))[: config.svm_max_train]
    fitted = {
        "PCA reconstruction error": PCA(n_components=k, random_state=config.seed).fit(train_flat),
        "IsolationForest": IsolationForest(n_estimators=config.forest_trees, random_state=config.seed).fit(train_flat),
        "One-Class SVM": OneClassSVM(kernel="rbf", nu=config.svm_nu, gamma=config.svm_gamma).fit(
            train_flat[np.sort(svm_rows)]),
    }
    while len(_FITTED_BASELINES) >= _MAX_FITTED:
        _FITTED_BASELINES.pop(next(iter(_FITTED_BASELINES)))
    _FITTED_BASELINES[key] = fitted
    return fitted


def baseline_scores(split: Split, method: str, config: BaselineConfig = BaselineConfig()) -> np.ndarray:
    """Test scores (N_test,) of one classical method fitted on the split's normal training pixels."""
    if method not in BASELINES:
        raise ValueError(f"Unknown baseline {method!r}; expected one of {', '.join(BASELINES)}.")
    estimator = fit_baselines(split, config)[method]
    test_flat = split.x_test.reshape(len(split.x_test), -1).numpy()
    if method == "PCA reconstruction error":
        rebuilt = estimator.inverse_transform(estimator.transform(test_flat))
        return ((test_flat - rebuilt) ** 2).mean(axis=1)
    if method == "IsolationForest":
        return -estimator.score_samples(test_flat)  # score_samples is high for normal images; flip it
    return -estimator.decision_function(test_flat)


def baseline_aurocs(split: Split, config: BaselineConfig = BaselineConfig(),
                    methods: tuple[str, ...] = BASELINES) -> dict[str, float]:
    """AUROC of each classical method on the split's test images."""
    return {method: auroc(split.y_test, baseline_scores(split, method, config)) for method in methods}


def table_markdown(table: pd.DataFrame) -> str:
    """The comparison table as markdown, the autoencoder rows in bold."""
    lines = ["| method | AUROC | average precision |", "|---|---:|---:|"]
    for row in table.itertuples(index=False):
        bold = "**" if row.method.startswith("AE") else ""
        lines.append(f"| {bold}{row.method}{bold} | {bold}{row.AUROC:.3f}{bold} | "
                     f"{bold}{row[2]:.3f}{bold} |")
    return "\n".join(lines)


def comparison_table(split: Split, detector: dict[str, Evaluation],
                     config: BaselineConfig = BaselineConfig()) -> pd.DataFrame:
    """AUROC and average precision of the autoencoder (one row per score) and each baseline, best first."""
    rows = [{"method": f"AE, {SCORE_KINDS[kind].label}", "AUROC": e.auroc, "average precision": e.average_precision}
            for kind, e in detector.items()]
    for method in BASELINES:
        scores = baseline_scores(split, method, config)
        rows.append({"method": method, "AUROC": auroc(split.y_test, scores),
                     "average precision": average_precision(split.y_test, scores)})
    return pd.DataFrame(rows).sort_values("AUROC", ascending=False, ignore_index=True)


# ---------------------------------------------------------------------------------------------------------------
# Figures for the page, built once per scenario; the threshold is layered on as a tiny dict so moving it is cheap
# ---------------------------------------------------------------------------------------------------------------

NORMAL_COLOR = "#4C78A8"
ANOMALY_COLOR = "#E45756"
THRESHOLD_COLOR = "#111111"
GROUP_NAMES = ("normal", "anomalous")
# Dark blue (most normal) to red (most anomalous); the bright end of the error-map scale would vanish on white.
SCORE_COLORSCALE = [[0.0, "#253494"], [0.5, "#fdae61"], [1.0, "#d7191c"]]


def histogram_spec(evaluation: Evaluation, bins: int = 40, height: int = 260) -> dict:
    """Overlaid histograms of normal and anomalous test scores, as shares of each group (a Vega-Lite spec).

    Shares, not counts, because the groups differ in size (100 normal against 900 anomalous in one-class).
    """
    low, high = evaluation.score_range()
    edges = np.linspace(low, high, bins + 1)
    rows = []
    for flag, name in enumerate(GROUP_NAMES):
        group = evaluation.scores[evaluation.labels == flag]
        if not len(group):
            continue
        counts, _ = np.histogram(group, bins=edges)
        rows += [{"group": f"{name} ({len(group)})", "start": float(a), "end": float(b),
                  "share": float(c) / len(group)} for a, b, c in zip(edges[:-1], edges[1:], counts)]
    domain = sorted({r["group"] for r in rows}, key=lambda g: not g.startswith("normal"))
    colors = [NORMAL_COLOR if g.startswith("normal") else ANOMALY_COLOR for g in domain]
    return {
        "height": height,
        "layer": [{
            "data": {"values": rows},
            "mark": {"type": "bar", "opacity": 0.55, "binSpacing": 0},
            "encoding": {
                "x": {"field": "start", "type": "quantitative", "title": f"anomaly score: "
                      f"{SCORE_KINDS[evaluation.kind].label}", "scale": {"domain": [low, high]}},
                "x2": {"field": "end"},
                "y": {"field": "share", "type": "quantitative", "stack": None, "title": "share of the group",
                      "axis": {"format": "%"}},
                "y2": {"datum": 0},
                "color": {"field": "group", "type": "nominal", "title": None,
                          "scale": {"domain": domain, "range": colors}, "legend": {"orient": "top"}},
                "tooltip": [{"field": "group"}, {"field": "start", "format": ".4f", "title": "from"},
                            {"field": "end", "format": ".4f", "title": "to"},
                            {"field": "share", "format": ".1%"}],
            },
        }],
    }


def with_threshold(spec: dict, threshold: float, marks: dict[str, float] | None = None) -> dict:
    """A copy of a histogram spec with the threshold drawn on it, plus optional labelled marks (e.g. your image)."""
    rule = {"data": {"values": [{"threshold": float(threshold), "label": f"threshold {threshold:.4g}"}]},
            "mark": {"type": "rule", "color": THRESHOLD_COLOR, "strokeWidth": 2},
            "encoding": {"x": {"field": "threshold", "type": "quantitative"},
                         "tooltip": [{"field": "label", "title": "flag when score >"}]}}
    text = {**rule, "mark": {"type": "text", "align": "left", "dx": 4, "dy": -6, "baseline": "top",
                             "color": THRESHOLD_COLOR, "fontWeight": "bold"},
            "encoding": {"x": {"field": "threshold", "type": "quantitative"}, "y": {"value": 0},
                         "text": {"field": "label"}}}
    layers = [*spec["layer"], rule, text]
    if marks:
        values = [{"score": float(v), "name": k} for k, v in marks.items()]
        layers.append({"data": {"values": values}, "mark": {"type": "rule", "strokeDash": [4, 3], "strokeWidth": 2,
                                                            "color": "#54A24B"},
                       "encoding": {"x": {"field": "score", "type": "quantitative"},
                                    "tooltip": [{"field": "name"}, {"field": "score", "format": ".4f"}]}})
        layers.append({"data": {"values": values}, "mark": {"type": "text", "align": "left", "dx": 4, "dy": 14,
                                                            "baseline": "top", "color": "#2E7D32"},
                       "encoding": {"x": {"field": "score", "type": "quantitative"}, "y": {"value": 0},
                                    "text": {"field": "name"}}})
    return {**spec, "layer": layers}


def _thin(xs: np.ndarray, ys: np.ndarray, limit: int = 400) -> list[dict]:
    """Curve points as records, thinned to at most `limit` so the spec stays small; the ends are kept."""
    keep = np.unique(np.r_[np.linspace(0, len(xs) - 1, min(limit, len(xs))).round().astype(int), len(xs) - 1])
    return [{"x": float(xs[i]), "y": float(ys[i])} for i in keep]


def curve_spec(evaluation: Evaluation, which: str, height: int = 260) -> dict:
    """The ROC ("roc") or precision-recall ("pr") curve with its chance line, as a Vega-Lite spec."""
    if evaluation.roc is None:
        raise ValueError("Curves need both normal and anomalous test images.")
    if which == "roc":
        fpr, tpr, _ = evaluation.roc
        points, chance = _thin(fpr, tpr), [{"x": 0.0, "y": 0.0}, {"x": 1.0, "y": 1.0}]
        titles = ("false-alarm rate", "recall")
        name = f"ROC, AUROC {evaluation.auroc:.3f}"
    else:
        precision, recall, _ = evaluation.pr
        points = _thin(recall[::-1], precision[::-1])
        rate = float(evaluation.labels.mean())
        chance = [{"x": 0.0, "y": rate}, {"x": 1.0, "y": rate}]
        titles = ("recall", "precision")
        name = f"precision-recall, AP {evaluation.average_precision:.3f}"
    axes = {"x": {"field": "x", "type": "quantitative", "title": titles[0], "scale": {"domain": [0, 1]}},
            "y": {"field": "y", "type": "quantitative", "title": titles[1], "scale": {"domain": [0, 1]}}}
    return {
        "height": height, "title": {"text": name, "anchor": "start", "fontSize": 13},
        "layer": [
            {"data": {"values": chance}, "mark": {"type": "line", "strokeDash": [4, 4], "color": "#999999"},
             "encoding": axes},
            {"data": {"values": points},
             "mark": {"type": "line", "color": NORMAL_COLOR, "interpolate": "step-after" if which == "pr" else
                      "linear"}, "encoding": axes},
        ],
    }


def with_operating_point(spec: dict, which: str, point: OperatingPoint) -> dict:
    """A copy of a curve spec with the current threshold's operating point marked."""
    x, y = (point.false_positive_rate, point.recall) if which == "roc" else (point.recall, point.precision)
    dot = {"data": {"values": [{"x": x, "y": y, "label": f"threshold {point.threshold:.4g}"}]},
           "mark": {"type": "point", "filled": True, "size": 140, "color": THRESHOLD_COLOR},
           "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"},
                        "tooltip": [{"field": "label", "title": "at"}, {"field": "x", "format": ".3f"},
                                    {"field": "y", "format": ".3f"}]}}
    return {**spec, "layer": [*spec["layer"], dot]}


def gallery_pixels(shown: list[ImageScore], scale: int = 3, vmax: float | None = None, gap: int = 4) -> np.ndarray:
    """RGB uint8 grid: one column per image, rows input / reconstruction / error map (one error scale for all)."""
    from dashboard.viz import plots

    top = vmax or max(float(s.error_map.max()) for s in shown)
    columns = []
    for item in shown:
        gray = [np.repeat(plots.to_pixels(t[0], scale)[..., None], 3, axis=2) for t in (item.x, item.x_hat)]
        tiles = [*gray, plots.heatmap_pixels(item.error_map, top, scale)]
        spacer = np.full((gap, tiles[0].shape[1], 3), 255, np.uint8)
        columns.append(np.concatenate([tiles[0], spacer, tiles[1], spacer, tiles[2]], axis=0))
    divider = np.full((columns[0].shape[0], gap, 3), 255, np.uint8)
    pieces = [part for column in columns for part in (column, divider)][:-1]
    return np.concatenate(pieces, axis=1)


def to_png(pixels: np.ndarray) -> bytes:
    """An RGB or grey uint8 array as PNG bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def latent_points(model: torch.nn.Module, x: torch.Tensor) -> tuple[np.ndarray, str]:
    """Codes of images (N, C, H, W) as (N, 3) points for a 3D view, and how they were projected."""
    from dashboard.viz import plots

    return plots.project_3d(metrics.encode(model, x).numpy())


def latent_figure(points: np.ndarray, evaluation: Evaluation, names: list[str], height: int = 480):
    """3D scatter of test codes coloured by anomaly score (rank), anomalies drawn as diamonds."""
    import plotly.graph_objects as go

    from dashboard.viz import plots

    ranks = np.argsort(np.argsort(evaluation.scores)) / max(len(evaluation.scores) - 1, 1)  # colour by rank
    names = np.asarray(names)
    fig = go.Figure()
    for flag, group in enumerate(GROUP_NAMES):
        chosen = evaluation.labels == flag
        if not chosen.any():
            continue
        # A grey stand-in carries the legend: the real markers' colours encode the score, not the group.
        fig.add_trace(go.Scatter3d(x=[None], y=[None], z=[None], mode="markers", name=f"{group} (truth)",
                                   marker={"size": 6, "symbol": "circle" if flag == 0 else "diamond",
                                           "color": "#888888"}, hoverinfo="skip"))
        fig.add_trace(go.Scatter3d(
            x=points[chosen, 0], y=points[chosen, 1], z=points[chosen, 2], mode="markers",
            name=f"{group} (truth)", showlegend=False,
            marker={"size": 3 if flag == 0 else 4, "symbol": "circle" if flag == 0 else "diamond",
                    "color": ranks[chosen], "colorscale": SCORE_COLORSCALE, "cmin": 0.0, "cmax": 1.0,
                    "opacity": 0.85, "showscale": flag == 0,
                    "colorbar": {"title": {"text": "score rank"}, "tickvals": [0, 1],
                                 "ticktext": ["most normal", "most anomalous"], "len": 0.6}},
            text=names[chosen], customdata=evaluation.scores[chosen],
            hovertemplate="%{text}<br>score %{customdata:.4f}<extra></extra>"))
    fig = plots.style_3d(fig, height=height)
    fig.update_layout(legend={"title": {"text": "shape"}, "x": 0.0, "y": 1.0})
    return fig
