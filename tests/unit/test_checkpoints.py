"""Checkpoint I/O for every shipped network: round trips, atomic saves, and refusal of bad files with their name."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from dashboard.core import checkpoints, nets, recipes, zoo

DIGITS = "digits"
STEM = recipes.CLASSIFIER


@pytest.fixture()
def classifier_copy(tmp_path):
    """The shipped digits classifier's two files, copied where a test may break them."""
    for path in checkpoints.files_for(zoo.folder_for(DIGITS), STEM):
        shutil.copy(path, tmp_path)
    card_path, weights_path = checkpoints.files_for(tmp_path, STEM)
    return tmp_path, card_path, weights_path


def _rehash(card_path, weights_path):
    """Make the card vouch for whatever the weights file now holds, so only the later checks can refuse it."""
    card = json.loads(card_path.read_text())
    card["sha256"] = checkpoints.sha256(weights_path.read_bytes())
    card_path.write_text(json.dumps(card))


def test_shipped_classifier_loads_through_the_one_checkpoint_module(classifier_copy):
    folder, _, _ = classifier_copy
    net, card = checkpoints.load(folder, STEM, family="classifier")
    assert isinstance(net, nets.ReferenceClassifier) and not net.training
    assert card["config"]["family"] == "classifier" and card["metrics"]["test_accuracy"] >= 0.95
    shipped, _ = checkpoints.load(zoo.folder_for(DIGITS), STEM)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), shipped.state_dict().values()))


def test_a_flipped_byte_is_refused_by_hash(classifier_copy):
    folder, _, weights = classifier_copy
    payload = bytearray(weights.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    weights.write_bytes(bytes(payload))
    with pytest.raises(checkpoints.CheckpointError, match=rf"{STEM}\.safetensors.*sha256"):
        checkpoints.load(folder, STEM)


@pytest.mark.parametrize("rehash", [False, True])
def test_a_truncated_file_is_refused(classifier_copy, rehash):
    folder, card, weights = classifier_copy
    weights.write_bytes(weights.read_bytes()[:500])
    if rehash:
        _rehash(card, weights)
    with pytest.raises(checkpoints.CheckpointError, match="sha256" if not rehash else "not a valid safetensors"):
        checkpoints.load(folder, STEM)


def test_a_pickle_renamed_as_safetensors_is_never_unpickled(classifier_copy, monkeypatch):
    folder, card, weights = classifier_copy
    net, _ = checkpoints.load(folder, STEM)
    torch.save(net.state_dict(), weights)  # a pickle-based file where safetensors belongs
    _rehash(card, weights)
    monkeypatch.setattr("pickle.loads", lambda *a, **k: pytest.fail("something unpickled the checkpoint"))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("something called torch.load"))
    with pytest.raises(checkpoints.CheckpointError, match=rf"{STEM}\.safetensors is not a valid safetensors"):
        checkpoints.load(folder, STEM)


def test_a_card_that_does_not_fit_the_weights_is_refused(classifier_copy):
    folder, card_path, _ = classifier_copy
    card = json.loads(card_path.read_text())
    card["config"]["features"] = 32  # another architecture than the weights hold
    card_path.write_text(json.dumps(card))
    with pytest.raises(checkpoints.CheckpointError, match="to_features.*needs"):
        checkpoints.load(folder, STEM)


def test_foreign_and_garbage_cards_are_refused_by_name(classifier_copy, tmp_path):
    folder, card_path, weights = classifier_copy
    with pytest.raises(checkpoints.CheckpointError, match="'classifier' network, not the 'ae'"):
        checkpoints.load(folder, STEM, family="ae")
    ae_card, ae_weights = checkpoints.files_for(zoo.folder_for(DIGITS), "ae-16")
    shutil.copy(ae_card, card_path)
    shutil.copy(ae_weights, weights)
    with pytest.raises(checkpoints.CheckpointError, match="describes 'ae-16'.*foreign"):
        checkpoints.load(folder, STEM)
    card_path.write_text(json.dumps({"config": {"family": "gan"}, "sha256": "0" * 64}))
    with pytest.raises(checkpoints.CheckpointError, match=rf"{STEM}\.json is unreadable.*gan"):
        checkpoints.load(folder, STEM)
    card_path.write_text("{not json")
    with pytest.raises(checkpoints.CheckpointError, match=rf"{STEM}\.json is unreadable"):
        checkpoints.load(folder, STEM)
    with pytest.raises(FileNotFoundError):
        checkpoints.load(tmp_path / "empty", STEM)


def test_missing_weights_name_the_file(classifier_copy):
    folder, _, weights = classifier_copy
    weights.unlink()
    with pytest.raises(checkpoints.CheckpointError, match=rf"Cannot read .*{STEM}\.safetensors"):
        checkpoints.load(folder, STEM)


def test_save_is_atomic_and_round_trips_bit_exact(tmp_path, monkeypatch):
    net = nets.build(nets.ClassifierConfig(image_shape=(1, 8, 8), channels=(4, 8), features=8))
    card = checkpoints.save(checkpoints.to_bytes(net), {"config": net.config.to_dict()}, tmp_path, "tiny")
    loaded, read = checkpoints.load(tmp_path, "tiny", family="classifier")
    assert read == card and card["card_version"] == checkpoints.CARD_VERSION and card["name"] == "tiny"
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), loaded.state_dict().values()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.json", "tiny.safetensors"]  # no temp files left

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints.os, "replace", fail)  # dies after writing the temp file, before the rename
    other = nets.build(nets.ClassifierConfig(image_shape=(1, 8, 8), channels=(4, 8), features=8))
    with pytest.raises(OSError):
        checkpoints.save(checkpoints.to_bytes(other), {"config": other.config.to_dict()}, tmp_path, "tiny")
    monkeypatch.undo()
    still, _ = checkpoints.load(tmp_path, "tiny")  # the old pair is whole and still verifies
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), still.state_dict().values()))


def test_every_shipped_file_verifies():
    for plan in recipes.table():
        model, card = checkpoints.load(zoo.folder_for(plan.dataset), plan.name, family=plan.network.family)
        assert card["name"] == plan.name and card["dataset"] == plan.dataset
        assert type(model) is nets.NETWORKS[plan.network.family]
