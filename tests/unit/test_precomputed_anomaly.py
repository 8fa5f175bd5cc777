"""The Anomaly page's shipped detectors and results equal what the page would compute live.

Everything is computed as the build and the server compute it: the server's thread count (core.threads.as_served), the
detector trained in a child process with its seeds. The one-class detector is retrained here (about 7 s on an idle
CPU); the novelty ones (25 s or more) are checked through their scores and density, recomputed from the stored
weights.
"""

from __future__ import annotations

import pytest

from dashboard import anomaly
from dashboard.anomaly import storage
from dashboard.app.cached import anomaly as cached
from dashboard.core import artifacts, threads
from tests.harness.precomputed import assert_same, shipped_value

DIGIT = 0  # the page's opening digit, the one whose detectors ship


@pytest.fixture
def live(monkeypatch):
    monkeypatch.setenv(artifacts.DISABLE_ENV, "off")
    with threads.as_served():
        yield


def stored_detector(dataset: str, scenario: str):
    """(the stored detector rebuilt, the params naming the results stored for it)."""
    model = storage.detector_from_state(shipped_value("anomaly.detector", dataset,
                                                      {"scenario": scenario, "digit": DIGIT}))
    return model, {"scenario": scenario, "digit": DIGIT, "detector": storage.weights_digest(model)}


def test_the_default_detector_equals_one_trained_live(live):
    stored = shipped_value("anomaly.detector", "mnist-5k", {"scenario": "one-class", "digit": DIGIT})
    split = anomaly.make_split("mnist-5k", "one-class", DIGIT)
    trained = storage.detector_state(anomaly.train_detector(split, isolate=True).model)  # the page's way
    assert_same(stored, trained, rtol=1e-5, atol=1e-6)


def test_stored_evaluations_equal_scores_of_the_stored_detector(live):
    for dataset, scenario in (("mnist-5k", "one-class"), ("digits", "novelty")):
        model, params = stored_detector(dataset, scenario)
        split = anomaly.make_split(dataset, scenario, DIGIT)
        found = anomaly.evaluate_all(model, split, anomaly.reference_for(model, split))
        assert_same(shipped_value("anomaly.evaluations", dataset, params), storage.evaluation_scores(found),
                    rtol=1e-5, atol=1e-6)


def test_stored_reference_equals_the_density_fitted_live(live):
    model, params = stored_detector("mnist-5k", "novelty")  # nine digits: a mixture of several components
    split = anomaly.make_split("mnist-5k", "novelty", DIGIT)
    stored = shipped_value("anomaly.reference", "mnist-5k", params)
    assert_same(stored, storage.reference_state(anomaly.reference_for(model, split)), rtol=1e-5, atol=1e-6)
    rebuilt = storage.reference_from_state(stored)  # and it scores codes as the fitted one does
    codes = anomaly.code_scores(model, split.x_test[:200], rebuilt)
    assert_same(codes, anomaly.code_scores(model, split.x_test[:200], anomaly.reference_for(model, split)),
                rtol=1e-5, atol=1e-6)


def test_stored_comparison_equals_the_baselines_fitted_live(live):
    model, params = stored_detector("digits", "one-class")
    split = anomaly.make_split("digits", "one-class", DIGIT)
    table = anomaly.comparison_table(split, anomaly.evaluate_all(model, split, anomaly.reference_for(model, split)))
    assert_same(shipped_value("anomaly.comparison", "digits", params), table, rtol=1e-5, atol=1e-6)


def test_only_the_opening_digit_ships_a_detector():
    assert cached.shipped_detector("digits", "one-class", DIGIT) is not None
    assert cached.shipped_detector("digits", "one-class", 3) is None  # trained on the visitor's click
