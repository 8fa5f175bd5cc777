"""The Anomaly page's shipped detectors and results match what the page computes live.

Everything is computed as the build and the server compute it: the server's thread count (core.threads.as_served),
the detector trained in a child process with its seeds. A detector trained on another CPU ends at other weights, so
the retrained one is compared by what it does (its reconstruction error and how well it separates the anomalies);
the scores and densities, recomputed from the stored weights, are compared value by value within 0.1%.
"""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import anomaly
from dashboard.anomaly import storage
from dashboard.anomaly.thresholds import auroc
from dashboard.app.cached import anomaly as cached
from dashboard.core import artifacts, metrics, threads, zoo
from tests.harness.precomputed import assert_close, shipped_value

DIGIT = 0  # the page's opening digit, the one whose detectors ship


@pytest.fixture
def live(monkeypatch):
    monkeypatch.setenv(artifacts.DISABLE_ENV, "off")
    with threads.as_served():
        yield


def stored_detector(dataset: str, scenario: str):
    """(the stored detector rebuilt, the params naming the results stored for it)."""
    model = storage.detector_from_state(shipped_value("anomaly.detector", dataset,
                                                      {"scenario": scenario, "digit": DIGIT},
                                                      version=cached.DETECTOR_VERSION))
    return model, {"scenario": scenario, "digit": DIGIT, "detector": storage.weights_digest(model)}


def _behaviour(model, split) -> tuple[float, float]:
    """(mean pixel MSE on the normal test images, AUROC of the per-image MSE as an anomaly score)."""
    errors = metrics.mse_per_image(split.x_test, metrics.reconstruct(model, split.x_test))
    return float(np.mean(errors[split.y_test == 0])), auroc(split.y_test, errors)


def test_the_default_detector_behaves_as_one_trained_live(live):
    stored, _ = stored_detector("mnist-5k", "one-class")
    split = anomaly.make_split("mnist-5k", "one-class", DIGIT)
    trained = anomaly.train_detector(split, isolate=True).model  # the page's way
    assert stored.config == trained.config
    (stored_mse, stored_auroc), (live_mse, live_auroc) = _behaviour(stored, split), _behaviour(trained, split)
    assert stored_mse == pytest.approx(live_mse, rel=0.1)
    assert stored_auroc == pytest.approx(live_auroc, abs=0.02)


def test_stored_evaluations_match_scores_of_the_stored_detector(live):
    for dataset, scenario in (("mnist-5k", "one-class"), ("digits", "novelty")):
        model, params = stored_detector(dataset, scenario)
        split = anomaly.make_split(dataset, scenario, DIGIT)
        found = anomaly.evaluate_all(model, split, anomaly.reference_for(model, split))
        assert_close(shipped_value("anomaly.evaluations", dataset, params, version=cached.EVALUATIONS_VERSION),
                     storage.evaluation_scores(found), where=f"{dataset} {scenario}")


def test_stored_reference_matches_the_density_fitted_live(live):
    model, params = stored_detector("mnist-5k", "novelty")  # nine digits: a mixture of several components
    split = anomaly.make_split("mnist-5k", "novelty", DIGIT)
    stored = shipped_value("anomaly.reference", "mnist-5k", params, version=cached.REFERENCE_VERSION)
    fitted = anomaly.reference_for(model, split)
    assert_close(stored, storage.reference_state(fitted), count_rtol=0.5)  # EM may stop an iteration apart
    rebuilt = storage.reference_from_state(stored)  # and it scores codes as the fitted one does
    assert_close(anomaly.code_scores(model, split.x_test[:200], rebuilt),
                 anomaly.code_scores(model, split.x_test[:200], fitted))


def test_stored_comparison_matches_the_baselines_fitted_live(live):
    model, params = stored_detector("digits", "one-class")
    split = anomaly.make_split("digits", "one-class", DIGIT)
    table = anomaly.comparison_table(split, anomaly.evaluate_all(model, split, anomaly.reference_for(model, split)))
    stored = shipped_value("anomaly.comparison", "digits", params, version=cached.COMPARISON_VERSION)
    assert_close(stored, table, rtol=0, atol=0.01)  # AUROC and average precision within a point


def test_only_the_opening_digit_ships_a_detector():
    assert cached.shipped_detector("digits", "one-class", DIGIT) is not None
    assert cached.shipped_detector("digits", "one-class", 3) is None  # trained on the visitor's click


def test_the_shipped_models_training_scores_and_density_match_live(live):
    """The density and training scores every shipped-model scenario shares: stored once per dataset."""
    model = zoo.frozen(anomaly.SHIPPED_MODEL, "digits")
    fitted = anomaly.normal_reference(model, "digits")
    x_train = anomaly.training_images("digits", None, None)
    stored = shipped_value("anomaly.reference", "digits", {"model": anomaly.SHIPPED_MODEL},
                           version=cached.REFERENCE_VERSION)
    assert_close(stored, storage.reference_state(fitted), count_rtol=0.5)  # EM may stop an iteration apart
    assert_close(anomaly.code_scores(model, x_train[:200], storage.reference_from_state(stored)),
                 anomaly.code_scores(model, x_train[:200], fitted))
    assert_close(shipped_value("anomaly.normal_scores", "digits", {"model": anomaly.SHIPPED_MODEL},
                               version=cached.NORMAL_SCORES_VERSION),
                 storage.compact_scores(anomaly.all_scores(model, x_train, fitted)))


def test_every_shipped_model_scenario_opens_on_stored_scores():
    for dataset in ("mnist-5k", "digits"):
        for key in cached.opening_keys(dataset):
            value = shipped_value("anomaly.scenario_scores", dataset, cached._scenario_params(key),
                                  version=cached.SCENARIO_SCORES_VERSION)
            split = cached.split_for(*key)
            assert {len(scores) for scores in value["test"].values()} == {len(split.y_test)}, key
            assert {len(scores) for scores in value["val"].values()} == {len(split.y_val)}, key
            shipped_value("anomaly.comparison", dataset, cached._scenario_params(key),
                          version=cached.COMPARISON_VERSION)
    assert {key[3] for key in cached.opening_keys("digits") if key[1] == "corrupted"} == set(anomaly.CORRUPTIONS)


def test_a_shipped_model_scenarios_stored_scores_and_comparison_match_live(live):
    model = zoo.frozen(anomaly.SHIPPED_MODEL, "digits")
    key = next(key for key in cached.opening_keys("digits") if key[1] == "not-digits")
    split = anomaly.make_split("digits", "not-digits")
    fitted = anomaly.normal_reference(model, "digits")
    stored = shipped_value("anomaly.scenario_scores", "digits", cached._scenario_params(key),
                           version=cached.SCENARIO_SCORES_VERSION)
    assert_close(stored, {part: storage.compact_scores(anomaly.all_scores(model, x, fitted))
                          for part, x in (("test", split.x_test), ("val", split.x_val))})
    table = anomaly.comparison_table(split, anomaly.evaluate_all(model, split, fitted))
    assert_close(shipped_value("anomaly.comparison", "digits", cached._scenario_params(key),
                               version=cached.COMPARISON_VERSION), table, rtol=0, atol=0.01)


def test_stored_code_sizes_match_the_plain_autoencoders_live(live):
    from dashboard.anomaly import shipped

    plain = [name for name in zoo.names("digits") if zoo.parse_name(name)[0] == "ae"]
    assert plain, "digits ships plain autoencoders"
    stored = shipped_value("anomaly.code_sizes", "digits", {"family": "ae"}, version=cached.CODE_SIZES_VERSION)
    assert_close(stored, shipped.code_sizes("digits"))
