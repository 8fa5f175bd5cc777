"""Anomaly-detection rows: one-class and novelty AUROC per digit against classical baselines, corrupted inputs."""

from __future__ import annotations

import time

import numpy as np

from dashboard import anomaly
from dashboard.core import data, threads
from tests.harness.apptest import rerun_ms

from . import Row, section

DATASET = data.DEFAULT_DATASET
DEEP_SVDD_MNIST_MEAN = 0.948  # one-class mean AUROC on full MNIST, Ruff et al., ICML 2018
QUICK_DIGITS = (1, 5)  # an easy digit and the hardest one, so --quick still shows the spread
RERUN_TARGET_MS = 200.0
THRESHOLD_POSITIONS = (0.1, 0.35, 0.6, 0.2, 0.5)  # fractions of the slider's range, one per measured rerun


def _baseline_note(split: anomaly.Split, extra: dict[str, float]) -> tuple[str, dict[str, float]]:
    table = {**extra, **anomaly.baseline_aurocs(split)}
    short = {"PCA reconstruction error": "PCA", "IsolationForest": "IF", "One-Class SVM": "OC-SVM"}
    return " · ".join(f"{short.get(k, k)} {v:.3f}" for k, v in table.items()), table


def _digit_rows(scenario: str, quick: bool) -> list[Row]:
    name = f"anomaly: {scenario}"
    digits = QUICK_DIGITS if quick else range(10)
    config = anomaly.DETECTOR_CONFIGS[scenario]
    rows, per_method, seconds = [], {}, []
    for digit in digits:
        split = anomaly.make_split(DATASET, scenario, digit)
        result = anomaly.train_detector(split, config)
        seconds.append(result.seconds)
        evaluation = anomaly.evaluate(result.model, split, anomaly.DEFAULT_SCORE)
        mse = anomaly.auroc(split.y_test, anomaly.anomaly_scores(result.model, split.x_test, "mse"))
        note, table = _baseline_note(split, {"AE MSE": mse})
        per_method.setdefault(f"AE {anomaly.DEFAULT_SCORE}", []).append(evaluation.auroc)
        for method, value in table.items():
            per_method.setdefault(method, []).append(value)
        role = "normal" if scenario == "one-class" else "held-out"
        rows.append(Row(name, f"{role} digit {digit}: AE AUROC ({anomaly.DEFAULT_SCORE})", evaluation.auroc,
                        note=f"AP {evaluation.average_precision:.3f}; {note}"))
    label = f"{len(list(digits))} digits" + (" (--quick subset)" if quick else "")
    for method, values in per_method.items():
        mean = float(np.mean(values))
        is_main = method.startswith("AE ") and method.endswith(anomaly.DEFAULT_SCORE)
        target, ok = ("", None)
        if is_main and scenario == "one-class":
            target = f">= {DEEP_SVDD_MNIST_MEAN} (Deep SVDD, full MNIST)"
            ok = None if quick else mean >= DEEP_SVDD_MNIST_MEAN
        rows.append(Row(name, f"mean AUROC, {method}", mean, target=target, ok=ok, note=label))
    n_train = len(anomaly.make_split(DATASET, scenario, digits[0]).x_train)
    rows.append(Row(name, "detector training time per digit (median)", float(np.median(seconds)), "s",
                    note=f"{n_train} training images, {config.epochs_for(n_train)} epochs, CPU with "
                         f"{threads.serving_threads()} torch thread(s) as on the server (shared machine, see uptime)"))
    return rows


@section("anomaly: one-class", order=60)
def one_class(quick: bool) -> list[Row]:
    return _digit_rows("one-class", quick)


@section("anomaly: novelty", order=61)
def novelty(quick: bool) -> list[Row]:
    return _digit_rows("novelty", quick)


@section("anomaly: corrupted and out-of-distribution", order=62)
def shifted_inputs(quick: bool) -> list[Row]:
    name = "anomaly: corrupted and out-of-distribution"
    rows = []
    model = anomaly.detector_for(DATASET, "corrupted")
    for kind, spec in anomaly.CORRUPTIONS.items():
        split = anomaly.make_split(DATASET, "corrupted", corruption=kind)
        evaluation = anomaly.evaluate(model, split)
        note, _ = _baseline_note(split, {})
        rows.append(Row(name, f"{spec.label} (level {spec.default:g}): AUROC ({anomaly.SHIPPED_MODEL}, "
                              f"{evaluation.kind})", evaluation.auroc, note=note))
    start = time.perf_counter()
    try:
        split = anomaly.make_split(DATASET, "ood")
    except anomaly.ScenarioUnavailable as exc:
        seconds = time.perf_counter() - start
        rows.append(Row(name, "Fashion-MNIST vs digits: AUROC", "unavailable",
                        note=f"offline: failed cleanly in {seconds:.1f} s ({str(exc)[:60]}...)"))
    else:
        evaluation = anomaly.evaluate(model, split)
        note, _ = _baseline_note(split, {})
        rows.append(Row(name, f"Fashion-MNIST vs digits: AUROC ({anomaly.SHIPPED_MODEL}, {evaluation.kind})",
                        evaluation.auroc, note=note))
    return rows


def _move_threshold(app, i: int) -> None:
    """Warm-up (i = -1): switch to the manual threshold; then drag it to a new place each time."""
    if i < 0:
        app.radio(key="anomaly_rule").set_value("manual")
        return
    slider = app.slider(key="anomaly_threshold")
    slider.set_value(slider.min + THRESHOLD_POSITIONS[i % len(THRESHOLD_POSITIONS)] * (slider.max - slider.min))


@section("anomaly: speed", order=63)
def speed(quick: bool) -> list[Row]:
    """Server-side rerun after the threshold moves, caches warm; scores must not be recomputed."""
    ms = rerun_ms("anomaly", _move_threshold)
    return [Row("anomaly: speed", "server-side rerun after moving the threshold (median)", ms, "ms",
                f"<= {RERUN_TARGET_MS:.0f}", ms <= RERUN_TARGET_MS,
                "AppTest reruns the whole page, one-class digit 0; a real server reruns only the threshold "
                "fragment, so this is an upper bound")]
