"""Inputs a visitor would give the app, made in code: a hand-drawn digit, and a decompression bomb, as PNG bytes."""

from __future__ import annotations

import struct
import zlib


def digit_png(dark_on_light: bool = False, size: int = 56) -> bytes:
    """A hand-made "7" as PNG bytes: a bar and a diagonal stroke."""
    import io

    import numpy as np
    from PIL import Image

    canvas = np.zeros((size, size), dtype=np.uint8)
    canvas[10:16, 12:44] = 255
    for row in range(16, 48):
        col = 44 - (row - 16) // 2
        canvas[row, col - 3:col + 3] = 255
    if dark_on_light:
        canvas = 255 - canvas
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, format="PNG")
    return buffer.getvalue()


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG whose header claims huge dimensions (the start of a decompression bomb), built by hand."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))
