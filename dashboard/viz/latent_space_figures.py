"""Latent space page figures: the maps' atlas and shading as data URIs, the hover component's payload, 3D views."""

from __future__ import annotations

import base64
import hashlib
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from dashboard.core import images
from dashboard.latent_space import grid as grids
from dashboard.viz import plots

SHADE_COLOR = (76, 120, 168)  # the app's AE blue: dense regions of the code space
SHADE_MAX_ALPHA = 150  # of 255: the dots on top must stay readable over the densest shading
CONFIDENCE_MAX_ALPHA = 120


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def atlas_png(atlas: np.ndarray, levels: int = grids.ATLAS_LEVELS) -> bytes:
    """The atlas's grey levels as a palette PNG (4 bits a pixel for 16 levels) whose palette maps level -> grey."""
    greys = [round(i * 255 / (levels - 1)) for i in range(levels)]
    # optimize=True is slow on an atlas: the build pays it once and ships the bytes.
    return images.encode_png(np.asarray(atlas, dtype=np.uint8), palette=[g for grey in greys for g in (grey,) * 3],
                             optimize=True, bits=4 if levels <= 16 else 8)


def atlas_uri(atlas: np.ndarray, levels: int = grids.ATLAS_LEVELS) -> str:
    return _data_uri(atlas_png(atlas, levels))


def atlas_levels(png: bytes) -> np.ndarray:
    """The atlas (read-only uint8 grey levels) back from atlas_png's bytes: a palette PNG keeps the indices exactly."""
    with Image.open(io.BytesIO(png)) as image:
        if image.mode != "P":
            raise ValueError(f"An atlas is a palette PNG, not {image.mode}.")
        levels = np.array(image, dtype=np.uint8)
    levels.setflags(write=False)
    return levels


def density_uri(log_density: np.ndarray) -> str:
    """(n, n) log-density -> a translucent blue PNG: opaque where training codes crowd, clear in the holes."""
    values = np.asarray(log_density, dtype=np.float64)
    top = float(values.max())
    # Five e-folds below the peak count as empty: holes read as holes instead of as a faint wash.
    share = np.clip((values - (top - 5.0)) / 5.0, 0.0, 1.0)
    rgba = np.zeros((*values.shape, 4), np.uint8)
    rgba[..., :3] = SHADE_COLOR
    rgba[..., 3] = (share * SHADE_MAX_ALPHA).astype(np.uint8)
    return _data_uri(images.encode_png(rgba, optimize=True))


def confidence_uri(predicted: np.ndarray, confidence: np.ndarray) -> str:
    """(n, n) class and confidence -> each cell in its class's colour, the more opaque the surer the classifier."""
    colors = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in plots.CLASS_COLORS], np.uint8)
    rgba = np.zeros((*np.shape(predicted), 4), np.uint8)
    rgba[..., :3] = colors[np.asarray(predicted) % len(colors)]
    # Below 50% the classifier is guessing; fade those cells out completely.
    rgba[..., 3] = (np.clip((np.asarray(confidence) - 0.5) / 0.5, 0, 1) * CONFIDENCE_MAX_ALPHA).astype(np.uint8)
    return _data_uri(images.encode_png(rgba, optimize=True))


def map_payload(grid: grids.MapGrid, codes: np.ndarray, labels: np.ndarray, classes: list[str], title: str,
                atlas: bytes | None = None) -> dict:
    """Everything the hover component draws for one map, JSON-ready; it never changes after the map is made.

    atlas: atlas_png(grid.atlas) when already made (the build ships it). Markers travel separately
    (marks_payload), so a click or a drawing does not send the atlas again.
    """
    codes = np.asarray(codes, dtype=np.float64)
    height, width = grid.image_shape
    payload = {
        "kind": "map",
        "map": grid.model_name.split("-")[0],
        "title": title,
        "extent": [round(v, 5) for v in grid.extent.as_list()],
        "n": grid.n,
        "cell": [height, width],
        "atlas": _data_uri(atlas) if atlas is not None else atlas_uri(grid.atlas),
        "shades": {"density": density_uri(grid.density),
                   "classifier": confidence_uri(grid.predicted, grid.confidence)},
        # Per cell, row by row: what the classifier reads, so the hover can name it without asking the server.
        "predicted": grid.predicted.astype(int).ravel().tolist(),
        "confidence": np.round(grid.confidence.ravel() * 100).astype(int).tolist(),
        "points": np.round(codes, 3).ravel().tolist(),  # x0, y0, x1, y1, ...
        "labels": np.asarray(labels).astype(int).tolist(),
        "classes": [str(c) for c in classes],
        "colors": plots.CLASS_COLORS,
    }
    payload["id"] = hashlib.sha256(repr(sorted(payload.items())).encode()).hexdigest()[:16]
    return payload


