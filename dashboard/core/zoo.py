"""Named models and checkpoint I/O: safetensors weights beside a JSON model card, checked before use."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from dashboard.core import data, memo, metrics, nets, paths, train

MODELS_DIR = paths.MODELS_DIR
ZOO_NAMES = ["ae-2", "ae-3", "ae-8", "ae-16", "ae-32",
             "vae-2", "vae-3", "vae-8", "vae-16", "vae-32", "dae-16"]
NAME_PATTERN = re.compile(r"^(ae|vae|dae)-([1-9][0-9]{0,2})$")
CARD_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, corrupt, truncated or does not match its model card."""


class ModelNotFound(LookupError):
    """No checkpoint exists for this name and dataset (it can be trained on demand)."""


def parse_name(name: str) -> tuple[str, int]:
    """"vae-16" -> ("vae", 16); anything else raises ValueError naming the valid pattern."""
    match = NAME_PATTERN.match(name)
    if not match:
        raise ValueError(f"Bad model name {name!r}: expected <family>-<latent size> with family ae, vae or dae, "
                         f"for example {', '.join(ZOO_NAMES[:4])}.")
    return match.group(1), int(match.group(2))


def folder_for(dataset: str, root: Path | str | None = None) -> Path:
    return Path(root or MODELS_DIR) / dataset


def _sort_key(name: str) -> tuple[int, int]:
    family, latent = parse_name(name)
    return nets.FAMILIES.index(family), latent


def names(dataset: str = data.DEFAULT_DATASET, root: Path | str | None = None) -> list[str]:
    """Shipped model names for a dataset, AE first, then by latent size."""
    folder = folder_for(dataset, root)
    found = [p.stem for p in folder.glob("*.json") if NAME_PATTERN.match(p.stem)] if folder.is_dir() else []
    return sorted(found, key=_sort_key)


def _sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def read_card(name: str, dataset: str = data.DEFAULT_DATASET, root: Path | str | None = None) -> dict:
    """The model card (JSON) of a shipped model; raises ModelNotFound or CheckpointError."""
    parse_name(name)
    path = folder_for(dataset, root) / f"{name}.json"
    if not path.exists():
        raise ModelNotFound(f"No model {name!r} for dataset {dataset!r} in {path.parent}. "
                            f"Shipped: {', '.join(names(dataset, root)) or 'none'}.")
    try:
        card = json.loads(path.read_text())
        nets.ModelConfig.from_dict(card["config"])
        card["sha256"], card["dataset"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"Model card {path} is unreadable or incomplete: {exc}") from exc
    return card


def model_from_bytes(payload: bytes, card: dict, source: str = "checkpoint") -> nets.Autoencoder:
    """Rebuild a model from safetensors bytes and its card, after checking hash, keys and shapes."""
    if _sha256(payload) != card["sha256"]:
        raise CheckpointError(f"{source} does not match its model card (sha256 differs): "
                              "the file is corrupt, truncated or from another model.")
    try:
        state = load_safetensors_bytes(payload)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{source} is not a valid safetensors file: {exc}") from exc
    model = nets.build(nets.ModelConfig.from_dict(card["config"]))
    expected = model.state_dict()
    missing, extra = set(expected) - set(state), set(state) - set(expected)
    if missing or extra:
        raise CheckpointError(f"{source} has the wrong tensors (missing {sorted(missing)[:3]}, "
                              f"unexpected {sorted(extra)[:3]}).")
    for key, tensor in expected.items():
        if state[key].shape != tensor.shape or state[key].dtype != tensor.dtype:
            raise CheckpointError(f"{source}: tensor {key} is {tuple(state[key].shape)} {state[key].dtype}, "
                                  f"the card's config needs {tuple(tensor.shape)} {tensor.dtype}.")
    model.load_state_dict(state, strict=True)
    return model.eval()


