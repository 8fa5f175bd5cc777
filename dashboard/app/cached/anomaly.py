"""Cached accessors of the Anomaly page: splits, detectors, scores, charts and baselines, keyed by small values."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch
from torch import nn

from dashboard import anomaly
from dashboard.anomaly import shipped, storage
from dashboard.app import models, training
from dashboard.core import artifacts, memo, metrics, threads, zoo
from dashboard.viz import anomaly_charts

MAX_TRAINED_DETECTORS = 48  # tiny models; the least recently used is dropped beyond this
TRAINING_WAIT_S = 300
BUSY_MESSAGE = "Another training run is using this server. Reload the page in a minute."
# The detectors the page opens with (its digit picker starts at 0): the build trains them and ships their weights
# and results for the offline datasets; any other digit is trained on the visitor's click.
SHIPPED_DETECTORS = (("one-class", 0), ("novelty", 0))
# The shipped-model scenarios share one model and its training images, so the build ships that model's density and
# training scores once, and each scenario's test and validation scores at the settings the page opens it with.
SHIPPED_MODEL_SCENARIOS = tuple(key for key, info in anomaly.SCENARIOS.items() if not info.trains_model)
# Convolutions on one thread run fastest on batches that fit the CPU's caches, not on a thousand images at once.
SCORING_BATCH = 128
# Each stored kind's version: bump it when that computation changes (checkpoints, data and parameters are tracked
# by themselves), so the build's old result is computed live until the build stores it anew.
DETECTOR_VERSION = 1
REFERENCE_VERSION = 2
EVALUATIONS_VERSION = 1
COMPARISON_VERSION = 1
NORMAL_SCORES_VERSION = 1
SCENARIO_SCORES_VERSION = 1
CODE_SIZES_VERSION = 1
# The not-digits probe set (assets/) is an input that no stored card tracks: rebuilding it calls for a version bump of
# the scenario scores, comparisons and code sizes stored for that scenario.


@st.cache_resource(show_spinner=False, max_entries=32)
def split_for(dataset: str, scenario: str, digit: int | None, corruption: str | None,
              level: float | None) -> anomaly.Split:
    return anomaly.make_split(dataset, scenario, digit, corruption or "noise", level)


@dataclass(frozen=True)
class _DetectorRequest:
    """A detector to train: (dataset, scenario, digit) is its identity; the asking session's bar only rides along."""

    dataset: str
    scenario: str
    digit: int | None
    show: Callable[[float, str], None] = field(compare=False, hash=False)  # (fraction done, words) on the bar


# A locked cache rather than st.cache_resource: training reports to the asking session's progress bar, and
# Streamlit would record those calls and replay them, on a bar that no longer exists, at every later hit.
@memo.shared(maxsize=MAX_TRAINED_DETECTORS)
def _trained_detector(request: _DetectorRequest) -> nn.Module:
    """Trained once per server, in the training slot, then frozen and shared by every session."""
    split = split_for(request.dataset, request.scenario, request.digit, None, None)
    what = f"{anomaly.SCENARIOS[request.scenario].title.lower()} detector ({split.description.split('.')[0].lower()})"
    request.show(0.0, f"Waiting for the server's training slot to train the {what}…")
    with training.slot(wait_s=TRAINING_WAIT_S, busy_message=BUSY_MESSAGE) as acquired:
        if not acquired:
            st.stop()  # nothing is cached, so the next run asks again
        request.show(0.0, f"Starting a training process for the {what}; it loads PyTorch first…")
        # In a child process: training here would grow the server's memory for good (core.isolated).
        result = anomaly.train_detector(split, isolate=True, progress=lambda epoch, epochs, loss: request.show(
            epoch / epochs, f"Training the {what} on {len(split.x_train):,} normal images only: "
                            f"epoch {epoch}/{epochs}, loss {loss:.4f}"))
    return training.freeze(result.model)


def detector_state(dataset: str, scenario: str, digit: int | None, compute: Callable[[], dict | None]) -> dict | None:
    """The build's detector (storage.detector_state) when shipped and fresh, else compute()."""
    return artifacts.stored("anomaly.detector", dataset, {"scenario": scenario, "digit": digit}, (), compute,
                            version=DETECTOR_VERSION)


