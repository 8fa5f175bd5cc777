"""Faults a public deployment meets: broken or missing checkpoints, read-only folders, failed downloads."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import types
import urllib.error
from pathlib import Path

import pytest
import streamlit as st

from dashboard.core import data, memo, zoo
from tests.harness.apptest import open_page
from tests.harness.checks import assert_no_exception, texts

SHIPPED_MODELS = zoo.MODELS_DIR


@pytest.fixture()
def models_copy(tmp_path, monkeypatch):
    """A private copy of models/ that the app reads instead of the shipped one."""
    copy = tmp_path / "models"
    shutil.copytree(zoo.MODELS_DIR, copy)
    monkeypatch.setattr(zoo, "MODELS_DIR", copy)
    st.cache_resource.clear()
    st.cache_data.clear()
    memo.clear_all()
    yield copy
    st.cache_resource.clear()
    st.cache_data.clear()
    memo.clear_all()


def test_truncated_checkpoint_shows_a_clear_message(models_copy):
    weights = models_copy / "mnist-5k" / "ae-16.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    app = open_page("overview")
    assert_no_exception(app)
    assert any("could not be used" in e.value and "ae-16.safetensors" in e.value for e in app.error)
    shipped = SHIPPED_MODELS / "mnist-5k"
    card = zoo.read_card("ae-16", "mnist-5k", root=SHIPPED_MODELS)
    assert hashlib.sha256((shipped / "ae-16.safetensors").read_bytes()).hexdigest() == card["sha256"]


def test_missing_checkpoint_is_not_listed_and_pages_carry_on(models_copy):
    for suffix in (".json", ".safetensors"):
        (models_copy / "mnist-5k" / f"ae-3{suffix}").unlink()
    app = open_page("overview")
    assert_no_exception(app)
    assert "ae-3" not in app.selectbox(key="overview_model").options
    assert "this dataset has no ae-3" in texts(app)  # the map says why it cannot show its fallback


@pytest.mark.parametrize(("page", "removed", "says"), [
    ("discrete-codes", "vq-32", "the shipped VQ-VAE (vq-32)"),
    ("latent-diffusion", "flow-ae-16", "the shipped flow models"),
    ("vae", "cvae-16", "the shipped VAE page models"),
    ("interpretability", "sae-512", "the shipped sparse autoencoder"),
])
def test_a_page_whose_models_are_missing_says_so_and_stops(models_copy, page, removed, says):
    for suffix in (".json", ".safetensors"):
        (models_copy / "mnist-5k" / f"{removed}{suffix}").unlink()
    app = open_page(page)
    assert_no_exception(app)
    assert any(says in info.value and "Pick one of those" in info.value for info in app.info)


def test_read_only_models_folder_still_serves_and_trains(models_copy):
    for path in [models_copy, *models_copy.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    before = {str(p): p.read_bytes() for p in (models_copy / "digits").rglob("*") if p.is_file()}
    try:
        app = open_page("models", dataset="digits")
        assert_no_exception(app)
        app.slider(key="models_epochs").set_value(1)
        [b for b in app.button if b.label == "Train"][0].click().run()
        assert_no_exception(app)
        assert "Your models" in texts(app)
        assert {str(p): p.read_bytes() for p in (models_copy / "digits").rglob("*") if p.is_file()} == before
    finally:
        for path in [models_copy, *models_copy.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_unwritable_dataset_cache_falls_back_with_a_notice(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(data.CACHE_ENV, str(blocker / "cache"))
    app = open_page("overview", dataset="kmnist")
    assert_no_exception(app)
    assert any("cannot be written" in w.value for w in app.sidebar.warning)
    assert "784 pixels" in texts(app)


class _HalfThenFail(io.BytesIO):
    """A response that delivers some bytes, then drops the connection."""

    headers = {"Content-Length": "100000"}

    def read(self, size=-1):
        chunk = super().read(size)
        if not chunk:
            raise urllib.error.URLError("connection reset mid-download")
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_download_that_fails_halfway_leaves_nothing_and_works_on_retry(tmp_path, monkeypatch):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path))
    images = gzip.compress(bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + bytes(2 * 784))
    labels = gzip.compress(bytes([0, 0, 8, 1]) + (2).to_bytes(4, "big") + bytes([3, 7]))
    payloads = {"train-images-idx3-ubyte.gz": images, "train-labels-idx1-ubyte.gz": labels,
                "t10k-images-idx3-ubyte.gz": images, "t10k-labels-idx1-ubyte.gz": labels}
    resources = [(name, hashlib.md5(body).hexdigest()) for name, body in payloads.items()]
    monkeypatch.setattr(data, "_torchvision_source", lambda name: (["http://mirror.invalid/"], resources))
    attempts = {"n": 0}

    def flaky_urlopen(url, timeout):
        attempts["n"] += 1
        body = payloads[url.rsplit("/", 1)[-1]]
        if attempts["n"] == 1:
            return _HalfThenFail(body[: len(body) // 2])
        response = _HalfThenFail(body)
        response.headers = {"Content-Length": str(len(body))}
        response.read = io.BytesIO(body).read
        return response

    monkeypatch.setattr(data.urllib.request, "urlopen", flaky_urlopen)
    with pytest.raises(data.DatasetUnavailable):
        data.download("mnist")
    assert list((tmp_path / "mnist").iterdir()) == []  # no partial file left behind
    progress = []
    folder = data.download("mnist", progress=lambda f, text: progress.append(f))
    assert sorted(p.name for p in folder.iterdir()) == sorted(payloads)
    assert progress[-1] == 1.0


def test_only_the_temp_folder_writable_still_gives_a_cache(tmp_path, monkeypatch):
    locked = tmp_path / "home-cache"
    locked.write_text("a file where the cache folder should be")
    monkeypatch.delenv(data.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(locked))
    assert data.cache_dir().parent == Path(tempfile.gettempdir())
    assert zoo.writable_folder("digits", root=locked).name == "digits"


def test_the_sidebar_check_for_downloads_does_not_import_torchvision(tmp_path):
    """Importing torchvision is slow and heavy; asking whether a set is cached must not pay for it."""
    script = ("import sys; from dashboard.core import data; "
              "print([data.is_downloaded(n) for n in data.ONLINE_DATASETS], 'torchvision' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2], env={**os.environ, data.CACHE_ENV: str(tmp_path)})
    assert result.stdout.split() == ["[False,", "False,", "False]", "False"], result.stdout + result.stderr


def test_the_file_names_known_here_are_torchvisions():
    for name in data.ONLINE_DATASETS:
        _, resources = data._torchvision_source(name)
        assert tuple(file for file, _ in resources) == data.IDX_FILES


def test_a_torchvision_built_for_another_torch_only_loses_the_online_sets(monkeypatch, tmp_path):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path))
    broken = types.ModuleType("torchvision")

    def fail(name):
        raise RuntimeError("operator torchvision::nms does not exist")

    broken.__getattr__ = fail  # `from torchvision import datasets` fails as the mismatched build does
    monkeypatch.setitem(sys.modules, "torchvision", broken)
    with pytest.raises(data.DatasetUnavailable, match="does not match this torch"):
        data.load("kmnist")
    assert data.load("digits").x_train.shape[1:] == (1, 8, 8)
