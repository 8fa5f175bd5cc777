"""The Sampling page's shipped results equal what the page would compute live on the shipped models."""

from __future__ import annotations

import pytest

from dashboard.app.cached import sampling as cached
from dashboard.core import artifacts, threads
from dashboard.sampling import samplers
from dashboard.viz import plots
from tests.harness.precomputed import assert_same, shipped_value


@pytest.fixture
def live(monkeypatch):
    """Computed live, with the thread counts the build stored them with."""
    monkeypatch.setenv(artifacts.DISABLE_ENV, "off")
    with threads.as_served():
        yield


def test_default_scores_equal_the_live_ones(live):
    """The FID-like numbers of the benchmark's dataset and code size, as the page opens."""
    params = {"k": 16, "components": cached.DEFAULT_COMPONENTS, "temperature": 1.0, "n": samplers.N_SCORED,
              "seed": samplers.SCORE_SEED}
    stored = shipped_value("sampling.scores", "mnist-5k", params)
    assert_same(stored, samplers.scores("mnist-5k", 16, 1.0, cached.DEFAULT_COMPONENTS), rtol=1e-5, atol=1e-6)


def test_a_mixture_fit_equals_the_live_one(live):
    stored = shipped_value("sampling.fit", "digits", {"model": "vae-16", "kind": "gmm",
                                                      "components": cached.DEFAULT_COMPONENTS})
    live_fit = samplers.fitted_sampler("digits", "vae-16", "gmm", cached.DEFAULT_COMPONENTS)
    assert_same(stored, {name: getattr(live_fit, name) for name in stored}, rtol=1e-5, atol=1e-6)
    rebuilt = cached._rebuilt("gmm", stored)  # the Cholesky factors it derives, and so the samples it draws
    assert_same(vars(rebuilt), vars(live_fit), rtol=1e-5, atol=1e-6)
    assert_same(rebuilt.sample(50, seed=3), live_fit.sample(50, seed=3), rtol=1e-5, atol=1e-6)


def test_the_default_latent_map_equals_the_live_one(live, monkeypatch):
    stored = shipped_value("sampling.latent_map", "digits", {"model": "ae-2", "kind": "standard", "seed": 0,
                                                             "n": cached.N_MAP_SAMPLES,
                                                             "components": cached.DEFAULT_COMPONENTS})
    live_map = samplers.latent_map("digits", "ae-2", "standard", n_samples=cached.N_MAP_SAMPLES, seed=0,
                                   n_components=cached.DEFAULT_COMPONENTS)
    assert_same(stored, {name: getattr(live_map, name) for name in stored}, rtol=1e-5, atol=1e-6)
    monkeypatch.setenv(artifacts.DISABLE_ENV, "on")
    assert_same(cached.map_view("digits", "ae-2", "standard", 0), live_map)  # the page's map, codes added back


def test_an_opening_grid_equals_the_live_one(live):
    """The PNG a first visit shows for one sampler: seed 0, temperature 1, drawn from the same sweep."""
    setup = samplers.SETUPS[2]  # AE + Gaussian mixture
    stored = shipped_value("sampling.grid", "digits", {"setup": setup.label, "k": 16,
                                                       "components": cached.DEFAULT_COMPONENTS, "seed": 0,
                                                       "temperature": 1.0, "side": cached.GRID_SIDE,
                                                       "scale": cached.scale("digits")})
    sweep = samplers.generate_sweep("digits", setup, 16, cached.GRID_SIDE ** 2, samplers.TEMPERATURES, 0,
                                    cached.DEFAULT_COMPONENTS)
    images = sweep[samplers.TEMPERATURES.index(1.0)]
    live_png = plots.grid_png(samplers.as_rows(images, cached.GRID_SIDE), scale=cached.scale("digits"))
    assert stored.tobytes() == live_png
