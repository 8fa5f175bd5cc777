"""Compression figures: the rate-distortion and bytes-against-quality charts, image rows as PNG, the 3D code view."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch

from dashboard.compression import (
    LATENT_SIZES,
    METHODS,
    CodecComparison,
    LatentView,
    ProbeExample,
    ReconstructionBatch,
    SingleReconstruction,
)
from dashboard.core import images
from dashboard.viz import plots

NOTE_COLOR = "#808080"  # marks and labels drawn on the chart: a grey that reads on the light and the dark theme


def pixel_scale(small_images: bool) -> int:
    """On-screen pixels per image pixel: 8x8 digits are blown up further than 28x28 ones."""
    return 10 if small_images else 3


def row_png(tiles: Sequence[np.ndarray], gap: int = 4) -> bytes:
    """Equal-height uint8 images side by side with a light gap, as one PNG: one picture to send, not many."""
    return images.encode_png(plots.tile_grid([tiles], gap, margin=0))


def vega_spec(chart: alt.TopLevelMixin) -> dict:
    """A finished Vega-Lite spec with its data inline.

    Streamlit turns named datasets into Arrow tables on every call; inline values are much cheaper to send.
    """
    spec = chart.to_dict()
    datasets = spec.pop("datasets", {})

    def inline(node):
        if isinstance(node, dict):
            source = node.get("data")
            if isinstance(source, dict) and source.get("name") in datasets:
                node["data"] = {"values": datasets[source["name"]]}
            for value in node.values():
                inline(value)
        elif isinstance(node, list):
            for value in node:
                inline(value)

    inline(spec)
    return spec


def batch_pictures(batch: ReconstructionBatch, scale: int) -> dict[str, bytes]:
    """Each row of the batch (originals, then each method and its error map) as one finished PNG."""
    pictures = {"original": row_png([plots.to_pixels(x, scale) for x in batch.originals])}
    for result in batch.results:
        pictures[result.method] = row_png([plots.to_pixels(x, scale) for x in result.images])
        pictures[f"{result.method} error"] = row_png(
            [plots.heatmap_pixels(e, batch.error_scale, scale) for e in result.errors])
    return pictures


def batch_grid_png(batch: ReconstructionBatch) -> bytes:
    """The originals and every method's rebuild as one labelled grid, for download."""
    rows = [list(batch.originals[:, 0])] + [list(r.images[:, 0]) for r in batch.results]
    return plots.grid_png(rows)


def every_k_pictures(image: torch.Tensor | np.ndarray, found: Sequence[SingleReconstruction],
                     scale: int) -> dict[str, bytes]:
    """Finished PNGs of one image's rebuilds: the input, then one row per method with a tile per k."""
    rows = {"input": images.encode_png(plots.to_pixels(image, scale))}
    for method in METHODS:
        mine = [r for r in found if r.method == method]
        if mine:
            rows[method] = row_png([plots.to_pixels(r.image, scale) for r in mine])
    return rows


def probe_pictures(example: ProbeExample, scale: int) -> bytes:
    """The probe image, the learned code's rebuild and the closest-sized JPEG side by side, as one finished PNG.

    One row rather than three pictures: a phone stacks columns, and three full-width pictures ran a screen long.
    """
    return row_png([plots.to_pixels(x, scale) for x in (example.image, example.learned, example.jpeg)])


def latent_figure(view: LatentView, classes: list[str]) -> go.Figure:
    """The 3D code view, coloured by class, with each image's reconstruction error on hover."""
    return plots.latent_scatter_3d(view.points, view.labels, classes, hover={"reconstruction MSE": view.errors},
                                   height=480)


def rate_distortion_chart(table: pd.DataFrame, chosen_k: int, metric: str = "mse") -> alt.LayerChart:
    """Test error (MSE or PSNR) against code size k per method, with the chosen k marked."""
    title = {"mse": "test MSE (lower is better)", "psnr": "test PSNR in dB (higher is better)"}[metric]
    methods = [m for m in METHODS if m in set(table["method"])]
    base = alt.Chart(table).encode(
        x=alt.X("k:Q", scale=alt.Scale(type="log", base=2), axis=alt.Axis(values=list(LATENT_SIZES)),
                title="code size k (numbers per image, log scale)"),
        y=alt.Y(f"{metric}:Q", title=title, scale=alt.Scale(zero=False)),
        color=alt.Color("method:N", scale=plots.method_scale(methods), title="method"),
        tooltip=["method", "model", "k", "code_bytes", alt.Tooltip("mse:Q", format=".5f"),
                 alt.Tooltip("psnr:Q", format=".2f", title="PSNR (dB)"),
                 alt.Tooltip("mse_vs_pca:Q", format=".2f", title="MSE / PCA's")])
    marker = alt.Chart(pd.DataFrame({"k": [chosen_k], "label": [f"k = {chosen_k}"]})).encode(x="k:Q")
    return alt.layer(base.mark_line(point=True), marker.mark_rule(strokeDash=[4, 4], color=NOTE_COLOR),
                     marker.mark_text(align="left", dx=4, dy=-6, color=NOTE_COLOR).encode(
                         y=alt.value(0), text="label:N")).properties(height=300)


def codec_chart(comparison: CodecComparison) -> alt.LayerChart:
    """Bytes against PSNR for one image: the learned code at every k, JPEG at every quality, PNG and the target."""
    points = pd.DataFrame([{"codec": p.codec, "setting": p.setting, "bytes": p.n_bytes, "psnr": p.psnr}
                           for p in comparison.learned + comparison.jpeg])
    codecs = list(dict.fromkeys(points["codec"]))
    colors = [plots.method_color(c) if c in plots.METHOD_COLORS else "#E45756" for c in codecs]
    ticks = [2 ** i for i in range(2, 11)]
    curves = alt.Chart(points).mark_line(point=True).encode(
        x=alt.X("bytes:Q", scale=alt.Scale(type="log", base=2), axis=alt.Axis(values=ticks, grid=True),
                title="bytes per image (log scale)"),
        y=alt.Y("psnr:Q", title="PSNR in dB (higher is better)", scale=alt.Scale(zero=False)),
        color=alt.Color("codec:N", scale=alt.Scale(domain=codecs, range=colors), title="codec"),
        tooltip=["codec", "setting", "bytes", alt.Tooltip("psnr:Q", format=".1f")])
    png = alt.Chart(pd.DataFrame({"bytes": [comparison.png.n_bytes],
                                  "label": [f"PNG, lossless: {comparison.png.n_bytes} B"]}))
    target = alt.Chart(pd.DataFrame({"psnr": [comparison.target_psnr],
                                     "label": [f"target {comparison.target_psnr:g} dB"]}))
    return alt.layer(
        curves, png.mark_rule(strokeDash=[2, 2], color=NOTE_COLOR).encode(x="bytes:Q"),
        png.mark_text(align="right", dx=-4, dy=8, color=NOTE_COLOR).encode(x="bytes:Q", y=alt.value(0), text="label:N"),
        target.mark_rule(strokeDash=[6, 3], color=NOTE_COLOR).encode(y="psnr:Q"),
        target.mark_text(align="left", dy=-6, color=NOTE_COLOR).encode(x=alt.value(4), y="psnr:Q", text="label:N"),
    ).properties(height=300)
