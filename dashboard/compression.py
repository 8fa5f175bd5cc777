"""Compression with a learned code: sizes in values and bytes, AE/VAE/PCA reconstructions, rate-distortion, 3D views."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Callable, Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageDraw
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from threadpoolctl import ThreadpoolController
from torch import nn

from dashboard.core import baselines, data, images, metrics, zoo
from dashboard.viz import plots

LATENT_SIZES = (2, 3, 8, 16, 32)
METHODS = ("AE", "VAE", "PCA")
NETWORK_FAMILIES = {"AE": "ae", "VAE": "vae"}
CODE_DTYPE = torch.float16  # the code is stored and sent as half floats; every error here is measured after rounding
BYTES_PER_CODE_VALUE = 2
PROJECTIONS = ("native", "pca", "tsne")
JPEG_QUALITIES = (1, 2, 3, 5, 8, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95)
DEFAULT_TARGET_PSNR = 20.0  # dB, roughly the average quality of ae-16 on mnist-5k test digits

SMALL_BATCH = 64  # up to this many images, inference runs on one thread (see _threads_for)

ModelLoader = Callable[[str, str], nn.Module]
_THREADPOOLS = ThreadpoolController()


def _threads_for(n_images: int) -> contextlib.AbstractContextManager:
    """One OpenMP thread for small batches: splitting a few images across threads gains nothing, and on a shared CPU
    the threads' barrier waits turned a 5 ms forward pass into 400-700 ms. The limit applies to the calling thread only.
    """
    return _THREADPOOLS.limit(limits=1, user_api="openmp") if n_images <= SMALL_BATCH else contextlib.nullcontext()


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
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format="PNG", optimize=True)
    return len(buffer.getvalue())


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
        with _threads_for(len(x)):
            return metrics.encode(self.model, x).to(CODE_DTYPE)  # (N, k) half floats

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), _threads_for(len(codes)):
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
               methods: Sequence[str] = METHODS) -> dict[str, Codec]:
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
               methods: Sequence[str] = METHODS) -> CodecsByK:
    """Codecs for every latent size: {k: {method: codec}}; fitting every PCA up front keeps later reruns fast."""
    return {k: codecs_for(dataset, k, load_model, methods) for k in sizes}


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


def rate_distortion_table(evaluated: Mapping[tuple[str, int], TestSetCodes]) -> pd.DataFrame:
    """Test MSE and PSNR against k per method, with each method's MSE as a multiple of PCA's at the same k."""
    frame = pd.DataFrame([{"method": r.method, "model": r.name, "k": r.k, "code_bytes": code_bytes(r.k),
                           "mse": float(r.mse.mean()), "psnr": float(r.psnr.mean())} for r in evaluated.values()])
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
# 3D views of the codes
# ----------------------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TsneConfig:
    """t-SNE settings: three output dimensions are far slower than two, so the run is kept short and cached."""

    max_points: int = 1000  # at most this many test images are embedded
    perplexity: float = 30.0  # effective neighbourhood size
    max_iter: int = 500  # including the 250 early-exaggeration steps; visibly converged on mnist-5k codes
    angle: float = 0.8  # Barnes-Hut trade-off: higher is faster and coarser
    openmp_threads: int = 1  # on a shared 2-core box, OpenMP spin-waiting made 2 threads about 3x slower than 1
    seed: int = 0


@dataclasses.dataclass
class LatentView:
    """Points to draw in 3D, one per test image, with what hover needs."""

    points: np.ndarray  # (N, 3)
    labels: np.ndarray  # (N,)
    errors: np.ndarray  # (N,) reconstruction MSE of each image
    indices: np.ndarray  # (N,) positions in the test split
    description: str  # how the points were made, for the caption


def project_3d(codes: np.ndarray, how: str = "pca", tsne: TsneConfig = TsneConfig()) -> tuple[np.ndarray, str]:
    """Codes (N, k) -> points (N, 3): "native" (k <= 3, padded with zeros), "pca" or "tsne"."""
    codes = np.asarray(codes, dtype=np.float64)
    n, k = codes.shape
    if how == "native":
        if k > 3:
            raise ValueError(f"A {k}-value code cannot be drawn natively in 3D; use 'pca' or 'tsne'.")
        padded = np.hstack([codes, np.zeros((n, 3 - k))])
        return padded, ("the 3 code values themselves" if k == 3 else f"the {k} code values (flat in the rest)")
    if how == "pca":
        if k <= 3:
            return project_3d(codes, "native")
        pca = PCA(n_components=3, random_state=0).fit(codes)
        share = 100 * pca.explained_variance_ratio_.sum()
        return pca.transform(codes), f"PCA of the {k} code values to 3 ({share:.0f}% of their variance)"
    if how == "tsne":
        perplexity = min(tsne.perplexity, max(2.0, (n - 1) / 3))  # t-SNE needs perplexity < n
        model = TSNE(n_components=3, perplexity=perplexity, max_iter=tsne.max_iter, angle=tsne.angle, init="pca",
                     random_state=tsne.seed)
        with _THREADPOOLS.limit(limits=tsne.openmp_threads, user_api="openmp"):
            points = model.fit_transform(codes)
        return points, f"t-SNE of the {k} code values to 3 (distances between clusters mean little)"
    raise ValueError(f"Unknown projection {how!r}; expected one of {PROJECTIONS}.")


def latent_view(codes: TestSetCodes, labels: Sequence[int], how: str = "pca",
                tsne: TsneConfig = TsneConfig()) -> LatentView:
    """The test split's codes as 3D points; t-SNE is limited to the first tsne.max_points images."""
    n = min(len(codes.codes), tsne.max_points) if how == "tsne" else len(codes.codes)
    points, description = project_3d(codes.codes[:n], how, tsne)
    return LatentView(points, np.asarray(labels)[:n], codes.mse[:n], np.arange(n),
                      f"{codes.name}: {description}, {n} test images")


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


