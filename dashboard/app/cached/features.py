"""Cached accessors of the Latent features page: feature arrays, fitted evaluations, 3D views and accuracy curves."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import features
from dashboard.core import artifacts, data, threads, zoo
from dashboard.viz import features_charts as charts
from dashboard.viz import plots
from dashboard.viz.compression_charts import vega_spec  # inline data: Streamlit converts named datasets to Arrow

# The build stores this classifier's results (the page's reference curves, always shown) for the first label draw.
STORED_CLASSIFIER = "logistic"
STORED_SEED = 0
# Each stored kind's version: bump it when that computation changes (checkpoints, data and parameters are tracked
# by themselves), so the build's old result is computed live until the build stores it anew.
ACCURACY_VERSION = 1
PREDICTIONS_VERSION = 1


@st.cache_resource(show_spinner="Encoding every image once with this feature set (cached for everyone)…",
                   max_entries=32)
def feature_arrays(dataset: str, feature_set: str) -> features.FeatureArrays:
    return features.features(dataset, feature_set)


# ---- stored results: the build's, when present and fresh; None means "compute it live" ----

def _table_params(classifier: str, feature_sets: list[str], budgets) -> dict:
    return {"classifier": classifier, "feature_sets": list(feature_sets), "budgets": list(budgets),
            "seeds": list(features.SEEDS)}


def _stored_table(dataset: str, classifier: str, feature_sets: list[str], budgets, compute: Callable) -> pd.DataFrame:
    models = [s for s in feature_sets if s in zoo.names(dataset)]
    return artifacts.stored("features.accuracy", dataset, _table_params(classifier, feature_sets, budgets), models,
                            compute, version=ACCURACY_VERSION)


def _predictions_params(dataset: str) -> dict:
    return {"classifier": STORED_CLASSIFIER, "seed": STORED_SEED, "budgets": features.budgets_for(dataset),
            "feature_sets": features.feature_sets(dataset)}


def _stored_predictions(dataset: str, compute: Callable) -> dict[str, np.ndarray] | None:
    """{feature set: (n_budgets, N_test) uint8 test predictions}, budgets in budgets_for(dataset) order."""
    return artifacts.stored("features.predictions", dataset, _predictions_params(dataset), zoo.names(dataset),
                            compute, version=PREDICTIONS_VERSION)


def reference_predictions(dataset: str) -> dict[str, np.ndarray]:
    """What the build stores: the stored classifier's test predictions for every feature set at every budget."""
    assert len(data.load(dataset).classes) <= 256, "predictions are stored as uint8"
    return {feature_set: np.stack([features.evaluate(dataset, feature_set, STORED_CLASSIFIER, budget,
                                                     STORED_SEED).predictions
                                   for budget in features.budgets_for(dataset)]).astype(np.uint8)
            for feature_set in features.feature_sets(dataset)}


@st.cache_data(show_spinner=False, max_entries=32)
def _shipped_table(dataset: str, classifier: str, k: int, budgets: tuple) -> pd.DataFrame | None:
    return _stored_table(dataset, classifier, features.comparison_sets(dataset, k), budgets, lambda: None)


@st.cache_resource(show_spinner=False, max_entries=4)
def _shipped_predictions(dataset: str) -> dict[str, np.ndarray] | None:
    return _stored_predictions(dataset, lambda: None)


@st.cache_resource(show_spinner=False, max_entries=128)
def evaluation(dataset: str, feature_set: str, classifier: str, budget: int | str, seed: int) -> features.Evaluation:
    if classifier == STORED_CLASSIFIER and seed == STORED_SEED:
        budgets = features.budgets_for(dataset)
        shipped = _shipped_predictions(dataset)
        if shipped is not None and feature_set in shipped and budget in budgets:
            # The fitted pipeline is refitted only if a visitor's own image needs it (features.Evaluation.model).
            return features.evaluation_from_predictions(dataset, feature_set, classifier, budget, seed,
                                                        shipped[feature_set][budgets.index(budget)])
    feature_arrays(dataset, feature_set)  # encodes under its own spinner on a cold server
    return features.evaluate(dataset, feature_set, classifier, budget, seed)


def _test_features(dataset: str, feature_set: str) -> np.ndarray:
    if feature_set in zoo.names(dataset):
        # The build stores every shipped model's test codes: the same batches and bits as feature_arrays' test
        # rows (a test checks it), without encoding the train split too.
        return zoo.codes(feature_set, dataset)
    return feature_arrays(dataset, feature_set).test


