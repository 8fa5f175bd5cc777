"""The anomaly page's charts: score histograms and ROC/PR curves (Vega-Lite), error galleries, the 3D latent view."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch

from dashboard.anomaly import SCORE_KINDS, Evaluation, ImageScore, OperatingPoint, score_kind
from dashboard.core import images, metrics
from dashboard.viz import plots

NORMAL_COLOR = "#4C78A8"
ANOMALY_COLOR = "#E45756"
THRESHOLD_COLOR = "#8A63D2"  # violet: about 4:1 contrast on the light and on the dark background alike
GROUP_NAMES = ("normal", "anomalous")
# Blue (most normal) to red (most anomalous): a mid blue, not navy, so normal codes read on the dark theme as well;
# the bright end of the error-map scale would vanish on white.
SCORE_COLORSCALE = [[0.0, "#4575B4"], [0.5, "#FDAE61"], [1.0, "#D7191C"]]


# The page caches these specs once per scenario; a threshold is layered on as a tiny dict, so moving it is cheap.
def histogram_spec(evaluation: Evaluation, bins: int = 40, height: int = 260) -> dict:
    """Overlaid histograms of normal and anomalous test scores, as shares of each group (a Vega-Lite spec).

    Shares, not counts, because the groups differ in size (100 normal against 900 anomalous in one-class).
    """
    low, high = evaluation.score_range()
    edges = np.linspace(low, high, bins + 1)
    rows = []
    for flag, name in enumerate(GROUP_NAMES):
        group = evaluation.scores[evaluation.labels == flag]
        if not len(group):
            continue
        counts, _ = np.histogram(group, bins=edges)
        rows += [{"group": f"{name} ({len(group)})", "start": float(a), "end": float(b),
                  "share": float(c) / len(group)} for a, b, c in zip(edges[:-1], edges[1:], counts)]
    domain = sorted({r["group"] for r in rows}, key=lambda g: not g.startswith("normal"))
    colors = [NORMAL_COLOR if g.startswith("normal") else ANOMALY_COLOR for g in domain]
    return {
        "height": height,
        "layer": [{
            "data": {"values": rows},
            "mark": {"type": "bar", "opacity": 0.55, "binSpacing": 0},
            "encoding": {
                "x": {"field": "start", "type": "quantitative", "title": f"anomaly score: "
                      f"{score_kind(evaluation.kind).label}", "scale": {"domain": [low, high]}},
                "x2": {"field": "end"},
                "y": {"field": "share", "type": "quantitative", "stack": None, "title": "share of the group",
                      "axis": {"format": "%"}},
                "y2": {"datum": 0},
                "color": {"field": "group", "type": "nominal", "title": None,
                          "scale": {"domain": domain, "range": colors}, "legend": {"orient": "top"}},
                "tooltip": [{"field": "group"}, {"field": "start", "format": ".4f", "title": "from"},
                            {"field": "end", "format": ".4f", "title": "to"},
                            {"field": "share", "format": ".1%"}],
            },
        }],
    }


def with_threshold(spec: dict, threshold: float, marks: dict[str, float] | None = None) -> dict:
    """A copy of a histogram spec with the threshold drawn on it, plus optional labelled marks (e.g. your image)."""
    rule = {"data": {"values": [{"threshold": float(threshold), "label": f"threshold {threshold:.4g}"}]},
            "mark": {"type": "rule", "color": THRESHOLD_COLOR, "strokeWidth": 2},
            "encoding": {"x": {"field": "threshold", "type": "quantitative"},
                         "tooltip": [{"field": "label", "title": "flag when score >"}]}}
    text = {**rule, "mark": {"type": "text", "align": "left", "dx": 4, "dy": -6, "baseline": "top",
                             "color": THRESHOLD_COLOR, "fontWeight": "bold"},
            "encoding": {"x": {"field": "threshold", "type": "quantitative"}, "y": {"value": 0},
                         "text": {"field": "label"}}}
    layers = [*spec["layer"], rule, text]
    if marks:
        values = [{"score": float(v), "name": k} for k, v in marks.items()]
        layers.append({"data": {"values": values}, "mark": {"type": "rule", "strokeDash": [4, 3], "strokeWidth": 2,
                                                            "color": "#54A24B"},
                       "encoding": {"x": {"field": "score", "type": "quantitative"},
                                    "tooltip": [{"field": "name"}, {"field": "score", "format": ".4f"}]}})
        layers.append({"data": {"values": values}, "mark": {"type": "text", "align": "left", "dx": 4, "dy": 14,
                                                            "baseline": "top", "color": "#2E7D32"},
                       "encoding": {"x": {"field": "score", "type": "quantitative"}, "y": {"value": 0},
                                    "text": {"field": "name"}}})
    return {**spec, "layer": layers}


def _thin(xs: np.ndarray, ys: np.ndarray, limit: int = 400) -> list[dict]:
    """Curve points as records, thinned to at most `limit` so the spec stays small; the ends are kept."""
    keep = np.unique(np.r_[np.linspace(0, len(xs) - 1, min(limit, len(xs))).round().astype(int), len(xs) - 1])
    return [{"x": float(xs[i]), "y": float(ys[i])} for i in keep]


def curve_spec(evaluation: Evaluation, which: str, height: int = 260) -> dict:
    """The ROC ("roc") or precision-recall ("pr") curve with its chance line, as a Vega-Lite spec."""
    if evaluation.roc is None:
        raise ValueError("Curves need both normal and anomalous test images.")
    if which == "roc":
        fpr, tpr, _ = evaluation.roc
        points, chance = _thin(fpr, tpr), [{"x": 0.0, "y": 0.0}, {"x": 1.0, "y": 1.0}]
        titles = ("false-alarm rate", "recall")
        name = f"ROC, AUROC {evaluation.auroc:.3f}"
    else:
        precision, recall, _ = evaluation.pr
        points = _thin(recall[::-1], precision[::-1])
        rate = float(evaluation.labels.mean())
        chance = [{"x": 0.0, "y": rate}, {"x": 1.0, "y": rate}]
        titles = ("recall", "precision")
        name = f"precision-recall, AP {evaluation.average_precision:.3f}"
    axes = {"x": {"field": "x", "type": "quantitative", "title": titles[0], "scale": {"domain": [0, 1]}},
            "y": {"field": "y", "type": "quantitative", "title": titles[1], "scale": {"domain": [0, 1]}}}
    return {
        "height": height, "title": {"text": name, "anchor": "start", "fontSize": 13},
        "layer": [
            {"data": {"values": chance}, "mark": {"type": "line", "strokeDash": [4, 4], "color": "#999999"},
             "encoding": axes},
            {"data": {"values": points},
             "mark": {"type": "line", "color": NORMAL_COLOR, "interpolate": "step-after" if which == "pr" else
                      "linear"}, "encoding": axes},
        ],
    }


def with_operating_point(spec: dict, which: str, point: OperatingPoint) -> dict:
    """A copy of a curve spec with the current threshold's operating point marked."""
    x, y = (point.false_positive_rate, point.recall) if which == "roc" else (point.recall, point.precision)
    dot = {"data": {"values": [{"x": x, "y": y, "label": f"threshold {point.threshold:.4g}"}]},
           "mark": {"type": "point", "filled": True, "size": 140, "color": THRESHOLD_COLOR},
           "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"},
                        "tooltip": [{"field": "label", "title": "at"}, {"field": "x", "format": ".3f"},
                                    {"field": "y", "format": ".3f"}]}}
    return {**spec, "layer": [*spec["layer"], dot]}


