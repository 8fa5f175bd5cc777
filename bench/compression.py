"""Compression benchmark rows: AE/VAE against PCA at every k, code bytes against PNG, and a general codec's limits."""

from __future__ import annotations

import numpy as np

from dashboard import compression
from dashboard.core import data, metrics
from tests.harness.apptest import rerun_ms

from . import Row, section

DATASET = data.DEFAULT_DATASET
QUICK_TEST_IMAGES = 300  # --quick scores the first 300 of the 1,000 test images
PROBES_PER_KIND = 50
QUICK_PROBES_PER_KIND = 8
COMPARED_K = 16
PRINTED_DIGITS = 500  # typeset digits (several fonts) behind the out-of-distribution rows; --quick uses 100
# Targets: ae-16 well under PCA-16, ae-2 clearly under PCA-2, and each doubling of k cutting the error.
AE_TARGETS = {2: 0.90, 16: 0.38}
LEAST_CUT_PER_DOUBLING = 0.15
LOOSE_TARGET_PSNR = 18.0  # dB, about ae-8's average on test digits


@section("compression: rate-distortion", order=40)
def rate_distortion(quick: bool) -> list[Row]:
    name = "compression: rate-distortion"
    ds = data.load(DATASET)
    x = ds.x_test[:QUICK_TEST_IMAGES] if quick else ds.x_test
    scope = f"first {len(x)} test images" if quick else f"all {len(x)} test images"
    codecs = compression.all_codecs(DATASET)
    table = compression.rate_distortion_table(compression.evaluate_test_set(x, codecs)).set_index(["method", "k"])
    rows = []
    for method in ("AE", "VAE"):
        for k in compression.LATENT_SIZES:
            if (method, k) not in table.index:
                rows.append(Row(name, f"{method.lower()}-{k} / PCA-{k} test MSE", "not shipped", ok=False))
                continue
            got, pca = table.loc[(method, k)], table.loc[("PCA", k)]
            ratio = float(got["mse_vs_pca"])
            target, ok = ("", None)
            if method == "AE":
                bound = AE_TARGETS.get(k)
                target, ok = (f"<= {bound:g}", ratio <= bound) if bound else ("< 1", ratio < 1.0)
            rows.append(Row(name, f"{got['model']} / PCA-{k} test MSE", ratio, "x", target, ok,
                            f"MSE {got['mse']:.5f} vs {pca['mse']:.5f}; PSNR {got['psnr']:.2f} vs "
                            f"{pca['psnr']:.2f} dB; float16 codes; {scope}"))

    rows += _doubling_rows(name, table, scope)
    rows += _printed_rows(name, codecs, quick)
    ae16 = codecs[COMPARED_K]["AE"]
    full_precision = metrics.mse(x, metrics.reconstruct(ae16.model, x))
    rounded = float(table.loc[("AE", COMPARED_K), "mse"])
    rows.append(Row(name, f"ae-{COMPARED_K} MSE change from float16 codes", 100 * (rounded / full_precision - 1), "%",
                    note=f"float32 codes {full_precision:.6f}, float16 {rounded:.6f}"))
    png = compression.size_table(x, COMPARED_K)["png_bytes"]
    rows.append(Row(name, f"test digit PNG bytes / ae-{COMPARED_K} code bytes (median)",
                    float(np.median(png)) / compression.code_bytes(COMPARED_K), "x",
                    note=f"PNG (Pillow, optimize) median {np.median(png):.0f} B, range {png.min()}-{png.max()} B; "
                         f"code {compression.code_bytes(COMPARED_K)} B; decoder weights "
                         f"{compression.decoder_bytes(ae16.model) / 1e6:.2f} MB held by the receiver"))
    return rows


