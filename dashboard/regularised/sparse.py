"""The sparse overcomplete AE beside the undercomplete one: codes, units firing per image, errors, Jacobian norms."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dashboard.core import data, metrics, nets, recipes, regularisers, zoo

SPARSE = recipes.REGULARISED_NAMES[0]  # a wide k-sparse code: most of its units are silent for each image
UNDERCOMPLETE = "ae-16"  # the usual bottleneck: 16 numbers, all of them used for every image
DENOISING = "dae-16"  # the same size as ae-16, trained on corrupted inputs
JACOBIAN_IMAGES = 32  # test images the Jacobian norms are measured on
JACOBIAN_PROBES = 16  # random projections for the reconstruction's Jacobian (784 outputs: exact costs 784 passes)


@dataclass(frozen=True)
class SparseReport:
    """Both models on the whole test split: codes, units firing per image, and reconstruction errors."""

    dataset: str
    sparse_codes: np.ndarray  # (N, K) the sparse AE's codes; silent units are exactly 0
    dense_codes: np.ndarray  # (N, 16) ae-16's codes
    sparse_mse: np.ndarray  # (N,) per-image reconstruction error of the sparse AE
    dense_mse: np.ndarray  # (N,) same for ae-16

    @property
    def firing(self) -> np.ndarray:
        """Units with a non-zero value, per test image (N,)."""
        return (self.sparse_codes != 0).sum(axis=1)

    @property
    def active_fraction(self) -> float:
        """The mean share of the sparse code's units that fire for a test image."""
        return float(self.firing.mean() / self.sparse_codes.shape[1])

    @property
    def never_fire(self) -> int:
        """Units that stay silent for every test image."""
        return int((~(self.sparse_codes != 0).any(axis=0)).sum())

    @property
    def mse_ratio(self) -> float:
        """The sparse AE's mean error over ae-16's: the issue asks for at most 1.5."""
        return float(self.sparse_mse.mean() / self.dense_mse.mean())


def shipped(dataset: str) -> bool:
    """Whether both models of the comparison ship for this dataset."""
    try:
        for name in (SPARSE, UNDERCOMPLETE):
            zoo.read_card(name, dataset)
    except (zoo.ModelNotFound, zoo.CheckpointError, ValueError):
        return False
    return True


def config(dataset: str) -> nets.ModelConfig:
    """The shipped sparse AE's network config (its code size, k, ...)."""
    return zoo.frozen(SPARSE, dataset).config


def report(dataset: str) -> SparseReport:
    """Encode and rebuild the test split with both models (frozen shipped copies)."""
    ds = data.load(dataset)
    sparse, dense = zoo.frozen(SPARSE, dataset), zoo.frozen(UNDERCOMPLETE, dataset)
    sparse_codes = metrics.encode(sparse, ds.x_test)  # (N, K)
    dense_codes = metrics.encode(dense, ds.x_test)  # (N, 16)
    with torch.inference_mode():
        sparse_hat, dense_hat = sparse.decode(sparse_codes), dense.decode(dense_codes)
    return SparseReport(dataset, sparse_codes.numpy(), dense_codes.numpy(),
                        metrics.mse_per_image(ds.x_test, sparse_hat), metrics.mse_per_image(ds.x_test, dense_hat))


@dataclass(frozen=True)
class OneImage:
    """One image through both models."""

    image: torch.Tensor  # (1, C, H, W)
    sparse_code: np.ndarray  # (K,)
    dense_code: np.ndarray  # (16,)
    sparse_hat: torch.Tensor  # (1, C, H, W)
    dense_hat: torch.Tensor

    @property
    def firing(self) -> int:
        return int((self.sparse_code != 0).sum())

    def errors(self) -> tuple[float, float]:
        """(sparse, ae-16) reconstruction MSE of this image."""
        return metrics.mse(self.image, self.sparse_hat), metrics.mse(self.image, self.dense_hat)


def one_image(dataset: str, image: torch.Tensor) -> OneImage:
    """An image (1, C, H, W) in [0, 1], a test digit or the visitor's own, through both models."""
    sparse, dense = zoo.frozen(SPARSE, dataset), zoo.frozen(UNDERCOMPLETE, dataset)
    with torch.inference_mode():
        s_code, d_code = sparse.encode(image), dense.encode(image)
        return OneImage(image, s_code[0].numpy(), d_code[0].numpy(), sparse.decode(s_code), dense.decode(d_code))


@dataclass(frozen=True)
class Contraction:
    """How strongly each model's encoder, and each model's whole reconstruction, reacts to a small input change."""

    encoder: dict[str, float]  # mean ||dz/dx||_F^2 over the images, exact, by model name
    reconstruction: dict[str, float]  # mean ||dr/dx||_F^2, r = decode(encode(x)), estimated, by model name
    n_images: int
    probes: int


def reconstruction_jacobian(model, x: torch.Tensor, probes: int = JACOBIAN_PROBES, seed: int = 0) -> np.ndarray:
    """Hutchinson estimate of ||dr/dx||_F^2 per image (N,) for r = decode(encode(x)), from `probes` projections."""
    generator = torch.Generator().manual_seed(seed)
    x = x.detach().requires_grad_(True)
    total = torch.zeros(len(x))
    with torch.enable_grad():
        rebuilt = model(x)  # (N, C, H, W)
        for _ in range(probes):
            u = torch.randn(rebuilt.shape, generator=generator)
            (jtu,) = torch.autograd.grad(rebuilt, x, grad_outputs=u, retain_graph=True)
            total += jtu.pow(2).flatten(1).sum(dim=1)
    return (total / probes).numpy()


def contraction(dataset: str, names: tuple[str, ...] = (UNDERCOMPLETE, DENOISING, SPARSE),
                n_images: int = JACOBIAN_IMAGES) -> Contraction:
    """Jacobian norms of the shipped models that exist for this dataset, on the first n_images test digits."""
    x = data.load(dataset).x_test[:n_images]
    encoder, rebuilt = {}, {}
    for name in names:
        try:
            model = zoo.frozen(name, dataset)
        except (zoo.ModelNotFound, zoo.CheckpointError):
            continue
        encoder[name] = float(regularisers.jacobian_norm(model.encode, x).mean())
        rebuilt[name] = float(reconstruction_jacobian(model, x).mean())
    return Contraction(encoder, rebuilt, len(x), JACOBIAN_PROBES)
