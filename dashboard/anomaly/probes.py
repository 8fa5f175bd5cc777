"""A probe set of things that are not digits (letters and symbols in several fonts, scribbles), made once and shipped.

Rebuild the shipped file with `python -m dashboard.anomaly.probes` (it writes PROBE_FILE). The file is an npz
without pickles: uint8 images (N, 28, 28) framed like MNIST digits, and what each one is. Loading never needs the
fonts; making it skips any font that is missing and says so.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from dashboard.core import images, paths

PROBE_FILE = paths.ASSETS_DIR / "probes" / "not-digits.npz"
PROBE_SIDE = 28  # stored at MNIST's size; smaller datasets get an area-averaged copy
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation")
FONTS = ("DejaVuSans", "DejaVuSans-Bold", "DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSansMono", "DejaVuSansMono-Bold",
         "LiberationSans-Regular", "LiberationSans-Bold", "LiberationSerif-Regular", "LiberationSerif-Bold",
         "LiberationMono-Regular", "LiberationMono-Bold")
# Letters that a person could read as a digit (O/D/Q as 0, I/l/i/j as 1, Z as 2, S as 5, b/G as 6, B as 8, g/q as 9)
# are left out: a detector that passes them is right to.
LETTERS = "ACEFHKLMNPRTUVWXYacdefhkmnprtuvwxy"
SYMBOLS = "+=%&@#$?*<>~^×÷€£¥§¶πΩΣ√∞≈≠±"
N_SCRIBBLES = 200
SCRIBBLE_SEED = 1
_RENDER_PX = 96  # glyphs are drawn large, then framed and shrunk like a scanned digit


def _font_path(name: str) -> Path | None:
    for folder in FONT_DIRS:
        path = Path(folder) / f"{name}.ttf"
        if path.exists():
            return path
    return None


def _glyph(char: str, font: ImageFont.FreeTypeFont) -> np.ndarray:
    canvas = Image.new("L", (2 * _RENDER_PX, 2 * _RENDER_PX), 0)
    ImageDraw.Draw(canvas).text((_RENDER_PX // 2, _RENDER_PX // 3), char, fill=255, font=font)
    return np.asarray(canvas, dtype=np.float64) / 255.0


def _scribbles(n: int, seed: int) -> tuple[np.ndarray, list[str]]:
    from dashboard.compression import probes as drawings  # the Compression page's pen paths, framed like digits

    made = drawings.probe_images(_ShapeOnly(), "scribble", n, seed)  # (n, 1, 28, 28)
    return made[:, 0].numpy(), ["scribble"] * n


class _ShapeOnly:
    """What compression.probes needs of a dataset to draw scribbles: only the image shape."""

    image_shape = (1, PROBE_SIDE, PROBE_SIDE)


def build() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(images (N, 28, 28) uint8, what (N,), font (N,), missing fonts): every character in every font found."""
    pictures, what, fonts, missing = [], [], [], []
    for name in FONTS:
        path = _font_path(name)
        if path is None:
            missing.append(name)
            continue
        font = ImageFont.truetype(str(path), _RENDER_PX)
        for char in LETTERS + SYMBOLS:
            try:
                framed = images.prepare_array(_glyph(char, font), (1, PROBE_SIDE, PROBE_SIDE)).tensor[0, 0].numpy()
            except images.ImageInputError:  # a glyph the font lacks can render blank
                continue
            pictures.append(framed)
            what.append(f"letter {char}" if char in LETTERS else f"symbol {char}")
            fonts.append(name)
    drawn, names = _scribbles(N_SCRIBBLES, SCRIBBLE_SEED)
    pictures.extend(drawn)
    what.extend(names)
    fonts.extend(["pen"] * len(names))
    stack = np.clip(np.round(np.stack(pictures) * 255), 0, 255).astype(np.uint8)
    return stack, np.asarray(what), np.asarray(fonts), missing


def save(path: Path | str | None = None) -> tuple[int, list[str]]:
    """Write the probe set (npz, no pickles); returns (how many images, fonts that were missing)."""
    stack, what, fonts, missing = build()
    path = Path(PROBE_FILE if path is None else path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, images=stack, what=what, font=fonts)
    return len(stack), missing


def load(image_shape: tuple[int, int, int] = (1, PROBE_SIDE, PROBE_SIDE), path: Path | str | None = None
         ) -> tuple[torch.Tensor, np.ndarray]:
    """The probe images (N, 1, H, W) float32 in [0, 1] at the given size, and what each one is (N,)."""
    with np.load(PROBE_FILE if path is None else path, allow_pickle=False) as stored:
        pixels, what = stored["images"], stored["what"]
    x = torch.from_numpy(pixels.astype(np.float32) / 255.0)[:, None]  # (N, 1, 28, 28)
    if tuple(image_shape[1:]) != tuple(x.shape[2:]):
        x = F.interpolate(x, size=tuple(image_shape[1:]), mode="area")  # (N, 1, H, W)
    return x, what


def kind_of(what: np.ndarray) -> np.ndarray:
    """The group of each probe: "letter", "symbol" or "scribble"."""
    return np.asarray([w.split(" ")[0] for w in what])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(PROBE_FILE), help="where to write the npz (default: the shipped file)")
    args = parser.parse_args(argv)
    count, missing = save(args.out)
    print(f"wrote {count} probe images to {args.out}" + (f"; fonts not found: {', '.join(missing)}" if missing else ""))


if __name__ == "__main__":
    main()