def _doubling_rows(name: str, table, scope: str) -> list[Row]:
    """The AE's error cut from each shipped k to the next, per doubling of k (k = 3 -> 8 is 1.4 doublings)."""
    sizes = [k for k in compression.LATENT_SIZES if ("AE", k) in table.index]
    rows = []
    for small, large in zip(sizes[:-1], sizes[1:]):
        before, after = float(table.loc[("AE", small), "mse"]), float(table.loc[("AE", large), "mse"])
        per_doubling = 1 - (after / before) ** (1 / np.log2(large / small))
        rows.append(Row(name, f"ae-{small} -> ae-{large}: test MSE cut per doubling of k", 100 * per_doubling, "%",
                        f">= {100 * LEAST_CUT_PER_DOUBLING:g}", per_doubling >= LEAST_CUT_PER_DOUBLING,
                        f"MSE {before:.5f} -> {after:.5f} ({100 * (1 - after / before):.0f}% in all); {scope}"))
    return rows


def _printed_rows(name: str, codecs: compression.CodecsByK, quick: bool) -> list[Row]:
    """Digits from outside the training distribution (typeset in several fonts): the AE must not lose to PCA."""
    images, _ = compression.printed_digits(data.load(DATASET), 100 if quick else PRINTED_DIGITS, seed=0)
    rows = []
    for k in compression.LATENT_SIZES:
        if "AE" not in codecs[k]:
            continue
        ae = metrics.mse(images, codecs[k]["AE"].reconstruct(images))
        pca = metrics.mse(images, codecs[k]["PCA"].reconstruct(images))
        rows.append(Row(name, f"printed digits: ae-{k} / PCA-{k} MSE", ae / pca, "x", "<= 1", ae / pca <= 1.0,
                        f"MSE {ae:.5f} vs {pca:.5f}; {len(images)} digits typeset in "
                        f"{len(compression.probes.font_paths()) or 1} fonts, turned up to 10 degrees"))
    return rows


@section("compression: codecs", order=41)
def codecs(quick: bool) -> list[Row]:
    """Per probe kind: does the AE, JPEG or PNG reach the target PSNR in the fewest bytes?"""
    name = "compression: codecs"
    ds = data.load(DATASET)
    learned = [compression.all_codecs(DATASET)[k]["AE"] for k in compression.LATENT_SIZES]
    n = QUICK_PROBES_PER_KIND if quick else PROBES_PER_KIND
    target = compression.DEFAULT_TARGET_PSNR
    measured = compression.probe_comparisons(ds, learned, COMPARED_K, n, seed=0, target_psnr=target)
    # The verdict moves with the quality asked for, so a looser target is reported beside the main one.
    loose = compression.comparison_summary(measured, LOOSE_TARGET_PSNR).set_index("kind")["learned_wins"]
    rows = []
    for r in compression.comparison_summary(measured).itertuples():
        reach = f" (median {r.learned_bytes_to_target:.0f} B)" if r.learned_reaches else ""
        rows.append(Row(
            name, f"{r.kind}: AE reaches {target:g} dB in fewer bytes than JPEG and PNG", 100 * r.learned_wins,
            "% of images",
            note=(f"ae-{COMPARED_K} at {r.code_bytes} B: median {r.code_psnr:.1f} dB; smallest JPEG "
                  f"{r.jpeg_small_bytes:.0f} B at {r.jpeg_small_psnr:.1f} dB; AE reaches {target:g} dB at any "
                  f"k <= 32 on {100 * r.learned_reaches:.0f}%{reach}; JPEG on {100 * r.jpeg_reaches:.0f}% (median "
                  f"{r.jpeg_bytes_to_target:.0f} B); PNG median {r.png_bytes:.0f} B; AE wins at "
                  f"{LOOSE_TARGET_PSNR:g} dB on {100 * loose[r.kind]:.0f}%; n = {n}")))
    return rows


@section("compression: speed", order=42)
def speed(quick: bool) -> list[Row]:
    """Server-side rerun of the page after the code size changes, caches warm (AppTest through the entry point)."""
    sizes = [8, 16, 32]
    ms = rerun_ms("compression", lambda app, i: app.select_slider(key="compression_k").set_value(sizes[i % 3]))
    return [Row("compression: speed", "server-side rerun after changing k (median)", ms, "ms", "<= 300", ms <= 300,
                "AppTest, 5 reruns cycling k over 8, 16, 32")]
