"""The ELBO taken apart: reconstruction term and KL in nats, the KL of each latent dimension, and active units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dashboard.core import data, metrics, nets, variants, zoo

# A dimension whose KL, averaged over the test split, stays at or below this many nats carries almost nothing
# about the image: its posterior is the prior whatever the input. Burda et al. (2016) count units the same way
# with the variance of the posterior mean across the data above 0.01.
ACTIVE_THRESHOLD = 0.01
ELBO_SAMPLES = 16  # draws of ε behind one image's reconstruction term (a Monte Carlo estimate of the expectation)


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma²) || N(0, 1)) of each dimension in nats: (N, k) -> (N, k)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps: the draw is a function of mu and sigma, so gradients reach both."""
    return mu + torch.exp(0.5 * logvar) * eps


def recon_nats(model: nets.VariationalAutoencoder, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) of a Bernoulli decoder: the summed binary cross-entropy per image, in nats: (N,)."""
    logits = model.decode_logits(z)
    return F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").flatten(1).sum(1)


@dataclass(frozen=True)
class Elbo:
    """One image's evidence lower bound, taken apart (every value in nats)."""

    recon: float  # E_q[-log p(x|z)], estimated with ELBO_SAMPLES draws of ε
    kl_dims: np.ndarray  # (k,) KL of each latent dimension
    mu: np.ndarray  # (k,) posterior mean
    sigma: np.ndarray  # (k,) posterior standard deviation

    @property
    def kl(self) -> float:
        return float(self.kl_dims.sum())

    @property
    def elbo(self) -> float:
        """log p(x) >= ELBO = -recon - KL."""
        return -self.recon - self.kl

    def active(self, threshold: float = ACTIVE_THRESHOLD) -> np.ndarray:
        """(k,) bool: the dimensions whose KL for this image is above the threshold."""
        return self.kl_dims > threshold


def image_elbo(model: nets.VariationalAutoencoder, image: torch.Tensor, seed: int = 0,
               samples: int = ELBO_SAMPLES) -> Elbo:
    """The ELBO of one image (C, H, W) or (1, C, H, W) under a VAE; the draws of ε come from seed."""
    x = image.reshape(1, *image.shape[-3:]).float()
    with torch.inference_mode():
        mu, logvar = model.encode_distribution(x)  # (1, k) each
        eps = torch.randn(samples, mu.shape[1], generator=torch.Generator().manual_seed(seed))  # (S, k)
        recon = recon_nats(model, reparameterise(mu, logvar, eps), x).mean()
        kl = kl_per_dim(mu, logvar)[0]
    return Elbo(recon=float(recon), kl_dims=kl.double().numpy(), mu=mu[0].double().numpy(),
                sigma=torch.exp(0.5 * logvar[0]).double().numpy())


def split_kl(model: nets.VariationalAutoencoder, images: torch.Tensor) -> np.ndarray:
    """Mean KL of each dimension over a set of images (N, C, H, W): (k,) nats."""
    total = None
    with torch.inference_mode():
        for i in range(0, len(images), metrics.INFERENCE_BATCH):
            part = kl_per_dim(*model.encode_distribution(images[i:i + metrics.INFERENCE_BATCH])).double().sum(0)
            total = part if total is None else total + part
    return (total / len(images)).numpy()


def active_units(kl_dims: np.ndarray, threshold: float = ACTIVE_THRESHOLD) -> int:
    """How many dimensions carry more than threshold nats on average."""
    return int((np.asarray(kl_dims) > threshold).sum())


@dataclass(frozen=True)
class Rung:
    """One β-VAE of the ladder, measured on the test split."""

    name: str  # e.g. "vae-16-beta4"
    beta: float  # the card's β
    kl_dims: np.ndarray  # (k,) mean KL per dimension, nats
    recon: float  # mean reconstruction term, nats per image (posterior mean decoded)
    mse: float  # mean squared error of the reconstructions

    @property
    def active(self) -> int:
        return active_units(self.kl_dims)

    @property
    def kl(self) -> float:
        return float(self.kl_dims.sum())


def ladder_names(latent_dim: int) -> list[str]:
    """The β-VAEs of one code size, weakest β first."""
    return [variants.beta_name(latent_dim, beta) for beta in variants.BETAS]


def measure_rung(name: str, dataset: str) -> Rung:
    """A β-VAE's KL per dimension, reconstruction term and error on the test split, in one pass over it."""
    model = zoo.frozen(name, dataset)
    x = data.load(dataset).x_test
    kl, recon, squared = 0.0, 0.0, 0.0
    with torch.inference_mode():
        for i in range(0, len(x), metrics.INFERENCE_BATCH):
            batch = x[i:i + metrics.INFERENCE_BATCH]
            mu, logvar = model.encode_distribution(batch)
            logits = model.decode_logits(mu)  # the reconstruction from the posterior mean, as encode gives
            kl = kl + kl_per_dim(mu, logvar).double().sum(0)
            recon += float(F.binary_cross_entropy_with_logits(logits, batch, reduction="sum"))
            squared += float((torch.sigmoid(logits) - batch).double().pow(2).sum())
    return Rung(name=name, beta=float(zoo.read_card(name, dataset)["config"]["beta"]),
                kl_dims=(kl / len(x)).numpy(), recon=recon / len(x), mse=squared / x.numel())


def prior_samples(model: nets.Autoencoder, n: int, seed: int = 0) -> torch.Tensor:
    """n images decoded from z ~ N(0, I): (n, C, H, W)."""
    z = torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    with torch.inference_mode():
        return torch.cat([model.decode(z[i:i + metrics.INFERENCE_BATCH]) for i in range(0, n, metrics.INFERENCE_BATCH)])
