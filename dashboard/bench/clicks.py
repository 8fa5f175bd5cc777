"""Browser rows: each main control's click-to-finished-page time in Chromium, and each page's first visit."""

from __future__ import annotations

from tests.harness import clicks, server

from . import Row, section

NAME = "app: clicks"
CLICK_GOAL_S = {"overview": 0.7}  # every other page: 1 s
DEFAULT_CLICK_GOAL_S = 1.0
FIRST_VISIT_GOAL_S = 3.0  # on a fresh server; the Overview's is the cold start in "app: frame"


@section(NAME, order=23)
def click_times(quick: bool) -> list[Row]:
    """Medians over 5 clicks (2 with --quick) after one warm-up click, on one fresh server and one browser tab."""
    if server.chromium_path() is None:
        return [Row(NAME, "click times", "not measured", note="Chromium not installed")]
    found = clicks.measure(repeats=2 if quick else 5)
    rows = []
    for page, seconds in found["first_visit_s"].items():
        rows.append(Row(NAME, f"{page}: first visit, server fresh but for the pages before it", seconds, "s",
                        f"<= {FIRST_VISIT_GOAL_S:g}", seconds <= FIRST_VISIT_GOAL_S,
                        "menu order; the Overview's includes the cold start"))
    for (page, control), seconds in found["clicks_s"].items():
        goal = CLICK_GOAL_S.get(page, DEFAULT_CLICK_GOAL_S)
        median = clicks.median(seconds)
        rows.append(Row(NAME, f"{page}: {control}, click to finished page (median)", median, "s", f"<= {goal:g}",
                        median <= goal, "runs " + ", ".join(f"{s:.2f}" for s in seconds)))
    for (page, control), message in found["errors"].items():
        rows.append(Row(NAME, f"{page}: {control}", "not measured", ok=False, note=message))
    return rows
