"""Core benchmark rows: reconstruction against PCA, VAE KL, checkpoint load time, training speed and build time."""

from __future__ import annotations

import tempfile
import time

import torch

from dashboard.core import baselines, build, checkpoints, data, metrics, nets, recipes, train, zoo

from . import Row, section

DATASET = data.DEFAULT_DATASET


# The AE's targets against PCA at the same k; other k only need to beat PCA.
AE_TARGETS = {2: 0.90, 16: 0.38}
BUILD_JOBS = 2  # worker processes for the timed full rebuild: one per core of the two-core reference machine
BUILD_TARGET_S = 900.0


@section("core: reconstruction", order=10)
def reconstruction(quick: bool) -> list[Row]:
    ds = data.load(DATASET)
    rows = []
    for name in zoo.names(DATASET):
        family, k = zoo.parse_name(name)
        model = zoo.load(name, DATASET)
        if family == "vae":
            rows.append(_vae_row(name, model, ds))
        if family != "ae":
            continue
        x_hat = metrics.reconstruct(model, ds.x_test)
        ae_mse = metrics.mse(ds.x_test, x_hat)
        pca_mse = baselines.pca_test_mse(DATASET, k)
        ratio = ae_mse / pca_mse
        bound = AE_TARGETS.get(k)
        target, ok = (f"<= {bound:g}", ratio <= bound) if bound else ("< 1", ratio < 1.0)
        rows.append(Row("core: reconstruction", f"{name} / PCA-{k} test MSE", ratio, "x", target, ok,
                        f"AE {ae_mse:.5f}, PCA {pca_mse:.5f}"))
    return rows


def _vae_row(name: str, model: nets.VariationalAutoencoder, ds: data.Dataset) -> Row:
    """A VAE's two sides: how well it rebuilds (from the posterior mean) and how far its codes sit from the prior."""
    with torch.inference_mode():
        mu, logvar = model.encode_distribution(ds.x_test)  # (N, k) each
        kl = float((-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean())
    mse = metrics.mse(ds.x_test, metrics.reconstruct(model, ds.x_test))
    config = model.config
    return Row("core: reconstruction", f"{name} test KL to the prior (nats per image)", kl, "nats",
               note=f"test MSE {mse:.5f}; recon loss {config.recon_loss}, beta {config.beta:g}; a larger KL buys "
                    f"sharper reconstructions and a prior that fits the codes less well")


@section("core: speed", order=11)
def speed(quick: bool) -> list[Row]:
    rows = []
    zoo.load("ae-16", DATASET)  # the first call pays for imports; the target is about a warm server
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        zoo.load("ae-16", DATASET)
        timings.append(time.perf_counter() - start)
    load_ms = 1000 * sorted(timings)[len(timings) // 2]
    rows.append(Row("core: speed", "zoo.load('ae-16') median", load_ms, "ms", "<= 100", load_ms <= 100))

    ds = data.load(DATASET)
    for family in nets.FAMILIES:
        config = nets.default_config(family, 16, ds.image_shape)
        result = train.train(config, ds.x_train[:1000], train.TrainConfig(epochs=1, device="cpu"))
        rows.append(Row("core: speed", f"{family}-16 training throughput (CPU)", result.images_per_second,
                        "img/s", note=result.device))

    every = [checkpoints.read_card(checkpoints.files_for(zoo.folder_for(plan.dataset), plan.name)[0])
             for plan in recipes.table()]
    devices = sorted({c["device"] for c in every})
    rows.append(Row("core: speed", f"every shipped file's training time, both datasets ({len(every)} files)",
                    sum(c["train_seconds"] for c in every), "s",
                    note=f"sum over model cards ({', '.join(devices)}); the build runs them in parallel"))
    if not quick:
        # The build budget: every shipped file for both offline datasets, rebuilt by the documented command.
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            build.main(["--device", "cpu", "--jobs", str(BUILD_JOBS), "--out", folder])
            seconds = time.perf_counter() - start
        rows.append(Row("core: speed", f"full rebuild, both datasets, --jobs {BUILD_JOBS}, wall clock", seconds, "s",
                        f"<= {BUILD_TARGET_S:g} on 2 CPU cores", seconds <= BUILD_TARGET_S,
                        "python -m dashboard.core.build --device cpu --jobs 2; includes model-card evaluation"))
    rows.append(gpu_epoch())
    return rows


def gpu_epoch(n_images: int = 60_000, batch_size: int = 1024) -> Row:
    """One epoch of ae-16 over 60,000 28x28 images on the GPU, after a warm-up epoch."""
    if not torch.cuda.is_available():
        return Row("core: speed", "ae-16 epoch of 60k images (GPU)", "not measured", target="<= 50 ms",
                   note="no CUDA device on this machine")
    images = torch.rand(n_images, 1, 28, 28)  # speed does not depend on content
    config = nets.default_config("ae", 16, (1, 28, 28))
    settings = train.TrainConfig(epochs=1, batch_size=batch_size, device="cuda")
    train.train(config, images, settings)  # warm-up: CUDA context, cuDNN autotuning
    result = train.train(config, images, settings)
    ms = 1000 * result.seconds
    return Row("core: speed", "ae-16 epoch of 60k images (GPU)", ms, "ms", "<= 50", ms <= 50,
               f"{result.device}, batch {batch_size}")
