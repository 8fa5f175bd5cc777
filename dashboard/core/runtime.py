"""One inference interface for shipped autoencoders, numpy in and out, served by torch or by onnxruntime."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from dashboard.core import paths, threads

if TYPE_CHECKING:  # the onnx backend must not pay for torch, so the network type is named for checkers only
    from dashboard.core import nets

RUNTIMES = ("torch", "onnx")
MANIFEST_VERSION = 1
GRAPHS = ("encoder", "decoder")
# Tensor names inside the exported graphs; onnx_export writes them, the onnx backend feeds and checks them.
INPUT_NAMES = {"encoder": "images", "decoder": "codes"}
OUTPUT_NAMES = {"encoder": "codes", "decoder": "images"}
EXPORT_HINT = "python -m dashboard.core.onnx_export"


class RuntimeFileError(RuntimeError):
    """An exported graph or its manifest is missing, corrupt, stale or foreign; the message names the file."""


class Inference(Protocol):
    """What a page may ask of a shipped autoencoder, whatever runtime serves it."""

    name: str  # "<family>-<latent size>", as in the zoo
    runtime: str  # an entry of RUNTIMES
    latent_dim: int

    def encode(self, images: np.ndarray) -> np.ndarray:
        """Images (N, C, H, W) float32 in [0, 1] -> codes (N, latent_dim); for a VAE the posterior mean."""
        ...

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Codes (N, latent_dim) -> images (N, C, H, W) float32 in [0, 1]."""
        ...

    def reconstruct(self, images: np.ndarray) -> np.ndarray:
        """decode(encode(images))."""
        ...


def _batch(values, ndim: int, what: str) -> np.ndarray:
    """A C-contiguous float32 array; torch CPU tensors pass too, since pages still hold tensors today."""
    array = np.ascontiguousarray(np.asarray(values), dtype=np.float32)
    if array.ndim != ndim:
        raise ValueError(f"{what} must have {ndim} dimensions, got shape {array.shape}.")
    return array


class _Served:
    """The shared half of both backends: input checks and reconstruct."""

    name: str
    runtime: str
    latent_dim: int
    image_shape: tuple[int, int, int]

    def reconstruct(self, images: np.ndarray) -> np.ndarray:
        return self.decode(self.encode(images))

    def _images(self, images) -> np.ndarray:
        array = _batch(images, 4, "images")
        if array.shape[1:] != self.image_shape:
            raise ValueError(f"{self.name} takes images {self.image_shape}, got {array.shape[1:]}.")
        return array

    def _codes(self, codes) -> np.ndarray:
        array = _batch(codes, 2, "codes")
        if array.shape[1] != self.latent_dim:
            raise ValueError(f"{self.name} decodes codes of size {self.latent_dim}, got {array.shape[1]}.")
        return array

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, latent_dim={self.latent_dim})"


