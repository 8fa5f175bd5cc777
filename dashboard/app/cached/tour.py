"""The Tour's stored highlights: one per stop that shows a live result, for `python -m dashboard.app.precompute`."""

from __future__ import annotations

from dashboard.lesson import tour


def precompute(dataset: str) -> None:
    for page in tour.HIGHLIGHTS:
        tour.highlight(page, dataset)
