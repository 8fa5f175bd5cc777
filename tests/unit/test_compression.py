"""Unit tests of the compression logic on the 8x8 digits: sizes, codecs, reconstructions, rate-distortion, 3D views."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from dashboard import compression
from dashboard.core import baselines, data, metrics, zoo
from dashboard.viz import compression_charts

DIGITS = "digits"


@pytest.fixture(scope="module")
def digits():
    return data.load(DIGITS)


@pytest.fixture(scope="module")
def codecs_by_k():
    return compression.all_codecs(DIGITS)


@pytest.fixture(scope="module")
def evaluated(digits, codecs_by_k):
    return compression.evaluate_test_set(digits.x_test, codecs_by_k)


class ShiftCodec:
    """A stand-in codec whose rebuild is the input plus a fixed offset, so every metric is known in advance."""

    method, name, k = "shift", "shift-1", 1

    def __init__(self, offset: float):
        self.offset = offset

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.offset


# ---- sizes ------------------------------------------------------------------------------------------------------

def test_value_ratio_and_code_bytes_on_known_cases():
    assert compression.value_ratio((1, 28, 28), 16) == 49.0
    assert compression.value_ratio((1, 8, 8), 2) == 32.0
    assert compression.code_bytes(16) == 32
    assert compression.code_bytes(3) == 6


def test_to_uint8_rounds_and_clips():
    pixels = compression.to_uint8(torch.tensor([[[-0.2, 0.0, 0.5, 1.0, 1.7]]]))
    assert pixels.dtype == np.uint8 and pixels.tolist() == [0, 0, 128, 255, 255]


def test_png_bytes_is_the_size_of_a_lossless_optimised_png(digits):
    image = digits.x_test[0]
    size = compression.png_bytes(image)
    buffer = io.BytesIO()
    Image.fromarray(compression.to_uint8(image)).save(buffer, format="PNG", optimize=True)
    assert size == len(buffer.getvalue())
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
    assert (decoded == compression.to_uint8(image)).all()
    # A flat image compresses far better than noise of the same size.
    flat, noise = torch.zeros(1, 28, 28), torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert compression.png_bytes(flat) < 100 < 500 < compression.png_bytes(noise)


def test_size_report_counts_values_and_bytes(digits):
    report = compression.size_report(digits.x_test[0], 8)
    assert (report.n_pixels, report.raw_bytes, report.code_bytes) == (64, 64, 16)
    assert report.value_ratio == 8.0 and report.raw_ratio == 4.0
    assert report.png_ratio == pytest.approx(report.png_bytes / 16)
    table = compression.size_table(digits.x_test[:5], 8)
    assert len(table) == 5 and (table["code_bytes"] == 16).all()


def test_decoder_bytes_counts_only_decoder_weights(codecs_by_k):
    model = codecs_by_k[16]["AE"].model
    total = sum(p.numel() * 4 for p in model.parameters())
    decoder = compression.decoder_bytes(model)
    assert 0 < decoder < total


# ---- codecs -----------------------------------------------------------------------------------------------------

def test_codecs_for_leaves_out_missing_checkpoints(codecs_by_k):
    shipped = set(zoo.names(DIGITS))
    for k, codecs in codecs_by_k.items():
        expected = {"PCA"} | {m for m, fam in compression.NETWORK_FAMILIES.items() if f"{fam}-{k}" in shipped}
        assert set(codecs) == expected
        assert all(codec.k == k for codec in codecs.values())
    assert set(compression.codecs_for(DIGITS, 8, methods=("PCA",))) == {"PCA"}


def test_codes_are_float16_and_pca_codec_matches_the_baseline(digits, codecs_by_k):
    x = digits.x_test[:20]
    for codec in codecs_by_k[8].values():
        codes = codec.encode(x)
        assert codes.shape == (20, 8) and codes.dtype == torch.float16
        assert codec.decode(codes).shape == x.shape
    pca = codecs_by_k[8]["PCA"]
    reference = baselines.pca_reconstruct(baselines.pca_for(DIGITS, 8), x)
    assert torch.allclose(pca.reconstruct(x), reference, atol=5e-3)  # only the float16 rounding differs


# ---- reconstructions of a batch ---------------------------------------------------------------------------------

def test_pick_batch_is_seeded_unique_and_in_range():
    first, again, other = (compression.pick_batch(359, 8, seed=s) for s in (3, 3, 4))
    assert (first == again).all() and not np.array_equal(first, other)
    assert len(set(first.tolist())) == 8 and first.min() >= 0 and first.max() < 359
    assert (np.diff(first) > 0).all()
    assert len(compression.pick_batch(5, 8)) == 5


def test_batch_metrics_on_a_known_pair():
    x = torch.full((2, 1, 8, 8), 0.5)
    x[1, 0, :4] = 0.25  # two different images, so per-image numbers are checked, not only the mean
    batch = compression.compare_reconstructions(x, {"exact": ShiftCodec(0.0), "off": ShiftCodec(0.1)}, k=1)
    exact, off = batch.results
    assert exact.mse.tolist() == [0.0, 0.0] and np.allclose(exact.ssim, 1.0) and (exact.psnr >= 99).all()
    assert np.allclose(off.mse, 0.01) and np.allclose(off.psnr, 20.0)
    assert torch.allclose(off.errors, torch.full_like(x, 0.1))
    assert batch.error_scale == pytest.approx(0.1)
    summary = batch.summary().set_index("method")
    assert summary.loc["off", "psnr"] == pytest.approx(20.0) and summary.loc["exact", "mse"] == 0.0
    assert len(batch.per_image()) == 4


def test_reconstruct_batch_scores_every_method_on_real_models(digits, codecs_by_k):
    indices = compression.pick_batch(len(digits.x_test), 6, seed=0)
    batch = compression.reconstruct_batch(digits, codecs_by_k[16], 16, indices)
    assert [r.method for r in batch.results] == list(codecs_by_k[16])
    assert (batch.labels == digits.y_test[indices].numpy()).all()
    for result in batch.results:
        assert result.images.shape == (6, 1, 8, 8) and result.mse.shape == (6,)
        expected = metrics.mse_per_image(digits.x_test[indices], result.images)
        assert np.allclose(result.mse, expected)
        assert ((result.ssim > -1) & (result.ssim <= 1)).all()
    assert set(batch.per_image()["method"]) == set(codecs_by_k[16])


# ---- rate-distortion --------------------------------------------------------------------------------------------

def test_rate_distortion_table_shape_and_monotone_pca(evaluated, codecs_by_k):
    table = compression.rate_distortion_table(evaluated)
    assert len(table) == sum(len(c) for c in codecs_by_k.values())
    assert {"method", "model", "k", "code_bytes", "mse", "psnr", "mse_vs_pca"} <= set(table.columns)
    pca = table[table.method == "PCA"]
    assert pca["k"].tolist() == list(compression.LATENT_SIZES)
    assert (np.diff(pca["mse"].to_numpy()) < 0).all() and (np.diff(pca["psnr"].to_numpy()) > 0).all()
    assert np.allclose(pca["mse_vs_pca"], 1.0)
    assert table["method"].iloc[0] == "AE" and table["method"].iloc[-1] == "PCA"
    assert (table["code_bytes"] == 2 * table["k"]).all()


def test_test_set_codes_match_a_direct_measurement(digits, evaluated):
    codes = evaluated[("AE", 8)]
    assert codes.codes.shape == (len(digits.x_test), 8) and codes.mse.shape == (len(digits.x_test),)
    model = zoo.load("ae-8", DIGITS)
    direct = metrics.mse(digits.x_test, metrics.reconstruct(model, digits.x_test))
    assert codes.mse.mean() == pytest.approx(direct, rel=1e-3)


def test_codes_frame_is_ready_for_csv(digits, evaluated):
    frame = compression.codes_frame(evaluated[("AE", 3)], digits.y_test.numpy(), digits.classes)
    assert list(frame.columns) == ["test_index", "label", "class", "z1", "z2", "z3", "reconstruction_mse"]
    assert len(frame) == len(digits.x_test) and frame["class"].iloc[0] == digits.classes[frame["label"].iloc[0]]
    assert "z1" in frame.to_csv(index=False).splitlines()[0]


# ---- 3D views ---------------------------------------------------------------------------------------------------

def test_projections_give_three_columns():
    codes = np.random.default_rng(0).normal(size=(60, 8))
    points, text = compression.project_3d(codes, "pca")
    assert points.shape == (60, 3) and "PCA" in text
    three = codes[:, :3]
    assert np.array_equal(compression.project_3d(three, "native")[0], three)
    flat, _ = compression.project_3d(codes[:, :2], "native")
    assert flat.shape == (60, 3) and (flat[:, 2] == 0).all()
    with pytest.raises(ValueError, match="natively"):
        compression.project_3d(codes, "native")
    with pytest.raises(ValueError, match="Unknown projection"):
        compression.project_3d(codes, "umap")


def test_tsne_view_is_limited_and_finite(digits, evaluated):
    settings = compression.TsneConfig(max_points=80, max_iter=250)
    view = compression.latent_view(evaluated[("AE", 16)], digits.y_test.numpy(), "tsne", settings)
    assert view.points.shape == (80, 3) and np.isfinite(view.points).all()
    assert view.labels.shape == view.errors.shape == (80,) and "t-SNE" in view.description
    full = compression.latent_view(evaluated[("AE", 16)], digits.y_test.numpy(), "pca")
    assert full.points.shape == (len(digits.x_test), 3)


# ---- your own image at every k ----------------------------------------------------------------------------------

def test_reconstruct_every_k_covers_every_codec(digits, codecs_by_k):
    image = digits.x_test[:1]
    found = compression.reconstruct_every_k(image, codecs_by_k)
    assert len(found) == sum(len(c) for c in codecs_by_k.values())
    assert found[0].method == "AE" and found[0].k == 2
    for r in found:
        assert r.image.shape == (1, 8, 8)
        assert r.mse == pytest.approx(metrics.mse(image, codecs_by_k[r.k][r.method].reconstruct(image)))
    frame = compression.every_k_frame(found).set_index(["method", "k"])
    assert frame.loc[("PCA", 32), "mse"] < 0.5 * frame.loc[("PCA", 2), "mse"]
    assert (frame["code_bytes"] == 2 * frame.index.get_level_values("k")).all()


# ---- codec comparison and probes --------------------------------------------------------------------------------

def test_jpeg_and_png_points_behave(digits):
    image = digits.x_test[:1]
    low, high = compression.jpeg_point(image, 1), compression.jpeg_point(image, 95)
    assert low.n_bytes < high.n_bytes and low.mse > high.mse
    png = compression.png_point(image)
    assert png.n_bytes == compression.png_bytes(image) and png.mse < 1e-5  # only 8-bit rounding is lost


def test_comparison_verdict_on_known_points():
    def point(codec, setting, n_bytes, psnr):
        return compression.CodecPoint(codec, setting, n_bytes, 10 ** (-psnr / 10))

    learned = [point("AE", "k = 8", 16, 15.0), point("AE", "k = 16", 32, 21.0)]
    jpeg = [point("JPEG", "quality 1", 80, 19.0), point("JPEG", "quality 5", 95, 22.0)]
    png = point("PNG", "lossless", 300, 60.0)
    result = compression.CodecComparison(learned, jpeg, png, chosen_k=8, target_psnr=20.0)
    assert result.winner() == "AE"
    assert result.cheapest()["JPEG"].setting == "quality 5"
    assert result.jpeg_nearest_in_bytes().setting == "quality 1"
    assert compression.CodecComparison(learned, jpeg, png, 8, target_psnr=21.5).winner() == "JPEG"
    assert compression.CodecComparison(learned, jpeg, png, 8, target_psnr=30.0).winner() == "PNG"
    assert compression.CodecComparison(learned[:1], jpeg[:1], png, 8, target_psnr=30.0).cheapest()["AE"] is None
    table = result.table()
    assert table["codec"].tolist()[:3] == ["AE", "JPEG", "PNG"]


def test_compare_codecs_on_a_real_image(digits, codecs_by_k):
    learned = [codecs_by_k[k]["AE"] for k in compression.LATENT_SIZES]
    result = compression.compare_codecs(digits.x_test[:1], learned, 16)
    assert [p.n_bytes for p in result.learned] == [2 * k for k in compression.LATENT_SIZES]
    assert len(result.jpeg) == len(compression.JPEG_QUALITIES)
    assert result.at_chosen_k().setting == "k = 16" and result.winner() in {"AE", "JPEG", "PNG"}


@pytest.mark.parametrize("kind", compression.PROBE_KINDS)
def test_probe_images_are_valid_and_repeatable(digits, kind):
    made = compression.probe_images(digits, kind, 4, seed=1)
    assert made.shape == (4, 1, 8, 8) and made.dtype == torch.float32
    assert 0.0 <= float(made.min()) and float(made.max()) <= 1.0 and float(made.max()) > 0.3
    assert torch.equal(made, compression.probe_images(digits, kind, 4, seed=1))


def test_probe_digits_are_transformed_test_digits(digits):
    plain = compression.probe_images(digits, "test digit", 3, seed=2)
    assert torch.allclose(compression.probe_images(digits, "inverted digit", 3, seed=2), 1 - plain)
    assert torch.equal(compression.probe_images(digits, "rotated digit", 3, seed=2), torch.rot90(plain, 1, (2, 3)))
    assert not torch.equal(compression.probe_images(digits, "shifted digit", 3, seed=2), plain)
    with pytest.raises(ValueError, match="Unknown probe"):
        compression.probe_images(digits, "cat", 1)


def test_printed_digits_are_typeset_framed_and_repeatable(digits):
    made, labels = compression.printed_digits(data.load("mnist-5k"), 12, seed=3)
    assert made.shape == (12, 1, 28, 28) and labels.shape == (12,) and set(labels.tolist()) <= set(range(10))
    assert 0.0 <= float(made.min()) and float(made.max()) == pytest.approx(1.0, abs=0.05)
    assert float(made[:, :, :3].max()) < 0.05  # framed like MNIST: a dark border around the glyph
    again, _ = compression.printed_digits(data.load("mnist-5k"), 12, seed=3)
    assert torch.equal(made, again)
    small, _ = compression.printed_digits(digits, 2)
    assert small.shape == (2, 1, 8, 8)


def test_probe_comparisons_summary_and_example(digits, codecs_by_k):
    learned = [codecs_by_k[k]["AE"] for k in compression.LATENT_SIZES]
    measured = compression.probe_comparisons(digits, learned, 8, n=3, kinds=("test digit", "inverted digit"))
    assert list(measured) == ["test digit", "inverted digit"] and all(len(v) == 3 for v in measured.values())
    summary = compression.comparison_summary(measured).set_index("kind")
    assert (summary["images"] == 3).all() and (summary["code_bytes"] == 16).all()
    assert ((summary["learned_wins"] + summary["jpeg_wins"]) <= 1).all()
    # An inverted digit is far from anything the AE learned: its code's quality collapses.
    assert summary.loc["inverted digit", "code_psnr"] < summary.loc["test digit", "code_psnr"] - 3
    lenient = compression.comparison_summary(measured, target_psnr=1.0).set_index("kind")
    assert (lenient["target_psnr"] == 1.0).all() and (lenient["learned_wins"] == 1.0).all()  # 4 B beats any JPEG
    example = compression.probe_example(digits, "inverted digit", measured["inverted digit"][1], learned[2], n=3,
                                        index=1)
    probe = compression.probe_images(digits, "inverted digit", 3)[1]
    assert torch.equal(example.image, probe) and example.learned.shape == example.jpeg.shape == probe.shape
    quality = int(example.comparison.jpeg_nearest_in_bytes().setting.split()[-1])
    assert metrics.mse(probe[None], example.jpeg[None]) == pytest.approx(
        compression.jpeg_point(probe[None], quality).mse)


def synthetic_comparison(learned_db: float, jpeg_bytes: int) -> compression.CodecComparison:
    """One image where the code (4 B) reaches learned_db and a JPEG of jpeg_bytes reaches 30 dB."""
    def point(codec, setting, n_bytes, db):
        return compression.CodecPoint(codec, setting, n_bytes, 10 ** (-db / 10))

    return compression.CodecComparison([point("AE", "k = 2", 4, learned_db)],
                                       [point("JPEG", "quality 5", jpeg_bytes, 30)],
                                       point("PNG", "lossless", 500, 58), chosen_k=2, target_psnr=20.0)


def test_the_typical_example_shows_the_majority_outcome():
    # Image 0 is the exception (the code wins); the others lose, and image 3's code quality is their median.
    found = [synthetic_comparison(db, 90) for db in (25.0, 8.0, 12.0, 14.0, 16.0, 19.0)]
    assert [c.winner() for c in found] == ["AE"] + ["JPEG"] * 5
    assert compression.majority_winner(found) == ("JPEG", 5)
    assert compression.typical_example(found) == 3  # median of all six is 15 dB: 14 and 16 tie, the first wins
    assert found[compression.typical_example(found)].winner() == "JPEG"
    mostly_won = [synthetic_comparison(db, 90) for db in (10.0, 21.0, 30.0, 24.0)]
    assert compression.majority_winner(mostly_won) == ("AE", 3)
    assert compression.typical_example(mostly_won) == 1  # median 22.5 dB: 21 and 24 tie among the code's wins


def test_own_image_report_is_keyed_by_pixels(digits, codecs_by_k):
    found, comparison = compression.own_image_report(digits.x_test[:1].numpy(), codecs_by_k)
    assert len(found) == sum(len(c) for c in codecs_by_k.values())
    assert [p.setting for p in comparison.learned] == [f"k = {k}" for k in compression.LATENT_SIZES]


def test_row_pictures_and_charts(evaluated, digits, codecs_by_k):
    grey, rgb = np.zeros((4, 3), np.uint8), np.full((4, 3, 3), 7, np.uint8)
    row = np.asarray(Image.open(io.BytesIO(compression_charts.row_png([grey, rgb], gap=1))))
    assert row.shape == (4, 7, 3) and (row[:, 3] == 255).all() and (row[:, 4:] == 7).all() and (row[:, :3] == 0).all()
    spec = compression_charts.vega_spec(
        compression_charts.rate_distortion_chart(compression.rate_distortion_table(evaluated), 16))
    assert len(spec["layer"]) == 3 and "datasets" not in spec
    assert len(spec["layer"][0]["data"]["values"]) == len(evaluated)  # one point per codec, inline
    comparison = compression.compare_codecs(digits.x_test[:1], [codecs_by_k[k]["AE"] for k in (2, 16)], 16)
    assert len(compression_charts.codec_chart(comparison).to_dict()["layer"]) == 5
    # Marks and labels drawn on the charts use one grey that reads on the light and the dark background.
    notes = {layer["mark"]["color"] for layer in compression_charts.codec_chart(comparison).to_dict()["layer"][1:]}
    assert notes == {compression_charts.NOTE_COLOR}


def test_the_probe_pictures_are_one_row(digits, codecs_by_k):
    # Issue 14: three separate pictures stacked full-width on a phone; one row keeps them side by side.
    learned = [codecs_by_k[k]["AE"] for k in compression.LATENT_SIZES]
    measured = compression.probe_comparisons(digits, learned, 8, n=2, kinds=("letter",))
    example = compression.probe_example(digits, "letter", measured["letter"][0], codecs_by_k[8]["AE"], n=2)
    row = Image.open(io.BytesIO(compression_charts.probe_pictures(example, scale=10)))
    assert row.size == (3 * 80 + 2 * 4, 80)


def test_the_shared_3d_figure_sends_what_the_built_figure_sends():
    """It holds its arrays as base64 typed arrays (cheaper to copy per send): the chart must not change."""
    import json

    import plotly.io as pio
    from plotly.tools import return_figure_from_figure_or_data

    from dashboard.app import ui
    from dashboard.app.cached import compression as cached

    def sent(figure) -> dict:  # what st.plotly_chart puts in its message
        found = json.loads(pio.to_json(return_figure_from_figure_or_data(figure, True), validate=False))
        if not found["layout"].get("title"):
            found["layout"].pop("title", None)  # an empty title: plotly drops it when the figure is rebuilt
        return found

    view = cached.latent_view.__wrapped__("digits", "AE", 16, "pca")
    shared, description = cached.latent_figure.__wrapped__("digits", "AE", 16, "pca")
    assert sent(shared) == sent(compression_charts.latent_figure(view, ui.dataset("digits").classes))
    assert description == view.description
