"""The VAE page's models beyond the core zoo: β-VAEs ("vae-16-beta4") and a conditional VAE ("cvae-16")."""

from __future__ import annotations

import re

import torch

from dashboard.core import cvae, data, metrics, nets, train

BETAS = (0.25, 1.0, 4.0, 16.0)  # the β ladder, weakest KL weight first
BETA_LATENTS = (16, 2)  # a code of 16 for the numbers, one of 2 for the map
CVAE = "cvae-16"
# These load with zoo.load but stay out of zoo.names, so the other pages' model lists and stored results keep to the
# core zoo. The β in a name is written as in beta_name ("vae-16-beta0.25", "vae-16-beta4").
PATTERN = re.compile(r"^(?:(vae)-([1-9][0-9]{0,2})-beta([0-9]+(?:\.[0-9]+)?)|(cvae)-([1-9][0-9]{0,2}))$")
# A lighter network than the core zoo's at 28x28 (a quarter of its weights), so that nine more models fit in
# models/; every rung of the ladder shares it, so β is the only thing that changes along it. 8x8 digits keep the
# zoo's already small network.
LIGHT_NETWORK = {"channels": (16, 32, 32), "hidden": 64}
# The cVAE's β by image size (key: data.is_small). At β = 1 the 28x28 cVAE still wrote the digit's class into its code,
# so a code drawn from the prior fought the label and about half of the samples came out another digit; a heavier KL
# makes the code drop what the label already gives for free. 8x8 digits have so few pixels that β = 1 already does.
CVAE_BETA = {True: 1.0, False: 8.0}


def beta_name(latent_dim: int, beta: float) -> str:
    """(16, 4.0) -> "vae-16-beta4"; (2, 0.25) -> "vae-2-beta0.25"."""
    return f"vae-{latent_dim}-beta{beta:g}"


NAMES = (*(beta_name(k, beta) for k in BETA_LATENTS for beta in BETAS), CVAE)


def parse(name: str) -> tuple[str, int, float] | None:
    """"vae-16-beta4" -> ("vae", 16, 4.0); "cvae-16" -> ("cvae", 16, 1.0) (its β is CVAE_BETA's); None otherwise."""
    match = PATTERN.match(name)
    if not match:
        return None
    if match.group(1):
        return "vae", int(match.group(2)), float(match.group(3))
    return "cvae", int(match.group(5)), 1.0


def plan(name: str, image_shape: tuple[int, int, int], n_classes: int, base: dict, training: train.TrainConfig
         ) -> tuple[nets.ModelConfig, train.TrainConfig]:
    """The network and training of a page model: the zoo's settings for the image size (base, training), lighter."""
    family, latent, beta = parse(name)
    small = data.is_small(image_shape)
    settings = {**base, **({} if small else LIGHT_NETWORK)}
    vae = nets.default_config("vae", latent, image_shape, beta=beta, **settings)
    if family == "cvae":
        network: nets.ModelConfig = cvae.ConditionalConfig(**{**vae.to_dict(), "family": "cvae", "n_classes": n_classes,
                                                             "beta": CVAE_BETA[small]})
    else:
        network = vae
    return network, training


def cvae_metrics(model: cvae.ConditionalVAE, ds: data.Dataset) -> dict[str, float]:
    """A conditional VAE's card scores: reconstruction of the test split given the true labels, against PCA."""
    from dashboard.core import baselines  # scikit-learn is slow to import; only making a model needs it here

    with torch.inference_mode():
        x_hat = torch.cat([model(ds.x_test[i:i + metrics.INFERENCE_BATCH], ds.y_test[i:i + metrics.INFERENCE_BATCH])
                           for i in range(0, len(ds.x_test), metrics.INFERENCE_BATCH)])
    return {"test_mse": metrics.mse(ds.x_test, x_hat), "test_psnr": metrics.psnr(ds.x_test, x_hat),
            "pca_mse": baselines.pca_test_mse(ds.name, model.latent_dim)}
