"""Latent diffusion figures: the reverse process on the 2-D map, played in the browser, and strips of its decodes."""

from __future__ import annotations

import numpy as np
import torch

from dashboard.viz import plots

NOISE_COLOR = "#111111"  # samples asked for no class


def shown_steps(n_steps: int, n_rows: int = 6) -> list[int]:
    """Up to n_rows step indices from 0 (noise) to n_steps (the codes), evenly spread, first and last included."""
    if n_steps + 1 <= n_rows:
        return list(range(n_steps + 1))
    return sorted({round(i * n_steps / (n_rows - 1)) for i in range(n_rows)})


def _ranges(codes: np.ndarray, path: np.ndarray) -> list[list[float]]:
    """One pair of axis ranges for every frame, holding the data and nearly all of the noise, padded by a tenth."""
    both = np.concatenate([codes, path.reshape(-1, path.shape[-1])])
    low, high = np.percentile(both, [0.5, 99.5], axis=0)
    pad = (high - low) * 0.08
    return [[round(float(lo - p), 3), round(float(hi + p), 3)] for lo, hi, p in zip(low, high, pad)]


def reverse_figure(path: np.ndarray, times: np.ndarray, asked: np.ndarray, codes: np.ndarray, labels: np.ndarray,
                   classes: list[str], height: int = 460) -> dict:
    """A plotly spec (dict) of samples (S + 1, n, 2) walking from noise (frame 0) to codes (frame S).

    The test codes sit underneath, coloured by class, and never change; each frame moves only the samples, so
    the browser plays and scrubs every step from the one spec it was sent (the server is not asked again).
    asked (n,) is the class each sample was asked for (-1: none), its colour.
    """
    path = np.asarray(path, dtype=np.float32)
    labels = np.asarray(labels).astype(int)
    n_steps = len(path) - 1
    colors = [NOISE_COLOR if a < 0 else plots.CLASS_COLORS[int(a) % len(plots.CLASS_COLORS)] for a in asked]
    data = []
    for c, name in enumerate(classes):
        members = labels == c
        data.append({"type": "scatter", "x": codes[members, 0].astype(np.float32),
                     "y": codes[members, 1].astype(np.float32), "mode": "markers", "name": str(name),
                     "marker": {"size": 4, "color": plots.CLASS_COLORS[c % len(plots.CLASS_COLORS)], "opacity": 0.3},
                     "hoverinfo": "skip"})
    moving = len(data)  # the samples' trace: the only one a frame touches

    def samples(step: int) -> dict:
        return {"type": "scatter", "x": path[step, :, 0], "y": path[step, :, 1]}

    data.append(samples(n_steps) | {
        "mode": "markers", "name": "samples", "hovertemplate": "sample<extra></extra>", "showlegend": False,
        "marker": {"size": 7, "color": colors, "line": {"color": "#FFFFFF", "width": 1}, "symbol": "diamond"}})
    play = {"frame": {"duration": 140, "redraw": False}, "fromcurrent": True,
            "transition": {"duration": 110, "easing": "linear"}, "mode": "immediate"}
    jump = {"frame": {"duration": 0, "redraw": False}, "transition": {"duration": 0}, "mode": "immediate"}
    ranges = _ranges(codes, path)
    layout = {
        "height": height, "margin": {"l": 10, "r": 10, "t": 40, "b": 150}, "showlegend": True,
        "legend": {"orientation": "h", "x": 0, "y": 1.01, "yanchor": "bottom", "itemsizing": "constant",
                   "font": {"size": 11}},
        "xaxis": {"range": ranges[0], "autorange": False, "title": {"text": "z1"}, "zeroline": False},
        "yaxis": {"range": ranges[1], "autorange": False, "title": {"text": "z2"}, "zeroline": False},
        # The buttons sit under the slider, not beside it: on a phone they covered its readout.
        "updatemenus": [{"type": "buttons", "direction": "left", "showactive": False, "x": 0, "y": 0,
                         "xanchor": "left", "yanchor": "top", "pad": {"t": 118, "r": 8},
                         "buttons": [{"label": "▶ Play", "method": "animate", "args": [None, play]},
                                     {"label": "⏸", "method": "animate", "args": [[None], jump]}]}],
        "sliders": [{"active": n_steps, "x": 0, "len": 1, "y": 0, "yanchor": "top", "pad": {"t": 45},
                     "ticklen": 2, "font": {"size": 9},
                     "currentvalue": {"prefix": "step ", "font": {"size": 12}},
                     "steps": [{"label": f"{s} · t={float(times[s]):.2f}", "method": "animate",
                                "args": [[str(s)], jump]} for s in range(n_steps + 1)]}],
    }
    frames = [{"name": str(s), "data": [samples(s)], "traces": [moving]} for s in range(n_steps + 1)]
    return {"data": data, "layout": layout, "frames": frames}


def steps_png(images: torch.Tensor, steps: list[int], times: np.ndarray, scale: int) -> bytes:
    """Decoded images (len(steps), n, C, H, W) as one PNG: a column per step, headed by its noise level, a row per
    sample, so each row reads left to right from noise to digit."""
    rows = [[images[s, i, 0] for s in range(len(steps))] for i in range(images.shape[1])]
    headings = [f"t = {float(times[s]):.2f}" for s in steps]
    return plots.grid_png(rows, scale=scale, column_labels=headings)