def train_detector_state(dataset: str, scenario: str, digit: int | None) -> dict:
    """Train the detector as the page does (in a child process, same seeds), as a value the build can store."""
    split = split_for(dataset, scenario, digit, None, None)
    return storage.detector_state(anomaly.train_detector(split, isolate=True).model)


@st.cache_resource(show_spinner=False, max_entries=16)
def shipped_detector(dataset: str, scenario: str, digit: int | None) -> nn.Module | None:
    """The build's trained detector for a default scenario, frozen and shared; None: train it on the click."""
    if (scenario, digit) not in SHIPPED_DETECTORS:
        return None
    state = detector_state(dataset, scenario, digit, lambda: None)
    return None if state is None else training.freeze(storage.detector_from_state(state))


def detector(dataset: str, scenario: str, digit: int | None) -> nn.Module:
    """The scenario's model: shipped, or trained now with a progress bar and then kept for everyone."""
    if not anomaly.SCENARIOS[scenario].trains_model:
        return models.require_model(anomaly.SHIPPED_MODEL, dataset)
    built = shipped_detector(dataset, scenario, digit)
    if built is not None:
        return built
    bar = st.empty()
    try:
        return _trained_detector(_DetectorRequest(dataset, scenario, digit, lambda fraction, words: bar.progress(
            fraction, text=words)))
    finally:
        bar.empty()


def _identity(key: tuple) -> tuple:
    """Where the scenario's normal training images come from (anomaly.training_identity), from its key alone: every
    shipped-model scenario shares the whole training split and the shipped model."""
    dataset, scenario, digit = key[:3]
    return (dataset, scenario, digit) if anomaly.SCENARIOS[scenario].trains_model else (dataset, None, None)


def _shipped_params() -> dict:
    return {"model": anomaly.SHIPPED_MODEL}


def _score_all(model: nn.Module, x: torch.Tensor, reference: anomaly.Reference | None) -> dict[str, np.ndarray]:
    """Every score kind of images (N, C, H, W), each image rebuilt once (anomaly.all_scores, in cache-sized
    batches)."""
    inputs = anomaly.ScoreInputs(model, x, metrics.reconstruct(model, x, SCORING_BATCH), reference)
    return {kind: inputs[kind] for kind in anomaly.SCORE_KINDS}


@memo.shared(maxsize=4)
def _shipped_normal_live(model: nn.Module, dataset: str) -> tuple[anomaly.Reference, dict[str, np.ndarray]]:
    """The shipped model's density of the normal training codes and every score of those images, from one pass:
    the structural error that standardises the density's scores is computed once for both."""
    x = anomaly.training_images(dataset, None, None)
    inputs = anomaly.ScoreInputs(model, x, metrics.reconstruct(model, x, SCORING_BATCH))
    inputs.reference = anomaly.fit_reference(model, x, inputs[anomaly.RECONSTRUCTION_PART])
    return inputs.reference, {kind: inputs[kind] for kind in anomaly.SCORE_KINDS}


@st.cache_resource(show_spinner="Fitting the density of the normal training codes (once per detector)…",
                   max_entries=64)
def _reference(identity: tuple, _model: nn.Module) -> anomaly.Reference:
    """One detector's Reference, keyed by where its normal images come from; shared read-only by every session."""
    dataset, scenario, digit = identity
    if scenario is None:
        return storage.reference_from_state(artifacts.stored(
            "anomaly.reference", dataset, _shipped_params(), (anomaly.SHIPPED_MODEL,),
            lambda: storage.reference_state(_shipped_normal_live(_model, dataset)[0]), version=REFERENCE_VERSION))
    live = functools.partial(anomaly.normal_reference, _model, dataset, scenario, digit)
    params = _stored_params(identity, _model)
    if params is None:
        return live()
    return storage.reference_from_state(artifacts.stored(
        "anomaly.reference", dataset, params, (), lambda: storage.reference_state(live()), version=REFERENCE_VERSION))


def reference(key: tuple, model: nn.Module) -> anomaly.Reference:
    """The normal codes' density and score spreads of the scenario's detector: the shipped model's is shared by every
    shipped-model scenario, a trained detector's is its own."""
    return _reference(_identity(key), model)


@st.cache_resource(show_spinner="Scoring the normal training images with the detector (once per server)…",
                   max_entries=8)
