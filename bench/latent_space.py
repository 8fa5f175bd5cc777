"""Latent space rows: atlas fidelity and payload, hover and click latency in Chromium, slider reruns, memory."""

from __future__ import annotations

import json
import statistics
import time

from dashboard import latent_space
from dashboard.core import data, zoo

from . import Row, section

DATASET = data.DEFAULT_DATASET
PSNR_TARGET_DB = 25.0
PAYLOAD_TARGET_MB = 1.5
HOVER_TARGET_MS = 33.0
PIN_TARGET_MS = 200.0
SLIDER_TARGET_MS = 150.0
FIRST_VISIT_TARGET_S = 2.0
MEMORY_TARGET_MB = 60.0


@section("latent space: maps", order=20)
def maps(quick: bool) -> list[Row]:
    from dashboard.viz import latent_space_figures as figures

    name = "latent space: maps"
    rows, total = [], 0
    ds = data.load(DATASET)
    for family in latent_space.MAP_FAMILIES:
        model_name = f"{family}-2"
        latent_space.map_grid.cache_clear()
        start = time.perf_counter()
        grid = latent_space.map_grid(model_name, DATASET)
        seconds = time.perf_counter() - start
        psnr = latent_space.atlas_psnr(grid, zoo.frozen(model_name, DATASET), n_points=200, seed=0)
        rows.append(Row(name, f"{model_name}: atlas cell vs exact decode, 200 random points (mean PSNR)",
                        float(psnr.mean()), "dB", f">= {PSNR_TARGET_DB:g}", bool(psnr.mean() >= PSNR_TARGET_DB),
                        f"min {psnr.min():.1f} dB, median {statistics.median(psnr):.1f} dB; {grid.n}x{grid.n} grid, "
                        "16 grey levels"))
        payload = figures.map_payload(grid, zoo.codes(model_name, DATASET, "test"), ds.y_test.numpy(), ds.classes,
                                      model_name)
        total += len(json.dumps(payload).encode())
        rows.append(Row(name, f"{model_name}: decode the grid, shade it, classify every cell (cold)", seconds, "s",
                        "", None, "once per server"))
    rows.append(Row(name, "payload for both maps (JSON with PNG data URIs)", total / 1e6, "MB",
                    f"<= {PAYLOAD_TARGET_MB:g}", total / 1e6 <= PAYLOAD_TARGET_MB,
                    "sent once; later reruns refer to it by hash (a click sends only the ~100-byte marks)"))
    return rows


@section("latent space: page", order=21)
def page(quick: bool) -> list[Row]:
    from tests.harness.apptest import rerun_ms

    values = [0.5, -0.5, 1.0, -1.0, 1.5, -1.5]

    def move(app, i: int) -> None:
        model = app.segmented_control(key="latent_3d_model").value
        app.slider(key=f"latent_3d_{model}_z1").set_value(values[i + 1])

    ms = rerun_ms("latent-space", move, repeats=5)
    return [Row("latent space: page", "3D slider move: server-side rerun (median)", ms, "ms",
                f"<= {SLIDER_TARGET_MS:g}", ms <= SLIDER_TARGET_MS,
                "AppTest through streamlit_app.py, caches warm, whole script; a real server reruns only the fragment")]


def _median_ms(values: list[float]) -> float:
    return 1000 * statistics.median(values)


@section("latent space: browser", order=22)
def browser(quick: bool) -> list[Row]:
    from tests.harness import latent_space_timing

    name = "latent space: browser"
    m = latent_space_timing.measure(quick)
    added = m["rss_after_mb"] - m["rss_before_mb"]
    hover, pin, step = (_median_ms(m[key]) for key in ("hover_s", "pin_s", "slider_s"))
    first = statistics.median(m["first_visit_s"])
    return [
        Row(name, "server memory the page adds (first visit, RSS)", added, "MB", f"<= {MEMORY_TARGET_MB:g}",
            added <= MEMORY_TARGET_MB, f"{m['rss_before_mb']:.0f} -> {m['rss_after_mb']:.0f} MB after the Overview; "
            "maps, 3D and 16D sections computed, train codes of 5 models encoded"),
        Row(name, "page first visit, warm server (new tab to maps ready, median of 3)", first, "s",
            f"<= {FIRST_VISIT_TARGET_S:g}", first <= FIRST_VISIT_TARGET_S, "headless Chromium, software WebGL; until "
            "both maps show a decode"),
        Row(name, "pointer move to new image (median of 40)", hover, "ms", f"<= {HOVER_TARGET_MS:g}",
            hover <= HOVER_TARGET_MS, f"p90 {1000 * sorted(m['hover_s'])[int(0.9 * len(m['hover_s']))]:.1f} ms; "
            "Playwright mouse.move until the readout changed at an animation frame; includes the driver's round trips"),
        Row(name, "click to pinned result rendered (median)", pin, "ms", f"<= {PIN_TARGET_MS:g}", pin <= PIN_TARGET_MS,
            "warm server; fragment rerun: exact decode, classifier, 2 x 5 neighbours, density, URL updated"),
        Row(name, "3D slider step to new decode rendered (median)", step, "ms", f"<= {SLIDER_TARGET_MS:g}",
            step <= SLIDER_TARGET_MS, "arrow key on z1; fragment rerun and the 3D figure redrawn with its marker"),
    ]
