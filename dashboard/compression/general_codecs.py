"""The honest limit: the learned code against JPEG and PNG in bytes, on test digits and on images unlike them."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from PIL import Image

from dashboard.compression.codecs import Codec, code_bytes, png_bytes, to_uint8
from dashboard.compression.probes import PROBE_KINDS, probe_images
from dashboard.core import data, metrics

JPEG_QUALITIES = (1, 2, 3, 5, 8, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95)
DEFAULT_TARGET_PSNR = 20.0  # dB, roughly the average quality of ae-16 on mnist-5k test digits


@dataclasses.dataclass(frozen=True)
class CodecPoint:
    """One way of storing one image: its size in bytes and the error of what comes back."""

    codec: str  # "AE", "PCA", "JPEG" or "PNG"
    setting: str  # e.g. "k = 16" or "quality 5"
    n_bytes: int
    mse: float

    @property
    def psnr(self) -> float:
        return float(10.0 * np.log10(1.0 / max(self.mse, 1e-10)))


def jpeg_point(image: torch.Tensor, quality: int) -> CodecPoint:
    """Baseline JPEG of the 8-bit image at one quality.

    Bytes count the image stream only (markers and entropy-coded data): with the standard tables at a known quality
    the receiver can rebuild the tables itself, just as it must already hold an autoencoder's decoder.
    """
    image_only = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(image_only, format="JPEG", quality=quality, streamtype=2)  # no tables
    decoded = jpeg_decoded(image, quality)
    return CodecPoint("JPEG", f"quality {quality}", len(image_only.getvalue()), metrics.mse(image, decoded))


def jpeg_decoded(image: torch.Tensor, quality: int) -> torch.Tensor:
    """What a JPEG of the image at this quality decodes to, same shape as the image."""
    full = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(full, format="JPEG", quality=quality)  # with tables: decodable alone
    return torch.from_numpy(np.asarray(Image.open(full), dtype=np.float32) / 255.0).view_as(image)


def png_point(image: torch.Tensor) -> CodecPoint:
    """Lossless PNG: its only error is the 8-bit rounding of the pixels."""
    decoded = torch.from_numpy(to_uint8(image).astype(np.float32) / 255.0).view_as(image)
    return CodecPoint("PNG", "lossless", png_bytes(image), metrics.mse(image, decoded))


def learned_points(image: torch.Tensor, codecs: Sequence[Codec]) -> list[CodecPoint]:
    """One point per codec (2k bytes each), for an image (1, C, H, W)."""
    return [CodecPoint(c.method, f"k = {c.k}", code_bytes(c.k), metrics.mse(image, c.reconstruct(image)))
            for c in codecs]


def bytes_to_reach(points: Sequence[CodecPoint], target_psnr: float) -> CodecPoint | None:
    """The smallest point at or above the target quality, or None if none gets there."""
    good = [p for p in points if p.psnr >= target_psnr]
    return min(good, key=lambda p: (p.n_bytes, p.mse)) if good else None


@dataclasses.dataclass
class CodecComparison:
    """A learned code against general codecs on one image."""

    learned: list[CodecPoint]  # the learned codec at every k
    jpeg: list[CodecPoint]  # JPEG at every quality in JPEG_QUALITIES
    png: CodecPoint
    chosen_k: int
    target_psnr: float

    def at_chosen_k(self) -> CodecPoint:
        return next(p for p in self.learned if p.setting == f"k = {self.chosen_k}")

    def jpeg_nearest_in_bytes(self) -> CodecPoint:
        """The JPEG whose size is closest to the learned code's, preferring the smaller one on ties."""
        budget = self.at_chosen_k().n_bytes
        return min(self.jpeg, key=lambda p: (abs(p.n_bytes - budget), p.n_bytes))

    def cheapest(self) -> dict[str, CodecPoint | None]:
        """Fewest bytes each codec needs to reach the target PSNR (None: it never does)."""
        learned_name = self.learned[0].codec if self.learned else "AE"
        return {learned_name: bytes_to_reach(self.learned, self.target_psnr),
                "JPEG": bytes_to_reach(self.jpeg, self.target_psnr),
                "PNG": self.png if self.png.psnr >= self.target_psnr else None}

    def winner(self) -> str:
        """The codec that reaches the target PSNR in the fewest bytes."""
        reached = {name: p for name, p in self.cheapest().items() if p is not None}
        return min(reached, key=lambda name: reached[name].n_bytes) if reached else "none"

    def table(self) -> pd.DataFrame:
        """The chosen-k code, the JPEG closest to it in bytes, PNG, and each codec's cheapest way to the target."""
        rows = [("at the code's size", self.at_chosen_k()), ("at the code's size", self.jpeg_nearest_in_bytes()),
                ("lossless", self.png)]
        rows += [(f"cheapest to {self.target_psnr:g} dB", p) for p in self.cheapest().values() if p is not None]
        return pd.DataFrame([{"comparison": label, "codec": p.codec, "setting": p.setting, "bytes": p.n_bytes,
                              "mse": p.mse, "psnr": p.psnr} for label, p in rows])


