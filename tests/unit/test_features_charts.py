"""The Latent features page's fast chart paths draw exactly what the altair charts and a new 3D figure would."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dashboard.viz import features_charts as charts
from dashboard.viz.compression_charts import vega_spec

CLASSES = [str(c) for c in range(10)]


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({"features": ["raw", "raw", "AE-16", "AE-16"], "n_labels": [10, 100, 10, 100],
                         "mean": [0.5, 0.6, 0.7, 0.8], "std": [0.01, 0.02, 0.03, 0.0], "n_draws": [5, 5, 5, 1]})


@pytest.mark.parametrize("marked", [(10, 0.55), (100, 0.8125)])
def test_a_moved_ring_equals_a_new_accuracy_chart(table, marked):
    ringed = vega_spec(charts.accuracy_chart(table, "title", (1, 0.0)))
    assert charts.ring_setting(ringed, marked) == vega_spec(charts.accuracy_chart(table, "title", marked))


def test_confusion_counts_in_a_template_equal_a_new_confusion_chart():
    template = vega_spec(charts.confusion_chart(np.eye(10, dtype=int), CLASSES))
    confusion = np.random.default_rng(0).integers(0, 40, (10, 10))
    confusion[3] = 0  # an empty row: shares of 0, not a division by zero
    assert charts.confusion_spec(template, confusion, CLASSES) == vega_spec(charts.confusion_chart(confusion,
                                                                                                  CLASSES))
    assert template == vega_spec(charts.confusion_chart(np.eye(10, dtype=int), CLASSES))  # left as it was


@pytest.mark.parametrize("n_wrong", [1, 60])
def test_moved_mistakes_equal_a_new_3d_map(n_wrong):
    rng = np.random.default_rng(1)
    points, labels = rng.normal(size=(400, 3)), rng.integers(0, 10, 400)
    first, then = rng.integers(0, 10, 400), rng.integers(0, 10, 400)
    wrong_first, wrong_then = np.flatnonzero(first != labels)[:30], np.flatnonzero(then != labels)[:n_wrong]
    figure = charts.misclassified_map(points, labels, CLASSES, first, wrong_first)
    charts.move_mistakes(figure, points, labels, CLASSES, then, wrong_then)
    fresh = charts.misclassified_map(points, labels, CLASSES, then, wrong_then)
    assert json.loads(figure.to_json()) == json.loads(fresh.to_json())