def marks_payload(family: str, pin: tuple[float, float] | None = None, own: np.ndarray | None = None,
                  sigma: np.ndarray | None = None, sample: np.ndarray | None = None) -> dict:
    """The small, changing part of a map: the pinned point, the visitor's code, its σ ellipse and a resampled z."""
    def point(value):
        return None if value is None else [round(float(v), 4) for v in np.asarray(value)[:2]]

    return {"kind": "marks", "map": family, "pin": point(pin), "own": point(own), "sigma": point(sigma),
            "sample": point(sample)}


# ---------------------------------------------------------------- 3D codes

def codes_3d(points: np.ndarray, labels: np.ndarray, classes: list[str], ranges: np.ndarray, height: int = 460
             ) -> go.Figure:
    """The test codes of a 3-number model in their own axes, fixed to the sliders' ranges so the view stays put."""
    figure = plots.latent_scatter_3d(points, labels, classes, highlight=np.zeros((0, 3)), height=height,
                                     marker_size=2)
    for trace in figure.data:
        trace.marker.opacity = 0.35  # the moving marker must show through the clusters
    axes = {f"{axis}axis": {"range": [float(lo), float(hi)], "title": f"z{i + 1}", "autorange": False}
            for i, (axis, (lo, hi)) in enumerate(zip("xyz", ranges))}
    figure.update_layout(scene={**axes, "aspectmode": "cube"}, uirevision="keep-camera",
                         legend={"itemsizing": "constant"})
    return figure


def with_marker(base: go.Figure, z: np.ndarray, name: str = "current z") -> dict:
    """The base figure as a dict plus one big marker at z; copying the dict is far cheaper than a new Figure."""
    spec = base.to_dict()
    spec["data"] = [*spec["data"], {
        "type": "scatter3d", "x": [float(z[0])], "y": [float(z[1])], "z": [float(z[2])], "name": name,
        "mode": "markers", "hovertemplate": f"{name}<extra></extra>",
        "marker": {"size": 11, "color": plots.MARK_COLOR, "symbol": "diamond",
                   "line": {"width": 3, "color": "white"}}}]
    return spec


def strips_png(rows: np.ndarray, scale: int) -> bytes:
    """Rows of images (m, s, H, W) in [0, 1] as one PNG grid."""
    return plots.grid_png([list(row) for row in np.asarray(rows)], scale=scale)


# ---------------------------------------------------------------- training snapshots: the space forming

def shown_epochs(n_epochs: int, max_frames: int = 41) -> list[int]:
    """Epochs 0..n_epochs, thinned evenly to at most max_frames (always the first and the last)."""
    if n_epochs + 1 <= max_frames:
        return list(range(n_epochs + 1))
    return sorted({round(i * n_epochs / (max_frames - 1)) for i in range(max_frames)})


def _frame_ranges(points: np.ndarray) -> list[list[float]]:
    """Axis ranges that hold nearly all of one epoch's codes (the outer 0.5% may fall off), padded by a tenth."""
    low, high = np.percentile(points, [0.5, 99.5], axis=0)
    pad = np.maximum((high - low) * 0.1, 1e-3)
    return [[round(float(lo - p), 4), round(float(hi + p), 4)] for lo, hi, p in zip(low, high, pad)]


