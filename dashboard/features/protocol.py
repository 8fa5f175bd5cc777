"""The few-label protocol: stratified label draws, classifiers on cached features, and accuracy tables per process."""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading
from sklearn.svm import SVC

from dashboard.core import data, memo, zoo
from dashboard.features.sets import RAW, feature_set_label, feature_step, features, pixels, uses_pixel_units
from dashboard.features.transformer import AutoencoderFeatures

ALL = "all"
BUDGETS: tuple[int | str, ...] = (10, 50, 100, 500, ALL)  # labelled train images per class on offer
SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)  # label draws behind each mean and error bar
CLASSIFIERS = {
    "logistic": "Logistic regression",
    "knn": "k-nearest neighbours",
    "svm": "RBF SVM",
    "forest": "Random forest",
    "spreading": "Label spreading",  # semi-supervised: the page and the bench say so beside it
}
# Classifiers that also see the unlabelled training images' features (never their labels, never the test split):
# label spreading passes each label along a 7-nearest-neighbour graph of all training codes (Zhou et al., 2004).
SEMI_SUPERVISED = frozenset({"spreading"})
UNLABELLED = -1  # scikit-learn's mark for a training image whose label the classifier may not see


def label_subset(labels: np.ndarray, per_class: int | str, seed: int = 0) -> np.ndarray:
    """Sorted indices of a stratified labelled subset: per_class images of every class, or all of them.

    Each class is shuffled once per seed and the first per_class taken, so for one seed the 10-label set lies
    inside the 50-label set, as if an annotator kept labelling.
    """
    labels = np.asarray(labels)
    if per_class == ALL:
        return np.arange(len(labels))
    if not isinstance(per_class, (int, np.integer)) or isinstance(per_class, bool) or per_class < 1:
        raise ValueError(f"per_class must be a positive whole number or {ALL!r}; got {per_class!r}.")
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        if len(members) < per_class:
            raise ValueError(f"Class {cls} has only {len(members)} training images; cannot label {per_class}.")
        chosen.append(rng.permutation(members)[:per_class])
    return np.sort(np.concatenate(chosen))


def budgets_for(dataset: str = data.DEFAULT_DATASET) -> list[int | str]:
    """The label budgets a dataset can honour: those below its smallest class count, then "all"."""
    smallest = int(np.bincount(data.load(dataset).y_train.numpy()).min())
    return [b for b in BUDGETS if b == ALL or b < smallest]


def budget_label(budget: int | str, dataset: str = data.DEFAULT_DATASET) -> str:
    if budget == ALL:
        return f"all ({len(data.load(dataset).y_train)})"
    return f"{budget} per class"


def make_classifier(classifier: str, seed: int = 0, probabilities: bool = False):
    """A fresh, unfitted classifier. With probabilities=True the SVM is wrapped so that it has predict_proba."""
    if classifier == "logistic":
        return LogisticRegression(max_iter=2000)
    if classifier == "knn":
        return KNeighborsClassifier(n_neighbors=5)
    if classifier == "svm":
        if probabilities:
            # SVC(probability=True) is deprecated since scikit-learn 1.9. Temperature scaling divides the decision
            # values by one constant before a softmax, so the predicted class stays the plain SVC's.
            return CalibratedClassifierCV(SVC(), method="temperature", ensemble=False, cv=3)
        return SVC()
    if classifier == "forest":
        return RandomForestClassifier(n_estimators=100, random_state=seed)
    if classifier == "spreading":
        # scikit-learn's defaults (7 neighbours, alpha 0.2), not tuned on the test split
        return LabelSpreading(kernel="knn", n_neighbors=7, alpha=0.2)
    raise ValueError(f"Unknown classifier {classifier!r}; choose one of {', '.join(CLASSIFIERS)}.")


def needs_scaling(feature_set: str, classifier: str) -> bool:
    """Standardise latent codes for distance- and weight-based classifiers; trees ignore scale.

    Raw pixels and PCA coordinates are left alone: their dimensions already share the pixel scale, and
    standardising them blows up near-empty border pixels (it lowers raw-pixel accuracy here).
    """
    return classifier != "forest" and not uses_pixel_units(feature_set)


