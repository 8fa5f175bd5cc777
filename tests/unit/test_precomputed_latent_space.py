"""The Latent space page's shipped results match what the page computes live on the shipped models, within
tolerances that hold on any CPU: floats within 0.1%, classifier verdicts on 98% of the cells, pictures by pixels."""

from __future__ import annotations

import base64
import dataclasses

import numpy as np
import pytest

from dashboard import latent_space
from dashboard.app.cached import latent_space as cached
from dashboard.core import artifacts, data, zoo
from dashboard.latent_space.grid import ATLAS_LEVELS
from dashboard.viz import latent_space_figures as figures
from tests.harness.precomputed import assert_close, assert_pictures_close, shipped_value

AGREE = 0.98  # a cell's decode on a class boundary may be read as the other class on another CPU
GREY_STEP = 255 // (ATLAS_LEVELS - 1)  # one atlas level, as a grey value


@pytest.fixture
def live(monkeypatch):
    monkeypatch.setenv(artifacts.DISABLE_ENV, "off")


def _png(uri: str) -> bytes:
    head, _, body = uri.partition(",")
    assert head == "data:image/png;base64", head
    return base64.b64decode(body)


def test_map_matches_the_live_one_and_gives_the_same_payload(live):
    stored = shipped_value("latent_space.map", "mnist-5k", {"family": "ae", "n": latent_space.GRID_SIDE},
                           version=cached.MAP_VERSION)
    found = cached.map_live("mnist-5k", "ae")
    assert_close(stored["grid"], found["grid"], agree=AGREE)
    assert_close(stored["train_codes"], found["train_codes"])
    # The atlas ships as a palette PNG: a cell's grey level may round to its neighbour on another CPU.
    png = stored["atlas_png"].tobytes()
    assert_pictures_close(png, found["atlas_png"].tobytes(), max_diff=GREY_STEP, share=0.99, where="atlas")
    # The page rebuilds the atlas from the shipped PNG: the browser's payload must be the live one's.
    grid = latent_space.map_grid("ae-2", "mnist-5k")
    restored = dataclasses.replace(stored["grid"], atlas=figures.atlas_levels(png))
    assert np.mean(np.abs(restored.atlas.astype(int) - grid.atlas.astype(int)) <= 1) >= 0.99
    ds = data.load("mnist-5k")
    args = (zoo.codes("ae-2", "mnist-5k", "test"), ds.y_test.numpy(), ds.classes, cached.TITLES["ae"])
    shown, expected = figures.map_payload(restored, *args, atlas=png), figures.map_payload(grid, *args)
    assert set(shown) == set(expected)
    assert_pictures_close(_png(shown["atlas"]), _png(expected["atlas"]), max_diff=GREY_STEP, where="atlas")
    for name in expected["shades"]:
        assert_pictures_close(_png(shown["shades"][name]), _png(expected["shades"][name]), where=name)
    assert np.mean(np.array(shown["predicted"]) == np.array(expected["predicted"])) >= AGREE
    assert np.mean(np.abs(np.array(shown["confidence"]) - np.array(expected["confidence"])) <= 1) >= AGREE
    np.testing.assert_allclose(shown["extent"], expected["extent"], atol=1e-4)
    for key in set(expected) - {"atlas", "shades", "predicted", "confidence", "extent", "id"}:
        assert shown[key] == expected[key], key


def test_slider_ranges_match_the_live_ones(live):
    stored = shipped_value("latent_space.slider_ranges", "digits", {"name": "vae-3"},
                           version=cached.SLIDER_RANGES_VERSION)
    assert_close(stored, latent_space.slider_ranges("vae-3", "digits"))


def test_directions_match_the_live_ones(live):
    stored = shipped_value("latent_space.directions", "mnist-5k", {"name": "ae-16", "m": cached.N_DIRECTIONS},
                           version=cached.DIRECTIONS_VERSION)
    assert_close(stored, latent_space.directions("ae-16", "mnist-5k", cached.N_DIRECTIONS))
