"""The Latent features page's shipped results equal what the page would compute live on the shipped models."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import features
from dashboard.app.cached import features as cached
from dashboard.core import artifacts, threads, zoo
from tests.harness.precomputed import assert_same, shipped_value


@pytest.fixture
def live(monkeypatch):
    monkeypatch.setenv(artifacts.DISABLE_ENV, "off")


def test_accuracy_tables_equal_the_live_ones(live):
    dataset, budgets = "digits", features.budgets_for("digits")
    for k in (2, 16):
        sets = features.comparison_sets(dataset, k)
        stored = shipped_value("features.accuracy", dataset, cached._table_params(cached.STORED_CLASSIFIER, sets,
                                                                                  budgets))
        with threads.as_served():  # the server's thread policy, under which the build computed them
            table = features.accuracy_table(dataset, cached.STORED_CLASSIFIER, sets, budgets)
        assert_same(stored, table, rtol=1e-5, atol=1e-6)


def test_reference_predictions_equal_the_live_ones(live):
    stored = shipped_value("features.predictions", "digits", cached._predictions_params("digits"))
    with threads.as_served():
        assert_same(stored, cached.reference_predictions("digits"))


def test_an_evaluation_rebuilt_from_stored_predictions_is_the_live_one(live):
    stored = shipped_value("features.predictions", "mnist-5k", cached._predictions_params("mnist-5k"))
    budgets = features.budgets_for("mnist-5k")
    for feature_set, budget in (("ae-16", 10), ("raw", 10)):  # the page's default and its baseline
        with threads.as_served():
            fitted = features.evaluate("mnist-5k", feature_set, "logistic", budget, 0)
        rebuilt = features.evaluation_from_predictions("mnist-5k", feature_set, "logistic", budget, 0,
                                                       stored[feature_set][budgets.index(budget)])
        assert rebuilt.accuracy == fitted.accuracy and rebuilt.predictions.dtype == fitted.predictions.dtype
        for name in ("predictions", "confusion", "labelled"):
            np.testing.assert_array_equal(getattr(rebuilt, name), getattr(fitted, name), err_msg=name)
        # The pipeline a visitor's own image goes through is fitted on first use, and predicts what was stored
        # (under the server's thread policy: BLAS with another thread count can move a borderline prediction).
        with threads.as_served():
            refitted = rebuilt.model.predict(features.features("mnist-5k", feature_set).test)
        np.testing.assert_array_equal(refitted, fitted.predictions)


def test_the_3d_view_reads_the_stored_codes_which_equal_the_encoded_test_features():
    for dataset, names in (("digits", zoo.names("digits")), ("mnist-5k", ["ae-16", "vae-16"])):
        for name in names:
            assert_same(zoo.codes(name, dataset), features.features(dataset, name).test, rtol=0, atol=0,
                        where=f"{dataset} {name}")
