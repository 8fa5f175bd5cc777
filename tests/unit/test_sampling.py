"""Unit tests of the samplers, interpolation, latent-hole maps and the FID-like sample-quality measures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dashboard.core import data, nets, zoo
from dashboard.sampling import quality, samplers
from dashboard.viz import sampling_charts, sampling_figures

DIGITS = "digits"


@pytest.fixture(scope="module")
def codes() -> np.ndarray:
    """Correlated 3D codes away from the origin, like an AE's: mean (5, -2, 1), unequal scales."""
    rng = np.random.default_rng(0)
    mixing = np.array([[2.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.0, -0.3, 3.0]])
    return rng.standard_normal((4000, 3)) @ mixing.T + np.array([5.0, -2.0, 1.0])


@pytest.fixture(scope="module")
def clustered() -> np.ndarray:
    """Three tight, well-separated 2D clusters holding 50%, 30% and 20% of the points."""
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    which = np.repeat([0, 1, 2], [1500, 900, 600])
    return centres[which] + 0.3 * rng.standard_normal((3000, 2))


@pytest.fixture(scope="module")
def tiny_ae() -> nets.Autoencoder:
    torch.manual_seed(0)
    return nets.build(nets.default_config("ae", 2, (1, 8, 8))).eval()


ALL_KINDS = sorted(samplers.SAMPLER_KINDS)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_fit_and_sample_shapes(kind, codes):
    sampler = samplers.make_sampler(kind, n_components=3).fit(codes)
    z = sampler.sample(17, seed=3)
    assert z.shape == (17, 3) and z.dtype == torch.float32
    assert torch.isfinite(z).all()
    assert sampler.sample(0).shape == (0, 3)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_same_seed_same_samples_and_other_seed_other_samples(kind, codes):
    sampler = samplers.make_sampler(kind, n_components=3).fit(codes)
    torch.manual_seed(123)  # the global RNGs must not matter
    np.random.seed(123)
    first = sampler.sample(50, seed=7)
    torch.manual_seed(999)
    np.random.seed(999)
    assert torch.equal(first, sampler.sample(50, seed=7))
    assert not torch.allclose(first, sampler.sample(50, seed=8))


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_unfitted_sampler_refuses_to_sample(kind):
    with pytest.raises(RuntimeError, match="fit"):
        samplers.make_sampler(kind).sample(4)


def test_bad_inputs_are_refused(codes):
    with pytest.raises(ValueError, match="Unknown sampler"):
        samplers.make_sampler("uniform")
    with pytest.raises(ValueError, match=r"\(N, k\)"):
        samplers.FittedGaussian().fit(np.zeros(10))
    with pytest.raises(ValueError, match="negative"):
        samplers.StandardNormal().fit(codes).sample(4, temperature=-1.0)


def test_standard_normal_ignores_the_data_and_scales_with_temperature(codes):
    sampler = samplers.StandardNormal().fit(codes)
    base = sampler.sample(20000, seed=0)
    assert base.mean(0).abs().max() < 0.05  # centred on 0, not on the codes' mean (5, -2, 1)
    assert torch.allclose(base.std(0), torch.ones(3), atol=0.03)
    assert torch.allclose(sampler.sample(20000, seed=0, temperature=2.5), 2.5 * base, atol=1e-5)
    assert torch.count_nonzero(sampler.sample(5, seed=0, temperature=0.0)) == 0


def test_fitted_gaussian_recovers_mean_and_covariance(codes):
    sampler = samplers.FittedGaussian().fit(codes)
    np.testing.assert_allclose(sampler.mean_, [5.0, -2.0, 1.0], atol=0.1)
    z = sampler.sample(40000, seed=1).double().numpy()
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.cov(codes, rowvar=False), atol=0.15)
    hot = sampler.sample(40000, seed=1, temperature=0.5).double().numpy()
    np.testing.assert_allclose(hot - sampler.mean_, 0.5 * (z - sampler.mean_), atol=1e-4)


