"""The Sampling page's shipped results match what the page computes live on the shipped models, within tolerances
that hold on any CPU: mixtures fitted by EM and the scores of the samples they draw, grids by their pixels."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.app.cached import sampling as cached
from dashboard.core import artifacts, threads
from dashboard.sampling import samplers
from dashboard.viz import plots
from tests.harness.precomputed import assert_close, assert_pictures_close, shipped_value

AGREE = 0.98  # a sample at the edge of a hole may fall on the other side on another CPU


@pytest.fixture
def live(monkeypatch):
    monkeypatch.setenv(artifacts.DISABLE_ENV, "off")
    with threads.as_served():
        yield


def test_default_scores_match_the_live_ones(live):
    """The FID-like numbers of the benchmark's dataset and code size, as the page opens."""
    params = {"k": 16, "components": cached.DEFAULT_COMPONENTS, "temperature": 1.0, "n": samplers.N_SCORED,
              "seed": samplers.SCORE_SEED}
    stored = shipped_value("sampling.scores", "mnist-5k", params, version=cached.SCORES_VERSION)
    found = samplers.scores("mnist-5k", 16, 1.0, cached.DEFAULT_COMPONENTS)
    assert list(stored) == list(found)
    for label, report in found.items():
        kept = stored[label]
        assert kept.n == report.n and sum(kept.class_counts) == sum(report.class_counts) == report.n, label
        # Samples of a mixture fitted on another CPU differ slightly: a few may be read as another digit.
        moved = np.abs(np.array(kept.class_counts) - np.array(report.class_counts)).sum() / 2
        assert moved <= 0.02 * report.n, (label, kept.class_counts, report.class_counts)
        assert kept.frechet == pytest.approx(report.frechet, rel=0.02), label
        assert kept.mean_confidence == pytest.approx(report.mean_confidence, abs=0.01), label
        assert kept.class_entropy == pytest.approx(report.class_entropy, abs=0.01), label


def test_a_mixture_fit_matches_the_live_one(live):
    stored = shipped_value("sampling.fit", "digits", {"model": "vae-16", "kind": "gmm",
                                                      "components": cached.DEFAULT_COMPONENTS},
                           version=cached.FIT_VERSION)
    live_fit = samplers.fitted_sampler("digits", "vae-16", "gmm", cached.DEFAULT_COMPONENTS)
    assert_close(stored, {name: getattr(live_fit, name) for name in stored})
    rebuilt = cached._rebuilt("gmm", stored)  # the Cholesky factors it derives, and so the samples it draws
    assert_close(vars(rebuilt), vars(live_fit))
    assert_close(rebuilt.sample(50, seed=3), live_fit.sample(50, seed=3))


def test_the_default_latent_map_matches_the_live_one(live, monkeypatch):
    stored = shipped_value("sampling.latent_map", "digits", {"model": "ae-2", "kind": "standard", "seed": 0,
                                                             "n": cached.N_MAP_SAMPLES,
                                                             "components": cached.DEFAULT_COMPONENTS},
                           version=cached.LATENT_MAP_VERSION)
    live_map = samplers.latent_map("digits", "ae-2", "standard", n_samples=cached.N_MAP_SAMPLES, seed=0,
                                   n_components=cached.DEFAULT_COMPONENTS)
    assert_close(stored, {name: getattr(live_map, name) for name in stored}, agree=AGREE)
    monkeypatch.setenv(artifacts.DISABLE_ENV, "on")
    # The page's map: the stored samples with the test codes and labels added back.
    assert_close(cached.map_view("digits", "ae-2", "standard", 0), live_map, agree=AGREE)


def test_an_opening_grid_matches_the_live_one(live):
    """The picture a first visit shows for one sampler: seed 0, temperature 1, drawn from the same sweep."""
    setup = samplers.SETUPS[2]  # AE + Gaussian mixture
    stored = shipped_value("sampling.grid", "digits", {"setup": setup.label, "k": 16,
                                                       "components": cached.DEFAULT_COMPONENTS, "seed": 0,
                                                       "temperature": 1.0, "side": cached.GRID_SIDE,
                                                       "scale": cached.scale("digits")},
                           version=cached.GRID_VERSION)
    sweep = samplers.generate_sweep("digits", setup, 16, cached.GRID_SIDE ** 2, samplers.TEMPERATURES, 0,
                                    cached.DEFAULT_COMPONENTS)
    images = sweep[samplers.TEMPERATURES.index(1.0)]
    live_png = plots.grid_png(samplers.as_rows(images, cached.GRID_SIDE), scale=cached.scale("digits"))
    assert_pictures_close(stored.tobytes(), live_png)
