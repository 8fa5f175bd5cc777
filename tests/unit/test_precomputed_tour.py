"""The Tour's stored highlights equal the live ones, and reading them imports none of the use-case packages."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dashboard.core import artifacts, paths
from dashboard.lesson import tour
from tests.harness.precomputed import assert_same, shipped_value


@pytest.mark.parametrize("page", ["compression", "anomaly"])
def test_a_stored_highlight_equals_the_live_one(page, monkeypatch):
    stored = shipped_value("tour.highlight", "digits", {"page": page})
    monkeypatch.setenv(artifacts.DISABLE_ENV, "off")
    assert_same(stored, tour.highlight(page, "digits"), rtol=1e-5, atol=1e-6)


def test_showing_stored_highlights_imports_no_use_case_or_scikit_learn():
    # The tour page used to import scikit-learn (about 85 MB) through the anomaly package just to show numbers.
    code = ("import sys; from dashboard.lesson import tour\n"
            "for page in tour.HIGHLIGHTS: assert tour.highlight(page, 'mnist-5k') is not None\n"
            "loaded = [m for m in ('sklearn', 'dashboard.anomaly', 'dashboard.features', 'dashboard.sampling') "
            "if m in sys.modules]\n"
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], cwd=paths.ROOT, check=True, timeout=180)
