"""Error against code size: a batch rebuilt by every codec, the whole test split scored, one image at every k."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from dashboard.compression.codecs import METHODS, Codec, CodecsByK, code_bytes
from dashboard.compression.general_codecs import CodecComparison, compare_codecs
from dashboard.core import data, metrics

# ----------------------------------------------------------------------------------------------------------------
# Reconstructions of a batch
# ----------------------------------------------------------------------------------------------------------------

def pick_batch(n_available: int, size: int = 8, seed: int = 0) -> np.ndarray:
    """Indices of a batch drawn without replacement; the same seed always gives the same batch."""
    size = min(size, n_available)
    return np.sort(np.random.default_rng(seed).choice(n_available, size=size, replace=False))


@dataclasses.dataclass
class MethodReconstruction:
    """One method's rebuild of a batch and how far it is from the originals, per image."""

    method: str  # "AE", "VAE" or "PCA"
    name: str  # model or baseline name, e.g. "ae-16" or "PCA-16"
    images: torch.Tensor  # (N, C, H, W) in [0, 1]
    errors: torch.Tensor  # (N, C, H, W) absolute pixel error, for heatmaps
    mse: np.ndarray  # (N,)
    psnr: np.ndarray  # (N,) dB
    ssim: np.ndarray  # (N,)


@dataclasses.dataclass
class ReconstructionBatch:
    """Originals and every method's rebuild at one latent size."""

    k: int
    indices: np.ndarray  # (N,) positions in the test split
    originals: torch.Tensor  # (N, C, H, W)
    labels: np.ndarray  # (N,)
    results: list[MethodReconstruction] = dataclasses.field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """Mean MSE, PSNR and SSIM per method over the batch."""
        return pd.DataFrame([{"method": r.method, "model": r.name, "code_bytes": code_bytes(self.k),
                              "mse": float(r.mse.mean()), "psnr": float(r.psnr.mean()), "ssim": float(r.ssim.mean())}
                             for r in self.results])

    def per_image(self) -> pd.DataFrame:
        """One row per image and method, for tables and downloads."""
        rows = [{"index": int(idx), "label": int(label), "method": r.method, "model": r.name, "mse": float(r.mse[i]),
                 "psnr": float(r.psnr[i]), "ssim": float(r.ssim[i])}
                for r in self.results for i, (idx, label) in enumerate(zip(self.indices, self.labels))]
        return pd.DataFrame(rows)

    @property
    def error_scale(self) -> float:
        """The largest pixel error across methods, so that every heatmap shares one colour scale."""
        return max((float(r.errors.max()) for r in self.results), default=1.0) or 1.0


def compare_reconstructions(originals: torch.Tensor, codecs: Mapping[str, Codec], k: int,
                            labels: Sequence[int] | None = None,
                            indices: Sequence[int] | None = None) -> ReconstructionBatch:
    """Rebuild a batch (N, C, H, W) with every codec and score each image with MSE, PSNR and SSIM."""
    n = len(originals)
    batch = ReconstructionBatch(k, np.asarray(indices if indices is not None else np.arange(n)), originals,
                                np.asarray(labels if labels is not None else np.full(n, -1)))
    for method, codec in codecs.items():
        rebuilt = codec.reconstruct(originals)  # (N, C, H, W)
        batch.results.append(MethodReconstruction(
            method, codec.name, rebuilt, (rebuilt - originals).abs(), metrics.mse_per_image(originals, rebuilt),
            metrics.psnr_per_image(originals, rebuilt), metrics.ssim_per_image(originals, rebuilt)))
    return batch


def reconstruct_batch(dataset: data.Dataset, codecs: Mapping[str, Codec], k: int,
                      indices: Sequence[int]) -> ReconstructionBatch:
    """compare_reconstructions on chosen images of a dataset's test split."""
    chosen = torch.as_tensor(np.asarray(indices), dtype=torch.long)
    return compare_reconstructions(dataset.x_test[chosen], codecs, k, dataset.y_test[chosen].numpy(),
                                   np.asarray(indices))


# ----------------------------------------------------------------------------------------------------------------
# The whole test split: codes, per-image error and the rate-distortion table
# ----------------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class TestSetCodes:
    """One codec over the test split: its float16 codes and each image's reconstruction error."""

    method: str
    name: str
    k: int
    codes: np.ndarray  # (N, k) float32 values of the float16 code
    mse: np.ndarray  # (N,)
    psnr: np.ndarray  # (N,) dB