def _shipped_normal_scores(dataset: str, _model: nn.Module) -> dict[str, np.ndarray]:
    """Every score of the shipped model's normal training images: the threshold rules' reference."""
    return artifacts.stored("anomaly.normal_scores", dataset, _shipped_params(), (anomaly.SHIPPED_MODEL,),
                            lambda: storage.compact_scores(_shipped_normal_live(_model, dataset)[1]),
                            version=NORMAL_SCORES_VERSION)


def _scenario_params(key: tuple) -> dict:
    dataset, scenario, _, corruption, level = key
    return {**_shipped_params(), "scenario": scenario, "corruption": corruption, "level": level}


@st.cache_resource(show_spinner="Scoring the scenario's test and validation images with the detector…",
                   max_entries=32)
def _shipped_scenario_scores(key: tuple, _model: nn.Module) -> dict[str, dict[str, np.ndarray]]:
    """{"test": scores, "val": scores} of a shipped-model scenario: stored for the page's opening settings."""
    def live() -> dict:
        split, found = split_for(*key), reference(key, _model)
        return {part: storage.compact_scores(_score_all(_model, x, found))
                for part, x in (("test", split.x_test), ("val", split.x_val))}

    return artifacts.stored("anomaly.scenario_scores", key[0], _scenario_params(key), (anomaly.SHIPPED_MODEL,), live,
                            version=SCENARIO_SCORES_VERSION)


@st.cache_resource(show_spinner="Scoring every image with the detector…", max_entries=64)
def _evaluations(key: tuple, _model: nn.Module) -> dict[str, anomaly.Evaluation]:
    """Every score kind of one scenario, each image rebuilt and encoded once; shared read-only."""
    split = split_for(*key)
    if not anomaly.SCENARIOS[key[1]].trains_model:
        parts = _shipped_scenario_scores(key, _model)
        return storage.evaluations_from_parts(split, _shipped_normal_scores(key[0], _model), parts["test"],
                                              parts["val"])
    params = _stored_params(key, _model)
    if params is None:
        return anomaly.evaluate_all(_model, split, reference(key, _model))
    return storage.evaluations_from_scores(split, artifacts.stored(
        "anomaly.evaluations", key[0], params, (),
        lambda: storage.evaluation_scores(anomaly.evaluate_all(_model, split, reference(key, _model))),
        version=EVALUATIONS_VERSION))


def _stored_params(key: tuple, model: nn.Module) -> dict | None:
    """What names a trained detector's stored results (key: a scenario's key or its _identity): the scenario and the
    exact detector weights, so a detector trained anew (or any other) never gets another's results; None where
    nothing is shipped. A shipped-model scenario's results are named by the shipped model's checkpoint instead."""
    dataset, scenario, digit = key[:3]
    if (scenario, digit) not in SHIPPED_DETECTORS:
        return None
    return {"scenario": scenario, "digit": digit, "detector": storage.weights_digest(model)}


def analysis(key: tuple, kind: str, model: nn.Module) -> dict:
    """Scores, curves and chart specs of one scenario and score; everything the threshold panel reuses.

    Each step is asked for here in turn, outside any other cached call: Streamlit shows a cached function's spinner
    only when no other cached function is running, so each step's own words reach the waiting visitor.
    """
    reference(key, model)
    if not anomaly.SCENARIOS[key[1]].trains_model:
        _shipped_normal_scores(key[0], model)
        _shipped_scenario_scores(key, model)
    _evaluations(key, model)
    return _analysis(key, kind, model)


@st.cache_data(show_spinner=False, max_entries=64)
def _analysis(key: tuple, kind: str, _model: nn.Module) -> dict:
    evaluation = _evaluations(key, _model)[kind]
    return {"evaluation": evaluation, "histogram": anomaly_charts.histogram_spec(evaluation),
            "roc": anomaly_charts.curve_spec(evaluation, "roc"), "pr": anomaly_charts.curve_spec(evaluation, "pr")}


@st.cache_data(show_spinner=False, max_entries=64)
def galleries(key: tuple, kind: str, _model: nn.Module, size: int, scale: int) -> dict[str, tuple[bytes, str]]:
    """The most anomalous and most normal test images as PNG grids (made once, not every rerun), with captions."""
    split, evaluation = split_for(*key), analysis(key, kind, _model)["evaluation"]
    picked = dict(zip(("most anomalous", "most normal"), evaluation.extremes(size)))
    shown = {name: anomaly.explain(_model, split.x_test[indices], kind, reference(key, _model))
             for name, indices in picked.items()}
    vmax = max(float(item.error_map.max()) for items in shown.values() for item in items)  # one scale for both
    return {name: (anomaly_charts.gallery_png(shown[name], scale, vmax),
                   " · ".join(f"{split.test_names[i]} ({evaluation.scores[i]:.3f})" for i in indices))
            for name, indices in picked.items()}