def compare_codecs(image: torch.Tensor, learned: Sequence[Codec], chosen_k: int,
                   target_psnr: float = DEFAULT_TARGET_PSNR) -> CodecComparison:
    """Measure one image (1, C, H, W) under the learned codecs (one per k), JPEG at every quality, and PNG."""
    return CodecComparison(learned_points(image, learned), [jpeg_point(image, q) for q in JPEG_QUALITIES],
                           png_point(image), chosen_k, target_psnr)


def probe_comparisons(dataset: data.Dataset, learned: Sequence[Codec], chosen_k: int, n: int, seed: int = 0,
                      kinds: Sequence[str] | None = None,
                      target_psnr: float = DEFAULT_TARGET_PSNR) -> dict[str, list[CodecComparison]]:
    """compare_codecs on n probe images of every kind: {kind: [CodecComparison, ...]}."""
    found = {}
    for kind in kinds or PROBE_KINDS:
        probes = probe_images(dataset, kind, n, seed)  # (n, 1, H, W)
        found[kind] = [compare_codecs(probes[i:i + 1], learned, chosen_k, target_psnr) for i in range(n)]
    return found


def comparison_summary(comparisons: Mapping[str, Sequence[CodecComparison]],
                       target_psnr: float | None = None) -> pd.DataFrame:
    """One row per probe kind: how often the learned code reaches the target first, and the typical bytes and dB.

    target_psnr re-judges the same measurements at another quality (None keeps each comparison's own).
    """
    rows = []
    for kind, results in comparisons.items():
        if target_psnr is not None:
            results = [dataclasses.replace(r, target_psnr=target_psnr) for r in results]
        chosen = [r.at_chosen_k() for r in results]
        nearest = [r.jpeg_nearest_in_bytes() for r in results]
        learned_reach = [p.n_bytes for p in (r.cheapest()[chosen[0].codec] for r in results) if p is not None]
        jpeg_reach = [p.n_bytes for p in (r.cheapest()["JPEG"] for r in results) if p is not None]
        rows.append({
            "kind": kind, "images": len(results), "target_psnr": results[0].target_psnr,
            "learned_wins": float(np.mean([r.winner() == chosen[0].codec for r in results])),
            "jpeg_wins": float(np.mean([r.winner() == "JPEG" for r in results])),
            "code_bytes": chosen[0].n_bytes, "code_psnr": float(np.median([p.psnr for p in chosen])),
            "jpeg_small_bytes": float(np.median([p.n_bytes for p in nearest])),
            "jpeg_small_psnr": float(np.median([p.psnr for p in nearest])),
            "learned_reaches": len(learned_reach) / len(results),
            "learned_bytes_to_target": float(np.median(learned_reach)) if learned_reach else float("nan"),
            "jpeg_reaches": len(jpeg_reach) / len(results),
            "jpeg_bytes_to_target": float(np.median(jpeg_reach)) if jpeg_reach else float("nan"),
            "png_bytes": float(np.median([r.png.n_bytes for r in results])),
        })
    return pd.DataFrame(rows)


def majority_winner(comparisons: Sequence[CodecComparison]) -> tuple[str, int]:
    """The codec that reaches the target first on most of these images, and on how many (first seen wins a tie)."""
    winners = [c.winner() for c in comparisons]
    best = max(dict.fromkeys(winners), key=winners.count)
    return best, winners.count(best)


def typical_example(comparisons: Sequence[CodecComparison]) -> int:
    """Index of the image that shows the usual outcome: the majority's winner, with the median learned quality.

    Among the images the majority winner wins, the one whose best learned PSNR (over every k, so the pick does not
    move with the code size) is nearest the median over all the images; the first such on a tie.
    """
    winner, _ = majority_winner(comparisons)
    quality = [max(p.psnr for p in c.learned) for c in comparisons]
    middle = float(np.median(quality))
    candidates = [i for i, c in enumerate(comparisons) if c.winner() == winner]
    return min(candidates, key=lambda i: (abs(quality[i] - middle), i))


@dataclasses.dataclass
class ProbeExample:
    """One probe image with what the learned code and the closest-sized JPEG give back."""

    kind: str
    image: torch.Tensor  # (C, H, W)
    learned: torch.Tensor  # (C, H, W): decoded from the code at the comparison's chosen k
    jpeg: torch.Tensor  # (C, H, W): the JPEG nearest in bytes to that code, decoded
    comparison: CodecComparison


def probe_example(dataset: data.Dataset, kind: str, comparison: CodecComparison, codec: Codec, n: int,
                  seed: int = 0, index: int = 0) -> ProbeExample:
    """Pictures for probe number `index` of the n that probe_comparisons measured with the same seed."""
    image = probe_images(dataset, kind, n, seed)[index:index + 1]  # (1, C, H, W)
    quality = int(comparison.jpeg_nearest_in_bytes().setting.split()[-1])
    return ProbeExample(kind, image[0], codec.reconstruct(image)[0], jpeg_decoded(image, quality)[0], comparison)
