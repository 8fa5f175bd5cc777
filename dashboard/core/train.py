"""One training loop for every model family, and the CLI that builds the shipped model zoo."""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from dashboard.core import corrupt, data, nets

ProgressFn = Callable[[int, int, float], None]  # (epoch done, epochs in total, mean train loss)
StopFn = Callable[[], bool]


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained; stored in the model card next to the network config."""

    epochs: int = 30  # passes over the training split
    batch_size: int = 128  # images per optimiser step (a GPU run may raise it)
    lr: float = 3e-3  # peak learning rate of the one-cycle schedule
    weight_decay: float = 1e-4  # AdamW decoupled weight decay
    shift: int = 2  # largest random translation in pixels (light augmentation); 0 turns it off
    seed: int = 0  # seeds weights, batch order, augmentation and noise
    device: str = "auto"  # "auto" picks CUDA when present, else "cpu"


@dataclass
class TrainResult:
    """A trained model (eval mode, on the CPU) and what happened while training it."""

    model: nets.Autoencoder
    history: list[float] = field(default_factory=list)  # mean train loss per finished epoch
    seconds: float = 0.0
    device: str = "cpu"
    epochs_done: int = 0
    cancelled: bool = False
    images_per_second: float = 0.0


def pick_device(name: str = "auto") -> torch.device:
    """Resolve "auto" to CUDA when a GPU is visible, else the CPU; refuse "cuda" on a CPU-only host."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA was requested but no GPU is visible to PyTorch; use --device cpu or auto.")
    return device


def device_label(device: torch.device | str | None = None) -> str:
    """A human name for the compute device, e.g. "CPU (2 threads)" or "NVIDIA H100 (CUDA)"."""
    device = pick_device("auto") if device is None else torch.device(device)
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''})"


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by a whole number of pixels in [-max_shift, max_shift], filling with 0."""
    n, _, height, width = x.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=generator, device=x.device).to(x.dtype)
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = -2.0 * shifts[:, 0] / width  # grid coordinates span [-1, 1] across the image
    theta[:, 1, 2] = -2.0 * shifts[:, 1] / height
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def train(model_config: nets.ModelConfig, x_train: torch.Tensor, config: TrainConfig = TrainConfig(),
          progress: ProgressFn | None = None, should_stop: StopFn | None = None) -> TrainResult:
    """Train a fresh network on images (N, C, H, W) in [0, 1]; the whole set stays on the device."""
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    model = nets.build(model_config).to(device)
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)
    x_all = x_train.to(device)  # batching by index on the device beats a DataLoader for in-memory data
    n = len(x_all)
    steps_per_epoch = math.ceil(n / config.batch_size)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.lr, total_steps=max(1, config.epochs * steps_per_epoch), pct_start=0.15)
    result = TrainResult(model=model, device=device_label(device))
    start = time.perf_counter()
    model.train()
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=generator, device=device)
        running = torch.zeros((), device=device)
        for step in range(steps_per_epoch):
            clean = x_all[order[step * config.batch_size:(step + 1) * config.batch_size]]
            if config.shift:
                clean = random_shift(clean, config.shift, generator)
            inputs = clean
            if model_config.family == "dae":
                inputs = corrupt.apply(clean, model_config.noise, model_config.noise_level, generator=generator)
            loss, _ = model.loss(inputs, target=clean)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            running += loss.detach() * len(clean)
        result.history.append(float(running) / n)  # one sync per epoch, not per step
        result.epochs_done = epoch + 1
        if progress:
            progress(epoch + 1, config.epochs, result.history[-1])
        if should_stop and should_stop():
            result.cancelled = True
            break
    if device.type == "cuda":
        torch.cuda.synchronize()
    result.seconds = time.perf_counter() - start
    result.images_per_second = n * result.epochs_done / max(result.seconds, 1e-9)
    result.model = model.cpu().eval()
    return result


def default_train_config(name: str, dataset: str, **overrides) -> TrainConfig:
    """Recipes sized so the whole mnist-5k zoo trains in under five minutes on two CPU cores.

    Tiny 8x8 digits need many short epochs and no shifting: one pixel is an eighth of the image.
    """
    recipe = {"epochs": 120, "batch_size": 64, "shift": 0} if dataset == "digits" else {"epochs": 30}
    return TrainConfig(**{**recipe, **overrides})


def main(argv: list[str] | None = None) -> None:
    from dashboard.core import baselines, zoo

    parser = argparse.ArgumentParser(description="Train the shipped autoencoders and write them to models/.")
    parser.add_argument("--dataset", default=data.DEFAULT_DATASET, choices=data.DATASETS)
    parser.add_argument("--models", default="all", help="comma-separated names such as ae-16,vae-2, or 'all'")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--epochs", type=int, default=None, help="override every model's epoch count")
    parser.add_argument("--out", default=None, help="folder to write to (default: models/<dataset>/)")
    args = parser.parse_args(argv)

    names = zoo.ZOO_NAMES if args.models == "all" else [n.strip() for n in args.models.split(",")]
    ds = data.load(args.dataset)
    print(f"Training {len(names)} models on {args.dataset} ({len(ds.x_train)} images) "
          f"on {device_label(pick_device(args.device))}")
    print("| name | epochs | seconds | device | test MSE | PCA MSE | AE/PCA |")
    print("|---|---:|---:|---|---:|---:|---:|")
    total = 0.0
    for name in names:
        overrides = {"device": args.device}
        if args.epochs is not None:
            overrides["epochs"] = args.epochs
        result, card = zoo.train_and_save(name, args.dataset, folder=args.out, **overrides)
        pca = baselines.pca_test_mse(args.dataset, card["config"]["latent_dim"])
        test_mse = card["metrics"]["test_mse"]
        total += result.seconds
        print(f"| {name} | {result.epochs_done} | {result.seconds:.1f} | {result.device} | "
              f"{test_mse:.5f} | {pca:.5f} | {test_mse / pca:.2f} |", flush=True)
    print(f"\nTotal training time: {total:.1f} s")


if __name__ == "__main__":
    main()
