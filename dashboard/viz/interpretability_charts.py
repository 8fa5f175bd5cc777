"""Interpretability charts: top images with attribution maps, histogram, logit effect, steering, purity."""

from __future__ import annotations

import io

import altair as alt
import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageDraw, ImageFont

from dashboard.viz import plots

SAE_COLOR = "#4C78A8"  # the app's AE blue: the SAE is an autoencoder
PCA_COLOR = plots.METHOD_COLORS["PCA"]
BEFORE_COLOR, AFTER_COLOR = "#BAB0AC", "#F58518"
LABEL_PX = 22


def attribution_png(images: torch.Tensor | np.ndarray, maps: np.ndarray, headings: list[str],
                    scale: int = 3, per_row: int = 5) -> bytes:
    """Top images (n, 1, H, W), each above its attribution map (n, H, W) and under a heading, as one PNG.

    per_row pairs go on each band, so ten of them stay large enough to read on a phone. A map shows only where
    the input pushes the feature up (gradient x input > 0), each on its own scale, over a dimmed copy of the digit
    so the strokes stay readable.
    """
    grey = [plots.to_pixels(image, scale) for image in images]
    heat = []
    for image, attribution in zip(grey, maps):
        positive = np.clip(np.asarray(attribution, dtype=np.float64), 0.0, None)
        colour = plots.heatmap_pixels(positive, vmax=float(positive.max()) or 1.0, scale=scale).astype(np.float64)
        heat.append(np.clip(colour + 0.25 * image[..., None], 0, 255).astype(np.uint8))
    tile_h, tile_w = grey[0].shape
    gap, n = 3, len(grey)
    columns, bands = min(per_row, n), -(-n // per_row)
    band_h = LABEL_PX + 2 * tile_h + 3 * gap
    canvas = np.full((bands * band_h + gap, columns * (tile_w + gap) + gap, 3), 255, np.uint8)
    spots = [(gap + (i % per_row) * (tile_w + gap), (i // per_row) * band_h) for i in range(n)]  # (left, band top)
    for (left, top), image, colour in zip(spots, grey, heat):
        canvas[top + LABEL_PX + gap:top + LABEL_PX + gap + tile_h, left:left + tile_w] = image[..., None]
        canvas[top + LABEL_PX + 2 * gap + tile_h:top + LABEL_PX + 2 * gap + 2 * tile_h, left:left + tile_w] = colour
    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=max(10, min(LABEL_PX - 6, tile_w // 5)))
    for (left, top), heading in zip(spots, headings):
        draw.text((left + tile_w / 2, top + LABEL_PX / 2 + 2), heading, fill=(40, 40, 40), font=font, anchor="mm")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def activation_histogram(values: np.ndarray, marked: float | None = None) -> alt.Chart:
    """How strongly a feature fires on the images where it fires at all (its non-zero activations)."""
    frame = pd.DataFrame({"activation": np.asarray(values, dtype=np.float64)})
    bars = alt.Chart(frame).mark_bar(color=SAE_COLOR).encode(
        x=alt.X("activation:Q", bin=alt.Bin(maxbins=25), title="activation"),
        y=alt.Y("count():Q", title="test images"))
    layers = [bars]
    if marked is not None:
        rule = pd.DataFrame({"activation": [marked]})
        layers.append(alt.Chart(rule).mark_rule(color=plots.HIGHLIGHT_COLOR, strokeDash=[4, 3]).encode(
            x="activation:Q"))
    return alt.layer(*layers).properties(height=210)


def logit_bars(effect: np.ndarray, classes: list[str]) -> alt.Chart:
    """The change of each class logit per unit of the feature, green up and red down."""
    frame = pd.DataFrame({"class": classes, "effect": np.asarray(effect, dtype=np.float64)})
    frame["direction"] = np.where(frame["effect"] >= 0, "raises", "lowers")
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("class:N", sort=classes, title="class", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("effect:Q", title="logit change per unit"),
        color=alt.Color("direction:N", scale=alt.Scale(domain=["raises", "lowers"], range=["#54A24B", "#E45756"]),
                        legend=None),
        tooltip=["class", alt.Tooltip("effect:Q", format="+.3f")]).properties(height=210)


def share_bars(features: np.ndarray, shares: np.ndarray, descriptions: list[str]) -> alt.Chart:
    """One image's active features and the share of its total activation each carries, largest first."""
    labels = [f"#{int(f)}" for f in features]
    frame = pd.DataFrame({"feature": labels, "share": np.asarray(shares, dtype=np.float64),
                          "what it stands for": descriptions})
    return alt.Chart(frame).mark_bar(color=SAE_COLOR).encode(
        y=alt.Y("feature:N", sort=labels, title=None),
        x=alt.X("share:Q", title="share of the image's activation", axis=alt.Axis(format="%")),
        tooltip=["feature", alt.Tooltip("share:Q", format=".1%"), "what it stands for"],
    ).properties(height=max(120, 26 * len(labels)))


def probability_bars(before: np.ndarray, after: np.ndarray, classes: list[str]) -> alt.Chart:
    """The classifier's class probabilities before and after steering, side by side per class."""
    frame = pd.DataFrame({"class": list(classes) * 2, "probability": np.concatenate([before, after]),
                          "when": ["before"] * len(classes) + ["after"] * len(classes)})
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("class:N", sort=classes, title="class", axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("when:N", sort=["before", "after"]),
        y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1]), title="probability"),
        color=alt.Color("when:N", scale=alt.Scale(domain=["before", "after"], range=[BEFORE_COLOR, AFTER_COLOR]),
                        legend=alt.Legend(orient="top", title=None)),
        tooltip=["class", "when", alt.Tooltip("probability:Q", format=".3f")]).properties(height=240)


def purity_histogram(sae_purity: np.ndarray, pca_purity: np.ndarray, top: int = 10) -> alt.Chart:
    """How many of their top images share one class, for SAE features and PCA directions, as shares of each set."""
    rows = []
    for method, values in (("SAE features", sae_purity), ("PCA directions", pca_purity)):
        values = np.asarray(values, dtype=np.float64)
        values = values[~np.isnan(values)]
        counts = np.rint(values * top).astype(int)
        for hits in range(1, top + 1):
            rows.append({"method": method, "same class in top 10": hits,
                         "share": float((counts == hits).mean()) if len(values) else 0.0, "n": len(values)})
    frame = pd.DataFrame(rows)
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("same class in top 10:O", title=f"images of the commonest class among the top {top}",
                axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("method:N"),
        y=alt.Y("share:Q", title="share of directions", axis=alt.Axis(format="%")),
        color=alt.Color("method:N", scale=alt.Scale(domain=["SAE features", "PCA directions"],
                                                    range=[SAE_COLOR, PCA_COLOR]),
                        legend=alt.Legend(orient="top", title=None)),
        tooltip=["method", "same class in top 10", alt.Tooltip("share:Q", format=".0%"),
                 alt.Tooltip("n:Q", title="directions scored")]).properties(height=240)