def encode_test_set(codec: Codec, x: torch.Tensor) -> TestSetCodes:
    """Encode once and decode once; everything later (table, 3D view, CSV) reuses the result."""
    codes = codec.encode(x)  # (N, k) float16
    rebuilt = codec.decode(codes)  # (N, C, H, W)
    return TestSetCodes(codec.method, codec.name, codec.k, codes.float().numpy(),
                        metrics.mse_per_image(x, rebuilt), metrics.psnr_per_image(x, rebuilt))


def evaluate_test_set(x: torch.Tensor, codecs_by_k: CodecsByK) -> dict[tuple[str, int], TestSetCodes]:
    """{(method, k): TestSetCodes} for every codec; about one second per network on 1,000 images on two CPU cores."""
    return {(method, k): encode_test_set(codec, x)
            for k, codecs in codecs_by_k.items() for method, codec in codecs.items()}


def rate_distortion_table(evaluated: Mapping[tuple[str, int], TestSetCodes],
                          extra_rows: Sequence[Mapping] = ()) -> pd.DataFrame:
    """Test MSE and PSNR against k per method, with each method's MSE as a multiple of PCA's at the same k.

    extra_rows are points scored elsewhere, in the same columns (method, model, k, code_bytes, mse, psnr), such as
    the VQ-VAE's (dashboard.generators.vq.rate_distortion_rows); one at a k PCA was not fitted at gets NaN there.
    """
    frame = pd.DataFrame([{"method": r.method, "model": r.name, "k": r.k, "code_bytes": code_bytes(r.k),
                           "mse": float(r.mse.mean()), "psnr": float(r.psnr.mean())} for r in evaluated.values()]
                         + [{key: row[key] for key in ("method", "model", "k", "code_bytes", "mse", "psnr")}
                            for row in extra_rows])
    pca = frame[frame.method == "PCA"].set_index("k")["mse"]
    frame["mse_vs_pca"] = frame["mse"] / frame["k"].map(pca)
    order = {m: i for i, m in enumerate(METHODS)}
    return frame.sort_values(["method", "k"], key=lambda col: col.map(order) if col.name == "method" else col,
                             ignore_index=True)


def codes_frame(codes: TestSetCodes, labels: Sequence[int], classes: Sequence[str]) -> pd.DataFrame:
    """The test split's latent codes as a table (one row per image), ready for CSV download."""
    labels = np.asarray(labels)
    frame = pd.DataFrame({"test_index": np.arange(len(codes.codes)), "label": labels,
                          "class": [classes[i] for i in labels]})
    for j in range(codes.k):
        frame[f"z{j + 1}"] = codes.codes[:, j]
    frame["reconstruction_mse"] = codes.mse
    return frame


# ----------------------------------------------------------------------------------------------------------------
# One image (the user's own) at every latent size
# ----------------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class SingleReconstruction:
    """One codec's rebuild of one image."""

    method: str
    name: str
    k: int
    image: torch.Tensor  # (C, H, W)
    mse: float
    psnr: float
    ssim: float


def reconstruct_every_k(image: torch.Tensor, codecs_by_k: CodecsByK) -> list[SingleReconstruction]:
    """Rebuild one image (1, C, H, W) with every codec at every k, ordered by method then k."""
    found = []
    for method in METHODS:
        for k in sorted(codecs_by_k):
            codec = codecs_by_k[k].get(method)
            if codec is None:
                continue
            rebuilt = codec.reconstruct(image)  # (1, C, H, W)
            found.append(SingleReconstruction(method, codec.name, k, rebuilt[0], metrics.mse(image, rebuilt),
                                              metrics.psnr(image, rebuilt), metrics.ssim(image, rebuilt)))
    return found


def own_image_report(image: torch.Tensor | np.ndarray,
                     codecs_by_k: CodecsByK) -> tuple[list[SingleReconstruction], CodecComparison]:
    """A user's image (1, C, H, W): every codec at every k, and the AE codes against JPEG and PNG in bytes."""
    image = torch.as_tensor(np.asarray(image, dtype=np.float32))
    learned = [codecs["AE"] for _, codecs in sorted(codecs_by_k.items()) if "AE" in codecs]
    return reconstruct_every_k(image, codecs_by_k), compare_codecs(image, learned, learned[0].k)


def every_k_frame(found: Sequence[SingleReconstruction]) -> pd.DataFrame:
    return pd.DataFrame([{"method": r.method, "model": r.name, "k": r.k, "code_bytes": code_bytes(r.k),
                          "mse": r.mse, "psnr": r.psnr, "ssim": r.ssim} for r in found])
