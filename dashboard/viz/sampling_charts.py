"""Sampling charts: how a sampler's images spread over the reference classifier's classes."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.sampling.quality import QualityReport


def class_spread_charts(reports: dict[str, QualityReport], classes: list[str],
                        colors: dict[str, str] | None = None) -> list[alt.LayerChart]:
    """Share of samples per predicted class: one small bar chart per sampler, all on the same share axis.

    Separate charts rather than one faceted chart: a facet lays its panels out in one row of a fixed width, which
    runs off a phone's screen, while separate charts can wrap onto as many rows as the page needs. Every chart
    has the same make-up (a two-line title, no axis title of its own), so they stay the same size side by side.
    """
    shares = {label: [count / max(report.n, 1) for count in report.class_counts] for label, report in reports.items()}
    top = max((share for row in shares.values() for share in row), default=0.0)
    y_scale = alt.Scale(domain=[0, max(top, 1.5 / len(classes))])  # shared, so bar heights compare across charts
    charts = []
    for label, row in shares.items():
        frame = pd.DataFrame({"class": classes, "share": row, "sampler": label})
        bars = alt.Chart(frame).mark_bar(color=(colors or {}).get(label, "#888888")).encode(
            x=alt.X("class:N", sort=classes, title="predicted class",
                    axis=alt.Axis(labelAngle=0, labelOverlap=False)),
            y=alt.Y("share:Q", scale=y_scale, axis=alt.Axis(format="%", tickCount=4), title=None),
            tooltip=["sampler", "class", alt.Tooltip("share:Q", format=".1%")])
        # Every class equally often; mid grey reads on the light and the dark theme.
        even = alt.Chart(pd.DataFrame({"even": [1 / len(classes)]})).mark_rule(
            color="#888888", strokeDash=[4, 3]).encode(y="even:Q")
        # Streamlit fits title, axes and bars into the height of a stretched chart: 210 leaves the bars about 130.
        # A name on two lines ("AE +" over "Gaussian mixture") fits a narrow chart instead of being cut short.
        head, plus, tail = label.partition(" + ")
        title = [head + plus.rstrip(), tail] if plus else label
        charts.append(alt.layer(bars, even).properties(title=alt.TitleParams(title, fontSize=12, anchor="start"),
                                                       height=210))
    return charts
