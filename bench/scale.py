"""Scale rows: the 20-session load on one Streamlit process, then through nginx on two (deploy/serve.py)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from deploy import serve
from tests.harness import server
from tests.harness.journeys import LoadPlan, LoadReport, percentile, reference_signatures, run_load

from . import Row, section

SECTION = "load: nginx"
PROCESSES = 2


class _Pid:
    """Enough of a Popen for the harness's CPU reading: the launcher owns the processes, we only read them."""

    def __init__(self, pid: int) -> None:
        self.pid = pid


def _latency_rows(label: str, report: LoadReport, note: str) -> list[Row]:
    rows = []
    values = report.latencies("widget")
    for q in (50, 95):
        rows.append(Row(SECTION, f"{label}: rerun after moving a control, p{q} (n={len(values)})",
                        1000 * percentile(values, q), "ms", note=note if q == 50 else ""))
    visits = report.latencies("visit")
    rows.append(Row(SECTION, f"{label}: page visit, p50 / p95 (n={len(visits)})",
                    f"{1000 * percentile(visits, 50):.0f} / {1000 * percentile(visits, 95):.0f}", "ms"))
    problems = report.problems
    rows.append(Row(SECTION, f"{label}: sessions with an error or another session's state",
                    len({p.split(":")[0] for p in problems}), "", "0", not problems, "; ".join(problems)[:300]))
    return rows


@section(SECTION, order=91)
def scale(quick: bool) -> list[Row]:
    """The load section's sessions twice on one warm launcher: straight at one of its processes, then through nginx.

    Both processes are warmed directly first (every page, both datasets), since nginx would spread warm-up sessions
    at random. The same machine also runs the clients, so two processes can at best use the cores the clients leave.
    --quick: 3 digits sessions on the Overview and Quiz only.
    """
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        return [Row(SECTION, "section skipped", "not measured", note="nginx is not installed (apt-get install nginx)")]
    plan = (LoadPlan(sessions=3, train=False, datasets=("digits",), pages=("overview", "quiz"), time_limit_s=120)
            if quick else LoadPlan(sessions=20, train=True, time_limit_s=480))
    load_before = os.getloadavg()[0]
    rows = []
    with serve.launched(processes=PROCESSES) as (ready, _):
        first, *others = ready["backends"]
        started = time.perf_counter()
        references = reference_signatures(first, plan)
        for backend in others:
            reference_signatures(backend, plan)  # warm only; the journeys check that it shows what `first` showed
        warm_up_s = time.perf_counter() - started
        apps = [_Pid(pid) for pid in ready["pids"][:PROCESSES]]
        note = (f"{plan.sessions} concurrent sessions, warm caches (warm-up {warm_up_s:.0f} s); clients, servers and "
                f"other jobs share this {os.cpu_count()}-core machine (load average {load_before:.1f} before)")

        direct = run_load(first, plan, references)
        rows += _latency_rows("1 process, direct", direct, note)

        cpu_before = [server.cpu_seconds(app) for app in apps]
        through = run_load(ready["url"], plan, references)
        cpu = [server.cpu_seconds(app) - before for app, before in zip(apps, cpu_before)]
        rows += _latency_rows(f"{PROCESSES} processes through nginx", through, note)
        rows.append(Row(SECTION, f"{PROCESSES} processes through nginx: server CPU per process",
                        " / ".join(f"{c:.0f}" for c in cpu), "s",
                        note="both processes must work: sticky sessions are spread by a hash of their cookie"))
    rows.append(Row(SECTION, "load average after", f"{os.getloadavg()[0]:.1f}", "",
                    note="other jobs on this machine inflate every time above"))
    return rows
