"""VAE page rows: active units per β, the conditional VAE per class, the VAE prior against one Gaussian, attributes."""

from __future__ import annotations

import numpy as np

from dashboard.core import data, metrics, variants, zoo
from dashboard.sampling import quality
from dashboard.vae import attributes, conditional, elbo, prior

from . import Row, section

DATASET = data.DEFAULT_DATASET
CVAE_TARGET = 0.95  # share of the samples asked for a digit that the classifier calls that digit, every digit
DIRECTION_TARGET = 0.9  # share of test digits whose slant moves one way, and whose verdict holds, over the range
REACH = {"slant": 1.0, "thickness": 1.5}  # the page's slider range (dashboard.app.cached.vae.REACH)
FIT_EVERY = 4  # as the page: directions fitted on every 4th training digit


@section("vae: beta and active units", order=62)
def beta_ladder(quick: bool) -> list[Row]:
    name = "vae: beta and active units"
    rows = []
    for k in variants.BETA_LATENTS:
        rungs = [elbo.measure_rung(model, DATASET) for model in elbo.ladder_names(k)]
        for rung in rungs:
            rows.append(Row(name, f"active units, {rung.name}", float(rung.active), f"of {k}", "", None,
                            f"mean KL {rung.kl:.2f} nats, reconstruction {rung.recon:.1f} nats, test MSE "
                            f"{rung.mse:.4f}; KL > {elbo.ACTIVE_THRESHOLD} nats counts as active"))
        active = [r.active for r in rungs]
        if k == 16:
            falls = all(a >= b for a, b in zip(active, active[1:])) and active[0] > active[-1]
            rows.append(Row(name, "active units fall as beta grows (k = 16)", " > ".join(map(str, active)), "",
                            "non-increasing, first > last", falls))
            rows.append(Row(name, f"silent units at beta {variants.BETAS[-1]:g} (k = 16)", float(k - active[-1]),
                            f"of {k}", f">= {k // 2}", k - active[-1] >= k // 2))
    return rows


@section("vae: conditional VAE", order=63)
def conditional_vae(quick: bool) -> list[Row]:
    name = "vae: conditional VAE"
    model = zoo.frozen(variants.CVAE, DATASET)
    n = 200 if quick else conditional.N_PER_CLASS
    rows, worst = [], 1.0
    for digit in range(10):
        score = conditional.score_class(model, DATASET, digit, n)
        worst = min(worst, score.accuracy)
        rows.append(Row(name, f"digit {digit}: classified as asked, of {n}", score.accuracy, "", "", None,
                        f"FID-like {score.frechet:.1f} vs this digit's test images (real train images: "
                        f"{score.real_frechet:.1f})"))
    rows.append(Row(name, "worst digit: classified as asked", worst, "", f">= {CVAE_TARGET}", worst >= CVAE_TARGET))
    return rows


@section("vae: prior against one Gaussian", order=64)
def prior_against_gaussian(quick: bool) -> list[Row]:
    name = "vae: prior against one Gaussian"
    gaussian = prior.gaussian_row(DATASET, 16)
    rows = [Row(name, f"FID-like: {gaussian.label} ({gaussian.model})", gaussian.frechet, "", "", None,
                f"confidence {gaussian.mean_confidence:.2f}")]
    vae = prior.prior_row(DATASET, "vae-16", "vae-16 + N(0, I) prior")
    rows.append(Row(name, f"FID-like: {vae.label}", vae.frechet, "", f"< {gaussian.frechet:.1f}",
                    vae.frechet < gaussian.frechet, f"confidence {vae.mean_confidence:.2f}"))
    for model in elbo.ladder_names(16):
        row = prior.prior_row(DATASET, model, f"{model} + N(0, I) prior")
        rows.append(Row(name, f"FID-like: {row.label}", row.frechet, "", "", None,
                        f"confidence {row.mean_confidence:.2f}"))
    return rows


@section("vae: attribute directions", order=65)
def attribute_directions(quick: bool) -> list[Row]:
    name = "vae: attribute directions"
    ds = data.load(DATASET)
    model = zoo.frozen("vae-16", DATASET)
    x, y = ds.x_train[::FIT_EVERY], ds.y_train[::FIT_EVERY].numpy()
    codes = metrics.encode(model, x).numpy()
    n_test = 200 if quick else len(ds.x_test)
    test_codes = metrics.encode(model, ds.x_test[:n_test]).numpy()
    rows = []
    for attribute, measure in attributes.MEASURES.items():
        direction = attributes.fit_direction(codes, measure(x), y, attribute)
        steps = np.linspace(-REACH[attribute], REACH[attribute], 9)
        images = attributes.push_many(model, test_codes, direction, steps)
        verdicts = np.stack([quality.verdicts(step, DATASET)[0] for step in images])
        check = attributes.check_direction(images, verdicts, direction)
        note = (f"±{REACH[attribute]:g} within-class sd, {n_test} test digits; mean change {check.change:+.3f} "
                f"{attributes.UNITS[attribute]}; codes predict {direction.r2:.0%} of its within-class variance")
        target = attribute == "slant"
        rows += [
            Row(name, f"{attribute}: rises from one end to the other", check.rises, "",
                f">= {DIRECTION_TARGET}" if target else "", check.rises >= DIRECTION_TARGET if target else None, note),
            Row(name, f"{attribute}: rises at every step", check.monotone, "", "", None),
            Row(name, f"{attribute}: class verdict holds over the range", check.class_holds, "",
                f">= {DIRECTION_TARGET}", check.class_holds >= DIRECTION_TARGET),
        ]
    return rows
