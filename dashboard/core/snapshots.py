"""Training snapshots: a fixed set of test images' codes after every epoch, recorded, saved and verified on load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from dashboard.core import checkpoints, data, nets, paths

SNAPSHOT_VERSION = 1
MAX_IMAGES = 1000  # test images followed through training; small test splits (digits) give all of theirs
SUFFIX = ".snapshots"  # models/<dataset>/<name>.snapshots.safetensors beside <name>.snapshots.json
TENSORS = {"codes": torch.float16, "indices": torch.int64, "epochs": torch.int64, "loss": torch.float32}
ENCODE_BATCH = 500


@dataclass(frozen=True)
class Snapshots:
    """Codes of the same test images at every epoch; epoch 0 is the untrained network (its loss is NaN)."""

    codes: np.ndarray  # (epochs + 1, N, k) float32 (stored as float16)
    indices: np.ndarray  # (N,) positions in the dataset's test split
    epochs: np.ndarray  # (epochs + 1,) 0, 1, ..., E
    loss: np.ndarray  # (epochs + 1,) mean train loss of each epoch; NaN before the first
    card: dict

    @property
    def last(self) -> np.ndarray:
        return self.codes[-1]


def image_indices(n_test: int, limit: int = MAX_IMAGES) -> torch.Tensor:
    """The fixed image set: the first `limit` test images (the split is already shuffled and stratified)."""
    return torch.arange(min(n_test, limit))


class Recorder:
    """A train.EpochFn that encodes a fixed image set after every epoch; it draws no random numbers."""

    def __init__(self, images: torch.Tensor, indices: torch.Tensor):
        self.images, self.indices = images, indices  # (N, C, H, W), (N,)
        self.codes: list[np.ndarray] = []  # one (N, k) float16 array per call
        self.loss: list[float] = []

    @classmethod
    def for_dataset(cls, ds: data.Dataset, limit: int = MAX_IMAGES) -> Recorder:
        indices = image_indices(len(ds.x_test), limit)
        return cls(ds.x_test[indices], indices)

    def __call__(self, epoch: int, model: nets.Network, loss: float | None) -> None:
        device = next(model.parameters()).device
        codes = torch.cat([model.encode(self.images[i:i + ENCODE_BATCH].to(device)).float().cpu()
                           for i in range(0, len(self.images), ENCODE_BATCH)])  # (N, k)
        self.codes.append(codes.to(torch.float16).numpy())
        self.loss.append(float("nan") if loss is None else float(loss))

    def to_bytes(self) -> bytes:
        """The recorded codes, image indices, epoch numbers and losses as safetensors bytes."""
        return save_safetensors_bytes({
            "codes": torch.from_numpy(np.stack(self.codes)).contiguous(),  # (epochs + 1, N, k)
            "indices": self.indices.to(torch.int64).contiguous(),
            "epochs": torch.arange(len(self.codes), dtype=torch.int64),
            "loss": torch.tensor(self.loss, dtype=torch.float32)})


def files_for(folder: Path | str, stem: str) -> tuple[Path, Path]:
    """(card path, tensors path) of a model's snapshots."""
    return checkpoints.files_for(folder, f"{stem}{SUFFIX}")


def save(payload: bytes, folder: Path | str, stem: str, dataset: str, model_card: dict,
         ended_at: str | None = None) -> dict:
    """Write the snapshots and their card (checkpoints.write_pair); returns the card.

    model_sha256 ties them to the weights they ship beside (a rebuilt model refuses stale snapshots); ended_at is
    the sha256 of the weights the recorded run ended at, which differs when a retrain did not reproduce them.
    """
    ended_at = ended_at or model_card["sha256"]
    card = {"snapshot_version": SNAPSHOT_VERSION, "name": stem, "dataset": dataset,
            "model_sha256": model_card["sha256"],
            "ended_at_sha256": ended_at, "ends_at_shipped_weights": ended_at == model_card["sha256"],
            "rebuild": model_card.get("rebuild"),
            "note": "Codes (float16) of a fixed set of test images before training (epoch 0) and after every epoch."}
    return checkpoints.write_pair(folder, f"{stem}{SUFFIX}", card, payload)


def _snapshots(payload: bytes, card: dict, latent_dim: int, source: str) -> Snapshots:
    """Check the format, then tensor names, dtypes and shapes (the hash is checked already); never unpickles."""
    try:
        state = load_safetensors_bytes(payload)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise checkpoints.CheckpointError(f"{source} is not a valid safetensors file: {exc}") from exc
    if set(state) != set(TENSORS):
        raise checkpoints.CheckpointError(f"{source} holds tensors {sorted(state)}, expected {sorted(TENSORS)}.")
    wrong = [name for name, dtype in TENSORS.items() if state[name].dtype != dtype]
    codes = state["codes"]
    steps, n = len(state["epochs"]), len(state["indices"])
    if wrong or codes.ndim != 3 or tuple(codes.shape) != (steps, n, latent_dim) or len(state["loss"]) != steps:
        raise checkpoints.CheckpointError(f"{source} has the wrong layout: codes {tuple(codes.shape)} for "
                                          f"{steps} epochs, {n} images and {latent_dim} numbers a code"
                                          + (f"; wrong dtype for {wrong}" if wrong else "") + ".")
    return Snapshots(codes.float().numpy(), state["indices"].numpy(), state["epochs"].numpy(),
                     state["loss"].numpy(), card)


def _check_card(card: dict) -> None:
    if not isinstance(card["model_sha256"], str):
        raise TypeError("model_sha256 is not a string")


def load(name: str, dataset: str, root: Path | str | None = None) -> Snapshots:
    """A shipped model's snapshots, verified against their card and tied to the weights they end at.

    Missing files raise FileNotFoundError; anything corrupt, truncated, stale or foreign raises CheckpointError.
    """
    folder = Path(root or paths.MODELS_DIR) / dataset
    card_path, tensors_path = files_for(folder, name)
    if not card_path.exists() or not tensors_path.exists():
        raise FileNotFoundError(f"No training snapshots for {name} on {dataset} ({tensors_path}).")
    card, payload = checkpoints.read_pair(folder, f"{name}{SUFFIX}", "Snapshot card", _check_card)
    model_card = checkpoints.read_card(checkpoints.files_for(folder, name)[0])
    if card.get("name") != name or model_card["sha256"] != card["model_sha256"]:
        raise checkpoints.CheckpointError(f"Snapshots {tensors_path} belong to other weights than {name}'s "
                                          "(model sha256 differs): rebuild them with the model.")
    return _snapshots(payload, card, int(model_card["config"]["latent_dim"]), str(tensors_path))