# ----------------------------------------------------------------------------------------------------------------
# The honest limit: a general codec against the learned one, in bytes
# ----------------------------------------------------------------------------------------------------------------

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


# ----------------------------------------------------------------------------------------------------------------
# Probe images unlike the training digits, drawn procedurally
# ----------------------------------------------------------------------------------------------------------------

PROBE_KINDS = ("test digit", "shifted digit", "rotated digit", "inverted digit", "letter", "scribble",
               "clothing-like pattern")
# Capital letters as polylines in a unit box (x right, y down); drawn, then framed like a digit.
LETTER_STROKES = {
    "A": [[(0.1, 1), (0.5, 0), (0.9, 1)], [(0.28, 0.6), (0.72, 0.6)]],
    "E": [[(0.85, 0), (0.15, 0), (0.15, 1), (0.85, 1)], [(0.15, 0.5), (0.7, 0.5)]],
    "F": [[(0.85, 0), (0.15, 0), (0.15, 1)], [(0.15, 0.5), (0.7, 0.5)]],
    "H": [[(0.15, 0), (0.15, 1)], [(0.85, 0), (0.85, 1)], [(0.15, 0.5), (0.85, 0.5)]],
    "K": [[(0.15, 0), (0.15, 1)], [(0.85, 0), (0.15, 0.55)], [(0.4, 0.35), (0.85, 1)]],
    "M": [[(0.1, 1), (0.1, 0), (0.5, 0.6), (0.9, 0), (0.9, 1)]],
    "N": [[(0.15, 1), (0.15, 0), (0.85, 1), (0.85, 0)]],
    "R": [[(0.15, 1), (0.15, 0), (0.7, 0), (0.85, 0.15), (0.85, 0.35), (0.7, 0.5), (0.15, 0.5)],
          [(0.45, 0.5), (0.85, 1)]],
    "T": [[(0.05, 0), (0.95, 0)], [(0.5, 0), (0.5, 1)]],
    "W": [[(0.0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1.0, 0)]],
    "X": [[(0.1, 0), (0.9, 1)], [(0.9, 0), (0.1, 1)]],
    "Y": [[(0.1, 0), (0.5, 0.5), (0.9, 0)], [(0.5, 0.5), (0.5, 1)]],
    "Z": [[(0.1, 0), (0.9, 0), (0.1, 1), (0.9, 1)]],
}
_DRAW_SCALE = 4  # draw at 4x and shrink, which anti-aliases strokes the way scanned digits are


def _draw_strokes(strokes: Sequence[Sequence[tuple[float, float]]], side: int, width: float) -> np.ndarray:
    big = side * _DRAW_SCALE
    canvas = Image.new("L", (big, big), 0)
    pen = ImageDraw.Draw(canvas)
    for stroke in strokes:
        pen.line([(x * (big - 1), y * (big - 1)) for x, y in stroke], fill=255, width=max(1, int(width * _DRAW_SCALE)),
                 joint="curve")
    return np.asarray(canvas.resize((side, side), Image.LANCZOS), dtype=np.float64) / 255.0


def _letter(rng: np.random.Generator, side: int) -> np.ndarray:
    strokes = LETTER_STROKES[list(LETTER_STROKES)[rng.integers(len(LETTER_STROKES))]]
    return _draw_strokes(strokes, side, width=side / 7.5)


