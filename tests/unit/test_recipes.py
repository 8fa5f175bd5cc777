"""The recipe table: it describes every file under models/ and nothing else, and one recipe rebuilds its card."""

from __future__ import annotations

import json

import pytest
import torch

from dashboard.core import artifacts, build, checkpoints, data, nets, paths, recipes, train, zoo

DIGITS = "digits"
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one thread is faster on a shared machine
# Retraining a recipe repeats the shipped run bit for bit on the machine that made it; elsewhere other CPU kernels
# round differently and 120 epochs amplify that, so the card's metric comes back within a few percent, not exactly.
RELATIVE_TOLERANCE = 0.05


def test_the_table_covers_every_file_under_models_and_nothing_else():
    planned = {(plan.dataset, plan.name) for plan in recipes.table()}
    # Each recorded model also ships its training snapshots (name.snapshots.safetensors beside name.snapshots.json).
    planned |= {(plan.dataset, f"{plan.name}.snapshots") for plan in recipes.table()
                if plan.name in recipes.SNAPSHOT_NAMES}
    # The build's stored page results sit in <dataset>/artifacts/; tests/unit/test_artifacts.py checks those.
    files = [p.relative_to(paths.MODELS_DIR) for p in paths.MODELS_DIR.rglob("*")
             if p.is_file() and p.parent.name != artifacts.FOLDER]
    shipped = {(p.parent.as_posix(), p.stem) for p in files}
    assert shipped == planned
    assert sorted(p.suffix for p in files) == sorted([".json", ".safetensors"] * len(planned))
    assert "dae-64" in zoo.ZOO_NAMES and recipes.CLASSIFIER not in zoo.names(DIGITS)
    assert sum(p.stat().st_size for p in paths.MODELS_DIR.rglob("*")) < 40e6


@pytest.mark.parametrize("plan", recipes.table(), ids=lambda plan: f"{plan.dataset}/{plan.name}")
def test_each_card_records_its_recipe(plan):
    card = json.loads(checkpoints.files_for(zoo.folder_for(plan.dataset), plan.name)[0].read_text())
    # Cards written before a config field existed lack it; its default rebuilds the network they were trained as.
    assert nets.config_from_dict(card["config"]) == plan.network
    assert set(card["config"]) <= set(plan.network.to_dict())
    # The device is where a run happened, not part of the recipe; every other training setting is.
    assert {**card["train_config"], "device": "auto"} == plan.training.to_dict()
    assert card["rebuild"] == plan.command and card["epochs"] == plan.training.epochs
    assert card["card_version"] == checkpoints.CARD_VERSION and card["metrics"]


def test_recipes_follow_image_size_and_name_their_exceptions():
    mnist = recipes.recipe("ae-16", "mnist-5k")
    assert mnist.training == recipes.AUTOENCODER_TRAINING[False] and mnist.training.batch_size == 64
    assert (mnist.network.recon_loss, mnist.network.batch_norm) == ("mse", True)
    assert recipes.recipe("vae-16", "mnist-5k").network.recon_loss == "bce"  # the VAE keeps its Bernoulli decoder
    assert recipes.recipe("dae-16", "mnist-5k").network.noise == nets.EACH_IMAGE_MIX
    small = recipes.recipe("ae-16", DIGITS)  # 8x8 digits keep the networks and training they shipped with
    assert small.training == train.TrainConfig(epochs=120, batch_size=64, shift=0)
    assert small.network == nets.default_config("ae", 16, (1, 8, 8))
    dae = recipes.recipe("dae-64", DIGITS).training
    assert (dae.epochs, dae.batch_size, dae.shift) == (60, 32, 0)
    assert recipes.recipe("dae-64", "mnist-5k").training.epochs > mnist.training.epochs
    classifier = recipes.recipe(recipes.CLASSIFIER, DIGITS)
    assert classifier.network.channels == (32, 64) and classifier.training.warmup == 0.2
    assert recipes.recipe("vae-5", DIGITS, epochs=1, device="cpu").training.epochs == 1  # any name trains on demand
    with pytest.raises(ValueError, match="family ae, vae or dae"):
        recipes.recipe("gan-16", DIGITS)


def test_one_recipe_rebuilt_gives_its_card_back(tmp_path, capsys):
    """digits/vae-2 through the documented command: about 17 s on one idle CPU core (its card says so)."""
    shipped = zoo.read_card("vae-2", DIGITS)
    build.main(["--dataset", DIGITS, "--only", "vae-2", "--device", "cpu", "--out", str(tmp_path)])
    assert "| vae-2 | 120 |" in capsys.readouterr().out
    card = zoo.read_card("vae-2", DIGITS, root=tmp_path)
    for key in ("test_mse", "test_psnr"):
        assert card["metrics"][key] == pytest.approx(shipped["metrics"][key], rel=RELATIVE_TOLERANCE)
    assert card["metrics"]["pca_mse"] == pytest.approx(shipped["metrics"]["pca_mse"], abs=1e-9)
    assert nets.config_from_dict(card["config"]) == nets.config_from_dict(shipped["config"])
    assert card["rebuild"] == shipped["rebuild"]
    assert zoo.load("vae-2", DIGITS, root=tmp_path).encode(torch.rand(2, 1, 8, 8)).shape == (2, 2)


def test_the_classifier_trains_through_the_one_loop_repeatably():
    ds = data.load(DIGITS)
    plan = recipes.recipe(recipes.CLASSIFIER, DIGITS, epochs=2, shift=1, device="cpu")
    small = recipes.Recipe(plan.name, plan.dataset, plan.network, plan.training)
    first, card, payload = recipes.make(small, x_train=ds.x_train[:300], y_train=ds.y_train[:300])
    second, _, again = recipes.make(small, x_train=ds.x_train[:300], y_train=ds.y_train[:300])
    assert payload == again and len(first.history) == 2 and first.history[-1] < first.history[0]
    assert card["test_accuracy"] == card["metrics"]["test_accuracy"] > 0.15  # two epochs on 300 images beat chance
    assert card["rebuild"] is None  # a subset run is not the table's recipe
    with pytest.raises(ValueError, match="labelled"):
        recipes.make(small, x_train=ds.x_train[:300])


def test_build_trains_recipes_in_parallel_worker_processes(tmp_path, capsys):
    build.main(["--dataset", DIGITS, "--only", "ae-2", "vae-2", "--device", "cpu", "--epochs", "1", "--jobs", "2",
                "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "2 worker processes of 1 torch thread" in out and f"| {DIGITS} | ae-2 | 1 |" in out
    for name in ("ae-2", "vae-2"):
        card = zoo.read_card(name, DIGITS, root=tmp_path)
        assert card["device"] == "CPU (1 thread)" and card["epochs"] == 1
        assert zoo.load(name, DIGITS, root=tmp_path).encode(torch.rand(2, 1, 8, 8)).shape == (2, 2)
    assert (tmp_path / DIGITS / "vae-2.snapshots.json").exists()  # recorded models keep their snapshots
    with pytest.raises(SystemExit):
        build.main(["--jobs", "0", "--list"])


def test_build_refuses_unknown_names():
    with pytest.raises(SystemExit):
        build.main(["--only", "gan-3", "--list"])
