"""Hostile and odd image inputs: every one gets a clear ImageInputError or a usable image, never a crash."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from dashboard.core import images
from tests.harness.inputs import bomb_png

SHAPE = (1, 28, 28)


def encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def stroke(size: int = 64, dark_on_light: bool = False) -> np.ndarray:
    """A thick diagonal stroke, like a hand-drawn 1, as uint8."""
    canvas = np.zeros((size, size), dtype=np.uint8)
    for i in range(size // 5, size - size // 5):
        canvas[i, max(0, i - 4):i + 4] = 255
    return 255 - canvas if dark_on_light else canvas




def test_a_clean_digit_is_framed_like_mnist():
    prepared = images.from_bytes(encode(Image.fromarray(stroke())), SHAPE, "one.png")
    assert prepared.tensor.shape == (1, 1, 28, 28)
    pixels = prepared.tensor[0, 0].numpy()
    assert 0.0 <= pixels.min() and pixels.max() <= 1.0
    rows, cols = np.nonzero(pixels > 0.1)
    assert rows.min() >= 2 and rows.max() <= 25 and cols.min() >= 2 and cols.max() <= 25  # a margin, like MNIST
    assert any("Resized from 64 x 64" in note for note in prepared.notes)


def test_dark_on_light_is_inverted_with_a_note():
    prepared = images.from_bytes(encode(Image.fromarray(stroke(dark_on_light=True))), SHAPE, "scan.png")
    assert any("inverted" in note for note in prepared.notes)
    assert prepared.tensor[0, 0, 0, 0] < 0.1  # background is dark after inversion


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "CMYK", "I;16", "1", "RGB"])
def test_every_common_mode_is_accepted(mode):
    gray = Image.fromarray(stroke())
    if mode == "I;16":
        image = Image.fromarray(np.asarray(gray).astype(np.uint16) * 257)  # 16-bit grey
        assert image.mode.startswith("I;16")
    elif mode == "CMYK":
        image = gray.convert("RGB").convert("CMYK")
    else:
        image = gray.convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    prepared = images.from_bytes(encode(image, fmt), SHAPE, f"x.{fmt.lower()}")
    assert prepared.tensor.shape == (1, 1, 28, 28)
    assert float(prepared.tensor.max()) > 0.5


def test_transparent_background_png_is_flattened():
    rgba = np.zeros((64, 64, 4), dtype=np.uint8)
    rgba[..., 3][stroke() > 0] = 255  # black ink on a transparent sheet
    prepared = images.from_bytes(encode(Image.fromarray(rgba, "RGBA")), SHAPE, "ink.png")
    assert float(prepared.tensor.max()) > 0.5 and any("Transparent" in n for n in prepared.notes)


def test_animated_image_uses_the_first_frame():
    frames = [Image.fromarray(stroke()), Image.fromarray(255 - stroke())]
    payload = encode(frames[0], "PNG", save_all=True, append_images=frames[1:])
    prepared = images.from_bytes(payload, SHAPE, "anim.png")
    assert any("animated" in note for note in prepared.notes)


@pytest.mark.parametrize("payload, message", [
    (b"", "empty"),
    (b"GIF89a-not-really", "not an image"),
    (b"%PDF-1.4 hello", "not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "not an image"),
])
def test_non_images_get_a_clear_message(payload, message):
    with pytest.raises(images.ImageInputError, match=message):
        images.from_bytes(payload, SHAPE, "upload.png")


def test_truncated_png_and_jpeg_are_refused():
    for fmt in ("PNG", "JPEG"):
        whole = encode(Image.fromarray(stroke(256)).convert("RGB"), fmt)
        with pytest.raises(images.ImageInputError, match="damaged|not an image"):
            images.from_bytes(whole[: len(whole) // 2], SHAPE, f"cut.{fmt.lower()}")


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(images.ImageInputError, match="so many pixels"):
        images.from_bytes(bomb_png(), SHAPE, "bomb.png")
    with pytest.raises(images.ImageInputError, match="too large to decode safely"):
        images.from_bytes(bomb_png(6000, 6000), SHAPE, "big.png")


def test_oversized_file_is_refused_by_size():
    with pytest.raises(images.ImageInputError, match="limit is 2 MB"):
        images.from_bytes(b"\x89PNG" + b"0" * (images.MAX_UPLOAD_BYTES + 1), SHAPE, "big.png")


def test_other_formats_are_refused_by_content():
    gif = encode(Image.fromarray(stroke()), "GIF")
    with pytest.raises(images.ImageInputError, match="only PNG and JPEG"):
        images.from_bytes(gif, SHAPE, "lies.png")


def test_extension_that_lies_is_read_by_content_with_a_note():
    jpeg = encode(Image.fromarray(stroke()).convert("RGB"), "JPEG")
    prepared = images.from_bytes(jpeg, SHAPE, "actually-a.png")
    assert any("holds a JPEG image" in note for note in prepared.notes)


def test_blank_images_and_canvas_are_refused():
    with pytest.raises(images.ImageInputError, match="blank"):
        images.from_bytes(encode(Image.new("L", (40, 40), 255)), SHAPE, "white.png")
    with pytest.raises(images.ImageInputError, match="canvas is empty"):
        images.from_canvas(np.zeros((100, 100, 4), dtype=np.uint8), SHAPE)
    with pytest.raises(images.ImageInputError, match="canvas is empty"):
        images.from_canvas(None, SHAPE)


def test_canvas_drawing_becomes_a_digit():
    rgba = np.zeros((224, 224, 4), dtype=np.uint8)
    rgba[60:170, 100:120] = 255  # white stroke, opaque
    prepared = images.from_canvas(rgba, SHAPE)
    assert prepared.tensor.shape == (1, 1, 28, 28) and float(prepared.tensor.max()) > 0.9


def test_small_target_shape_for_digits():
    prepared = images.from_bytes(encode(Image.fromarray(stroke())), (1, 8, 8), "one.png")
    assert prepared.tensor.shape == (1, 1, 8, 8)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=4096))
def test_random_bytes_never_crash(payload):
    try:
        prepared = images.from_bytes(payload, SHAPE, "random.png")
    except images.ImageInputError as exc:
        assert str(exc)
    else:
        assert prepared.tensor.shape == (1, 1, 28, 28)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=2048), st.integers(min_value=8, max_value=4000))
def test_mutated_png_never_crashes(noise, cut):
    whole = encode(Image.fromarray(stroke()))
    payload = whole[:min(cut, len(whole))] + noise
    try:
        images.from_bytes(payload, SHAPE, "mutant.png")
    except images.ImageInputError:
        pass


def test_encode_png_keeps_the_pixels_of_every_mode_and_enlarges_crisply():
    rng = np.random.default_rng(0)
    for pixels in (rng.integers(0, 256, (5, 7)), rng.integers(0, 256, (5, 7, 3)), rng.integers(0, 256, (5, 7, 4))):
        pixels = pixels.astype(np.uint8)
        decoded = np.asarray(Image.open(io.BytesIO(images.encode_png(pixels))))
        assert np.array_equal(decoded, pixels)
        big = np.asarray(Image.open(io.BytesIO(images.encode_png(pixels, scale=3))))
        assert np.array_equal(big[::3, ::3], pixels) and np.array_equal(big[2::3, 2::3], pixels)
    levels = rng.integers(0, 16, (6, 6)).astype(np.uint8)
    palette = [v for level in range(16) for v in (level * 17,) * 3]
    with Image.open(io.BytesIO(images.encode_png(levels, palette=palette, bits=4))) as decoded:
        assert decoded.mode == "P" and np.array_equal(np.asarray(decoded), levels)
        assert np.array_equal(np.asarray(decoded.convert("L")), levels * 17)
    with pytest.raises(ValueError, match="uint8"):
        images.encode_png(np.zeros((2, 2)))
