"""Probe images unlike the training digits: moved, turned and inverted test digits, and procedural drawings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from dashboard.core import data, images

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
# Printed digits: typefaces of the DejaVu and Liberation families (installed with most Linux desktops and Debian's
# fonts-dejavu / fonts-liberation), regular and bold. Whichever are found are used; none found, Pillow's own font.
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation",
             "/usr/share/fonts/TTF", "/usr/share/fonts/dejavu", "/usr/share/fonts/liberation")
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansMono.ttf",
              "DejaVuSansCondensed.ttf", "LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf",
              "LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf", "LiberationMono-Regular.ttf",
              "LiberationSansNarrow-Regular.ttf")
_GLYPH_PX = 96  # glyphs are drawn this tall and shrunk to the dataset's side by the MNIST-like framing
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


def font_paths() -> list[Path]:
    """The FONT_FILES found in FONT_DIRS, in FONT_FILES order."""
    found = {}
    for folder in FONT_DIRS:
        for name in FONT_FILES:
            path = Path(folder) / name
            if name not in found and path.is_file():
                found[name] = path
    return [found[name] for name in FONT_FILES if name in found]


def _printed_digit(digit: int, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, angle: float) -> np.ndarray:
    canvas = Image.new("L", (2 * _GLYPH_PX, 2 * _GLYPH_PX), 0)
    ImageDraw.Draw(canvas).text((_GLYPH_PX, _GLYPH_PX), str(digit), fill=255, font=font, anchor="mm")
    canvas = canvas.rotate(angle, resample=Image.BILINEAR)
    return np.asarray(canvas, dtype=np.float64) / 255.0


def printed_digits(dataset: data.Dataset, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n digits typeset in several fonts, slightly turned, framed like MNIST: images (n, 1, H, W) and labels (n,).

    Real digits, but not handwritten: how a model does on them shows how far it generalises beyond its training set.
    """
    rng = np.random.default_rng(seed)
    fonts = [ImageFont.truetype(str(path), _GLYPH_PX) for path in font_paths()] or \
        [ImageFont.load_default(size=_GLYPH_PX)]
    labels = rng.integers(0, 10, size=n)
    which = rng.integers(0, len(fonts), size=n)
    angles = rng.uniform(-10.0, 10.0, size=n)  # degrees: print is upright, scans are not quite
    made = [images.prepare_array(_printed_digit(int(d), fonts[f], a), dataset.image_shape).tensor
            for d, f, a in zip(labels, which, angles)]
    return torch.cat(made), torch.as_tensor(labels, dtype=torch.int64)
