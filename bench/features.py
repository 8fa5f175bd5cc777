"""Latent-feature rows: few-label accuracy of latent codes against raw pixels and PCA, and classifier rerun time."""

from __future__ import annotations

import statistics
import time

from dashboard import features
from dashboard.core import data, zoo
from tests.harness.apptest import open_page, rerun_ms

from . import Row, section

DATASET = data.DEFAULT_DATASET
TARGET_BUDGET = 10  # labels per class: 100 labels in all on the ten digit classes
TARGET_ACCURACY = 0.80
TARGET_MARGIN = 0.04  # over raw pixels, same classifier and label draws
SEMI_SUPERVISED_TARGET = 0.88  # Kingma et al. 2014, M1 + TSVM on full MNIST, 100 labels
RERUN_TARGET_MS = 500.0
QUICK_SEEDS = (0, 1, 2)
QUICK_FEATURE_SETS = ("raw", "pca-16", "ae-16", "vae-16")


def _table_rows(section_name: str, classifier: str, table, budgets: list) -> list[Row]:
    """One row per feature set: accuracy at the target budget, the other budgets in the note."""
    rows = []
    for feature_set, group in table.groupby("feature_set", sort=False):
        by_budget = {r.budget: r for r in group.itertuples()}
        main = by_budget[str(TARGET_BUDGET)]
        others = " · ".join(
            f"{features.budget_label(b, DATASET)}: {by_budget[str(b)].mean:.3f}"
            + (f"±{by_budget[str(b)].std:.3f}" if by_budget[str(b)].n_draws > 1 else "")
            for b in budgets if b != TARGET_BUDGET)
        note = f"±{main.std:.3f} over {main.n_draws} draws" + (f"; {others}" if others else "")
        rows.append(Row(section_name, f"{features.CLASSIFIERS[classifier]}, {features.feature_set_label(feature_set)}, "
                        f"{TARGET_BUDGET * 10} labels", main.mean, note=note))
    return rows


@section("features: few labels", order=50)
def few_labels(quick: bool) -> list[Row]:
    """Logistic regression on every feature set and label budget of mnist-5k (test split), mean over label draws."""
    name = "features: few labels"
    feature_sets = list(QUICK_FEATURE_SETS) if quick else features.feature_sets(DATASET)
    budgets = [TARGET_BUDGET] if quick else features.budgets_for(DATASET)
    seeds = QUICK_SEEDS if quick else features.SEEDS
    table = features.accuracy_table(DATASET, "logistic", feature_sets, budgets, seeds)
    rows = _table_rows(name, "logistic", table, budgets)

    at_target = table[table.budget == str(TARGET_BUDGET)].set_index("feature_set")["mean"]
    latent = [f for f in at_target.index if features.parse_feature_set(f)[0] in ("ae", "vae")]
    best = max(latent, key=lambda f: at_target[f])
    raw = at_target["raw"]
    margin = at_target[best] - raw
    draws = f"{len(seeds)} stratified label draws"
    accuracy = float(at_target[best])
    rows.append(Row(name, f"best AE/VAE features ({best}), {TARGET_BUDGET * 10} labels, logistic regression",
                    accuracy, target=f">= {TARGET_ACCURACY:.2f}", ok=accuracy >= TARGET_ACCURACY,
                    note=f"test split of {DATASET}, mean of {draws}"))
    rows.append(Row(name, f"{best} minus raw pixels, {TARGET_BUDGET * 10} labels", 100 * float(margin), "points",
                    f">= {100 * TARGET_MARGIN:.0f}", bool(margin >= TARGET_MARGIN - 1e-9),
                    f"raw pixels {raw:.3f}, PCA-16 {at_target.get('pca-16', float('nan')):.3f}"))
    return rows + _semi_supervised_rows(name, feature_sets, seeds)


def _semi_supervised_rows(name: str, feature_sets: list[str], seeds: tuple[int, ...]) -> list[Row]:
    """Label spreading on the same label draws: every training image's features, only the drawn labels."""
    table = features.accuracy_table(DATASET, "spreading", feature_sets, [TARGET_BUDGET], seeds)
    rows = _table_rows(name, "spreading", table, [TARGET_BUDGET])
    at_target = table.set_index("feature_set")["mean"]
    latent = [f for f in at_target.index if features.parse_feature_set(f)[0] in ("ae", "vae", "dae")]
    best = max(latent, key=lambda f: at_target[f])
    accuracy = float(at_target[best])
    rows.append(Row(name, f"best feature set ({best}), {TARGET_BUDGET * 10} labels, label spreading "
                    "(semi-supervised)", accuracy, target=f">= {SEMI_SUPERVISED_TARGET:.2f}",
                    ok=accuracy >= SEMI_SUPERVISED_TARGET,
                    note=f"scikit-learn LabelSpreading(kernel='knn', 7 neighbours) on standardised codes of all "
                         f"{len(data.load(DATASET).y_train):,} training images, {TARGET_BUDGET * 10} of them "
                         f"labelled; test split untouched; mean of {len(seeds)} label draws; raw pixels "
                         f"{at_target['raw']:.3f}"))
    return rows


