"""Unit tests of the code-density and combined anomaly scores, the shipped probe set and the not-digits scenario."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dashboard import anomaly
from dashboard.anomaly import probes, shipped

DATASET = "digits"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def correlated_codes(n: int = 2000, seed: int = 0) -> np.ndarray:
    """Normal codes along a diagonal ridge: x and y move together."""
    rng = np.random.default_rng(seed)
    t = rng.normal(size=n)
    return np.c_[t, t + 0.1 * rng.normal(size=n)]


def test_one_component_density_ranks_like_mahalanobis_and_flags_an_off_ridge_code():
    codes = correlated_codes()
    density = anomaly.CodeDensity(n_components=1).fit(codes)
    # Both points are 1.5 units from the mean; only the second one leaves the ridge the normal codes lie on.
    on_ridge, off_ridge = np.array([[1.5, 1.5]]), np.array([[1.5, -1.5]])
    assert density.score(off_ridge)[0] > density.score(on_ridge)[0] + 10
    # Euclidean distance to the mean calls them equal; the Mahalanobis distance does not, and the density agrees.
    probe = np.random.default_rng(1).normal(size=(200, 2)) * 2
    inverse = np.linalg.inv(np.cov(codes, rowvar=False))
    centred = probe - codes.mean(axis=0)
    mahalanobis = np.einsum("ni,ij,nj->n", centred, inverse, centred)
    assert np.corrcoef(np.argsort(np.argsort(density.score(probe))), np.argsort(np.argsort(mahalanobis)))[0, 1] > 0.999


def test_a_mixture_finds_the_gap_between_two_clusters():
    rng = np.random.default_rng(0)
    codes = np.r_[rng.normal(-4, 0.5, size=(500, 2)), rng.normal(4, 0.5, size=(500, 2))]
    between, inside = np.array([[0.0, 0.0]]), np.array([[4.0, 4.0]])
    one = anomaly.CodeDensity(n_components=1).fit(codes)
    two = anomaly.CodeDensity(n_components=2).fit(codes)
    # One Gaussian puts its peak in the empty middle; two components see that nothing lives there.
    assert one.score(between)[0] < one.score(inside)[0]
    assert two.score(between)[0] > two.score(inside)[0]


def test_components_grow_with_the_normal_set_and_stop_at_ten():
    assert anomaly.components_for(320) == 1  # one digit's training images: a single Gaussian
    assert anomaly.components_for(2880) == 9
    assert anomaly.components_for(60_000) == 10
    with pytest.raises(ValueError, match="N >= 2"):
        anomaly.CodeDensity().fit(np.zeros((1, 3)))


class Identity(torch.nn.Module):
    """A 'model' whose code is the mean brightness of the left and right halves and which rebuilds perfectly."""

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        return torch.stack([x[..., :half].mean(dim=(1, 2, 3)), x[..., half:].mean(dim=(1, 2, 3))], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_code_density_flags_what_reconstruction_error_misses():
    rng = np.random.default_rng(0)
    # Normal images: both halves equally bright. The odd one out is bright on one side only.
    level = rng.uniform(0.2, 0.8, size=(400, 1, 1, 1)).astype(np.float32)
    normal = torch.from_numpy(np.broadcast_to(level, (400, 1, 8, 8)).copy())
    odd = torch.zeros(1, 1, 8, 8)
    odd[..., :4] = 0.8
    model = Identity()
    reference = anomaly.fit_reference(model, normal, anomaly.anomaly_scores(model, normal, "ssim"))
    x = torch.cat([normal[:50], odd])
    assert np.ptp(anomaly.anomaly_scores(model, x, "mse")) == 0  # perfect rebuilds: the pixels say nothing
    code = anomaly.anomaly_scores(model, x, "code", reference)
    assert code[-1] > code[:-1].max()
    combined = anomaly.anomaly_scores(model, x, "combined", reference)
    assert combined[-1] > combined[:-1].max()
    assert anomaly.all_scores(model, x, reference)["combined"] == pytest.approx(combined)


def test_code_scores_need_a_reference_and_unknown_kinds_are_refused():
    model, x = Identity(), torch.rand(3, 1, 8, 8)
    for kind in ("code", "combined"):
        with pytest.raises(ValueError, match="density"):
            anomaly.anomaly_scores(model, x, kind)
        with pytest.raises(ValueError, match="needs the model's codes"):
            anomaly.score_pairs(x, x, kind)
    with pytest.raises(ValueError, match="Unknown score"):
        anomaly.anomaly_scores(model, x, "loudness")
    assert set(anomaly.all_scores(model, x)) == {"mse", "ssim"}


def test_default_scores_are_scores():
    assert anomaly.default_score("one-class") == "ssim"
    for scenario in anomaly.SCENARIOS:
        assert anomaly.default_score(scenario) in anomaly.SCORE_KINDS


@pytest.fixture(scope="module")
def novelty_one():
    split = anomaly.make_split(DATASET, "novelty", digit=1)
    return split, anomaly.train_detector(split, anomaly.DetectorConfig(steps=150)).model


def test_evaluate_all_matches_one_kind_at_a_time_and_the_reference_is_fitted_once(novelty_one):
    split, model = novelty_one
    reference = anomaly.reference_for(model, split)
    assert anomaly.reference_for(model, split) is reference  # shared per process, keyed by model and training images
    assert reference.n_images == len(split.x_train)
    together = anomaly.evaluate_all(model, split)
    for kind in anomaly.SCORE_KINDS:
        alone = anomaly.evaluate(model, split, kind)
        np.testing.assert_allclose(together[kind].scores, alone.scores, rtol=1e-5, atol=1e-6)
        assert together[kind].auroc == pytest.approx(alone.auroc, abs=1e-3)
    assert together["code"].auroc > 0.5 and together["combined"].auroc > 0.5


# --- the shipped probe set and the not-digits scenario --------------------------------------------------------

def test_the_shipped_probe_set_loads_without_pickles_at_any_size():
    with np.load(probes.PROBE_FILE, allow_pickle=False) as stored:
        assert stored["images"].dtype == np.uint8 and stored["images"].shape[1:] == (28, 28)
    x, what = probes.load()
    assert x.shape == (len(what), 1, 28, 28) and 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert set(probes.kind_of(what)) == {"letter", "symbol", "scribble"}
    assert not any(w.split(" ")[-1] in "0123456789OolIS" for w in what if not w.startswith("scribble"))
    small, _ = probes.load((1, 8, 8))
    assert small.shape == (len(what), 1, 8, 8)


def test_building_the_probe_set_skips_missing_fonts(monkeypatch, tmp_path):
    monkeypatch.setattr(probes, "FONTS", ("NoSuchFont-Regular", probes.FONTS[0]))
    monkeypatch.setattr(probes, "N_SCRIBBLES", 5)
    count, missing = probes.save(tmp_path / "probes.npz")
    assert missing == ["NoSuchFont-Regular"]
    x, what = probes.load(path=tmp_path / "probes.npz")
    assert len(x) == count and list(probes.kind_of(what)).count("scribble") == 5


def test_not_digits_split_holds_digits_against_probes():
    split = anomaly.make_split(DATASET, "not-digits")
    assert split.x_test.shape[1:] == (1, 8, 8)
    assert 0 < split.anomaly_rate < 1 and 0 < split.y_val.mean() < 1
    assert len(split.test_names) == len(split.y_test)
    assert all(name.split(" ")[0] in ("letter", "symbol", "scribble") for name, y in
               zip(split.test_names, split.y_test) if y == 1)


def test_a_missing_probe_file_is_a_clear_notice(monkeypatch, tmp_path):
    monkeypatch.setattr(probes, "PROBE_FILE", tmp_path / "gone.npz")
    with pytest.raises(anomaly.ScenarioUnavailable, match="python -m dashboard.anomaly.probes"):
        anomaly.make_split(DATASET, "not-digits")


def test_code_sizes_and_the_best_detector_pick():
    sizes = shipped.code_sizes(DATASET)
    assert list(sizes["code size"]) == sorted(sizes["code size"]) and (sizes["ratio"] > 1).all()
    table = shipped.pd.DataFrame([{"model": "a", "score": "mse", "AUROC": 0.9},
                                  {"model": "b", "score": "combined", "AUROC": 0.95},
                                  {"model": "c", "score": "ssim", "AUROC": 0.95}])
    assert shipped.best_detector(table) == ("b", "combined", 0.95)


def test_the_detector_table_names_its_columns_from_the_score_registry():
    from dashboard.viz import anomaly_charts

    table = shipped.pd.DataFrame([{"model": m, "score": s, "AUROC": 0.9} for m in ("a", "b") for s in ("ssim", "mse")])
    lines = anomaly_charts.detector_markdown(table, "b", "mse").splitlines()
    assert lines[0] == "| model | Pixels | Structure |" and lines[3] == "| b | **0.900** | 0.900 |"
    assert anomaly_charts.score_columns(table) == ("Pixels = squared error (MSE), "
                                                   "Structure = structural error (1 - SSIM)")
    unknown = shipped.pd.concat([table, shipped.pd.DataFrame([{"model": "a", "score": "psnr", "AUROC": 0.5}])])
    with pytest.raises(ValueError, match="Unknown score 'psnr'"):
        anomaly_charts.detector_markdown(unknown, "b", "mse")
