"""The Denoising page's shipped results equal what the page would compute live on the shipped models."""

from __future__ import annotations

import dataclasses

import pytest

from dashboard import denoising
from dashboard.core import artifacts, threads
from tests.harness.precomputed import assert_same, shipped_value

CONFIG = denoising.config_for("digits")  # the page's default DAE there
LEVEL = float(denoising.DEFAULT_LEVELS[denoising.DEFAULT_NOISE])


@pytest.fixture
def live(monkeypatch):
    """Computed live, with the thread counts the build stored them with (a PCA's last bits follow them)."""
    monkeypatch.setenv(artifacts.DISABLE_ENV, "off")
    with threads.as_served():
        yield


def _params(**values) -> dict:
    return {**values, "config": dataclasses.asdict(CONFIG)}


def test_the_default_comparison_equals_the_live_one(live):
    stored = shipped_value("denoising.comparison", "digits", _params(
        noise=denoising.DEFAULT_NOISE, level=LEVEL, seed=0, n_images=denoising.EVAL_IMAGES,
        n_keep=denoising.KEEP_IMAGES))
    assert_same(stored, denoising.evaluate(denoising.DEFAULT_NOISE, LEVEL, 0, CONFIG), rtol=1e-5, atol=1e-6)


def test_a_sweep_equals_the_live_one(live):
    stored = shipped_value("denoising.sweep", "digits", _params(
        noise="salt-pepper", n_images=denoising.SWEEP_IMAGES, n_levels=denoising.SWEEP_LEVELS, seed=0))
    assert_same(stored, denoising.sweep("salt-pepper", CONFIG), rtol=1e-5, atol=1e-6)


def test_the_default_latent_view_equals_the_live_one(live):
    stored = shipped_value("denoising.latent_view", "digits", _params(
        noise=denoising.DEFAULT_NOISE, level=LEVEL, seed=0, n_images=denoising.VIEW_IMAGES))
    assert_same(stored, denoising.latent_view(denoising.DEFAULT_NOISE, LEVEL, 0, CONFIG), rtol=1e-5, atol=1e-6)
