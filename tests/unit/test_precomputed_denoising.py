"""The Denoising page's shipped results match what the page computes live on the shipped models, within tolerances
that hold on any CPU."""

from __future__ import annotations

import dataclasses

import pytest

from dashboard import denoising
from dashboard.app.cached import denoising as cached
from dashboard.core import artifacts, threads
from tests.harness.precomputed import assert_close, shipped_value

CONFIG = denoising.config_for("digits")  # the page's default DAE there
LEVEL = float(denoising.DEFAULT_LEVELS[denoising.DEFAULT_NOISE])


@pytest.fixture
def live(monkeypatch):
    monkeypatch.setenv(artifacts.DISABLE_ENV, "off")
    with threads.as_served():
        yield


def _params(**values) -> dict:
    return {**values, "config": dataclasses.asdict(CONFIG)}


def test_the_default_comparison_matches_the_live_one(live):
    stored = shipped_value("denoising.comparison", "digits", _params(
        noise=denoising.DEFAULT_NOISE, level=LEVEL, seed=0, n_images=denoising.EVAL_IMAGES,
        n_keep=denoising.KEEP_IMAGES), version=cached.COMPARISON_VERSION)
    assert_close(stored, denoising.evaluate(denoising.DEFAULT_NOISE, LEVEL, 0, CONFIG))


def test_a_sweep_matches_the_live_one(live):
    stored = shipped_value("denoising.sweep", "digits", _params(
        noise="salt-pepper", n_images=denoising.SWEEP_IMAGES, n_levels=denoising.SWEEP_LEVELS, seed=0),
        version=cached.SWEEP_VERSION)
    assert_close(stored, denoising.sweep("salt-pepper", CONFIG))


def test_the_default_latent_view_matches_the_live_one(live):
    stored = shipped_value("denoising.latent_view", "digits", _params(
        noise=denoising.DEFAULT_NOISE, level=LEVEL, seed=0, n_images=denoising.VIEW_IMAGES),
        version=cached.LATENT_VIEW_VERSION)
    assert_close(stored, denoising.latent_view(denoising.DEFAULT_NOISE, LEVEL, 0, CONFIG))
