"""Sampling charts: how a sampler's images spread over the reference classifier's classes."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.sampling.quality import QualityReport


def class_spread_chart(reports: dict[str, QualityReport], classes: list[str],
                       colors: dict[str, str] | None = None) -> alt.Chart:
    """Share of samples per predicted class, one small bar chart per sampler, on a shared axis."""
    rows = [{"sampler": label, "class": classes[i], "share": count / max(report.n, 1), "even": 1 / len(classes)}
            for label, report in reports.items() for i, count in enumerate(report.class_counts)]
    domain = list(reports)
    color = alt.Color("sampler:N", scale=alt.Scale(domain=domain, range=[(colors or {}).get(d, "#888888")
                                                                        for d in domain]), legend=None)
    base = alt.Chart()
    bars = base.mark_bar().encode(
        x=alt.X("class:N", sort=classes, title="predicted class", axis=alt.Axis(labelAngle=0, labelOverlap=False)),
        y=alt.Y("share:Q", title="share of samples", axis=alt.Axis(format="%")),
        color=color, tooltip=["sampler", "class", alt.Tooltip("share:Q", format=".1%")])
    even = base.mark_rule(strokeDash=[4, 3], color="#555555").encode(y="mean(even):Q")  # every class equally often
    return alt.layer(bars, even, data=pd.DataFrame(rows)).properties(height=120, width=150).facet(
        facet=alt.Facet("sampler:N", sort=domain, title=None), columns=len(domain))
