"""Unit tests of the anomaly-detection logic: scores, AUROC, threshold rules, operating points, scenarios."""

from __future__ import annotations

import importlib
import importlib.util
import time
import urllib.error

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from dashboard import anomaly
from dashboard.core import data
from dashboard.viz import anomaly_charts

DATASET = "digits"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# --- AUROC and average precision come from continuous scores -------------------------------------------------

def brute_force_auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """P(anomaly score > normal score) + half the ties, over every (anomaly, normal) pair."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (len(pos) * len(neg))


def test_auroc_uses_the_ranking_not_flags():
    labels = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.25, 0.6, 0.9])
    # Eight of the nine (anomaly, normal) pairs are ordered correctly: 0.25 only beats 0.1 and 0.2.
    assert anomaly.auroc(labels, scores) == pytest.approx(8 / 9)
    flags = (scores > 0.5).astype(float)
    # Flags at 0.5 lose the ranking of 0.25 above two normals: the answer would be 7.5 / 9.
    assert anomaly.auroc(labels, flags) == pytest.approx(7.5 / 9)
    assert anomaly.auroc(labels, scores) != pytest.approx(anomaly.auroc(labels, flags))


def test_auroc_matches_pairwise_definition_on_random_scores():
    rng = np.random.default_rng(1)
    labels = (rng.random(300) < 0.3).astype(int)
    scores = rng.normal(size=300) + labels * 0.8
    scores[:20] = np.round(scores[:20])  # some ties
    assert anomaly.auroc(labels, scores) == pytest.approx(brute_force_auroc(labels, scores))
    assert anomaly.auroc(labels, -scores) == pytest.approx(1 - brute_force_auroc(labels, scores))


def test_auroc_is_undefined_without_both_kinds():
    assert np.isnan(anomaly.auroc(np.zeros(5), np.arange(5.0)))


def test_average_precision_on_known_ranking():
    # Ranked: anomaly (precision 1/1), normal, anomaly (precision 2/3): AP = (1 + 2/3) / 2.
    assert anomaly.average_precision(np.array([1, 0, 1]), np.array([0.9, 0.8, 0.7])) == pytest.approx(5 / 6)


# --- threshold rules on known data ---------------------------------------------------------------------------

def test_percentile_rule():
    train = np.arange(101.0)  # 0..100
    assert anomaly.threshold_percentile(train, 90) == pytest.approx(90.0)
    assert anomaly.threshold_percentile(train, 100) == pytest.approx(100.0)
    with pytest.raises(ValueError):
        anomaly.threshold_percentile(train, 101)


def test_sigma_rule():
    train = np.array([1.0, 2.0, 3.0, 4.0, 5.0])  # mean 3, population std sqrt(2)
    assert anomaly.threshold_sigma(train, 2.0) == pytest.approx(3 + 2 * np.sqrt(2))
    assert anomaly.threshold_sigma(train, 0.0) == pytest.approx(3.0)


def test_best_f1_rule_picks_the_f1_maximum():
    labels = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.35, 0.5, 0.25])
    threshold = anomaly.threshold_best_f1(labels, scores)
    # Flagging above 0.225 catches all three anomalies with one false alarm: F1 = 6/7, the best available.
    assert threshold == pytest.approx(0.225)
    best = anomaly.operating_point(labels, scores, threshold).f1
    assert best == pytest.approx(6 / 7)
    for t in np.linspace(0, 1, 201):
        assert anomaly.operating_point(labels, scores, t).f1 <= best + 1e-12


def test_best_f1_rule_needs_anomalies():
    with pytest.raises(ValueError, match="labelled anomaly"):
        anomaly.threshold_best_f1(np.zeros(4), np.arange(4.0))


def test_every_rule_has_a_plain_assumption():
    for rule in anomaly.THRESHOLD_RULES.values():
        assert rule.assumption.startswith("Assumes")
        assert rule.assumption.count(". ") == 0 and rule.assumption.endswith(".")  # one sentence


# --- operating points ------------------------------------------------------------------------------------------

def make_evaluation(seed: int = 0) -> anomaly.Evaluation:
    rng = np.random.default_rng(seed)
    labels = np.r_[np.zeros(80), np.ones(20)].astype(int)
    scores = np.round(rng.normal(size=100) + labels * 1.5, 2)  # rounding creates ties at the thresholds
    train = rng.normal(size=200)
    val_labels = np.r_[np.zeros(40), np.ones(10)].astype(int)
    val = rng.normal(size=50) + val_labels * 1.5
    return anomaly.Evaluation("mse", scores, labels, train, val, val_labels)


def test_confusion_counts_consistent_with_threshold():
    evaluation = make_evaluation()
    thresholds = np.r_[np.linspace(-4, 5, 50), evaluation.scores[:10]]  # exact scores probe the '>' rule
    previous_flagged = None
    for t in np.sort(thresholds):
        point = evaluation.at(t)
        direct = anomaly.operating_point(evaluation.labels, evaluation.scores, t)
        assert (point.tp, point.fp, point.tn, point.fn) == (direct.tp, direct.fp, direct.tn, direct.fn)
        assert point.tp + point.fn == 20 and point.fp + point.tn == 80
        assert point.flagged == int((evaluation.scores > t).sum())
        if previous_flagged is not None:
            assert point.flagged <= previous_flagged  # a higher threshold never flags more
        previous_flagged = point.flagged
    everything = evaluation.at(evaluation.scores.min() - 1)
    assert (everything.tp, everything.fp) == (20, 80) and everything.recall == 1.0
    nothing = evaluation.at(evaluation.scores.max())
    assert nothing.flagged == 0 and nothing.precision == 1.0 and nothing.f1 == 0.0


def test_metrics_at_threshold_follow_from_counts():
    point = anomaly.OperatingPoint(0.5, tp=30, fp=10, tn=50, fn=10)
    assert point.precision == pytest.approx(0.75)
    assert point.recall == pytest.approx(0.75)
    assert point.f1 == pytest.approx(0.75)
    assert point.false_positive_rate == pytest.approx(10 / 60)
    assert point.confusion().tolist() == [[50, 10], [10, 30]]


def test_evaluation_rules_and_curves():
    evaluation = make_evaluation()
    assert evaluation.threshold("percentile", 95) == pytest.approx(np.percentile(evaluation.train_scores, 95))
    assert evaluation.threshold("sigma", 2) == pytest.approx(evaluation.train_scores.mean()
                                                             + 2 * evaluation.train_scores.std())
    assert evaluation.threshold("best-f1") == anomaly.threshold_best_f1(evaluation.val_labels, evaluation.val_scores)
    fpr, tpr, _ = evaluation.roc
    assert np.trapezoid(tpr, fpr) == pytest.approx(evaluation.auroc)
    top, bottom = evaluation.extremes(5)
    assert evaluation.scores[top[0]] == evaluation.scores.max()
    assert evaluation.scores[bottom[0]] == evaluation.scores.min()
    assert evaluation.rank_of(evaluation.scores.max() + 1) == 1.0


def test_moving_the_threshold_is_cheap():
    rng = np.random.default_rng(0)
    labels = (rng.random(100_000) < 0.1).astype(int)
    evaluation = anomaly.Evaluation("mse", rng.random(100_000), labels, rng.random(10), rng.random(10),
                                    np.array([0, 1] * 5))
    start = time.perf_counter()
    for t in np.linspace(0, 1, 1000):
        evaluation.at(t)
    assert time.perf_counter() - start < 0.5  # binary search: far below a millisecond per threshold


# --- scores --------------------------------------------------------------------------------------------------

def test_ssim_score_matches_scikit_image():
    ds = data.load(DATASET)
    x = ds.x_test[:6]
    noisy = (x + 0.2 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    expected = [1 - structural_similarity(a[0].double().numpy(), b[0].double().numpy(), data_range=1.0, win_size=7)
                for a, b in zip(x, noisy)]
    assert anomaly.score_pairs(x, noisy, "ssim") == pytest.approx(expected, abs=1e-9)
    assert anomaly.score_pairs(x, x, "ssim") == pytest.approx(np.zeros(6), abs=1e-9)


def test_the_score_registry_names_every_score_and_refuses_unknown_keys():
    assert [score.key for score in anomaly.SCORES] == list(anomaly.SCORE_KINDS)
    for score in anomaly.SCORES:
        assert score.label and score.short and score.explanation
        assert anomaly.score_kind(score.key) is score
    with pytest.raises(ValueError, match="Unknown score 'psnr'"):
        anomaly.score_kind("psnr")
    x = torch.rand(2, 1, 8, 8)
    for call in (lambda: anomaly.score_pairs(x, x, "psnr"), lambda: anomaly.error_maps(x, x, "psnr")):
        with pytest.raises(ValueError, match="Unknown score"):
            call()
    with pytest.raises(ValueError, match="needs the model's codes"):
        anomaly.score_pairs(x, x, "combined")


def test_error_maps_have_image_shape_and_locate_damage():
    x = torch.zeros(2, 1, 28, 28)
    damaged = x.clone()
    damaged[:, :, 2:6, 20:24] = 1.0  # a bright block in the top-right corner
    for kind in anomaly.SCORE_KINDS:
        maps = anomaly.error_maps(x, damaged, kind)
        assert maps.shape == (2, 28, 28)
        top_right, bottom_left = maps[:, :10, 16:].mean(), maps[:, 18:, :10].mean()
        assert top_right > 10 * bottom_left + 1e-6
    assert anomaly.score_pairs(x, damaged, "mse") == pytest.approx([16 / 784] * 2)


# --- scenarios -----------------------------------------------------------------------------------------------

def test_one_class_split():
    ds = data.load(DATASET)
    split = anomaly.make_split(DATASET, "one-class", digit=3)
    assert split.x_train.shape[1:] == ds.image_shape
    train_counts = (ds.y_train == 3).sum().item()
    # Training uses 80% of the digit's training images; the rest are the validation normals.
    assert len(split.x_train) + (split.y_val == 0).sum() == train_counts
    assert np.array_equal(split.y_test, (ds.y_test.numpy() != 3).astype(int))
    assert all(name == "3" for name, y in zip(split.test_names, split.y_test) if y == 0)
    assert 0 < split.y_val.mean() < 1
    # No validation image is also a training image.
    flat_train = {tuple(row) for row in split.x_train.reshape(len(split.x_train), -1).numpy().round(4)}
    assert not any(tuple(row) in flat_train for row in split.x_val.reshape(len(split.x_val), -1).numpy().round(4))


def test_novelty_split_hides_the_digit_from_training():
    ds = data.load(DATASET)
    split = anomaly.make_split(DATASET, "novelty", digit=7)
    sevens = ds.x_train[ds.y_train == 7].reshape(-1, 64)
    train_flat = split.x_train.reshape(len(split.x_train), -1)
    assert not any(torch.equal(row, seven) for row in train_flat[:200] for seven in sevens)
    assert np.array_equal(split.y_test, (ds.y_test.numpy() == 7).astype(int))
    assert split.y_val.sum() > 0
    with pytest.raises(ValueError):
        anomaly.make_split(DATASET, "novelty", digit=None)


@pytest.mark.parametrize("kind", list(anomaly.CORRUPTIONS))
def test_corrupted_split_damages_only_the_anomalies(kind):
    ds = data.load(DATASET)
    split = anomaly.make_split(DATASET, "corrupted", corruption=kind)
    assert abs(split.y_test.mean() - 0.5) < 0.01 and abs(split.y_val.mean() - 0.5) < 0.01
    assert len(split.x_test) + len(split.x_val) == len(ds.x_test)
    originals = {tuple(row) for row in ds.x_test.reshape(len(ds.x_test), -1).numpy().round(5)}
    kept = [tuple(row) in originals for row in split.x_test.reshape(len(split.x_test), -1).numpy().round(5)]
    assert all(k for k, y in zip(kept, split.y_test) if y == 0)  # normal images are untouched
    assert np.mean([not k for k, y in zip(kept, split.y_test) if y == 1]) > 0.9
    again = anomaly.make_split(DATASET, "corrupted", corruption=kind)
    assert torch.equal(split.x_test, again.x_test)  # seeded


def test_corruptions():
    x = data.load(DATASET).x_test[:4]
    assert torch.allclose(anomaly.corrupt_images(x, "inversion", 1.0), 1 - x)
    assert torch.allclose(anomaly.corrupt_images(x, "rotation", 180.0), x.flip(-1).flip(-2), atol=1e-5)
    assert not torch.allclose(anomaly.corrupt_images(x, "rotation", 90.0), x)
    with pytest.raises(ValueError):
        anomaly.corrupt_images(x, "rotation", 500.0)
    with pytest.raises(ValueError):
        anomaly.corrupt_images(x, "melt", 0.5)


def test_ood_offline_is_a_quick_clear_failure(monkeypatch, tmp_path):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    assert not anomaly.ood_available()
    # The loader's one-time import of torchvision takes 1.7 s on an idle machine and several on a busy one; it is
    # not the wait this test guards against (a network try that hangs), so it happens before the clock starts.
    if importlib.util.find_spec("torchvision") is not None:
        importlib.import_module("torchvision")
    start = time.perf_counter()
    with pytest.raises(anomaly.ScenarioUnavailable, match="Fashion-MNIST is unavailable"):
        anomaly.make_split(DATASET, "ood")
    assert time.perf_counter() - start < 2.0


def test_ood_split_with_a_stand_in_dataset(monkeypatch):
    digits = data.load(DATASET)
    # Stand-in "clothing": 16x16 random blobs, so the resize path runs too.
    fake = data.Dataset("fashion-mnist", torch.rand(50, 1, 16, 16), torch.zeros(50, dtype=torch.int64),
                        torch.rand(400, 1, 16, 16), torch.arange(400) % 10, data.FASHION_CLASSES)
    real_load = data.load
    monkeypatch.setattr(data, "load", lambda name, progress=None: fake if name == "fashion-mnist"
                        else real_load(name))
    split = anomaly.make_split(DATASET, "ood")
    assert split.x_test.shape[1:] == digits.image_shape
    assert split.y_test.mean() == pytest.approx(0.5)
    assert split.test_names[-1] in data.FASHION_CLASSES


def test_unknown_scenario():
    with pytest.raises(ValueError, match="Unknown scenario"):
        anomaly.make_split(DATASET, "telepathy")


# --- detectors and baselines on real (small) data ----------------------------------------------------------------

@pytest.fixture(scope="module")
def one_class_zero():
    split = anomaly.make_split(DATASET, "one-class", digit=0)
    seen = []
    result = anomaly.train_detector(split, progress=lambda epoch, epochs, loss: seen.append((epoch, epochs)))
    return split, result, seen


def test_detector_trains_with_progress_and_separates_digits(one_class_zero):
    split, result, seen = one_class_zero
    assert seen and seen[-1][0] == seen[-1][1] == result.epochs_done
    evaluation = anomaly.evaluate(result.model, split, "mse")
    assert evaluation.auroc > 0.9
    assert evaluation.train_scores.mean() < evaluation.scores[split.y_test == 1].mean()


def test_detector_training_leaves_the_thread_policy_alone():
    """The app sets torch's threads once for the process; a session's training must not change them for everyone."""
    split = anomaly.make_split(DATASET, "one-class", digit=4)
    before = torch.get_num_threads()
    during = []
    torch.set_num_threads(2)
    try:
        anomaly.train_detector(split, anomaly.DetectorConfig(steps=4, min_epochs=1),
                               progress=lambda *_: during.append(torch.get_num_threads()))
        assert during and set(during) == {2} and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_detector_is_deterministic():
    split = anomaly.make_split(DATASET, "one-class", digit=4)
    short = anomaly.DetectorConfig(steps=20, min_epochs=1)
    first, second = anomaly.train_detector(split, short), anomaly.train_detector(split, short)
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(a, b)
    other_seed = anomaly.train_detector(split, anomaly.DetectorConfig(steps=20, min_epochs=1, seed=1))
    assert not torch.equal(first.model.to_latent.weight, other_seed.model.to_latent.weight)


def test_explain_and_csv(one_class_zero):
    split, result, _ = one_class_zero
    evaluation = anomaly.evaluate(result.model, split, "combined")
    shown = anomaly.explain(result.model, split.x_test[:3], evaluation.kind, anomaly.reference_for(result.model, split))
    assert [s.score for s in shown] == pytest.approx(list(evaluation.scores[:3]), rel=1e-5)
    assert shown[0].error_map.shape == split.x_test.shape[2:]
    threshold = evaluation.threshold("percentile", 95)
    text = anomaly.scores_csv(split, evaluation, threshold)
    lines = text.strip().splitlines()
    assert lines[0].startswith("# scenario=one-class")
    assert len(lines) == 2 + len(split.x_test)
    assert sum(line.endswith(",True") for line in lines[2:]) == evaluation.at(threshold).flagged


def test_baselines_rank_anomalies(one_class_zero):
    split, _, _ = one_class_zero
    table = anomaly.baseline_aurocs(split)
    assert set(table) == set(anomaly.BASELINES)
    assert all(0.8 < value <= 1.0 for value in table.values())


def test_baselines_are_fitted_once_per_set_of_training_images():
    noise = anomaly.make_split(DATASET, "corrupted", corruption="noise")
    rotation = anomaly.make_split(DATASET, "corrupted", corruption="rotation")
    # Every shipped-model scenario trains on all training images, so they share one fit; a one-class split does not.
    assert anomaly.fit_baselines(noise) is anomaly.fit_baselines(rotation)
    assert anomaly.fit_baselines(noise) is not anomaly.fit_baselines(anomaly.make_split(DATASET, "one-class", digit=0))


# --- charts --------------------------------------------------------------------------------------------------

def test_threshold_and_operating_point_layer_onto_a_copy_of_the_cached_spec():
    evaluation = make_evaluation()
    histogram, roc = anomaly_charts.histogram_spec(evaluation), anomaly_charts.curve_spec(evaluation, "roc")
    layers = len(histogram["layer"]), len(roc["layer"])
    marked = anomaly_charts.with_threshold(histogram, 0.5, {"your image": 1.0})
    dotted = anomaly_charts.with_operating_point(roc, "roc", evaluation.at(0.5))
    assert len(marked["layer"]) == layers[0] + 4 and len(dotted["layer"]) == layers[1] + 1
    assert (len(histogram["layer"]), len(roc["layer"])) == layers  # the cached specs are shared: never mutated
    shares = {}
    for row in histogram["layer"][0]["data"]["values"]:
        shares[row["group"]] = shares.get(row["group"], 0.0) + row["share"]
    assert shares == pytest.approx({"normal (80)": 1.0, "anomalous (20)": 1.0})


def contrast(color: str, background: tuple[int, int, int]) -> float:
    """WCAG contrast ratio between a '#rrggbb' colour and an RGB background."""
    def luminance(rgb):
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in rgb)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    pair = sorted([luminance(tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))), luminance(background)])
    return (pair[1] + 0.05) / (pair[0] + 0.05)


LIGHT, DARK = (255, 255, 255), (17, 22, 29)  # the two themes' backgrounds (.streamlit/config.toml)


def test_the_threshold_marks_read_on_the_light_and_the_dark_theme():
    # Issue 14: the black threshold line, its label and the curves' dot vanished on the dark background.
    assert contrast(anomaly_charts.THRESHOLD_COLOR, LIGHT) >= 3 and contrast(anomaly_charts.THRESHOLD_COLOR, DARK) >= 3


def test_the_latent_view_leaves_the_scene_the_full_width():
    evaluation = make_evaluation()
    points = np.random.default_rng(0).normal(size=(len(evaluation.scores), 3))
    figure = anomaly_charts.latent_figure(points, evaluation, [str(i) for i in range(len(points))])
    bars = [t.marker.colorbar for t in figure.data if t.marker.showscale]
    assert len(bars) == 1 and bars[0].orientation == "h"  # under the scene, not beside it (a phone's width)
    assert figure.layout.legend.y is None or figure.layout.legend.y <= 0.1  # not on top, under the toolbar
