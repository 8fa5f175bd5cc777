"""The Tour's stored highlights match the live ones, and reading them imports none of the use-case packages."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dashboard.core import artifacts, paths
from dashboard.lesson import tour
from tests.harness.precomputed import assert_close, kind_versions, shipped_value


@pytest.mark.parametrize("page", ["compression", "anomaly"])
def test_a_stored_highlight_matches_the_live_one(page, monkeypatch):
    stored = shipped_value("tour.highlight", "digits", {"page": page}, version=kind_versions()["tour.highlight"])
    monkeypatch.setenv(artifacts.DISABLE_ENV, "off")
    # Pictures within 0.1%; each number quoted in the text within 2% (or one unit of its last digit).
    assert_close(stored, tour.highlight(page, "digits"), text_rtol=0.02)


def test_showing_stored_highlights_imports_no_use_case_or_scikit_learn():
    code = ("import sys; from dashboard.lesson import tour\n"
            "for page in tour.HIGHLIGHTS: assert tour.highlight(page, 'mnist-5k') is not None\n"
            "loaded = [m for m in ('sklearn', 'dashboard.anomaly', 'dashboard.features', 'dashboard.sampling') "
            "if m in sys.modules]\n"
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], cwd=paths.ROOT, check=True, timeout=180)
