"""The anomaly scenarios as data, and the labelled images of each: normal training, validation and test splits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dashboard.anomaly.corruptions import CORRUPTIONS, corrupt_images
from dashboard.anomaly.probes import kind_of, load
from dashboard.core import data

SPLIT_SEED = 0
VAL_FRACTION = 0.2  # share of each class's training images held out as the labelled validation split
# Shipped-model scenarios have no unseen normal training images, so their validation split comes from the test set.
SHIPPED_VAL_FRACTION = 0.3
# The all-digits model used where "normal" means "any digit": the shipped model whose default score best separates
# test digits from the not-digits probe set (python -m bench --only "anomaly: shipped detector" measures every
# shipped model and score and says whether this is still the best).
SHIPPED_MODEL = "dae-64"
OOD_DATASET = "fashion-mnist"


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
    "not-digits": ScenarioInfo(
        "not-digits", "Not digits", "handwritten digits", "letters and symbols in twelve fonts, and pen scribbles",
        f"the shipped {SHIPPED_MODEL}, trained on clean digits of every class", None, False),
    "ood": ScenarioInfo(
        "ood", "Out of distribution", "handwritten digits", "Fashion-MNIST clothing images",
        f"the shipped {SHIPPED_MODEL}, trained on clean digits of every class", None, False),
    "own": ScenarioInfo(
        "own", "Your own input", "handwritten digits", "whatever you draw or upload that does not look like one "
        "(letters, scribbles)", f"the shipped {SHIPPED_MODEL}, trained on clean digits of every class", None, False),
}


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


def _not_digits_split(ds: data.Dataset, scenario: str) -> Split:
    """Held-out digits against the shipped probe set; both split into validation and test the same way."""
    try:
        x_probe, what = load(ds.image_shape)
    except (OSError, ValueError, KeyError) as exc:
        raise ScenarioUnavailable(f"The probe set is missing or damaged here ({exc}); rebuild it with "
                                  "python -m dashboard.anomaly.probes.") from exc
    test_idx, val_idx = _stratified_fraction(ds.y_test.numpy(), SHIPPED_VAL_FRACTION)
    kinds = kind_of(what)
    probe_test, probe_val = _stratified_fraction(np.unique(kinds, return_inverse=True)[1], SHIPPED_VAL_FRACTION)
    x_val = torch.cat([ds.x_test[val_idx], x_probe[probe_val]])
    x_test = torch.cat([ds.x_test[test_idx], x_probe[probe_test]])
    y_val = np.r_[np.zeros(len(val_idx)), np.ones(len(probe_val))].astype(np.int64)
    y_test = np.r_[np.zeros(len(test_idx)), np.ones(len(probe_test))].astype(np.int64)
    names = [ds.classes[c] for c in ds.y_test[test_idx].numpy()] + list(what[probe_test])
    return Split(scenario, ds.name, None, ds.x_train, x_val, y_val, x_test, y_test, names,
                 "Normal: handwritten test digits. Anomalous: letters and symbols typeset in twelve fonts, and "
                 "pen scribbles.")


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


def training_identity(split: Split) -> tuple[str, str | None, int | None]:
    """(dataset, scenario, digit) of the split's normal training images; every shipped-model scenario shares one."""
    if SCENARIOS[split.scenario].trains_model:
        return split.dataset, split.scenario, split.digit
    return split.dataset, None, None


def training_images(dataset: str, scenario: str | None, digit: int | None) -> torch.Tensor:
    """The normal training images (N_train, C, H, W) a training identity stands for."""
    if scenario is None:
        return data.load(dataset).x_train
    return make_split(dataset, scenario, digit).x_train


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
    if scenario == "not-digits":
        return _not_digits_split(ds, scenario)
    # "own": the user's image is scored against clean digits and a reference set of mixed corruptions.
    split = _corrupted_split(ds, "mixed", None, scenario)
    split.description = ("Normal: clean test digits. Anomalous, as a reference for the charts: the same kind of "
                         "digits with a mix of noise, rotation, inversion and occlusion.")
    return split

