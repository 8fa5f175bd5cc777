"""Anomaly detection with autoencoders: scenarios, on-demand detectors, scores, threshold rules and baselines.

The modules follow the page's story: `scenarios` (what is normal, and the labelled images; `corruptions` damages
them), `detectors` (the autoencoder that learns normal), `scores` (how badly it rebuilds an image; `density` adds
how unusual its code is), `thresholds` (AUROC, rules and what a threshold does), `baselines` (classical detectors on
the same images) and `probes` (the shipped set of things that are not digits, and every shipped model measured on
it); `storage` turns detectors and their results into values the build can ship. Everything a
caller needs is importable from here, as `from dashboard import anomaly; anomaly.evaluate(...)`.
"""

from dashboard.anomaly.baselines import (
    BASELINES,
    BaselineConfig,
    baseline_aurocs,
    baseline_scores,
    comparison_table,
    fit_baselines,
)
from dashboard.anomaly.corruptions import CORRUPTIONS, Corruption, corrupt_images, invert, rotate
from dashboard.anomaly.density import CodeDensity, Reference, code_scores, combine, components_for, fit_reference
from dashboard.anomaly.detectors import (
    DETECTOR_CONFIGS,
    DetectorConfig,
    detector_for,
    train_detector,
)
from dashboard.anomaly.scenarios import (
    OOD_DATASET,
    SCENARIOS,
    SHIPPED_MODEL,
    SHIPPED_VAL_FRACTION,
    SPLIT_SEED,
    VAL_FRACTION,
    ScenarioInfo,
    ScenarioUnavailable,
    Split,
    download_ood,
    make_split,
    ood_available,
    training_identity,
    training_images,
)
from dashboard.anomaly.scores import (
    DEFAULT_SCORE,
    RECONSTRUCTION_PART,
    SCORE_KINDS,
    SCORES,
    ImageScore,
    ScoreInputs,
    ScoreKind,
    all_scores,
    anomaly_scores,
    default_score,
    error_maps,
    explain,
    score_kind,
    score_pairs,
)
from dashboard.anomaly.thresholds import (
    THRESHOLD_RULES,
    Evaluation,
    OperatingPoint,
    ThresholdRule,
    auroc,
    average_precision,
    evaluate,
    evaluate_all,
    normal_reference,
    operating_point,
    reference_for,
    scores_csv,
    threshold_best_f1,
    threshold_percentile,
    threshold_sigma,
)

__all__ = [
    "BASELINES", "BaselineConfig", "baseline_aurocs", "baseline_scores", "comparison_table", "fit_baselines",
    "CORRUPTIONS", "Corruption", "corrupt_images", "invert", "rotate",
    "CodeDensity", "Reference", "code_scores", "combine", "components_for", "fit_reference",
    "DETECTOR_CONFIGS", "DetectorConfig", "detector_for", "train_detector",
    "OOD_DATASET", "SCENARIOS", "SHIPPED_MODEL", "SHIPPED_VAL_FRACTION", "SPLIT_SEED", "VAL_FRACTION",
    "ScenarioInfo", "ScenarioUnavailable", "Split", "download_ood", "make_split", "ood_available",
    "training_identity", "training_images",
    "DEFAULT_SCORE", "RECONSTRUCTION_PART", "SCORE_KINDS", "SCORES", "ImageScore", "ScoreInputs", "ScoreKind",
    "all_scores", "anomaly_scores", "default_score", "error_maps", "explain", "score_kind", "score_pairs",
    "THRESHOLD_RULES", "Evaluation", "OperatingPoint", "ThresholdRule", "auroc", "average_precision", "evaluate",
    "evaluate_all",
    "normal_reference", "operating_point", "reference_for", "scores_csv", "threshold_best_f1", "threshold_percentile",
    "threshold_sigma",
]
