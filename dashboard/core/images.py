"""Images in and out: an upload or a drawing made a model-ready digit (or clearly refused), and pixels as PNG."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_MB = 2  # keep in step with server.maxUploadSize in .streamlit/config.toml
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
MAX_PIXELS = 25_000_000  # anything larger is refused before decoding (decompression bombs)
ACCEPTED_FORMATS = ("PNG", "JPEG")
ACCEPTED_EXTENSIONS = ["png", "jpg", "jpeg"]
# MNIST digits fill a 20x20 box centred by mass in a 28x28 frame; user images are framed the same way.
DIGIT_BOX_FRACTION = 20 / 28
BLANK_CONTRAST = 0.08


class ImageInputError(ValueError):
    """The input cannot be used; the message is written for the person who supplied it."""


@dataclass
class PreparedImage:
    """A (1, C, H, W) float32 tensor in [0, 1], light strokes on dark, plus notes on what was changed."""

    tensor: torch.Tensor
    notes: list[str] = field(default_factory=list)
    source_size: tuple[int, int] = (0, 0)


def _open_checked(payload: bytes, filename: str) -> Image.Image:
    if not payload:
        raise ImageInputError("The file is empty (0 bytes). Choose a PNG or JPEG image.")
    if len(payload) > MAX_UPLOAD_BYTES:
        raise ImageInputError(f"The file is {len(payload) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_MB} MB. "
                              "A digit needs only a few kilobytes: crop or shrink it first.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(payload))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageInputError("The image claims so many pixels that decoding it could exhaust the server's "
                              f"memory, so it was refused (limit {MAX_PIXELS / 1e6:.0f} megapixels).") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageInputError(f"{filename or 'This file'} is not an image that can be read "
                              f"(expected PNG or JPEG): {type(exc).__name__}.") from exc
    if image.format not in ACCEPTED_FORMATS:
        raise ImageInputError(f"{filename or 'This file'} is a {image.format or 'unknown'} file; "
                              "only PNG and JPEG are accepted.")
    width, height = image.size
    if width * height > MAX_PIXELS or width < 1 or height < 1:
        raise ImageInputError(f"The image is {width} x {height} pixels, which is too large to decode safely "
                              f"(limit {MAX_PIXELS / 1e6:.0f} megapixels).")
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageInputError(f"{filename or 'The image'} is damaged or truncated and cannot be decoded.") from exc
    return image


def _to_gray(image: Image.Image, notes: list[str]) -> np.ndarray:
    """Any PIL mode -> 2D float array in [0, 1]; transparency is flattened onto the opposite of the ink."""
    if getattr(image, "n_frames", 1) > 1:
        notes.append(f"The image is animated ({image.n_frames} frames); the first frame is used.")
        image.seek(0)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if array.max() > 255 else 255.0
        if peak > 255:
            notes.append("16-bit image scaled to the 0-1 range.")
        return np.clip(array / peak, 0.0, 1.0)
    if image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        return np.clip(array / max(float(array.max()), 1.0), 0.0, 1.0)
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    if image.mode == "CMYK":
        image = image.convert("RGB")
        notes.append("CMYK image converted to RGB.")
    if image.mode in ("RGBA", "LA"):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float64) / 255.0
        gray = rgba[..., :3] @ np.array([0.299, 0.587, 0.114])
        alpha = rgba[..., 3]
        if alpha.min() < 1.0:
            visible = alpha > 0.5
            ink = gray[visible].mean() if visible.any() else 1.0
            background = 0.0 if ink > 0.5 else 1.0
            notes.append("Transparent areas were filled with the background colour.")
            return gray * alpha + background * (1.0 - alpha)
        return gray
    return np.asarray(image.convert("L"), dtype=np.float64) / 255.0


def _frame_like_training_data(gray: np.ndarray, side: int) -> np.ndarray:
    """Crop to the ink, fit it into the central box, and centre it by mass, as MNIST was prepared."""
    rows, cols = np.nonzero(gray > 0.15)
    crop = gray[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    box = max(1, int(round(side * DIGIT_BOX_FRACTION))) if side >= 16 else side
    scale = box / max(crop.shape)
    new_h, new_w = max(1, int(round(crop.shape[0] * scale))), max(1, int(round(crop.shape[1] * scale)))
    resized = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize((new_w, new_h), Image.LANCZOS),
                         dtype=np.float64) / 255.0
    canvas = np.zeros((side, side))
    top, left = (side - new_h) // 2, (side - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = resized
    if side >= 16:
        mass = canvas.sum()
        cy = (canvas.sum(axis=1) * np.arange(side)).sum() / mass
        cx = (canvas.sum(axis=0) * np.arange(side)).sum() / mass
        dy, dx = int(round(side / 2 - 0.5 - cy)), int(round(side / 2 - 0.5 - cx))
        canvas = np.roll(canvas, (dy, dx), axis=(0, 1))
    return np.clip(canvas, 0.0, 1.0)


def prepare_array(gray: np.ndarray, image_shape: tuple[int, int, int], notes: list[str] | None = None,
                  empty_message: str = "The image is blank: there is no digit to read.") -> PreparedImage:
    """A 2D float image in [0, 1] (any polarity, any size) -> a framed (1, 1, H, W) model input."""
    notes = [] if notes is None else notes
    gray = np.asarray(gray, dtype=np.float64)
    if gray.ndim != 2 or gray.size == 0:
        raise ImageInputError("Expected a 2D image.")
    if float(gray.max() - gray.min()) < BLANK_CONTRAST:
        raise ImageInputError(empty_message)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if border.mean() > 0.5:
        gray = 1.0 - gray
        notes.append("Dark strokes on a light background were inverted to match the training digits "
                     "(light on dark).")
    low, high = np.percentile(gray, 1), gray.max()
    gray = np.clip((gray - low) / max(high - low, 1e-6), 0.0, 1.0)  # stretch contrast; phone photos are grey
    side = image_shape[1]
    if gray.shape != (side, side):
        notes.append(f"Resized from {gray.shape[1]} x {gray.shape[0]} to {side} x {side} pixels, "
                     "with the digit centred like the training data.")
    framed = _frame_like_training_data(gray, side)
    tensor = torch.from_numpy(framed.astype(np.float32)).view(1, 1, side, side)
    return PreparedImage(tensor, notes, (gray.shape[1], gray.shape[0]))


def from_bytes(payload: bytes, image_shape: tuple[int, int, int] = (1, 28, 28),
               filename: str = "") -> PreparedImage:
    """An uploaded file's bytes -> a model input; raises ImageInputError with a readable reason."""
    image = _open_checked(payload, filename)
    notes: list[str] = []
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    expected = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG"}.get(extension)
    if expected and expected != image.format:
        notes.append(f"The file is named .{extension} but holds a {image.format} image; it was read as "
                     f"{image.format}.")
    image = ImageOps.exif_transpose(image) if image.format == "JPEG" else image
    gray = _to_gray(image, notes)
    return prepare_array(gray, image_shape, notes)


