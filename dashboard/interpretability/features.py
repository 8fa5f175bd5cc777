"""Reading one SAE feature: top images, where it fires in them, its effect on the logits, a description, steering."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from dashboard.core import sae as sae_net

TOP = sae_net.TOP_IMAGES


@dataclass(frozen=True)
class Study:
    """An SAE read on one labelled split: activations, codes and what the page's numbers are computed from."""

    activations: np.ndarray  # (N, inputs) the classifier's feature layer
    codes: np.ndarray  # (N, width) the SAE's sparse codes, >= 0
    labels: np.ndarray  # (N,) classes
    probabilities: np.ndarray  # (N, classes) the classifier's own
    scores: dict  # sae.evaluate's numbers: fve, l0, dead and dense fractions, accuracy kept, purity

    @cached_property
    def firing_rate(self) -> np.ndarray:
        """Share of images on which each feature is active (width,)."""
        return (self.codes > 0).mean(0)

    @property
    def alive(self) -> np.ndarray:
        """Indices of the features active on at least one image, the most frequent first."""
        rate = self.firing_rate
        order = np.argsort(-rate, kind="stable")
        return order[rate[order] > 0]


def study(sae: sae_net.SparseAutoencoder, classifier: torch.nn.Module, images: torch.Tensor,
          labels: torch.Tensor) -> Study:
    """Read the split through the classifier's layer and the SAE, and score the SAE on it."""
    a = sae_net.read(classifier, sae.config.layer, images)  # (N, inputs)
    with torch.inference_mode():
        codes = sae.encode(a)
        probabilities = torch.softmax(classifier.head(a), dim=1)
    return Study(a.numpy(), codes.numpy(), labels.numpy(), probabilities.numpy(),
                 sae_net.evaluate(sae, classifier, images, labels, activations=a))


def top_images(values: np.ndarray, n: int = TOP) -> np.ndarray:
    """Indices of the n largest entries of one feature's values over the images (N,), largest first, positive only."""
    order = np.argsort(-values, kind="stable")[:n]
    return order[values[order] > 0]


def purity(values: np.ndarray, labels: np.ndarray, n: int = TOP) -> tuple[int, float]:
    """(commonest class, its share) among a feature's top-n images; (-1, nan) when it never fires."""
    top = top_images(values, n)
    if not len(top):
        return -1, float("nan")
    counts = np.bincount(labels[top])
    return int(counts.argmax()), float(counts.max() / len(top))


def describe(values: np.ndarray, labels: np.ndarray, classes: list[str], n: int = TOP) -> str:
    """A short description from a feature's top classes, e.g. "7s (9 of its top 10); also 2s; 7s are 80% of the
    40 digits it fires on": the top images say what it fires on most strongly, the share says how broadly."""
    top = top_images(values, n)
    if not len(top):
        return "never fires on these images"
    counts = np.bincount(labels[top], minlength=len(classes))
    ranked = [c for c in np.argsort(-counts, kind="stable") if counts[c] > 0]
    main = ranked[0]
    text = f"{classes[main]}s ({counts[main]} of its top {len(top)})"
    others = [f"{classes[c]}s" for c in ranked[1:3]]
    if counts[main] == len(top):
        text = f"only {classes[main]}s in its top {len(top)}"
    elif others:
        text += "; also " + " and ".join(others)
    fired = values > 0
    if fired.sum() > len(top):  # beyond its top images: how much of all it fires on is that class
        share = float((labels[fired] == main).mean())
        text += f"; {classes[main]}s are {share:.0%} of the {int(fired.sum())} digits it fires on"
    return text


def logit_effect(sae: sae_net.SparseAutoencoder, classifier: torch.nn.Module, feature: int) -> np.ndarray:
    """How much each class logit moves per unit of the feature (classes,): the head applied to its decoder column.

    Exact, because the head is linear: logits = W_head (sum_i z_i d_i + b) + c, so d logits / d z_i = W_head d_i.
    """
    with torch.no_grad():
        return (classifier.head.weight @ sae.directions()[:, feature]).numpy()


def attribution(sae: sae_net.SparseAutoencoder, classifier: torch.nn.Module, images: torch.Tensor,
                feature: int) -> np.ndarray:
    """Gradient x input of the feature's pre-activation for each image (N, H, W): where in the image it fires.

    The pre-activation, not the TopK code: it is smooth, and it equals the code wherever the feature is active.
    """
    x = images.detach().clone().float().requires_grad_(True)
    with torch.enable_grad():
        pre = sae.pre_activations(getattr(classifier, sae.config.layer)(x))[:, feature]  # (N,)
        (grad,) = torch.autograd.grad(pre.sum(), x)
    return (grad * x).detach()[:, 0].numpy()


@dataclass(frozen=True)
class Steered:
    """The classifier's class probabilities on one image before and after a feature is set to a new value."""

    before: np.ndarray  # (classes,)
    after: np.ndarray  # (classes,)
    original: float  # the feature's own activation on the image
    value: float  # what it was set to


def steer(sae: sae_net.SparseAutoencoder, classifier: torch.nn.Module, image: torch.Tensor, feature: int,
          value: float) -> Steered:
    """Set one feature of an image's code to value and recompute the probabilities through the head.

    The SAE's reconstruction error is added back, so with the feature left as it was the probabilities are
    exactly the classifier's own: only the change to the feature moves them.
    """
    with torch.inference_mode():
        a = getattr(classifier, sae.config.layer)(image.reshape(1, *image.shape[-3:]))  # (1, inputs)
        codes = sae.encode(a)
        error = a - sae.decode(codes)
        original = float(codes[0, feature])
        changed = codes.clone()
        changed[0, feature] = value
        before = torch.softmax(classifier.head(a), dim=1)[0]
        after = torch.softmax(classifier.head(sae.decode(changed) + error), dim=1)[0]
    return Steered(before.numpy(), after.numpy(), original, float(value))


@dataclass(frozen=True)
class Breakdown:
    """Which features fire on one image and what share of its total activation each carries."""

    features: np.ndarray  # (m,) active feature indices, largest first
    values: np.ndarray  # (m,) their activations
    shares: np.ndarray  # (m,) values / their sum
    probabilities: np.ndarray  # (classes,) the classifier's
    fve: float  # how much of this image's activation vector the SAE rebuilds (around the SAE's centre b)


def breakdown(sae: sae_net.SparseAutoencoder, classifier: torch.nn.Module, image: torch.Tensor) -> Breakdown:
    """One image through the classifier's layer and the SAE: its active features, largest first."""
    with torch.inference_mode():
        a = getattr(classifier, sae.config.layer)(image.reshape(1, *image.shape[-3:]))  # (1, inputs)
        codes = sae.encode(a)[0]
        recon = sae.decode(codes[None])
        probabilities = torch.softmax(classifier.head(a), dim=1)[0].numpy()
        spread = float((a - sae.bias).pow(2).sum().clamp_min(1e-12))
        fve = 1.0 - float((a - recon).pow(2).sum()) / spread
    active = torch.nonzero(codes).flatten()
    order = active[codes[active].argsort(descending=True)]
    values = codes[order].numpy()
    return Breakdown(order.numpy(), values, values / max(float(values.sum()), 1e-12), probabilities, fve)
