"""The demo tour: a ten-minute path through the pages as data, and the live result each stop highlights."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from dashboard.core import artifacts, data, metrics, pagemap, zoo
from dashboard.lesson import hourglass

if TYPE_CHECKING:
    from dashboard import anomaly

DEMO_MINUTES = 10.0  # the stakeholder walk-through the tour is timed for
STEP_PARAM = "stop"  # query parameter that holds the tour position, 1-based as people count
LATENT = 16  # the code size every highlight uses: shipped for every offline dataset, and the pages' default
N_SHOWN = 10  # images per row of a highlight: one per digit class where the row shows test images
# The stored highlights' version: bump it when a highlight's computation changes (checkpoints, data and parameters
# are tracked by themselves), so the build's old result is computed live until the build stores it anew.
HIGHLIGHT_VERSION = 1


@dataclass(frozen=True)
class Stop:
    """One stop of the tour."""

    page: str  # url path of the page (one of pagemap.URL_PATHS)
    title: str  # short heading shown on the tour
    takeaway: str  # the one sentence to remember from this stop
    look_at: str  # the single highlighted result on that page, named so a presenter can point at it
    minutes: float  # rough time to spend here in a ten-minute demo
    params: Mapping[str, str] = field(default_factory=dict)  # query parameters that open the page on the right view


STOPS: tuple[Stop, ...] = (
    Stop(
        page="overview",
        title="The hourglass",
        takeaway="An autoencoder squeezes each image through a small code and learns, without labels, "
                 "to rebuild the image from that code alone.",
        look_at="The three panels x → z → x̂: the image becomes 16 numbers in the bar chart and comes back as "
                "a slightly softer copy of the digit, with the error printed below (the page opens on test image "
                "#0, whose error the tour quotes).",
        minutes=1.5,
    ),
    Stop(
        page="latent-space",
        title="The latent space",
        takeaway="Every point of the code space decodes to an image, but the decoder was trained only near the "
                 "training codes, and both maps have holes between them; a VAE's KL term packs its codes round "
                 "the origin rather than removing the holes.",
        look_at="The two maps side by side: sweep the pointer across a gap on each map and watch the picture "
                "beside it, then read the holes counted under each map.",
        minutes=1.0,
    ),
    Stop(
        page="compression",
        title="Compression",
        takeaway="The code is a learned summary: with a small code it rebuilds digits better than PCA with as "
                 "many numbers, but only for data like its training set.",
        look_at="The rate–distortion chart: the autoencoder's error line against PCA's at every code size, with "
                "the chosen size marked.",
        minutes=1.5,
        params={"k": str(LATENT)},
    ),
    Stop(
        page="denoising",
        title="Denoising",
        takeaway="Train with noisy input and a clean target, and the network learns to clean images "
                 "better than filters that know nothing about digits.",
        look_at="The PSNR and SSIM table: the denoising autoencoder's row against the median filter and Gaussian blur "
                "at the same noise.",
        minutes=1.5,
    ),
    Stop(
        page="anomaly",
        title="Anomaly detection",
        takeaway="Inputs unlike the training data rebuild badly or get codes unlike the training codes, so either "
                 "can serve as an anomaly score; the threshold is a choice you have to make.",
        look_at="The two score histograms with the threshold slider: move it and watch the confusion matrix, "
                "precision and recall trade against each other.",
        minutes=1.5,
        params={"scenario": "corrupted", "corruption": "rotation", "rule": "percentile"},
    ),
    Stop(
        page="features",
        title="Latent features",
        takeaway="Codes learned from unlabelled images can feed an ordinary classifier, which helps most when "
                 "labels are scarce, though it does not always beat raw pixels.",
        look_at="The test accuracy at the top with 10 labels per class, the AE's code against raw pixels (pick PCA "
                "or VAE under Features for theirs), then the chart below, which averages five draws of labels.",
        minutes=1.5,
        params={"labels": "10", "clf": "logistic"},
    ),
    Stop(
        page="sampling",
        title="Sampling",
        takeaway="Decoding random codes makes new images only if the codes come from where the data lives: "
                 "a VAE or a density fitted to the codes gets that right, a plain autoencoder with N(0, I) does not.",
        look_at="The sample grids side by side: smudges from the plain autoencoder with N(0, I), recognisable digits "
                "from the VAE and the fitted mixture, with the FID-like distance under each.",
        minutes=1.0,
    ),
    Stop(
        page="quiz",
        title="Check yourself",
        takeaway="A few questions show whether the ideas landed, and each answer links back to the page "
                 "that shows it live.",
        look_at="The running score and the explanation that appears under each answer.",
        minutes=0.5,
    ),
)


def validate(stops: Sequence[Stop] = STOPS) -> list[str]:
    """Problems with a tour definition; empty when every stop is well formed and the tour fits the demo."""
    problems = []
    if not stops:
        return ["the tour has no stops"]
    seen: set[str] = set()
    for position, stop in enumerate(stops, start=1):
        where = f"stop {position} ({stop.page})"
        if stop.page not in pagemap.URL_PATHS:
            problems.append(f"{where}: unknown page, not in the page registry (dashboard.core.pagemap)")
        if stop.page in seen:
            problems.append(f"{where}: the page is visited twice")
        seen.add(stop.page)
        for name in ("title", "takeaway", "look_at"):
            if not getattr(stop, name).strip():
                problems.append(f"{where}: empty {name}")
        # A takeaway is one sentence: one full stop, at the end.
        if stop.takeaway.strip().rstrip(".").count(". ") or not stop.takeaway.strip().endswith("."):
            problems.append(f"{where}: the takeaway must be one sentence ending with a full stop")
        if stop.minutes <= 0:
            problems.append(f"{where}: minutes must be positive")
    total = sum(stop.minutes for stop in stops)
    if total > DEMO_MINUTES:
        problems.append(f"the tour takes {total:g} minutes, more than the {DEMO_MINUTES:g}-minute demo")
    return problems


class TourError(ValueError):
    """The tour names a page the app does not have, or breaks another rule of validate()."""


def checked(stops: Sequence[Stop] = STOPS) -> list[Stop]:
    """The stops in tour order once validate() finds nothing wrong; TourError lists every problem otherwise."""
    problems = validate(stops)
    if problems:
        raise TourError("The tour is invalid:\n- " + "\n- ".join(problems))
    return list(stops)


def available(pages: Iterable[str], stops: Sequence[Stop] = STOPS) -> list[Stop]:
    """The stops, in tour order, after checking that every stop's page is among `pages`.

    A stop on a page that is missing is an error, never skipped: the demo would lose a stop without anyone noticing.
    """
    present = set(pages)
    missing = [stop.page for stop in stops if stop.page not in present]
    if missing:
        raise TourError(f"The tour stops on pages the app lacks: {', '.join(missing)}.")
    return list(stops)


def clamp(index: int, n_stops: int) -> int:
    """A 0-based stop index kept inside the tour, so back on the first stop and next on the last do nothing."""
    return max(0, min(index, n_stops - 1))


# ---------------------------------------------------------------------------------------------------------------
# Highlights: each stop's one result, computed live from the shipped models with the pages' own functions
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    """A headline number of a highlight."""

    label: str  # short, it sits in a narrow metric column
    value: str  # already formatted, with its unit
    help: str = ""  # one sentence: how it was measured


@dataclass(frozen=True)
class Highlight:
    """What the tour shows for one stop: a few numbers, rows of images and one sentence on how to read them."""

    title: str  # what the numbers are, in a few words
    numbers: tuple[Figure, ...]
    rows: tuple[tuple[str, torch.Tensor], ...]  # (row label, images (N, C, H, W) in [0, 1])
    caption: str  # how the result was measured, so nobody mistakes it for more than it is
    columns: int = N_SHOWN  # images per line; a longer row wraps onto more lines


def _one_per_class(ds: data.Dataset, rank: int = 0) -> torch.Tensor:
    """Test indices of the rank-th image of each class, so that a row shows every digit rather than ten zeros."""
    return torch.stack([torch.nonzero(ds.y_test == c)[rank, 0] for c in range(len(ds.classes))])[:N_SHOWN]


def _overview(dataset: str) -> Highlight:
    ds = data.load(dataset)
    model = zoo.frozen(f"ae-{LATENT}", dataset)
    x = ds.x_test[_one_per_class(ds)]  # (N, C, H, W)
    x_hat = metrics.reconstruct(model, x)
    pixels = int(np.prod(ds.image_shape))
    first = hourglass.walk(model, ds.x_test[:1])  # the Overview's opening view: test image #0 through ae-16
    return Highlight(
        title=f"Test digits squeezed through a {LATENT}-number code",
        numbers=(Figure("Pixels in", f"{pixels}"), Figure("Numbers in z", f"{LATENT}"),
                 Figure("Squeeze", f"{pixels / LATENT:.0f}x", "Pixels per number of the code."),
                 Figure("Error, image #0", f"{first.mse:.4f}", "Mean squared pixel error of test image #0, the "
                        "image the Overview opens on, as that page shows it."),
                 Figure("Mean error, row", f"{metrics.mse(x, x_hat):.4f}", "Mean squared pixel error averaged over "
                        "the ten test digits in the row below, one of each class.")),
        rows=(("Input x", x), (f"Rebuilt x̂ from {LATENT} numbers (ae-{LATENT})", x_hat)),
        caption=f"One test digit of each class, never seen in training, squeezed to {LATENT} numbers and rebuilt.")


def _latent_space(dataset: str) -> Highlight:
    from dashboard import latent_space  # imported here: the stored highlights never need it

    grids, summaries = {}, {}
    for family in latent_space.MAP_FAMILIES:
        grids[family] = latent_space.map_grid(f"{family}-2", dataset)
        # The Latent space page shows the same summary under each map: one computation, one number.
        summaries[family] = latent_space.summary(grids[family], zoo.codes(f"{family}-2", dataset, "train"))
    numbers = [Figure(map_label(f, "holes"), f"{summaries[f].holes:.0%}", MAP_HELP["holes"]) for f in grids]
    numbers += [Figure(map_label(f, "readable"), f"{summaries[f].readable:.0%}", MAP_HELP["readable"])
                for f in grids]
    return Highlight(
        title="Two 2-number code spaces, decoded on a 64 × 64 grid",
        numbers=tuple(numbers),
        rows=tuple((f"{family}-2 across the middle of its map",
                    torch.from_numpy(latent_space.line_across(grid, N_SHOWN))[:, None])
                   for family, grid in grids.items()),
        caption="Each row decodes ten evenly spaced points on a horizontal line through the middle of a map, "
                "data or not. The numbers count grid points inside the box where each model's training codes "
                "mostly lie, so the two maps are compared on the ground their data covers.")


# What the Latent space page and this stop say under each map's numbers.
MAP_HELP = {
    "holes": "Share of grid points, in the box where the middle 90% of the map's training codes lie on each axis, "
             "that are sparser than 95% of its training codes: places the decoder was hardly trained on.",
    "readable": "Share of the same grid points whose decode the reference classifier reads with 90% confidence or "
                "more.",
}


def map_label(family: str, what: str) -> str:
    """The label of one map number, "AE: holes", the same on the Latent space page and on the tour."""
    return f"{family.upper()}: {what}"


def _compression(dataset: str) -> Highlight:
    from dashboard import compression
    from dashboard.core import baselines  # imported here: the stored highlights never need it

    ds = data.load(dataset)
    # The Compression page's computation: codes stored as 16-bit floats, scored over the whole test split.
    codecs = compression.codecs_for(dataset, LATENT, zoo.frozen, methods=("AE", "PCA"))
    ae_mse, pca_mse = (float(compression.encode_test_set(codecs[method], ds.x_test).mse.mean())
                       for method in ("AE", "PCA"))
    x = ds.x_test[_one_per_class(ds, rank=1)]  # (N, C, H, W)
    ae = metrics.reconstruct(zoo.frozen(f"ae-{LATENT}", dataset), x)
    pca = baselines.pca_reconstruct(baselines.pca_for(dataset, LATENT), x)
    return Highlight(
        title=f"Reconstruction error with {LATENT} numbers per image (MSE, lower is better)",
        numbers=(Figure(f"AE-{LATENT} error", f"{ae_mse:.4f}", "Test-set MSE, codes stored as 16-bit floats."),
                 Figure(f"PCA-{LATENT} error", f"{pca_mse:.4f}", f"PCA with {LATENT} components, same split."),
                 Figure("AE / PCA", f"{ae_mse / pca_mse:.2f}x", "Below 1: the autoencoder's error is lower.")),
        rows=(("Original", x), (f"AE, {LATENT} numbers", ae), (f"PCA, {LATENT} numbers", pca)),
        caption=f"Both methods keep {LATENT} numbers per image and learn from the same training split; the errors "
                f"are averaged over the whole test split of {dataset}.")


def _denoising(dataset: str) -> Highlight:
    from dashboard import denoising  # imported here: the stored highlights never need it

    noise = denoising.DEFAULT_NOISE  # Gaussian: the caption and row labels below say so
    level = denoising.DEFAULT_LEVELS[noise]
    result = denoising.evaluate(noise, level, 0, denoising.config_for(dataset))  # the page's default view
    noisy, dae, median = (result.score(key) for key in (denoising.NOISY_KEY, "dae", "median"))
    return Highlight(
        title="PSNR against the clean digits (higher is better)",
        numbers=(Figure("Noisy input", f"{noisy.psnr:.1f} dB", "PSNR of the corrupted images against the clean."),
                 Figure("Median filter", f"{median.psnr:.1f} dB", "A 3x3 median filter, the classic denoiser."),
                 Figure("DAE", f"{dae.psnr:.1f} dB", "The denoising autoencoder, trained on noisy input."),
                 Figure("DAE gain", f"{dae.psnr - median.psnr:+.1f} dB", "Over the median filter; 3 dB is about "
                                                                         "half the squared error.")),
        rows=((f"Noisy (Gaussian σ = {level:g})", result.noisy[:N_SHOWN]),
              ("Median filter", result.outputs["median"][:N_SHOWN]), ("DAE", result.outputs["dae"][:N_SHOWN]),
              ("Clean", result.clean[:N_SHOWN])),
        caption=f"PSNR averaged over {result.n_scored} test digits with fresh Gaussian noise of standard "
                f"deviation {level:g} (pixels from 0 to 1), drawn with a fixed seed.")


def _anomaly(dataset: str) -> Highlight:
    from dashboard import anomaly  # imported here: the stored highlights never need it

    # Rotation, not noise: noise is flagged perfectly, while rotated digits show why the threshold matters.
    split = anomaly.make_split(dataset, "corrupted", corruption="rotation")
    evaluation = anomaly.evaluate(zoo.frozen(anomaly.SHIPPED_MODEL, dataset), split)
    threshold = evaluation.threshold("percentile", 99.0)
    point = evaluation.at(threshold)
    worst, best = evaluation.extremes(N_SHOWN)
    hardest = _least_flagged_classes(split, evaluation.scores > threshold)
    return Highlight(
        title="Rotated digits as anomalies, at a 99th-percentile threshold",
        numbers=(Figure("AUROC", f"{evaluation.auroc:.3f}", "Chance that a rotated digit scores higher than an upright "
                                                              "one; 0.5 is guessing."),
                 Figure("Recall", f"{point.recall:.1%}", "Share of rotated digits flagged at the threshold."),
                 Figure("Precision", f"{point.precision:.1%}", "Share of flagged digits that really are rotated."),
                 Figure("False alarms", f"{point.fp}", "Upright test digits flagged at the threshold.")),
        rows=(("Most anomalous (highest score)", split.x_test[worst.copy()]),
              ("Most normal (lowest score)", split.x_test[best.copy()])),
        caption=f"{split.description} The shipped {anomaly.SHIPPED_MODEL} scores each image by how badly it rebuilds "
                "it and how far its code lies from the training digits' codes, and the threshold flags anything worse "
                "than 99% of the training digits. "
                + (f"The threshold catches {point.recall:.0%} of the rotated digits; the ones it misses most are "
                   f"rotated {hardest}, so a good ranking (AUROC) alone does not make a good detector."
                   if point.recall < 0.9 else f"This threshold catches {point.recall:.0%} of the rotated digits."))


def _least_flagged_classes(split: anomaly.Split, flagged: np.ndarray, n: int = 3) -> str:
    """The n classes whose anomalous test images are flagged least often, as "0s (0% flagged), ..."."""
    classes = np.array([name.split(",")[0] for name in split.test_names])
    anomalous = split.y_test == 1
    rates = {c: float(flagged[anomalous & (classes == c)].mean()) for c in sorted(set(classes[anomalous]))}
    lowest = sorted(rates, key=lambda c: (rates[c], c))[:n]
    return ", ".join(f"{c}s ({rates[c]:.0%} flagged)" for c in lowest)


def _features(dataset: str) -> Highlight:
    from dashboard import features  # imported here: the stored highlights never need it

    budget = 10
    sets = ("raw", f"pca-{LATENT}", f"ae-{LATENT}", f"vae-{LATENT}")
    scores = {name: features.evaluate(dataset, name, "logistic", budget) for name in sets}
    ds = data.load(dataset)
    labelled = np.array(scores["raw"].labelled)  # a writable copy: the cached array is read-only
    by_class = labelled[np.argsort(ds.y_train[labelled].numpy(), kind="stable")]
    return Highlight(
        title=f"Test accuracy with {budget} labels per class",
        numbers=tuple(Figure(features.feature_set_label(name), f"{result.accuracy:.1%}",
                             f"Test accuracy of logistic regression on {features.feature_set_label(name).lower()} "
                             f"features.") for name, result in scores.items()),
        rows=(("Every label the classifier saw, sorted by class", ds.x_train[torch.from_numpy(by_class)]),),
        caption=f"Logistic regression trained on {len(labelled)} labelled images ({budget} per class, the page's "
                f"first draw of labels) and tested on "
                f"all {len(ds.x_test)} test images. The encoders learned from the training images without labels. "
                f"Best here: {features.feature_set_label(max(scores, key=lambda name: scores[name].accuracy))}.",
        columns=budget)  # one line per class


def _sampling(dataset: str) -> Highlight:
    from dashboard.sampling import samplers  # imported here: the stored highlights never need it

    shown = (samplers.SETUPS[0], samplers.SETUPS[2], samplers.SETUPS[3])  # AE + N(0, I), AE + mixture, VAE prior
    reports = samplers.scores(dataset, LATENT)  # the Sampling page's scores at its defaults: one source
    rows, numbers = [], []
    for setup in shown:
        images = samplers.generate(dataset, setup, LATENT, n=N_SHOWN, seed=samplers.SCORE_SEED)  # (10, C, H, W)
        rows.append((setup.label, images))
        numbers.append(Figure(setup.label, f"{reports[setup.label].frechet:.1f}", "FID-like distance to the test "
                              "set (lower is closer); only comparable inside this app."))
    return Highlight(
        title="FID-like distance of the samples to real digits (lower is better)",
        numbers=tuple(numbers), rows=tuple(rows),
        caption=f"New images decoded from codes of size {LATENT} drawn three ways. The distance compares "
                f"{samplers.N_SCORED:,} samples with the test set in the features of a small classifier trained "
                "on the same data, as the Sampling page does.")


HIGHLIGHTS: dict[str, Callable[[str], Highlight]] = {
    "overview": _overview, "latent-space": _latent_space, "compression": _compression, "denoising": _denoising,
    "anomaly": _anomaly, "features": _features, "sampling": _sampling,
}


def highlight(page: str, dataset: str = data.DEFAULT_DATASET) -> Highlight | None:
    """The result of a stop on a dataset, or None for stops without one (the quiz shows your own score).

    The build stores each stop's highlight for the shipped models; without a fresh stored one it is computed live.
    """
    compute = HIGHLIGHTS.get(page)
    if compute is None:
        return None
    models = [*zoo.names(dataset), "reference-classifier"]
    return artifacts.stored("tour.highlight", dataset, {"page": page}, models, lambda: compute(dataset),
                            version=HIGHLIGHT_VERSION)
