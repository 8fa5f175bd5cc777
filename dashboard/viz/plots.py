"""Figure builders shared by the pages (plotly 3D views, altair charts, image grids) and the app's colours."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
from PIL import Image
from plotly.colors import sample_colorscale

from dashboard.core import images
from dashboard.viz.hourglass_figures import (  # noqa: F401 - the pages reach every figure through plots
    hourglass_2d,
    hourglass_3d,
    hourglass_layers,
    hourglass_shape,
    refresh_hourglass_2d,
)

# One colour per method everywhere in the app, so "VAE" is the same orange on every page.
METHOD_COLORS = {
    "AE": "#4C78A8",
    "VAE": "#F58518",
    "DAE": "#54A24B",
    "PCA": "#9D755D",
    "VQ-VAE": "#439894",
    "Raw pixels": "#B279A2",
    "Median filter": "#72B7B2",
    "Gaussian blur": "#EECA3B",
    "Noisy input": "#BAB0AC",
    "IsolationForest": "#FF9DA6",
    "One-Class SVM": "#E45756",
}
CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
# Marks that must stand out on the light and the dark theme alike (your image, your setting, the mistakes): a
# magenta that no class colour is close to, with at least 3:1 contrast on both backgrounds. Captions call it magenta.
MARK_COLOR = "#E000B0"
HEADING_PX = 22  # largest font size of the headings above a labelled image grid
HEADING_BAND, HEADING_INK = 30, 235  # grey levels of that heading band and its text
HEATMAP_SCALE = "Inferno"
_HEATMAP_LUT = np.array([[int(c) for c in rgb[4:-1].split(",")]
                         for rgb in sample_colorscale(HEATMAP_SCALE, list(np.linspace(0, 1, 256)))], dtype=np.uint8)


def class_color(index: int) -> str:
    return CLASS_COLORS[int(index) % len(CLASS_COLORS)]


def method_color(method: str) -> str:
    """The colour of a method; unknown names get a stable neutral colour."""
    for name, color in METHOD_COLORS.items():
        if method.upper().startswith(name.upper()):
            return color
    return "#666666"


def to_pixels(image: torch.Tensor | np.ndarray, scale: int = 4) -> np.ndarray:
    """A (H, W) or (1, H, W) image in [0, 1] -> uint8 array enlarged with crisp (nearest) pixels for st.image."""
    array = np.asarray(torch.as_tensor(image).detach().cpu().float().squeeze().numpy())
    return images.enlarge((np.clip(array, 0.0, 1.0) * 255).astype(np.uint8), scale)


def heatmap_pixels(error: torch.Tensor | np.ndarray, vmax: float | None = None, scale: int = 4) -> np.ndarray:
    """Per-pixel error (H, W) -> RGB uint8 array in the app's heatmap colours; vmax fixes the scale across images."""
    array = np.abs(np.asarray(torch.as_tensor(error).detach().cpu().float().squeeze().numpy()))
    top = vmax if vmax else max(float(array.max()), 1e-8)
    return images.enlarge(_HEATMAP_LUT[(np.clip(array / top, 0.0, 1.0) * 255).astype(np.uint8)], scale)  # (H, W, 3)


def tile_grid(rows: Sequence[Sequence[np.ndarray]], gap: int = 2, margin: int | None = None,
              fill: int = 255) -> np.ndarray:
    """uint8 tiles, (H, W) grey or (H, W, 3) RGB, laid out row by row on a light canvas: one picture to send.

    Each tile sits in a cell as large as the largest tile, cells gap pixels apart, margin (default: gap) around all.
    Grey tiles turn RGB when any tile is.
    """
    margin = gap if margin is None else margin
    flat = [tile for row in rows for tile in row]
    rgb = any(tile.ndim == 3 for tile in flat)
    cell_h, cell_w = max(t.shape[0] for t in flat), max(t.shape[1] for t in flat)
    n_cols = max(len(row) for row in rows)
    canvas = np.full((len(rows) * (cell_h + gap) - gap + 2 * margin, n_cols * (cell_w + gap) - gap + 2 * margin,
                      *((3,) if rgb else ())), fill, np.uint8)
    for r, row in enumerate(rows):
        for c, tile in enumerate(row):
            top, left = margin + r * (cell_h + gap), margin + c * (cell_w + gap)
            canvas[top:top + tile.shape[0], left:left + tile.shape[1]] = tile[..., None] if rgb and tile.ndim == 2 \
                else tile
    return canvas