def _scribble(rng: np.random.Generator, side: int) -> np.ndarray:
    """A smooth random pen path: a random walk whose heading turns gradually."""
    heading, point, path = rng.uniform(0, 2 * np.pi), np.array([0.5, 0.5]), []
    for _ in range(60):
        heading += rng.normal(0, 0.5)
        point = np.clip(point + 0.04 * np.array([np.cos(heading), np.sin(heading)]), 0.05, 0.95)
        path.append(tuple(point))
    return _draw_strokes([path], side, width=side / 10)


def _clothing(rng: np.random.Generator, side: int) -> np.ndarray:
    """A filled garment-like silhouette with a woven texture, like a Fashion-MNIST item (which fills the frame)."""
    shapes = [
        [(0.3, 0.05), (0.7, 0.05), (0.98, 0.3), (0.85, 0.45), (0.75, 0.35), (0.75, 0.97), (0.25, 0.97), (0.25, 0.35),
         (0.15, 0.45), (0.02, 0.3)],  # shirt
        [(0.28, 0.03), (0.72, 0.03), (0.8, 0.97), (0.57, 0.97), (0.5, 0.3), (0.43, 0.97), (0.2, 0.97)],  # trousers
        [(0.08, 0.3), (0.92, 0.3), (0.95, 0.95), (0.05, 0.95)],  # bag
        [(0.02, 0.55), (0.45, 0.45), (0.7, 0.25), (0.98, 0.6), (0.98, 0.8), (0.02, 0.8)],  # shoe
    ]
    big = side * _DRAW_SCALE
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).polygon([(x * (big - 1), y * (big - 1)) for x, y in shapes[rng.integers(len(shapes))]],
                                 fill=255)
    silhouette = np.asarray(mask.resize((side, side), Image.LANCZOS), dtype=np.float64) / 255.0
    yy, xx = np.mgrid[0:side, 0:side]
    period, angle = rng.uniform(2.5, 5.0), rng.uniform(0, np.pi)
    weave = 0.5 + 0.5 * np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period)
    shade = rng.uniform(0.45, 0.75) + 0.25 * weave
    return np.clip(silhouette * shade, 0.0, 1.0)


def probe_images(dataset: data.Dataset, kind: str, n: int, seed: int = 0) -> torch.Tensor:
    """n images (n, 1, H, W) of one PROBE_KINDS kind at the dataset's size; the same seed gives the same images."""
    if kind not in PROBE_KINDS:
        raise ValueError(f"Unknown probe kind {kind!r}; expected one of {PROBE_KINDS}.")
    rng = np.random.default_rng(seed)
    shape = dataset.image_shape
    side = shape[1]
    if kind.endswith("digit"):
        digits = dataset.x_test[torch.as_tensor(rng.choice(len(dataset.x_test), size=n, replace=False))]
        if kind == "shifted digit":
            # Zero-filled shift by about a fifth of the side; training used shifts of at most 2 pixels.
            step = max(1, round(side / 5))
            moved = torch.zeros_like(digits)
            moved[..., step:, step:] = digits[..., :-step, :-step]
            return moved
        if kind == "rotated digit":
            return torch.rot90(digits, 1, dims=(2, 3)).contiguous()
        if kind == "inverted digit":
            return 1.0 - digits
        return digits.clone()
    draw = {"letter": _letter, "scribble": _scribble, "clothing-like pattern": _clothing}[kind]
    made = []
    for _ in range(n):
        gray = draw(rng, side)
        if kind == "clothing-like pattern":
            made.append(torch.from_numpy(gray.astype(np.float32)).view(1, 1, side, side))
        else:
            made.append(images.prepare_array(gray, shape).tensor)  # cropped, boxed and centred like MNIST
    return torch.cat(made)  # (n, 1, H, W)


# ----------------------------------------------------------------------------------------------------------------
# Figures (altair), in the app's method colours
# ----------------------------------------------------------------------------------------------------------------

def tile_row(tiles: Sequence[np.ndarray], gap: int = 4, fill: int = 255) -> np.ndarray:
    """Equal-height uint8 images (H, W) or (H, W, 3) side by side with a light gap: one picture to send, not many."""
    rgb = any(t.ndim == 3 for t in tiles)
    tiles = [np.repeat(t[..., None], 3, axis=2) if rgb and t.ndim == 2 else t for t in tiles]
    spacer = np.full((tiles[0].shape[0], gap, *tiles[0].shape[2:]), fill, dtype=np.uint8)
    parts = [part for tile in tiles for part in (tile, spacer)][:-1]
    return np.concatenate(parts, axis=1)


