"""The recipe table: how every file under models/ is made (network, training, data), and making one."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

import torch

from dashboard.core import checkpoints, cvae, data, generator_recipes, metrics, nets, paths, sae, train, variants

CLASSIFIER = "reference-classifier"  # matches no autoencoder name, so the zoo never lists it as one
# Every autoencoder that ships for each offline dataset. dae-64 is the Denoising page's default.
CORE_ZOO = ("ae-2", "ae-3", "ae-8", "ae-16", "ae-32", "vae-2", "vae-3", "vae-8", "vae-16", "vae-32", "dae-16")
AUTOENCODER_NAMES = (*CORE_ZOO, "dae-64")
# Models whose training is recorded for the Latent space page: a fixed image set's codes after every epoch.
SNAPSHOT_NAMES = ("ae-2", "vae-2", "ae-3", "vae-3")
SAE_NAMES = ("sae-512",)  # sparse autoencoders on the classifier's feature layer, by their number of features
# Regularised variants, "<family>-<k>-<regulariser>" (the Regularised AEs page). zoo.names lists only NAME_PATTERN,
# so the pages that walk every <family>-<k> do not pick these up.
REGULARISED_NAMES = ("ae-256-sparse",)
# variants: the VAE page's own models; the SAEs after the classifier they read; the generators last, since they
# read the autoencoders' codes.
SHIPPED_NAMES = (*AUTOENCODER_NAMES, *REGULARISED_NAMES, *variants.NAMES, CLASSIFIER, *SAE_NAMES,
                 *generator_recipes.NAMES)
# Files whose network family their name does not spell as <family>-<k>.
NAMED_FAMILIES = {CLASSIFIER: nets.ReferenceClassifier.family, **{name: sae.FAMILY for name in SAE_NAMES},
                  **generator_recipes.FAMILIES}
SHIPPED_DATASETS = data.OFFLINE_DATASETS
NAME_PATTERN = re.compile(r"^(ae|vae|dae)-([1-9][0-9]{0,2})$")
VARIANT_PATTERN = re.compile(r"^(ae|dae)-([1-9][0-9]{0,2})-(sparse)$")

# Training by image size (key: data.is_small). Tiny 8x8 digits need many short epochs and no shifting: one pixel
# is an eighth of the image. 28x28 images: a two-pixel shift, which the conv stack absorbs, and batches of 64 at a
# high learning rate, which batch normalisation keeps steady; on 4,000 images the number of steps, not of epochs,
# is what lowers the test error (15 epochs of 64 beat 30 of 128, in about the same time).
AUTOENCODER_TRAINING = {
    True: train.TrainConfig(epochs=120, batch_size=64, shift=0),
    False: train.TrainConfig(epochs=15, batch_size=64, lr=6e-3, shift=2),
}
# Network settings by image size, on top of nets.default_config. 28x28: batch normalisation in the conv stacks (it
# cut ae-16's test error by a third at equal steps), and squared error, the error the pages report, for AE and DAE.
# The VAE keeps BCE: with a Gaussian decoder its codes spread further from the prior and prior samples got worse.
AUTOENCODER_NETWORK: dict[bool, dict] = {True: {}, False: {"batch_norm": True}}
FAMILY_NETWORK: dict[tuple[str, bool], dict] = {("ae", False): {"recon_loss": "mse"},
                                                ("dae", False): {"recon_loss": "mse", "noise": nets.EACH_IMAGE_MIX}}
# Named exceptions to the size rules, by (name, small): (network settings, training settings). digits' dae-64: a
# wide code that keeps fine strokes, which small unshifted batches over 60 epochs train better than the zoo's recipe.
# mnist-5k's dae-64, the Denoising page's default, trains twice as long and ends in a full-resolution conv: near a
# clean input it must beat a median filter, which barely changes a clean digit, so it must rebuild fine strokes (the
# extra conv took its clean test error from 0.0067 to 0.0055). vae-16, the Sampling page's VAE, trains twice as long
# too: its prior samples improve with training far more than its reconstructions.
AUTOENCODER_OVERRIDES: dict[tuple[str, bool], tuple[dict, dict]] = {
    ("dae-64", True): ({}, {"epochs": 60, "batch_size": 32, "shift": 0}),
    ("dae-64", False): ({"refine": 1, "refine_channels": 32}, {"epochs": 30}),
    ("vae-16", False): ({}, {"epochs": 30}),
    # The k-sparse AE (Makhzani & Frey 2014): at most 24 of 256 units (9.4%) fire. k eases down from the whole code
    # over the first half (digits) or third (28x28) of training, so that every unit learns before they compete.
    # 128 units with k = 12 rebuilt 28x28 digits 1.6x worse than ae-16; twice the units and k fit the 1.5x target.
    ("ae-256-sparse", True): ({"sparsity": "topk", "top_k": 24, "penalty_warmup": 1380, "recon_loss": "mse"}, {}),
    ("ae-256-sparse", False): ({"sparsity": "topk", "top_k": 24, "penalty_warmup": 284}, {}),
}
# The classifier warms up for longer (a fifth of the steps); tiny digits get more epochs and no shift.
CLASSIFIER_TRAINING = {
    True: train.TrainConfig(epochs=30, batch_size=128, warmup=0.2, shift=0),
    False: train.TrainConfig(epochs=8, batch_size=128, warmup=0.2, shift=2),
}
# The SAE trains on activation vectors (the shift happens to the images before the classifier reads them: see
# SAEConfig.views). No weight decay: it would pull the encoder towards zero against the TopK's fixed L0.
SAE_TRAINING = train.TrainConfig(epochs=30, batch_size=256, lr=2e-3, weight_decay=0.0, warmup=0.05, shift=0)


@dataclass(frozen=True)
class Recipe:
    """How one file is made: which network, trained how, on which data."""

    name: str  # file stem under models/<dataset>/, e.g. "ae-16" or "reference-classifier"
    dataset: str  # a data.DATASETS name; its train split is the training data, its test split scores the result
    network: nets.NetworkConfig  # the architecture, stored in the card as "config"
    training: train.TrainConfig  # the optimiser run, stored in the card as "train_config"

    @property
    def command(self) -> str:
        """The command line that rebuilds this file into models/."""
        return f"python -m dashboard.core.build --dataset {self.dataset} --only {self.name}"


def parse_name(name: str) -> tuple[str, int]:
    """"vae-16" -> ("vae", 16); anything else raises ValueError naming the valid pattern."""
    match = NAME_PATTERN.match(name) or VARIANT_PATTERN.match(name)
    if not match:
        if variants.parse(name):
            return variants.parse(name)[:2]
        raise ValueError(f"Bad model name {name!r}: expected <family>-<latent size> with family ae, vae or dae, "
                         f"for example {', '.join(CORE_ZOO[:4])} (or a VAE page model: {', '.join(variants.NAMES)}).")
    return match.group(1), int(match.group(2))


def family_of(name: str) -> str:
    """The network family a shipped file name holds: the classifier, an SAE, or an autoencoder by its name."""
    if name in NAMED_FAMILIES:
        return NAMED_FAMILIES[name]
    return "vq" if generator_recipes.VQ_PATTERN.match(name) else parse_name(name)[0]


def recipe(name: str, dataset: str, **training_overrides) -> Recipe:
    """The recipe for a file name on a dataset (any autoencoder name works, for models trained on demand).

    training_overrides replace TrainConfig fields, e.g. device="cpu" or epochs=1 for a quick run.
    """
    ds = data.load(dataset)
    small = data.is_small(ds.image_shape)
    if name == CLASSIFIER:
        network: nets.NetworkConfig = nets.default_classifier_config(ds.image_shape, len(ds.classes))
        training = CLASSIFIER_TRAINING[small]
    elif variants.parse(name):
        network, training = variants.plan(name, ds.image_shape, len(ds.classes), AUTOENCODER_NETWORK[small],
                                          AUTOENCODER_TRAINING[small])
    elif name in SAE_NAMES:
        network = sae.SAEConfig(inputs=nets.default_classifier_config(ds.image_shape).features,
                                width=int(name.split("-")[1]))
        training = SAE_TRAINING
    elif name in generator_recipes.NAMES:
        network, training = generator_recipes.network(name, ds), generator_recipes.training(name, small)
    else:
        family, latent = parse_name(name)
        net_overrides, train_overrides = AUTOENCODER_OVERRIDES.get((name, small), ({}, {}))
        network = nets.default_config(family, latent, ds.image_shape, **{
            **AUTOENCODER_NETWORK[small], **FAMILY_NETWORK.get((family, small), {}), **net_overrides})
        training = dataclasses.replace(AUTOENCODER_TRAINING[small], **train_overrides)
    return Recipe(name, dataset, network, dataclasses.replace(training, **training_overrides))


def table() -> list[Recipe]:
    """Every shipped file's recipe: all of models/, dataset by dataset."""
    return [recipe(name, dataset) for dataset in SHIPPED_DATASETS for name in SHIPPED_NAMES]


