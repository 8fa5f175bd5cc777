"""One training loop for every network: the autoencoder families and the reference classifier alike."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from dashboard.core import nets

EpochProgress = Callable[[int, int, float], None]  # (epochs done, epochs in total, mean train loss)
StopFn = Callable[[], bool]
# (epochs done, the network in eval mode under no_grad, mean train loss or None before the first epoch). Called once
# before training and after every epoch; it must draw no random numbers, so training stays bit-identical with it.
EpochFn = Callable[[int, nets.Network, "float | None"], None]


@dataclass(frozen=True)
class TrainConfig(nets.JsonConfig):
    """How a network is trained; stored in the model card next to the network config."""

    epochs: int = 30  # passes over the training split
    batch_size: int = 128  # images per optimiser step (a GPU run may raise it)
    lr: float = 3e-3  # peak learning rate of the one-cycle schedule
    weight_decay: float = 1e-4  # AdamW decoupled weight decay
    warmup: float = 0.15  # share of the steps spent raising the learning rate (one-cycle pct_start)
    shift: int = 2  # largest random translation in pixels (light augmentation); 0 turns it off
    seed: int = 0  # seeds weights, batch order, augmentation and noise
    device: str = "auto"  # "auto" picks CUDA when present, else "cpu"


@dataclass
class TrainResult:
    """A trained network (eval mode, on the CPU) and what happened while training it."""

    model: nets.Network
    history: list[float] = field(default_factory=list)  # mean train loss per finished epoch
    # Mean of each named loss part per finished epoch, e.g. {"loss": [...], "recon": [...], "kl": [...]}
    parts: dict[str, list[float]] = field(default_factory=dict)
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


def _look(model: nets.Network, on_epoch: EpochFn | None, epoch: int, loss: float | None) -> None:
    """Show the network to on_epoch in eval mode with no autograd, then put it back in training mode."""
    if on_epoch is None:
        return
    model.eval()
    try:
        with torch.no_grad():
            on_epoch(epoch, model, loss)
    finally:
        model.train()


def train(model_config: nets.NetworkConfig, x_train: torch.Tensor, config: TrainConfig = TrainConfig(),
          progress: EpochProgress | None = None, should_stop: StopFn | None = None,
          y_train: torch.Tensor | None = None, on_epoch: EpochFn | None = None) -> TrainResult:
    """Train a fresh network on images (N, C, H, W) in [0, 1] (and labels (N,) for a classifier).

    The network says what a step feeds in and aims for (training_pair) and how far off it is (loss), so this loop
    has no family branches. Random draws come in a fixed order from one generator seeded by config.seed: batch
    order, then per step the shift, then whatever training_pair draws (a DAE's corruption); torch's global RNG,
    seeded just before the network is built, gives the initial weights and a VAE's reparameterisation noise.
    on_epoch looks at the network before training and after each epoch (e.g. records codes) without changing it.
    """
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    model = nets.build(model_config).to(device)
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)
    x_all = x_train.to(device)  # batching by index on the device beats a DataLoader for in-memory data
    y_all = None if y_train is None else y_train.to(device)
    n = len(x_all)
    steps_per_epoch = math.ceil(n / config.batch_size)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.lr, total_steps=max(1, config.epochs * steps_per_epoch), pct_start=config.warmup)
    result = TrainResult(model=model, device=device_label(device))
    start = time.perf_counter()
    _look(model, on_epoch, 0, None)
    model.train()
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=generator, device=device)
        running = torch.zeros((), device=device)
        part_sums: dict[str, torch.Tensor] = {}
        for step in range(steps_per_epoch):
            index = order[step * config.batch_size:(step + 1) * config.batch_size]
            images = x_all[index]  # (B, C, H, W)
            if config.shift:
                images = random_shift(images, config.shift, generator)
            inputs, target = model.training_pair(images, None if y_all is None else y_all[index], generator)
            loss, parts = model.loss(inputs, target)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            running += loss.detach() * len(images)
            for key, value in parts.items():
                part_sums[key] = part_sums.get(key, 0.0) + value * len(images)
        result.history.append(float(running) / n)  # one sync per epoch, not per step
        for key, value in part_sums.items():
            result.parts.setdefault(key, []).append(float(value) / n)
        result.epochs_done = epoch + 1
        _look(model, on_epoch, epoch + 1, result.history[-1])
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