def classifier_pipeline(feature_set: str, classifier: str, seed: int = 0, probabilities: bool = False) -> Pipeline:
    """The part of the pipeline that sees labels: optional StandardScaler, then the classifier."""
    steps = [StandardScaler()] if needs_scaling(feature_set, classifier) else []
    return make_pipeline(*steps, make_classifier(classifier, seed, probabilities))


def training_data(train: np.ndarray, labels: np.ndarray, labelled: np.ndarray, classifier: str
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) a classifier is fitted on: the labelled rows only, or for a semi-supervised one every training row with
    the labels it may not see marked UNLABELLED."""
    if classifier not in SEMI_SUPERVISED:
        return train[labelled], labels[labelled]
    targets = np.full(len(labels), UNLABELLED, dtype=np.int64)
    targets[labelled] = labels[labelled]
    return train, targets


def pixel_pipeline(feature_set: str, classifier: str, dataset: str = data.DEFAULT_DATASET, seed: int = 0) -> Pipeline:
    """The whole unfitted pipeline from pixel rows to classes, as a user would write it."""
    step = feature_step(feature_set, dataset)
    head = classifier_pipeline(feature_set, classifier, seed).steps
    return Pipeline(head if step is None else [(type(step).__name__.lower(), step), *head])


@dataclass(frozen=True, eq=False)
class Evaluation:
    """One setting of the protocol, fitted and scored on the test split."""

    dataset: str
    feature_set: str
    classifier: str
    budget: int | str  # labels per class, or "all"
    seed: int  # the label draw (and the forest's randomness)
    accuracy: float  # on the whole test split
    predictions: np.ndarray  # (N_test,) predicted class indices
    confusion: np.ndarray  # (n_classes, n_classes): rows true class, columns predicted
    labelled: np.ndarray  # indices into the train split of the images whose labels were used
    fit_seconds: float  # fitting plus predicting the test split, from cached features (0 when read from the build)
    fitted: Pipeline | None = field(default=None, repr=False)  # None when read from the build: see `model`

    @property
    def n_labels(self) -> int:
        return len(self.labelled)

    @functools.cached_property
    def model(self) -> Pipeline:
        """Fitted on features: scaler (if any) and classifier. Scores read from the build fit it on first use
        (only a visitor's own image needs it); the fit is deterministic, so it is the one that made them."""
        if self.fitted is not None:
            return self.fitted
        return _fit(self.dataset, self.feature_set, self.classifier, self.labelled, self.seed)

    def _on_pixels(self, head: Pipeline) -> Pipeline:
        step = feature_step(self.feature_set, self.dataset)
        if step is None:
            return head
        step.fit(pixels(data.load(self.dataset).x_train[:1]), None)  # learns nothing: loads or freezes the encoder
        return Pipeline([("features", step), ("classifier", head)])

    def as_pixel_pipeline(self) -> Pipeline:
        """The fitted pipeline from pixel rows to classes: the frozen feature step, then the fitted classifier."""
        return self._on_pixels(self.model)

    @functools.cached_property
    def probability_pipeline(self) -> Pipeline:
        """Pixel rows -> class probabilities; the SVM is refitted once, with calibration, on the same labels."""
        head = self.model
        if self.classifier == "svm":
            arrays = features(self.dataset, self.feature_set)
            y_train = data.load(self.dataset).y_train.numpy()
            head = classifier_pipeline(self.feature_set, self.classifier, self.seed, probabilities=True).fit(
                *training_data(arrays.train, y_train, self.labelled, self.classifier))
        return self._on_pixels(head)


def _fit(dataset: str, feature_set: str, classifier: str, labelled: np.ndarray, seed: int) -> Pipeline:
    """The classifier pipeline fitted on the labelled subset's cached features."""
    arrays = features(dataset, feature_set)
    # The BLAS/OpenMP thread count is the process's policy (the app sets one thread at startup: these fits are
    # small, and thread hand-offs on a busy two-core server made them 20x slower); a session thread must not change it.
    # Label spreading divides by each image's label mass, which is 0 for images no label reaches (a 2-number code's
    # graph falls apart into islands); scikit-learn then warns once per fit, and the image keeps no label.
    with np.errstate(invalid="ignore", divide="ignore"):
        return classifier_pipeline(feature_set, classifier, seed).fit(
            *training_data(arrays.train, data.load(dataset).y_train.numpy(), labelled, classifier))


def _scored(dataset: str, feature_set: str, classifier: str, budget: int | str, seed: int, predictions: np.ndarray,
            labelled: np.ndarray, seconds: float, model: Pipeline | None) -> Evaluation:
    ds = data.load(dataset)
    y_test = ds.y_test.numpy()
    confusion = confusion_matrix(y_test, predictions, labels=np.arange(len(ds.classes)))
    for array in (predictions, confusion, labelled):
        array.setflags(write=False)  # evaluations are shared between sessions by the page's cache
    return Evaluation(dataset, feature_set, classifier, budget, seed, float((predictions == y_test).mean()),
                      predictions, confusion, labelled, seconds, model)


def evaluate(dataset: str, feature_set: str, classifier: str, budget: int | str, seed: int = 0) -> Evaluation:
    """Draw the labelled subset, fit on its cached features and score on the test split."""
    labelled = label_subset(data.load(dataset).y_train.numpy(), budget, seed)
    arrays = features(dataset, feature_set)
    start = time.perf_counter()
    model = _fit(dataset, feature_set, classifier, labelled, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        predictions = model.predict(arrays.test)
    return _scored(dataset, feature_set, classifier, budget, seed, predictions, labelled,
                   time.perf_counter() - start, model)


def evaluation_from_predictions(dataset: str, feature_set: str, classifier: str, budget: int | str, seed: int,
                                predictions: np.ndarray) -> Evaluation:
    """The Evaluation that evaluate() returns, rebuilt from its test predictions (stored by the build).

    The labelled draw is recomputed (it is cheap and seeded); the fitted pipeline waits until something needs it.
    """
    labelled = label_subset(data.load(dataset).y_train.numpy(), budget, seed)
    return _scored(dataset, feature_set, classifier, budget, seed, np.array(predictions, dtype=np.int64), labelled,
                   0.0, None)


ProgressFn = data.ProgressFn  # the name features exports


def _table_key(dataset: str, classifier: str, feature_sets, budgets, seeds) -> tuple:
    budgets = tuple(budgets_for(dataset) if budgets is None else budgets)
    return dataset, classifier, tuple(feature_sets), budgets, tuple(seeds)


def _compute_table(dataset: str, classifier: str, feature_sets: tuple[str, ...], budgets: tuple[int | str, ...],
                   seeds: tuple[int, ...], progress: ProgressFn | None) -> tuple[dict, ...]:
    n_classes = len(data.load(dataset).classes)
    n_train = len(data.load(dataset).y_train)
    rows = []
    settings = [(f, b) for f in feature_sets for b in budgets]
    for done, (feature_set, budget) in enumerate(settings):
        if progress:
            progress(done / len(settings), f"{CLASSIFIERS[classifier]} on {feature_set_label(feature_set)}, "
                                           f"{budget_label(budget, dataset)}")
        # With every label there is only one possible draw, so one fit says everything.
        draws = seeds[:1] if budget == ALL else seeds
        scores = [evaluate(dataset, feature_set, classifier, budget, s).accuracy for s in draws]
        rows.append({
            "feature_set": feature_set,
            "features": feature_set_label(feature_set),
            "budget": str(budget),
            "n_labels": n_train if budget == ALL else budget * n_classes,
            "mean": float(np.mean(scores)),
            "std": float(np.std(scores)),
            "n_draws": len(scores),
        })
    if progress:
        progress(1.0, "done")
    return tuple(rows)


@dataclass(eq=False)
class _TableSlot:
    """One accuracy table's rows, filled once under the slot's own lock.

    The shared cache holds the slot, not the rows: the page asks whether a table is there without computing it
    (compute=False), and the first caller's progress bar follows the fit. A second session waits on the lock for
    the first one's rows instead of fitting them again.
    """

    lock: threading.Lock = field(default_factory=threading.Lock)
    rows: tuple[dict, ...] | None = None  # plain dicts of numbers, never handed out (callers get a fresh DataFrame)


@memo.shared(maxsize=64)
def _table_slot(dataset: str, classifier: str, feature_sets: tuple[str, ...], budgets: tuple[int | str, ...],
                seeds: tuple[int, ...]) -> _TableSlot:
    return _TableSlot()


def accuracy_table(dataset: str, classifier: str, feature_sets: list[str] | tuple[str, ...],
                   budgets: list[int | str] | tuple[int | str, ...] | None = None, seeds: tuple[int, ...] = SEEDS,
                   progress: ProgressFn | None = None, compute: bool = True) -> pd.DataFrame | None:
    """Test accuracy against label budget, one row per (feature set, budget): mean and std over label draws.

    Computed once per process for each argument tuple; every call returns a fresh DataFrame to mutate freely.
    With compute=False it returns None instead of computing a table that is not there yet.
    """
    key = _table_key(dataset, classifier, feature_sets, budgets, seeds)
    slot = _table_slot(*key)
    if slot.rows is None:
        if not compute:
            return None
        with slot.lock:
            if slot.rows is None:  # another session may have filled it while this one waited
                slot.rows = _compute_table(*key, progress)
    return pd.DataFrame(list(slot.rows))


def comparison_sets(dataset: str, k: int) -> list[str]:
    """The feature sets one accuracy chart compares at code size k: raw pixels, PCA-k and every shipped model-k."""
    shipped = [m for m in zoo.names(dataset) if zoo.parse_name(m)[1] == k]
    return [RAW, f"pca-{k}", *shipped]


def misclassified(evaluation: Evaluation, limit: int | None = None) -> np.ndarray:
    """Indices of the test images the classifier got wrong, in test-split order."""
    y_test = data.load(evaluation.dataset).y_test.numpy()
    return np.flatnonzero(evaluation.predictions != y_test)[:limit]


def predict_image(evaluation: Evaluation, image: torch.Tensor) -> np.ndarray:
    """Class probabilities (n_classes,) for one prepared image (1, C, H, W), through the whole pixel pipeline."""
    return evaluation.probability_pipeline.predict_proba(pixels(image))[0]


def features_frame(evaluation: Evaluation) -> pd.DataFrame:
    """Every image's features with its split, label, whether that label was used, and the test prediction."""
    ds = data.load(evaluation.dataset)
    arrays = features(evaluation.dataset, evaluation.feature_set)
    step = feature_step(evaluation.feature_set, evaluation.dataset)
    if step is None:
        columns = [f"pixel{i}" for i in range(arrays.train.shape[1])]
    elif isinstance(step, AutoencoderFeatures):
        columns = [f"z{i + 1}" for i in range(arrays.train.shape[1])]
    else:
        columns = [f"pc{i + 1}" for i in range(arrays.train.shape[1])]
    used = np.zeros(len(arrays.train), dtype=bool)
    used[evaluation.labelled] = True
    meta = pd.DataFrame({
        "split": ["train"] * len(arrays.train) + ["test"] * len(arrays.test),
        "label": np.concatenate([ds.y_train.numpy(), ds.y_test.numpy()]),
        "label_used": np.concatenate([used, np.zeros(len(arrays.test), dtype=bool)]),
        "predicted": pd.array([pd.NA] * len(arrays.train) + list(evaluation.predictions), dtype="Int64"),
    })
    values = pd.DataFrame(np.vstack([arrays.train, arrays.test]), columns=columns)
    return pd.concat([meta, values], axis=1)