def grid_png(rows: Sequence[Sequence[torch.Tensor]], scale: int = 3, gap: int = 2,
             column_labels: list[str] | None = None) -> bytes:
    """A grid of grey images (rows of (H, W) tensors in [0, 1]) as one PNG, optionally with a heading per column.

    Headings are drawn into the picture, so the grid shrinks as one piece on a phone instead of stacking its
    columns, and no raw HTML is needed to keep names above their images. They are large (a quarter of a tile's
    width), since a phone shows the picture at about half size, and light on a dark band like the digits
    themselves, so the band reads on the light and the dark theme alike.
    """
    tiles = [[to_pixels(image, scale) for image in row] for row in rows]
    canvas = tile_grid(tiles, gap)
    if not column_labels:
        return images.encode_png(canvas)
    from PIL import ImageDraw, ImageFont

    tile_w = max(tile.shape[1] for row in tiles for tile in row)
    n_cols = max(len(row) for row in tiles)
    size = max(10, min(HEADING_PX, tile_w // 4))
    line_h = size + 4
    font = ImageFont.load_default(size=size)
    wrapped = [_wrap(label, font, tile_w - 4) for label in column_labels[:n_cols]]  # one or two lines each
    head_h = max(len(lines) for lines in wrapped) * line_h + 2 * gap + 4
    picture = Image.fromarray(np.vstack([np.full((head_h, canvas.shape[1]), HEADING_BAND, np.uint8), canvas]))
    draw = ImageDraw.Draw(picture)
    for c, lines in enumerate(wrapped):
        centre = gap + c * (tile_w + gap) + tile_w / 2
        for n, line in enumerate(lines):
            middle = head_h / 2 + (n - (len(lines) - 1) / 2) * line_h
            draw.text((centre, middle), line, fill=HEADING_INK, font=font, anchor="mm")
    return images.encode_png(np.asarray(picture))


def _wrap(label: str, font, width: float) -> list[str]:
    """A heading broken into at most two lines that each fit the width (the second is cut with … if need be)."""
    lines = [""]
    for word in label.split():
        trial = f"{lines[-1]} {word}".strip()
        if font.getlength(trial) <= width or not lines[-1]:
            lines[-1] = trial
        else:
            lines.append(word)
    lines = lines[:2]
    while font.getlength(lines[-1]) > width and len(lines[-1]) > 1:
        lines[-1] = lines[-1][:-2] + "…"
    return lines


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
    """3D scatter of latent points coloured by class; `highlight` (M, 3) points are drawn large on top, in MARK_COLOR.

    Traces: one per class present, then (with a highlight) one legend swatch per class, then the highlight last.
    """
    points = np.asarray(points)
    labels = np.asarray(labels)
    marked = highlight is not None and len(highlight) > 0
    fig = go.Figure()
    present = [(index, name) for index, name in enumerate(classes) if (labels == index).any()]
    for cls_index, cls_name in present:
        chosen = labels == cls_index
        extra = {name: np.asarray(values)[chosen] for name, values in (hover or {}).items()}
        custom = np.column_stack(list(extra.values())) if extra else None
        template = f"class {cls_name}<br>" + "".join(
            f"{name}: %{{customdata[{i}]:.4g}}<br>" for i, name in enumerate(extra)) + "<extra></extra>"
        fig.add_trace(go.Scatter3d(
            x=points[chosen, 0], y=points[chosen, 1], z=points[chosen, 2], mode="markers", name=cls_name,
            legendgroup=cls_name, showlegend=not marked,
            marker={"size": marker_size, "color": class_color(cls_index),
                    # WebGL draws by depth, so a highlighted point inside a cluster would be hidden: thin the cloud
                    "opacity": 0.35 if marked else 0.75},
            customdata=custom, hovertemplate=template))
    if marked:
        # A legend swatch takes its trace's opacity, and a thinned red, brown or grey all but vanished on the dark
        # theme: the legend shows opaque stand-ins instead, which still hide and show their class on a click.
        for cls_index, cls_name in present:
            swatch = {"size": marker_size, "color": class_color(cls_index)}
            fig.add_trace(go.Scatter3d(x=[None], y=[None], z=[None], mode="markers", name=cls_name, hoverinfo="skip",
                                       legendgroup=cls_name, marker=swatch))
        highlight = np.atleast_2d(highlight)
        fig.add_trace(go.Scatter3d(
            x=highlight[:, 0], y=highlight[:, 1], z=highlight[:, 2], name=highlight_name,
            # One point gets a name tag; many would bury the plot in repeated words (WebGL text is slow to draw too).
            mode="markers+text" if len(highlight) == 1 else "markers",
            text=[highlight_name] * len(highlight), textposition="top center",
            marker={"size": 13, "color": MARK_COLOR, "symbol": "diamond"},
            hovertemplate=f"{highlight_name}<extra></extra>"))
    return style_3d(fig, title, height)


def move_highlight(fig: go.Figure, point: np.ndarray) -> go.Figure:
    """Move the single highlighted point of a latent_scatter_3d figure in place, far cheaper than a new figure."""
    point = np.asarray(point).ravel()
    fig.data[-1].update(x=point[0:1], y=point[1:2], z=point[2:3])
    return fig


def style_3d(fig: go.Figure, title: str = "", height: int = 520) -> go.Figure:
    """The app's look for 3D figures: no axis clutter, legend on the right, tight margins."""
    axis = {"showbackground": False, "showticklabels": False, "title": "", "showspikes": False}
    fig.update_layout(
        title={"text": title, "x": 0.0, "font": {"size": 14}} if title else None,
        height=height, margin={"l": 0, "r": 0, "t": 30 if title else 0, "b": 0},
        scene={"xaxis": {**axis, "title": "z1"}, "yaxis": {**axis, "title": "z2"}, "zaxis": {**axis, "title": "z3"},
               "aspectmode": "cube", "domain": {"y": [0.12, 1.0]}},
        # Under the plot, the legend leaves the full width to the scene and stays clear of the toolbar.
        legend={"itemsizing": "constant", "orientation": "h", "y": 0.0, "yanchor": "top", "x": 0.5,
                "xanchor": "center", "title": {"text": "class "}},
        scene_camera={"eye": {"x": 1.6, "y": 1.6, "z": 1.05}},
    )
    return fig


def code_bars_spec(z: np.ndarray, title: str = "latent code z") -> dict:
    """A bar per latent dimension, signed, so people see that z is just a short list of numbers.

    A finished Vega-Lite spec: the Overview redraws it on every click, and a plain dict skips building and checking
    an altair chart each time. The value axis is fixed from the data here and bars are not stacked: Streamlit hands
    the chart its rows after a first, empty pass, in which a stacked bar's extent (value_start, value_end) is
    infinite and Vega warns in the console on every render.
    """
    values = np.asarray(z, dtype=float).ravel()
    bound = float(np.abs(values).max(initial=0.0)) * 1.1 or 1.0
    return {
        "title": title, "height": 220, "mark": {"type": "bar"},
        "data": {"values": [{"dimension": f"z{i + 1}", "value": float(v)} for i, v in enumerate(values)]},
        "encoding": {
            "x": {"field": "dimension", "type": "nominal", "sort": None, "title": None},
            "y": {"field": "value", "type": "quantitative", "title": "value", "stack": None,
                  "scale": {"domain": [-bound, bound]}},
            "color": {"condition": {"test": "datum.value > 0", "value": METHOD_COLORS["AE"]},
                      "value": METHOD_COLORS["VAE"]},
            "tooltip": [{"field": "dimension", "type": "nominal"},
                        {"field": "value", "type": "quantitative", "format": ".3f"}]}}


def loss_curve(history: list[float], title: str = "training loss per epoch") -> alt.Chart:
    """Training loss against epoch."""
    frame = pd.DataFrame({"epoch": np.arange(1, len(history) + 1), "loss": history})
    return alt.Chart(frame, title=title).mark_line(point=True, color=METHOD_COLORS["AE"]).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)), y=alt.Y("loss:Q", scale=alt.Scale(zero=False)),
        tooltip=["epoch", alt.Tooltip("loss:Q", format=".5f")],
    ).properties(height=200)