def test_gaussian_mixture_follows_the_clusters(clustered):
    sampler = samplers.GaussianMixture(n_components=3).fit(clustered)
    assert sampler.converged_
    np.testing.assert_allclose(sorted(sampler.weights_), [0.2, 0.3, 0.5], atol=0.01)
    z = sampler.sample(3000, seed=0).double().numpy()
    nearest_centre = np.linalg.norm(z[:, None, :] - np.array([[0, 0], [10, 0], [0, 10]])[None], axis=2).min(1)
    assert np.quantile(nearest_centre, 0.99) < 1.5  # no mass in the empty space between clusters
    single = samplers.FittedGaussian().fit(clustered).sample(3000, seed=0).double().numpy()
    single_gap = np.linalg.norm(single[:, None, :] - np.array([[0, 0], [10, 0], [0, 10]])[None], axis=2).min(1)
    assert np.median(single_gap) > 1.5  # one Gaussian puts its mass in that gap


def test_gaussian_mixture_temperature_shrinks_towards_component_means(clustered):
    sampler = samplers.GaussianMixture(n_components=3).fit(clustered)
    cold = sampler.sample(200, seed=4, temperature=0.0).double().numpy()
    distances = np.linalg.norm(cold[:, None, :] - sampler.means_[None], axis=2).min(1)
    assert distances.max() < 1e-6  # every cold sample is exactly a component mean
    warm = sampler.sample(200, seed=4, temperature=1.0).double().numpy()
    hot = sampler.sample(200, seed=4, temperature=2.0).double().numpy()
    np.testing.assert_allclose(hot - cold, 2.0 * (warm - cold), atol=1e-4)  # same components, same noise


def test_decode_is_batched_and_in_range(tiny_ae):
    z = torch.randn(25, 2, generator=torch.Generator().manual_seed(0))
    images = samplers.decode(tiny_ae, z, batch_size=7)
    assert images.shape == (25, 1, 8, 8)
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    with torch.inference_mode():
        assert torch.allclose(images, tiny_ae.decode(z), atol=1e-6)


@pytest.mark.parametrize("method", samplers.INTERPOLATION_METHODS)
def test_interpolation_hits_both_ends(method):
    z0, z1 = torch.tensor([3.0, -1.0, 0.5]), torch.tensor([-2.0, 4.0, 1.0])
    path = samplers.interpolate(z0, z1, steps=9, method=method)
    assert path.shape == (9, 3)
    assert torch.allclose(path[0], z0, atol=1e-6) and torch.allclose(path[-1], z1, atol=1e-6)


def test_slerp_keeps_the_norm_where_a_straight_line_dips():
    z0, z1 = torch.tensor([4.0, 0.0]), torch.tensor([0.0, 4.0])
    arc = samplers.interpolate(z0, z1, steps=5, method="slerp")
    line = samplers.interpolate(z0, z1, steps=5, method="linear")
    assert torch.allclose(arc.norm(dim=1), torch.full((5,), 4.0), atol=1e-5)
    assert math.isclose(float(line[2].norm()), 4.0 / math.sqrt(2), rel_tol=1e-5)
    assert torch.allclose(arc[2], torch.tensor([1.0, 1.0]) * 4.0 / math.sqrt(2), atol=1e-5)


def test_slerp_of_parallel_codes_falls_back_to_a_line():
    z0 = torch.tensor([1.0, 2.0])
    path = samplers.interpolate(z0, 3 * z0, steps=3, method="slerp")
    assert torch.isfinite(path).all()
    assert torch.allclose(path[1], 2 * z0, atol=1e-5)


def test_interpolation_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Unknown interpolation"):
        samplers.interpolate(torch.zeros(2), torch.ones(2), method="cubic")
    with pytest.raises(ValueError, match="at least 2"):
        samplers.interpolate(torch.zeros(2), torch.ones(2), steps=1)


def test_interpolation_strip_starts_and_ends_at_the_reconstructions(tiny_ae):
    ds = data.load(DIGITS)
    x0, x1 = ds.x_test[0], ds.x_test[1:2]
    strip = samplers.interpolation_strip(tiny_ae, x0, x1, steps=6, method="slerp")
    assert strip.shape == (6, 1, 8, 8)
    with torch.inference_mode():
        ends = tiny_ae(torch.stack([x0, x1[0]]))
    assert torch.allclose(strip[0], ends[0], atol=1e-5) and torch.allclose(strip[-1], ends[1], atol=1e-5)


