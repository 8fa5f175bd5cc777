"""Denoising charts: PSNR against noise level for every method, with the DAE's training range and the chosen level."""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import pandas as pd

from dashboard.viz import plots

if TYPE_CHECKING:
    from dashboard.denoising import Sweep


def sweep_chart(curve: Sweep, level: float, noise_label: str, height: int = 380) -> alt.LayerChart:
    """A line per method; a dashed rule at the chosen level and a band over the levels the DAE saw in training."""
    frame = pd.DataFrame(curve.records())
    methods = list(curve.labels.values())
    lines = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("level:Q", title=f"{noise_label} noise level"),
        y=alt.Y("PSNR (dB):Q", scale=alt.Scale(zero=False)),
        color=alt.Color("method:N", scale=plots.method_scale(methods), legend=alt.Legend(orient="bottom", columns=2)),
        tooltip=["method", alt.Tooltip("level:Q", format=".2f"), alt.Tooltip("PSNR (dB):Q", format=".1f")])
    layers = [lines, alt.Chart(pd.DataFrame({"level": [level]})).mark_rule(color="#111", strokeDash=[4, 3])
              .encode(x="level:Q")]
    if curve.trained is not None:
        trained = pd.DataFrame({"start": [curve.trained[0]], "end": [max(curve.trained[1], curve.trained[0])]})
        layers.insert(0, alt.Chart(trained).mark_rect(opacity=0.12, color=plots.method_color("DAE"))
                      .encode(x="start:Q", x2="end:Q"))
    return alt.layer(*layers).properties(height=height)
