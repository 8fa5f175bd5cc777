"""Every shipped model and score as a detector of things that are not digits, and whether the page's default is best."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from dashboard.anomaly.scenarios import SHIPPED_MODEL, Split, make_split
from dashboard.anomaly.scores import DEFAULT_SCORE, all_scores
from dashboard.anomaly.thresholds import auroc, normal_reference
from dashboard.core import memo, metrics, zoo

SCENARIO = "not-digits"


def _scores(model: torch.nn.Module, split: Split, dataset: str) -> dict[str, np.ndarray]:
    return all_scores(model, split.x_test, normal_reference(model, dataset))


def _table(dataset: str) -> pd.DataFrame:
    split = make_split(dataset, SCENARIO)
    rows = []
    for name in zoo.names(dataset):
        model = zoo.frozen(name, dataset)
        rebuilt = metrics.mse_per_image(split.x_test, metrics.reconstruct(model, split.x_test))
        digits, probes = np.median(rebuilt[split.y_test == 0]), np.median(rebuilt[split.y_test == 1])
        for kind, scores in _scores(model, split, dataset).items():
            rows.append({"model": name, "score": kind, "AUROC": auroc(split.y_test, scores),
                         "digit MSE": float(digits), "probe MSE": float(probes)})
    table = pd.DataFrame(rows)
    table.attrs["n_digits"], table.attrs["n_probes"] = int((split.y_test == 0).sum()), int(split.y_test.sum())
    return table


@dataclass(eq=False)
class _Slot:
    """One dataset's table, filled once under the slot's lock: a second session waits for the first one's."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    table: pd.DataFrame | None = None


@memo.shared(maxsize=4)
def _slot(dataset: str) -> _Slot:
    return _Slot()


def detector_table(dataset: str, compute: bool = True) -> pd.DataFrame | None:
    """AUROC of every shipped model with every score on the not-digits test split, one row per (model, score).

    Also each model's median pixel MSE on the digits and on the probes, whose ratio shows how much worse a model
    rebuilds what it should flag. Slow (every model encodes the train split and fits its code density), so it is
    computed once per process; with compute=False it returns None until then. Callers get a copy.
    """
    slot = _slot(dataset)
    if slot.table is None:
        if not compute:
            return None
        with slot.lock:
            if slot.table is None:
                slot.table = _table(dataset)
    return slot.table.copy()


@memo.shared(maxsize=4)
def code_sizes(dataset: str, family: str = "ae") -> pd.DataFrame:
    """For each shipped model of one family, by code size: median pixel MSE on the not-digits split's digits and
    probes, their ratio, and the MSE score's AUROC. Cheap (one reconstruction per model), so a page can show it."""
    split = make_split(dataset, SCENARIO)
    rows = []
    for name in zoo.names(dataset):
        model_family, k = zoo.parse_name(name)
        if model_family != family:
            continue
        rebuilt = metrics.mse_per_image(split.x_test, metrics.reconstruct(zoo.frozen(name, dataset), split.x_test))
        digits, probes = float(np.median(rebuilt[split.y_test == 0])), float(np.median(rebuilt[split.y_test == 1]))
        rows.append({"model": name, "code size": k, "digit MSE": digits, "probe MSE": probes,
                     "ratio": probes / digits, "AUROC (MSE)": auroc(split.y_test, rebuilt)})
    return pd.DataFrame(rows)


def best_detector(table: pd.DataFrame) -> tuple[str, str, float]:
    """(model, score, AUROC) of the table's best row; ties go to the first (smaller) model."""
    best = table.loc[table["AUROC"].idxmax()]
    return str(best["model"]), str(best["score"]), float(best["AUROC"])


def default_detector() -> tuple[str, str]:
    """The detector the page opens shipped-model scenarios with: (model, score)."""
    return SHIPPED_MODEL, DEFAULT_SCORE
