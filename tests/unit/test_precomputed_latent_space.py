"""The Latent space page's shipped results equal what the page would compute live on the shipped models."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dashboard import latent_space
from dashboard.app.cached import latent_space as cached
from dashboard.core import artifacts, data, zoo
from dashboard.viz import latent_space_figures as figures
from tests.harness.precomputed import assert_same, shipped_value


@pytest.fixture
def live(monkeypatch):
    monkeypatch.setenv(artifacts.DISABLE_ENV, "off")


def test_map_equals_the_live_one_and_gives_the_same_payload(live):
    stored = shipped_value("latent_space.map", "mnist-5k", {"family": "ae", "n": latent_space.GRID_SIDE})
    assert_same(stored, cached.map_live("mnist-5k", "ae"), rtol=1e-5, atol=1e-6)
    # The page rebuilds the atlas from the shipped PNG: the grid and the browser's payload must be the live ones.
    grid = latent_space.map_grid("ae-2", "mnist-5k")
    png = stored["atlas_png"].tobytes()
    restored = dataclasses.replace(stored["grid"], atlas=figures.atlas_levels(png))
    np.testing.assert_array_equal(restored.atlas, grid.atlas)
    ds = data.load("mnist-5k")
    args = (zoo.codes("ae-2", "mnist-5k", "test"), ds.y_test.numpy(), ds.classes, cached.TITLES["ae"])
    assert figures.map_payload(restored, *args, atlas=png) == figures.map_payload(grid, *args)


def test_slider_ranges_equal_the_live_ones(live):
    stored = shipped_value("latent_space.slider_ranges", "digits", {"name": "vae-3"})
    assert_same(stored, latent_space.slider_ranges("vae-3", "digits"), rtol=1e-5, atol=1e-6)


def test_directions_equal_the_live_ones(live):
    stored = shipped_value("latent_space.directions", "mnist-5k", {"name": "ae-16", "m": cached.N_DIRECTIONS})
    assert_same(stored, latent_space.directions("ae-16", "mnist-5k", cached.N_DIRECTIONS), rtol=1e-5, atol=1e-6)
