"""Sparse autoencoders for interpretability: reading features of the reference classifier, and PCA beside them."""

from dashboard.interpretability.features import (
    TOP,
    Breakdown,
    Steered,
    Study,
    attribution,
    breakdown,
    describe,
    logit_effect,
    purity,
    steer,
    study,
    top_images,
)
from dashboard.interpretability.pca import Directions, end_purity, feature_purity, fit

__all__ = ["TOP", "Breakdown", "Directions", "Steered", "Study", "attribution", "breakdown", "describe",
           "end_purity", "feature_purity", "fit", "logit_effect", "purity", "steer", "study", "top_images"]
