"""The configured few-label pipeline as runnable Python the user can paste, written with the public API."""

from __future__ import annotations

from sklearn.base import BaseEstimator

from dashboard.features.protocol import SEMI_SUPERVISED, UNLABELLED, classifier_pipeline
from dashboard.features.sets import RAW, parse_feature_set

_IMPORTS = {
    "LogisticRegression": "from sklearn.linear_model import LogisticRegression",
    "KNeighborsClassifier": "from sklearn.neighbors import KNeighborsClassifier",
    "SVC": "from sklearn.svm import SVC",
    "CalibratedClassifierCV": "from sklearn.calibration import CalibratedClassifierCV",
    "RandomForestClassifier": "from sklearn.ensemble import RandomForestClassifier",
    "StandardScaler": "from sklearn.preprocessing import StandardScaler",
    "LabelSpreading": "from sklearn.semi_supervised import LabelSpreading",
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
    if classifier in SEMI_SUPERVISED:
        imports.append("import numpy as np")
        fit = ["# Every train image goes in; only the labelled ones keep their label (the test split stays out).",
               f"y_partial = np.full(len(y_train), {UNLABELLED})",
               "y_partial[labelled] = y_train[labelled]",
               "pipe.fit(X_train, y_partial)"]
    else:
        fit = ["pipe.fit(X_train[labelled], y_train[labelled])"]
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
        *fit,
        'print(f"test accuracy: {pipe.score(X_test, y_test):.3f}")',
    ]
    return "\n".join(lines) + "\n"
