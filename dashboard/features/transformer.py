"""The AutoencoderFeatures transformer: a shipped encoder as a scikit-learn estimator, pixels in, codes out."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from dashboard.core import data, metrics, zoo

# Pixel values may sit a hair outside [0, 1] after resampling or float round-off; anything beyond is a scale mistake.
PIXEL_TOLERANCE = 1e-3


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

