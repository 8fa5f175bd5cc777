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
from dashboard.core import artifacts, metrics, threads
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