def _autoencoder_metrics(model: nets.Autoencoder, ds: data.Dataset) -> dict[str, float]:
    from dashboard.core import baselines  # scikit-learn is slow to import; only making a model needs it here

    x_hat = metrics.reconstruct(model, ds.x_test)
    scores = {"test_mse": metrics.mse(ds.x_test, x_hat), "test_psnr": metrics.psnr(ds.x_test, x_hat),
              # PCA with as many components as pixels is exact; a code wider than the image gets that
              "pca_mse": baselines.pca_test_mse(ds.name, min(model.latent_dim, ds.x_test[0].numel()))}
    if model.config.sparsity != "none":  # how sparse the code is: the mean share of units non-zero per test image
        scores["active_fraction"] = float((metrics.encode(model, ds.x_test) != 0).double().mean())
    return scores


def _classifier_metrics(model: nets.ReferenceClassifier, ds: data.Dataset) -> dict[str, float]:
    with torch.inference_mode():
        predicted = torch.cat([model(ds.x_test[i:i + metrics.INFERENCE_BATCH]).argmax(1)
                               for i in range(0, len(ds.x_test), metrics.INFERENCE_BATCH)])  # (N,)
    return {"test_accuracy": float((predicted == ds.y_test).double().mean())}


def source_of(config: sae.SAEConfig, dataset: str) -> tuple[nets.Network, dict]:
    """The shipped network (and its card) whose layer a sparse autoencoder reads."""
    return checkpoints.load(paths.MODELS_DIR / dataset, config.source)


