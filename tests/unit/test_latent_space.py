"""Unit tests of the latent space maths: grid extent and cells, the atlas against exact decodes, pins, neighbours."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dashboard import latent_space
from dashboard.core import data, zoo
from dashboard.latent_space import grid as grids
from dashboard.latent_space import probe
from dashboard.viz import latent_space_figures as figures

DATASET = "digits"  # small and offline; the same code runs on mnist-5k


@pytest.fixture(scope="module")
def maps(one_torch_thread):
    return {family: latent_space.map_grid(f"{family}-2", DATASET) for family in latent_space.MAP_FAMILIES}


def test_the_grid_covers_the_code_range(maps):
    for family, grid in maps.items():
        codes = zoo.codes(f"{family}-2", DATASET, "train")
        inside = np.mean([grid.extent.contains(z) for z in codes])
        assert inside >= 0.99, (family, inside)  # all but a few strays, which must not squeeze the clusters
        assert grid.extent.side == pytest.approx(grid.extent.y1 - grid.extent.y0)  # square: distances look true
        centres = latent_space.cell_centres(grid.extent, grid.n)
        assert centres.shape == (grid.n * grid.n, 2)
        step = grid.extent.side / grid.n
        assert centres[:, 0].min() == pytest.approx(grid.extent.x0 + step / 2)
        assert centres[:, 1].max() == pytest.approx(grid.extent.y1 - step / 2)
    vae = maps["vae"].extent
    assert vae.x0 <= -grids.PRIOR_REACH and vae.x1 >= grids.PRIOR_REACH  # the VAE's prior is on its map
    assert vae.y0 <= -grids.PRIOR_REACH and vae.y1 >= grids.PRIOR_REACH


def test_the_cell_under_a_point_is_the_right_one_at_the_edges():
    extent = latent_space.Extent(-2.0, 2.0, -1.0, 3.0)
    n = 4
    assert latent_space.cell_of(extent, [-2.0, 3.0], n) == (0, 0)  # top-left corner
    assert latent_space.cell_of(extent, [2.0, -1.0], n) == (3, 3)  # bottom-right corner: the edge cell, not n
    assert latent_space.cell_of(extent, [-1.0 - 1e-9, 2.0 + 1e-9], n) == (0, 0)  # just inside the first cell
    assert latent_space.cell_of(extent, [-1.0, 2.0], n) == (1, 1)  # a shared corner belongs to the next cell
    assert latent_space.cell_of(extent, [-50.0, 50.0], n) == (0, 0)  # far outside: clamped to the edge
    assert latent_space.cell_of(extent, [50.0, -50.0], n) == (3, 3)
    for index, centre in enumerate(latent_space.cell_centres(extent, n)):
        assert latent_space.cell_of(extent, centre, n) == divmod(index, n)  # centres are listed row by row


def test_each_atlas_cell_is_the_decode_of_its_centre(maps):
    grid = maps["ae"]
    model = zoo.frozen("ae-2", DATASET)
    centres = latent_space.cell_centres(grid.extent, grid.n)
    for row, column in [(0, 0), (0, grid.n - 1), (grid.n - 1, 0), (grid.n - 1, grid.n - 1), (17, 40)]:
        exact = latent_space.decode(model, centres[row * grid.n + column][None])[0]
        # Only the 16 grey levels of the shipped atlas separate them: at most half a level per pixel.
        assert np.abs(grid.cell_image(row, column) - exact).max() <= 0.5 / (grids.ATLAS_LEVELS - 1) + 1e-6


def test_the_atlas_matches_exact_decodes_at_random_points(maps):
    for family, grid in maps.items():
        psnr = latent_space.atlas_psnr(grid, zoo.frozen(f"{family}-2", DATASET), n_points=200)
        assert psnr.mean() >= 25.0, (family, psnr.mean())


def test_shading_arrays_have_one_value_per_cell(maps):
    for grid in maps.values():
        assert grid.density.shape == grid.confidence.shape == grid.predicted.shape == (grid.n, grid.n)
        assert np.isfinite(grid.density).all() and ((grid.confidence > 0) & (grid.confidence <= 1)).all()
        assert grid.atlas.max() < grids.ATLAS_LEVELS and not grid.atlas.flags.writeable


@pytest.mark.parametrize("text", ["", "junk", "ae:1", "ae:1,2,3", "gan:0,0", "ae:nan,0", "ae:1e9,0", "vae: 1,2",
                                  "ae:0.1,0.2;drop"])
def test_a_bad_pin_is_refused(text):
    with pytest.raises(ValueError):
        latent_space.parse_pin(text)


def test_a_pin_round_trips_and_must_lie_on_its_map(maps):
    pin = latent_space.parse_pin("vae:0.5,-1.25")
    assert pin == latent_space.Pin("vae", (0.5, -1.25)) and str(pin) == "vae:0.500,-1.250"
    extents = {family: grid.extent for family, grid in maps.items()}
    latent_space.parse_pin("vae:0.5,-1.25", extents)
    with pytest.raises(ValueError, match="outside"):
        latent_space.parse_pin(f"vae:{extents['vae'].x1 + 1:.3f},0", extents)


def test_a_pinned_point_gets_exact_decode_verdict_neighbours_and_density(maps):
    ds = data.load(DATASET)
    code = zoo.codes("ae-2", DATASET, "train")[7]
    result = latent_space.pinned(latent_space.Pin("ae", (float(code[0]), float(code[1]))), DATASET)
    assert result.decoded.shape == ds.image_shape[1:]
    assert result.code_neighbours.indices[0] == 7 and result.code_neighbours.distances[0] == pytest.approx(0, abs=1e-3)
    for found in (result.code_neighbours, result.pixel_neighbours):
        assert len(found.indices) == 5 and np.all(np.diff(found.distances) >= 0)
        assert list(found.labels) == ds.y_train[torch.from_numpy(found.indices)].tolist()
    assert 0 <= result.density_percentile <= 1 and not result.in_hole  # a training code sits among the codes
    far = latent_space.pinned(latent_space.Pin("ae", (maps["ae"].extent.x0, maps["ae"].extent.y0)), DATASET)
    assert far.in_hole and far.density_percentile < result.density_percentile


def test_a_pin_on_a_test_digits_dot_names_that_digit_and_a_pin_between_dots_none(maps):
    ds = data.load(DATASET)
    test_codes = zoo.codes("ae-2", DATASET, "test")
    index = int(np.argmax(test_codes[:, 0]))  # an outlying dot: no other test code shares its spot
    result = latent_space.pinned(latent_space.Pin("ae", tuple(float(v) for v in test_codes[index])), DATASET)
    assert result.digit_on_dot == latent_space.DigitOnDot(index, int(ds.y_test[index]), pytest.approx(0, abs=1e-3))
    side = maps["ae"].extent.side
    nudged = test_codes[index] + [0, 0.5 * probe.ON_A_DOT * side]  # a fingertip off the dot still lands on it
    assert latent_space.digit_under(nudged, test_codes, ds.y_test.numpy(), side).index == index
    corner = latent_space.pinned(latent_space.Pin("ae", (maps["ae"].extent.x0, maps["ae"].extent.y0)), DATASET)
    far = np.sqrt(((test_codes - [maps["ae"].extent.x0, maps["ae"].extent.y0]) ** 2).sum(axis=1)).min()
    assert (corner.digit_on_dot is None) == (far > probe.ON_A_DOT * side)
    assert latent_space.digit_under(test_codes[index] + [side, 0], test_codes, ds.y_test.numpy(), side) is None


def test_a_maps_summary_counts_holes_the_way_a_pinned_point_is_judged(maps):
    for family, grid in maps.items():
        codes = zoo.codes(f"{family}-2", DATASET, "train")
        found = latent_space.summary(grid, codes)
        box = latent_space.central_cells(grid, codes)
        assert found.cells == int(box.sum()) > 0
        assert found.holes == latent_space.hole_share(grid, box) and 0 < found.holes < 1
        assert found.readable == latent_space.readable_share(grid, box) and 0 <= found.readable <= 1
        # The emptiest and the most crowded cell of the box, pinned, get the verdict the summary counted them with.
        centres = latent_space.cell_centres(grid.extent, grid.n).reshape(grid.n, grid.n, 2)
        density = np.where(box, grid.density, np.nan)
        for cell, counted_as_hole in ((np.nanargmin(density), True), (np.nanargmax(density), False)):
            row, column = np.unravel_index(cell, density.shape)
            z = tuple(float(v) for v in centres[row, column])
            assert latent_space.pinned(latent_space.Pin(family, z), DATASET, grid, codes).in_hole is counted_as_hole


def test_own_code_and_resampling_follow_the_posterior():
    ds = data.load(DATASET)
    vae = zoo.frozen("vae-2", DATASET)
    code = latent_space.own_code(vae, ds.x_test[:1])
    assert code.sigma is not None and (code.sigma > 0).all()
    z_a, image_a = latent_space.resample(vae, code, seed=1)
    z_b, _ = latent_space.resample(vae, code, seed=1)
    z_c, _ = latent_space.resample(vae, code, seed=2)
    assert np.allclose(z_a, z_b) and not np.allclose(z_a, z_c)
    assert image_a.shape == ds.image_shape[1:]
    plain = latent_space.own_code(zoo.frozen("ae-2", DATASET), ds.x_test[:1])
    assert plain.sigma is None
    with pytest.raises(ValueError):
        latent_space.resample(zoo.frozen("ae-2", DATASET), plain, seed=0)


def test_principal_directions_are_orthonormal_and_ordered():
    found = latent_space.directions("ae-16", DATASET)
    assert np.allclose(found.vectors @ found.vectors.T, np.eye(len(found.vectors)), atol=1e-8)
    assert np.all(np.diff(found.std) <= 0) and 0 < found.explained.sum() <= 1
    start = zoo.codes("ae-16", DATASET, "test")[0]
    moved = latent_space.move(start, found, np.array([1.0, 0, 0, 0]))
    assert np.linalg.norm(moved - start) == pytest.approx(found.std[0])
    strips = latent_space.direction_strips(zoo.frozen("ae-16", DATASET), found, start)
    assert strips.shape[:2] == (len(found.std), 5)


def test_payload_is_json_and_small_enough(maps):
    ds = data.load(DATASET)
    total = 0
    for family, grid in maps.items():
        payload = figures.map_payload(grid, zoo.codes(f"{family}-2", DATASET, "test"), ds.y_test.numpy(),
                                      ds.classes, family)
        assert len(payload["predicted"]) == grid.n * grid.n and payload["atlas"].startswith("data:image/png;base64,")
        total += len(json.dumps(payload))
    assert total <= 1.5e6
    marks = figures.marks_payload("vae", pin=(0.1, 0.2), own=np.array([1.0, 2.0]), sigma=np.array([0.3, 0.4]))
    assert len(json.dumps(marks)) < 300  # a click or a drawing re-sends only this


def test_the_shared_training_figure_sends_what_a_plain_figure_of_the_spec_sends():
    """Its arrays are stored as base64 typed arrays (cheaper to copy per send): the JSON must not change."""
    import plotly.graph_objects as go
    import plotly.io as pio
    from plotly.tools import return_figure_from_figure_or_data

    from dashboard.app import ui
    from dashboard.app.cached import latent_space as cached

    found = cached.snapshots("digits", "ae-2")
    ds = ui.dataset("digits")
    epochs = figures.shown_epochs(len(found.epochs) - 1)
    spec = figures.training_figure(found.codes, ds.y_test.numpy()[found.indices], ds.classes, found.loss, epochs,
                                   epochs[-1], "ae-2", height=420)

    def sent(figure) -> dict:  # what st.plotly_chart puts in its message
        return json.loads(pio.to_json(return_figure_from_figure_or_data(figure, True), validate=False))

    assert sent(cached.training_spec.__wrapped__("digits", "ae-2")) == sent(go.Figure(spec))