def from_canvas(rgba: np.ndarray | None, image_shape: tuple[int, int, int] = (1, 28, 28)) -> PreparedImage:
    """The drawing canvas's RGBA pixels -> a model input; an empty canvas raises ImageInputError."""
    empty = "The canvas is empty: draw a digit first."
    if rgba is None or np.asarray(rgba).size == 0:
        raise ImageInputError(empty)
    pixels = np.asarray(rgba, dtype=np.float64)
    if pixels.ndim != 3 or pixels.shape[2] < 3:
        raise ImageInputError("The canvas sent an unexpected image.")
    gray = pixels[..., :3].mean(axis=2) / 255.0
    if pixels.shape[2] == 4:
        gray = gray * (pixels[..., 3] / 255.0)  # untouched canvas pixels are transparent: count them as paper
    return prepare_array(gray, image_shape, [], empty_message=empty)


def enlarge(pixels: np.ndarray, scale: int, axes: tuple[int, int] = (0, 1)) -> np.ndarray:
    """Pixels enlarged scale times along two axes (height, width) with crisp, nearest-neighbour edges."""
    if scale <= 1:
        return pixels
    return pixels.repeat(scale, axis=axes[0]).repeat(scale, axis=axes[1])


def encode_png(pixels: np.ndarray, scale: int = 1, palette: list[int] | None = None, **options) -> bytes:
    """A uint8 picture, (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA, as PNG bytes, optionally enlarged.

    palette: the picture holds indices into this flat [r, g, b, r, g, b, ...] list (a palette PNG). options go to
    Pillow's PNG writer (optimize, bits).
    """
    array = np.asarray(pixels)
    if array.dtype != np.uint8:
        raise ValueError(f"A PNG is encoded from uint8 pixels, not {array.dtype}.")
    image = Image.fromarray(np.ascontiguousarray(enlarge(array, scale)), mode="P" if palette else None)
    if palette:
        image.putpalette(palette)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()
