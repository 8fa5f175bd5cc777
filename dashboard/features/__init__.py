"""Latent codes as scikit-learn features: the AutoencoderFeatures transformer and the few-label protocol.

`from dashboard.features import AutoencoderFeatures` is public API; the names below are the face every page,
benchmark and notebook uses, over three modules: the transformer, the feature sets with their cached arrays, and
the protocol (label draws, classifiers, accuracy tables), plus the pipeline written out as code.
"""

from dashboard.features.protocol import (
    ALL,
    BUDGETS,
    CLASSIFIERS,
    SEEDS,
    SEMI_SUPERVISED,
    UNLABELLED,
    Evaluation,
    ProgressFn,
    accuracy_table,
    budget_label,
    budgets_for,
    classifier_pipeline,
    comparison_sets,
    evaluate,
    evaluation_from_predictions,
    features_frame,
    label_subset,
    make_classifier,
    misclassified,
    needs_scaling,
    pixel_pipeline,
    predict_image,
    training_data,
)
from dashboard.features.sets import (
    RAW,
    FeatureArrays,
    feature_set_label,
    feature_sets,
    feature_step,
    feature_width,
    features,
    parse_feature_set,
    pixels,
    uses_pixel_units,
)
from dashboard.features.snippet import pipeline_code
from dashboard.features.transformer import PIXEL_TOLERANCE, AutoencoderFeatures

__all__ = [
    "ALL", "BUDGETS", "CLASSIFIERS", "PIXEL_TOLERANCE", "RAW", "SEEDS", "SEMI_SUPERVISED", "UNLABELLED",
    "AutoencoderFeatures", "Evaluation",
    "FeatureArrays", "ProgressFn", "accuracy_table", "budget_label", "budgets_for", "classifier_pipeline",
    "comparison_sets", "evaluate", "evaluation_from_predictions", "feature_set_label", "feature_sets", "feature_step",
    "feature_width", "features", "features_frame",
    "label_subset", "make_classifier", "misclassified", "needs_scaling", "parse_feature_set", "pipeline_code",
    "pixel_pipeline", "pixels", "predict_image", "training_data", "uses_pixel_units",
]
