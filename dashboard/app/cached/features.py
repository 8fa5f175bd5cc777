"""Cached accessors of the Latent features page: feature arrays, fitted evaluations, 3D views and accuracy curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import features
from dashboard.viz import plots


@st.cache_resource(show_spinner="Encoding every image once with this feature set (cached for everyone)…",
                   max_entries=32)
def feature_arrays(dataset: str, feature_set: str) -> features.FeatureArrays:
    return features.features(dataset, feature_set)


@st.cache_resource(show_spinner=False, max_entries=128)
def evaluation(dataset: str, feature_set: str, classifier: str, budget: int | str, seed: int) -> features.Evaluation:
    feature_arrays(dataset, feature_set)  # encodes under its own spinner on a cold server
    return features.evaluate(dataset, feature_set, classifier, budget, seed)


@st.cache_data(show_spinner=False, max_entries=32)
def projection(dataset: str, feature_set: str) -> tuple[np.ndarray, str]:
    return plots.project_3d(feature_arrays(dataset, feature_set).test)


def accuracy_curves(dataset: str, classifier: str, k: int, budgets: list[int | str],
                    compute: bool) -> pd.DataFrame | None:
    """The accuracy table for the chart (a process-wide cache in dashboard.features), with a progress bar.

    With compute=False it returns None until some session has computed the table.
    """
    sets = features.comparison_sets(dataset, k)
    table = features.accuracy_table(dataset, classifier, sets, budgets, compute=False)
    if table is not None or not compute:
        return table
    for feature_set in sets:
        feature_arrays(dataset, feature_set)
    bar = st.progress(0.0, text="Computing the accuracy curves (once per server)…")
    table = features.accuracy_table(dataset, classifier, sets, budgets,
                                    progress=lambda done, text: bar.progress(done, text=f"Fitting {text}…"))
    bar.empty()
    return table
