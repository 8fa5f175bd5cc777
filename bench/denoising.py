"""Denoising rows: every method's PSNR and SSIM under fresh seeded noise, the DAE against the median filter, speed."""

from __future__ import annotations

import time

import numpy as np

from dashboard import denoising
from dashboard.core import corrupt, data, metrics

from . import Row, section

DATASET = data.DEFAULT_DATASET
NOISE_SEED = 1234  # fresh noise: no model saw these draws (training noise comes from the training seed's generator)
QUICK_IMAGES = 200  # test images in --quick mode; the full run scores the whole test split
# (noise, level, least DAE-minus-median PSNR gap in dB) the DAE must reach.
TARGETS = (("gaussian", 0.5, 5.0), ("salt-pepper", 0.1, 1.0))
SPEED_TARGET_MS = 300.0


def _config(dae: str | None = None) -> denoising.DenoiseConfig:
    return denoising.config_for(DATASET, dae)


def _score_rows(name: str, comparison: denoising.Comparison, config: denoising.DenoiseConfig,
                setting: str) -> list[Row]:
    rows = []
    for score in comparison.scores:
        rows.append(Row(name, f"{setting}: {score.label} PSNR", score.psnr, "dB",
                        note=f"SSIM {score.ssim:.3f}, {comparison.n_scored} test images"))
    return rows


@section("denoising: quality", order=30)
def quality(quick: bool) -> list[Row]:
    name = "denoising: quality"
    n_images = QUICK_IMAGES if quick else len(data.load(DATASET).x_test)
    rows: list[Row] = []
    daes = denoising.dae_names(DATASET)
    default = denoising.default_dae(DATASET)
    for noise, level, least_gap in TARGETS:
        setting = f"{noise} {level:g}"
        for dae in daes:
            config = _config(dae)
            clean, _ = denoising.sample_test(DATASET, n_images, seed=0)
            comparison = denoising.compare(clean, noise, level, NOISE_SEED, config)
            gap = comparison.score("dae").psnr - comparison.score("median").psnr
            # Paired per-image differences give the gap's sampling error, so a near-tie reads as one.
            diffs = (metrics.psnr_per_image(clean, comparison.outputs["dae"])
                     - metrics.psnr_per_image(clean, comparison.outputs["median"]))
            half_width = 1.96 * diffs.std(ddof=1) / np.sqrt(len(diffs))
            is_default = dae == default
            target, ok = (f">= {least_gap:g}", gap >= least_gap) if is_default else ("", None)
            rows.append(Row(name, f"{setting}: {dae} PSNR minus median {config.median_size}x{config.median_size}",
                            gap, "dB", target, ok,
                            f"{'page default; ' if is_default else ''}DAE {comparison.score('dae').psnr:.2f} dB, "
                            f"median {comparison.score('median').psnr:.2f} dB; 95% CI of the gap "
                            f"[{gap - half_width:.2f}, {gap + half_width:.2f}] dB"))
            if is_default:
                rows += _score_rows(name, comparison, config, setting)
    if not quick:
        clean, _ = denoising.sample_test(DATASET, n_images, seed=0)
        rows += _score_rows(name, denoising.compare(clean, "mask", 0.4, NOISE_SEED, _config(default)), _config(default),
                            "mask 0.4")
    return rows


@section("denoising: sweep", order=32)
def sweep_lead(quick: bool) -> list[Row]:
    """Per noise type, the default DAE's smallest lead over the best classical baseline across the levels it trained on.

    The sweep is the page's own (its images, levels and seed); the noisy input and the plain AE are not baselines.
    """
    name = "denoising: sweep"
    config = _config()
    rows = []
    for noise in corrupt.NOISE_TYPES:
        curves = denoising.sweep(noise, config)
        if curves.trained is None:
            continue
        low, high = curves.trained
        inside = (curves.levels >= low - 1e-9) & (curves.levels <= high + 1e-9)
        baselines = [m.key for m in denoising.METHODS if not m.neural]
        best = np.max([curves.psnr[key][inside] for key in baselines], axis=0)  # (levels inside,)
        lead = curves.psnr["dae"][inside] - best
        worst = int(np.argmin(lead))
        level = float(curves.levels[inside][worst])
        rows.append(Row(name, f"{noise}: DAE lead over the best baseline, worst level in its training range",
                        float(lead[worst]), "dB", "> 0", bool(lead.min() > 0),
                        f"{config.dae}; worst at level {level:g} of {int(inside.sum())} levels in [{low:g}, {high:g}]; "
                        f"baselines {', '.join(baselines)}; {curves.n_images} test images"))
    return rows


@section("denoising: speed", order=31)
def speed(quick: bool) -> list[Row]:
    name = "denoising: speed"
    config = _config()
    sweep_noises = corrupt.NOISE_TYPES[:1] if quick else corrupt.NOISE_TYPES  # --quick times one curve set
    start = time.perf_counter()
    for noise in sweep_noises:
        denoising.sweep(noise, config)
    sweep_s = time.perf_counter() - start
    denoising.evaluate("gaussian", 0.5, 0, config)  # warm: models loaded, PCA fitted, code axes fitted
    denoising.latent_view("gaussian", 0.5, 0, config)
    timings = []
    # Each new level misses the cache, as a slider move does; this is the page fragment's work.
    for level in (0.31, 0.37, 0.43, 0.47, 0.53):
        start = time.perf_counter()
        denoising.evaluate("gaussian", level, 0, config)
        denoising.latent_view("gaussian", level, 0, config)
        timings.append(time.perf_counter() - start)
    ms = 1000 * sorted(timings)[len(timings) // 2]
    return [
        Row(name, "noise-slider change, server-side compute (median of 5)", ms, "ms", f"<= {SPEED_TARGET_MS:g}",
            ms <= SPEED_TARGET_MS, f"{config.dae}: comparison on {denoising.EVAL_IMAGES} images with SSIM, "
                                   f"codes of {denoising.VIEW_IMAGES}; cached after the first visit"),
        Row(name, f"noise-level sweep, {len(sweep_noises)} noise type(s) (once per process)", sweep_s, "s",
            note=f"{denoising.SWEEP_IMAGES} images x {denoising.SWEEP_LEVELS} levels, PSNR only"),
    ]