def load(name: str, dataset: str = data.DEFAULT_DATASET, root: Path | str | None = None,
         train_missing: bool = False) -> nets.Autoencoder:
    """A shipped model in eval mode on the CPU. Nothing is unpickled: weights are safetensors, checked by hash."""
    try:
        card = read_card(name, dataset, root)
    except ModelNotFound:
        if not train_missing:
            raise
        result, _ = train_and_save(name, dataset, folder=writable_folder(dataset, root))
        return result.model
    path = folder_for(dataset, root) / f"{name}.safetensors"
    try:
        payload = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"Cannot read weights {path}: {exc.strerror or exc}") from exc
    return model_from_bytes(payload, card, source=str(path))


def writable_folder(dataset: str, root: Path | str | None = None) -> Path:
    """models/<dataset> when it can be written, else a per-user temp folder, so a read-only deploy still works."""
    return data.writable_or_temp(folder_for(dataset, root), f"latent-lab-models/{dataset}")


def model_to_bytes(model: nets.Autoencoder) -> bytes:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return save_safetensors_bytes(state)


def _atomic_write(path: Path, payload: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(payload)
    os.chmod(tmp.name, 0o644)  # NamedTemporaryFile makes 0600 files; checkpoints are meant to be shared
    os.replace(tmp.name, path)


def make_card(name: str, dataset: str, model: nets.Autoencoder, result: train.TrainResult,
              train_config: train.TrainConfig, payload: bytes) -> dict:
    """The JSON model card: config, data, training run, metrics and the weights' hash."""
    from dashboard.core import baselines  # scikit-learn is slow to import; only training needs it here
    ds = data.load(dataset)
    x_hat = metrics.reconstruct(model, ds.x_test)
    return {
        "card_version": CARD_VERSION,
        "name": name,
        "dataset": dataset,
        "split_seed": data.SPLIT_SEED,
        "n_train": len(ds.x_train),
        "n_test": len(ds.x_test),
        "config": model.config.to_dict(),
        "train_config": asdict(train_config),
        "epochs": result.epochs_done,
        "train_seconds": round(result.seconds, 2),
        "images_per_second": round(result.images_per_second, 1),
        "device": result.device,
        "torch_version": torch.__version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "metrics": {
            "test_mse": metrics.mse(ds.x_test, x_hat),
            "test_psnr": metrics.psnr(ds.x_test, x_hat),
            "pca_mse": baselines.pca_test_mse(dataset, model.latent_dim),
        },
        "history": [round(v, 6) for v in result.history],
        "parameters": sum(p.numel() for p in model.parameters()),
        "sha256": _sha256(payload),
    }


def config_for(name: str, dataset: str) -> nets.ModelConfig:
    family, latent = parse_name(name)
    return nets.default_config(family, latent, data.load(dataset).image_shape)


def train_model(name: str, dataset: str, model_config: nets.ModelConfig | None = None,
                train_config: train.TrainConfig | None = None, x_train: torch.Tensor | None = None,
                progress: train.ProgressFn | None = None, should_stop: train.StopFn | None = None
                ) -> tuple[train.TrainResult, dict, bytes]:
    """Train a model (the named default recipe unless configs are given) and build its card and weight bytes."""
    ds = data.load(dataset)
    train_config = train_config or train.default_train_config(name, dataset)
    model_config = model_config or config_for(name, dataset)
    result = train.train(model_config, ds.x_train if x_train is None else x_train, train_config,
                         progress=progress, should_stop=should_stop)
    payload = model_to_bytes(result.model)
    return result, make_card(name, dataset, result.model, result, train_config, payload), payload


def train_and_save(name: str, dataset: str, folder: Path | str | None = None,
                   progress: train.ProgressFn | None = None, **train_overrides) -> tuple[train.TrainResult, dict]:
    """Train a named model with its default recipe and write weights + card (atomically) to folder."""
    train_config = train.default_train_config(name, dataset, **train_overrides)
    result, card, payload = train_model(name, dataset, train_config=train_config, progress=progress)
    target = Path(folder) if folder else folder_for(dataset)
    target.mkdir(parents=True, exist_ok=True)
    _atomic_write(target / f"{name}.safetensors", payload)
    _atomic_write(target / f"{name}.json", json.dumps(card, indent=1).encode())
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
    ds = data.load(dataset)
    images = {"train": ds.x_train, "test": ds.x_test}[split]
    values = metrics.encode(frozen(name, dataset), images).numpy()  # (N, k)
    values.setflags(write=False)
    return values
