"""Load rows: many concurrent sessions on a real server, with rerun latency, isolation checks and server memory."""

from __future__ import annotations

import time

from dashboard.app import navigation
from tests.harness import server
from tests.harness.journeys import (
    FIRST_VISITORS,
    MEMORY_VISITS,
    SECTION,
    LoadClientError,
    LoadPlan,
    ServerLog,
    first_visitors,
    percentile,
    reference_signatures,
    report_warm_up,
    run_load,
    server_ttl,
    visits_for_memory,
)

from . import Row, section


@section(SECTION, order=90)
def load(quick: bool) -> list[Row]:
    """Concurrent sessions on a real server: latency percentiles, isolation problems, server memory growth.

    The full run has 20 sessions on both datasets visiting every page, one of them training its own model, then
    200 short visits for memory, and a fresh server's first visitors arriving at once. It takes minutes. --quick
    is a smoke run for CI (under a minute): 3 digits sessions on the Overview and Quiz only (the other pages'
    first runs alone take minutes), and 12 visits.
    """
    plan = (LoadPlan(sessions=3, train=False, datasets=("digits",), pages=("overview", "quiz"), time_limit_s=120)
            if quick else LoadPlan(sessions=20, train=True, time_limit_s=480))
    visits = 12 if quick else MEMORY_VISITS
    rows = []
    with server.running_app() as (base, process):
        log = ServerLog(process)
        started = time.perf_counter()
        try:
            references = reference_signatures(base, plan)
        except LoadClientError as exc:
            raise LoadClientError(f"{exc}; server log: {log.tail(8)}") from exc
        cpu_before = server.cpu_seconds(process)
        report = run_load(base, plan, references)
        cpu_seconds = server.cpu_seconds(process) - cpu_before
        runs = sum(len(s.runs) for s in report.sessions)
        note = (f"{plan.sessions} concurrent sessions ({', '.join(plan.datasets)}; "
                f"{'every page' if len(plan.pages) == len(navigation.PAGES) else ', '.join(plan.pages) + ' only'}), "
                "warm caches; server and clients share this machine")
        for name, values in (("rerun after moving a control", report.latencies("widget")),
                             ("page visit (full run)", report.latencies("visit"))):
            for q in (50, 95):
                rows.append(Row(SECTION, f"{name}, p{q} (n={len(values)})", 1000 * percentile(values, q), "ms",
                                note=note))
        rows.append(Row(SECTION, "server CPU per run under load", 1000 * cpu_seconds / max(runs, 1), "ms",
                        note=f"{runs} runs; warm-up took {report_warm_up(started, report):.0f} s"))
        problems = report.problems
        rows.append(Row(SECTION, "sessions with an error or another session's state",
                        len({p.split(":")[0] for p in problems}), "", "0", not problems, "; ".join(problems)[:300]))

        visits_for_memory(base, len(plan.pages) + 1, 5, plan)  # every code path the visits use has run once
        before = server.rss_mb(process)
        start = time.perf_counter()
        visit_problems = visits_for_memory(base, visits, 10, plan)
        seconds = time.perf_counter() - start
        after = server.rss_mb(process)
        rows.append(Row(SECTION, f"server RSS growth over {visits} session visits", after - before, "MB",
                        "<= 100 at 200 visits", None if quick else (after - before <= 100 and not visit_problems),
                        f"{before:.0f} -> {after:.0f} MB in {seconds:.0f} s; Streamlit keeps up to 128 closed "
                        f"sessions for {server_ttl()} s for reconnects"
                        + (f"; {len(visit_problems)} visits failed: {visit_problems[0][:120]}" if visit_problems
                           else "")))
    if not quick:
        with server.running_app() as (base, _):
            first = first_visitors(base, FIRST_VISITORS, plan.client)
        rows.append(Row(SECTION, f"fresh server, {FIRST_VISITORS} first visitors at the same instant: errors",
                        len(first), "", "0", not first, "; ".join(first)[:200]))
    return rows
