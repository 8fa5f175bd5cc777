"""Detectors: small autoencoders trained on demand on a scenario's normal images only, or the shipped model."""

from __future__ import annotations

import math
from dataclasses import dataclass

from dashboard.anomaly.scenarios import SCENARIOS, SHIPPED_MODEL, Split, make_split
from dashboard.core import data, isolated, nets, train, zoo


@dataclass(frozen=True)
class DetectorConfig:
    """How the on-demand one-class and novelty autoencoders are built and trained (small, so CPU takes seconds)."""

    # Narrow, but not too narrow: 16 numbers separate anomalies better than 8 at the same training cost, and a wider
    # code gives the code density more to go on. Much wider and the network learns to rebuild anything, anomalies
    # included.
    latent_dim: int = 16
    channels: tuple[int, ...] = (16, 32)  # conv widths, lighter than the shipped models to train in seconds
    hidden: int = 64  # dense layer width between the conv stack and the code
    steps: int = 300  # optimiser steps in total; epochs follow from the training-set size
    min_epochs: int = 3  # even a large normal set gets at least this many passes
    batch_size: int = 32  # small batches: more updates for the same compute, which a tiny model needs
    lr: float = 6e-3  # peak learning rate of the one-cycle schedule
    # No random shifts: they teach the model to rebuild off-centre strokes too, yet MNIST digits are centred by mass,
    # so a shift is itself unusual.
    shift: int = 0
    seed: int = 0  # seeds weights, batch order and augmentation

    def epochs_for(self, n_images: int) -> int:
        steps_per_epoch = max(1, math.ceil(n_images / self.batch_size))
        return max(self.min_epochs, math.ceil(self.steps / steps_per_epoch))

    def model_config(self, image_shape: tuple[int, int, int]) -> nets.ModelConfig:
        # On 8x8 digits two convs already shrink the side to 2, so a third would have nothing left to see.
        channels = self.channels[:2] if data.is_small(image_shape) else self.channels
        return nets.default_config("ae", self.latent_dim, image_shape, channels=channels, hidden=self.hidden)


# Nine digits of normal data need more updates than one: novelty detection keeps improving with more steps, and the
# count is capped where on-demand training is still bearable on a CPU.
DETECTOR_CONFIGS: dict[str, DetectorConfig] = {
    "one-class": DetectorConfig(),
    "novelty": DetectorConfig(steps=1200),
}


def train_detector(split: Split, config: DetectorConfig | None = None, progress: train.EpochProgress | None = None,
                   should_stop: train.StopFn | None = None, device: str = "cpu",
                   isolate: bool = False) -> train.TrainResult:
    """Train an autoencoder on the split's normal training images only (deterministic for a given seed).

    It runs under the process's thread policy: the app sets one at startup, and a session thread must not change
    it for everyone (one thread per operation is also what makes these tiny models train fast). isolate trains in
    a child process (the same run, see core.isolated), so a server keeps none of the memory training touches;
    it cannot be stopped midway, so should_stop must then be None.
    """
    config = config or DETECTOR_CONFIGS.get(split.scenario, DetectorConfig())
    settings = train.TrainConfig(epochs=config.epochs_for(len(split.x_train)), batch_size=config.batch_size,
                                 lr=config.lr, shift=config.shift, seed=config.seed, device=device)
    network = config.model_config(tuple(split.x_train.shape[1:]))
    if isolate:
        if should_stop is not None:
            raise ValueError("A detector trained in a child process cannot be stopped midway; pass should_stop=None.")
        return isolated.train_in_child(network, split.x_train, settings, progress=progress)
    return train.train(network, split.x_train, settings, progress=progress, should_stop=should_stop)


def detector_for(dataset: str, scenario: str, digit: int | None = None, config: DetectorConfig | None = None,
                 progress: train.EpochProgress | None = None) -> nets.Autoencoder:
    """The model a scenario scores with: a fresh one-class/novelty AE, or the shipped all-digits model.

    Keyed only by small values, so a page can cache it by (dataset, scenario, digit).
    """
    if SCENARIOS[scenario].trains_model:
        return train_detector(make_split(dataset, scenario, digit), config, progress).model
    return zoo.frozen(SHIPPED_MODEL, dataset)
