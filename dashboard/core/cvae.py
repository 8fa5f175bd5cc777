"""The conditional VAE (Sohn et al., 2015): a VAE whose encoder and decoder are both told each image's label."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from dashboard.core import nets
from dashboard.core.nets import RECON_LOSSES, CardConfig, ModelConfig, Parts, VariationalAutoencoder


@dataclass(frozen=True)
class ConditionalConfig(ModelConfig):
    """A conditional VAE's config: a VAE's, plus how many labels its encoder and decoder are told."""

    family: str = "cvae"  # the NETWORKS key; a conditional VAE is not one of the FAMILIES a visitor trains
    n_classes: int = 10  # labels are one-hot vectors of this length

    def __post_init__(self):
        if self.family != ConditionalVAE.family:
            raise ValueError(f"A conditional VAE config has family {ConditionalVAE.family!r}, not {self.family!r}.")
        if self.latent_dim < 1 or self.n_classes < 2:
            raise ValueError("latent_dim must be at least 1 and n_classes at least 2.")
        if self.recon_loss not in RECON_LOSSES:
            raise ValueError(f"Unknown recon_loss {self.recon_loss!r}; expected one of {RECON_LOSSES}.")
        CardConfig.__post_init__(self)


class ConditionalVAE(VariationalAutoencoder):
    """A conditional VAE (Sohn et al., 2015): encoder q(z|x, y) and decoder p(x|z, y) are both told the label y.

    The label joins the encoder after its dense layer and the decoder beside z, as a one-hot vector; so the code
    need not hold the class, and decode(z, labels) draws the digit asked for from any z ~ N(0, I).
    """

    family: ClassVar[str] = "cvae"

    def __init__(self, config: ConditionalConfig):
        super().__init__(config)
        self.to_latent = nn.Linear(config.hidden + config.n_classes, 2 * config.latent_dim)
        self.decoder_dense[0] = nn.Linear(config.latent_dim + config.n_classes, config.hidden)

    def one_hot(self, labels: torch.Tensor | list[int], n: int) -> torch.Tensor:
        """Labels (N,) of ints in [0, n_classes) -> one-hot (N, n_classes); a wrong shape or range is refused."""
        labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
        if len(labels) != n:
            raise ValueError(f"Got {len(labels)} labels for {n} inputs; a conditional VAE needs one label each.")
        if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= self.config.n_classes):
            raise ValueError(f"Labels must lie in 0..{self.config.n_classes - 1}.")
        return F.one_hot(labels, self.config.n_classes).float()

    def encode_distribution(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (N, C, H, W) and labels (N,) -> posterior mean and log-variance, each (N, latent_dim)."""
        h = self.encoder_dense(self.encoder_conv(x))  # (N, hidden)
        mu, logvar = self.to_latent(torch.cat([h, self.one_hot(labels, len(x))], dim=1)).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def encode(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) and their labels (N,) -> posterior means (N, latent_dim)."""
        return self.encode_distribution(x, labels)[0]

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.decoder_dense(torch.cat([z, self.one_hot(labels, len(z))], dim=1))
        return self.decoder_conv(h.view(-1, *self.flat_shape))  # (N, C, H, W), before the sigmoid

    def decode(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Codes (N, latent_dim) and the digit wanted for each (N,) -> images (N, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z, labels))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Reconstruct images given their labels."""
        return self.decode(self.encode(x, labels), labels)

    def training_pair(self, images: torch.Tensor, labels: torch.Tensor | None,
                      generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Images in, their labels as the target, which loss reads as the condition."""
        if labels is None:
            raise ValueError("A conditional VAE trains on labelled images; pass y_train.")
        return images, labels

    def loss(self, x: torch.Tensor, target: torch.Tensor | None = None) -> tuple[torch.Tensor, Parts]:
        """Negative ELBO per pixel of images x given their labels (target, (N,)): summed BCE plus beta times KL."""
        if target is None:
            raise ValueError("A conditional VAE's loss needs the labels of x.")
        mu, logvar = self.encode_distribution(x, target)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)  # reparameterisation trick
        n_pixels = x[0].numel()
        recon = F.binary_cross_entropy_with_logits(self.decode_logits(z, target), x, reduction="sum") / len(x)
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / len(x)
        total = (recon + self.config.beta * kl) / n_pixels
        return total, {"loss": total.detach(), "recon": (recon / n_pixels).detach(), "kl": kl.detach()}


# Known to every checkpoint loader and to nets.build once this module is imported (the recipe table and zoo do);
# a conditional VAE is not one of the FAMILIES a visitor trains.
nets.NETWORKS[ConditionalVAE.family], nets.CONFIGS[ConditionalVAE.family] = ConditionalVAE, ConditionalConfig
