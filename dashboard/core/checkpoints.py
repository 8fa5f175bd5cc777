"""Checkpoint I/O: safetensors beside a JSON card that vouches for it by hash, written atomically, never unpickled."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from dashboard.core import nets

# The model card layout: one for autoencoders and the classifier (config names its family; train_config beside it).
CARD_VERSION = 2
WEIGHTS_SUFFIX = ".safetensors"
CARD_SUFFIX = ".json"


class CheckpointError(RuntimeError):
    """A checkpoint file is corrupt, truncated, pickled, foreign or does not match its card; the message names it."""


def sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def files_for(folder: Path | str, stem: str) -> tuple[Path, Path]:
    """(card path, weights path) of the checkpoint called stem in folder."""
    folder = Path(folder)
    return folder / f"{stem}{CARD_SUFFIX}", folder / f"{stem}{WEIGHTS_SUFFIX}"


def read_card(path: Path | str) -> dict:
    """A card whose config builds a known network and which names its weights' hash.

    A missing card raises FileNotFoundError (the caller may train one); anything unreadable raises CheckpointError.
    """
    return read_json_card(path, "Model card", lambda card: nets.config_from_dict(card["config"]))


def to_bytes(model: nets.Network) -> bytes:
    """The network's weights as safetensors bytes (CPU, contiguous), the format every checkpoint uses."""
    return save_safetensors_bytes({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()})


def from_bytes(payload: bytes, card: dict, source: str = "checkpoint") -> nets.Network:
    """Rebuild a network from safetensors bytes and its card: hash, then format, then tensor names, shapes, dtypes."""
    verify(payload, card, source)
    return _network(payload, card, source)


def _network(payload: bytes, card: dict, source: str) -> nets.Network:
    try:
        state = load_safetensors_bytes(payload)  # parses a header and raw tensors; never runs pickle
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{source} is not a valid safetensors file: {exc}") from exc
    model = nets.build(nets.config_from_dict(card["config"]))
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


def load(folder: Path | str, stem: str, family: str | None = None) -> tuple[nets.Network, dict]:
    """The network stored as stem in folder, in eval mode on the CPU, with its card.

    family, when given, is what the caller expects ("ae", "classifier"...): a card of another kind is foreign.
    """
    card, payload = read_pair(folder, stem, "Model card", lambda card: nets.config_from_dict(card["config"]))
    card_path, weights_path = files_for(folder, stem)
    if card.get("name", stem) != stem:
        raise CheckpointError(f"Model card {card_path} describes {card['name']!r}, not {stem!r}: it is foreign.")
    found = card["config"].get("family", "ae")
    if family is not None and found != family:
        raise CheckpointError(f"Model card {card_path} holds a {found!r} network, not the {family!r} expected.")
    return _network(payload, card, str(weights_path)), card


def save(payload: bytes, card: dict, folder: Path | str, stem: str) -> dict:
    """Write the weights and their card (with its version, name and the weights' sha256); returns the card as it
    reads back."""
    return write_pair(folder, stem, {**card, "card_version": CARD_VERSION, "name": stem}, payload)


# ---- the one file pair every stored thing uses: stem.safetensors, and stem.json whose sha256 vouches for it ----
# Checkpoints, their training snapshots and the build's stored results (core.artifacts) all go through these.

def atomic_write(path: Path, payload: bytes) -> None:
    """Write through a temp file in the same folder and rename it over path, so no reader sees half a file."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(payload)
    os.chmod(tmp.name, 0o644)  # NamedTemporaryFile makes 0600 files; checkpoints are meant to be shared
    os.replace(tmp.name, path)


def write_pair(folder: Path | str, stem: str, card: dict, payload: bytes, indent: int | None = 1) -> dict:
    """Write payload as stem.safetensors, then card plus the payload's sha256 as stem.json; returns the card as a
    reader gets it (lists, not tuples).

    The payload goes first: a crash between the two renames leaves a card whose hash refuses the new payload, never
    a card that vouches for a payload it has not seen. indent=None keeps large cards (stored results) compact.
    """
    text = json.dumps({**card, "sha256": sha256(payload)}, indent=indent)
    card_path, payload_path = files_for(folder, stem)
    card_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(payload_path, payload)
    atomic_write(card_path, (text + "\n").encode())
    return json.loads(text)


def read_json_card(path: Path | str, what: str, check: Callable[[dict], object] | None = None) -> dict:
    """A card (a JSON object naming its payload's sha256) that passes check; what names it in messages.

    A missing card raises FileNotFoundError; an unreadable one, or one check refuses (by raising ValueError,
    KeyError or TypeError), raises CheckpointError.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No {what.lower()} {path}.")
    try:
        card = json.loads(path.read_text())
        if not isinstance(card, dict) or not isinstance(card.get("sha256"), str):
            raise TypeError("sha256 is not a string")
        if check is not None:
            check(card)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{what} {path} is unreadable or incomplete: {exc}") from exc
    return card


def verify(payload: bytes, card: dict, source: str) -> None:
    """Refuse a payload its card does not vouch for (source names the file in the message)."""
    if sha256(payload) != card["sha256"]:
        raise CheckpointError(f"{source} does not match its card (sha256 differs): "
                              "the file is corrupt, truncated or not the one the card was written for.")


def read_pair(folder: Path | str, stem: str, what: str, check: Callable[[dict], object] | None = None
              ) -> tuple[dict, bytes]:
    """(card, payload) of stem in folder, the card checked (read_json_card) and the payload verified by its hash.

    A missing card raises FileNotFoundError; anything unreadable, corrupt or truncated raises CheckpointError.
    """
    card_path, payload_path = files_for(folder, stem)
    card = read_json_card(card_path, what, check)
    try:
        payload = payload_path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"Cannot read {payload_path}: {exc.strerror or exc}") from exc
    verify(payload, card, str(payload_path))
    return card, payload
