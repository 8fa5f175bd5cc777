"""Classical detectors on the same splits (PCA error, IsolationForest, One-Class SVM) and the comparison table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.svm import OneClassSVM

from dashboard.anomaly.detectors import DetectorConfig
from dashboard.anomaly.scenarios import Split, training_identity, training_images
from dashboard.anomaly.scores import SCORE_KINDS
from dashboard.anomaly.thresholds import Evaluation, auroc, average_precision
from dashboard.core import baselines, memo

BASELINES = ("PCA reconstruction error", "IsolationForest", "One-Class SVM")


@dataclass(frozen=True)
class BaselineConfig:
    """Settings of the scikit-learn baselines; fixed here, not tuned on test labels."""

    # As many as the on-demand detector's code, so both squeeze the image equally hard.
    pca_components: int = DetectorConfig().latent_dim
    forest_trees: int = 200  # IsolationForest ensemble size
    svm_nu: float = 0.1  # One-Class SVM: upper bound on the share of training images treated as outliers
    svm_gamma: str | float = "scale"  # RBF width; "scale" = 1 / (pixels * pixel variance)
    svm_max_train: int = 2000  # the SVM's cost grows with the square of its training set, so larger sets are sampled
    seed: int = 0


@memo.shared(maxsize=16)
def _fitted(dataset: str, scenario: str | None, digit: int | None, config: BaselineConfig) -> dict:
    images = training_images(dataset, scenario, digit)
    train_flat = images.reshape(len(images), -1).numpy()  # (N_train, pixels)
    k = min(config.pca_components, *train_flat.shape)
    svm_rows = np.random.default_rng(config.seed).permutation(len(train_flat))[: config.svm_max_train]
    return {
        "PCA reconstruction error": baselines.fit_pca(images, k, config.seed),
        "IsolationForest": IsolationForest(n_estimators=config.forest_trees, random_state=config.seed).fit(train_flat),
        "One-Class SVM": OneClassSVM(kernel="rbf", nu=config.svm_nu, gamma=config.svm_gamma).fit(
            train_flat[np.sort(svm_rows)]),
    }


def fit_baselines(split: Split, config: BaselineConfig = BaselineConfig()) -> dict:
    """PCA, IsolationForest and One-Class SVM fitted on the split's normal training pixels, shared per process.

    Keyed by where the training images come from, not by the images, so splits that share them share the fit.
    """
    return _fitted(*training_identity(split), config)


def baseline_scores(split: Split, method: str, config: BaselineConfig = BaselineConfig()) -> np.ndarray:
    """Test scores (N_test,) of one classical method fitted on the split's normal training pixels."""
    if method not in BASELINES:
        raise ValueError(f"Unknown baseline {method!r}; expected one of {', '.join(BASELINES)}.")
    estimator = fit_baselines(split, config)[method]
    test_flat = split.x_test.reshape(len(split.x_test), -1).numpy()
    if method == "PCA reconstruction error":
        rebuilt = estimator.inverse_transform(estimator.transform(test_flat))
        return ((test_flat - rebuilt) ** 2).mean(axis=1)
    if method == "IsolationForest":
        return -estimator.score_samples(test_flat)  # score_samples is high for normal images; flip it
    return -estimator.decision_function(test_flat)


def baseline_aurocs(split: Split, config: BaselineConfig = BaselineConfig(),
                    methods: tuple[str, ...] = BASELINES) -> dict[str, float]:
    """AUROC of each classical method on the split's test images."""
    return {method: auroc(split.y_test, baseline_scores(split, method, config)) for method in methods}


def comparison_table(split: Split, detector: dict[str, Evaluation],
                     config: BaselineConfig = BaselineConfig()) -> pd.DataFrame:
    """AUROC and average precision of the autoencoder (one row per score) and each baseline, best first."""
    rows = [{"method": f"AE, {SCORE_KINDS[kind].label}", "AUROC": e.auroc, "average precision": e.average_precision}
            for kind, e in detector.items()]
    for method in BASELINES:
        scores = baseline_scores(split, method, config)
        rows.append({"method": method, "AUROC": auroc(split.y_test, scores),
                     "average precision": average_precision(split.y_test, scores)})
    return pd.DataFrame(rows).sort_values("AUROC", ascending=False, ignore_index=True)
