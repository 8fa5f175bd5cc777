"""Charts of the Regularised AEs page: sparse code bars, units firing per image, the DAE's arrows, loss parts."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from dashboard.viz.plots import CLASS_COLORS, METHOD_COLORS

# What each named loss part is called on a chart (the keys are the ones nets' loss() returns).
PART_LABELS = {"recon": "reconstruction", "kl": "KL", "sparsity": "sparsity penalty",
               "contractive": "contractive penalty", "loss": "total"}
SPARSE_COLOR = "#E45756"  # the sparse AE's colour beside METHOD_COLORS["AE"], the undercomplete ae-16
IDEAL_COLOR = "#B279A2"
ARROW_HEAD = 0.35  # barb length as a share of the arrow's length
ARROW_SPREAD = 0.45  # barb angle in radians


def part_label(key: str) -> str:
    return PART_LABELS.get(key, key)


def loss_parts_spec(parts: dict[str, list[float]], title: str = "each part of the loss per epoch") -> dict:
    """One small line chart per loss part, side by side, each on its own scale (a penalty is often 100x smaller).

    parts: {"recon": [...], "kl" or "sparsity" or "contractive": [...]}, one value per epoch; "loss" (the total) is
    left out when other parts are there. A finished Vega-Lite spec (a dict), like plots.code_bars_spec.
    """
    shown = {k: v for k, v in parts.items() if k != "loss" or len(parts) == 1}
    if not shown:
        raise ValueError("No loss parts to plot.")
    values = [{"epoch": i + 1, "part": part_label(key), "value": float(v)}
              for key, series in shown.items() for i, v in enumerate(series)]
    return {
        "title": title, "data": {"values": values},
        "facet": {"field": "part", "type": "nominal", "title": None, "sort": [part_label(k) for k in shown]},
        "columns": min(len(shown), 3),
        "spec": {"width": 150, "height": 140, "mark": {"type": "line", "point": True, "color": METHOD_COLORS["AE"]},
                 "encoding": {
                     "x": {"field": "epoch", "type": "quantitative", "axis": {"tickMinStep": 1}},
                     "y": {"field": "value", "type": "quantitative", "title": None, "scale": {"zero": False}},
                     "tooltip": [{"field": "part"}, {"field": "epoch"},
                                 {"field": "value", "type": "quantitative", "format": ".5f"}]}},
        "resolve": {"scale": {"y": "independent"}},
    }


def code_bars_spec(code: np.ndarray, title: str, color: str, height: int = 170) -> dict:
    """A bar per code unit; silent units (exactly 0) show as gaps, so a sparse code looks sparse."""
    values = np.asarray(code, dtype=float).ravel()
    axis = {"labelAngle": 0} | ({"values": list(range(16, len(values) + 1, 16))} if len(values) > 32 else {})
    return {
        "title": title, "height": height, "width": "container", "mark": {"type": "bar", "color": color},
        "data": {"values": [{"unit": i + 1, "value": float(v), "state": "fires" if v != 0 else "silent"}
                            for i, v in enumerate(values)]},
        "encoding": {
            "x": {"field": "unit", "type": "ordinal", "title": "code unit", "axis": axis},
            "y": {"field": "value", "type": "quantitative", "title": "value"},
            "tooltip": [{"field": "unit"}, {"field": "value", "type": "quantitative", "format": ".3f"},
                        {"field": "state"}]}}


def firing_histogram_spec(counts: np.ndarray, latent_dim: int, chosen: int | None = None) -> dict:
    """How many code units fire (are non-zero) per test image, as a histogram; a rule marks the chosen image."""
    counts = np.asarray(counts, dtype=int)
    tally = np.bincount(counts, minlength=latent_dim + 1)
    bars = [{"units": int(n), "images": int(c)} for n, c in enumerate(tally) if c]
    layers = [{"mark": {"type": "bar", "color": SPARSE_COLOR, "width": {"band": 0.9}},
               "encoding": {"x": {"field": "units", "type": "quantitative", "title": f"units firing (of {latent_dim})",
                                  "bin": False, "scale": {"domain": [0, max(int(counts.max()) + 2, 8)]}},
                            "y": {"field": "images", "type": "quantitative", "title": "test images"},
                            "tooltip": [{"field": "units"}, {"field": "images"}]}}]
    data = {"values": bars}
    if chosen is not None:
        layers.append({"data": {"values": [{"units": int(chosen)}]},
                       "mark": {"type": "rule", "strokeDash": [4, 3], "strokeWidth": 2},
                       "encoding": {"x": {"field": "units", "type": "quantitative"}}})
    return {"height": 190, "width": "container", "data": data, "layer": layers}


def unit_usage_spec(codes: np.ndarray, height: int = 190) -> dict:
    """A bar per code unit: the share of images (N, K codes) for which it fires, busiest first."""
    usage = (np.asarray(codes) != 0).mean(axis=0)
    order = np.argsort(-usage, kind="stable")
    return {
        "height": height, "width": "container", "mark": {"type": "bar", "color": SPARSE_COLOR},
        "data": {"values": [{"rank": r + 1, "unit": int(i) + 1, "share": float(usage[i])}
                            for r, i in enumerate(order)]},
        "encoding": {
            "x": {"field": "rank", "type": "ordinal", "title": "units, busiest first",
                  "axis": {"values": list(range(16, len(order) + 1, 16)) or [1], "labelAngle": 0}},
            "y": {"field": "share", "type": "quantitative", "title": "share of images", "axis": {"format": "%"}},
            "tooltip": [{"field": "unit"}, {"field": "share", "type": "quantitative", "format": ".1%"}]}}


def _segments(tails: np.ndarray, vectors: np.ndarray) -> tuple[list, list]:
    """x and y lists of line pieces (None-separated) drawing an arrow with two barbs per tail."""
    xs: list = []
    ys: list = []
    for (x0, y0), (dx, dy) in zip(tails, vectors):
        x1, y1 = x0 + dx, y0 + dy
        xs += [x0, x1, None]
        ys += [y0, y1, None]
        for turn in (ARROW_SPREAD, -ARROW_SPREAD):
            c, s = np.cos(turn), np.sin(turn)
            bx, by = -(c * dx - s * dy) * ARROW_HEAD, -(s * dx + c * dy) * ARROW_HEAD
            xs += [x1, x1 + bx, None]
            ys += [y1, y1 + by, None]
    return xs, ys


def capped(vectors: np.ndarray, longest: float) -> np.ndarray:
    """Vectors (G, 2) shortened, where longer than `longest`, to that length; the rest stay to scale."""
    lengths = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors * np.minimum(1.0, longest / np.maximum(lengths, 1e-12))


def vector_field_figure(data: np.ndarray, tails: np.ndarray, arrows: np.ndarray, ideal: np.ndarray | None = None,
                        extent: float = 1.4, height: int = 520) -> go.Figure:
    """The toy data as dots and the DAE's arrows r(x) - x on a grid (optionally the ideal arrows beside them).

    Arrows are drawn to scale (an arrow is as long as the step r(x) - x), except that those longer than 0.9 of a
    grid step are shortened to it, so that far-off arrows do not cross the picture and hide the short ones.
    """
    spacing = 2 * extent / max(int(round(np.sqrt(len(tails)))) - 1, 1)
    cap = 0.9 * spacing
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=data[:, 0], y=data[:, 1], mode="markers", name="training data",
                               marker={"size": 4, "color": CLASS_COLORS[1], "opacity": 0.55}, hoverinfo="skip"))
    xs, ys = _segments(tails, capped(arrows, cap))
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="DAE: r(x) − x", hoverinfo="skip",
                             line={"color": METHOD_COLORS["DAE"], "width": 1.6}))
    if ideal is not None:  # drawn last, dotted, so that it shows where it lies on top of the DAE's arrows
        xs, ys = _segments(tails, capped(ideal, cap))
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="ideal: σ²·∇log p(x)", hoverinfo="skip",
                                 line={"color": IDEAL_COLOR, "width": 1.4, "dash": "dot"}))
    pad = 0.05 * extent
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
                      xaxis={"range": [-extent - pad, extent + pad], "zeroline": False, "title": None},
                      yaxis={"range": [-extent - pad, extent + pad], "zeroline": False, "title": None,
                             "scaleanchor": "x", "scaleratio": 1},
                      dragmode=False)
    if (np.linalg.norm(arrows, axis=1) > cap).any():
        fig.add_annotation(text="arrows longer than a grid step are drawn shortened", showarrow=False,
                           xref="paper", yref="paper", x=1, y=0, xanchor="right", yanchor="bottom",
                           font={"size": 11})
    return fig