def _pair_segments(clean: np.ndarray, noisy: np.ndarray) -> tuple[list, list, list]:
    """x, y, z of one line per pair, separated by None: one trace of segments is far lighter than N traces."""
    xs, ys, zs = [], [], []
    for a, b in zip(clean, noisy):
        xs += [a[0], b[0], None]
        ys += [a[1], b[1], None]
        zs += [a[2], b[2], None]
    return xs, ys, zs


def _class_colours_and_text(labels: np.ndarray, classes: list[str]) -> tuple[list[str], list[str]]:
    return ([class_color(label) for label in labels],
            [f"class {classes[int(label)]}" for label in labels])


def paired_codes_3d(clean: np.ndarray, noisy: np.ndarray, labels: np.ndarray, classes: list[str],
                    title: str = "", height: int = 440) -> go.Figure:
    """Clean codes (dots) and their noisy copies (crosses), each pair joined by a grey line."""
    clean, noisy = np.asarray(clean), np.asarray(noisy)
    xs, ys, zs = _pair_segments(clean, noisy)
    fig = go.Figure(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", line={"color": "#9aa5b1", "width": 2},
                                 name="noise moved it", hoverinfo="skip"))
    colours, text = _class_colours_and_text(labels, classes)
    fig.add_trace(go.Scatter3d(x=clean[:, 0], y=clean[:, 1], z=clean[:, 2], mode="markers", name="clean image",
                               marker={"size": 4, "color": colours}, text=text,
                               hovertemplate="%{text}, clean<extra></extra>"))
    fig.add_trace(go.Scatter3d(x=noisy[:, 0], y=noisy[:, 1], z=noisy[:, 2], mode="markers", name="noisy copy",
                               marker={"size": 3, "color": colours, "symbol": "x"}, text=text,
                               hovertemplate="%{text}, noisy<extra></extra>"))
    fig = style_3d(fig, title, height)
    fig.update_layout(legend={"title": {"text": ""}, "orientation": "h", "y": -0.02})
    return fig


def refresh_paired_codes(figure: go.Figure, clean: np.ndarray, noisy: np.ndarray, labels: np.ndarray,
                         classes: list[str]) -> go.Figure:
    """Put other code pairs into a paired_codes_3d figure, in place: the same figure it would build for them,
    without building and checking its traces anew at every change."""
    clean, noisy = np.asarray(clean), np.asarray(noisy)
    xs, ys, zs = _pair_segments(clean, noisy)
    colours, text = _class_colours_and_text(labels, classes)
    with figure.batch_update():
        figure.data[0].update(x=xs, y=ys, z=zs)
        for trace, points in zip(figure.data[1:3], (clean, noisy)):
            trace.update(x=points[:, 0], y=points[:, 1], z=points[:, 2], text=text, marker_color=colours)
    return figure


def method_scale(methods: list[str]) -> alt.Scale:
    """An altair colour scale that gives each method its app-wide colour."""
    return alt.Scale(domain=list(methods), range=[method_color(m) for m in methods])
