"""Memory regression: a fresh server's RSS after one visit of every page stays within 10% of the goal for its torch."""

from __future__ import annotations

import pytest

from bench.app import MEMORY_GOAL_MB, torch_build
from dashboard.app import navigation
from tests.harness import server

pytestmark = pytest.mark.browser

SLACK = 1.10  # memory is steady enough to test; times are not, so they stay in the benchmark


def test_server_memory_after_every_page_stays_near_the_goal(capsys):
    profile = server.memory_profile([spec.address for spec in navigation.PAGES])
    build = torch_build()
    limit = MEMORY_GOAL_MB[build] * SLACK
    table = "\n".join(f"  {label:28s} {mb:7.0f} MB" for label, mb in profile)
    with capsys.disabled():
        print(f"\n[memory] {build} torch, limit {limit:.0f} MB\n{table}")
    assert len(profile) == len(navigation.PAGES) + 1
    final = profile[-1][1]
    assert final <= limit, (f"server RSS after every page is {final:.0f} MB, over {limit:.0f} MB (the {build} goal "
                            f"{MEMORY_GOAL_MB[build]} MB + 10%); the first visit of each page added:\n{table}")
