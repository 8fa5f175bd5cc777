"""Learned codecs: AE, VAE and PCA behind one encode/decode interface, and sizes in values and bytes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA
from torch import nn

from dashboard.core import baselines, data, images, metrics, zoo

LATENT_SIZES = (2, 3, 8, 16, 32)
CODEC_METHODS = ("AE", "VAE", "PCA")  # the codecs built here
# The rows of the rate-distortion table: the codecs, then the VQ-VAE, whose rows come from dashboard.generators.vq.
METHODS = (*CODEC_METHODS, "VQ-VAE")
NETWORK_FAMILIES = {"AE": "ae", "VAE": "vae"}
CODE_DTYPE = torch.float16  # the code is stored and sent as half floats; every error here is measured after rounding
BYTES_PER_CODE_VALUE = 2

ModelLoader = Callable[[str, str], nn.Module]


# ----------------------------------------------------------------------------------------------------------------
# Sizes: values and bytes
# ----------------------------------------------------------------------------------------------------------------

def value_ratio(image_shape: Sequence[int], k: int) -> float:
    """How many times fewer numbers the code holds than the image: 784 pixels -> 16 values is 49x."""
    return float(np.prod(image_shape)) / k


def code_bytes(k: int) -> int:
    """Bytes of a k-value code stored as float16."""
    return BYTES_PER_CODE_VALUE * k


def to_uint8(image: torch.Tensor | np.ndarray) -> np.ndarray:
    """A (H, W), (1, H, W) or (1, 1, H, W) image in [0, 1] -> (H, W) uint8, the way an 8-bit file stores it."""
    array = np.asarray(torch.as_tensor(image).detach().cpu().float().squeeze().numpy(), dtype=np.float64)
    return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)


def png_bytes(image: torch.Tensor | np.ndarray) -> int:
    """Size of the image as an 8-bit greyscale PNG written by Pillow with optimize on."""
    return len(images.encode_png(to_uint8(image), optimize=True))


@dataclasses.dataclass(frozen=True)
class SizeReport:
    """One image against its k-value code, counted in values and in bytes."""

    n_pixels: int  # values in the image (784 for 28x28 grey)
    k: int  # values in the code
    code_bytes: int  # the code as float16: 2 bytes per value
    png_bytes: int  # the image's own lossless PNG (optimize on)
    raw_bytes: int  # the image as uncompressed 8-bit pixels, one byte each

    @property
    def value_ratio(self) -> float:
        return self.n_pixels / self.k

    @property
    def png_ratio(self) -> float:
        """How many times smaller the code is than the PNG."""
        return self.png_bytes / self.code_bytes

    @property
    def raw_ratio(self) -> float:
        return self.raw_bytes / self.code_bytes


def size_report(image: torch.Tensor, k: int) -> SizeReport:
    """Values and bytes of one image (C, H, W) or (1, C, H, W) against a k-value float16 code."""
    n_pixels = int(torch.as_tensor(image).numel())
    return SizeReport(n_pixels, k, code_bytes(k), png_bytes(image), n_pixels)


def size_table(images_batch: torch.Tensor, k: int) -> pd.DataFrame:
    """Per-image PNG bytes against the k-value code for a batch (N, C, H, W)."""
    reports = [size_report(img, k) for img in images_batch]
    return pd.DataFrame({"png_bytes": [r.png_bytes for r in reports], "code_bytes": [r.code_bytes for r in reports],
                         "png_ratio": [r.png_ratio for r in reports]})


def decoder_bytes(model: nn.Module) -> int:
    """Bytes of the decoder's float32 weights: what the receiver must already hold for a code to mean anything."""
    return sum(p.numel() * p.element_size() for name, p in model.named_parameters() if name.startswith("decoder"))


# ----------------------------------------------------------------------------------------------------------------
# Codecs: AE, VAE and PCA behind one interface (encode to a float16 code, decode back)
# ----------------------------------------------------------------------------------------------------------------

class NetworkCodec:
    """A shipped autoencoder as a codec: the code is encode(x) rounded to float16 (the VAE sends its posterior mean)."""

    def __init__(self, method: str, name: str, model: nn.Module):
        self.method = method
        self.name = name
        self.model = model
        self.k = int(model.config.latent_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return metrics.encode(self.model, x).to(CODE_DTYPE)  # (N, k) half floats

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return torch.cat([self.model.decode(codes[i:i + metrics.INFERENCE_BATCH].float())
                              for i in range(0, len(codes), metrics.INFERENCE_BATCH)])  # (N, C, H, W)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class PcaCodec:
    """PCA-k fitted on the train split as a codec: the code is the k component scores, rounded to float16."""

    method = "PCA"

    def __init__(self, pca: PCA, image_shape: Sequence[int]):
        self.pca = pca
        self.k = int(pca.n_components_)
        self.name = f"PCA-{self.k}"
        self.image_shape = tuple(image_shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.pca.transform(x.reshape(len(x), -1).numpy())  # (N, k)
        return torch.from_numpy(scores.astype(np.float32)).to(CODE_DTYPE)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        flat = self.pca.inverse_transform(codes.float().numpy().astype(np.float64)).clip(0.0, 1.0)
        return torch.from_numpy(flat.astype(np.float32)).reshape(len(codes), *self.image_shape)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


Codec = NetworkCodec | PcaCodec
CodecsByK = Mapping[int, Mapping[str, Codec]]  # {k: {method: codec}}


def codecs_for(dataset: str, k: int, load_model: ModelLoader = zoo.load,
               methods: Sequence[str] = CODEC_METHODS) -> dict[str, Codec]:
    """{"AE": ..., "VAE": ..., "PCA": ...} at latent size k.

    A network the loader cannot find (it raises zoo.ModelNotFound or returns None) is left out.
    """
    found: dict[str, Codec] = {}
    for method in methods:
        if method == "PCA":
            found[method] = PcaCodec(baselines.pca_for(dataset, k), data.load(dataset).image_shape)
            continue
        name = f"{NETWORK_FAMILIES[method]}-{k}"
        try:
            model = load_model(name, dataset)
        except zoo.ModelNotFound:
            model = None
        if model is not None:
            found[method] = NetworkCodec(method, name, model)
    return found


def all_codecs(dataset: str, sizes: Sequence[int] = LATENT_SIZES, load_model: ModelLoader = zoo.load,
               methods: Sequence[str] = CODEC_METHODS) -> CodecsByK:
    """Codecs for every latent size: {k: {method: codec}}; fitting every PCA up front keeps later reruns fast."""
    return {k: codecs_for(dataset, k, load_model, methods) for k in sizes}
