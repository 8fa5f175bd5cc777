"""Test helpers for shipped precomputed results: read one back as the app would, and compare it with a live value
under tolerances that hold on any CPU and BLAS library, not only on the machine that stored it."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import re

import numpy as np
import pandas as pd
from PIL import Image

from dashboard.core import artifacts

# A float16 value stored on one CPU may sit one step away from another CPU's: a step is at most 2**-10 of the value.
FLOAT16_RTOL = 2e-3
# Float results computed through BLAS (matrix products, PCA, mixtures) agree to a few ulps in float32 on one machine;
# another CPU's kernels sum in another order, so they are compared at this relative tolerance.
RTOL = 1e-3
ATOL = 1e-5
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def kind_versions() -> dict[str, int]:
    """The version each module passes for the kinds it stores: a shipped card of another version is stale."""
    from dashboard.app.cached import anomaly, compression, denoising, features, latent_space, sampling
    from dashboard.core import zoo
    from dashboard.lesson import tour

    return {
        "codes": zoo.CODES_VERSION,
        "compression.test_set": compression.TEST_SET_VERSION, "compression.probes": compression.PROBES_VERSION,
        "compression.vq_rate": compression.VQ_RATE_VERSION,
        "denoising.comparison": denoising.COMPARISON_VERSION, "denoising.sweep": denoising.SWEEP_VERSION,
        "denoising.latent_view": denoising.LATENT_VIEW_VERSION,
        "features.accuracy": features.ACCURACY_VERSION, "features.predictions": features.PREDICTIONS_VERSION,
        "latent_space.map": latent_space.MAP_VERSION, "latent_space.slider_ranges": latent_space.SLIDER_RANGES_VERSION,
        "latent_space.directions": latent_space.DIRECTIONS_VERSION,
        "sampling.fit": sampling.FIT_VERSION, "sampling.grid": sampling.GRID_VERSION,
        "sampling.scores": sampling.SCORES_VERSION, "sampling.latent_map": sampling.LATENT_MAP_VERSION,
        "anomaly.detector": anomaly.DETECTOR_VERSION, "anomaly.reference": anomaly.REFERENCE_VERSION,
        "anomaly.evaluations": anomaly.EVALUATIONS_VERSION, "anomaly.comparison": anomaly.COMPARISON_VERSION,
        "anomaly.normal_scores": anomaly.NORMAL_SCORES_VERSION,
        "anomaly.scenario_scores": anomaly.SCENARIO_SCORES_VERSION, "anomaly.code_sizes": anomaly.CODE_SIZES_VERSION,
        "tour.highlight": tour.HIGHLIGHT_VERSION,
    }


def shipped_value(kind: str, dataset: str, params: dict | None = None, *, version: int):
    """The stored result of kind for params, checked to be intact and fresh for the code's version (the app would
    use it)."""
    params = params or {}
    stem = artifacts.stem_for(kind, params)
    card, payload = artifacts.read(artifacts.root_for(dataset), stem)
    reason = artifacts.stale_reason(card, artifacts.provenance(dataset, params, list(card["models"]), version))
    assert reason is None, f"{stem} is stale ({reason}): run python -m dashboard.app.precompute"
    assert card["kind"] == kind and card["params"] == json.loads(json.dumps(params, default=str))
    return artifacts.from_bytes(card["value"], payload)


def assert_close(stored, live, *, rtol: float = RTOL, atol: float = ATOL, agree: float = 1.0,
                 count_rtol: float = 0.0, text_rtol: float = 0.0, where: str = "value") -> None:
    """Equal structure and types; numbers within tolerances that hold on another machine.

    Floats and float arrays: within rtol/atol (float16 arrays: one step at least). Integer and boolean arrays (labels,
    predictions, flags): equal on at least a share `agree` of their items. Integer scalars (counts): within
    count_rtol of the live one. Text: the same words, and each number in it within one unit of its last printed
    digit or text_rtol. Everything else exactly.
    """
    kwargs = dict(rtol=rtol, atol=atol, agree=agree, count_rtol=count_rtol, text_rtol=text_rtol)
    if _is_tensor(live):
        live, stored = live.detach().cpu().numpy(), stored.detach().cpu().numpy()
    if dataclasses.is_dataclass(live) and not isinstance(live, type):
        assert type(stored) is type(live), f"{where}: {type(stored)} != {type(live)}"
        for field in dataclasses.fields(live):
            if field.init:
                assert_close(getattr(stored, field.name), getattr(live, field.name), **kwargs,
                             where=f"{where}.{field.name}")
    elif isinstance(live, dict):
        assert isinstance(stored, dict) and set(stored) == set(live), f"{where}: keys {set(stored) ^ set(live)} differ"
        for key in live:
            assert_close(stored[key], live[key], **kwargs, where=f"{where}[{key!r}]")
    elif isinstance(live, (list, tuple)):
        assert type(stored) is type(live) and len(stored) == len(live), f"{where}: {type(stored)} of {len(stored)}"
        for i, (a, b) in enumerate(zip(stored, live, strict=True)):
            assert_close(a, b, **kwargs, where=f"{where}[{i}]")
    elif isinstance(live, np.ndarray):
        assert isinstance(stored, np.ndarray), f"{where}: {type(stored)} is not an array"
        assert stored.shape == live.shape and stored.dtype == live.dtype, \
            f"{where}: {stored.shape} {stored.dtype} != {live.shape} {live.dtype}"
        _arrays_close(stored, live, rtol, atol, agree, where)
    elif isinstance(live, pd.DataFrame):
        assert isinstance(stored, pd.DataFrame), f"{where}: {type(stored)} is not a table"
        assert list(stored.columns) == list(live.columns), f"{where}: columns {list(stored.columns)}"
        assert_close(_index_values(stored.index), _index_values(live.index), **kwargs, where=f"{where}.index")
        for name in live.columns:
            assert_close(_column_values(stored[name]), _column_values(live[name]), **kwargs, where=f"{where}[{name!r}]")
    elif isinstance(live, (bool, np.bool_)):
        assert bool(stored) == bool(live), f"{where}: {stored} != {live}"
    elif isinstance(live, (int, np.integer)):
        assert type(stored) is type(live) and abs(int(stored) - int(live)) <= count_rtol * abs(int(live)), \
            f"{where}: {stored} != {live}"
    elif isinstance(live, (float, np.floating)):
        assert type(stored) is type(live), f"{where}: {type(stored)} != {type(live)}"
        assert (math.isnan(stored) and math.isnan(live)) or math.isclose(stored, live, rel_tol=rtol, abs_tol=atol), \
            f"{where}: {stored} != {live}"
    elif isinstance(live, str):
        assert_same_text(stored, live, text_rtol, where)
    else:
        assert type(stored) is type(live) and stored == live, f"{where}: {stored!r} != {live!r}"


def _arrays_close(stored: np.ndarray, live: np.ndarray, rtol: float, atol: float, agree: float, where: str) -> None:
    if live.dtype.kind in "fc":
        if live.dtype == np.float16:
            rtol = max(rtol, FLOAT16_RTOL)
        np.testing.assert_allclose(stored.astype(np.float64), live.astype(np.float64), rtol=rtol, atol=atol,
                                   err_msg=where)
    elif live.dtype.kind in "biu" and live.size:
        share = float(np.mean(stored == live))
        assert share >= agree, f"{where}: only {share:.1%} of {live.size} items agree (at least {agree:.1%} must)"
    else:
        np.testing.assert_array_equal(stored, live, err_msg=where)


def _index_values(index: pd.Index):
    return index.to_numpy() if index.dtype.kind in "biuf" else list(index)


def _column_values(column: pd.Series):
    return column.to_numpy() if column.dtype.kind in "biufc" else column.tolist()


def assert_same_text(stored: str, live: str, text_rtol: float = 0.0, where: str = "text") -> None:
    """The same words; each number within one unit of its last printed digit, or within text_rtol of the live one."""
    assert _NUMBER.split(stored) == _NUMBER.split(live), f"{where}: {stored!r} != {live!r}"
    for a, b in zip(_NUMBER.findall(stored), _NUMBER.findall(live), strict=True):
        x, y = float(a.replace(",", "")), float(b.replace(",", ""))
        decimals = len(b.partition(".")[2])
        assert abs(x - y) <= max(1.0001 * 10.0 ** -decimals, text_rtol * abs(y)), f"{where}: {stored!r} != {live!r}"


def png_pixels(png: bytes) -> np.ndarray:
    """A PNG's pixels as (H, W, 4) uint8 RGBA, whatever its mode (palette, grey, RGB)."""
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGBA"))


def assert_pictures_close(stored: bytes, live: bytes, max_diff: int = 2, share: float = 0.99,
                          where: str = "picture") -> None:
    """Two PNGs show the same picture: equal size, and at least `share` of the pixel values within max_diff of
    256 levels. Never the bytes: another zlib or Pillow may encode the same pixels differently."""
    a, b = png_pixels(stored), png_pixels(live)
    assert a.shape == b.shape, f"{where}: {a.shape} != {b.shape}"
    close = float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16)) <= max_diff))
    assert close >= share, f"{where}: only {close:.1%} of the pixel values are within {max_diff} levels"


def _is_tensor(value) -> bool:
    return type(value).__module__ == "torch" and type(value).__name__ == "Tensor"
