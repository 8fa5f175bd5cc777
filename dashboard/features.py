"""Latent codes as scikit-learn features: the AutoencoderFeatures transformer and the few-label protocol."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from dashboard.core import baselines, data, metrics, zoo
from dashboard.viz import plots

RAW = "raw"
ALL = "all"
BUDGETS: tuple[int | str, ...] = (10, 50, 100, 500, ALL)  # labelled train images per class on offer
SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)  # label draws behind each mean and error bar
CLASSIFIERS = {
    "logistic": "Logistic regression",
    "knn": "k-nearest neighbours",
    "svm": "RBF SVM",
    "forest": "Random forest",
}
# Pixel values may sit a hair outside [0, 1] after resampling or float round-off; anything beyond is a scale mistake.
PIXEL_TOLERANCE = 1e-3


# ---------------------------------------------------------------------------------------------------------------
# The transformer
# ---------------------------------------------------------------------------------------------------------------

def _weights_hash(name: str, dataset: str) -> str:
    return zoo.read_card(name, dataset)["sha256"]


class AutoencoderFeatures(TransformerMixin, BaseEstimator):
    """Encode images with a shipped autoencoder: pixels (N, C*H*W) or images (N, C, H, W) -> codes (N, k).

    The encoder was trained beforehand without labels, so ``fit`` learns nothing from X: it loads the
    named model (from a per-process cache), checks that X has that model's image size and returns self.
    A VAE gives its posterior mean, so the codes are deterministic.

    Parameters
    ----------
    model : str
        A shipped model name, ``<family>-<latent size>`` such as ``"ae-16"`` or ``"vae-8"``.
    dataset : str
        The dataset the model was trained on; it fixes the expected image size.
    batch_size : int
        Images per forward pass; only memory use depends on it, never the codes.
    """

    def __init__(self, model: str = "ae-16", dataset: str = data.DEFAULT_DATASET, batch_size: int = 1000):
        self.model = model
        self.dataset = dataset
        self.batch_size = batch_size

    def fit(self, X, y=None):
        """Load the model and record the input size; y is ignored (the encoder needs no labels)."""
        network = zoo.frozen(self.model, self.dataset)
        image_shape = tuple(network.config.image_shape)
        rows = validate_data(self, _as_rows(X, image_shape, self), reset=True, dtype=[np.float64, np.float32])
        _check_pixels(rows, image_shape, self)
        self.model_ = network
        self.image_shape_ = image_shape
        self.n_components_ = network.latent_dim
        self.weights_sha256_ = _weights_hash(self.model, self.dataset)
        return self

    def transform(self, X):
        """Codes as a float array (N, k), float32 or float64 like X."""
        check_is_fitted(self)
        rows = _as_rows(X, self.image_shape_, self)
        if getattr(rows, "ndim", 2) == 2 and np.shape(rows)[1] != self.n_features_in_:
            _check_pixels(rows, self.image_shape_, self)  # raises the image-size message, clearer than sklearn's
        rows = validate_data(self, rows, reset=False, dtype=[np.float64, np.float32])
        _check_pixels(rows, self.image_shape_, self)
        images = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))
        images = images.reshape(len(rows), *self.image_shape_)  # (N, C*H*W) -> (N, C, H, W)
        codes = metrics.encode(self.model_, images, batch_size=self.batch_size).numpy()  # (N, k)
        return codes.astype(rows.dtype, copy=False)

    def get_feature_names_out(self, input_features=None):
        """Names of the code dimensions, e.g. ["ae-16_z0", ..., "ae-16_z15"]."""
        check_is_fitted(self)
        return np.asarray([f"{self.model}_z{i}" for i in range(self.n_components_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.positive_only = True  # pixels in [0, 1]
        return tags

    # The network stays out of pickles and deep copies: it is reloaded from the zoo (cached) by name, so joblib
    # workers and GridSearchCV copies do not each carry 1.5 MB of weights, and nothing pickled runs torch code.
    def __getstate__(self):
        state = dict(super().__getstate__())  # object.__getstate__ hands back the live __dict__ itself
        state.pop("model_", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "weights_sha256_" in state:
            if _weights_hash(self.model, self.dataset) != self.weights_sha256_:
                raise zoo.CheckpointError(
                    f"This AutoencoderFeatures was fitted with other weights for {self.model!r} on {self.dataset!r} "
                    "than the ones shipped now; fit it again.")
            self.model_ = zoo.frozen(self.model, self.dataset)


def _describe(estimator: AutoencoderFeatures, image_shape: tuple[int, ...]) -> str:
    c, h, w = image_shape
    return (f"AutoencoderFeatures(model={estimator.model!r}, dataset={estimator.dataset!r}) encodes "
            f"{c}x{h}x{w} images: pass rows of {c * h * w} pixels, (N, {c}, {h}, {w}) or (N, {h}, {w}) arrays")


def _as_rows(X, image_shape: tuple[int, ...], estimator: AutoencoderFeatures):
    """Flatten image-shaped input to (N, C*H*W) rows; 2D input (arrays, DataFrames) passes through unchanged."""
    ndim = getattr(X, "ndim", None)
    if ndim is None:
        X = np.asarray(X)
        ndim = X.ndim
    if ndim <= 2:
        return X  # validate_data explains 1D input; _check_pixels checks the row length
    array = np.asarray(X)
    channels, height, width = image_shape
    ok = (ndim == 3 and channels == 1 and array.shape[1:] == (height, width)) or (
        ndim == 4 and array.shape[1:] == tuple(image_shape))
    if not ok:
        raise ValueError(f"{_describe(estimator, image_shape)}; got an array of shape {array.shape}.")
    return array.reshape(len(array), -1)


def _check_pixels(rows, image_shape: tuple[int, ...], estimator: AutoencoderFeatures) -> None:
    if isinstance(rows, np.ndarray) and rows.size and rows.min() < -PIXEL_TOLERANCE:
        # scikit-learn's wording for estimators tagged positive_only, so its own check recognises it
        raise ValueError(f"Negative values in data passed to AutoencoderFeatures: {_describe(estimator, image_shape)} "
                         f"with pixel values in [0, 1]; the smallest value is {float(rows.min()):g}.")
    n_pixels = int(np.prod(image_shape))
    n_features = np.shape(rows)[1]
    if n_features != n_pixels:
        raise ValueError(f"{_describe(estimator, image_shape)}; got {n_features} features per row.")
    if isinstance(rows, np.ndarray) and rows.size and rows.max() > 1 + PIXEL_TOLERANCE:
        raise ValueError(f"{_describe(estimator, image_shape)} with pixel values in [0, 1]; the largest value is "
                         f"{float(rows.max()):g}. Divide 8-bit images by 255 (scikit-learn's load_digits by 16).")


# ---------------------------------------------------------------------------------------------------------------
# Feature sets: raw pixels, PCA-k, or any shipped model
# ---------------------------------------------------------------------------------------------------------------

def parse_feature_set(name: str) -> tuple[str, int | None]:
    """"raw" -> ("raw", None), "pca-16" -> ("pca", 16), "vae-8" -> ("vae", 8); anything else raises ValueError."""
    if name == RAW:
        return RAW, None
    if name.startswith("pca-") and name[4:].isdigit() and int(name[4:]) > 0:
        return "pca", int(name[4:])
    try:
        return zoo.parse_name(name)
    except ValueError:
        raise ValueError(f"Unknown feature set {name!r}: use 'raw', 'pca-<k>' or a model name such as 'ae-16'.") \
            from None


def feature_set_label(name: str) -> str:
    """A display name: "raw" -> "Raw pixels", "vae-16" -> "VAE-16"."""
    kind, k = parse_feature_set(name)
    return "Raw pixels" if kind == RAW else f"{kind.upper()}-{k}"


def feature_sets(dataset: str = data.DEFAULT_DATASET) -> list[str]:
    """Raw pixels, PCA at every shipped latent size, then every shipped model."""
    models = zoo.names(dataset)
    sizes = sorted({zoo.parse_name(m)[1] for m in models})
    return [RAW, *(f"pca-{k}" for k in sizes), *models]


def uses_pixel_units(feature_set: str) -> bool:
    """Raw pixels and PCA coordinates (a rotation of pixel space) share one scale; latent codes do not."""
    return parse_feature_set(feature_set)[0] in (RAW, "pca")


def feature_step(feature_set: str, dataset: str = data.DEFAULT_DATASET):
    """The pipeline step that turns pixels into this feature set, or None for raw pixels.

    PCA is fitted on the whole train split without labels, like the autoencoders, and frozen, so a pipeline
    fitted on the labelled few does not refit it on them.
    """
    kind, k = parse_feature_set(feature_set)
    if kind == RAW:
        return None
    if kind == "pca":
        return FrozenEstimator(baselines.pca_for(dataset, k))
    return AutoencoderFeatures(feature_set, dataset)


@dataclass(frozen=True, eq=False)
class FeatureArrays:
    """One feature set of one dataset, computed once: train and test rows, read-only."""

    feature_set: str
    dataset: str
    train: np.ndarray  # (N_train, d)
    test: np.ndarray  # (N_test, d)
    seconds: float  # time it took to compute both


def pixels(images: torch.Tensor) -> np.ndarray:
    """Images (N, C, H, W) -> float32 rows (N, C*H*W), the input every pixel pipeline takes."""
    return images.reshape(len(images), -1).numpy()


@functools.lru_cache(maxsize=32)
def features(dataset: str, feature_set: str) -> FeatureArrays:
    """Train and test features for a feature set, cached per process so classifiers refit from arrays."""
    ds = data.load(dataset)
    start = time.perf_counter()
    train, test = pixels(ds.x_train), pixels(ds.x_test)
    step = feature_step(feature_set, dataset)
    if step is not None:
        step.fit(train, None)
        train, test = step.transform(train), step.transform(test)
    train = np.array(train, dtype=np.float32)  # a private copy: the cache must not alias the dataset tensors
    test = np.array(test, dtype=np.float32)
    train.setflags(write=False)
    test.setflags(write=False)
    return FeatureArrays(feature_set, dataset, train, test, time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------------------------
# The few-label protocol
# ---------------------------------------------------------------------------------------------------------------

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
    model: Pipeline  # fitted on features: scaler (if any) and classifier
    fit_seconds: float  # fitting plus predicting the test split, from cached features

    @property
    def n_labels(self) -> int:
        return len(self.labelled)

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
            with threadpool_limits(limits=1):
                head = classifier_pipeline(self.feature_set, self.classifier, self.seed, probabilities=True).fit(
                    arrays.train[self.labelled], y_train[self.labelled])
        return self._on_pixels(head)


def evaluate(dataset: str, feature_set: str, classifier: str, budget: int | str, seed: int = 0) -> Evaluation:
    """Draw the labelled subset, fit on its cached features and score on the test split."""
    ds = data.load(dataset)
    arrays = features(dataset, feature_set)
    y_train, y_test = ds.y_train.numpy(), ds.y_test.numpy()
    labelled = label_subset(y_train, budget, seed)
    start = time.perf_counter()
    # One BLAS/OpenMP thread: these fits are small, and on a busy two-core server thread hand-offs made a
    # 1,000-image logistic regression 20x slower (14 s against 0.7 s, measured while other processes ran).
    with threadpool_limits(limits=1):
        model = classifier_pipeline(feature_set, classifier, seed).fit(arrays.train[labelled], y_train[labelled])
        predictions = model.predict(arrays.test)
    seconds = time.perf_counter() - start
    confusion = confusion_matrix(y_test, predictions, labels=np.arange(len(ds.classes)))
    for array in (predictions, confusion, labelled):
        array.setflags(write=False)  # evaluations are shared between sessions by the page's cache
    return Evaluation(dataset, feature_set, classifier, budget, seed, float((predictions == y_test).mean()),
                      predictions, confusion, labelled, model, seconds)


ProgressFn = Callable[[float, str], None]  # (fraction done, what is being fitted)
_TABLES: dict[tuple, tuple[dict, ...]] = {}  # finished tables, per process; rows are plain dicts of numbers
_TABLES_MAX = 64


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


def accuracy_table(dataset: str, classifier: str, feature_sets: list[str] | tuple[str, ...],
                   budgets: list[int | str] | tuple[int | str, ...] | None = None, seeds: tuple[int, ...] = SEEDS,
                   progress: ProgressFn | None = None, compute: bool = True) -> pd.DataFrame | None:
    """Test accuracy against label budget, one row per (feature set, budget): mean and std over label draws.

    Computed once per process for each argument tuple; every call returns a fresh DataFrame to mutate freely.
    With compute=False it returns None instead of computing a table that is not there yet.
    """
    key = _table_key(dataset, classifier, feature_sets, budgets, seeds)
    rows = _TABLES.get(key)
    if rows is None:
        if not compute:
            return None
        rows = _compute_table(*key, progress)
        if len(_TABLES) >= _TABLES_MAX:
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[key] = rows
    return pd.DataFrame(list(rows))


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


# ---------------------------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------------------------

def accuracy_chart(table: pd.DataFrame, title: str = "", marked: tuple[int, float] | None = None) -> alt.Chart:
    """Mean test accuracy against labelled images (log axis), a line per feature set, error bars of one std.

    marked: (number of labels, accuracy) of the user's own setting, drawn as a black ring.
    """
    order = list(dict.fromkeys(table["features"]))
    colour = alt.Scale(domain=order, range=[plots.method_color(name) for name in order])
    frame = table.assign(low=table["mean"] - table["std"], high=table["mean"] + table["std"])
    ticks = sorted(frame["n_labels"].unique().tolist())
    x_scale = alt.Scale(type="log", domain=[ticks[0] / 1.3, ticks[-1] * 1.3], nice=False)
    x = alt.X("n_labels:Q", scale=x_scale, title="labelled training images (log scale)",
              axis=alt.Axis(values=ticks, format="d"))
    y_scale = alt.Scale(zero=False, domain=[max(0.0, float(frame["low"].min()) - 0.02), 1.0])
    base = alt.Chart(frame).encode(x=x, color=alt.Color("features:N", scale=colour, title="features",
                                                        sort=order, legend=alt.Legend(orient="right")))
    tooltip = ["features", alt.Tooltip("n_labels:Q", title="labels"), alt.Tooltip("mean:Q", format=".3f"),
               alt.Tooltip("std:Q", format=".3f"), alt.Tooltip("n_draws:Q", title="draws")]
    lines = base.mark_line(point=True).encode(y=alt.Y("mean:Q", scale=y_scale, title="test accuracy"),
                                              tooltip=tooltip)
    bars = base.mark_errorbar(ticks=True).encode(y=alt.Y("low:Q", scale=y_scale, title="test accuracy"),
                                                 y2="high:Q")
    layers = [bars, lines]
    if marked is not None:
        point = pd.DataFrame({"n_labels": [marked[0]], "accuracy": [marked[1]], "what": ["your setting"]})
        layers.append(alt.Chart(point).mark_point(size=220, shape="circle", filled=False, strokeWidth=2.5,
                                                  color=plots.HIGHLIGHT_COLOR).encode(
            x=alt.X("n_labels:Q", scale=x_scale), y=alt.Y("accuracy:Q", scale=y_scale),
            tooltip=["what", alt.Tooltip("accuracy:Q", format=".3f")]))
    return alt.layer(*layers, title=title).properties(height=330)  # all of it: title, axes and plot


def confusion_chart(confusion: np.ndarray, classes: list[str]) -> alt.Chart:
    """Counts of true class (rows) against predicted class (columns), the diagonal being the correct ones."""
    n = len(classes)
    frame = pd.DataFrame({"true": np.repeat(classes, n), "predicted": np.tile(classes, n),
                          "count": np.asarray(confusion).ravel()})
    frame["share"] = frame["count"] / np.maximum(np.asarray(confusion).sum(axis=1).repeat(n), 1)
    frame["correct"] = frame["true"] == frame["predicted"]
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", sort=classes, title="predicted class", axis=alt.Axis(labelAngle=0, labelOverlap=False)),
        y=alt.Y("true:N", sort=classes, title="true class", axis=alt.Axis(labelOverlap=False)))
    cells = base.mark_rect().encode(
        color=alt.Color("share:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), legend=None),
        tooltip=["true", "predicted", "count", alt.Tooltip("share:Q", format=".0%", title="share of the row")])
    text = base.mark_text(fontSize=11).encode(
        text=alt.condition("datum.count > 0", "count:Q", alt.value("")),
        color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("#333333")))
    return (cells + text).properties(height=300, title="confusion matrix (test split)")


def probability_chart(probabilities: np.ndarray, classes: list[str]) -> alt.Chart:
    """One bar per class; the predicted class is dark, the rest light."""
    frame = pd.DataFrame({"class": classes, "probability": np.asarray(probabilities, dtype=float)})
    top = classes[int(np.argmax(probabilities))]
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("class:N", sort=classes, title="class"),
        y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1]), title="probability"),
        color=alt.condition(alt.datum["class"] == top, alt.value(plots.METHOD_COLORS["AE"]), alt.value("#c9d6e8")),
        tooltip=["class", alt.Tooltip("probability:Q", format=".1%")],
    ).properties(height=220)


# ---------------------------------------------------------------------------------------------------------------
# The pipeline as code the user can paste
# ---------------------------------------------------------------------------------------------------------------

_IMPORTS = {
    "LogisticRegression": "from sklearn.linear_model import LogisticRegression",
    "KNeighborsClassifier": "from sklearn.neighbors import KNeighborsClassifier",
    "SVC": "from sklearn.svm import SVC",
    "CalibratedClassifierCV": "from sklearn.calibration import CalibratedClassifierCV",
    "RandomForestClassifier": "from sklearn.ensemble import RandomForestClassifier",
    "StandardScaler": "from sklearn.preprocessing import StandardScaler",
}


def _class_names(estimator) -> list[str]:
    nested = [v for v in estimator.get_params(deep=True).values() if isinstance(v, BaseEstimator)]
    return [type(estimator).__name__, *(type(v).__name__ for v in nested)]


def pipeline_code(dataset: str, feature_set: str, classifier: str, budget: int | str, seed: int = 0) -> str:
    """Runnable Python that builds, fits and scores the configured pipeline with the public API."""
    kind, k = parse_feature_set(feature_set)
    head = [step for _, step in classifier_pipeline(feature_set, classifier, seed).steps]
    names = sorted({n for step in head for n in _class_names(step)})
    imports = ["from sklearn.pipeline import make_pipeline", *(_IMPORTS[n] for n in names)]
    project = ["from dashboard import data", "from dashboard.features import label_subset, pixels"]
    steps = [repr(step) for step in head]
    prelude = []
    if kind == "pca":
        imports += ["from sklearn.decomposition import PCA", "from sklearn.frozen import FrozenEstimator"]
        prelude = ["# PCA sees every train image but no label, like the autoencoders; frozen so fit() keeps it.",
                   f"pca = PCA(n_components={k}, random_state=0).fit(X_train)"]
        steps.insert(0, "FrozenEstimator(pca)")
    elif kind != RAW:
        project[1] = "from dashboard.features import AutoencoderFeatures, label_subset, pixels"
        steps.insert(0, f"AutoencoderFeatures({feature_set!r}, dataset={dataset!r})")
    budget_arg = repr(budget)
    lines = [
        *sorted(imports), "", *project, "",
        f"ds = data.load({dataset!r})",
        "X_train, X_test = pixels(ds.x_train), pixels(ds.x_test)  # (N, pixels) in [0, 1]",
        "y_train, y_test = ds.y_train.numpy(), ds.y_test.numpy()",
        f"labelled = label_subset(y_train, per_class={budget_arg}, seed={seed})  # stratified draw",
        *prelude, "",
        "pipe = make_pipeline(",
        *(f"    {s}," for s in steps),
        ")",
        "pipe.fit(X_train[labelled], y_train[labelled])",
        'print(f"test accuracy: {pipe.score(X_test, y_test):.3f}")',
    ]
    return "\n".join(lines) + "\n"
