"""Recipes of today's generators: latent flow models trained on a shipped autoencoder's codes."""

from __future__ import annotations

import torch

from dashboard.core import checkpoints, data, generator_nets, metrics, paths, train

# file stem -> the shipped autoencoder whose train-split codes it learns. The base must be built first: its codes
# are the data (a full build trains the autoencoders before these, which come last in the table).
FLOW_BASES = {"flow-ae-16": "ae-16", "flow-ae-2": "ae-2"}
NAMES = tuple(FLOW_BASES)
# Width by code size: two numbers need a smaller net than sixteen.
FLOW_WIDTH = {2: 96, 16: 128}
# About 2,400 optimiser steps on mnist-5k (4,000 codes make 16 batches an epoch) and 1,500 on digits (1,438 codes
# make 6). Longer runs fit the training codes ever more closely: the conditional samples then drift toward them,
# closer than unseen test codes are (the copying check the pages show), while the FID-like score hardly improves.
FLOW_TRAINING = {
    True: train.TrainConfig(epochs=250, batch_size=256, lr=2e-3, weight_decay=0.0, warmup=0.05, shift=0),
    False: train.TrainConfig(epochs=150, batch_size=256, lr=2e-3, weight_decay=0.0, warmup=0.05, shift=0),
}
EVAL_SEED = 1234  # seeds the noise levels and noise of the card's test loss, so a rebuild scores the same draws


def network(name: str, ds: data.Dataset) -> generator_nets.FlowConfig:
    base = FLOW_BASES[name]
    k = int(base.rsplit("-", 1)[1])
    return generator_nets.FlowConfig(base=base, image_shape=ds.image_shape, latent_dim=k, width=FLOW_WIDTH[k],
                                     n_classes=len(ds.classes))


def training(small: bool) -> train.TrainConfig:
    return FLOW_TRAINING[small]


def base_codes(config: generator_nets.FlowConfig, dataset: str, split: str = "train") -> torch.Tensor:
    """The shipped base model's codes (N, k) of a split: the flow model's data."""
    model, _ = checkpoints.load(paths.MODELS_DIR / dataset, config.base)
    ds = data.load(dataset)
    return metrics.encode(model, ds.x_train if split == "train" else ds.x_test)


def training_data(config: generator_nets.FlowConfig, ds: data.Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardised train codes (N, k) and their labels: what the training loop sees."""
    codes = base_codes(config, ds.name)
    return (codes - codes.mean(0)) / codes.std(0).clamp_min(1e-6), ds.y_train


def finish(model: generator_nets.LatentFlow, ds: data.Dataset) -> None:
    """Give the trained net the standardisation its training data had, so it reads and writes raw codes."""
    model.set_code_stats(base_codes(model.config, ds.name))


def scores(model: generator_nets.LatentFlow, ds: data.Dataset) -> dict[str, float]:
    """The flow-matching loss on the test split's codes, at fixed random noise levels: lower is a better fit."""
    codes = model.standardise(base_codes(model.config, ds.name, "test"))
    generator = torch.Generator().manual_seed(EVAL_SEED)
    with torch.inference_mode():
        (z_t, t, _), target = model.training_pair(codes, ds.y_test, generator)
        labelled = float(model.loss((z_t, t, ds.y_test), target)[0])
        unlabelled = float(model.loss((z_t, t, torch.full_like(ds.y_test, model.no_label)), target)[0])
    return {"test_loss": labelled, "test_loss_no_label": unlabelled}
