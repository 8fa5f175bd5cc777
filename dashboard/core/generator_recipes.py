"""Recipes of today's generators: latent flow models on an autoencoder's codes, the VQ-VAE and its grid prior."""

from __future__ import annotations

import re

import torch

from dashboard.core import checkpoints, data, generator_nets, metrics, paths, train, vq_nets

# file stem -> the shipped autoencoder whose train-split codes it learns. The base must be built first: its codes
# are the data (a full build trains the autoencoders before these, which come last in the table).
FLOW_BASES = {"flow-ae-16": "ae-16", "flow-ae-2": "ae-2"}
VQ_NAME, PRIOR_NAME = "vq-32", "vq-32-prior"  # the shipped VQ-VAE (K = 32 entries) and the prior over its grids
VQ_PATTERN = re.compile(r"^vq-([1-9][0-9]{0,4})$")  # zoo.load("vq-<K>")
NAMES = (*FLOW_BASES, VQ_NAME, PRIOR_NAME)
FAMILIES = {**{name: "latent-flow" for name in FLOW_BASES}, VQ_NAME: "vq", PRIOR_NAME: "vq-prior"}  # by file name
FROM_MODELS = ("latent-flow", "vq-prior")  # families whose data are another shipped model's codes, not images
# 28x28: two stride-2 convs make a 7 x 7 grid, 49 cells x 5 bits = 245 bits, under ae-16's 256 (16 float16 numbers).
# 8x8: one conv makes a 4 x 4 grid (80 bits).
VQ_CHANNELS = {True: (32,), False: (32, 48)}
VQ_TRAINING = {
    True: train.TrainConfig(epochs=80, batch_size=64, lr=2e-3, shift=0),
    False: train.TrainConfig(epochs=15, batch_size=64, lr=2e-3, shift=2),
}
PRIOR_TRAINING = train.TrainConfig(epochs=40, batch_size=128, lr=3e-3, shift=0)  # grids of indices cannot shift
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


def network(name: str, ds: data.Dataset) -> generator_nets.FlowConfig | vq_nets.VQConfig | vq_nets.PriorConfig:
    small = data.is_small(ds.image_shape)
    if name == VQ_NAME:
        return vq_nets.VQConfig(image_shape=ds.image_shape, codebook_size=32, channels=VQ_CHANNELS[small])
    if name == PRIOR_NAME:
        vq = vq_nets.VQVAE(network(VQ_NAME, ds))
        return vq_nets.PriorConfig(base=VQ_NAME, image_shape=ds.image_shape, codebook_size=32, grid=vq.grid,
                                   channels=(32,))
    base = FLOW_BASES[name]
    k = int(base.rsplit("-", 1)[1])
    return generator_nets.FlowConfig(base=base, image_shape=ds.image_shape, latent_dim=k, width=FLOW_WIDTH[k],
                                     n_classes=len(ds.classes))


def training(name: str, small: bool) -> train.TrainConfig:
    if name == VQ_NAME:
        return VQ_TRAINING[small]
    return PRIOR_TRAINING if name == PRIOR_NAME else FLOW_TRAINING[small]


def base_codes(config: generator_nets.FlowConfig, dataset: str, split: str = "train") -> torch.Tensor:
    """The shipped base model's codes (N, k) of a split: the flow model's data."""
    model, _ = checkpoints.load(paths.MODELS_DIR / dataset, config.base)
    ds = data.load(dataset)
    return metrics.encode(model, ds.x_train if split == "train" else ds.x_test)


def vq_grids(dataset: str, split: str = "train") -> torch.Tensor:
    """The shipped VQ-VAE's index grids (N, h, w) of a split: its prior's data."""
    model, _ = checkpoints.load(paths.MODELS_DIR / dataset, VQ_NAME, family="vq")
    ds = data.load(dataset)
    return metrics.encode(model, ds.x_train if split == "train" else ds.x_test)


def training_data(config, ds: data.Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """What the training loop sees: a prior's index grids, or a flow's standardised train codes (N, k), with labels."""
    if config.family == "vq-prior":
        return vq_grids(ds.name), ds.y_train
    codes = base_codes(config, ds.name)
    return (codes - codes.mean(0)) / codes.std(0).clamp_min(1e-6), ds.y_train


def finish(model, ds: data.Dataset) -> None:
    """Give a trained flow the standardisation its training data had, so it reads and writes raw codes."""
    if model.family == "latent-flow":
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


def vq_scores(model: vq_nets.VQVAE, ds: data.Dataset) -> dict[str, float]:
    """Test reconstruction error, bits per image, and how much of the codebook the test images use."""
    x_hat = metrics.reconstruct(model, ds.x_test)
    counts = torch.bincount(metrics.encode(model, ds.x_test).flatten(), minlength=model.config.codebook_size)
    share = counts.double() / counts.sum()
    perplexity = float(torch.exp(-(share[share > 0] * share[share > 0].log()).sum()))
    return {"test_mse": metrics.mse(ds.x_test, x_hat), "test_psnr": metrics.psnr(ds.x_test, x_hat),
            "bits": model.bits, "usage": float((counts > 0).double().mean()), "perplexity": perplexity}


def prior_scores(model: vq_nets.PixelPrior, ds: data.Dataset) -> dict[str, float]:
    """The prior's test cross-entropy in bits per grid: how many bits its code would take to send a test image."""
    grids = vq_grids(ds.name, "test")
    with torch.inference_mode():
        nats = float(model.loss(grids)[0])
    h, w = model.config.grid
    return {"test_bits_per_grid": nats * h * w / float(torch.log(torch.tensor(2.0)))}


SCORES = {"latent-flow": scores, "vq": vq_scores, "vq-prior": prior_scores}
