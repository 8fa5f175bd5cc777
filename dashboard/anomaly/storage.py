"""Detectors, code densities and scores as plain values (tensors, arrays, dataclasses), rebuilt exactly from them.

The build stores what the page shows by default (core.artifacts keeps only such values, never pickles), so a first
visit reads the trained detector and its scores instead of training and scoring on the visitor's click.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.mixture import GaussianMixture

from dashboard.anomaly.density import CodeDensity, Reference
from dashboard.anomaly.scenarios import Split
from dashboard.anomaly.scores import SCORE_KINDS
from dashboard.anomaly.thresholds import Evaluation
from dashboard.core import checkpoints, nets

# What score_samples reads of a fitted full-covariance mixture; float64. The precisions' Cholesky factors are upper
# triangular, so only their upper triangles are kept (half the bytes of a 64-number code's mixture), and the
# precision and covariance matrices, which follow from them, are rebuilt rather than stored.
_MIXTURE_ARRAYS = ("weights_", "means_")
STORED_SCORES = np.float32  # scores ship as float32: seven digits, far more than the page prints or a rank needs


def detector_state(model: nets.Autoencoder) -> dict:
    """{"config": its ModelConfig, "weights": {name: tensor}}: everything nets.build needs to rebuild it."""
    return {"config": model.config,
            "weights": {name: value.detach().cpu().contiguous().clone() for name, value in model.state_dict().items()}}


def detector_from_state(state: dict) -> nets.Autoencoder:
    """The detector a detector_state describes, in eval mode, with exactly those weights."""
    model = nets.build(state["config"])
    model.load_state_dict({name: torch.as_tensor(value) for name, value in state["weights"].items()})
    return model.eval()


def weights_digest(model: nets.Network) -> str:
    """sha256 of a model's weights as a checkpoint holds them: results stored for one detector belong to it alone."""
    return checkpoints.sha256(checkpoints.to_bytes(model))


def reference_state(reference: Reference) -> dict:
    """A fitted Reference as arrays and dataclasses: the mixture's parameters and the two standardisers."""
    density, mixture = reference.density, reference.density.mixture_
    factors = np.asarray(mixture.precisions_cholesky_)  # (n_components, k, k), upper triangular
    upper = np.triu_indices(factors.shape[-1])
    return {"density": {"n_components": density.n_components, "reg_covar": density.reg_covar, "seed": density.seed,
                        "center": density.center_, "scale": density.scale_,
                        "fitted_components": int(mixture.n_components), "converged": bool(mixture.converged_),
                        "n_iter": int(mixture.n_iter_), "lower_bound": float(mixture.lower_bound_),
                        "precisions_cholesky_upper": factors[:, upper[0], upper[1]],
                        **{name: getattr(mixture, name) for name in _MIXTURE_ARRAYS}},
            "code": reference.code, "reconstruction": reference.reconstruction, "n_images": reference.n_images}


def reference_from_state(state: dict) -> Reference:
    """The Reference a reference_state describes; its density scores codes exactly as the fitted one did."""
    stored = state["density"]
    density = CodeDensity(stored["n_components"], stored["reg_covar"], stored["seed"])
    density.center_, density.scale_ = np.array(stored["center"]), np.array(stored["scale"])
    mixture = GaussianMixture(n_components=stored["fitted_components"], covariance_type="full",
                              reg_covar=stored["reg_covar"], random_state=stored["seed"])
    for name in _MIXTURE_ARRAYS:
        setattr(mixture, name, np.array(stored[name]))  # writable copies, as a fit leaves them
    n_features = int(np.asarray(stored["means_"]).shape[1])
    upper = np.triu_indices(n_features)
    factors = np.zeros((stored["fitted_components"], n_features, n_features))
    factors[:, upper[0], upper[1]] = np.asarray(stored["precisions_cholesky_upper"])
    mixture.precisions_cholesky_ = factors
    mixture.precisions_ = factors @ factors.transpose(0, 2, 1)  # as scikit-learn forms them from the factors
    mixture.covariances_ = np.linalg.inv(mixture.precisions_)
    mixture.converged_, mixture.n_iter_, mixture.lower_bound_ = stored["converged"], stored["n_iter"], \
        stored["lower_bound"]
    mixture.n_features_in_ = n_features
    density.mixture_ = mixture
    return Reference(density, state["code"], state["reconstruction"], state["n_images"])


def evaluation_scores(evaluations: dict[str, Evaluation]) -> dict[str, dict[str, np.ndarray]]:
    """Only the scores of each kind (test, training, validation): everything else an Evaluation derives from them."""
    return {kind: {"test": e.scores, "train": e.train_scores, "val": e.val_scores} for kind, e in evaluations.items()}


def evaluations_from_scores(split: Split, scores: dict[str, dict[str, np.ndarray]]) -> dict[str, Evaluation]:
    """The Evaluations of a split from stored scores (labels come from the split), as evaluate_all builds them."""
    return {kind: Evaluation(kind, scores[kind]["test"], split.y_test, scores[kind]["train"], scores[kind]["val"],
                             split.y_val) for kind in SCORE_KINDS}


def compact_scores(scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every score kind's scores of one set of images, as the build ships them (STORED_SCORES)."""
    return {kind: np.asarray(scores[kind], dtype=STORED_SCORES) for kind in SCORE_KINDS}


def evaluations_from_parts(split: Split, train: dict[str, np.ndarray], test: dict[str, np.ndarray],
                           val: dict[str, np.ndarray]) -> dict[str, Evaluation]:
    """The Evaluations of a split from each kind's scores of its training, test and validation images, as float64
    (what evaluate_all gives): a shipped model's training scores serve every scenario that shares its training
    images."""
    as64 = {name: {kind: np.asarray(part[kind], dtype=np.float64) for kind in SCORE_KINDS}
            for name, part in (("train", train), ("test", test), ("val", val))}
    return {kind: Evaluation(kind, as64["test"][kind], split.y_test, as64["train"][kind], as64["val"][kind],
                             split.y_val) for kind in SCORE_KINDS}
