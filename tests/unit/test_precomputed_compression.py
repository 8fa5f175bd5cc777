"""The Compression page's shipped results equal what the page would compute live on the shipped models."""

from __future__ import annotations

import pytest

from dashboard import compression
from dashboard.app.cached import compression as cached
from dashboard.core import artifacts, data, threads
from tests.harness.precomputed import assert_same, shipped_value


@pytest.fixture
def live(monkeypatch):
    monkeypatch.setenv(artifacts.DISABLE_ENV, "off")


def test_test_set_scores_equal_the_live_ones(live):
    stored = shipped_value("compression.test_set", "mnist-5k")
    with threads.as_served():  # as the build and the server compute it: float16 codes round on the last bits
        codecs = compression.all_codecs("mnist-5k", load_model=cached._shipped_or_none)
        live = compression.evaluate_test_set(data.load("mnist-5k").x_test, codecs)
    assert_same(stored, live, rtol=1e-5, atol=1e-6)


def test_probe_comparisons_equal_the_live_ones(live):
    stored = shipped_value("compression.probes", "digits", {"per_kind": cached.PROBES_PER_KIND, "seed": 0})
    with threads.as_served():
        codecs = compression.all_codecs("digits", load_model=cached._shipped_or_none)
        learned = [c["AE"] for c in codecs.values() if "AE" in c]
        live_value = compression.probe_comparisons(data.load("digits"), learned, learned[0].k,
                                                   cached.PROBES_PER_KIND, seed=0)
    assert_same(stored, live_value, rtol=1e-5, atol=1e-6)