def gallery_png(shown: list[ImageScore], scale: int = 3, vmax: float | None = None, gap: int = 4) -> bytes:
    """PNG of a grid: one column per image, rows input / reconstruction / error map (one error scale for all)."""
    top = vmax or max(float(s.error_map.max()) for s in shown)
    rows = [[plots.to_pixels(s.x[0], scale) for s in shown], [plots.to_pixels(s.x_hat[0], scale) for s in shown],
            [plots.heatmap_pixels(s.error_map, top, scale) for s in shown]]
    return images.encode_png(plots.tile_grid(rows, gap, margin=0))


def latent_points(model: torch.nn.Module, x: torch.Tensor) -> tuple[np.ndarray, str]:
    """Codes of images (N, C, H, W) as (N, 3) points for a 3D view, and how they were projected."""
    return plots.project_3d(metrics.encode(model, x).numpy())


def latent_figure(points: np.ndarray, evaluation: Evaluation, names: list[str], height: int = 480) -> go.Figure:
    """3D scatter of test codes coloured by anomaly score (rank), anomalies drawn as diamonds."""
    ranks = np.argsort(np.argsort(evaluation.scores)) / max(len(evaluation.scores) - 1, 1)  # colour by rank
    names = np.asarray(names)
    fig = go.Figure()
    for flag, group in enumerate(GROUP_NAMES):
        chosen = evaluation.labels == flag
        if not chosen.any():
            continue
        # A grey stand-in carries the legend: the real markers' colours encode the score, not the group.
        fig.add_trace(go.Scatter3d(x=[None], y=[None], z=[None], mode="markers", name=f"{group} (truth)",
                                   marker={"size": 6, "symbol": "circle" if flag == 0 else "diamond",
                                           "color": "#888888"}, hoverinfo="skip"))
        fig.add_trace(go.Scatter3d(
            x=points[chosen, 0], y=points[chosen, 1], z=points[chosen, 2], mode="markers",
            name=f"{group} (truth)", showlegend=False,
            marker={"size": 3 if flag == 0 else 4, "symbol": "circle" if flag == 0 else "diamond",
                    "color": ranks[chosen], "colorscale": SCORE_COLORSCALE, "cmin": 0.0, "cmax": 1.0,
                    "opacity": 0.85, "showscale": flag == 0,
                    "colorbar": {"title": {"text": "score rank"}, "tickvals": [0, 1],
                                 "ticktext": ["most normal", "most anomalous"], "len": 0.6}},
            text=names[chosen], customdata=evaluation.scores[chosen],
            hovertemplate="%{text}<br>score %{customdata:.4f}<extra></extra>"))
    fig = plots.style_3d(fig, height=height)
    # The colour bar lies under the scene and the shape legend under it: beside the scene the bar would squeeze it on
    # a phone, and a legend on top would sit under the toolbar.
    fig.update_traces(selector={"showlegend": False, "type": "scatter3d"},
                      marker_colorbar={"orientation": "h", "x": 0.5, "xanchor": "center", "y": 0.1,
                                       "yanchor": "middle", "len": 0.6, "thickness": 12,
                                       "title": {"side": "top"}})
    fig.update_layout(scene_domain={"y": [0.2, 1.0]}, legend={"title": {"text": "shape "}})
    return fig


