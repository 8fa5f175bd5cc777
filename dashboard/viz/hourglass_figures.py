"""The hourglass figures: a network's layers as stacked planes, as wide as each layer, for one image's activations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch

# Planes are drawn shallower than wide, so that seen from slightly above they do not hide one another.
DEPTH = 0.55


def _layer_label(name: str, activation: torch.Tensor) -> str:
    """A layer's name with its shape, e.g. "input x · 28×28 = 784", "code z · 16", "conv 32×14×14 = 6,272"."""
    shape = tuple(activation.shape[1:])
    units = int(np.prod(shape))
    if name in ("input", "output"):
        words = "input x" if name == "input" else "output x̂"
        return f"{words} · {shape[-2]}×{shape[-1]} = {units:,}"
    if name.startswith("code"):
        return f"code z · {units}"
    kind = name.split(" ")[0]
    return f"{kind} {'×'.join(map(str, shape))} = {units:,}" if len(shape) > 1 else f"{kind} · {units:,}"


@dataclass(frozen=True)
class HourglassLayer:
    """One plane of the hourglass picture: where it sits, how wide it is, and what it shows."""

    label: str
    level: float  # height in the stack: the input on top
    half_width: float  # follows the layer's unit count on a log scale
    is_code: bool
    values: np.ndarray  # the code's signed numbers, or the plane's cells scaled to [0, 1] (top row first)
    image_plane: bool  # the input or the output: drawn in greys, as the image itself


def hourglass_layers(stages: list[tuple[str, torch.Tensor]], max_side: int = 28) -> list[HourglassLayer]:
    """The planes both hourglass pictures draw: large layers pooled to at most max_side × max_side cells."""
    sizes = [int(activation[0].numel()) for _, activation in stages]
    low, high = np.log(min(sizes)), np.log(max(sizes))
    n = len(stages)
    bottleneck = sizes.index(min(sizes))
    layers = []
    for index, (name, activation) in enumerate(stages):
        label = _layer_label(name, activation)
        label = f"<b>{label}</b>" if index in (0, n - 1) else label
        if index == bottleneck:
            label = f"<b>{_layer_label(name, activation)}  ← the bottleneck</b>"
        half_width = 0.12 + 0.88 * (np.log(sizes[index]) - low) / max(high - low, 1e-9)
        values = activation[0].detach().float()
        if index == bottleneck:
            layers.append(HourglassLayer(label, float(n - 1 - index), half_width, True, values.flatten().numpy(),
                                         False))
            continue
        if values.dim() == 3:  # (C, H, W): average the channels into one map of the layer's layout
            grid = values.abs().mean(dim=0) if name not in ("input", "output") else values[0]
        else:
            side = int(np.ceil(np.sqrt(values.numel())))
            grid = torch.zeros(side * side)
            grid[: values.numel()] = values.abs().flatten()
            grid = grid.view(side, side)
        if max(grid.shape) > max_side:
            grid = torch.nn.functional.adaptive_avg_pool2d(grid[None, None], max_side)[0, 0]
        cells = grid.numpy()
        spread = float(cells.max() - cells.min())
        colour = (cells - cells.min()) / spread if spread > 0 else np.zeros_like(cells)
        layers.append(HourglassLayer(label, float(n - 1 - index), half_width, False, colour,
                                     name in ("input", "output")))
    return layers


def _code_marker(code: np.ndarray) -> dict:
    bound = float(np.abs(code).max()) or 1.0
    return {"size": 8, "color": code, "colorscale": "RdBu", "cmin": -bound, "cmax": bound,
            "line": {"width": 1, "color": "#222"}}


def _code_xs(code: np.ndarray) -> np.ndarray:
    spread = min(0.03 * len(code), 0.5)  # enough room for every dot, still the narrowest layer
    return np.linspace(-spread, spread, len(code)) if len(code) > 1 else np.zeros(1)


