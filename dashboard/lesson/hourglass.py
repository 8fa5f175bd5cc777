"""One image traced through an autoencoder: input, code, reconstruction, its training loss and every layer."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dashboard.core import metrics, nets

# What each reconstruction loss of nets.RECON_LOSSES measures, in words and as a short metric label.
LOSS_WORDS = {"mse": "squared error", "bce": "binary cross-entropy"}
LOSS_SHORT = {"mse": "MSE", "bce": "BCE"}
LOSS_SEED = 0  # a VAE's loss draws noise; a fixed draw keeps an image's number steady from one rerun to the next


@dataclass(frozen=True)
class TrainingLoss:
    """The loss a model trains on, as its config (rebuilt from its card) records it."""

    recon: str  # config.recon_loss: "mse" or "bce"
    with_kl: bool  # a VAE adds beta times its KL term (the sum is the negative ELBO)

    @property
    def label(self) -> str:
        """A metric label: "Loss (MSE)", "Loss (BCE + KL)"."""
        return f"Loss ({LOSS_SHORT.get(self.recon, self.recon)}{' + KL' if self.with_kl else ''})"

    @property
    def words(self) -> str:
        """What the number measures, in a phrase."""
        base = LOSS_WORDS.get(self.recon, self.recon)
        if not self.with_kl:
            return f"{base} per pixel"
        if self.recon == "mse":  # a Gaussian decoder: its likelihood, not the squared error itself
            return "a Gaussian log-likelihood of the pixels plus the KL term, per pixel (the negative ELBO)"
        return f"{base} plus the KL term, per pixel (the negative ELBO)"


def training_loss(config: nets.ModelConfig) -> TrainingLoss:
    """The loss a model with this config trains on."""
    return TrainingLoss(config.recon_loss, config.family == "vae")


@dataclass
class Walkthrough:
    """What the overview page shows for one image."""

    x: torch.Tensor  # (1, C, H, W) the input
    z: np.ndarray  # (k,) its code
    x_hat: torch.Tensor  # (1, C, H, W) the reconstruction
    mse: float  # mean squared error per pixel
    loss: float  # the model's own training loss on this image (see loss_kind)
    loss_kind: TrainingLoss  # which loss that is, from the model's config
    psnr: float  # dB
    stages: list[tuple[str, torch.Tensor]]  # activations from input to output

    @property
    def n_pixels(self) -> int:
        return int(self.x[0].numel())

    @property
    def ratio(self) -> float:
        """How many times fewer numbers the code holds than the image."""
        return self.n_pixels / len(self.z)


def walk(model: nets.Autoencoder, x: torch.Tensor) -> Walkthrough:
    """Trace x (1, C, H, W) through the model without gradients."""
    with torch.inference_mode():
        z = model.encode(x)  # (1, k)
        x_hat = model.decode(z)  # (1, C, H, W)
        loss = vae_loss(model, x) if model.config.family == "vae" else float(model.loss(x)[0])
        stages = model.trace(x)
    return Walkthrough(x=x, z=z[0].numpy(), x_hat=x_hat, mse=metrics.mse(x, x_hat), loss=float(loss),
                       loss_kind=training_loss(model.config), psnr=metrics.psnr(x, x_hat), stages=stages)


def vae_loss(model: nets.VariationalAutoencoder, x: torch.Tensor) -> float:
    """The VAE's training loss (nets.VariationalAutoencoder.loss) on x with a fixed draw of its noise.

    The noise comes from a generator of its own: seeding torch's global one would reach every session's thread.
    """
    mu, logvar = model.encode_distribution(x)  # (N, k) each
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(LOSS_SEED))
    logits = model.decode_logits(mu + eps * torch.exp(0.5 * logvar))  # (N, C, H, W)
    n_pixels = x[0].numel()
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / len(x)
    if model.config.recon_loss == "mse":
        mse = F.mse_loss(torch.sigmoid(logits), x)
        recon = 0.5 * n_pixels * (torch.log(mse.clamp_min(1e-8)) + math.log(2 * math.pi) + 1.0)
    else:
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    return float((recon + model.config.beta * kl) / n_pixels)


def encode_one(model: nets.Autoencoder, x: torch.Tensor) -> np.ndarray:
    """The code (k,) of one image."""
    with torch.inference_mode():
        return model.encode(x)[0].numpy()


def encode_all(model: nets.Autoencoder, x: torch.Tensor) -> np.ndarray:
    """The codes (N, k) of images (N, C, H, W), in batches."""
    return metrics.encode(model, x).numpy()