class TorchInference(_Served):
    """A network from nets, run under inference_mode; torch is imported only here, when this backend is used."""

    runtime = "torch"

    def __init__(self, model: nets.Autoencoder, name: str = ""):
        self.model = model
        self.name = name or f"{model.config.family}-{model.latent_dim}"
        self.latent_dim = model.latent_dim
        self.image_shape = tuple(model.config.image_shape)

    @classmethod
    def shipped(cls, name: str, dataset: str) -> TorchInference:
        """The zoo's frozen copy, shared with every other user of that model in this process."""
        from dashboard.core import zoo

        return cls(zoo.frozen(name, dataset), name)

    def _run(self, method, values: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return method(torch.from_numpy(values)).numpy()

    def encode(self, images) -> np.ndarray:
        return self._run(self.model.encode, self._images(images))  # (N, k)

    def decode(self, codes) -> np.ndarray:
        return self._run(self.model.decode, self._codes(codes))  # (N, C, H, W)


def export_dir(dataset: str) -> Path:
    """Where exported graphs of a dataset's models live: <cache>/onnx/<dataset>.

    The cache rule is data.cache_dir's (LATENT_LAB_DATA, else XDG_CACHE_HOME or ~/.cache, /latent-lab), repeated
    here because data imports torch, which the onnx backend exists to avoid.
    """
    if os.environ.get("LATENT_LAB_DATA"):
        base = Path(os.environ["LATENT_LAB_DATA"])
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "latent-lab"
    return base / "onnx" / dataset


def manifest_path(folder: Path | str, name: str) -> Path:
    return Path(folder) / f"{name}.onnx.json"


def graph_path(folder: Path | str, name: str, graph: str) -> Path:
    return Path(folder) / f"{name}.{graph}.onnx"


def card_sha256(name: str, dataset: str) -> str:
    """The shipped weights' hash as the model card records it, read as plain JSON (no torch, no checkpoint load)."""
    path = paths.MODELS_DIR / dataset / f"{name}.json"
    try:
        return json.loads(path.read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RuntimeFileError(f"Cannot read the model card {path}: {exc}") from exc


def read_manifest(path: Path | str) -> dict:
    """The manifest written beside exported graphs; anything missing or malformed raises RuntimeFileError."""
    path = Path(path)
    if not path.exists():
        raise RuntimeFileError(f"No exported graphs at {path}; export them with `{EXPORT_HINT}`.")
    try:
        manifest = json.loads(path.read_text())
        if manifest["manifest_version"] != MANIFEST_VERSION:
            raise ValueError(f"manifest_version {manifest['manifest_version']}, this code reads {MANIFEST_VERSION}")
        for graph in GRAPHS:
            entry = manifest["graphs"][graph]
            if not (isinstance(entry["file"], str) and isinstance(entry["sha256"], str)):
                raise TypeError(f"the {graph} entry needs a file name and a sha256")
            if Path(entry["file"]).name != entry["file"]:
                raise ValueError(f"the {graph} file {entry['file']!r} is not a plain name beside the manifest")
        int(manifest["latent_dim"])
        tuple(manifest["image_shape"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RuntimeFileError(f"Manifest {path} is unreadable or incomplete: {exc}") from exc
    return manifest


def verified_bytes(path: Path, sha256: str) -> bytes:
    """The file's bytes if they hash to what the manifest recorded; the session is then built from these bytes,
    so nothing can swap the file between the check and the load."""
    try:
        payload = path.read_bytes()
    except OSError as exc:
        raise RuntimeFileError(f"Cannot read exported graph {path}: {exc.strerror or exc}") from exc
    if hashlib.sha256(payload).hexdigest() != sha256:
        raise RuntimeFileError(f"Exported graph {path} does not match its manifest (sha256 differs): the file is "
                               f"corrupt, truncated or from another model. Export it again with `{EXPORT_HINT}`.")
    return payload


def _session(payload: bytes, source: Path, graph: str):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # The server's one-thread-per-operation policy, as torch gets it: many visitors share two cores.
    options.intra_op_num_threads = threads.serving_threads()
    options.inter_op_num_threads = 1
    # Without this, the CPU arena grows to the largest batch ever run and keeps it: one 1,000-image reconstruct
    # left a process at 280 MB instead of 98 MB, for ~15% more time per call.
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 3  # warnings about unused initialisers are noise on a page's console
    try:
        session = onnxruntime.InferenceSession(payload, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's errors derive from Exception only (InvalidProtobuf, Fail, ...)
        raise RuntimeFileError(f"onnxruntime cannot load {source}: {exc}") from exc
    inputs, outputs = [i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()]
    if inputs != [INPUT_NAMES[graph]] or outputs != [OUTPUT_NAMES[graph]]:
        raise RuntimeFileError(f"{source} is not an {graph} graph: inputs {inputs}, outputs {outputs}.")
    return session


class OnnxInference(_Served):
    """Two onnxruntime sessions (encoder, decoder) built from verified bytes; this backend never imports torch."""

    runtime = "onnx"

    def __init__(self, manifest_file: Path | str, expected_source: str | None = None):
        """expected_source, when given, is the shipped weights' sha256: graphs exported from other weights are
        refused as stale, so a retrained checkpoint is never served through an old export."""
        manifest_file = Path(manifest_file)
        manifest = read_manifest(manifest_file)
        if expected_source is not None and manifest.get("source_sha256") != expected_source:
            raise RuntimeFileError(f"{manifest_file} was exported from other weights than the shipped checkpoint "
                                   f"(stale). Export it again with `{EXPORT_HINT}`.")
        self.manifest = manifest
        self.name = manifest.get("name", manifest_file.name.removesuffix(".onnx.json"))
        self.latent_dim = int(manifest["latent_dim"])
        self.image_shape = tuple(int(v) for v in manifest["image_shape"])
        self._sessions = {}
        for graph in GRAPHS:
            entry = manifest["graphs"][graph]
            source = manifest_file.parent / entry["file"]
            self._sessions[graph] = _session(verified_bytes(source, entry["sha256"]), source, graph)

    @classmethod
    def shipped(cls, name: str, dataset: str, folder: Path | str | None = None) -> OnnxInference:
        """The exported graphs of a shipped model, checked against its current card (stale exports refused)."""
        folder = Path(folder) if folder else export_dir(dataset)
        return cls(manifest_path(folder, name), expected_source=card_sha256(name, dataset))

    def _run(self, graph: str, values: np.ndarray) -> np.ndarray:
        return self._sessions[graph].run(None, {INPUT_NAMES[graph]: values})[0]

    def encode(self, images) -> np.ndarray:
        return self._run("encoder", self._images(images))  # (N, k)

    def decode(self, codes) -> np.ndarray:
        return self._run("decoder", self._codes(codes))  # (N, C, H, W)


def load(name: str, dataset: str, runtime: str = "torch", folder: Path | str | None = None) -> Inference:
    """A shipped model behind the one interface; folder is where onnx exports live (default: export_dir)."""
    if runtime == "torch":
        return TorchInference.shipped(name, dataset)
    if runtime == "onnx":
        return OnnxInference.shipped(name, dataset, folder)
    raise ValueError(f"Unknown runtime {runtime!r}; expected one of {RUNTIMES}.")