def hourglass_2d(stages: list[tuple[str, torch.Tensor]], max_side: int = 28, height: int = 520) -> go.Figure:
    """The hourglass seen from the front, flat: the same planes as hourglass_3d, drawn in a fraction of the time.

    Browsers draw 3D figures with WebGL, which is slow for a dozen surfaces on a laptop without a GPU (and in
    headless Chromium); this 2D version redraws fast enough to follow every click.
    """
    fig = go.Figure()
    layers = hourglass_layers(stages, max_side)
    for layer in layers:
        if layer.is_code:
            code = layer.values
            fig.add_trace(go.Scatter(x=_code_xs(code), y=np.full(len(code), layer.level), mode="markers",
                                     marker=_code_marker(code), customdata=code, showlegend=False,
                                     hovertemplate="z%{pointNumber}: %{customdata:.3f}<extra></extra>"))
        else:
            rows, cols = layer.values.shape
            fig.add_trace(go.Heatmap(
                z=layer.values[::-1], x=np.linspace(-layer.half_width, layer.half_width, cols),
                y=np.linspace(layer.level - 0.42, layer.level + 0.42, rows), zmin=0, zmax=1, showscale=False,
                colorscale="Greys_r" if layer.image_plane else "Viridis", hoverinfo="skip"))
        fig.add_annotation(x=1.1, y=layer.level, text=layer.label, showarrow=False, xanchor="left",
                           font={"size": 12 if layer.is_code else 11})
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 10, "b": 0}, showlegend=False,
                      xaxis={"visible": False, "range": [-1.05, 2.8], "fixedrange": True},
                      yaxis={"visible": False, "range": [-0.6, len(layers) - 0.4], "fixedrange": True},
                      plot_bgcolor="rgba(0,0,0,0)")
    return fig


def hourglass_shape(stages: list[tuple[str, torch.Tensor]]) -> tuple:
    """What fixes the hourglass figure's layout: the layers' names and shapes (the same for every image)."""
    return tuple((name, tuple(activation.shape[1:])) for name, activation in stages)


def refresh_hourglass_2d(fig: go.Figure, stages: list[tuple[str, torch.Tensor]], max_side: int = 28) -> go.Figure:
    """Put another image's activations into a hourglass_2d figure of the same network, in place.

    Only the colours change between images, so refilling them is cheaper than rebuilding the traces and labels.
    """
    with fig.batch_update():
        for trace, layer in zip(fig.data, hourglass_layers(stages, max_side), strict=True):
            if layer.is_code:
                trace.update(marker=_code_marker(layer.values), customdata=layer.values)
            else:
                trace.z = layer.values[::-1]
    return fig


def hourglass_3d(stages: list[tuple[str, torch.Tensor]], max_side: int = 28, height: int = 520) -> go.Figure:
    """The network as stacked planes, input on top and reconstruction at the bottom, each as wide as its layer.

    Plane width follows the number of units on a log scale, so the eye reads the squeeze at once: 784 pixels
    narrow to a k-number code and widen again. The input and output planes show the image itself; hidden layers
    show this image's activations (large layers pooled to at most max_side × max_side cells); the code is a row
    of large dots in a diverging colour, since its values are signed.
    """
    fig = go.Figure()
    layers = hourglass_layers(stages, max_side)
    for layer in layers:
        if layer.is_code:
            code = layer.values
            xs = _code_xs(code)
            fig.add_trace(go.Scatter3d(
                x=xs, y=np.zeros_like(xs), z=np.full(len(code), layer.level), mode="markers", name=layer.label,
                marker=_code_marker(code), customdata=code,
                hovertemplate="z%{pointNumber}: %{customdata:.3f}<extra></extra>", showlegend=False))
        else:
            rows, cols = layer.values.shape
            xs = np.linspace(-layer.half_width, layer.half_width, cols)
            ys = np.linspace(-DEPTH * layer.half_width, DEPTH * layer.half_width, rows)
            fig.add_trace(go.Surface(
                x=xs, y=ys, z=np.full((rows, cols), layer.level), surfacecolor=layer.values[::-1],
                colorscale="Greys_r" if layer.image_plane else "Viridis", cmin=0, cmax=1, showscale=False,
                hovertemplate=f"{layer.label}<extra></extra>", name=layer.label,
                lighting={"ambient": 1.0, "diffuse": 0.0}))
        fig.add_trace(go.Scatter3d(x=[1.12], y=[0.0], z=[layer.level], mode="text", text=[layer.label],
                                   textposition="middle right", showlegend=False, hoverinfo="skip",
                                   textfont={"size": 12 if layer.is_code else 11}))
    n = len(layers)
    fig.update_layout(
        # The top margin is the toolbar's strip, so it never covers the input plane's label.
        height=height, margin={"l": 0, "r": 0, "t": 34, "b": 0}, showlegend=False,
        scene={"xaxis": {"visible": False, "range": [-1.05, 2.5]}, "yaxis": {"visible": False, "range": [-1, 1]},
               "zaxis": {"visible": False, "range": [-0.6, n - 0.4]}, "aspectmode": "manual",
               "aspectratio": {"x": 1.8, "y": 1.0, "z": 2.2}},
        # A low frontal view without perspective: every plane keeps its true width, so the stack reads as an
        # hourglass at first sight, and the labels on the right stay level with their planes.
        scene_camera={"eye": {"x": 0.0, "y": -2.0, "z": 0.45}, "center": {"x": 0, "y": 0, "z": 0},
                      "up": {"x": 0, "y": 0, "z": 1}, "projection": {"type": "orthographic"}})
    return fig
