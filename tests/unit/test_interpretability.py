"""Sparse autoencoders: the TopK network, its training and revival, the feature readings, PCA, and the shipped SAEs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dashboard import interpretability as interp
from dashboard.core import build, checkpoints, data, nets, recipes, sae, train, zoo

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_classifier() -> nets.ReferenceClassifier:
    torch.manual_seed(0)
    return nets.build(nets.ClassifierConfig(image_shape=(1, 8, 8), channels=(4, 8), features=8)).eval()


def sparse_data(n: int = 3000, inputs: int = 16, atoms: int = 24, active: int = 3, seed: int = 0):
    """Vectors made of `active` of `atoms` random unit directions with positive weights: what an SAE should undo."""
    g = torch.Generator().manual_seed(seed)
    dictionary = torch.nn.functional.normalize(torch.randn(atoms, inputs, generator=g), dim=1)
    codes = torch.zeros(n, atoms)
    picks = torch.stack([torch.randperm(atoms, generator=g)[:active] for _ in range(n)])
    codes.scatter_(1, picks, torch.rand(n, active, generator=g) + 0.5)
    return codes @ dictionary + 0.3


def test_topk_codes_are_sparse_non_negative_and_decoder_columns_unit_length():
    model = sae.SparseAutoencoder(sae.SAEConfig(inputs=16, width=64, k=4))
    codes = model.encode(torch.randn(50, 16))
    assert codes.shape == (50, 64) and (codes >= 0).all() and ((codes > 0).sum(1) <= 4).all()
    model.decoder_weight.data.mul_(7.0)  # the stored columns may drift; the ones in use stay unit length
    assert torch.allclose(model.directions().norm(dim=0), torch.ones(64), atol=1e-5)
    assert model.decode(codes).shape == (50, 16)
    with pytest.raises(ValueError, match="k must be"):
        sae.SAEConfig(width=8, k=9)


def test_training_through_the_one_loop_learns_to_rebuild_sparse_data():
    x = sparse_data()
    config = sae.SAEConfig(inputs=16, width=64, k=4, window=20, views=1)
    result = train.train(config, x, train.TrainConfig(epochs=15, batch_size=128, lr=3e-3, weight_decay=0.0,
                                                     shift=0, device="cpu"))
    model = result.model
    with torch.no_grad():
        codes = model.encode(x)
        fve = 1 - (model.decode(codes) - x).pow(2).sum() / (x - x.mean(0)).pow(2).sum()
    assert fve > 0.75 and result.history[-1] < 0.5 * result.history[0]
    assert ((codes > 0).any(0)).float().mean() > 0.8  # a start on data points keeps the latents in use


def test_the_selection_bias_helps_rare_latents_in_and_never_adds_to_a_value():
    model = sae.SparseAutoencoder(sae.SAEConfig(inputs=16, width=32, k=4, balance=0.1)).train()
    x = sparse_data(256)
    model.rate[:5] = 0.0  # five latents that have not fired for long
    model.rate[5:10] = 0.5  # five that fire on half the inputs, of which two were helped before
    model.selection_bias[5:7] = 1.0
    model.loss(x)
    assert (model.selection_bias[:5] > 0).all()  # raised
    assert (model.selection_bias[5:7] < 1.0).all() and (model.selection_bias[7:10] == 0).all()  # help withdrawn
    assert (model.selection_bias[10:] == 0).all()  # the rest are left to the loss
    with torch.no_grad():
        model.selection_bias[:] = torch.linspace(0, 5, 32)
        pre, codes = model.pre_activations(x[:20]), model.encode(x[:20])
    kept = codes > 0
    assert torch.allclose(codes[kept], pre[kept]) and ((codes > 0).sum(1) <= 4).all()
    assert not torch.equal(codes > 0, sae.top_k(pre, 4) > 0)  # the bias changed which latents were chosen


def test_top_purity_counts_the_commonest_class_among_the_top_rows():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    scores = torch.tensor([[5.0, 0.0], [4.0, 0.0], [3.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    purity = sae.top_purity(scores, labels, top=3)
    assert purity[0] == pytest.approx(2 / 3) and purity[1] == pytest.approx(1.0)  # one firing row, of class 1
    assert math.isnan(float(sae.top_purity(torch.zeros(6, 1), labels, top=3)[0]))


def test_evaluate_scores_a_perfect_sae_and_a_broken_one():
    classifier = tiny_classifier()
    images, labels = torch.rand(40, 1, 8, 8), torch.randint(0, 10, (40,))
    model = sae.SparseAutoencoder(sae.SAEConfig(inputs=8, width=8, k=8))
    with torch.no_grad():  # an identity dictionary with every latent kept rebuilds the ReLU features exactly
        model.decoder_weight.copy_(torch.eye(8))
        model.encoder.weight.copy_(torch.eye(8))
    scores = sae.evaluate(model, classifier, images, labels)
    assert scores["fve"] == pytest.approx(1.0, abs=1e-5) and scores["accuracy_kept"] == pytest.approx(1.0)
    with torch.no_grad():
        model.encoder.weight.mul_(-1.0)  # nothing fires any more
    broken = sae.evaluate(model, classifier, images, labels)
    assert broken["l0"] == 0 and broken["dead_fraction"] == 1.0 and broken["fve"] < 0.5


def test_describe_top_images_and_purity_from_a_features_values():
    labels = np.array([7, 7, 7, 1, 2, 2])
    values = np.array([3.0, 2.0, 1.0, 0.5, 0.0, 0.0])
    assert list(interp.top_images(values, 10)) == [0, 1, 2, 3]
    assert interp.purity(values, labels, 3) == (7, 1.0)
    classes = [str(i) for i in range(10)]
    assert interp.describe(values, labels, classes, 3) == "only 7s in its top 3; 7s are 75% of the 4 digits it fires on"
    assert interp.describe(values, labels, classes, 4) == "7s (3 of its top 4); also 1s"
    assert interp.describe(np.zeros(6), labels, classes) == "never fires on these images"


def test_logit_effect_matches_steering_and_steering_to_the_same_value_changes_nothing():
    classifier = tiny_classifier()
    model = sae.SparseAutoencoder(sae.SAEConfig(inputs=8, width=32, k=4))
    image = torch.rand(1, 8, 8)
    kept = interp.steer(model, classifier, image, 3, 0.0)
    same = interp.steer(model, classifier, image, 3, kept.original)
    assert np.allclose(same.before, same.after, atol=1e-6)
    a = classifier.features(image[None])
    codes = model.encode(a)
    error = a - model.decode(codes)
    bumped = codes.clone()
    bumped[0, 3] += 1.0
    with torch.no_grad():
        delta = classifier.head(model.decode(bumped) + error) - classifier.head(model.decode(codes) + error)
    assert np.allclose(delta[0].numpy(), interp.logit_effect(model, classifier, 3), atol=1e-5)


def test_attribution_is_gradient_times_input_and_breakdown_shares_add_up():
    classifier = tiny_classifier()
    model = sae.SparseAutoencoder(sae.SAEConfig(inputs=8, width=32, k=4))
    images = torch.rand(3, 1, 8, 8)
    maps = interp.attribution(model, classifier, images, 5)
    assert maps.shape == (3, 8, 8)
    x = images[1:2].clone().requires_grad_(True)
    model.pre_activations(classifier.features(x))[0, 5].backward()
    assert np.allclose(maps[1], (x.grad * x)[0, 0].detach().numpy(), atol=1e-6)
    parts = interp.breakdown(model, classifier, images[0])
    assert len(parts.features) <= 4 and parts.shares.sum() == pytest.approx(1.0, abs=1e-6)
    assert list(parts.values) == sorted(parts.values, reverse=True)


def test_pca_directions_rebuild_everything_and_purity_takes_the_better_end():
    x = sparse_data(500).numpy()
    found = interp.fit(x)
    assert np.allclose(found.components @ found.components.T, np.eye(16), atol=1e-8)
    assert found.fve(x, 16) == pytest.approx(1.0, abs=1e-9) and found.fve(x, 2) < found.fve(x, 4)
    assert found.explained.sum() == pytest.approx(1.0) and (np.diff(found.explained) <= 1e-12).all()
    labels = np.array([0] * 10 + [1] * 10 + [2] * 10)
    scores = np.concatenate([np.linspace(-3, -2, 10), np.zeros(10) + 0.1, np.linspace(0.2, 0.3, 10)])[:, None]
    scores[10:15] = 1.0  # the top end mixes classes 1 and 2; the bottom end is all class 0
    assert interp.end_purity(scores, labels)[0] == pytest.approx(1.0)
    codes = np.zeros((30, 2))
    codes[:12, 0] = np.linspace(2.0, 1.0, 12)
    purity = interp.feature_purity(codes, labels)
    assert purity[0] == pytest.approx(1.0) and np.isnan(purity[1])


# ---------------------------------------------------------------- the shipped SAEs
@pytest.mark.parametrize("dataset", data.OFFLINE_DATASETS)
def test_the_shipped_sae_loads_by_name_and_its_card_records_what_it_reads(dataset):
    model = zoo.load("sae-512", dataset=dataset)
    classifier = zoo.load("reference-classifier", dataset=dataset)
    assert isinstance(model, sae.SparseAutoencoder) and isinstance(classifier, nets.ReferenceClassifier)
    card = zoo.read_card("sae-512", dataset)
    assert (card["config"]["layer"], card["config"]["source"], card["config"]["width"]) == (
        "features", recipes.CLASSIFIER, 512)
    assert card["source_sha256"] == zoo.read_card(recipes.CLASSIFIER, dataset)["sha256"]
    ds = data.load(dataset)
    a = classifier.features(ds.x_test[:5])
    codes = model.encode(a)
    assert codes.shape == (5, 512) and ((codes > 0).sum(1) <= card["config"]["k"]).all()
    assert model.decode(codes).shape == a.shape
    assert "sae-512" not in zoo.names(dataset)  # the zoo lists autoencoders of images only


def test_the_shipped_mnist_sae_meets_its_targets_on_the_test_split():
    """The issue's SAEBench-style targets; tolerances cover other CPUs' rounding, not a weaker model."""
    ds = data.load("mnist-5k")
    scores = sae.evaluate(zoo.load("sae-512", "mnist-5k"), zoo.load("reference-classifier", "mnist-5k"),
                          ds.x_test, ds.y_test)
    card = zoo.read_card("sae-512", "mnist-5k")["metrics"]
    assert scores["fve"] == pytest.approx(card["fve"], abs=1e-3) and scores["fve"] >= 0.90
    assert scores["l0"] <= 16
    assert scores["dead_fraction"] <= 0.05 + 2 / 512 and scores["dense_fraction"] <= 0.05
    assert scores["accuracy_kept"] >= 0.98 - 0.002
    assert scores["median_top10_purity"] >= 0.8


def test_the_documented_command_rebuilds_the_digits_sae(tmp_path, capsys):
    """About 30 s on one idle core; other CPUs round differently, so its scores come back close, not equal."""
    build.main(["--dataset", "digits", "--only", "sae-512", "--device", "cpu", "--out", str(tmp_path)])
    assert "| sae-512 | 30 |" in capsys.readouterr().out
    card, shipped = zoo.read_card("sae-512", "digits", root=tmp_path), zoo.read_card("sae-512", "digits")
    for key in ("fve", "accuracy_kept"):
        assert card["metrics"][key] == pytest.approx(shipped["metrics"][key], rel=0.05)
    assert card["rebuild"] == shipped["rebuild"] and card["source_sha256"] == shipped["source_sha256"]
    assert nets.config_from_dict(card["config"]) == recipes.recipe("sae-512", "digits").network


def test_a_missing_source_or_unknown_name_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="Bad model name"):
        zoo.load("sae-foo", "digits")
    with pytest.raises(zoo.ModelNotFound):
        zoo.load("sae-512", "digits", root=tmp_path)
    with pytest.raises(checkpoints.CheckpointError, match="not the 'ae'"):
        checkpoints.load(zoo.folder_for("digits"), "sae-512", family="ae")
