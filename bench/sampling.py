"""Sampling rows: FID-like distance per sampler against the test split, latent holes, and rerun speed."""

from __future__ import annotations

import time

import torch

from dashboard.core import data, zoo
from dashboard.sampling import quality, samplers

from . import Row, section

DATASET = data.DEFAULT_DATASET
N_SAMPLES = 1000  # as many samples as test images, so both Gaussians are estimated equally well
TARGET_RATIO = 1 / 3  # the better of VAE prior and AE + GMM against AE + N(0, I)
GRID_SAMPLES = 36  # images per sampler grid on the page (6 x 6)
RERUN_TARGET_MS = 300


def _quality_note(report: quality.QualityReport) -> str:
    return (f"confidence {report.mean_confidence:.2f}, class entropy {report.class_entropy:.2f}, "
            f"{report.missing_classes} classes missing, counts {list(report.class_counts)}")


@section("sampling: quality", order=60)
def sample_quality(quick: bool) -> list[Row]:
    name = "sampling: quality"
    _, card = quality.reference_classifier(DATASET)
    rows = [Row(name, "reference classifier test accuracy", card["test_accuracy"], "", "", None,
                f"{card['parameters']} parameters, trained in {card['train_seconds']} s on {card['device']}")]
    for label, report in samplers.baseline_reports(DATASET, 16, N_SAMPLES).items():
        rows.append(Row(name, f"FID-like: {N_SAMPLES} {label} vs test (yardstick)", report.frechet, "", "", None,
                        _quality_note(report)))
    sizes = [16] if quick else [2, 8, 16, 32]
    for k in sizes:
        reports = samplers.score_setups(DATASET, k, N_SAMPLES, seed=0)
        for label, report in reports.items():
            rows.append(Row(name, f"FID-like: {label}, latent {k}", report.frechet, "", "", None,
                            _quality_note(report)))
        blind, gmm, vae = (reports.get(s.label) for s in (samplers.SETUPS[0], samplers.SETUPS[2], samplers.SETUPS[3]))
        if blind and gmm and vae:
            ratio = min(gmm.frechet, vae.frechet) / blind.frechet
            target, ok = (f"<= {TARGET_RATIO:.3f}", ratio <= TARGET_RATIO) if k == 16 else ("", None)
            rows.append(Row(name, f"best of VAE prior, AE + GMM / AE + N(0, I), latent {k}", ratio, "x", target, ok,
                            f"VAE {vae.frechet:.2f}, GMM {gmm.frechet:.2f}, N(0, I) {blind.frechet:.2f}"))
        rows += _order_rows(name, k, reports)
    return rows


def _order_rows(name: str, k: int, reports: dict[str, quality.QualityReport]) -> list[Row]:
    """The lesson's order, AE + N(0, I) >> VAE prior >= AE + Gaussian >= AE + GMM, and what a mixture does for the
    VAE (Chadebec & Allassonnière, NeurIPS 2022: fitting a density after training helps every autoencoder)."""
    score = {s.kind + "-" + s.family: reports[s.label].frechet for s in samplers.SETUPS if s.label in reports}
    if len(score) < len(samplers.SETUPS):
        return []
    chain = [("AE + N(0, I)", score["standard-ae"]), ("VAE prior", score["standard-vae"]),
             ("AE + Gaussian", score["gaussian-ae"]), ("AE + GMM", score["gmm-ae"])]
    kept = [a[1] >= b[1] for a, b in zip(chain, chain[1:])]
    broken = [f"{a[0]} {a[1]:.1f} < {b[0]} {b[1]:.1f}" for (a, b), ok in zip(zip(chain, chain[1:]), kept) if not ok]
    rows = [Row(name, f"order AE + N(0, I) >= VAE prior >= AE + Gaussian >= AE + GMM, latent {k}",
                "kept" if all(kept) else "broken", note="; ".join(broken) or " >= ".join(f"{n} {v:.1f}"
                                                                                   for n, v in chain))]
    ratio = score["gmm-vae"] / score["standard-vae"]
    rows.append(Row(name, f"VAE + GMM / VAE prior, latent {k}", ratio, "x", note=f"VAE + GMM {score['gmm-vae']:.2f}, "
                    f"VAE prior {score['standard-vae']:.2f}, AE + GMM {score['gmm-ae']:.2f}"))
    return rows


