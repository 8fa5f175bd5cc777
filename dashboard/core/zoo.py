"""Named shipped autoencoders: a thin face over the recipe table and checkpoint I/O, plus the shared caches."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dashboard.core import artifacts, checkpoints, data, memo, metrics, nets, paths, recipes, train

MODELS_DIR = paths.MODELS_DIR
ZOO_NAMES = list(recipes.AUTOENCODER_NAMES)  # every shipped autoencoder, dae-64 included
NAME_PATTERN = recipes.NAME_PATTERN
CheckpointError = checkpoints.CheckpointError
parse_name = recipes.parse_name
model_to_bytes = checkpoints.to_bytes
# The stored test codes' version: bump it when the way codes are computed changes (weights and data are tracked).
CODES_VERSION = 1


class ModelNotFound(LookupError):
    """No checkpoint exists for this name and dataset (it can be trained on demand)."""


def folder_for(dataset: str, root: Path | str | None = None) -> Path:
    return Path(root or MODELS_DIR) / dataset


def _sort_key(name: str) -> tuple[int, int]:
    family, latent = parse_name(name)
    return nets.FAMILIES.index(family), latent


def names(dataset: str = data.DEFAULT_DATASET, root: Path | str | None = None) -> list[str]:
    """Shipped model names for a dataset, AE first, then by latent size (the reference classifier is not one)."""
    folder = folder_for(dataset, root)
    found = [p.stem for p in folder.glob("*.json") if NAME_PATTERN.match(p.stem)] if folder.is_dir() else []
    return sorted(found, key=_sort_key)


def read_card(name: str, dataset: str = data.DEFAULT_DATASET, root: Path | str | None = None) -> dict:
    """The model card (JSON) of a shipped model; raises ModelNotFound or CheckpointError."""
    recipes.family_of(name)
    path, _ = checkpoints.files_for(folder_for(dataset, root), name)
    try:
        return checkpoints.read_card(path)
    except FileNotFoundError:
        raise ModelNotFound(f"No model {name!r} for dataset {dataset!r} in {path.parent}. "
                            f"Shipped: {', '.join(names(dataset, root)) or 'none'}.") from None


def load(name: str, dataset: str = data.DEFAULT_DATASET, root: Path | str | None = None,
         train_missing: bool = False) -> nets.Autoencoder:
    """A shipped model in eval mode on the CPU. Nothing is unpickled: weights are safetensors, checked by hash."""
    family = recipes.family_of(name)
    try:
        read_card(name, dataset, root)
    except ModelNotFound:
        if not train_missing:
            raise
        result, _ = train_and_save(name, dataset, folder=writable_folder(dataset, root))
        return result.model
    model, _ = checkpoints.load(folder_for(dataset, root), name, family=family)
    return model


def writable_folder(dataset: str, root: Path | str | None = None) -> Path:
    """models/<dataset> when it can be written, else a per-user temp folder, so a read-only deploy still works."""
    return data.writable_or_temp(folder_for(dataset, root), f"latent-lab-models/{dataset}")


def config_for(name: str, dataset: str) -> nets.ModelConfig:
    """The network config the recipe table gives this name on this dataset."""
    return recipes.recipe(name, dataset).network


def train_and_save(name: str, dataset: str, folder: Path | str | None = None,
                   progress: train.EpochProgress | None = None, **train_overrides) -> tuple[train.TrainResult, dict]:
    """Train a named model with its table recipe and write weights + card (atomically) to folder."""
    result, card, payload = recipes.make(recipes.recipe(name, dataset, **train_overrides), progress=progress)
    card = checkpoints.save(payload, card, Path(folder) if folder else folder_for(dataset), name)
    return result, card


@memo.shared(maxsize=64)
def frozen(name: str, dataset: str = data.DEFAULT_DATASET) -> nets.Autoencoder:
    """A shipped model loaded once per process and shared by every session: gradients off, never to be trained."""
    model = load(name, dataset)
    model.requires_grad_(False)
    return model


@memo.shared(maxsize=48)
def codes(name: str, dataset: str = data.DEFAULT_DATASET, split: str = "test") -> np.ndarray:
    """A shipped model's codes (N, k) of a dataset split ("train" or "test"), float32, computed once and read-only."""
    def encode() -> np.ndarray:
        ds = data.load(dataset)
        images = {"train": ds.x_train, "test": ds.x_test}[split]
        return metrics.encode(frozen(name, dataset), images).numpy()  # (N, k)

    # The build stores the test split's codes of every shipped model; reading them skips a forward pass. The
    # training split's are four times larger and feed results that are stored themselves, so they stay live.
    values = (artifacts.stored("codes", dataset, {"name": name, "split": split}, [name], encode,
                               version=CODES_VERSION)
              if split == "test" else encode())
    values.setflags(write=False)
    return values
