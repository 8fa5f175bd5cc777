"""Cached accessors of the Compression page: codecs, scored batches and test split, probes, finished figures."""

from __future__ import annotations

import dataclasses

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from _plotly_utils.utils import convert_to_base64

from dashboard import compression
from dashboard.app import ui
from dashboard.core import artifacts, zoo
from dashboard.generators import vq
from dashboard.viz import compression_charts as charts

BATCH_SIZE = 8  # test images shown per batch
PROBES_PER_KIND = 10  # images of every probe kind measured against JPEG and PNG
# Each stored kind's version: bump it when that computation changes (checkpoints, data and parameters are tracked
# by themselves), so the build's old result is computed live until the build stores it anew.
TEST_SET_VERSION = 1
PROBES_VERSION = 1
VQ_RATE_VERSION = 1


def _shipped_or_none(name: str, dataset: str):
    return zoo.frozen(name, dataset) if name in zoo.names(dataset) else None


def _network_names(dataset: str) -> list[str]:
    """The shipped checkpoints every codec of the page reads."""
    wanted = {f"{compression.NETWORK_FAMILIES[m]}-{k}" for m in compression.CODEC_METHODS if m != "PCA"
              for k in compression.LATENT_SIZES}
    return [name for name in zoo.names(dataset) if name in wanted]


def _scale(dataset: str) -> int:
    return charts.pixel_scale(ui.dataset(dataset).small_images)


def _at_k(comparisons: list, k: int) -> list:
    return [dataclasses.replace(c, chosen_k=k) for c in comparisons]


@st.cache_resource(show_spinner="Loading the models and fitting the PCA baselines (once per server)…", max_entries=4)
def codecs(dataset: str) -> dict:
    """{k: {"AE", "VAE", "PCA"}} for every code size; read-only, shared by all sessions."""
    return compression.all_codecs(dataset, load_model=_shipped_or_none)


@st.cache_data(show_spinner=False, max_entries=64)
def batch(dataset: str, k: int, seed: int) -> compression.ReconstructionBatch:
    indices = compression.pick_batch(len(ui.dataset(dataset).x_test), BATCH_SIZE, seed)
    return compression.reconstruct_batch(ui.dataset(dataset), codecs(dataset)[k], k, indices)


@st.cache_data(show_spinner=False, max_entries=64)
def batch_pictures(dataset: str, k: int, seed: int) -> dict[str, bytes]:
    """Each row of the batch (originals, then each method and its error map) as one finished PNG."""
    return charts.batch_pictures(batch(dataset, k, seed), _scale(dataset))


@st.cache_data(show_spinner=False, max_entries=16)
def png_sizes(dataset: str, seed: int) -> list[int]:
    indices = compression.pick_batch(len(ui.dataset(dataset).x_test), BATCH_SIZE, seed)
    return [compression.png_bytes(ui.dataset(dataset).x_test[i]) for i in indices]


@st.cache_data(show_spinner="Scoring every model on the whole test split (once per server, a few seconds)…",
               max_entries=4)
def test_set(dataset: str) -> dict:
    return artifacts.stored("compression.test_set", dataset, {}, _network_names(dataset),
                            lambda: compression.evaluate_test_set(ui.dataset(dataset).x_test, codecs(dataset)),
                            version=TEST_SET_VERSION)


def vq_rows(dataset: str) -> list[dict]:
    """The shipped VQ-VAE's rate-distortion point(s) on the test split; none where no VQ-VAE ships."""
    if not vq.available(dataset):
        return []
    return artifacts.stored("compression.vq_rate", dataset, {}, [vq.NAME],
                            lambda: [{k: v for k, v in row.items() if k != "mse_vs_pca"}
                                     for row in vq.rate_distortion_rows(dataset)],
                            version=VQ_RATE_VERSION)


@st.cache_data(show_spinner=False, max_entries=4)
def rd_table(dataset: str):
    return compression.rate_distortion_table(test_set(dataset), vq_rows(dataset))


@st.cache_data(show_spinner="Projecting the codes to 3D…", max_entries=16)
def latent_view(dataset: str, method: str, k: int, how: str) -> compression.LatentView:
    return compression.latent_view(test_set(dataset)[(method, k)], ui.dataset(dataset).y_test.numpy(), how)


