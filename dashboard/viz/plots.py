"""Figure builders shared by the pages (plotly 3D views, altair charts, image grids) and the app's colours."""

from __future__ import annotations

import io

import altair as alt
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
from PIL import Image
from plotly.colors import sample_colorscale

# One colour per method everywhere in the app, so "VAE" is the same orange on every page.
METHOD_COLORS = {
    "AE": "#4C78A8",
    "VAE": "#F58518",
    "DAE": "#54A24B",
    "PCA": "#9D755D",
    "Raw pixels": "#B279A2",
    "Median filter": "#72B7B2",
    "Gaussian blur": "#EECA3B",
    "Noisy input": "#BAB0AC",
    "IsolationForest": "#FF9DA6",
    "One-Class SVM": "#E45756",
}
CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
HIGHLIGHT_COLOR = "#111111"
HEATMAP_SCALE = "Inferno"
_HEATMAP_LUT = np.array([[int(c) for c in rgb[4:-1].split(",")]
                         for rgb in sample_colorscale(HEATMAP_SCALE, list(np.linspace(0, 1, 256)))], dtype=np.uint8)


def method_color(method: str) -> str:
    """The colour of a method; unknown names get a stable neutral colour."""
    for name, color in METHOD_COLORS.items():
        if method.upper().startswith(name.upper()):
            return color
    return "#666666"


def to_pixels(image: torch.Tensor | np.ndarray, scale: int = 4) -> np.ndarray:
    """A (H, W) or (1, H, W) image in [0, 1] -> uint8 array enlarged with crisp (nearest) pixels for st.image."""
    array = np.asarray(torch.as_tensor(image).detach().cpu().float().squeeze().numpy())
    array = (np.clip(array, 0.0, 1.0) * 255).astype(np.uint8)
    return np.kron(array, np.ones((scale, scale), dtype=np.uint8)) if scale > 1 else array


def heatmap_pixels(error: torch.Tensor | np.ndarray, vmax: float | None = None, scale: int = 4) -> np.ndarray:
    """Per-pixel error (H, W) -> RGB uint8 array in the app's heatmap colours; vmax fixes the scale across images."""
    array = np.abs(np.asarray(torch.as_tensor(error).detach().cpu().float().squeeze().numpy()))
    top = vmax if vmax else max(float(array.max()), 1e-8)
    rgb = _HEATMAP_LUT[(np.clip(array / top, 0.0, 1.0) * 255).astype(np.uint8)]  # (H, W, 3)
    return np.kron(rgb, np.ones((scale, scale, 1), dtype=np.uint8)) if scale > 1 else rgb


def grid_png(rows: list[list[torch.Tensor]], row_labels: list[str] | None = None, scale: int = 3,
             gap: int = 2) -> bytes:
    """A grid of grey images (rows of (H, W) tensors in [0, 1]) as one PNG, for downloads."""
    tiles = [[to_pixels(img, scale) for img in row] for row in rows]
    tile_h = max(t.shape[0] for row in tiles for t in row)
    tile_w = max(t.shape[1] for row in tiles for t in row)
    n_cols = max(len(row) for row in tiles)
    label_w = 0
    canvas = np.full((len(tiles) * (tile_h + gap) + gap, n_cols * (tile_w + gap) + gap + label_w), 255, np.uint8)
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            top, left = gap + r * (tile_h + gap), gap + c * (tile_w + gap)
            canvas[top:top + tile.shape[0], left:left + tile.shape[1]] = tile
    buffer = io.BytesIO()
    image = Image.fromarray(canvas)
    if row_labels:
        image.info["rows"] = ", ".join(row_labels)
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def project_3d(codes: np.ndarray, seed: int = 0) -> tuple[np.ndarray, str]:
    """Codes (N, k) -> (N, 3) points and a description; k <= 3 is shown as is, larger k through PCA."""
    codes = np.asarray(codes, dtype=np.float64)
    k = codes.shape[1]
    if k == 3:
        return codes, "the 3 latent dimensions themselves"
    if k < 3:
        return np.hstack([codes, np.zeros((len(codes), 3 - k))]), f"the {k} latent dimensions (flat in the rest)"
    from sklearn.decomposition import PCA  # imported on first use: it slows the app's cold start

    pca = PCA(n_components=3, random_state=seed).fit(codes)
    share = 100 * pca.explained_variance_ratio_.sum()
    return pca.transform(codes), f"a PCA projection of {k} dimensions to 3 ({share:.0f}% of the variance)"