@st.cache_resource(show_spinner="Encoding the test images for the 3D view…", max_entries=16)
def latent_view(key: tuple, kind: str, _model: nn.Module) -> tuple[go.Figure, str]:
    split, evaluation = split_for(*key), analysis(key, kind, _model)["evaluation"]
    points, description = anomaly_charts.latent_points(_model, split.x_test)
    return anomaly_charts.latent_figure(points, evaluation, split.test_names), description


@st.cache_data(show_spinner="Fitting PCA, IsolationForest and One-Class SVM on the same images (once)…",
               max_entries=32)
def comparison(key: tuple, _model: nn.Module) -> pd.DataFrame:
    def live() -> pd.DataFrame:
        return anomaly.comparison_table(split_for(*key), _evaluations(key, _model))

    if not anomaly.SCENARIOS[key[1]].trains_model:
        return artifacts.stored("anomaly.comparison", key[0], _scenario_params(key), (anomaly.SHIPPED_MODEL,), live,
                                version=COMPARISON_VERSION)
    params = _stored_params(key, _model)
    if params is None:
        return live()
    return artifacts.stored("anomaly.comparison", key[0], params, (), live, version=COMPARISON_VERSION)


def shipped_detectors(dataset: str, compute: bool):
    """Every shipped model x score on the not-digits probes (slow: a process-wide cache in dashboard.anomaly), or
    None until some session has asked for it with compute=True."""
    table = shipped.detector_table(dataset, compute=False)
    if table is not None or not compute:
        return table
    with st.spinner("Scoring the probe set with every shipped model and score (once per server, a minute or two)…"):
        return shipped.detector_table(dataset)


@st.cache_data(show_spinner="Rebuilding the probe set with each plain autoencoder (once)…", max_entries=8)
def code_sizes(dataset: str) -> pd.DataFrame:
    """The plain autoencoders' errors on digits and probes, by code size (shipped.code_sizes); stored by the build."""
    plain = [name for name in zoo.names(dataset) if zoo.parse_name(name)[0] == "ae"]
    try:
        return artifacts.stored("anomaly.code_sizes", dataset, {"family": "ae"}, plain,
                                lambda: shipped.code_sizes(dataset).copy(), version=CODE_SIZES_VERSION).copy()
    except anomaly.ScenarioUnavailable:
        return pd.DataFrame()


def opening_keys(dataset: str) -> list[tuple]:
    """The keys of the shipped-model scenarios as the page opens them: each corruption at its default strength (the
    page passes no strength where a corruption has none to choose), not-digits and your own input."""
    keys = []
    for scenario in SHIPPED_MODEL_SCENARIOS:
        if scenario == "ood":
            continue  # it needs a download, so the build cannot store it
        if scenario == "corrupted":
            keys += [(dataset, scenario, None, kind, spec.default if spec.low < spec.high else None)
                     for kind, spec in anomaly.CORRUPTIONS.items()]
        else:
            keys.append((dataset, scenario, None, None, None))
    return keys


def precompute(dataset: str) -> None:
    """The page's default detectors and their first-visit results, for `python -m dashboard.app.precompute`."""
    with threads.as_served():  # trained and scored with the server's thread count, as the page would
        for scenario, digit in SHIPPED_DETECTORS:
            train_it = functools.partial(train_detector_state, dataset, scenario, digit)
            state = detector_state(dataset, scenario, digit, train_it)
            model = training.freeze(storage.detector_from_state(state))
            key = (dataset, scenario, digit, None, None)
            reference(key, model)
            _evaluations(key, model)
            comparison(key, model)
        if anomaly.SHIPPED_MODEL not in zoo.names(dataset):
            return
        model = zoo.frozen(anomaly.SHIPPED_MODEL, dataset)
        for key in opening_keys(dataset):
            analysis(key, anomaly.DEFAULT_SCORE, model)
            comparison(key, model)
        code_sizes(dataset)