def encode_png(pixels: np.ndarray) -> bytes:
    """A uint8 picture (H, W) or (H, W, 3) as PNG bytes, so a page can cache it and send it without re-encoding."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="PNG")
    return buffer.getvalue()


def vega_spec(chart: alt.TopLevelMixin) -> dict:
    """A finished Vega-Lite spec with its data inline.

    Streamlit turns named datasets into Arrow tables on every call (about 15 ms a chart); inline values cost ~2 ms.
    """
    spec = chart.to_dict()
    datasets = spec.pop("datasets", {})

    def inline(node):
        if isinstance(node, dict):
            source = node.get("data")
            if isinstance(source, dict) and source.get("name") in datasets:
                node["data"] = {"values": datasets[source["name"]]}
            for value in node.values():
                inline(value)
        elif isinstance(node, list):
            for value in node:
                inline(value)

    inline(spec)
    return spec


def _method_scale(methods: Sequence[str]) -> alt.Scale:
    return alt.Scale(domain=list(methods), range=[plots.method_color(m) for m in methods])


def rate_distortion_chart(table: pd.DataFrame, chosen_k: int, metric: str = "mse") -> alt.LayerChart:
    """Test error (MSE or PSNR) against code size k per method, with the chosen k marked."""
    title = {"mse": "test MSE (lower is better)", "psnr": "test PSNR in dB (higher is better)"}[metric]
    methods = [m for m in METHODS if m in set(table["method"])]
    base = alt.Chart(table).encode(
        x=alt.X("k:Q", scale=alt.Scale(type="log", base=2), axis=alt.Axis(values=list(LATENT_SIZES)),
                title="code size k (numbers per image, log scale)"),
        y=alt.Y(f"{metric}:Q", title=title, scale=alt.Scale(zero=False)),
        color=alt.Color("method:N", scale=_method_scale(methods), title="method"),
        tooltip=["method", "model", "k", "code_bytes", alt.Tooltip("mse:Q", format=".5f"),
                 alt.Tooltip("psnr:Q", format=".2f", title="PSNR (dB)"),
                 alt.Tooltip("mse_vs_pca:Q", format=".2f", title="MSE / PCA's")])
    marker = alt.Chart(pd.DataFrame({"k": [chosen_k], "label": [f"k = {chosen_k}"]})).encode(x="k:Q")
    return alt.layer(base.mark_line(point=True), marker.mark_rule(strokeDash=[4, 4], color="#888"),
                     marker.mark_text(align="left", dx=4, dy=-6, color="#555").encode(
                         y=alt.value(0), text="label:N")).properties(height=300)


def codec_chart(comparison: CodecComparison) -> alt.LayerChart:
    """Bytes against PSNR for one image: the learned code at every k, JPEG at every quality, PNG and the target."""
    points = pd.DataFrame([{"codec": p.codec, "setting": p.setting, "bytes": p.n_bytes, "psnr": p.psnr}
                           for p in comparison.learned + comparison.jpeg])
    codecs = list(dict.fromkeys(points["codec"]))
    colors = [plots.method_color(c) if c in plots.METHOD_COLORS else "#E45756" for c in codecs]
    ticks = [2 ** i for i in range(2, 11)]
    curves = alt.Chart(points).mark_line(point=True).encode(
        x=alt.X("bytes:Q", scale=alt.Scale(type="log", base=2), axis=alt.Axis(values=ticks, grid=True),
                title="bytes per image (log scale)"),
        y=alt.Y("psnr:Q", title="PSNR in dB (higher is better)", scale=alt.Scale(zero=False)),
        color=alt.Color("codec:N", scale=alt.Scale(domain=codecs, range=colors), title="codec"),
        tooltip=["codec", "setting", "bytes", alt.Tooltip("psnr:Q", format=".1f")])
    png = alt.Chart(pd.DataFrame({"bytes": [comparison.png.n_bytes],
                                  "label": [f"PNG, lossless: {comparison.png.n_bytes} B"]}))
    target = alt.Chart(pd.DataFrame({"psnr": [comparison.target_psnr],
                                     "label": [f"target {comparison.target_psnr:g} dB"]}))
    return alt.layer(
        curves, png.mark_rule(strokeDash=[2, 2], color="#666").encode(x="bytes:Q"),
        png.mark_text(align="right", dx=-4, dy=8, color="#666").encode(x="bytes:Q", y=alt.value(0), text="label:N"),
        target.mark_rule(strokeDash=[6, 3], color="#aaa").encode(y="psnr:Q"),
        target.mark_text(align="left", dy=-6, color="#777").encode(x=alt.value(4), y="psnr:Q", text="label:N"),
    ).properties(height=300)