@section("sampling: holes", order=61)
def latent_holes(quick: bool) -> list[Row]:
    rows = []
    yardstick = "far = beyond the 95th percentile of test-code-to-nearest-test-code distances"
    for k in (2,) if quick else (2, 3):
        for family in ("ae", "vae"):
            model_name = f"{family}-{k}"
            if model_name not in zoo.names(DATASET):
                continue
            for kind in ("standard", "gmm"):
                view = samplers.latent_map(DATASET, model_name, kind, n_samples=N_SAMPLES, seed=0)
                label = f"{model_name} + {samplers.SAMPLER_KINDS[kind].label}"
                rows.append(Row("sampling: holes", f"{label}: samples in holes", 100 * view.hole_fraction, "%", "",
                                None, yardstick))
                rows.append(Row("sampling: holes", f"{label}: test codes covered by samples", 100 * view.coverage,
                                "%", "", None, f"{N_SAMPLES} samples, {len(view.codes)} test codes"))
    return rows


def _median_ms(fn, repeats: int = 5) -> float:
    fn()  # warm: caches, lazy imports, allocator
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    return 1000 * sorted(timings)[len(timings) // 2]


@section("sampling: speed", order=62)
def speed(quick: bool) -> list[Row]:
    name = "sampling: speed"
    rows = []
    for cache in (zoo.frozen, zoo.codes, samplers.fitted_sampler):
        cache.cache_clear()
    start = time.perf_counter()
    for setup in samplers.SETUPS:
        samplers.fitted_sampler(DATASET, setup.model_name(16), setup.kind)
    rows.append(Row(name, f"encode train split + fit the {len(samplers.SETUPS)} samplers (cold, latent 16)",
                    1000 * (time.perf_counter() - start), "ms", "", None, "once per server"))
    seeds = iter(range(1, 100))  # a new seed each time, as the page's "New samples" button gives

    def sweep() -> None:
        seed = next(seeds)
        for setup in samplers.SETUPS:
            samplers.generate_sweep(DATASET, setup, 16, GRID_SAMPLES, seed=seed)

    sweep_ms = _median_ms(sweep, repeats=3)
    label = f"new seed: {len(samplers.SETUPS)} grids of {GRID_SAMPLES} at all {len(samplers.TEMPERATURES)} temperatures"
    rows.append(Row(name, label, sweep_ms, "ms", "", None, f"one decode per sampler, {torch.get_num_threads()} "
                    "torch threads; afterwards a temperature change is a lookup"))
    if not quick:
        temperatures = iter([0.5 + 0.1 * i for i in range(100)])

        def scored() -> None:
            t = next(temperatures)
            samplers.score_setups(DATASET, 16, N_SAMPLES, seed=0, temperature=t)

        scored_ms = _median_ms(scored, repeats=3)
        rows.append(Row(name, f"'Score' button: {N_SAMPLES} samples x {len(samplers.SETUPS)} samplers at a new "
                        "temperature", scored_ms,
                        "ms", "", None, "sample + decode + classifier features + Fréchet distance"))
    return rows


@section("sampling: page", order=63)
def page(quick: bool) -> list[Row]:
    from tests.harness.apptest import rerun_ms

    values = [0.5, 0.75, 1.25, 1.5, 1.75, 2.0]  # a new value each time, so every rerun shows a grid it has not shown
    ms = rerun_ms("sampling", lambda app, i: app.select_slider(key="sampling_temperature").set_value(values[i + 1]))
    rows = [Row("sampling: page", "server-side rerun after moving the temperature (median)", ms, "ms",
                f"<= {RERUN_TARGET_MS}", ms <= RERUN_TARGET_MS,
                "AppTest through streamlit_app.py, caches warm; whole script (a real server reruns only the fragment)")]
    if not quick:
        ms = rerun_ms("sampling", lambda app, i: app.button(key="sampling_reseed").click(), repeats=3)
        rows.append(Row("sampling: page", "server-side rerun after 'New samples' (median)", ms, "ms", "", None,
                        "draws, decodes and encodes every grid at every temperature for the new seed"))
    return rows
