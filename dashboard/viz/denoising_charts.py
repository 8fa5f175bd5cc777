"""Denoising figures: the side-by-side image columns, and PSNR against noise level for every method."""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

import altair as alt
import pandas as pd

from dashboard.viz import plots

if TYPE_CHECKING:
    from dashboard.denoising import Sweep


def sweep_chart(curve: Sweep, level: float, noise_label: str, height: int = 300) -> alt.LayerChart:
    """A line per method; a dashed rule at the chosen level and a band over the levels the DAE saw in training."""
    frame = pd.DataFrame(curve.records())
    methods = list(curve.labels.values())
    lines = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("level:Q", title=f"{noise_label} noise level"),
        y=alt.Y("PSNR (dB):Q", scale=alt.Scale(zero=False)),
        # One column with no label limit: in two columns the long names ("AE (ae-32, no noise in training)")
        # were cut off at 1280 px and ran past the chart at 390 px.
        color=alt.Color("method:N", scale=plots.method_scale(methods),
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
    return alt.layer(*layers).properties(height=height + 30 * len(methods))


# One table, not st.columns: Streamlit stacks columns below 640 px, which turned the side-by-side grid into 56 digits
# one under another with the names detached from them. A fixed table layout shrinks the columns instead.
_COLUMNS_CSS = """
.denoise-columns {width: calc(100% + 8px); margin: 0 -4px; table-layout: fixed; border-collapse: separate;
  border-spacing: 4px 0; border: none}
.denoise-columns th {font-weight: 600; font-size: 0.9rem; line-height: 1.25; text-align: left; vertical-align: bottom;
  padding: 0 0 0.35rem 0; border: none; background: none; overflow-wrap: break-word}
.denoise-columns td {padding: 0; border: none; vertical-align: top}
.denoise-columns img {width: 100%; height: auto; display: block; image-rendering: pixelated}
.denoise-columns .short {display: none}
@media (max-width: 640px) {
  .denoise-columns th {font-size: 0.72rem}
  .denoise-columns .long {display: none}
  .denoise-columns .short {display: inline}
}
"""


def image_columns_html(labels: list[str], pngs: list[bytes]) -> str:
    """Named image columns side by side, as HTML that shrinks with the screen and stays in line.

    A heading shows the label up to its first " (" (the full label is its tooltip); on a phone only its first word.
    """
    heads, cells = [], []
    for label, png in zip(labels, pngs):
        name = label.split(" (")[0]
        heads.append(f'<th title="{html.escape(label)}"><span class="long">{html.escape(name)}</span>'
                     f'<span class="short">{html.escape(name.split()[0])}</span></th>')
        cells.append(f'<td><img alt="{html.escape(label)}" src="data:image/png;base64,'
                     f'{base64.b64encode(png).decode()}"></td>')
    return (f"<style>{_COLUMNS_CSS}</style><table class=\"denoise-columns\"><thead><tr>{''.join(heads)}</tr></thead>"
            f"<tbody><tr>{''.join(cells)}</tr></tbody></table>")
