"""The Latent features page's shipped results match what the page computes live on the shipped models.

A classifier fitted on another CPU can move a borderline test image to another class: accuracies are compared within
a point, predictions on at least 98% of the images.
"""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import features
from dashboard.app.cached import features as cached
from dashboard.app.cached import overview
from dashboard.core import artifacts, threads, zoo
from tests.harness.precomputed import assert_close, shipped_value

ACCURACY_ATOL = 0.01
AGREE = 0.98


@pytest.fixture
def live(monkeypatch):
    monkeypatch.setenv(artifacts.DISABLE_ENV, "off")


def test_accuracy_tables_match_the_live_ones(live):
    dataset, budgets = "digits", features.budgets_for("digits")
    for k in (2, 16):
        sets = features.comparison_sets(dataset, k)
        stored = shipped_value("features.accuracy", dataset, cached._table_params(cached.STORED_CLASSIFIER, sets,
                                                                                  budgets),
                               version=cached.ACCURACY_VERSION)
        with threads.as_served():
            table = features.accuracy_table(dataset, cached.STORED_CLASSIFIER, sets, budgets)
        assert_close(stored, table, rtol=0, atol=ACCURACY_ATOL, where=f"k={k}")  # mean and spread within a point


def test_reference_predictions_match_the_live_ones(live):
    stored = shipped_value("features.predictions", "digits", cached._predictions_params("digits"),
                           version=cached.PREDICTIONS_VERSION)
    with threads.as_served():
        assert_close(stored, cached.reference_predictions("digits"), agree=AGREE)


def test_an_evaluation_rebuilt_from_stored_predictions_matches_the_live_one(live):
    stored = shipped_value("features.predictions", "mnist-5k", cached._predictions_params("mnist-5k"),
                           version=cached.PREDICTIONS_VERSION)
    budgets = features.budgets_for("mnist-5k")
    for feature_set, budget in (("ae-16", 10), ("raw", 10)):  # the page's default and its baseline
        with threads.as_served():
            fitted = features.evaluate("mnist-5k", feature_set, "logistic", budget, 0)
        rebuilt = features.evaluation_from_predictions("mnist-5k", feature_set, "logistic", budget, 0,
                                                       stored[feature_set][budgets.index(budget)])
        assert rebuilt.predictions.dtype == fitted.predictions.dtype
        assert rebuilt.accuracy == pytest.approx(fitted.accuracy, abs=ACCURACY_ATOL)
        assert np.mean(rebuilt.predictions == fitted.predictions) >= AGREE
        np.testing.assert_array_equal(rebuilt.labelled, fitted.labelled)  # the seeded label draw
        assert rebuilt.confusion.sum() == len(rebuilt.predictions)
        assert np.trace(rebuilt.confusion) / rebuilt.confusion.sum() == pytest.approx(rebuilt.accuracy)
        # The pipeline a visitor's own image goes through is fitted on first use, here, as evaluate() fits it.
        with threads.as_served():
            refitted = rebuilt.model.predict(features.features("mnist-5k", feature_set).test)
        np.testing.assert_array_equal(refitted, fitted.predictions)


def test_the_3d_view_reads_the_stored_codes_which_match_the_encoded_test_features():
    for dataset, names in (("digits", zoo.names("digits")), ("mnist-5k", ["ae-16", "vae-16"])):
        for name in names:
            encoded = features.features(dataset, name).test
            assert_close(zoo.codes(name, dataset), encoded, where=f"{dataset} {name}")
            if zoo.parse_name(name)[1] <= overview.LARGEST_STORED_CODE:
                stored = shipped_value("codes", dataset, {"name": name, "split": "test"}, version=zoo.CODES_VERSION)
                assert_close(stored, encoded, where=f"stored {dataset} {name}")
