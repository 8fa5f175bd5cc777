"""Test helpers for shipped precomputed results: read one back as the app would, and compare it with live values."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from dashboard.core import artifacts


def shipped_value(kind: str, dataset: str, params: dict | None = None):
    """The stored result of kind for params, checked to be intact and fresh (the app would use it)."""
    stem = artifacts.stem_for(kind, params or {})
    card, payload = artifacts.read(artifacts.root_for(dataset), stem)
    reason = artifacts.stale_reason(card, artifacts.current_provenance(card, dataset))
    assert reason is None, f"{stem} is stale ({reason}): run python -m dashboard.app.precompute"
    return artifacts.from_bytes(card["value"], payload)


def assert_same(stored, live, rtol: float = 1e-6, atol: float = 1e-6, where: str = "value") -> None:
    """Equal structure and types; arrays and floats equal within tolerance (exact for ints, strings, bools)."""
    if isinstance(live, torch_tensor_type()):
        live = live.detach().cpu().numpy()
        stored = stored.detach().cpu().numpy()
    if dataclasses.is_dataclass(live) and not isinstance(live, type):
        assert type(stored) is type(live), f"{where}: {type(stored)} != {type(live)}"
        for field in dataclasses.fields(live):
            if field.init:
                assert_same(getattr(stored, field.name), getattr(live, field.name), rtol, atol,
                            f"{where}.{field.name}")
    elif isinstance(live, dict):
        assert isinstance(stored, dict) and set(stored) == set(live), f"{where}: keys differ"
        for key in live:
            assert_same(stored[key], live[key], rtol, atol, f"{where}[{key!r}]")
    elif isinstance(live, (list, tuple)):
        assert type(stored) is type(live) and len(stored) == len(live), f"{where}: {type(stored)} of {len(stored)}"
        for i, (a, b) in enumerate(zip(stored, live, strict=True)):
            assert_same(a, b, rtol, atol, f"{where}[{i}]")
    elif isinstance(live, np.ndarray):
        assert isinstance(stored, np.ndarray), f"{where}: {type(stored)} is not an array"
        assert stored.shape == live.shape and stored.dtype == live.dtype, f"{where}: {stored.shape} {stored.dtype}"
        if live.dtype.kind in "fc":
            np.testing.assert_allclose(stored, live, rtol=rtol, atol=atol, err_msg=where)
        else:
            np.testing.assert_array_equal(stored, live, err_msg=where)
    elif isinstance(live, pd.DataFrame):
        pd.testing.assert_frame_equal(stored, live, rtol=rtol, atol=atol)
    elif isinstance(live, float) or isinstance(live, np.floating):
        assert type(stored) is type(live), f"{where}: {type(stored)} != {type(live)}"
        assert (math.isnan(stored) and math.isnan(live)) or math.isclose(stored, live, rel_tol=rtol, abs_tol=atol), \
            f"{where}: {stored} != {live}"
    else:
        assert type(stored) is type(live) and stored == live, f"{where}: {stored!r} != {live!r}"


def torch_tensor_type() -> type:
    import torch

    return torch.Tensor
