"""Precomputed results shipped beside the checkpoints: made by the build, verified by hash, used only while fresh.

A stored result is fresh while what it was computed from is unchanged: the checkpoints it reads (their weights'
sha256, from their cards), the dataset (a digest of its images and labels), its parameters, and its kind's version.
The module that computes a kind passes that version and bumps it when the computation changes; source files are
never hashed, so an edit that changes no result (a comment, a refactor) leaves every stored result fresh.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays

from dashboard.core import checkpoints, data, paths

T = TypeVar("T")
FORMAT = 2  # the card layout; a card of another format is refused (computed live) until the build writes it anew
FOLDER = "artifacts"
DISABLE_ENV = "LATENT_LAB_ARTIFACTS"  # "off": always compute live (the tests' way to compare the two)
_LOG = logging.getLogger(__name__)
_state = threading.local()


class ArtifactError(checkpoints.CheckpointError):
    """A stored result cannot be read back: corrupt, tampered with, or naming a type outside the app."""


@dataclasses.dataclass(frozen=True)
class Provenance:
    """Everything a stored result was computed from; a stored result is used only while all of it still matches."""

    models: dict[str, str]  # checkpoint name -> sha256 of its weights, from its card
    data: str  # sha256 of the dataset's images and labels
    params: dict  # the computation's arguments, as JSON gives them back (tuples become lists)
    version: int  # the kind's version: its module bumps it when the computation changes


def root_for(dataset: str, models_root: Path | str | None = None) -> Path:
    return Path(models_root or paths.MODELS_DIR) / dataset / FOLDER


def _as_json(params: Mapping[str, Any]) -> dict:
    return json.loads(json.dumps(params, default=str))


def stem_for(kind: str, params: Mapping[str, Any]) -> str:
    """A file stem that names the kind and, by a short digest, the exact parameters."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{kind}-{digest}"


@functools.lru_cache(maxsize=16)
def data_digest(dataset: str) -> str:
    """sha256 of a dataset's splits and labels, computed once per process."""
    ds = data.load(dataset)
    digest = hashlib.sha256()
    for part in (ds.x_train, ds.y_train, ds.x_test, ds.y_test):
        digest.update(np.ascontiguousarray(np.asarray(part)).tobytes())
    return digest.hexdigest()


def model_digests(dataset: str, models: Sequence[str], models_root: Path | str | None = None) -> dict[str, str]:
    """{name: weights sha256} from the cards in models/<dataset>; a missing or broken card raises FileNotFoundError."""
    folder = Path(models_root or paths.MODELS_DIR) / dataset
    found = {}
    for name in models:
        try:
            found[name] = checkpoints.read_card(checkpoints.files_for(folder, name)[0])["sha256"]
        except checkpoints.CheckpointError as exc:
            raise FileNotFoundError(str(exc)) from exc
    return found


def provenance(dataset: str, params: Mapping[str, Any], models: Sequence[str], version: int,
               models_root: Path | str | None = None) -> Provenance:
    """What a result computed now would come from."""
    return Provenance(model_digests(dataset, models, models_root), data_digest(dataset), _as_json(params),
                      int(version))


# ---- the value format: JSON for the structure, safetensors for the arrays; nothing is ever unpickled ----