@section("features: other classifiers", order=51)
def other_classifiers(quick: bool) -> list[Row]:
    """k-NN, RBF SVM and random forest on the 16-number codes against raw pixels and PCA-16 (full run only)."""
    name = "features: other classifiers"
    if quick:
        return [Row(name, "k-NN, SVM, forest tables", "skipped", note="full run only (about a minute per classifier)")]
    rows = []
    feature_sets = [f for f in ("raw", "pca-16", "ae-16", "vae-16", "dae-16") if f in features.feature_sets(DATASET)]
    budgets = features.budgets_for(DATASET)
    for classifier in ("knn", "svm", "forest"):
        start = time.perf_counter()
        table = features.accuracy_table(DATASET, classifier, feature_sets, budgets)
        seconds = time.perf_counter() - start
        rows += _table_rows(name, classifier, table, budgets)
        rows.append(Row(name, f"{features.CLASSIFIERS[classifier]}: accuracy curves computed from cached features",
                        seconds, "s", note=f"{len(feature_sets)} feature sets x {len(budgets)} budgets, once per "
                        "process (the page's cold chart for this classifier)"))
    return rows


def _median_ms(fn, repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds; the CPU time shows what a busy, shared machine added."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(1000 * (time.perf_counter() - start))
        cpu.append(1000 * (time.process_time() - start_cpu))
    return statistics.median(wall), statistics.median(cpu)


@section("features: speed", order=52)
def speed(quick: bool) -> list[Row]:
    """Feature extraction once per feature set, then a classifier refit from the cached arrays."""
    name = "features: speed"
    rows = []
    cold = features.features(DATASET, "ae-16")
    rows.append(Row(name, "ae-16 codes of the whole dataset (5,000 images), first time", 1000 * cold.seconds, "ms",
                    note="then cached per process: classifiers refit from these arrays"))
    feature_sets = QUICK_FEATURE_SETS
    for feature_set in feature_sets:
        features.features(DATASET, feature_set)
    repeats = 1 if quick else 3
    worst, worst_setting = 0.0, ""
    for classifier in features.CLASSIFIERS:
        per_set = {f: _median_ms(lambda f=f, c=classifier: features.evaluate(DATASET, f, c, TARGET_BUDGET), repeats)
                   for f in feature_sets}
        slowest = max(per_set, key=lambda f: per_set[f][0])
        wall, cpu = per_set[slowest]
        rows.append(Row(name, f"refit {features.CLASSIFIERS[classifier]}, {TARGET_BUDGET * 10} labels, cached "
                        "features", wall, "ms", note=f"slowest of {', '.join(feature_sets)} ({slowest}); "
                        f"median of {repeats}; CPU {cpu:.0f} ms"))
        if wall > worst:
            worst, worst_setting = wall, f"{classifier} on {slowest}, CPU {cpu:.0f} ms"
    # The 500 ms target is held by the page's whole rerun ("features: page"); this row says how much of it a fit is.
    rows.append(Row(name, f"classifier change, {TARGET_BUDGET * 10} labels: slowest refit + test predictions", worst,
                    "ms", note=worst_setting))
    if not quick:
        for classifier in features.CLASSIFIERS:
            ms = max(_median_ms(lambda f=f, c=classifier: features.evaluate(DATASET, f, c, features.ALL), 1)[0]
                     for f in feature_sets)
            rows.append(Row(name, f"refit {features.CLASSIFIERS[classifier]}, all {len(data.load(DATASET).y_train)} "
                            "labels, cached features", ms, "ms", note="slowest feature set; no target (worst case)"))
    rows.append(Row(name, "shipped models scored", len(zoo.names(DATASET)), note=", ".join(zoo.names(DATASET))))
    return rows


# (classifier, label draw) per measured rerun; i = -1 warms the caches. No pair repeats, and none is the page's
# opening setting (logistic, draw 0), so every measured rerun fits two pipelines: the chosen features and raw pixels.
PAGE_CHANGES = {-1: ("svm", 4), 0: ("knn", 1), 1: ("svm", 2), 2: ("forest", 3), 3: ("logistic", 4), 4: ("knn", 3)}


def _change_classifier(app, i: int) -> None:
    classifier, draw = PAGE_CHANGES[i]
    app.selectbox(key="features_classifier").set_value(classifier)
    app.number_input(key="features_draw").set_value(draw)


def _rerun_cpu_ms(page_name: str, change, repeats: int = 5) -> float:
    """Median CPU time of the same reruns as rerun_ms: the work itself, without waiting for a busy CPU."""
    app = open_page(page_name)
    change(app, -1)
    app.run()
    timings = []
    for i in range(repeats):
        change(app, i)
        start = time.process_time()  # every thread of this process, the script runner's included
        app.run()
        timings.append(1000 * (time.process_time() - start))
    return statistics.median(timings)


@section("features: page", order=53)
def page(quick: bool) -> list[Row]:
    """The Latent features page's server-side rerun after a classifier change, features cached (AppTest)."""
    ms = rerun_ms("features", _change_classifier)
    what = ("AppTest; each rerun refits the chosen pipeline and its raw-pixel comparison from cached features "
            "(10 labels per class, a new label draw each time)")
    rows = [Row("features: page", "server-side rerun after changing the classifier (median of 5)", ms, "ms",
                f"<= {RERUN_TARGET_MS:.0f}", ms <= RERUN_TARGET_MS, what)]
    if not quick:  # a second app session; the full run can afford it
        cpu = _rerun_cpu_ms("features", _change_classifier)
        rows.append(Row("features: page", "CPU time of the same reruns (median of 5)", cpu, "ms",
                        note="all threads of this process: the work itself, about the wall time on an idle machine"))
    return rows