@st.cache_data(show_spinner="Measuring JPEG and PNG on images unlike the training digits (once)…", max_entries=4)
def probe_measurements(dataset: str) -> dict:
    """Comparisons on PROBES_PER_KIND images of every kind; each holds every k, so changing k needs no new work."""
    def measure() -> dict:
        learned = [c["AE"] for c in codecs(dataset).values() if "AE" in c]
        return compression.probe_comparisons(ui.dataset(dataset), learned, learned[0].k, PROBES_PER_KIND, seed=0)

    return artifacts.stored("compression.probes", dataset, {"per_kind": PROBES_PER_KIND, "seed": 0},
                            _network_names(dataset), measure, version=PROBES_VERSION)


@st.cache_data(show_spinner=False, max_entries=32)
def own_results(dataset: str, pixels: np.ndarray):
    """Every codec at every k on the user's image (an array, hashed by value), so that changing k costs nothing.

    Returns the reconstructions, the codec comparison and finished PNGs: the input, then one row per method.
    """
    found, comparison = compression.own_image_report(pixels, codecs(dataset))
    return found, comparison, charts.every_k_pictures(pixels, found, _scale(dataset))


@st.cache_data(show_spinner=False, max_entries=16)
def codes_csv(dataset: str, method: str, k: int) -> bytes:
    found = test_set(dataset)[(method, k)]
    return compression.codes_frame(found, ui.dataset(dataset).y_test.numpy(), ui.dataset(dataset).classes).to_csv(
        index=False).encode()


@st.cache_data(show_spinner=False, max_entries=64)
def probe_example(dataset: str, kind: str, k: int, index: int = 0) -> compression.ProbeExample:
    comparison = _at_k(probe_measurements(dataset)[kind], k)[index]
    return compression.probe_example(ui.dataset(dataset), kind, comparison, codecs(dataset)[k]["AE"],
                                     PROBES_PER_KIND, index=index)


@st.cache_data(show_spinner=False, max_entries=32)
def typical_probe(dataset: str, kind: str) -> tuple[int, str, int]:
    """(index of the example that shows the kind's usual outcome, the usual winner, on how many of the images)."""
    found = probe_measurements(dataset)[kind]
    return (compression.typical_example(found), *compression.majority_winner(found))


@st.cache_data(show_spinner=False, max_entries=64)
def probe_pictures(dataset: str, kind: str, k: int, index: int) -> bytes:
    return charts.probe_pictures(probe_example(dataset, kind, k, index), _scale(dataset))


@st.cache_data(show_spinner=False, max_entries=32)
def probe_summary(dataset: str, k: int):
    measured = probe_measurements(dataset)
    return compression.comparison_summary({kind: _at_k(found, k) for kind, found in measured.items()})


# Charts are cached as finished specs with inline data: building and validating an altair chart is slow.
@st.cache_data(show_spinner=False, max_entries=32)
def rd_spec(dataset: str, k: int, metric: str) -> dict:
    return charts.vega_spec(charts.rate_distortion_chart(rd_table(dataset), k, metric))


@st.cache_data(show_spinner=False, max_entries=64)
def codec_spec(dataset: str, kind: str, k: int, index: int) -> dict:
    return charts.vega_spec(charts.codec_chart(probe_example(dataset, kind, k, index).comparison))


# A plotly figure is rebuilt and re-validated on unpickling, so the finished figure is shared read-only instead.
# Its arrays are held as plotly's base64 typed arrays, the form they are sent in, so copying the figure for each
# send (every k click reruns the page) converts nothing.
@st.cache_resource(show_spinner=False, max_entries=16)
def latent_figure(dataset: str, method: str, k: int, how: str):
    view = latent_view(dataset, method, k, how)
    spec = charts.latent_figure(view, ui.dataset(dataset).classes).to_dict()
    convert_to_base64(spec)  # in place: plotly's own step before sending (no public name)
    return go.Figure(spec), view.description


def precompute(dataset: str) -> None:
    """The page's heavy first-visit results, for `python -m dashboard.app.precompute`."""
    test_set(dataset)
    vq_rows(dataset)
    probe_measurements(dataset)
