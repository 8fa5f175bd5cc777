"""Tests for the denoising comparison, its filter baselines, the noise-level sweep and the latent view (digits)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dashboard import denoising
from dashboard.core import baselines, corrupt, nets, zoo

DATASET = "digits"
CONFIG = denoising.DenoiseConfig(dataset=DATASET, dae="dae-16")  # pinned: the page default may be a larger DAE


@pytest.fixture(scope="module")
def clean() -> torch.Tensor:
    images, _ = denoising.sample_test(DATASET, 60, seed=0)
    return images


@pytest.fixture(scope="module")
def gaussian_comparison(clean) -> denoising.Comparison:
    return denoising.compare(clean, "gaussian", 0.5, seed=3, config=CONFIG)


def test_every_method_returns_images_of_the_input_shape_in_range(gaussian_comparison, clean):
    assert set(gaussian_comparison.outputs) == set(denoising.METHOD_KEYS)
    for key, output in gaussian_comparison.outputs.items():
        assert output.shape == clean.shape, key
        assert output.dtype == torch.float32, key
        assert float(output.min()) >= 0.0 and float(output.max()) <= 1.0, key
        assert not torch.equal(output, gaussian_comparison.noisy), f"{key} returned its input unchanged"


def test_noise_comes_from_the_core_corruption_module(gaussian_comparison, clean):
    assert torch.equal(gaussian_comparison.noisy, corrupt.apply(clean, "gaussian", 0.5, seed=3))


def test_scores_cover_noisy_input_and_every_method_with_valid_values(gaussian_comparison):
    keys = [s.key for s in gaussian_comparison.scores]
    assert keys == [denoising.NOISY_KEY, *denoising.METHOD_KEYS]
    for score in gaussian_comparison.scores:
        assert 0.0 < score.psnr < 60.0
        assert -1.0 <= score.ssim <= 1.0
    records = gaussian_comparison.records()
    assert records[0]["method"] == denoising.NOISY_LABEL and records[0]["gain (dB)"] == 0.0
    assert records[1]["method"] == "DAE (dae-16)"


def test_dae_beats_noisy_input_and_plain_ae_under_strong_gaussian_noise(gaussian_comparison):
    psnr = {s.key: s.psnr for s in gaussian_comparison.scores}
    ssim = {s.key: s.ssim for s in gaussian_comparison.scores}
    assert psnr["dae"] > psnr[denoising.NOISY_KEY] + 3.0
    assert psnr["dae"] > psnr["plain-ae"] + 1.0
    assert ssim["dae"] > ssim["plain-ae"]


def test_median_filter_removes_an_isolated_speck_and_blur_keeps_a_flat_image():
    flat = torch.full((2, 1, 8, 8), 0.25)
    specked = flat.clone()
    specked[0, 0, 4, 4] = 1.0
    specked[1, 0, 2, 5] = 0.0
    assert torch.allclose(baselines.median_filter(specked, 3), flat)
    assert torch.allclose(baselines.gaussian_blur(flat, 0.8), flat, atol=1e-6)
    blurred = baselines.gaussian_blur(specked, 0.8)
    assert blurred[0, 0, 4, 4] < 0.6  # the speck is spread over its neighbours
    assert blurred[0, 0, 4, 5] > 0.25


def test_pca_projection_uses_the_daes_code_size_and_keeps_shape(clean):
    assert denoising.pca_components(CONFIG) == 16
    assert denoising.pca_components(denoising.DenoiseConfig(dataset=DATASET, pca_k=5)) == 5
    out = baselines.pca_denoise(clean, DATASET, 16)
    assert out.shape == clean.shape and float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_plain_ae_matches_the_dae_code_size_or_falls_back_to_a_smaller_one():
    assert denoising.plain_ae_name(CONFIG) == "ae-16"
    assert denoising.plain_ae_name(denoising.DenoiseConfig(dataset=DATASET, dae="dae-64")) == "ae-32"
    assert denoising.plain_ae_name(denoising.DenoiseConfig(dataset=DATASET, plain_ae="ae-8")) == "ae-8"


def test_method_lookup_and_labels():
    assert denoising.method("median").label(CONFIG) == "Median filter 3x3"
    assert list(denoising.labels(CONFIG)) == [denoising.NOISY_KEY, *denoising.METHOD_KEYS]
    with pytest.raises(KeyError, match="Unknown denoising method"):
        denoising.method("wiener")


def test_same_seed_reproduces_and_another_seed_differs(clean):
    first = denoising.compare(clean[:10], "salt-pepper", 0.2, seed=7, config=CONFIG, with_ssim=False)
    again = denoising.compare(clean[:10], "salt-pepper", 0.2, seed=7, config=CONFIG, with_ssim=False)
    other = denoising.compare(clean[:10], "salt-pepper", 0.2, seed=8, config=CONFIG, with_ssim=False)
    assert torch.equal(first.noisy, again.noisy)
    for key in denoising.METHOD_KEYS:
        assert torch.equal(first.outputs[key], again.outputs[key]), key
    assert first.scores == again.scores
    assert not torch.equal(first.noisy, other.noisy)
    assert first.scores[0].ssim is None


def test_evaluate_keeps_few_images_but_scores_many():
    result = denoising.evaluate("mask", 0.4, seed=0, config=CONFIG, n_images=40, n_keep=5)
    assert result.n_scored == 40
    assert len(result.clean) == len(result.noisy) == 5
    assert all(len(out) == 5 for out in result.outputs.values())
    assert denoising.evaluate("mask", 0.4, seed=0, config=CONFIG, n_images=40, n_keep=5) is result  # cached
    grid = result.rows(3)
    assert len(grid) == 3 and all(len(row) == len(denoising.METHODS) + 2 for row in grid)
    assert grid[0][0].shape == (8, 8)
    assert len(result.column_labels(CONFIG)) == len(grid[0])


def test_sweep_has_one_point_per_level_for_every_method():
    result = denoising.sweep("gaussian", CONFIG, n_images=30, n_levels=4)
    np.testing.assert_allclose(result.levels, [0.25, 0.5, 0.75, 1.0])
    assert list(result.psnr) == [denoising.NOISY_KEY, *denoising.METHOD_KEYS]
    assert all(curve.shape == (4,) for curve in result.psnr.values())
    assert np.all(np.diff(result.psnr[denoising.NOISY_KEY]) < 0)  # more noise, lower PSNR
    assert result.trained == (0.0, corrupt.MIXED_MAX_LEVELS["gaussian"])  # dae-16 is trained on mixed noise
    records = result.records()
    assert len(records) == 4 * (len(denoising.METHODS) + 1)
    assert {"level", "method", "key", "PSNR (dB)"} <= set(records[0])


def test_sweep_levels_skip_zero_and_reach_the_top_of_the_range():
    for noise in corrupt.NOISE_TYPES:
        levels = denoising.sweep_levels(noise, 5)
        assert levels[0] > 0 and levels[-1] == corrupt.LEVEL_RANGES[noise][1]


def test_latent_view_pairs_clean_and_noisy_codes_and_the_dae_moves_less():
    view = denoising.latent_view("gaussian", 0.5, seed=0, config=CONFIG, n_images=40)
    assert view.labels.shape == (40,)
    for shift, k in ((view.plain, 16), (view.dae, 16)):
        assert shift.clean_codes.shape == shift.noisy_codes.shape == (40, k)
        assert shift.clean_3d.shape == shift.noisy_3d.shape == (40, 3)
        assert shift.shift.shape == (40,) and np.all(shift.shift >= 0)
    assert view.plain.model == "ae-16" and view.dae.model == "dae-16"
    # The lesson of the view: noise moves a DAE's code less, relative to how far apart digits' codes lie.
    assert view.dae.mean_shift < view.plain.mean_shift


def test_clean_input_does_not_move_codes():
    clean, _ = denoising.sample_test(DATASET, 10, seed=1)
    shift = denoising.code_shift("dae-16", DATASET, clean, clean)
    assert np.allclose(shift.shift, 0.0)
    np.testing.assert_allclose(shift.clean_3d, shift.noisy_3d)


def test_default_dae_keeps_a_real_bottleneck():
    # On 8x8 digits a 64-number code would be as big as the image, so the default stays at a compressing size.
    assert denoising.default_dae(DATASET) == "dae-16"
    assert denoising.config_for(DATASET).dae == "dae-16"
    named = denoising.config_for(DATASET, "dae-64", median_size=5)
    assert named == denoising.DenoiseConfig(DATASET, "dae-64", median_size=5)
    assert denoising.default_dae("mnist-5k") in denoising.dae_names("mnist-5k")


def test_the_side_by_side_grid_carries_a_heading_over_every_column():
    """The grid is one picture, so its names cannot come apart from their columns on a phone."""
    import io

    from PIL import Image

    from dashboard.viz import plots

    rows = [[torch.zeros(8, 8) for _ in range(3)] for _ in range(2)]
    plain = np.asarray(Image.open(io.BytesIO(plots.grid_png(rows, scale=4))))
    named = np.asarray(Image.open(io.BytesIO(plots.grid_png(rows, scale=4, column_labels=["Noisy", "DAE", "Clean"]))))
    band = named.shape[0] - plain.shape[0]
    assert named.shape[1] == plain.shape[1] and band > 0
    tile = plain.shape[1] // 3
    for column in range(3):  # ink (dark text) in the heading band above each column
        assert (named[:band, column * tile:(column + 1) * tile] < 128).any()


def test_the_default_dae_trained_on_every_noise_type_from_none_to_the_mixed_maximum():
    config = denoising.config_for("mnist-5k")
    assert zoo.frozen(config.dae, "mnist-5k").config.noise == nets.EACH_IMAGE_MIX  # each image its own level
    for noise in corrupt.NOISE_TYPES:
        assert denoising.trained_levels(config, noise) == (0.0, corrupt.MIXED_MAX_LEVELS[noise])
    assert denoising.trained_levels(CONFIG, "mask") == (0.0, corrupt.MIXED_MAX_LEVELS["mask"])  # digits: "mixed"


def test_the_ssim_column_is_metrics_ssim_of_each_output(gaussian_comparison, clean):
    from dashboard.core import metrics

    found = {score.key: score.ssim for score in gaussian_comparison.scores}
    images = {denoising.NOISY_KEY: gaussian_comparison.noisy, **gaussian_comparison.outputs}
    for key, image in images.items():
        assert found[key] == pytest.approx(metrics.ssim(clean, image), abs=1e-12)


def test_refilling_the_code_pairs_figure_gives_the_figure_built_for_them():
    """The page keeps one 3D figure per session and refills it: it must show what a new one would."""
    from dashboard.core import data
    from dashboard.viz import plots

    classes = data.load(DATASET).classes
    first, second = (denoising.latent_view("gaussian", 0.5, seed, CONFIG).dae for seed in (0, 1))
    labels = denoising.latent_view("gaussian", 0.5, 1, CONFIG).labels
    kept = plots.paired_codes_3d(first.clean_3d, first.noisy_3d,
                                 denoising.latent_view("gaussian", 0.5, 0, CONFIG).labels, classes, height=380)
    plots.refresh_paired_codes(kept, second.clean_3d, second.noisy_3d, labels, classes)
    built = plots.paired_codes_3d(second.clean_3d, second.noisy_3d, labels, classes, height=380)
    assert kept.to_json() == built.to_json()


def test_the_sweep_spec_is_the_chart_streamlit_would_draw_and_the_download_a_png():
    """The sweep goes as a cached Vega-Lite dict: the spec st.altair_chart made (no theme); the download is drawn
    only when clicked, and must still be a PNG of the whole grid."""
    import io

    import altair as alt
    from PIL import Image

    from dashboard.app.cached import denoising as cached
    from dashboard.viz import denoising_charts

    chart = denoising_charts.sweep_chart(cached.sweep("gaussian", CONFIG), 0.3, "Gaussian")
    with alt.theme.enable("none"):
        assert cached.sweep_spec("gaussian", "Gaussian", 0.3, CONFIG) == chart.to_dict()
    png = cached.grid_download("gaussian", 0.3, 0, CONFIG)
    image = Image.open(io.BytesIO(png))
    rows = cached.comparison("gaussian", 0.3, 0, CONFIG).rows()
    assert image.format == "PNG" and image.height > 4 * 8 * len(rows) and image.width > 4 * 8 * len(rows[0])