def latent_scatter_3d(points: np.ndarray, labels: np.ndarray, classes: list[str], title: str = "",
                      hover: dict[str, np.ndarray] | None = None, highlight: np.ndarray | None = None,
                      highlight_name: str = "your image", marker_size: int = 3, height: int = 520) -> go.Figure:
    """3D scatter of latent points coloured by class; `highlight` (M, 3) points are drawn large on top."""
    points = np.asarray(points)
    labels = np.asarray(labels)
    fig = go.Figure()
    for cls_index, cls_name in enumerate(classes):
        chosen = labels == cls_index
        if not chosen.any():
            continue
        extra = {name: np.asarray(values)[chosen] for name, values in (hover or {}).items()}
        custom = np.column_stack(list(extra.values())) if extra else None
        template = f"class {cls_name}<br>" + "".join(
            f"{name}: %{{customdata[{i}]:.4g}}<br>" for i, name in enumerate(extra)) + "<extra></extra>"
        fig.add_trace(go.Scatter3d(
            x=points[chosen, 0], y=points[chosen, 1], z=points[chosen, 2], mode="markers", name=cls_name,
            marker={"size": marker_size, "color": CLASS_COLORS[cls_index % len(CLASS_COLORS)], "opacity": 0.75},
            customdata=custom, hovertemplate=template))
    if highlight is not None and len(highlight):
        highlight = np.atleast_2d(highlight)
        fig.add_trace(go.Scatter3d(
            x=highlight[:, 0], y=highlight[:, 1], z=highlight[:, 2], mode="markers", name=highlight_name,
            marker={"size": 10, "color": HIGHLIGHT_COLOR, "symbol": "diamond", "line": {"width": 2, "color": "white"}},
            hovertemplate=f"{highlight_name}<extra></extra>"))
    return style_3d(fig, title, height)


def style_3d(fig: go.Figure, title: str = "", height: int = 520) -> go.Figure:
    """The app's look for 3D figures: no axis clutter, legend on the right, tight margins."""
    axis = {"showbackground": False, "showticklabels": False, "title": "", "showspikes": False}
    fig.update_layout(
        title={"text": title, "x": 0.0, "font": {"size": 14}} if title else None,
        height=height, margin={"l": 0, "r": 0, "t": 30 if title else 0, "b": 0},
        scene={"xaxis": {**axis, "title": "z1"}, "yaxis": {**axis, "title": "z2"}, "zaxis": {**axis, "title": "z3"},
               "aspectmode": "cube"},
        legend={"itemsizing": "constant", "title": {"text": "class"}},
        scene_camera={"eye": {"x": 1.5, "y": 1.5, "z": 1.0}},
    )
    return fig


def code_bars(z: np.ndarray, title: str = "latent code z") -> alt.Chart:
    """A bar per latent dimension, signed, so people see that z is just a short list of numbers."""
    values = np.asarray(z, dtype=float).ravel()
    frame = pd.DataFrame({"dimension": [f"z{i + 1}" for i in range(len(values))], "value": values})
    return alt.Chart(frame, title=title).mark_bar().encode(
        x=alt.X("dimension:N", sort=None, title=None),
        y=alt.Y("value:Q", title="value"),
        color=alt.condition("datum.value > 0", alt.value(METHOD_COLORS["AE"]), alt.value(METHOD_COLORS["VAE"])),
        tooltip=["dimension", alt.Tooltip("value:Q", format=".3f")],
    ).properties(height=220)


def loss_curve(history: list[float], title: str = "training loss per epoch") -> alt.Chart:
    """Training loss against epoch."""
    frame = pd.DataFrame({"epoch": np.arange(1, len(history) + 1), "loss": history})
    return alt.Chart(frame, title=title).mark_line(point=True, color=METHOD_COLORS["AE"]).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)), y=alt.Y("loss:Q", scale=alt.Scale(zero=False)),
        tooltip=["epoch", alt.Tooltip("loss:Q", format=".5f")],
    ).properties(height=200)


