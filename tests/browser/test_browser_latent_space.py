"""Browser test of the Latent space page: hover shows the grid decode under the pointer, a click pins the point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dashboard import latent_space
from dashboard.core import zoo
from tests.harness import server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DATASET = "digits"
PSNR_TARGET_DB = 25.0

pytestmark = pytest.mark.browser


def preview_pixels(page, index: int) -> np.ndarray:
    """The grey values (H, W) in [0, 1] of the preview canvas beside map `index`, as the browser drew them."""
    canvas = page.locator(".llm-preview").nth(index)
    values = canvas.evaluate("c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)")
    width, height = canvas.evaluate("c => [c.width, c.height]")
    return np.asarray(values, dtype=np.float32).reshape(height, width, 4)[..., 0] / 255.0


def open_maps(page, base: str) -> None:
    page.goto(f"{base}/latent-space?dataset={DATASET}")
    server.wait_until_rendered(page)
    page.wait_for_selector(".llm-over", timeout=60_000)
    page.wait_for_timeout(500)  # the atlas image decodes


def test_hover_shows_the_decode_under_the_pointer_and_a_click_pins_it(browser_page):
    base, page = browser_page
    open_maps(page, base)
    errors = page.locator("[data-testid=stException]")
    assert errors.count() == 0, errors.first.inner_text()
    assert page.locator(".llm-over").count() == 2

    for index, family in enumerate(latent_space.MAP_FAMILIES):
        grid = latent_space.map_grid(f"{family}-2", DATASET)
        model = zoo.frozen(f"{family}-2", DATASET)
        over = page.locator(".llm-over").nth(index)
        over.scroll_into_view_if_needed()
        box = over.bounding_box()
        size = box["width"]
        readout = page.locator(".llm-readout").nth(index)
        psnrs, shown = [], []
        rng = np.random.default_rng(index)
        for row, column in [(0, 0), (grid.n - 1, grid.n - 1), *rng.integers(0, grid.n, size=(6, 2)).tolist()]:
            px, py = (column + 0.5) * size / grid.n, (row + 0.5) * size / grid.n  # a cell's centre, on screen
            before = readout.text_content()
            page.mouse.move(box["x"] + px, box["y"] + py)
            page.wait_for_function("([el, old]) => el.textContent !== old", arg=[readout.element_handle(), before])
            z = np.array([grid.extent.x0 + px / size * grid.extent.side, grid.extent.y1 - py / size * grid.extent.side])
            assert latent_space.cell_of(grid.extent, z, grid.n) == (row, column)
            pixels = preview_pixels(page, index)
            # The browser shows exactly the atlas cell under the pointer ...
            assert np.abs(pixels - grid.cell_image(row, column)).max() <= 1.5 / 255
            # ... and that cell is close to what the decoder makes of that exact point.
            exact = latent_space.decode(model, z[None])[0]
            psnrs.append(10 * np.log10(1 / max(float(np.mean((pixels - exact) ** 2)), 1e-10)))
            shown.append(pixels)
            assert f"{z[0]:.2f}".replace("-", "\u2212") in readout.text_content()
        assert np.mean(psnrs) >= PSNR_TARGET_DB, psnrs
        assert any(np.abs(a - b).max() > 0.1 for a, b in zip(shown, shown[1:]))  # the image really changes

    over = page.locator(".llm-over").first
    box = over.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.6)
    page.get_by_text("Nearest 5 training digits by code").wait_for(timeout=60_000)
    page.get_by_text("Nearest 5 training digits by pixels").wait_for(timeout=60_000)
    server.wait_until_rendered(page)
    assert "pin=ae%3A" in page.url
    assert page.locator("[data-testid=stException]").count() == 0


def test_a_click_on_a_test_digits_dot_shows_that_digit_beside_its_decode(browser_page):
    base, page = browser_page
    open_maps(page, base)
    grid = latent_space.map_grid("ae-2", DATASET)
    codes = zoo.codes("ae-2", DATASET, "test")
    inside = [i for i, z in enumerate(codes) if grid.extent.contains(z)]
    index = max(inside, key=lambda i: np.sort(np.hypot(*(codes - codes[i]).T))[1])  # the loneliest dot on the map
    over = page.locator(".llm-over").first
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    x = box["x"] + (codes[index][0] - grid.extent.x0) / grid.extent.side * box["width"]
    y = box["y"] + (grid.extent.y1 - codes[index][1]) / grid.extent.side * box["height"]
    page.mouse.click(float(x), float(y))
    page.get_by_text(f"real test digit #{index} (").wait_for(timeout=60_000)
    server.wait_until_rendered(page)
    assert page.locator("[data-testid=stException]").count() == 0


@pytest.mark.parametrize("width", [1024, 1280, 390])
def test_the_page_fits_the_screen_in_the_light_theme(browser_page, width):
    base, desktop = browser_page
    phone = width < 600
    page = desktop.context.browser.new_page(viewport={"width": width, "height": 900}, color_scheme="light",
                                            is_mobile=phone, has_touch=phone)
    try:
        page.goto(f"{base}/latent-space?dataset=mnist-5k&pin=vae:0.5,-1.2")
        server.wait_until_rendered(page, timeout_ms=240_000, sidebar=not phone)
        page.wait_for_selector(".llm-over", timeout=120_000)
        page.wait_for_timeout(800)
        ARTIFACTS.mkdir(exist_ok=True)
        server.full_page_screenshot(page, str(ARTIFACTS / f"latent-space-light-{width}.png"))
        assert page.locator("[data-testid=stException]").count() == 0
        assert server.wider_than_the_screen(page) == []
        for canvas in page.locator(".llm-base").all():
            box = canvas.bounding_box()
            assert box["width"] >= 200 and box["x"] >= 0 and box["x"] + box["width"] <= width
    finally:
        page.close()
