"""Cached accessors of the Regularised AEs page: the sparse AE's report, one image, toy DAE fields, Jacobian norms."""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from dashboard.app import widgets
from dashboard.app.sidebar import dataset as shared_dataset
from dashboard.core import zoo
from dashboard.regularised import sparse, toy


def _read_only(*arrays: np.ndarray) -> None:
    for array in arrays:
        array.setflags(write=False)


@st.cache_resource(show_spinner="Encoding the test digits with both autoencoders…", max_entries=4)
def report(dataset: str) -> sparse.SparseReport:
    """Both models over the whole test split; shared read-only by every session."""
    found = sparse.report(dataset)
    _read_only(found.sparse_codes, found.dense_codes, found.sparse_mse, found.dense_mse)
    return found


@st.cache_resource(show_spinner=False, max_entries=64)
def test_image(dataset: str, index: int) -> sparse.OneImage:
    """One test digit through both models."""
    ds = shared_dataset(dataset)
    return sparse.one_image(dataset, ds.x_test[index:index + 1])


@st.cache_data(show_spinner=False, max_entries=4)
def codes_csv(dataset: str) -> bytes:
    """The sparse AE's test-split codes as CSV, with labels and units firing; built only when downloaded."""
    found = report(dataset)
    return widgets.codes_csv(found.sparse_codes, shared_dataset(dataset).y_test.numpy(), {"units_firing": found.firing})


@st.cache_data(show_spinner=False, max_entries=4)
def loss_parts(dataset: str) -> dict[str, list[float]]:
    """The sparse AE's reconstruction and penalty per training epoch, from its card."""
    return zoo.read_card(sparse.SPARSE, dataset).get("loss_parts", {})


@st.cache_resource(show_spinner="Training a small denoising autoencoder on the toy points…", max_entries=16)
def field(shape: str, noise: float) -> tuple[toy.Field, float]:
    """A toy DAE's vector field for a shape and noise level, and the seconds its training took (once per server)."""
    start = time.perf_counter()
    found = toy.field(shape, noise)
    _read_only(found.data, found.grid, found.arrows, found.ideal)
    return found, time.perf_counter() - start


@st.cache_resource(show_spinner="Measuring the Jacobians of the shipped encoders…", max_entries=4)
def contraction(dataset: str) -> sparse.Contraction:
    return sparse.contraction(dataset)