def test_holes_flag_samples_far_from_the_data_and_data_far_from_the_samples(clustered):
    samples = np.array([[0.1, 0.0], [10.0, 0.2], [5.0, 5.0], [-8.0, -8.0]])
    in_hole, uncovered, threshold = samplers.holes(clustered, samples)
    assert in_hole.tolist() == [False, False, True, True]
    assert 0 < threshold < 1
    assert uncovered.shape == (len(clustered),)
    assert uncovered[2400:].all()  # nothing was drawn near the third cluster (0, 10)
    assert 0.0 < 1 - uncovered.mean() < 0.5


def test_latent_map_of_a_shipped_2d_ae_shows_the_prior_missing_the_codes():
    view = samplers.latent_map(DIGITS, "ae-2", "standard", n_samples=300)
    fitted = samplers.latent_map(DIGITS, "ae-2", "gmm", n_samples=300)
    assert view.codes.shape == (359, 2) and view.samples.shape == (300, 2) and view.labels.shape == (359,)
    assert fitted.coverage > view.coverage + 0.2


def test_grid_axis_spacing():
    normal = samplers.grid_axis(5, "normal", coverage=0.9)
    np.testing.assert_allclose(normal, [-1.6449, -0.5978, 0.0, 0.5978, 1.6449], atol=1e-4)  # 5, 27.5, 50 ... %
    values = np.random.default_rng(0).uniform(10, 20, 10000)
    ranged = samplers.grid_axis(3, "range", values, coverage=0.9)
    np.testing.assert_allclose(ranged, [10.5, 15.0, 19.5], atol=0.1)
    with pytest.raises(ValueError, match="needs the data"):
        samplers.grid_axis(3, "range")


def test_manifold_grid_layout(tiny_ae):
    codes = np.random.default_rng(0).normal(3.0, 2.0, size=(500, 2))
    grid = samplers.manifold_grid(tiny_ae, codes, n=4)
    assert grid.spacing == "range"  # a plain AE follows its own codes, not N(0, I)
    assert grid.images.shape == (16, 1, 8, 8)
    assert (np.diff(grid.z1) > 0).all() and (np.diff(grid.z2) < 0).all()  # left to right, top row highest
    assert len(grid.rows()) == 4 and all(len(row) == 4 for row in grid.rows())
    corner = samplers.decode(tiny_ae, torch.tensor([[grid.z1[0], grid.z2[0]]]))
    assert torch.allclose(grid.images[0], corner[0], atol=1e-6)
    with pytest.raises(ValueError, match="2D"):
        samplers.manifold_grid(nets.build(nets.default_config("ae", 3, (1, 8, 8))))


def test_frechet_distance_of_a_set_to_itself_is_zero_and_grows_with_a_shift():
    features = np.random.default_rng(0).normal(size=(1000, 8)) @ np.diag(np.arange(1.0, 9.0))
    assert quality.frechet_distance(features, features) < 1e-6
    shifted = features + 0.5
    assert math.isclose(quality.frechet_distance(features, shifted), 8 * 0.25, rel_tol=1e-6)  # |shift|^2 exactly
    other = np.random.default_rng(1).normal(size=(1000, 8)) @ np.diag(np.arange(1.0, 9.0))
    assert 0 < quality.frechet_distance(features, other) < quality.frechet_distance(features, shifted + 1.0)


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    mu_a, mu_b = np.zeros(3), np.array([1.0, 0.0, 2.0])
    expected = 5.0 + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)  # |mu|^2 + sum (sqrt a - sqrt b)^2
    assert math.isclose(quality.frechet_from_stats(mu_a, np.diag(a), mu_b, np.diag(b)), expected, rel_tol=1e-9)
    rotation = np.linalg.qr(np.random.default_rng(2).normal(size=(3, 3)))[0]  # rotating both leaves it unchanged
    rotated = quality.frechet_from_stats(rotation @ mu_a, rotation @ np.diag(a) @ rotation.T,
                                         rotation @ mu_b, rotation @ np.diag(b) @ rotation.T)
    assert math.isclose(rotated, expected, rel_tol=1e-7)


def test_class_entropy():
    assert quality.class_entropy(np.array([10, 10, 10, 10])) == pytest.approx(1.0)
    assert quality.class_entropy(np.array([40, 0, 0, 0])) == pytest.approx(0.0)
    assert 0 < quality.class_entropy(np.array([30, 10, 0, 0])) < 1


@pytest.fixture(scope="module")
def reference():
    return quality.reference_classifier(DIGITS)


