"""How well scores separate anomalies (AUROC, average precision), and what a threshold does: rules, counts, rates."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

from dashboard.anomaly.density import Reference, fit_reference
from dashboard.anomaly.scenarios import Split, training_identity, training_images
from dashboard.anomaly.scores import DEFAULT_SCORE, RECONSTRUCTION_PART, all_scores, anomaly_scores, score_kind
from dashboard.core import memo


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve from continuous scores: the chance that a random anomaly outscores a random normal.

    Computing it from 0/1 flags would measure one threshold, not the ranking, and usually understates it.
    """
    labels = np.asarray(labels)
    if labels.min() == labels.max():
        return float("nan")  # undefined without both kinds of image
    return float(roc_auc_score(labels, np.asarray(scores, dtype=np.float64)))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve (step-wise, no interpolation) from continuous scores."""
    labels = np.asarray(labels)
    if labels.max() == 0:
        return float("nan")
    return float(average_precision_score(labels, np.asarray(scores, dtype=np.float64)))


@dataclass(frozen=True)
class OperatingPoint:
    """Counts and rates when every image with score > threshold is flagged as an anomaly."""

    threshold: float
    tp: int  # anomalies flagged
    fp: int  # normal images flagged (false alarms)
    tn: int  # normal images passed
    fn: int  # anomalies missed

    @property
    def precision(self) -> float:
        """Of the flagged images, the share that are anomalies (1.0 when nothing is flagged: no false alarms)."""
        flagged = self.tp + self.fp
        return self.tp / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        """Of the anomalies, the share that are flagged (the true-positive rate)."""
        total = self.tp + self.fn
        return self.tp / total if total else 0.0

    @property
    def false_positive_rate(self) -> float:
        total = self.fp + self.tn
        return self.fp / total if total else 0.0

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0

    @property
    def flagged(self) -> int:
        return self.tp + self.fp

    def confusion(self) -> np.ndarray:
        """[[tn, fp], [fn, tp]]: rows are the truth (normal, anomaly), columns the decision (passed, flagged)."""
        return np.array([[self.tn, self.fp], [self.fn, self.tp]])


def operating_point(labels: np.ndarray, scores: np.ndarray, threshold: float) -> OperatingPoint:
    """Confusion counts at a threshold, directly from the flags (score > threshold); O(N), for checking."""
    labels = np.asarray(labels).astype(bool)
    flagged = np.asarray(scores) > threshold
    return OperatingPoint(float(threshold), int((flagged & labels).sum()), int((flagged & ~labels).sum()),
                          int((~flagged & ~labels).sum()), int((~flagged & labels).sum()))


@dataclass(frozen=True)
class ThresholdRule:
    """A way to pick the threshold, its knob, and the one-sentence assumption the page shows beside it."""

    key: str
    label: str
    assumption: str
    parameter: str | None = None  # what the knob means, or None when the rule has none
    default: float = 0.0
    low: float = 0.0
    high: float = 0.0
    step: float = 0.0
    needs_labels: bool = False  # True: it needs labelled anomalies, which real deployments often lack


THRESHOLD_RULES: dict[str, ThresholdRule] = {
    "percentile": ThresholdRule(
        "percentile", "Percentile of training errors",
        "Assumes the training images are all normal and that new normal images rebuild about as well as they "
        "did, so about (100 - p)% of normal images get flagged by design (a little more in practice, because the "
        "model has seen its training images).",
        "percentile p", 99.0, 80.0, 100.0, 0.5),
    "sigma": ThresholdRule(
        "sigma", "Mean + k·σ of training errors",
        "Assumes the training errors are roughly bell-shaped around their mean; reconstruction errors usually "
        "have a long right tail, so more normal images cross the line than the bell curve promises.",
        "k (standard deviations)", 3.0, 0.0, 8.0, 0.25),
    "best-f1": ThresholdRule(
        "best-f1", "Best F1 on a labelled validation split",
        "Assumes you already hold labelled anomalies, and that future anomalies look like them and turn up about "
        "as often as they do in the validation split.",
        needs_labels=True),
}


def threshold_percentile(train_scores: np.ndarray, percentile: float) -> float:
    """The p-th percentile of the training scores (linear interpolation)."""
    if not 0.0 <= percentile <= 100.0:
        raise ValueError(f"Percentile must be in [0, 100], got {percentile}.")
    return float(np.percentile(np.asarray(train_scores, dtype=np.float64), percentile))


def threshold_sigma(train_scores: np.ndarray, k: float) -> float:
    """Mean + k standard deviations (population) of the training scores."""
    scores = np.asarray(train_scores, dtype=np.float64)
    return float(scores.mean() + k * scores.std())


def threshold_best_f1(val_labels: np.ndarray, val_scores: np.ndarray) -> float:
    """The threshold with the highest F1 on labelled validation data (flag when score > threshold).

    Candidates are midpoints between neighbouring distinct scores, so the result does not sit exactly on one
    validation image and tips over with float noise; ties go to the higher threshold (fewer alarms).
    """
    labels = np.asarray(val_labels).astype(bool)
    if not labels.any():
        raise ValueError("The best-F1 rule needs at least one labelled anomaly in the validation split.")
    scores = np.asarray(val_scores, dtype=np.float64)
    distinct = np.unique(scores)
    candidates = np.r_[distinct[0] - 1.0, (distinct[:-1] + distinct[1:]) / 2]  # below everything, then midpoints
    order = np.sort(scores[labels]), np.sort(scores[~labels])
    tp = len(order[0]) - np.searchsorted(order[0], candidates, side="right")
    fp = len(order[1]) - np.searchsorted(order[1], candidates, side="right")
    fn = labels.sum() - tp
    f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    best = np.flatnonzero(f1 == f1.max())[-1]
    return float(candidates[best])


@dataclass
class Evaluation:
    """A detector's scores on one split, with everything a threshold needs precomputed so moving it is cheap."""

    kind: str  # the score, a SCORE_KINDS key
    scores: np.ndarray  # (N_test,) higher = more anomalous
    labels: np.ndarray  # (N_test,) 1 = anomaly
    train_scores: np.ndarray  # (N_train,) scores of the normal training images
    val_scores: np.ndarray  # (N_val,)
    val_labels: np.ndarray  # (N_val,)
    auroc: float = float("nan")
    average_precision: float = float("nan")
    roc: tuple[np.ndarray, np.ndarray, np.ndarray] = field(default=None, repr=False)  # (fpr, tpr, thresholds)
    pr: tuple[np.ndarray, np.ndarray, np.ndarray] = field(default=None, repr=False)  # (precision, recall, thresholds)
    _normal_sorted: np.ndarray = field(default=None, repr=False)
    _anomaly_sorted: np.ndarray = field(default=None, repr=False)

    def __post_init__(self):
        self.labels = np.asarray(self.labels).astype(np.int64)
        self._normal_sorted = np.sort(self.scores[self.labels == 0])
        self._anomaly_sorted = np.sort(self.scores[self.labels == 1])
        self.auroc = auroc(self.labels, self.scores)
        self.average_precision = average_precision(self.labels, self.scores)
        if 0 < self.labels.sum() < len(self.labels):
            self.roc = roc_curve(self.labels, self.scores)
            self.pr = precision_recall_curve(self.labels, self.scores)

    def at(self, threshold: float) -> OperatingPoint:
        """Counts at a threshold by binary search in the sorted scores: O(log N), no scores recomputed."""
        normal_passed = int(np.searchsorted(self._normal_sorted, threshold, side="right"))
        anomaly_missed = int(np.searchsorted(self._anomaly_sorted, threshold, side="right"))
        return OperatingPoint(float(threshold), len(self._anomaly_sorted) - anomaly_missed,
                              len(self._normal_sorted) - normal_passed, normal_passed, anomaly_missed)

    def threshold(self, rule: str, parameter: float | None = None) -> float:
        """The threshold a rule picks; the parameter defaults to the rule's default."""
        spec = THRESHOLD_RULES[rule]
        value = spec.default if parameter is None else parameter
        if rule == "percentile":
            return threshold_percentile(self.train_scores, value)
        if rule == "sigma":
            return threshold_sigma(self.train_scores, value)
        return threshold_best_f1(self.val_labels, self.val_scores)

    def score_range(self) -> tuple[float, float]:
        """Low and high ends for a threshold slider: every score on the page, and a little room above."""
        everything = np.concatenate([self.scores, self.train_scores, self.val_scores])
        low, high = float(everything.min()), float(everything.max())
        return low, high + 0.02 * (high - low + 1e-12)

    def rank_of(self, score: float) -> float:
        """Share of the normal test images that score lower: 0.99 means higher than 99% of them."""
        return float(np.searchsorted(self._normal_sorted, score, side="left")) / max(len(self._normal_sorted), 1)

    def extremes(self, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the n most anomalous (highest first) and n most normal (lowest first) test images."""
        order = np.argsort(self.scores, kind="stable")
        return order[::-1][:n].copy(), order[:n].copy()


@memo.shared(maxsize=64)
def normal_reference(model: torch.nn.Module, dataset: str, scenario: str | None = None,
                     digit: int | None = None) -> Reference:
    """The code density and score spreads of the normal training images under this model, fitted once per process.

    Keyed by the model object and where the training images come from (scenario None: the whole train split, which
    the shipped models learned from), never by test data.
    """
    x_normal = training_images(dataset, scenario, digit)
    return fit_reference(model, x_normal, anomaly_scores(model, x_normal, RECONSTRUCTION_PART))


def reference_for(model: torch.nn.Module, split: Split) -> Reference:
    """normal_reference for the split's normal training images."""
    return normal_reference(model, *training_identity(split))


def evaluate(model: torch.nn.Module, split: Split, kind: str = DEFAULT_SCORE,
             reference: Reference | None = None) -> Evaluation:
    """Score a split's training, validation and test images with one score kind of the model."""
    if score_kind(kind).needs_reference and reference is None:
        reference = reference_for(model, split)
    return Evaluation(kind, anomaly_scores(model, split.x_test, kind, reference), split.y_test,
                      anomaly_scores(model, split.x_train, kind, reference),
                      anomaly_scores(model, split.x_val, kind, reference), split.y_val)


def evaluate_all(model: torch.nn.Module, split: Split, reference: Reference | None = None) -> dict[str, Evaluation]:
    """Every score kind's Evaluation of one split, each image reconstructed and encoded once."""
    reference = reference or reference_for(model, split)
    test, train, val = (all_scores(model, x, reference) for x in (split.x_test, split.x_train, split.x_val))
    return {kind: Evaluation(kind, test[kind], split.y_test, train[kind], val[kind], split.y_val)
            for kind in test}


def scores_csv(split: Split, evaluation: Evaluation, threshold: float) -> str:
    """CSV text of every test image: what it is, its truth, score and the decision at the threshold."""
    table = pd.DataFrame({
        "index": np.arange(len(evaluation.scores)),
        "image": split.test_names,
        "truth": np.where(evaluation.labels == 1, "anomaly", "normal"),
        f"score_{evaluation.kind}": evaluation.scores,
        "flagged": evaluation.scores > threshold,
    })
    buffer = io.StringIO()
    buffer.write(f"# scenario={split.scenario}, dataset={split.dataset}, digit={split.digit}, "
                 f"score={evaluation.kind}, threshold={threshold:.6g}, flag rule: score > threshold\n")
    table.to_csv(buffer, index=False)
    return buffer.getvalue()
