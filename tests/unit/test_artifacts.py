"""Stored results: the file format round-trips, a tampered or stale file is never used, shipped ones are fresh, and
freshness rests on checkpoints, data, parameters and a version alone (a comment edit leaves every result fresh)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from dashboard.compression import rate_distortion
from dashboard.core import artifacts, checkpoints, nets, paths, zoo
from tests.harness.precomputed import assert_close, kind_versions

VERSIONS = kind_versions()


@pytest.fixture(autouse=True)
def _artifacts_on(monkeypatch):
    monkeypatch.delenv(artifacts.DISABLE_ENV, raising=False)


def sample_value():
    codes = rate_distortion.TestSetCodes("AE", "ae-2", 2, np.arange(6, dtype=np.float32).reshape(3, 2), np.zeros(3),
                                         np.full(3, np.nan))
    return {("AE", 2): codes,
            "plain": [1, 2.5, "x", None, True, (3, 4)], "scalar": np.float64(0.25),
            "tensor": torch.linspace(0, 1, 5), "uint8": np.array([[0, 255]], dtype=np.uint8),
            "table": pd.DataFrame({"method": ["AE", "PCA"], "k": [2, 2], "mse": [0.01, np.nan]}),
            "indexed": pd.DataFrame({"auc": [0.9, 0.8]}, index=pd.Index(["ssim", "mse"], name="score"))}


def test_values_round_trip_with_types_arrays_and_tuple_keys():
    tree, payload = artifacts.to_bytes(sample_value())
    back = artifacts.from_bytes(json.loads(json.dumps(tree)), payload)
    assert_close(back, sample_value(), rtol=0, atol=0)
    assert type(back[("AE", 2)]) is rate_distortion.TestSetCodes and back["scalar"].dtype == np.float64
    assert back["indexed"].index.name == "score"
    assert not back[("AE", 2)].codes.flags.writeable  # shared read-only, like the caches that hold them


def test_only_the_apps_own_dataclasses_are_built_back():
    with pytest.raises(TypeError, match="own dataclasses"):
        artifacts.to_bytes(dataclasses.make_dataclass("Foreign", ["a"])(1))
    for name in ("os:system", "dashboard.core.artifacts:stored", "dashboard.core.paths:Path"):
        with pytest.raises(artifacts.ArtifactError):
            artifacts.from_bytes({"__dataclass__": name, "fields": {}}, b"")


def store(root, compute, version=1, models=(), params=None):
    return artifacts.stored("test.kind", "digits", params or {"n": 3}, list(models), compute, version=version,
                            models_root=root)


def must_not_run():
    raise AssertionError("computed live although a fresh stored result exists")


def test_a_stored_result_is_used_and_a_tampered_or_stale_one_is_not(tmp_path):
    with artifacts.recording() as written:
        assert store(tmp_path, lambda: {"v": np.ones(4)})["v"].sum() == 4
    assert len(written) == 1 and written[0].parent == tmp_path / "digits" / "artifacts"
    assert store(tmp_path, must_not_run)["v"].sum() == 4
    assert store(tmp_path, lambda: "live", version=2) == "live"  # its kind's computation changed: stale
    arrays = next((tmp_path / "digits" / "artifacts").glob("*.safetensors"))
    arrays.write_bytes(arrays.read_bytes()[:-4] + b"\0\0\0\0")
    assert store(tmp_path, lambda: "live") == "live"  # tampered: the hash check refuses it


def test_a_retrained_model_or_changed_data_makes_a_result_stale(tmp_path, monkeypatch):
    for path in checkpoints.files_for(zoo.folder_for("digits"), "ae-2"):
        (tmp_path / "digits").mkdir(exist_ok=True)
        shutil.copy(path, tmp_path / "digits")
    with artifacts.recording():
        store(tmp_path, lambda: 1, models=["ae-2"])
    assert store(tmp_path, must_not_run, models=["ae-2"]) == 1
    monkeypatch.setattr(artifacts, "data_digest", lambda dataset: "another dataset")
    assert store(tmp_path, lambda: "live", models=["ae-2"]) == "live"
    monkeypatch.undo()
    card = zoo.read_card("ae-2", "digits", root=tmp_path)
    retrained = nets.build(nets.config_from_dict(card["config"]))  # other weights under the same name
    checkpoints.save(checkpoints.to_bytes(retrained), card, tmp_path / "digits", "ae-2")
    assert store(tmp_path, lambda: "live", models=["ae-2"]) == "live"


def test_a_card_of_the_old_format_or_other_parameters_is_refused_cleanly(tmp_path):
    with artifacts.recording() as written:
        store(tmp_path, lambda: 1)
    card = json.loads(written[0].read_text())
    written[0].write_text(json.dumps({**card, "params": {"n": 4}}))  # a digest collision, or a hand-edited card
    assert artifacts.stale_reason(json.loads(written[0].read_text()),
                                  artifacts.provenance("digits", {"n": 3}, [], 1, tmp_path)) == "its parameters differ"
    old = {**card, "format": 1, "code": "0" * 64, "code_files": ["dashboard/core/nets.py"]}
    written[0].write_text(json.dumps(old))
    assert store(tmp_path, lambda: "live") == "live"
    with pytest.raises(artifacts.ArtifactError, match="format 1"):
        artifacts.read(written[0].parent, written[0].stem)


def test_switched_off_it_always_computes_live(tmp_path, monkeypatch):
    with artifacts.recording():
        store(tmp_path, lambda: 1)
    monkeypatch.setenv(artifacts.DISABLE_ENV, "off")
    assert store(tmp_path, lambda: 2) == 2


def test_a_missing_or_broken_card_computes_live(tmp_path):
    assert store(tmp_path, lambda: "live") == "live"
    folder = tmp_path / "digits" / "artifacts"
    folder.mkdir(parents=True)
    (folder / f"{artifacts.stem_for('test.kind', {'n': 3})}.json").write_text("{not json")
    assert store(tmp_path, lambda: "live") == "live"


def test_results_share_the_checkpoints_file_pair(tmp_path):
    with artifacts.recording() as written:
        store(tmp_path, lambda: {"v": np.arange(3)})
    card, payload = checkpoints.read_pair(written[0].parent, written[0].stem, "Stored result")
    assert card["sha256"] == checkpoints.sha256(payload) and card["format"] == artifacts.FORMAT
    assert sorted(p.name for p in written[0].parent.iterdir()) == [written[0].name, f"{written[0].stem}.safetensors"]


@pytest.mark.parametrize(("dataset", "card"), artifacts.shipped_cards(), ids=lambda v: getattr(v, "stem", v))
def test_every_shipped_result_is_intact_and_fresh(dataset, card):
    stored, _ = artifacts.read(card.parent, card.stem)
    assert stored["kind"] in VERSIONS, f"{card.name}: a kind this test does not know; add its version above"
    reason = artifacts.stale_reason(stored, artifacts.current_provenance(stored, dataset, VERSIONS[stored["kind"]]))
    assert reason is None, f"{card.name}: {reason}; rebuild with python -m dashboard.app.precompute"
    assert card.stem == artifacts.stem_for(stored["kind"], stored["params"])
    assert not {"code", "code_files"} & set(stored), "a stored result's freshness never rests on source files"


def test_a_comment_edit_to_any_core_module_leaves_every_stored_result_fresh(tmp_path):
    """A copy of the package with a comment appended to every module under dashboard/core/ still reads every
    shipped result (nothing is computed live)."""
    copy = tmp_path / "repo"
    shutil.copytree(paths.ROOT / "dashboard", copy / "dashboard", ignore=shutil.ignore_patterns("__pycache__"))
    edited = sorted((copy / "dashboard" / "core").rglob("*.py"))
    for module in edited:
        module.write_text(module.read_text() + "\n# A comment that changes no result.\n")
    (copy / "models").symlink_to(paths.MODELS_DIR)
    script = (
        "from dashboard.core import artifacts, paths\n"
        f"assert str(paths.ROOT) == {str(copy)!r}, paths.ROOT\n"
        "def live():\n"
        "    raise SystemExit('computed live')\n"
        "count = 0\n"
        "for dataset, path in artifacts.shipped_cards():\n"
        "    card, _ = artifacts.read(path.parent, path.stem)\n"
        "    artifacts.stored(card['kind'], dataset, card['params'], list(card['models']), live,\n"
        "                     version=card['version'])\n"
        "    count += 1\n"
        "print(count)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=copy, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(edited) > 10 and int(done.stdout.split()[-1]) == len(artifacts.shipped_cards()) > 0


def test_results_are_shipped_for_every_offline_dataset():
    datasets = {dataset for dataset, _ in artifacts.shipped_cards()}
    assert {"mnist-5k", "digits"} <= datasets


def test_models_folder_stays_within_its_budget():
    # Checkpoints and stored results ship in the repository and in every deploy: they stay at most 40 MB in all.
    size = sum(p.stat().st_size for p in artifacts.paths.MODELS_DIR.rglob("*") if p.is_file())
    assert size <= 40e6, f"models/ is {size / 1e6:.1f} MB"


def test_recording_writes_what_is_asked_for_and_not_what_it_uses(tmp_path):
    def inner():
        return artifacts.stored("test.inner", "digits", {}, [], lambda: 2, models_root=tmp_path)

    with artifacts.recording() as written:
        assert store(tmp_path, lambda: inner() + 1) == 3
    assert [p.name.split("-")[0] for p in written] == ["test.kind"]
    assert not list((tmp_path / "digits" / "artifacts").glob("test.inner-*"))
