"""Sampling figures: the sampler setups' colours, their sample grids and the latent "holes" map of codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go
import torch

from dashboard.viz import plots

if TYPE_CHECKING:
    from dashboard.sampling.samplers import LatentMap

# The VAE setups keep the app's VAE orange (darker for its fitted mixture); the AE setups are shades of the AE blue,
# lightest for the blind guess.
SETUP_COLORS = {"AE + N(0, I)": "#A6C8E8", "AE + fitted Gaussian": "#7AA6D2", "AE + Gaussian mixture":
                plots.METHOD_COLORS["AE"], "VAE + N(0, I) prior": plots.METHOD_COLORS["VAE"],
                "VAE + Gaussian mixture": "#B35806", "AE + latent diffusion": "#2E4E8F"}
SAMPLE_NEAR_COLOR = "#111111"
SAMPLE_HOLE_COLOR = "#E45756"
SAMPLE_LEGEND_PX = 42  # room kept under the class legend for the samples' legend, two lines in a narrow column
TOOLBAR_STRIP = 34  # px of top margin where plotly's toolbar sits, clear of the data and the legend


def sample_grid_png(images: torch.Tensor, n_cols: int, scale: int, gap: int = 2) -> bytes:
    """Grey images (N, 1, H, W) in [0, 1] as rows of n_cols, one PNG."""
    return plots.grid_png([list(images[i:i + n_cols, 0]) for i in range(0, len(images), n_cols)], scale, gap)


def holes_figure(view: LatentMap, classes: list[str], title: str = "", height: int = 420) -> go.Figure:
    """Test codes coloured by class with the samples on top: black dots with a white rim where data lives, red
    crosses in holes.

    Two-dimensional spaces are drawn flat (with equal axis scales, so distances look right); three-dimensional
    ones as a rotatable 3D scatter.
    """
    k = view.codes.shape[1]
    if k not in (2, 3):
        raise ValueError(f"The holes view draws 2D or 3D latent spaces; this one has {k} dimensions.")
    sample_groups = [("samples near data", view.samples[~view.in_hole], SAMPLE_NEAR_COLOR, "circle"),
                     ("samples in holes", view.samples[view.in_hole], SAMPLE_HOLE_COLOR, "x")]
    if k == 3:
        fig = plots.latent_scatter_3d(view.codes, view.labels, classes, marker_size=2, height=height, title=title)
        # The legend (ten classes and the two kinds of sample) gets the bottom quarter inside the figure, flowing
        # in rows; below the scene it would be squeezed into one scrolling column that cuts off the samples. The
        # top margin is the toolbar's own strip, so it covers neither the scene nor the legend.
        fig.update_layout(legend={"orientation": "h", "x": 0.0, "xanchor": "left", "y": 0.0, "yanchor": "bottom",
                                  "title": {"text": ""}},
                          scene={"domain": {"y": [0.3, 1.0]}}, margin={"t": TOOLBAR_STRIP})
        for name, points, color, symbol in sample_groups:
            fig.add_trace(go.Scatter3d(x=points[:, 0], y=points[:, 1], z=points[:, 2], mode="markers", name=name,
                                       # A white ring keeps the black dots visible on the dark theme's scene.
                                       marker={"size": 3, "color": color, "symbol": symbol,
                                               "line": {"color": "#FFFFFF", "width": 1 if symbol == "circle" else 0}},
                                       hovertemplate=f"{name}<extra></extra>"))
        return fig
    fig = go.Figure()
    for index, name in enumerate(classes):
        chosen = view.labels == index
        fig.add_trace(go.Scatter(x=view.codes[chosen, 0], y=view.codes[chosen, 1], mode="markers", name=name,
                                 marker={"size": 4, "color": plots.CLASS_COLORS[index % len(plots.CLASS_COLORS)],
                                         "opacity": 0.55},
                                 hovertemplate=f"class {name}<extra></extra>"))
    for name, points, color, symbol in sample_groups:
        fig.add_trace(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers", name=name, legend="legend2",
                                 # The white rim keeps black dots visible on the dark theme's plot area.
                                 marker={"size": 6 if symbol == "x" else 5, "color": color, "symbol": symbol,
                                         "line": {"color": "#FFFFFF", "width": 0.75 if symbol == "circle" else 0}},
                                 hovertemplate=f"{name}<extra></extra>"))
    # Both legends sit at the bottom of the whole figure (container coordinates), so the plot area shrinks to make
    # room and the z1 axis title never runs into them: the two kinds of sample on the last line (or two, in a narrow
    # column), the classes in rows of five above them.
    bottom = {"yref": "container", "yanchor": "bottom", "orientation": "h", "x": 0.0, "xanchor": "left",
              "itemsizing": "constant", "itemwidth": 30, "title": {"text": ""}}
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": TOOLBAR_STRIP + (30 if title else 0), "b": 0},
                      title={"text": title, "x": 0.0, "font": {"size": 14}} if title else None,
                      legend={**bottom, "y": SAMPLE_LEGEND_PX / height, "entrywidth": 12},
                      legend2={**bottom, "y": 0.0},
                      xaxis={"title": "z1", "zeroline": True}, yaxis={"title": "z2", "scaleanchor": "x"})
    return fig
