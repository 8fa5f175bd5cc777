"""Latent features charts: accuracy against labels, the confusion matrix, one image's class probabilities."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.viz import plots


def accuracy_chart(table: pd.DataFrame, title: str = "", marked: tuple[int, float] | None = None) -> alt.Chart:
    """Mean test accuracy against labelled images (log axis), a line per feature set, error bars of one std.

    marked: (number of labels, accuracy) of the user's own setting, drawn as a ring in plots.MARK_COLOR.
    """
    order = list(dict.fromkeys(table["features"]))
    colour = alt.Scale(domain=order, range=[plots.method_color(name) for name in order])
    frame = table.assign(low=table["mean"] - table["std"], high=table["mean"] + table["std"])
    ticks = sorted(frame["n_labels"].unique().tolist())
    x_scale = alt.Scale(type="log", domain=[ticks[0] / 1.3, ticks[-1] * 1.3], nice=False)
    x = alt.X("n_labels:Q", scale=x_scale, title="labelled training images (log scale)",
              axis=alt.Axis(values=ticks, format="d"))
    y_scale = alt.Scale(zero=False, domain=[max(0.0, float(frame["low"].min()) - 0.02), 1.0])
    base = alt.Chart(frame).encode(x=x, color=alt.Color("features:N", scale=colour, title="features",
                                                        sort=order, legend=alt.Legend(orient="right")))
    tooltip = ["features", alt.Tooltip("n_labels:Q", title="labels"), alt.Tooltip("mean:Q", format=".3f"),
               alt.Tooltip("std:Q", format=".3f"), alt.Tooltip("n_draws:Q", title="draws")]
    lines = base.mark_line(point=True).encode(y=alt.Y("mean:Q", scale=y_scale, title="test accuracy"),
                                              tooltip=tooltip)
    bars = base.mark_errorbar(ticks=True).encode(y=alt.Y("low:Q", scale=y_scale, title="test accuracy"),
                                                 y2="high:Q")
    layers = [bars, lines]
    if marked is not None:
        point = pd.DataFrame({"n_labels": [marked[0]], "accuracy": [marked[1]], "what": ["your setting"]})
        layers.append(alt.Chart(point).mark_point(size=220, shape="circle", filled=False, strokeWidth=2.5,
                                                  color=plots.MARK_COLOR).encode(
            x=alt.X("n_labels:Q", scale=x_scale), y=alt.Y("accuracy:Q", scale=y_scale),
            tooltip=["what", alt.Tooltip("accuracy:Q", format=".3f")]))
    return alt.layer(*layers, title=title).properties(height=330)  # all of it: title, axes and plot


def ring_setting(ringed: dict, marked: tuple[int, float]) -> dict:
    """vega_spec(accuracy_chart(table, title, marked)) from the spec of any other ring, without altair's slow
    checks."""
    layers = list(ringed["layer"])
    layers[-1] = {**layers[-1], "data": {"values": [{"n_labels": marked[0], "accuracy": marked[1],
                                                      "what": "your setting"}]}}
    return {**ringed, "layer": layers}


def _confusion_frame(confusion: np.ndarray, classes: list[str]) -> pd.DataFrame:
    n = len(classes)
    frame = pd.DataFrame({"true": np.repeat(classes, n), "predicted": np.tile(classes, n),
                          "count": np.asarray(confusion).ravel()})
    frame["share"] = frame["count"] / np.maximum(np.asarray(confusion).sum(axis=1).repeat(n), 1)
    frame["correct"] = frame["true"] == frame["predicted"]
    return frame


def confusion_spec(template: dict, confusion: np.ndarray, classes: list[str]) -> dict:
    """confusion_chart(confusion, classes) as a Vega-Lite spec: the template's marks with this matrix's cells.

    template: vega_spec(confusion_chart(<any matrix>, classes)), so a new matrix skips altair's slow checks.
    """
    counts = np.asarray(confusion)
    totals = np.maximum(counts.sum(axis=1), 1)
    # The same rows, in the same order and types, as altair writes for _confusion_frame (a test checks it).
    values = [{"true": true, "predicted": predicted, "count": int(counts[i, j]),
               "share": float(counts[i, j] / totals[i]), "correct": i == j}
              for i, true in enumerate(classes) for j, predicted in enumerate(classes)]
    return {**template, "data": {"values": values}}


def confusion_chart(confusion: np.ndarray, classes: list[str]) -> alt.Chart:
    """Counts of true class (rows) against predicted class (columns), the diagonal being the correct ones."""
    frame = _confusion_frame(confusion, classes)
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", sort=classes, title="predicted class", axis=alt.Axis(labelAngle=0, labelOverlap=False)),
        y=alt.Y("true:N", sort=classes, title="true class", axis=alt.Axis(labelOverlap=False)))
    cells = base.mark_rect().encode(
        color=alt.Color("share:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), legend=None),
        tooltip=["true", "predicted", "count", alt.Tooltip("share:Q", format=".0%", title="share of the row")])
    text = base.mark_text(fontSize=11).encode(
        text=alt.condition("datum.count > 0", "count:Q", alt.value("")),
        color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("#333333")))
    # Two short lines: one long title was cut to "confusion matrix (te…" in a narrow column.
    return (cells + text).properties(height=300, title=alt.TitleParams(["confusion matrix", "(test split)"]))


def probability_chart(probabilities: np.ndarray, classes: list[str]) -> alt.Chart:
    """One bar per class; the predicted class is dark, the rest light."""
    frame = pd.DataFrame({"class": classes, "probability": np.asarray(probabilities, dtype=float)})
    top = classes[int(np.argmax(probabilities))]
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("class:N", sort=classes, title="class"),
        y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1]), title="probability"),
        color=alt.condition(alt.datum["class"] == top, alt.value(plots.METHOD_COLORS["AE"]), alt.value("#c9d6e8")),
        tooltip=["class", alt.Tooltip("probability:Q", format=".1%")],
    ).properties(height=220)


def misclassified_map(points: np.ndarray, labels: np.ndarray, classes: list[str], predictions: np.ndarray,
                      wrong: np.ndarray, height: int = 380) -> go.Figure:
    """Test images in a 3D feature space (N, 3) coloured by true class, the misclassified ones marked by crosses."""
    figure = plots.latent_scatter_3d(points, labels, classes, hover={"predicted": predictions},
                                     highlight=points[wrong], highlight_name="misclassified", height=height)
    # Small crosses rather than the default large diamonds: there can be a hundred mistakes or more.
    figure.update_traces(marker={"size": 2, "symbol": "x"}, selector={"name": "misclassified"})
    return figure


def move_mistakes(figure: go.Figure, points: np.ndarray, labels: np.ndarray, classes: list[str],
                  predictions: np.ndarray, wrong: np.ndarray) -> go.Figure:
    """Put another evaluation's predictions and crosses into a misclassified_map of the same points, in place.

    Only the hover and the crosses change between label budgets, so refilling beats building anew. The figure
    must have been built with crosses (wrong non-empty) and be given some again: without them the cloud is denser.
    """
    labels = np.asarray(labels)
    members = [labels == c for c in range(len(classes)) if (labels == c).any()]
    crosses = points[wrong]
    with figure.batch_update():
        for trace, chosen in zip(figure.data, members, strict=False):
            trace.customdata = np.column_stack([np.asarray(predictions)[chosen]])
        figure.data[-1].update(x=crosses[:, 0], y=crosses[:, 1], z=crosses[:, 2],
                               mode="markers+text" if len(crosses) == 1 else "markers",
                               text=[figure.data[-1].name] * len(crosses))
    return figure
