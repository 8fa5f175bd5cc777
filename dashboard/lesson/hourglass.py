"""One image traced through an autoencoder: input, code, reconstruction, loss and every layer's activations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dashboard.core import metrics, nets


@dataclass
class Walkthrough:
    """What the overview page shows for one image."""

    x: torch.Tensor  # (1, C, H, W) the input
    z: np.ndarray  # (k,) its code
    x_hat: torch.Tensor  # (1, C, H, W) the reconstruction
    mse: float  # mean squared error per pixel
    bce: float  # binary cross-entropy per pixel, the training loss of the AE
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
        bce = F.binary_cross_entropy(x_hat.clamp(1e-6, 1 - 1e-6), x).item()
        stages = model.trace(x)
    return Walkthrough(x=x, z=z[0].numpy(), x_hat=x_hat, mse=metrics.mse(x, x_hat), bce=bce,
                       psnr=metrics.psnr(x, x_hat), stages=stages)


def encode_one(model: nets.Autoencoder, x: torch.Tensor) -> np.ndarray:
    """The code (k,) of one image."""
    with torch.inference_mode():
        return model.encode(x)[0].numpy()
