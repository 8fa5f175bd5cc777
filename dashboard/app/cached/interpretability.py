"""Cached accessors of the Interpretability page: the shipped SAE and classifier, the test split read through both."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from dashboard import interpretability as interp
from dashboard.core import data, recipes, zoo
from dashboard.viz import interpretability_charts as charts

SAE_NAME = recipes.SAE_NAMES[0]
CLASSIFIER = recipes.CLASSIFIER


def networks(dataset: str):
    """(SAE, classifier), each loaded once per process and shared read-only by every session."""
    return zoo.frozen(SAE_NAME, dataset), zoo.frozen(CLASSIFIER, dataset)


@dataclass(frozen=True)
class Catalogue:
    """Everything the page shows about the SAE on the test split, computed once per dataset."""

    study: interp.Study
    descriptions: list[str]  # (width,) one line per feature
    labels: list[str]  # (width,) how the feature picker names each feature: number and description
    top_class: np.ndarray  # (width,) commonest class among each feature's top images, -1 when it never fires
    purity: np.ndarray  # (width,) share of that class among them; NaN for features firing on < 10 images
    pca: interp.Directions
    n_pca: int  # PCA directions compared: as many as the SAE keeps per image
    pca_purity: np.ndarray  # (n_pca,) better end of each of the first n_pca PCA directions
    pca_fve: float  # variance explained by those directions
    source_matches: bool  # the SAE was trained on the shipped classifier's exact weights


@st.cache_resource(show_spinner="Reading the test digits through the classifier and the SAE (once per server)…",
                   max_entries=4)
def catalogue(dataset: str) -> Catalogue:
    model, classifier = networks(dataset)
    ds = data.load(dataset)
    found = interp.study(model, classifier, ds.x_test, ds.y_test)
    for array in (found.activations, found.codes, found.labels, found.probabilities):
        array.setflags(write=False)
    codes, labels = found.codes, found.labels
    tops = [interp.purity(codes[:, f], labels) for f in range(codes.shape[1])]
    directions = interp.fit(found.activations)
    n_pca = int(round(found.scores["l0"]))
    matches = zoo.read_card(SAE_NAME, dataset).get("source_sha256") == zoo.read_card(CLASSIFIER, dataset)["sha256"]
    descriptions = [interp.describe(codes[:, f], labels, ds.classes) for f in range(codes.shape[1])]
    names = [f"#{f} · {text}" for f, text in enumerate(descriptions)]
    return Catalogue(found, descriptions, names, np.array([t[0] for t in tops]), interp.feature_purity(codes, labels),
                     directions, n_pca, interp.end_purity(directions.scores(found.activations, n_pca), labels),
                     directions.fve(found.activations, n_pca), matches)


def default_feature(dataset: str, options: list[int]) -> int:
    """The feature the browser opens on: the most frequent one that is clean (all its top 10 one class) and
    specific (active on under a fifth of the digits), so a first look shows what a readable feature is."""
    found = catalogue(dataset)
    clean = [f for f in options if found.purity[f] == 1.0 and found.study.firing_rate[f] < 0.2]
    return (clean or options)[0]


@st.cache_resource(show_spinner=False, max_entries=64)
def top_grid(dataset: str, feature: int) -> bytes:
    """A feature's top test images over their attribution maps, as a PNG."""
    found = catalogue(dataset)
    ds = data.load(dataset)
    top = interp.top_images(found.study.codes[:, feature])
    if not len(top):
        return b""
    model, classifier = networks(dataset)
    images = ds.x_test[torch.as_tensor(top)]
    maps = interp.attribution(model, classifier, images, feature)
    headings = [f"{ds.classes[found.study.labels[i]]} · {found.study.codes[i, feature]:.1f}" for i in top]
    return charts.attribution_png(images, maps, headings, scale=3 if not ds.small_images else 9)


@st.cache_resource(show_spinner=False, max_entries=64)
def pca_grid(dataset: str, direction: int) -> bytes:
    """A PCA direction's 10 highest and 10 lowest test images, two rows, as a PNG."""
    from dashboard.viz import plots

    found = catalogue(dataset)
    ds = data.load(dataset)
    scores = found.pca.scores(found.study.activations, direction + 1)[:, direction]
    order = np.argsort(scores, kind="stable")
    rows = [[ds.x_test[i, 0] for i in order[::-1][:interp.TOP]], [ds.x_test[i, 0] for i in order[:interp.TOP]]]
    return plots.grid_png(rows, scale=2 if not ds.small_images else 6)


def pca_ends(dataset: str, direction: int) -> tuple[list[int], list[int]]:
    """The classes of a PCA direction's top and bottom test images."""
    found = catalogue(dataset)
    scores = found.pca.scores(found.study.activations, direction + 1)[:, direction]
    order = np.argsort(scores, kind="stable")
    labels = found.study.labels
    return [int(labels[i]) for i in order[::-1][:interp.TOP]], [int(labels[i]) for i in order[:interp.TOP]]


@st.cache_data(show_spinner=False, max_entries=64)
def histogram_spec(dataset: str, feature: int) -> dict:
    values = catalogue(dataset).study.codes[:, feature]
    return charts.activation_histogram(values[values > 0]).to_dict()


@st.cache_data(show_spinner=False, max_entries=64)
def logit_spec(dataset: str, feature: int) -> dict:
    model, classifier = networks(dataset)
    return charts.logit_bars(interp.logit_effect(model, classifier, feature), data.load(dataset).classes).to_dict()


@st.cache_data(show_spinner=False, max_entries=4)
def purity_spec(dataset: str) -> dict:
    found = catalogue(dataset)
    return charts.purity_histogram(found.purity, found.pca_purity).to_dict()


def breakdown(dataset: str, image: torch.Tensor) -> interp.Breakdown:
    model, classifier = networks(dataset)
    return interp.breakdown(model, classifier, image)


def steer(dataset: str, image: torch.Tensor, feature: int, value: float) -> interp.Steered:
    model, classifier = networks(dataset)
    return interp.steer(model, classifier, image, feature, value)
