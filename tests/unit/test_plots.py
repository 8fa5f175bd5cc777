"""The hourglass pictures: the flat and the 3D one draw the same planes, labels and code for one traced image."""

from __future__ import annotations

import numpy as np
import torch

from dashboard.viz import plots


def _stages() -> list[tuple[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    return [("input", torch.rand(1, 1, 28, 28, generator=generator)),
            ("conv 32x14x14", torch.rand(1, 32, 14, 14, generator=generator)),
            ("dense 128", torch.rand(1, 128, generator=generator)),
            ("code z (4)", torch.tensor([[-2.0, -0.5, 0.5, 1.0]])),
            ("dense 128", torch.rand(1, 128, generator=generator)),
            ("output", torch.rand(1, 1, 28, 28, generator=generator))]


def test_layers_narrow_to_the_code_and_widen_again():
    layers = plots.hourglass_layers(_stages())
    widths = [layer.half_width for layer in layers]
    assert [layer.is_code for layer in layers] == [False, False, False, True, False, False]
    assert widths.index(min(widths)) == 3 and widths[1] == max(widths)  # conv maps hold the most numbers
    assert layers[0].level > layers[-1].level  # the input on top
    for layer in layers:
        if not layer.is_code:
            assert layer.values.min() >= 0 and layer.values.max() <= 1 and max(layer.values.shape) <= 28
    assert layers[3].values.tolist() == [-2.0, -0.5, 0.5, 1.0]  # the code keeps its signed numbers


def test_flat_and_3d_hourglass_show_the_same_planes_and_labels():
    flat, solid = plots.hourglass_2d(_stages()), plots.hourglass_3d(_stages())
    assert [t.type for t in flat.data] == ["heatmap", "heatmap", "heatmap", "scatter", "heatmap", "heatmap"]
    assert [t.type for t in solid.data if t.type != "scatter3d" or t.mode != "text"] == [
        "surface", "surface", "surface", "scatter3d", "surface", "surface"]
    flat_labels = [a.text for a in flat.layout.annotations]
    solid_labels = [t.text[0] for t in solid.data if t.type == "scatter3d" and t.mode == "text"]
    assert flat_labels == solid_labels and "the bottleneck" in flat_labels[3]
    assert list(flat.data[3].marker.color) == [-2.0, -0.5, 0.5, 1.0]


def test_a_single_highlight_is_named_on_the_map_but_many_are_only_marked():
    codes = np.random.default_rng(0).normal(size=(30, 3))
    labels = np.arange(30) % 3
    one = plots.latent_scatter_3d(codes, labels, ["a", "b", "c"], highlight=codes[:1], highlight_name="this image")
    many = plots.latent_scatter_3d(codes, labels, ["a", "b", "c"], highlight=codes[:12], highlight_name="wrong")
    assert one.data[-1].mode == "markers+text" and one.data[-1].name == "this image"
    assert many.data[-1].mode == "markers" and len(many.data[-1].x) == 12


def _other_stages() -> list[tuple[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(1)
    return [(name, torch.rand(activation.shape, generator=generator) - 0.5) for name, activation in _stages()]


def test_a_refreshed_hourglass_equals_one_drawn_from_scratch():
    figure = plots.hourglass_2d(_stages(), height=480)
    plots.refresh_hourglass_2d(figure, _other_stages())
    assert figure.to_plotly_json() == plots.hourglass_2d(_other_stages(), height=480).to_plotly_json()
    assert plots.hourglass_shape(_stages()) == plots.hourglass_shape(_other_stages())


def test_moving_the_highlight_equals_drawing_the_map_again():
    points = np.random.default_rng(0).normal(size=(30, 3)).astype(np.float32)
    labels = np.arange(30) % 3
    figure = plots.latent_scatter_3d(points, labels, ["a", "b", "c"], highlight=points[:1], highlight_name="here")
    plots.move_highlight(figure, points[7])
    fresh = plots.latent_scatter_3d(points, labels, ["a", "b", "c"], highlight=points[7:8], highlight_name="here")
    assert figure.to_plotly_json() == fresh.to_plotly_json()


def test_the_code_bars_spec_draws_each_signed_value_in_its_colour():
    z = np.array([0.5, -1.25, 2.0])
    spec = plots.code_bars_spec(z, "z")
    assert [row["value"] for row in spec["data"]["values"]] == [0.5, -1.25, 2.0]
    assert [row["dimension"] for row in spec["data"]["values"]] == ["z1", "z2", "z3"]
    assert spec["encoding"]["color"] == {"condition": {"test": "datum.value > 0", "value": plots.METHOD_COLORS["AE"]},
                                         "value": plots.METHOD_COLORS["VAE"]}
    assert spec["height"] == 220 and spec["mark"]["type"] == "bar"
    # Unstacked, on an axis fixed from the data: Vega's first pass without rows then has no infinite extent to warn of.
    assert spec["encoding"]["y"]["stack"] is None
    assert spec["encoding"]["y"]["scale"]["domain"] == [-2.2, 2.2]
    assert plots.code_bars_spec(np.zeros(2))["encoding"]["y"]["scale"]["domain"] == [-1.0, 1.0]


def test_a_tile_grid_places_each_tile_in_an_equal_cell_and_turns_grey_into_rgb_beside_colour():
    grey, small, rgb = np.zeros((4, 3), np.uint8), np.full((2, 2), 9, np.uint8), np.full((4, 3, 3), 7, np.uint8)
    canvas = plots.tile_grid([[grey, small], [rgb]], gap=1)
    assert canvas.shape == (1 + 4 + 1 + 4 + 1, 1 + 3 + 1 + 3 + 1, 3)
    assert (canvas[1:5, 1:4] == 0).all() and (canvas[1:3, 5:7] == 9).all() and (canvas[3:5, 5:8] == 255).all()
    assert (canvas[6:10, 1:4] == 7).all() and (canvas[6:10, 5:8] == 255).all() and (canvas[0] == 255).all()
    assert plots.tile_grid([[grey, grey]], gap=2, margin=0).shape == (4, 8)


def test_a_grid_png_shows_each_image_enlarged_with_its_headings_above():
    import io

    from PIL import Image

    rows = [[torch.zeros(4, 4), torch.ones(4, 4)]]
    plain = np.asarray(Image.open(io.BytesIO(plots.grid_png(rows, scale=2, gap=1))))
    assert plain.shape == (1 + 8 + 1, 1 + 8 + 1 + 8 + 1)
    assert (plain[1:9, 1:9] == 0).all() and (plain[1:9, 10:18] == 255).all()
    named = np.asarray(Image.open(io.BytesIO(plots.grid_png(rows, scale=2, gap=1, column_labels=["a", "b"]))))
    assert np.array_equal(named[-plain.shape[0]:], plain) and (named[:-plain.shape[0]] < 255).any()
