"""The inference interface: torch and onnxruntime give the same codes and images; exports are verified; no torch."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dashboard.core import data, onnx_export, runtime

ROOT = Path(__file__).resolve().parents[2]
DATASET = "mnist-5k"
NAMES = ("ae-16", "dae-16", "vae-16")  # one shipped model of each family
TOLERANCE = 1e-5  # absolute, on codes and on pixels in [0, 1]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("onnx")
    for name in NAMES:
        onnx_export.export(name, DATASET, folder)
    return folder


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return data.load(DATASET).x_test[:32].numpy()  # (32, 1, 28, 28)


@pytest.fixture
def copy_of(exported, tmp_path):
    """A private copy of one model's export, to damage without touching the shared one."""
    def make(name: str) -> Path:
        for path in exported.glob(f"{name}.*"):
            shutil.copy(path, tmp_path / path.name)
        return tmp_path
    return make


@pytest.mark.parametrize("name", NAMES)
def test_both_runtimes_give_the_same_codes_and_reconstructions(name, exported, images):
    on_torch = runtime.load(name, DATASET, "torch")
    on_onnx = runtime.load(name, DATASET, "onnx", folder=exported)
    codes = on_torch.encode(images)
    assert codes.shape == (len(images), 16) and codes.dtype == np.float32
    np.testing.assert_allclose(on_onnx.encode(images), codes, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(on_onnx.decode(codes), on_torch.decode(codes), rtol=0, atol=TOLERANCE)
    rebuilt = on_onnx.reconstruct(images)
    assert rebuilt.shape == images.shape and rebuilt.dtype == np.float32
    assert 0.0 <= rebuilt.min() and rebuilt.max() <= 1.0
    np.testing.assert_allclose(rebuilt, on_torch.reconstruct(images), rtol=0, atol=TOLERANCE)


def test_the_torch_backend_is_the_zoo_models_own_encode_and_decode(images):
    import torch

    from dashboard.core import zoo

    served, model = runtime.load("vae-16", DATASET, "torch"), zoo.frozen("vae-16", DATASET)
    with torch.inference_mode():
        mean, _ = model.encode_distribution(torch.from_numpy(images))
    np.testing.assert_array_equal(served.encode(images), mean.numpy())  # a VAE serves its posterior mean


def test_both_backends_share_one_interface(exported):
    for backend in (runtime.load("ae-16", DATASET, "torch"), runtime.load("ae-16", DATASET, "onnx", exported)):
        assert (backend.name, backend.latent_dim, backend.runtime in runtime.RUNTIMES) == ("ae-16", 16, True)
        assert backend.decode(np.zeros((2, 16))).shape == (2, 1, 28, 28)  # float64 input is accepted
        with pytest.raises(ValueError, match="takes images"):
            backend.encode(np.zeros((2, 1, 8, 8), np.float32))
        with pytest.raises(ValueError, match="codes of size 16"):
            backend.decode(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="Unknown runtime"):
        runtime.load("ae-16", DATASET, "tensorflow")


def test_a_corrupt_graph_is_refused_with_a_clear_message(copy_of):
    folder = copy_of("ae-16")
    graph = runtime.graph_path(folder, "ae-16", "decoder")
    payload = bytearray(graph.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    graph.write_bytes(bytes(payload))
    with pytest.raises(runtime.RuntimeFileError, match="does not match its manifest"):
        runtime.load("ae-16", DATASET, "onnx", folder)
    graph.write_bytes(bytes(payload[:100]))  # truncated
    with pytest.raises(runtime.RuntimeFileError, match="ae-16.decoder.onnx"):
        runtime.load("ae-16", DATASET, "onnx", folder)


def test_a_manifest_that_vouches_for_garbage_still_gives_a_clear_error(copy_of):
    folder = copy_of("ae-16")
    graph = runtime.graph_path(folder, "ae-16", "encoder")
    graph.write_bytes(b"not an onnx graph")
    manifest_file = runtime.manifest_path(folder, "ae-16")
    manifest = json.loads(manifest_file.read_text())
    manifest["graphs"]["encoder"]["sha256"] = hashlib.sha256(b"not an onnx graph").hexdigest()
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(runtime.RuntimeFileError, match="onnxruntime cannot load"):
        runtime.load("ae-16", DATASET, "onnx", folder)


def test_missing_stale_swapped_or_malformed_exports_are_refused(copy_of, tmp_path):
    with pytest.raises(runtime.RuntimeFileError, match="No exported graphs.*onnx_export"):
        runtime.load("ae-16", DATASET, "onnx", tmp_path / "nowhere")
    folder = copy_of("ae-16")
    manifest_file = runtime.manifest_path(folder, "ae-16")
    manifest = json.loads(manifest_file.read_text())
    manifest_file.write_text(json.dumps({**manifest, "source_sha256": "0" * 64}))
    with pytest.raises(runtime.RuntimeFileError, match="stale"):
        runtime.load("ae-16", DATASET, "onnx", folder)
    graphs = manifest["graphs"]
    swapped = {**manifest, "graphs": {"encoder": graphs["decoder"], "decoder": graphs["encoder"]}}
    manifest_file.write_text(json.dumps(swapped))
    with pytest.raises(runtime.RuntimeFileError, match="is not an encoder graph"):
        runtime.load("ae-16", DATASET, "onnx", folder)
    escaping = {**manifest, "graphs": {**manifest["graphs"], "encoder": {"file": "../x.onnx", "sha256": "0"}}}
    manifest_file.write_text(json.dumps(escaping))
    with pytest.raises(runtime.RuntimeFileError, match="not a plain name"):
        runtime.load("ae-16", DATASET, "onnx", folder)
    manifest_file.write_text("{")
    with pytest.raises(runtime.RuntimeFileError, match="unreadable"):
        runtime.load("ae-16", DATASET, "onnx", folder)


def test_ensure_exports_again_when_the_export_is_damaged(copy_of):
    folder = copy_of("ae-16")
    graph = runtime.graph_path(folder, "ae-16", "encoder")
    graph.write_bytes(b"damaged")
    onnx_export.ensure("ae-16", DATASET, folder)
    assert runtime.load("ae-16", DATASET, "onnx", folder).encode(np.zeros((1, 1, 28, 28))).shape == (1, 16)


def test_the_onnx_backend_never_imports_torch(exported):
    script = ("import sys, numpy as np; from dashboard.core import runtime; "
              f"m = runtime.load('vae-16', {DATASET!r}, 'onnx', folder={str(exported)!r}); "
              "print(m.reconstruct(np.zeros((2, 1, 28, 28), np.float32)).shape, 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["(2,", "1,", "28,", "28)", "False"], result.stdout + result.stderr


def test_the_export_folder_follows_the_data_cache_rule(monkeypatch, tmp_path):
    """runtime repeats data.cache_dir's rule to stay free of torch; this keeps the two from drifting apart."""
    monkeypatch.delenv(data.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert runtime.export_dir(DATASET) == data.cache_dir() / "onnx" / DATASET
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "own"))
    assert runtime.export_dir(DATASET) == data.cache_dir() / "onnx" / DATASET