def _encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = np.ascontiguousarray(value)
        return {"__array__": name}
    if type(value).__module__ == "torch" and type(value).__name__ == "Tensor":
        name = f"a{len(arrays)}"
        arrays[name] = np.ascontiguousarray(value.detach().cpu().numpy())
        return {"__tensor__": name}
    if isinstance(value, np.generic):
        return {"__scalar__": value.dtype.str, "value": value.item()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        if not cls.__module__.startswith("dashboard."):
            raise TypeError(f"Only the app's own dataclasses are stored, not {cls.__module__}.{cls.__name__}.")
        return {"__dataclass__": f"{cls.__module__}:{cls.__qualname__}",
                "fields": {f.name: _encode(getattr(value, f.name), arrays)
                           for f in dataclasses.fields(value) if f.init}}
    if type(value).__name__ == "DataFrame" and type(value).__module__.startswith("pandas"):
        return _encode_frame(value, arrays)
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not any(k.startswith("__") for k in value):
            return {k: _encode(v, arrays) for k, v in value.items()}
        return {"__items__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in value.items()]}
    raise TypeError(f"Cannot store a {type(value).__name__} as an artifact.")


def _encode_frame(frame: Any, arrays: dict[str, np.ndarray]) -> dict:
    """A table by columns: numbers as arrays, anything else (text) as JSON lists; a plain or named simple index."""
    import pandas as pd

    if isinstance(frame.index, pd.MultiIndex) or isinstance(frame.columns, pd.MultiIndex):
        raise TypeError("Tables with a multi-level index are not stored as artifacts.")
    index = None if isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1 \
        else _encode(frame.index.to_numpy() if frame.index.dtype.kind in "biuf" else frame.index.tolist(), arrays)
    columns = []
    for name in frame.columns:
        column = frame[name]
        values = column.to_numpy() if column.dtype.kind in "biufc" else column.tolist()
        columns.append([_encode(name, arrays), _encode(values, arrays)])
    return {"__frame__": columns, "index": index, "index_name": frame.index.name}


def _decode_frame(node: dict, arrays: Mapping[str, np.ndarray]) -> Any:
    import pandas as pd

    data = {_decode(name, arrays): _decode(values, arrays) for name, values in node["__frame__"]}
    index = None if node["index"] is None else pd.Index(_decode(node["index"], arrays), name=node["index_name"])
    frame = pd.DataFrame({name: np.array(v) if isinstance(v, np.ndarray) else v for name, v in data.items()},
                         index=index)
    return frame


def _dataclass_type(path: str) -> type:
    module_name, _, qualname = path.partition(":")
    if not module_name.startswith("dashboard."):
        raise ArtifactError(f"An artifact names the type {path}, which is not one of the app's own.")
    found: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if not (isinstance(found, type) and dataclasses.is_dataclass(found)):
        raise ArtifactError(f"An artifact names {path}, which is not a dataclass of the app.")
    return found


def _decode(node: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    if "__array__" in node:
        return arrays[node["__array__"]]
    if "__tensor__" in node:
        import torch  # only results that hold tensors need it, and those pages have imported it already

        return torch.from_numpy(arrays[node["__tensor__"]].copy())
    if "__scalar__" in node:
        return np.dtype(node["__scalar__"]).type(node["value"])
    if "__dataclass__" in node:
        cls = _dataclass_type(node["__dataclass__"])
        return cls(**{k: _decode(v, arrays) for k, v in node["fields"].items()})
    if "__frame__" in node:
        return _decode_frame(node, arrays)
    if "__tuple__" in node:
        return tuple(_decode(v, arrays) for v in node["__tuple__"])
    if "__items__" in node:
        return {_freeze(_decode(k, arrays)): _decode(v, arrays) for k, v in node["__items__"]}
    return {k: _decode(v, arrays) for k, v in node.items()}


def _freeze(key: Any) -> Any:
    return tuple(_freeze(k) for k in key) if isinstance(key, (list, tuple)) else key


def to_bytes(value: Any) -> tuple[dict, bytes]:
    """(JSON-ready structure, safetensors bytes of its arrays)."""
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(value, arrays)
    return tree, save_arrays(arrays) if arrays else b""


def from_bytes(tree: Any, payload: bytes) -> Any:
    try:
        arrays = load_arrays(payload) if payload else {}
    except (SafetensorError, ValueError) as exc:
        raise ArtifactError(f"The artifact's arrays are not valid safetensors: {exc}") from exc
    for array in arrays.values():
        array.setflags(write=False)  # shared by every session, like the caches that hold them
    try:
        return _decode(tree, arrays)
    except (KeyError, TypeError, ValueError, AttributeError, ImportError) as exc:
        raise ArtifactError(f"The artifact's structure does not match its arrays or types: {exc}") from exc


# ---- write and read: checkpoints' file pair (card + safetensors), the card also holding the value's structure ----

def save(folder: Path, stem: str, kind: str, provenance: Provenance, value: Any) -> Path:
    """Write the arrays, then the card (checkpoints.write_pair: atomic, so a reader never sees a half-written pair)."""
    tree, payload = to_bytes(value)
    card = {"format": FORMAT, "kind": kind, "version": provenance.version, "params": provenance.params,
            "models": provenance.models, "data": provenance.data, "value": tree}
    checkpoints.write_pair(folder, stem, card, payload, indent=None)
    return checkpoints.files_for(folder, stem)[0]


def _check_format(card: dict) -> None:
    if card.get("format") != FORMAT:
        raise ValueError(f"format {card.get('format')!r} is not {FORMAT}; the build writes it anew")
    if "value" not in card:
        raise KeyError("value")


def read(folder: Path, stem: str) -> tuple[dict, bytes]:
    """A card and its verified arrays; raises FileNotFoundError when absent, ArtifactError when unusable."""
    try:
        return checkpoints.read_pair(folder, stem, "Stored result", _check_format)
    except checkpoints.CheckpointError as exc:
        raise ArtifactError(str(exc)) from exc


def stale_reason(card: dict, provenance: Provenance) -> str | None:
    """Why a stored result no longer applies (None when it does): only its models, data, parameters and version
    count, never the source code."""
    if card.get("version") != provenance.version:
        return f"its kind's version is {provenance.version}, not {card.get('version')}"
    if card.get("models") != provenance.models:
        return "a model it was computed from has changed"
    if card.get("data") != provenance.data:
        return "the dataset has changed"
    if card.get("params") != provenance.params:
        return "its parameters differ"
    return None


def current_provenance(card: dict, dataset: str, version: int | None = None,
                       models_root: Path | str | None = None) -> Provenance:
    """What a stored card's sources are today: its models and dataset as they are now, its own parameters, and
    version (the code's, when the caller knows it; else the card's own)."""
    return provenance(dataset, card.get("params", {}), list(card.get("models", {})),
                      card.get("version", 0) if version is None else version, models_root)


def shipped_cards(models_root: Path | str | None = None) -> list[tuple[str, Path]]:
    """(dataset, card path) of every stored result under models/."""
    root = Path(models_root or paths.MODELS_DIR)
    return [(path.parent.parent.name, path) for path in sorted(root.glob(f"*/{FOLDER}/*.json"))]


@contextlib.contextmanager
def recording() -> Iterator[list[Path]]:
    """Within this block (on this thread), each stored() call computes live and writes its result.

    Calls nested inside one being recorded only compute: each page's precompute names what it stores.
    """
    written: list[Path] = []
    _state.recording = written
    try:
        yield written
    finally:
        _state.recording = None


def enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "on").lower() not in ("off", "0", "false", "no")


def stored(kind: str, dataset: str, params: Mapping[str, Any], models: Sequence[str], compute: Callable[[], T], *,
           version: int = 1, models_root: Path | str | None = None) -> T:
    """The shipped result of compute() when it is present, intact and fresh; else compute() live.

    kind names the computation, params its arguments (JSON), models the checkpoints of models/<dataset> it reads,
    version the kind's version (the caller's module constant, bumped when the computation changes). A visitor's own
    model never has a shipped result: callers pass only shipped names, and a retrained checkpoint changes its hash,
    which makes the stored result stale.
    """
    written = getattr(_state, "recording", None)
    if written is not None and getattr(_state, "depth", 0):
        return compute()  # inside a result being recorded: only what a page's precompute asks for is written
    if not enabled() and written is None:
        return compute()
    folder, stem = root_for(dataset, models_root), stem_for(kind, params)
    if written is None and not (folder / f"{stem}.json").exists():
        return compute()
    try:
        wanted = provenance(dataset, params, models, version, models_root)
    except (FileNotFoundError, OSError) as exc:
        _LOG.info("Computing %s live: %s", kind, exc)
        return compute()
    if written is not None:
        _state.depth = 1
        try:
            value = compute()
        finally:
            _state.depth = 0
        written.append(save(folder, stem, kind, wanted, value))
        return value
    try:
        card, payload = read(folder, stem)
        reason = stale_reason(card, wanted)
        if reason is None:
            return from_bytes(card["value"], payload)
        _LOG.info("Computing %s live: %s since the build.", kind, reason)
    except (FileNotFoundError, ArtifactError) as exc:
        _LOG.warning("Computing %s live: %s", kind, exc)
    return compute()
