"""Training snapshots: the callback leaves training bit-identical; files are verified like checkpoints."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from dashboard.core import build, checkpoints, data, paths, recipes, snapshots, train, zoo


@pytest.mark.parametrize("name", ["ae-2", "vae-2"])
def test_the_epoch_callback_leaves_training_bit_identical(name, one_torch_thread):
    plan = recipes.recipe(name, "digits", epochs=2, device="cpu")
    plain = train.train(plan.network, data.load("digits").x_train[:256], plan.training)
    recorder = snapshots.Recorder.for_dataset(data.load("digits"))
    watched = train.train(plan.network, data.load("digits").x_train[:256], plan.training, on_epoch=recorder)
    a, b = plain.model.state_dict(), watched.model.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert plain.history == watched.history
    assert len(recorder.codes) == 3 and np.isnan(recorder.loss[0]) and recorder.loss[1:] == watched.history
    assert recorder.codes[0].shape == (len(data.load("digits").x_test), 2) and recorder.codes[0].dtype == np.float16


@pytest.fixture(scope="module")
def built(tmp_path_factory, one_torch_thread):
    """A 2-epoch vae-2 on digits built with its snapshots into a temporary models/ folder."""
    root = tmp_path_factory.mktemp("models")
    card = build.build_one(recipes.recipe("vae-2", "digits", epochs=2, device="cpu"), root / "digits")
    return root, card


def test_recorded_last_epoch_is_the_saved_model(built):
    root, card = built
    found = snapshots.load("vae-2", "digits", root=root)
    assert found.codes.shape == (3, len(data.load("digits").x_test), 2)
    assert found.card["model_sha256"] == card["sha256"] and found.card["ends_at_shipped_weights"]
    model, _ = checkpoints.load(root / "digits", "vae-2")
    with torch.inference_mode():
        exact = model.encode(data.load("digits").x_test[found.indices]).numpy()
    np.testing.assert_allclose(found.last, exact, atol=1e-2, rtol=1e-3)
    assert np.isnan(found.loss[0]) and np.allclose(found.loss[1:], card["history"], atol=1e-5)


def _copy(built, tmp_path):
    root, _ = built
    for path in (root / "digits").iterdir():
        (tmp_path / "digits").mkdir(exist_ok=True)
        (tmp_path / "digits" / path.name).write_bytes(path.read_bytes())
    return tmp_path, *snapshots.files_for(tmp_path / "digits", "vae-2")


def test_corrupt_truncated_pickled_or_mismatched_snapshots_are_refused(built, tmp_path):
    root, card_path, tensors_path = _copy(built, tmp_path)
    good = tensors_path.read_bytes()
    card = json.loads(card_path.read_text())
    cases = {
        "corrupt": good[:-9] + bytes([good[-9] ^ 0xFF]) + good[-8:],
        "truncated": good[: len(good) // 2],
    }
    for what, payload in cases.items():
        tensors_path.write_bytes(payload)
        with pytest.raises(checkpoints.CheckpointError, match="sha256 differs") as caught:
            snapshots.load("vae-2", "digits", root=root)
        assert str(tensors_path) in str(caught.value), what
    pickled = pickle.dumps({"codes": np.zeros(3)})
    tensors_path.write_bytes(pickled)
    card_path.write_text(json.dumps({**card, "sha256": checkpoints.sha256(pickled)}))
    with pytest.raises(checkpoints.CheckpointError, match="not a valid safetensors"):
        snapshots.load("vae-2", "digits", root=root)
    tensors_path.write_bytes(good)
    card_path.write_text(json.dumps({**card, "model_sha256": "0" * 64}))  # recorded from other weights
    with pytest.raises(checkpoints.CheckpointError, match="other weights"):
        snapshots.load("vae-2", "digits", root=root)
    card_path.write_text("{not json")
    with pytest.raises(checkpoints.CheckpointError, match="unreadable"):
        snapshots.load("vae-2", "digits", root=root)
    card_path.unlink()
    with pytest.raises(FileNotFoundError):
        snapshots.load("vae-2", "digits", root=root)


def test_a_snapshot_file_with_the_wrong_layout_is_refused(built, tmp_path):
    root, card_path, tensors_path = _copy(built, tmp_path)
    from safetensors.torch import save

    payload = save({"codes": torch.zeros(3, 5, 4, dtype=torch.float16), "indices": torch.arange(5),
                    "epochs": torch.arange(3), "loss": torch.zeros(3)})  # 4 numbers a code for a 2-number model
    tensors_path.write_bytes(payload)
    card_path.write_text(json.dumps({**json.loads(card_path.read_text()), "sha256": checkpoints.sha256(payload)}))
    with pytest.raises(checkpoints.CheckpointError, match="wrong layout"):
        snapshots.load("vae-2", "digits", root=root)


@pytest.mark.parametrize("dataset", recipes.SHIPPED_DATASETS)
@pytest.mark.parametrize("name", recipes.SNAPSHOT_NAMES)
def test_shipped_snapshots_load_and_end_where_their_run_ended(dataset, name):
    try:
        found = snapshots.load(name, dataset)
    except FileNotFoundError:
        pytest.skip(f"{name} on {dataset} ships no snapshots yet: python -m dashboard.core.build --dataset "
                    f"{dataset} --only {name} --snapshots-only --threads 2")
    ds = data.load(dataset)
    card = zoo.read_card(name, dataset)
    n = min(snapshots.MAX_IMAGES, len(ds.x_test))
    assert found.codes.shape == (card["epochs"] + 1, n, card["config"]["latent_dim"])
    assert np.array_equal(found.indices, np.arange(n)) and len(found.loss) == card["epochs"] + 1
    if found.card["ends_at_shipped_weights"]:
        np.testing.assert_allclose(found.last, zoo.codes(name, dataset, "test")[:n], atol=1e-2, rtol=1e-3)
    else:  # recorded on a machine whose kernels do not reproduce the shipped weights: the card says so
        assert found.card["ended_at_sha256"] != card["sha256"]
    # The final frame is a trained map: far more spread out than the untrained clump of epoch 0.
    assert found.last.std() > 3 * found.codes[0].std()


def test_models_folder_stays_small():
    total = sum(p.stat().st_size for p in paths.MODELS_DIR.rglob("*") if p.is_file())
    assert total < 40e6  # issue 25