def training_figure(codes: np.ndarray, labels: np.ndarray, classes: list[str], loss: np.ndarray, epochs: list[int],
                    start: int, title: str, height: int = 420) -> dict:
    """A plotly spec (dict) of codes (E + 1, N, k) at each shown epoch, played in the browser by its own button.

    One frame per shown epoch; start is the epoch shown first (the page's scrubber). The axes follow each epoch's
    codes, so the untrained network's tight clump is as readable as the final spread.
    """
    three = codes.shape[2] >= 3
    labels = np.asarray(labels).astype(int)
    by_class = [np.flatnonzero(labels == c) for c in range(len(classes))]

    def traces(epoch: int) -> list[dict]:
        points = codes[epoch].astype(np.float32)  # plotly ships float32 arrays as base64; rounding saves nothing
        out = []
        for members in by_class:
            trace = {"type": "scatter3d" if three else "scatter", "x": points[members, 0], "y": points[members, 1]}
            if three:
                trace["z"] = points[members, 2]
            out.append(trace)
        return out

    def frame_layout(epoch: int) -> dict:
        ranges = _frame_ranges(codes[epoch].astype(np.float32))
        words = "untrained" if epoch == 0 else f"loss {float(loss[epoch]):.4f}"
        layout = {"title": {"text": f"{title} · epoch {epoch} · {words}"}}
        if three:
            layout["scene"] = {f"{a}axis": {"range": r, "autorange": False} for a, r in zip("xyz", ranges)}
        else:
            layout |= {"xaxis": {"range": ranges[0], "autorange": False},
                       "yaxis": {"range": ranges[1], "autorange": False}}
        return layout

    first = traces(start)
    for c, trace in enumerate(first):
        trace |= {"name": str(classes[c]), "mode": "markers", "hovertemplate": f"{classes[c]}<extra></extra>",
                  "marker": {"size": 2.5 if three else 5, "color": plots.CLASS_COLORS[c % len(plots.CLASS_COLORS)],
                             "opacity": 0.75}}
    # 2D frames glide between epochs; a 3D scene must be redrawn for each.
    play = {"frame": {"duration": 180 if three else 220, "redraw": three}, "fromcurrent": True,
            "transition": {"duration": 0 if three else 160, "easing": "cubic-in-out"}, "mode": "immediate"}
    jump = {"frame": {"duration": 0, "redraw": three}, "transition": {"duration": 0}, "mode": "immediate"}
    layout = {
        "height": height + 130, "margin": {"l": 10, "r": 10, "t": 115, "b": 100}, "showlegend": True,
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "itemsizing": "constant",
                   "font": {"size": 11}},
        "title": {"font": {"size": 14}, "x": 0.01, "y": 0.98, "yanchor": "top"},
        "updatemenus": [{"type": "buttons", "direction": "left", "showactive": False, "x": 0, "y": 0,
                         "xanchor": "left", "yanchor": "top", "pad": {"t": 62 if not three else 10, "r": 8},
                         "buttons": [{"label": "▶ Play", "method": "animate", "args": [None, play]},
                                     {"label": "⏸", "method": "animate", "args": [[None], jump]}]}],
        "sliders": [{"active": epochs.index(start), "x": 0.36, "len": 0.64, "y": 0, "yanchor": "top",
                     "pad": {"t": 50 if not three else 0}, "ticklen": 2, "font": {"size": 9},
                     "currentvalue": {"prefix": "epoch ", "font": {"size": 12}},
                     "steps": [{"label": str(e), "method": "animate", "args": [[str(e)], jump]} for e in epochs]}],
    } | frame_layout(start)
    if three:
        layout["scene"] |= {"aspectmode": "cube"}
        layout["uirevision"] = "keep-camera"
    else:
        layout["xaxis"] |= {"title": {"text": "z1"}, "zeroline": False}
        layout["yaxis"] |= {"title": {"text": "z2"}, "zeroline": False}
    frames = [{"name": str(e), "data": traces(e), "traces": list(range(len(classes))), "layout": frame_layout(e)}
              for e in epochs]
    return {"data": first, "layout": layout, "frames": frames}


def live_codes(codes: np.ndarray, labels: np.ndarray, classes: list[str], title: str, epoch: int,
               loss: float | None, height: int = 360) -> dict:
    """One epoch's codes (N, k) as a still plotly spec, for a map that redraws while a model trains."""
    spec = training_figure(np.asarray(codes)[None], labels, classes, np.array([np.nan]), [0], 0, title, height)
    words = "untrained" if loss is None else f"loss {loss:.4f}"
    spec["layout"] = {k: v for k, v in spec["layout"].items() if k not in ("updatemenus", "sliders")}
    spec["layout"]["title"] = {"text": f"{title} · epoch {epoch} · {words}", "font": {"size": 14}, "x": 0.01}
    spec["layout"]["margin"] = {"l": 10, "r": 10, "t": 115, "b": 10}
    spec.pop("frames")
    return spec
