"""VAE page figures: the reparameterisation graph, KL bars per dimension, the β ladder and the 2-D code map."""

from __future__ import annotations

import numpy as np

from dashboard.viz import plots

ACTIVE_COLOR = plots.METHOD_COLORS["VAE"]
SILENT_COLOR = "#BAB0AC"  # the app's grey for what carries nothing (as "Noisy input" elsewhere)


def reparam_dot(mu: float, sigma: float, eps: float, dim: int) -> str:
    """The reparameterisation trick as a computation graph (Graphviz DOT), with one dimension's real numbers.

    Solid arrows carry gradients back; the dashed one is the random draw, which needs none.
    """
    z = mu + sigma * eps
    return f"""digraph {{
  rankdir=LR; bgcolor="transparent"; node [fontname="Helvetica", fontsize=11, style="rounded,filled",
  fillcolor="#F2F2F2", color="#888888", shape=box]; edge [color="#888888", fontname="Helvetica", fontsize=10];
  x [label="image x"]; enc [label="encoder"]; mu [label="μ = {mu:.2f}", fillcolor="#FDE2C8"];
  sigma [label="σ = {sigma:.2f}", fillcolor="#FDE2C8"];
  eps [label="ε = {eps:.2f}\\n~ N(0, 1)", shape=ellipse, fillcolor="#FFFFFF", style="dashed,filled"];
  z [label="z{dim} = μ + σ·ε\\n= {z:.2f}", fillcolor="#FAC48E"]; dec [label="decoder"]; xhat [label="x̂"];
  x -> enc -> mu; enc -> sigma; mu -> z; sigma -> z; eps -> z [style=dashed, label="no gradient needed"];
  z -> dec -> xhat;
}}"""


def _title_lines(title: str) -> list[str]:
    """A title split before its parenthesis: on a narrow column the model's name takes a line of its own."""
    head, sep, tail = title.partition(" (")
    return [head, sep.strip() + tail] if sep else [title]


def kl_bars_spec(kl_dims: np.ndarray, threshold: float, title: str, height: int = 240) -> dict:
    """A bar per latent dimension: its KL in nats, orange when above the threshold (active), grey when silent.

    A finished Vega-Lite dict (no altair build on every rerun), with the threshold drawn as a dashed rule. A silent
    dimension's bar is too short to see: the tooltip and the colour of its tick mark say which it is.
    """
    rows = [{"dimension": f"z{i + 1}", "KL": float(v), "state": "active" if v > threshold else "silent"}
            for i, v in enumerate(np.asarray(kl_dims))]
    x = {"field": "dimension", "type": "nominal", "sort": None, "title": None}
    color = {"field": "state", "type": "nominal", "legend": {"orient": "top", "title": None},
             "scale": {"domain": ["active", "silent"], "range": [ACTIVE_COLOR, SILENT_COLOR]}}
    tooltip = [{"field": "dimension", "type": "nominal"},
               {"field": "KL", "type": "quantitative", "format": ".4f", "title": "KL (nats)"},
               {"field": "state", "type": "nominal"}]
    return {
        "title": {"text": _title_lines(title)}, "height": height,
        "layer": [
            {"data": {"values": rows}, "mark": {"type": "bar"},
             "encoding": {"x": x, "y": {"field": "KL", "type": "quantitative", "title": "KL (nats)"},
                          "color": color, "tooltip": tooltip}},
            {"data": {"values": rows}, "mark": {"type": "tick", "thickness": 3},
             "encoding": {"x": x, "y": {"datum": 0}, "color": color, "tooltip": tooltip}},
            {"data": {"values": [{"threshold": threshold}]}, "mark": {"type": "rule", "strokeDash": [4, 3]},
             "encoding": {"y": {"field": "threshold", "type": "quantitative"}}},
        ]}


def ladder_spec(betas: list[float], active: list[int], latent_dim: int) -> dict:
    """Active units against β: one bar per β-VAE, the code size as the ceiling."""
    rows = [{"β": f"{b:g}", "active units": int(a)} for b, a in zip(betas, active)]
    return {
        "title": f"Active units of {latent_dim} as β grows", "height": 200,
        "layer": [
            {"data": {"values": rows}, "mark": {"type": "bar", "color": ACTIVE_COLOR},
             "encoding": {"x": {"field": "β", "type": "ordinal", "sort": None},
                          "y": {"field": "active units", "type": "quantitative",
                                "scale": {"domain": [0, latent_dim]}},
                          "tooltip": [{"field": "β"}, {"field": "active units", "type": "quantitative"}]}},
            {"data": {"values": rows}, "mark": {"type": "text", "dy": -8, "color": "#888888"},  # both themes
             "encoding": {"x": {"field": "β", "type": "ordinal", "sort": None},
                          "y": {"field": "active units", "type": "quantitative"},
                          "text": {"field": "active units", "type": "quantitative"}}},
        ]}


def map_spec(codes: np.ndarray, labels: np.ndarray, classes: list[str], title: str, height: int = 320) -> dict:
    """Test codes of a 2-D VAE coloured by class, over the prior's 1σ and 2σ circles (a collapsed axis is flat)."""
    points = [{"z1": float(a), "z2": float(b), "class": classes[int(c)]}
              for (a, b), c in zip(np.asarray(codes, dtype=float), np.asarray(labels))]
    angles = np.linspace(0, 2 * np.pi, 73)
    circles = [{"z1": float(r * np.cos(t)), "z2": float(r * np.sin(t)), "ring": f"{r}σ", "order": i}
               for r in (1, 2) for i, t in enumerate(angles)]
    return {
        "title": {"text": _title_lines(title)}, "height": height,
        "layer": [
            {"data": {"values": circles}, "mark": {"type": "line", "strokeDash": [3, 3], "color": "#999999"},
             "encoding": {"x": {"field": "z1", "type": "quantitative"}, "y": {"field": "z2", "type": "quantitative"},
                          "detail": {"field": "ring"}, "order": {"field": "order"}}},
            {"data": {"values": points}, "mark": {"type": "circle", "size": 14, "opacity": 0.7},
             "encoding": {
                 "x": {"field": "z1", "type": "quantitative"},
                 "y": {"field": "z2", "type": "quantitative"},
                 "color": {"field": "class", "type": "nominal", "sort": list(classes),
                           "scale": {"domain": list(classes), "range": plots.CLASS_COLORS[:len(classes)]},
                           "legend": {"orient": "right", "title": "digit"}},
                 "tooltip": [{"field": "class"}, {"field": "z1", "format": ".2f"}, {"field": "z2", "format": ".2f"}]}},
        ]}


def attribute_spec(steps: np.ndarray, values: np.ndarray, attribute: str, unit: str) -> dict:
    """The measured attribute of each pushed image against the push, in within-class standard deviations."""
    rows = [{"push (σ)": float(s), attribute: float(v)} for s, v in zip(steps, values)]
    return {
        "height": 180, "data": {"values": rows},
        "mark": {"type": "line", "point": True, "color": ACTIVE_COLOR},
        "encoding": {"x": {"field": "push (σ)", "type": "quantitative"},
                     "y": {"field": attribute, "type": "quantitative", "scale": {"zero": False},
                           "title": f"{attribute} ({unit})"},
                     "tooltip": [{"field": "push (σ)", "format": ".2f"},
                                 {"field": attribute, "type": "quantitative", "format": ".3f"}]}}
