"""Load: 20 concurrent sessions on a real server visit every page; no errors, nothing shared, rerun latency."""

from __future__ import annotations

import time

import pytest

from dashboard.app import navigation
from tests.harness import journeys as load
from tests.harness import server
from tests.harness.loadclient import SessionClient, widget_key

pytestmark = pytest.mark.load

SESSIONS = 20
TIME_LIMIT_S = 480  # the whole test, warm-up included; it fails with what it has by then
WARM_UP_SHARE = 0.5  # at most this share of the limit goes to the first (cold) run of every page


def test_widget_key_parsing():
    assert widget_key("$$ID-0a1b2c-overview_image") == "overview_image"
    assert widget_key("$$ID-0a1b2c-FormSubmitter:models_train_form-Train") == "FormSubmitter:models_train_form-Train"
    assert widget_key("$$ID-0a1b2c-None") is None
    assert widget_key("plain") is None


def test_client_refuses_non_loopback_servers():
    with pytest.raises(ValueError, match="loopback"):
        SessionClient("http://192.0.2.1:8501")
    with pytest.raises(ValueError, match="http"):
        SessionClient("ftp://127.0.0.1:8501")


def test_percentile():
    assert load.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert load.percentile([0.0, 10.0], 95) == pytest.approx(9.5)
    assert load.percentile([4.0], 95) == 4.0


def test_first_visitors_arriving_together_see_no_error():
    """A fresh server (a cloud app that just woke up) whose first four visitors arrive in the same instant."""
    with server.running_app() as (base, process):
        log = load.ServerLog(process)
        problems = load.first_visitors(base, 4, load.ClientConfig())
    assert not problems, "\n".join(problems) + f"\n--- server log ---\n{log.tail()}"


def test_many_sessions_stay_apart_and_error_free(capsys):
    started = time.monotonic()
    plan = load.LoadPlan(sessions=SESSIONS, train=True)
    with server.running_app() as (base, process):
        log = load.ServerLog(process)
        try:
            references = load.reference_signatures(base, plan, time_limit_s=TIME_LIMIT_S * WARM_UP_SHARE)
        except load.LoadClientError as exc:
            pytest.fail(f"{exc}\n--- server log ---\n{log.tail()}")
        warm_up_s = time.monotonic() - started
        plan = load.LoadPlan(sessions=SESSIONS, train=True, time_limit_s=TIME_LIMIT_S - warm_up_s)
        report = load.run_load(base, plan, references)
    with capsys.disabled():
        print(f"\n[load] warm-up (first run of every page, both datasets) {warm_up_s:.0f} s")
        for line in load.summary_lines(report):
            print(f"[load] {line}")

    assert len(report.sessions) == SESSIONS
    assert not report.problems, "\n".join(report.problems[:40]) + f"\n--- server log ---\n{log.tail()}"
    pages = {load.public_path(spec) for spec in navigation.PAGES}
    for session in report.sessions:
        visited = {run.page for run in session.runs}
        assert pages <= visited, f"session {session.index} never reached {sorted(pages - visited)}"
        assert any(run.cause == "widget" for run in session.runs), f"session {session.index} moved no control"
    trainers = [s for s in report.sessions if s.trained]
    assert len(trainers) == 1 and trainers[0].trained.endswith("(yours)"), [s.trained for s in report.sessions]