def test_reference_classifier_ships_and_is_accurate(reference):
    net, card = reference
    assert card["dataset"] == DIGITS and card["test_accuracy"] >= 0.95
    assert zoo.folder_for(DIGITS).joinpath(f"{quality.FILE_STEM}.safetensors").exists()
    assert quality.FILE_STEM not in zoo.names(DIGITS)
    ds = data.load(DIGITS)
    features, probs = quality.embed(net, ds.x_test)
    assert features.shape == (len(ds.x_test), net.config.features)
    assert (probs.argmax(1) == ds.y_test.numpy()).mean() == pytest.approx(card["test_accuracy"])


def test_real_images_score_well_and_blank_images_badly(reference):
    ds = data.load(DIGITS)
    real = quality.assess(ds.x_test, DIGITS)
    assert real.frechet < 1e-6  # the test split against itself
    assert real.mean_confidence > 0.9 and real.class_entropy > 0.99 and real.missing_classes == 0
    held_out = quality.assess(ds.x_train[:359], DIGITS)
    blurred = quality.assess(ds.x_train[:359].mean(0, keepdim=True).expand(359, -1, -1, -1).contiguous(), DIGITS)
    assert 0 < held_out.frechet < blurred.frechet / 5
    assert blurred.class_entropy == 0.0 and blurred.missing_classes == 9


def test_shipped_digits_models_reproduce_the_lesson(reference):
    """A fitted density or a VAE prior gives images far closer to real digits than an AE with N(0, I)."""
    scores = {setup.label: quality.assess(samplers.generate(DIGITS, setup, 8, 359, seed=0), DIGITS)
              for setup in samplers.SETUPS if setup.available(DIGITS, 8)}
    blind, gmm, vae = (scores[s.label] for s in (samplers.SETUPS[0], samplers.SETUPS[2], samplers.SETUPS[3]))
    assert max(gmm.frechet, vae.frechet) < blind.frechet / 3
    assert min(gmm.class_entropy, vae.class_entropy) > blind.class_entropy
    first = samplers.generate(DIGITS, samplers.SETUPS[2], 8, 16, seed=5, temperature=0.8)
    assert first.shape == (16, 1, 8, 8)
    assert torch.equal(first, samplers.generate(DIGITS, samplers.SETUPS[2], 8, 16, seed=5, temperature=0.8))


def test_a_mixture_on_the_vae_codes_is_its_own_setup_and_follows_them(reference):
    setup = samplers.SETUPS[4]
    assert (setup.label, setup.family, setup.kind) == ("VAE + Gaussian mixture", "vae", "gmm")
    assert [s.label for s in samplers.SETUPS[:4]] == ["AE + N(0, I)", "AE + fitted Gaussian", "AE + Gaussian mixture",
                                                      "VAE + N(0, I) prior"]  # the tour quotes these by position
    sampler = samplers.fitted_sampler(DIGITS, "vae-8", "gmm")
    codes = zoo.codes("vae-8", DIGITS, "train")
    # Fitted to the VAE's own codes, not to N(0, I): its weighted mean is theirs.
    np.testing.assert_allclose(sampler.weights_ @ sampler.means_, codes.mean(axis=0), atol=0.05)
    scores = {s.label: quality.assess(samplers.generate(DIGITS, s, 8, 359, seed=0), DIGITS) for s in
              (samplers.SETUPS[0], setup)}
    assert scores[setup.label].frechet < scores["AE + N(0, I)"].frechet / 3


def test_temperature_sweep_matches_one_temperature_at_a_time():
    setup = samplers.SETUPS[2]
    sweep = samplers.generate_sweep(DIGITS, setup, 8, 6, temperatures=(0.0, 1.0, 2.0), seed=3)
    assert sweep.shape == (3, 6, 1, 8, 8)
    for index, temperature in enumerate((0.0, 1.0, 2.0)):
        single = samplers.generate(DIGITS, setup, 8, 6, seed=3, temperature=temperature)
        assert torch.allclose(sweep[index], single, atol=1e-5)


def test_pixel_blend_and_layout_helpers():
    ds = data.load(DIGITS)
    x0, x1 = ds.x_test[:1], ds.x_test[1:2]
    blend = samplers.pixel_blend(x0, x1, steps=5)
    assert blend.shape == (5, 1, 8, 8)
    assert torch.allclose(blend[0], x0[0]) and torch.allclose(blend[-1], x1[0])
    assert torch.allclose(blend[2], (x0[0] + x1[0]) / 2)
    rows = samplers.as_rows(torch.zeros(7, 1, 8, 8), 3)
    assert [len(r) for r in rows] == [3, 3, 1] and rows[0][0].shape == (8, 8)
    assert torch.equal(samplers.as_image(samplers.as_array(x0)), x0)
    first, second = samplers.default_pair(ds.y_test)
    assert int(ds.y_test[first]) == 1 and int(ds.y_test[second]) == 7