def sae_inputs(config: sae.SAEConfig, dataset: str, images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """The activations (N * views, inputs) an SAE trains on: its source's layer read on shifted copies of images.

    The copies are shifted as the source was when it trained (not at all for 8x8 digits), so they stay in its range.
    """
    reader, _ = source_of(config, dataset)
    generator = torch.Generator().manual_seed(seed)
    shift = CLASSIFIER_TRAINING[data.is_small(tuple(images.shape[1:]))].shift  # the shifts the source was taught
    views = [images if view == 0 or not shift else train.random_shift(images, shift, generator)
             for view in range(config.views)]
    return sae.read(reader, config.layer, torch.cat(views))


def _sae_metrics(model: sae.SparseAutoencoder, ds: data.Dataset) -> dict[str, float]:
    return sae.evaluate(model, source_of(model.config, ds.name)[0], ds.x_test, ds.y_test)


# What a card reports, by network family: reconstruction against PCA, test accuracy, or an SAE's scores.
SCORES = {**{family: _autoencoder_metrics for family in nets.FAMILIES},
          nets.ReferenceClassifier.family: _classifier_metrics, sae.FAMILY: _sae_metrics,
          cvae.ConditionalVAE.family: variants.cvae_metrics, **generator_recipes.SCORES}


def make(plan: Recipe, x_train: torch.Tensor | None = None, y_train: torch.Tensor | None = None,
         progress: train.EpochProgress | None = None, should_stop: train.StopFn | None = None,
         on_epoch: train.EpochFn | None = None) -> tuple[train.TrainResult, dict, bytes]:
    """Train a recipe and score it: (run, card, safetensors weights). Nothing is written; checkpoints.save does.

    x_train (and y_train, for the classifier) replace the dataset's train split, e.g. with a visitor's capped subset.
    on_epoch (e.g. a snapshots.Recorder) looks at the network after every epoch without changing its training.
    """
    ds = data.load(plan.dataset)
    if x_train is None:
        x_train, y_train = ds.x_train, ds.y_train
    table_data, flow = x_train is ds.x_train, plan.network.family in generator_recipes.FROM_MODELS
    if flow and table_data:  # a generator's data are its base model's codes, not images
        x_train, y_train = generator_recipes.training_data(plan.network, ds)
    reads = plan.network.family == sae.FAMILY  # an SAE trains on another network's activations of the images
    inputs = sae_inputs(plan.network, plan.dataset, x_train, plan.training.seed) if reads else x_train
    result = train.train(plan.network, inputs, plan.training, progress=progress, should_stop=should_stop,
                         y_train=None if reads else y_train, on_epoch=on_epoch)
    if flow:
        generator_recipes.finish(result.model, ds)
    payload = checkpoints.to_bytes(result.model)
    scores = SCORES[plan.network.family](result.model, ds)
    from_table = table_data and plan == recipe(plan.name, plan.dataset, device=plan.training.device)
    card = {
        "card_version": checkpoints.CARD_VERSION,
        "name": plan.name,
        "dataset": plan.dataset,
        "split_seed": data.SPLIT_SEED,
        "n_train": len(x_train),
        "n_test": len(ds.x_test),
        "config": plan.network.to_dict(),
        "train_config": plan.training.to_dict(),
        "rebuild": plan.command if from_table else None,  # None: a custom run that the table does not describe
        "epochs": result.epochs_done,
        "train_seconds": round(result.seconds, 2),
        "images_per_second": round(result.images_per_second, 1),
        "device": result.device,
        "torch_version": torch.__version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "metrics": scores,
        "history": [round(v, 6) for v in result.history],
        # Each part of the loss per epoch apart (reconstruction, KL or penalties), when there is more than one
        "loss_parts": {key: [round(v, 6) for v in values] for key, values in result.parts.items() if key != "loss"},
        "parameters": sum(p.numel() for p in result.model.parameters()),
        "sha256": checkpoints.sha256(payload),
    }
    if reads:  # the exact weights it read, so a retrained source shows up as a mismatch
        card["source_sha256"] = source_of(plan.network, plan.dataset)[1]["sha256"]
    if "test_accuracy" in scores:
        card["test_accuracy"] = scores["test_accuracy"]  # where the sampling page and benchmark read it
    return result, card, payload
