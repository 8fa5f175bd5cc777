"""Denoising figures: column headings for the side-by-side grid and PSNR against noise level."""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import pandas as pd

from dashboard.viz import plots

if TYPE_CHECKING:
    from dashboard.denoising import Sweep


def sweep_chart(curve: Sweep, level: float, noise_label: str, height: int = 300) -> alt.LayerChart:
    """A line per method; a dashed rule at the chosen level and a band over the levels the DAE saw in training."""
    frame = pd.DataFrame(curve.records())
    # The legend names each method without its settings ("AE", not "AE (ae-32, no noise in training)"): the full
    # names ran past a half-page chart beside an open sidebar. The tooltip and the table above keep them.
    frame["name"] = frame["method"].str.split(" (", regex=False).str[0]
    names = list(dict.fromkeys(label.split(" (")[0] for label in curve.labels.values()))
    lines = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("level:Q", title=f"{noise_label} noise level"),
        y=alt.Y("PSNR (dB):Q", scale=alt.Scale(zero=False)),
        color=alt.Color("name:N", scale=plots.method_scale(names), title="method",
                        legend=alt.Legend(orient="bottom", direction="vertical", columns=1, labelLimit=0)),
        tooltip=["method", alt.Tooltip("level:Q", format=".2f"), alt.Tooltip("PSNR (dB):Q", format=".1f")])
    # Mid grey: a near-black rule vanished on the dark theme's background.
    chosen = alt.Chart(pd.DataFrame({"level": [level]})).mark_rule(color="#888888", strokeWidth=1.5,
                                                                   strokeDash=[4, 3]).encode(x="level:Q")
    layers = [lines, chosen]
    if curve.trained is not None:
        trained = pd.DataFrame({"start": [curve.trained[0]], "end": [max(curve.trained[1], curve.trained[0])]})
        layers.insert(0, alt.Chart(trained).mark_rect(opacity=0.12, color=plots.method_color("DAE"))
                      .encode(x="start:Q", x2="end:Q"))
    # Streamlit fits the whole chart, legend included, into the height: add a legend line per method on top.
    return alt.layer(*layers).properties(height=height + 30 * len(names))


# The side-by-side grid is one picture with headings drawn in (plots.grid_png), not st.columns: Streamlit stacks
# columns below 640 px, which turned the grid into 56 digits one under another with the names detached from them.
# Column headings drawn into the grid: a word or two each, large enough to read on a phone; the table and the
# chart's tooltips give the full names with their settings.
HEADINGS = {"Noisy input": "Noisy", "Median filter 3x3": "Median", "Gaussian blur": "Blur", "PCA projection": "PCA"}


def short_name(label: str) -> str:
    """A method's name as a column heading: the label up to its first " (", shortened further where it is long."""
    name = label.split(" (")[0]
    return HEADINGS.get(name, name)
