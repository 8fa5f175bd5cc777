"""Export shipped autoencoders' encoders and decoders to ONNX graphs, with a manifest of their hashes beside them."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import warnings
from pathlib import Path

import torch
from torch import nn

from dashboard.core import checkpoints, data, nets, runtime, zoo

# 17 is what onnxruntime releases of the last years all run, and every op these networks use exists in it.
OPSET = 17


class _Half(nn.Module):
    """One half of an autoencoder as its own graph: encode (for a VAE the posterior mean) or decode (with its
    sigmoid), so both runtimes hand pages the same codes and images in [0, 1]."""

    def __init__(self, model: nets.Autoencoder, method: str):
        super().__init__()
        self.model = model
        self.method = method

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        return getattr(self.model, self.method)(values)


def graph_bytes(module: nn.Module, example: torch.Tensor, graph: str) -> bytes:
    """One graph as ONNX bytes, with a free batch axis.

    The TorchScript exporter (dynamo=False) needs only the onnx package; the torch.export one would add onnxscript
    and its dependencies for graphs this plain (convs, linears, SiLU, sigmoid).
    """
    buffer = io.BytesIO()
    name_in, name_out = runtime.INPUT_NAMES[graph], runtime.OUTPUT_NAMES[graph]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch marks this exporter deprecated; it still works
        torch.onnx.export(module.eval(), (example,), buffer, dynamo=False, opset_version=OPSET,
                          input_names=[name_in], output_names=[name_out],
                          dynamic_axes={name_in: {0: "batch"}, name_out: {0: "batch"}})
    return buffer.getvalue()


def export(name: str, dataset: str = data.DEFAULT_DATASET, folder: Path | str | None = None) -> Path:
    """Write <name>.encoder.onnx, <name>.decoder.onnx and the manifest <name>.onnx.json; returns the manifest.

    Graphs go first and the manifest last, so a crash in between leaves a manifest whose hashes refuse the new
    graphs (or no manifest), never one that vouches for files it has not seen.
    """
    folder = Path(folder) if folder else runtime.export_dir(dataset)
    folder.mkdir(parents=True, exist_ok=True)
    card = zoo.read_card(name, dataset)
    model = zoo.load(name, dataset)
    examples = {"encoder": torch.zeros(1, *model.config.image_shape), "decoder": torch.zeros(1, model.latent_dim)}
    modules = {"encoder": _Half(model, "encode"), "decoder": _Half(model, "decode")}
    entries = {}
    for graph in runtime.GRAPHS:
        payload = graph_bytes(modules[graph], examples[graph], graph)
        path = runtime.graph_path(folder, name, graph)
        checkpoints.atomic_write(path, payload)
        entries[graph] = {"file": path.name, "sha256": hashlib.sha256(payload).hexdigest()}
    manifest = {"manifest_version": runtime.MANIFEST_VERSION, "name": name, "dataset": dataset,
                "family": model.config.family, "latent_dim": model.latent_dim,
                "image_shape": list(model.config.image_shape), "source_sha256": card["sha256"], "opset": OPSET,
                "exporter": f"torch {torch.__version__} (TorchScript exporter)", "graphs": entries}
    target = runtime.manifest_path(folder, name)
    checkpoints.atomic_write(target, (json.dumps(manifest, indent=1) + "\n").encode())
    return target


def ensure(name: str, dataset: str = data.DEFAULT_DATASET, folder: Path | str | None = None) -> Path:
    """The manifest of a current, intact export, exporting again when it is missing, stale or corrupt."""
    folder = Path(folder) if folder else runtime.export_dir(dataset)
    try:
        runtime.OnnxInference.shipped(name, dataset, folder)
        return runtime.manifest_path(folder, name)
    except runtime.RuntimeFileError:
        return export(name, dataset, folder)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Export shipped autoencoders to ONNX (encoder and decoder graphs).")
    parser.add_argument("names", nargs="*", help="model names (default: every shipped model of the dataset)")
    parser.add_argument("--dataset", default=data.DEFAULT_DATASET)
    parser.add_argument("--folder", help=f"where to write (default: {runtime.export_dir('<dataset>')})")
    args = parser.parse_args(argv)
    for name in args.names or zoo.names(args.dataset):
        print(export(name, args.dataset, args.folder))


if __name__ == "__main__":
    main()