def test_interpolation_rows_and_baselines_on_shipped_digits_models(reference):
    ds = data.load(DIGITS)
    rows = samplers.interpolation_rows(DIGITS, 8, ds.x_test[:1], ds.x_test[5:6], steps=7, method="slerp")
    assert [r.label for r in rows] == ["AE", "VAE", "Pixel blend"]
    assert all(r.images.shape == (7, 1, 8, 8) and r.predicted.shape == (7,) for r in rows)
    assert all(((0 < r.confidence) & (r.confidence <= 1)).all() for r in rows)
    assert rows[2].predicted[0] == quality.verdicts(ds.x_test[:1], DIGITS)[0][0]  # the blend starts on the real image
    floors = samplers.baseline_reports(DIGITS, 8, n=359)
    assert list(floors) == ["Real train images", "ae-8 reconstructions"]
    blind = quality.assess(samplers.generate(DIGITS, samplers.SETUPS[0], 8, 359), DIGITS)
    assert max(f.frechet for f in floors.values()) < blind.frechet / 10


def test_holes_figure_draws_codes_and_both_kinds_of_samples():
    ds = data.load(DIGITS)
    flat = samplers.latent_map(DIGITS, "ae-2", "standard", n_samples=100)
    figure = sampling_figures.holes_figure(flat, ds.classes)
    names = [trace.name for trace in figure.data]
    assert names[-2:] == ["samples near data", "samples in holes"] and "0" in names
    assert sum(len(t.x) for t in figure.data[-2:]) == 100
    assert figure.data[0].type == "scatter"
    deep = sampling_figures.holes_figure(samplers.latent_map(DIGITS, "vae-3", "standard", n_samples=50), ds.classes)
    assert deep.data[-1].type == "scatter3d"
    with pytest.raises(ValueError, match="2D or 3D"):
        sampling_figures.holes_figure(samplers.latent_map(DIGITS, "ae-8", "standard", n_samples=10), ds.classes)


def test_class_spread_charts_one_per_sampler_stretch_and_share_an_axis():
    reports = {"a": quality.QualityReport(10, 1.0, 0.9, (5, 5, 0), 0.63), "b": quality.QualityReport(10, 2.0, 0.8,
                                                                                                    (0, 0, 10), 0.0)}
    specs = [chart.to_dict() for chart in sampling_charts.class_spread_charts(reports, ["x", "y", "z"],
                                                                              {"a": "#111111"})]
    assert [spec["title"]["text"] for spec in specs] == ["a", "b"]
    # No fixed width: each chart stretches to its column, so four of them fit a phone's screen one under another.
    assert all("width" not in spec and "facet" not in spec for spec in specs)
    shares = [{row["class"]: row["share"] for row in next(iter(spec["datasets"].values())) if "class" in row}
              for spec in specs]
    assert shares[0]["x"] == 0.5 and shares[1]["z"] == 1.0
    domains = [spec["layer"][0]["encoding"]["y"]["scale"]["domain"] for spec in specs]
    assert domains[0] == domains[1] == [0, 1.0]  # one share axis, so bar heights compare across samplers


def test_one_shared_scoring_behind_the_page_and_the_tour():
    """samplers.scores is the one computation both quote: the same reports however it is called."""
    reports = samplers.scores(DIGITS, 8)
    assert list(reports)[:2] == ["Real train images", "ae-8 reconstructions"]
    assert [label for label in reports][2:] == [setup.label for setup in samplers.SETUPS
                                                if setup.available(DIGITS, 8)]
    assert all(report.n == samplers.N_SCORED for report in reports.values())
    again = samplers.scores(DIGITS, 8.0, temperature=1, n_components=10)  # other spellings of the same view
    assert again == reports and again is not reports  # equal reports, and a copy a caller may not spoil
    direct = samplers.score_setups(DIGITS, 8, samplers.N_SCORED, samplers.SCORE_SEED)
    assert {label: reports[label] for label in direct} == direct
