"""Today's generators rows: latent diffusion's FID-like score, class balance, copying and holes, and its speed."""

from __future__ import annotations

import time

import numpy as np
import torch

from dashboard.core import data, zoo
from dashboard.generators import diffusion
from dashboard.sampling import quality, samplers

from . import Row, section

DATASET = data.DEFAULT_DATASET
N_SAMPLES = samplers.N_SCORED
N_HOLES = 500  # samples per sampler on the 2-D map, as on the Sampling page
BALANCE_TARGET = 0.03  # largest gap between a class's share and a uniform share
TRAIN_TARGET_S = 300


@section("generators: latent diffusion", order=62)
def latent_diffusion(quick: bool) -> list[Row]:
    name = "generators: latent diffusion"
    setup = next(s for s in samplers.SETUPS if s.kind == "diffusion")
    rows = []
    datasets = [DATASET] if quick else list(data.OFFLINE_DATASETS)
    for dataset in datasets:
        gmm = quality.assess(samplers.generate(dataset, samplers.SETUPS[2], 16, N_SAMPLES, seed=0), dataset)
        rebuilt = samplers.baseline_reports(dataset, 16, N_SAMPLES)["ae-16 reconstructions"]
        start = time.perf_counter()
        codes = samplers.fitted_sampler(dataset, "ae-16", "diffusion").sample(N_SAMPLES, seed=0)  # (n, 16)
        sample_s = time.perf_counter() - start
        report = quality.assess(samplers.decode(zoo.frozen("ae-16", dataset), codes), dataset)
        # Half the gap between today's best fitted density and the decoder's own reconstructions.
        target = (gmm.frechet + rebuilt.frechet) / 2
        rows.append(Row(name, f"{dataset}: FID-like, {setup.label}, latent 16", report.frechet, "",
                        f"<= {target:.1f}", report.frechet <= target,
                        f"AE + GMM {gmm.frechet:.1f}, ae-16 reconstructions {rebuilt.frechet:.1f}; "
                        f"{diffusion.DEFAULT_STEPS} steps, guidance {diffusion.DEFAULT_GUIDANCE}"))
        gap = diffusion.class_share_gap(report.class_counts)
        rows.append(Row(name, f"{dataset}: largest class share gap from uniform", 100 * gap, "points",
                        f"<= {100 * BALANCE_TARGET:.0f}", gap <= BALANCE_TARGET, f"counts {list(report.class_counts)}"))
        copy = diffusion.copy_check(dataset, "ae-16", codes.numpy())
        rows.append(Row(name, f"{dataset}: median distance to the nearest training code, generated",
                        copy.generated_median, "", f">= test codes' {copy.test_median:.3f}", not copy.copies))
        flow = diffusion.draw(diffusion.shipped(dataset, "ae-2"), N_HOLES, 0).final
        flow_holes = samplers.holes(zoo.codes("ae-2", dataset).astype(np.float64), flow)[0].mean()
        prior = samplers.latent_map(dataset, "vae-2", "standard", n_samples=N_HOLES, seed=0).hole_fraction
        rows.append(Row(name, f"{dataset}: 2-D samples in holes, flow over ae-2", 100 * flow_holes, "%",
                        f"< VAE prior's {100 * prior:.1f}", flow_holes < prior))
        rows.append(Row(name, f"{dataset}: draw {N_SAMPLES} codes ({diffusion.DEFAULT_STEPS} steps)", 1000 * sample_s,
                        "ms"))
        for base in diffusion.BASES:
            card = diffusion.card(dataset, base)
            rows.append(Row(name, f"{dataset}: train {diffusion.flow_name(base)}", card["train_seconds"], "s",
                            f"<= {TRAIN_TARGET_S}", card["train_seconds"] <= TRAIN_TARGET_S,
                            f"{card['epochs']} epochs on {card['device']}, {card['parameters']} parameters"))
    with torch.inference_mode():
        start = time.perf_counter()
        diffusion.draw(diffusion.shipped(DATASET, "ae-2"), 300, 1, 50, 1.0)
        rows.append(Row(name, "the page's map walk: 300 samples, 50 steps", 1000 * (time.perf_counter() - start),
                        "ms"))
    return rows


@section("generators: discrete codes", order=63)
def discrete_codes(quick: bool) -> list[Row]:
    from dashboard.generators import vq

    name = "generators: discrete codes"
    rows = []
    for dataset in [DATASET] if quick else list(data.OFFLINE_DATASETS):
        ds = data.load(dataset)
        net = vq.model(dataset)
        used = vq.usage(net, ds.x_test)
        rows.append(Row(name, f"{dataset}: codebook entries used on the test split", 100 * used.used, "%", ">= 90",
                        used.used >= 0.9, f"perplexity {used.perplexity:.1f} of {net.config.codebook_size}"))
        point = vq.vq_points(dataset)[0]
        ae16 = next(p for p in vq.ae_points(dataset) if p.method.startswith("AE (ae-16"))
        rows.append(Row(name, f"{dataset}: test MSE of {vq.NAME} at {point.bits:.0f} bits", point.mse, "",
                        f"<= ae-16's {ae16.mse:.5f} at {ae16.bits:.0f} bits",
                        point.mse <= ae16.mse and point.bits <= ae16.bits))
        prior = quality.assess(vq.prior_samples(dataset, N_SAMPLES, 0), dataset)
        vae = quality.assess(samplers.generate(dataset, samplers.SETUPS[3], 16, N_SAMPLES, seed=0), dataset)
        rows.append(Row(name, f"{dataset}: FID-like, {vq.NAME} + PixelCNN prior", prior.frechet, "",
                        f"< VAE prior's {vae.frechet:.1f}", prior.frechet < vae.frechet))
        for stem in (vq.NAME, vq.PRIOR):
            card = vq.card(dataset, stem)
            rows.append(Row(name, f"{dataset}: train {stem}", card["train_seconds"], "s", f"<= {TRAIN_TARGET_S}",
                            card["train_seconds"] <= TRAIN_TARGET_S, f"{card['epochs']} epochs on {card['device']}"))
        start = time.perf_counter()
        vq.prior_samples(dataset, N_SAMPLES, 1)
        rows.append(Row(name, f"{dataset}: draw and decode {N_SAMPLES} prior samples", 1000 * (time.perf_counter() -
                                                                                             start), "ms"))
    return rows
