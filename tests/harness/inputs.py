"""Inputs a visitor would give the app, made in code: a hand-drawn digit as PNG bytes."""

from __future__ import annotations


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