def hourglass_3d(stages: list[tuple[str, torch.Tensor]], max_units: int = 256, height: int = 520) -> go.Figure:
    """The network as stacked planes of units, wide at the ends and narrow at the code, coloured by activation."""
    fig = go.Figure()
    n = len(stages)
    bottleneck = min(range(n), key=lambda i: stages[i][1][0].numel())
    for index, (name, activation) in enumerate(stages):
        values = activation[0].detach().float().flatten().numpy()
        if values.size > max_units:  # pool big layers so the plane stays readable and light
            values = np.array([chunk.mean() for chunk in np.array_split(values, max_units)])
        side = int(np.ceil(np.sqrt(values.size)))
        grid_y, grid_x = np.divmod(np.arange(values.size), side)
        extent = 1.0 if index != bottleneck else 0.6
        scale = extent * (np.sqrt(values.size) / np.sqrt(max_units)) ** 0.5
        xs = (grid_x / max(side - 1, 1) - 0.5) * 2 * scale
        ys = (grid_y / max(side - 1, 1) - 0.5) * 2 * scale
        low, high = float(values.min()), float(values.max())
        colour = (values - low) / (high - low) if high > low else np.zeros_like(values)
        fig.add_trace(go.Scatter3d(
            x=xs, y=ys, z=np.full(values.size, float(n - 1 - index)), mode="markers", name=name,
            marker={"size": 7 if index == bottleneck else 4, "color": colour, "colorscale": "Viridis",
                    "cmin": 0, "cmax": 1, "line": {"width": 0}},
            customdata=values, hovertemplate=f"{name}<br>activation %{{customdata:.3f}}<extra></extra>",
            showlegend=False))
        fig.add_trace(go.Scatter3d(x=[-1.15], y=[-1.15], z=[float(n - 1 - index)], mode="text", text=[name],
                                   textposition="middle left", showlegend=False, hoverinfo="skip",
                                   textfont={"size": 11, "color": "#444"}))
    fig = style_3d(fig, height=height)
    fig.update_layout(scene={"xaxis": {"visible": False}, "yaxis": {"visible": False},
                             "zaxis": {"visible": False}, "aspectmode": "manual",
                             "aspectratio": {"x": 1.0, "y": 1.0, "z": 2.6}},
                      scene_camera={"eye": {"x": 1.7, "y": 1.7, "z": 1.1}, "center": {"x": 0, "y": 0, "z": -0.1}})
    return fig


def paired_codes_3d(clean: np.ndarray, noisy: np.ndarray, labels: np.ndarray, classes: list[str],
                    title: str = "", height: int = 440) -> go.Figure:
    """Clean codes (dots) and their noisy copies (crosses), each pair joined by a grey line."""
    clean, noisy = np.asarray(clean), np.asarray(noisy)
    xs, ys, zs = [], [], []
    for a, b in zip(clean, noisy):  # one trace of segments separated by None is far lighter than N traces
        xs += [a[0], b[0], None]
        ys += [a[1], b[1], None]
        zs += [a[2], b[2], None]
    fig = go.Figure(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", line={"color": "#9aa5b1", "width": 2},
                                 name="noise moved it", hoverinfo="skip"))
    colours = [CLASS_COLORS[int(label) % len(CLASS_COLORS)] for label in labels]
    text = [f"class {classes[int(label)]}" for label in labels]
    fig.add_trace(go.Scatter3d(x=clean[:, 0], y=clean[:, 1], z=clean[:, 2], mode="markers", name="clean image",
                               marker={"size": 4, "color": colours}, text=text,
                               hovertemplate="%{text}, clean<extra></extra>"))
    fig.add_trace(go.Scatter3d(x=noisy[:, 0], y=noisy[:, 1], z=noisy[:, 2], mode="markers", name="noisy copy",
                               marker={"size": 3, "color": colours, "symbol": "x"}, text=text,
                               hovertemplate="%{text}, noisy<extra></extra>"))
    fig = style_3d(fig, title, height)
    fig.update_layout(legend={"title": {"text": ""}, "orientation": "h", "y": -0.02})
    return fig


def method_scale(methods: list[str]) -> alt.Scale:
    """An altair colour scale that gives each method its app-wide colour."""
    return alt.Scale(domain=list(methods), range=[method_color(m) for m in methods])