@st.cache_data(show_spinner=False, max_entries=32)
def projection(dataset: str, feature_set: str) -> tuple[np.ndarray, str]:
    return plots.project_3d(_test_features(dataset, feature_set))


def accuracy_curves(dataset: str, classifier: str, k: int, budgets: list[int | str],
                    compute: bool) -> pd.DataFrame | None:
    """The accuracy table for the chart (a process-wide cache in dashboard.features), with a progress bar.

    With compute=False it returns None until some session has computed the table (or the build stored it).
    """
    sets = features.comparison_sets(dataset, k)
    table = features.accuracy_table(dataset, classifier, sets, budgets, compute=False)
    if table is None:
        table = _shipped_table(dataset, classifier, k, tuple(budgets))
    if table is not None or not compute:
        return table
    for feature_set in sets:
        feature_arrays(dataset, feature_set)
    bar = st.progress(0.0, text="Computing the accuracy curves (once per server)…")
    table = features.accuracy_table(dataset, classifier, sets, budgets,
                                    progress=lambda done, text: bar.progress(done, text=f"Fitting {text}…"))
    bar.empty()
    return table


# Charts go as finished Vega-Lite specs: altair's checks of a new chart are slow, and between clicks only the
# data changes (the ring of the user's setting, the confusion counts), so the marks are built once.
@st.cache_data(show_spinner=False, max_entries=64)
def _accuracy_spec(dataset: str, classifier: str, k: int, budgets: tuple, title: str, ringed: bool,
                   _table: pd.DataFrame) -> dict:
    # Keyed by what fixes the table (hashing the table itself costs more than the rest of this).
    return vega_spec(charts.accuracy_chart(_table, title, (1, 0.0) if ringed else None))


def accuracy_spec(dataset: str, classifier: str, k: int, budgets: list, table: pd.DataFrame, title: str,
                  marked: tuple[int, float] | None) -> dict:
    """vega_spec(accuracy_chart(table, title, marked)) of accuracy_curves(dataset, classifier, k, budgets)."""
    base = _accuracy_spec(dataset, classifier, k, tuple(budgets), title, marked is not None, table)
    return base if marked is None else charts.ring_setting(base, marked)


@st.cache_data(show_spinner=False, max_entries=8)
def _confusion_template(classes: tuple[str, ...]) -> dict:
    return vega_spec(charts.confusion_chart(np.eye(len(classes), dtype=int), list(classes)))


def confusion_spec(confusion: np.ndarray, classes: list[str]) -> dict:
    """vega_spec(confusion_chart(confusion, classes)), the chart's marks built once per class list."""
    return charts.confusion_spec(_confusion_template(tuple(classes)), confusion, classes)


MAPS_KEPT = 4  # 3D maps a session keeps (the last feature sets it looked at): moving between k reuses them


def misclassified_map(dataset: str, feature_set: str, predictions: np.ndarray, wrong: np.ndarray
                      ) -> tuple[go.Figure, str]:
    """The session's 3D map of a feature set's test points with this evaluation's mistakes, and its description.

    A session keeps its figures and moves the crosses in place, cheaper than validating a new figure's thousand
    points. Each session holds its own, so no two visitors share a mutable figure.
    """
    points, description = projection(dataset, feature_set)
    ds = data.load(dataset)
    labels = ds.y_test.numpy()
    held: dict = st.session_state.setdefault("features_maps", {})
    figure = held.pop((dataset, feature_set), None)
    if figure is None or not len(wrong) or len(figure.data) == len(np.unique(labels)):  # crosses come and go
        figure = charts.misclassified_map(points, labels, ds.classes, predictions, wrong)
    else:
        charts.move_mistakes(figure, points, labels, ds.classes, predictions, wrong)
    held[(dataset, feature_set)] = figure  # last in the dict: the most recently used
    for stale in list(held)[:-MAPS_KEPT]:
        del held[stale]
    return figure, description


def precompute(dataset: str) -> None:
    """The reference curves at every k and the first-draw scores, for `python -m dashboard.app.precompute`."""
    if not zoo.names(dataset):
        return
    budgets = features.budgets_for(dataset)
    with threads.as_served():
        for k in sorted({zoo.parse_name(m)[1] for m in zoo.names(dataset)}):
            sets = features.comparison_sets(dataset, k)
            _stored_table(dataset, STORED_CLASSIFIER, sets, budgets,
                          lambda sets=sets: features.accuracy_table(dataset, STORED_CLASSIFIER, sets, budgets))
        _stored_predictions(dataset, lambda: reference_predictions(dataset))