def table_markdown(table: pd.DataFrame) -> str:
    """The comparison table as markdown, the autoencoder rows in bold.

    Markdown, not a dataframe widget, which is far slower to send on every rerun of the page.
    """
    lines = ["| method | AUROC | average precision |", "|---|---:|---:|"]
    for row in table.itertuples(index=False):
        bold = "**" if row.method.startswith("AE") else ""
        lines.append(f"| {bold}{row.method}{bold} | {bold}{row.AUROC:.3f}{bold} | "
                     f"{bold}{row[2]:.3f}{bold} |")
    return "\n".join(lines)


def code_size_markdown(sizes: pd.DataFrame) -> str:
    """Per plain AE: median error on digits and on probes, their ratio and the pixel error's AUROC, as markdown.

    Five short columns, so the table fits a phone's width.
    """
    lines = ["| model | digits | probes | ratio | AUROC |", "|---|---:|---:|---:|---:|"]
    for row in sizes.itertuples(index=False):
        lines.append(f"| {row.model} | {row[2]:.4f} | {row[3]:.4f} | {row.ratio:.2f}x | {row[5]:.3f} |")
    return "\n".join(lines)


def detector_markdown(table: pd.DataFrame, model: str, kind: str) -> str:
    """AUROC of every shipped model (rows) and score (columns) as markdown, the chosen detector in bold."""
    grid = table.pivot(index="model", columns="score", values="AUROC")
    grid = grid.loc[list(dict.fromkeys(table["model"]))]  # the zoo's order, not alphabetical
    kinds = _table_scores(table)
    lines = ["| model | " + " | ".join(score_kind(k).short for k in kinds) + " |",
             "|---|" + "---:|" * len(kinds)]
    for name, row in grid.iterrows():
        cells = [f"**{row[k]:.3f}**" if (name, k) == (model, kind) else f"{row[k]:.3f}" for k in kinds]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _table_scores(table: pd.DataFrame) -> list[str]:
    """The scores a table holds, in the registry's order; a score the registry lacks is an error."""
    found = set(table["score"])
    for key in found:
        score_kind(key)
    return [key for key in SCORE_KINDS if key in found]


def score_columns(table: pd.DataFrame) -> str:
    """What each score column of detector_markdown is, in words: "Pixels = squared error (MSE), ..."."""
    scores = [score_kind(key) for key in _table_scores(table)]
    return ", ".join(f"{s.short} = {s.label[:1].lower()}{s.label[1:]}" for s in scores)
