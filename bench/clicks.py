"""Browser rows: each main control's click-to-finished-page time in Chromium, its server CPU and bytes sent."""

from __future__ import annotations

from tests.harness import clicks, server

from . import Row, section

NAME = "app: clicks"
CLICK_GOAL_S = {"overview": 0.7}  # every other page: 1 s
DEFAULT_CLICK_GOAL_S = 1.0
FIRST_VISIT_GOAL_S = 3.0  # on a fresh server; the Overview's is the cold start in "app: frame"
WARM_FIRST_VISIT_GOAL_S = 2.0


def _kb(n_bytes: float) -> str:
    return f"{n_bytes / 1000:.1f} kB"


@section(NAME, order=23)
def click_times(quick: bool) -> list[Row]:
    """Medians over 5 clicks (2 with --quick) after one warm-up click, on one fresh server and one browser tab.

    Rows go page by page: the first visit (time, then CPU and bytes), then per control its click time, the
    server's CPU per click (goal: clicks.CPU_GOAL_MS) and what the click sent to the browser, with the heaviest element.
    """
    if server.chromium_path() is None:
        return [Row(NAME, "click times", "not measured", note="Chromium not installed")]
    found = clicks.measure(repeats=2 if quick else 5)
    rows = []
    for page, seconds in found["first_visit_s"].items():
        rows.append(Row(NAME, f"{page}: first visit, server fresh but for the pages before it", seconds, "s",
                        f"<= {FIRST_VISIT_GOAL_S:g}", seconds <= FIRST_VISIT_GOAL_S,
                        "menu order; the Overview's includes the cold start"))
        cost = found["first_visit_cost"].get(page)
        if cost is not None:
            rows.append(Row(NAME, f"{page}: first visit, sent to the browser", cost.sent_bytes / 1000, "kB",
                            note=f"server CPU {1000 * cost.cpu_s:.0f} ms; largest {cost.largest[0]} "
                                 f"{_kb(cost.largest[1])}"))
        for (where, control), seconds_per_click in found["clicks_s"].items():
            if where == page:
                rows.extend(_control_rows(page, control, seconds_per_click, found["clicks_cost"].get((page, control))))
    for (page, control), message in found["errors"].items():
        rows.append(Row(NAME, f"{page}: {control}", "not measured", ok=False, note=message))
    for page, seconds in found.get("warm_first_visit_s", {}).items():
        rows.append(Row(NAME, f"{page}: first visit on a warm server (a second visitor)", seconds, "s",
                        f"<= {WARM_FIRST_VISIT_GOAL_S:g}", seconds <= WARM_FIRST_VISIT_GOAL_S,
                        "new browser session after the clicks above; menu order"))
    return rows


def _control_rows(page: str, control: str, seconds: list[float], costs: list | None) -> list[Row]:
    goal = CLICK_GOAL_S.get(page, DEFAULT_CLICK_GOAL_S)
    median = clicks.median(seconds)
    rows = [Row(NAME, f"{page}: {control}, click to finished page (median)", median, "s", f"<= {goal:g}",
                median <= goal, "runs " + ", ".join(f"{s:.2f}" for s in seconds))]
    if not costs:
        return rows
    s = clicks.summarise(seconds, costs)
    rows.append(Row(NAME, f"{page}: {control}, server CPU per click (median)", float(round(s.cpu_ms)), "ms",
                    f"<= {clicks.CPU_GOAL_MS:g}", s.cpu_ok,
                    "runs " + ", ".join(f"{1000 * c.cpu_s:.0f}" for c in costs) + "; user+sys of the server process"))
    note = f"most: {s.top_kind} {s.top_kind_kb:.1f} kB/click; largest message {s.largest} {s.largest_kb:.1f} kB"
    if s.by_reference_kb:
        note += f"; rebuilt but sent by reference (browser had it) {s.by_reference_kb:.1f} kB"
    rows.append(Row(NAME, f"{page}: {control}, sent to the browser per click (median)", round(s.sent_kb, 1), "kB",
                    f"<= {clicks.HEAVY_KB:g} to pass unremarked", s.sent_kb <= clicks.HEAVY_KB, note))
    return rows
