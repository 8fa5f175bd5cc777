"""Core benchmark rows: reconstruction against PCA, checkpoint load time, training speed on CPU and GPU."""

from __future__ import annotations

import tempfile
import time

import torch

from dashboard.core import baselines, checkpoints, data, metrics, nets, recipes, train, zoo

from . import Row, section

DATASET = data.DEFAULT_DATASET


@section("core: reconstruction", order=10)
def reconstruction(quick: bool) -> list[Row]:
    ds = data.load(DATASET)
    rows = []
    for name in zoo.names(DATASET):
        family, k = zoo.parse_name(name)
        if family != "ae":
            continue
        x_hat = metrics.reconstruct(zoo.load(name, DATASET), ds.x_test)
        ae_mse = metrics.mse(ds.x_test, x_hat)
        pca_mse = baselines.pca_test_mse(DATASET, k)
        ratio = ae_mse / pca_mse
        target, ok = ("<= 0.45", ratio <= 0.45) if k == 16 else ("< 1", ratio < 1.0)
        rows.append(Row("core: reconstruction", f"{name} / PCA-{k} test MSE", ratio, "x", target, ok,
                        f"AE {ae_mse:.5f}, PCA {pca_mse:.5f}"))
    return rows


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

    # The 5-minute target is about the core zoo; dae-64 and the reference classifier have their own, longer recipes.
    cards = [zoo.read_card(n, DATASET) for n in recipes.CORE_ZOO]
    shipped_seconds = sum(c["train_seconds"] for c in cards)
    devices = sorted({c["device"] for c in cards})
    rows.append(Row("core: speed", f"shipped {DATASET} core zoo training time ({len(cards)} models)",
                    shipped_seconds, "s", "<= 300 on 2 CPU cores", shipped_seconds <= 300,
                    f"from model cards; {', '.join(devices)}"))
    every = [checkpoints.read_card(checkpoints.files_for(zoo.folder_for(DATASET), plan.name)[0])
             for plan in recipes.table() if plan.dataset == DATASET]
    rows.append(Row("core: speed", f"every shipped {DATASET} file's training time ({len(every)} files)",
                    sum(c["train_seconds"] for c in every), "s",
                    note="from model cards; rebuild with python -m dashboard.core.build"))
    if not quick:
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            for name in recipes.CORE_ZOO:
                zoo.train_and_save(name, DATASET, folder=folder, device="cpu")
            seconds = time.perf_counter() - start
        rows.append(Row("core: speed", f"{DATASET} core zoo retrained from scratch, wall clock", seconds, "s",
                        "<= 300 on 2 CPU cores", seconds <= 300, "includes model-card evaluation"))
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
