"""The networks: autoencoder families and the reference classifier, each rebuilt from one config dataclass."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from dashboard.core import corrupt, data, regularisers, sae

Parts = dict[str, torch.Tensor]  # named pieces of a loss, detached, for logging
RECON_LOSSES = ("bce", "mse")


class JsonConfig:
    """A config dataclass's round trip through a model card's JSON, shared by the network and training configs."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict):
        """The config from a card's dict; keys this version does not know are ignored."""
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


class CardConfig(JsonConfig):
    """What every network config shares: the JSON round trip, with the lists JSON gives back made tuples again."""

    def __post_init__(self):
        object.__setattr__(self, "image_shape", tuple(self.image_shape))
        object.__setattr__(self, "channels", tuple(self.channels))


@dataclass(frozen=True)
class ModelConfig(CardConfig):
    """Everything needed to rebuild an autoencoder; stored in each checkpoint's model card."""

    family: str = "ae"  # a key of AUTOENCODERS: "ae", "vae" or "dae" (an AE trained on corrupted input)
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (channels, height, width) of the input
    latent_dim: int = 16  # size of the bottleneck code z
    channels: tuple[int, ...] = (32, 64, 64)  # conv widths; each conv halves the side (rounding up)
    hidden: int = 128  # width of the dense layer between the conv stack and z
    beta: float = 1.0  # VAE only: weight of the KL term against reconstruction
    noise: str = "gaussian"  # DAE only: training corruption: a corrupt.NOISE_TYPES entry, "mixed" or EACH_IMAGE_MIX
    noise_level: float = 0.5  # DAE only: strength of that corruption ("mixed" draws its own levels)
    # "bce": per-pixel binary cross-entropy (a Bernoulli decoder). "mse": squared error, the error the pages score;
    # a VAE then has a Gaussian decoder whose one variance is set to the batch's error (optimal sigma-VAE).
    recon_loss: str = "bce"
    refine: int = 0  # stride-1 3x3 convs after the decoder's last upsampling, at full resolution (0: none)
    refine_channels: int = 16  # width of those convs
    batch_norm: bool = False  # batch normalisation after every hidden conv: faster, steadier training
    # Code regularisers (AE and DAE; core/regularisers.py). "l1": a rectified code plus sparsity_weight * sum |z_i|;
    # "topk": a rectified code of which only the top_k largest units pass. contractive: the weight of the encoder's
    # squared Jacobian norm.
    sparsity: str = "none"
    sparsity_weight: float = 0.0
    top_k: int = 0
    contractive: float = 0.0
    penalty_warmup: int = 0  # training steps over which penalties ease in and a top-k code's k eases down (0: none)

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"Unknown family {self.family!r}; expected one of {FAMILIES}.")
        if self.latent_dim < 1:
            raise ValueError("latent_dim must be at least 1.")
        if self.recon_loss not in RECON_LOSSES:
            raise ValueError(f"Unknown recon_loss {self.recon_loss!r}; expected one of {RECON_LOSSES}.")
        regularisers.check(self.family, self.latent_dim, self.sparsity, self.sparsity_weight, self.top_k,
                           self.contractive, self.penalty_warmup)
        super().__post_init__()


def _conv_sides(side: int, n_layers: int) -> list[int]:
    """Spatial side after each stride-2 conv with kernel 3 and padding 1: ceil(side / 2)."""
    sides = [side]
    for _ in range(n_layers):
        sides.append((sides[-1] + 1) // 2)
    return sides


class Autoencoder(nn.Module):
    """Conv encoder -> dense bottleneck z -> mirrored transposed-conv decoder, sigmoid output."""

    family: ClassVar[str] = "ae"
    has_prior: ClassVar[bool] = False  # whether decoding z ~ N(0, I) is meant to give plausible images
    config_defaults: ClassVar[dict] = {}  # what default_config sets for this family beyond the sizes

    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.family != self.family:
            raise ValueError(f"A {self.family!r} network cannot hold a {config.family!r} config; use nets.build.")
        self.config = config
        in_ch, height, width = config.image_shape
        self.heights = _conv_sides(height, len(config.channels))
        self.widths = _conv_sides(width, len(config.channels))
        widths = (in_ch, *config.channels)

        enc_layers: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            enc_layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), *self._norm(c_out), nn.SiLU()]
        self.encoder_conv = nn.Sequential(*enc_layers)
        self.flat_shape = (widths[-1], self.heights[-1], self.widths[-1])
        flat = widths[-1] * self.heights[-1] * self.widths[-1]
        self.encoder_dense = nn.Sequential(nn.Flatten(), nn.Linear(flat, config.hidden), nn.SiLU())
        self.to_latent = nn.Linear(config.hidden, self._latent_outputs())

        self.decoder_dense = nn.Sequential(
            nn.Linear(config.latent_dim, config.hidden), nn.SiLU(), nn.Linear(config.hidden, flat), nn.SiLU()
        )
        dec_layers: list[nn.Module] = []
        n = len(config.channels)
        for i in range(n, 0, -1):
            c_in, c_out = widths[i], widths[i - 1]
            # output_padding restores the side that the encoder's rounding-up lost.
            pad_h = self.heights[i - 1] - (2 * self.heights[i] - 1)
            pad_w = self.widths[i - 1] - (2 * self.widths[i] - 1)
            if i == 1 and config.refine:
                c_out = config.refine_channels  # the refining convs, not the upsampling, make the image
            dec_layers.append(nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=(pad_h, pad_w)))
            if i > 1 or config.refine:
                dec_layers += [*self._norm(c_out), nn.SiLU()]
        for j in range(config.refine):
            last = j == config.refine - 1
            dec_layers.append(nn.Conv2d(config.refine_channels, in_ch if last else config.refine_channels, 3,
                                        padding=1))
            if not last:
                dec_layers += [*self._norm(config.refine_channels), nn.SiLU()]
        self.decoder_conv = nn.Sequential(*dec_layers)

    def _latent_outputs(self) -> int:
        return self.config.latent_dim

    def _norm(self, channels: int) -> list[nn.Module]:
        return [nn.BatchNorm2d(channels)] if self.config.batch_norm else []

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_latent(self.encoder_dense(self.encoder_conv(x)))  # (N, latent outputs)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) in [0, 1] -> codes (N, latent_dim)."""
        return regularisers.shape_code(self._features(x), self.config.sparsity, regularisers.current_k(self))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        h = self.decoder_dense(z).view(-1, *self.flat_shape)  # (N, C_last, h, w)
        return self.decoder_conv(h)  # (N, C, H, W), before the sigmoid

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (N, latent_dim) -> images (N, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct: decode(encode(x)), images in [0, 1]."""
        return self.decode(self.encode(x))

    def training_pair(self, images: torch.Tensor, labels: torch.Tensor | None,
                      generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """What one training step feeds in and aims for: a plain AE rebuilds its input."""
        return images, images

    def recon_error(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean per-pixel reconstruction error of the config's kind (BCE on logits, or squared error)."""
        if self.config.recon_loss == "mse":
            return F.mse_loss(torch.sigmoid(logits), target)
        return F.binary_cross_entropy_with_logits(logits, target)

    def loss(self, x: torch.Tensor, target: torch.Tensor | None = None) -> tuple[torch.Tensor, Parts]:
        """Mean per-pixel reconstruction error (config.recon_loss) against target (default x), plus any code penalty."""
        target = x if target is None else target
        if self.config.contractive > 0:
            x = x.detach().requires_grad_(True)  # the contractive penalty differentiates the code by the input
        code = self.encode(x)
        recon = self.recon_error(self.decode_logits(code), target)
        penalties = regularisers.penalties(self.config, x, code, self.decoder_dense[0].weight,
                                           regularisers.warmup(self))  # each its own part, logged apart
        total = recon + sum(penalties.values()) if penalties else recon
        return total, {"loss": total.detach(), "recon": recon.detach(), **{k: v.detach() for k, v in penalties.items()}}

    def trace(self, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        """Activations at every stage of the hourglass, input to output, for teaching plots."""
        stages = [("input", x)]
        h = x
        for layer in self.encoder_conv:
            h = layer(h)
            if isinstance(layer, nn.SiLU):
                stages.append((f"conv {h.shape[1]}x{h.shape[2]}x{h.shape[3]}", h))
        h = self.encoder_dense(h)
        stages.append((f"dense {h.shape[1]}", h))
        z = self.encode(x)
        stages.append((f"code z ({z.shape[1]})", z))
        h = self.decoder_dense[:2](z)
        stages.append((f"dense {h.shape[1]}", h))
        h = self.decoder_dense[2:](h).view(-1, *self.flat_shape)
        stages.append((f"deconv {h.shape[1]}x{h.shape[2]}x{h.shape[3]}", h))
        for layer in self.decoder_conv:
            h = layer(h)
            if isinstance(layer, nn.SiLU):
                stages.append((f"deconv {h.shape[1]}x{h.shape[2]}x{h.shape[3]}", h))
        stages.append(("output", torch.sigmoid(h)))
        return stages


class DenoisingAutoencoder(Autoencoder):
    """A plain AE's network trained to rebuild the clean image from a corrupted copy."""

    family: ClassVar[str] = "dae"
    # A mix of noise types teaches one model to clean Gaussian, salt-and-pepper and occlusion alike.
    config_defaults: ClassVar[dict] = {"noise": "mixed", "noise_level": 1.0}

    def training_pair(self, images: torch.Tensor, labels: torch.Tensor | None,
                      generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Corrupted input, clean target; the noise comes from the training generator, so a rerun repeats it."""
        if self.config.noise == EACH_IMAGE_MIX:
            return corrupt_each(images, generator), images
        return corrupt.apply(images, self.config.noise, self.config.noise_level, generator=generator), images


# A DAE's training noise where every image draws its own type and a level uniform in [0, corrupt.MIXED_MAX_LEVELS]:
# corrupt's "mixed" gives a whole batch's group one level near half the maximum, so weak noise would never be seen.
EACH_IMAGE_MIX = "mixed-each"


def corrupt_each(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image (N, C, H, W) gets one of corrupt.NOISE_TYPES at a uniform random level up to its mixed maximum."""
    kinds = torch.randint(0, len(corrupt.NOISE_TYPES), (len(images),), generator=generator, device=images.device)
    levels = torch.rand(len(images), generator=generator, device=images.device).tolist()
    return torch.cat([corrupt.apply(images[i:i + 1], kind, levels[i] * corrupt.MIXED_MAX_LEVELS[kind],
                                    generator=generator)
                      for i, kind in enumerate(corrupt.NOISE_TYPES[k] for k in kinds.tolist())])


class VariationalAutoencoder(Autoencoder):
    """A VAE: the encoder outputs a Gaussian posterior; the loss adds a KL term to a N(0, I) prior."""

    family: ClassVar[str] = "vae"
    has_prior: ClassVar[bool] = True

    def _latent_outputs(self) -> int:
        return 2 * self.config.latent_dim

    def encode_distribution(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance, each (N, latent_dim)."""
        mu, logvar = self._features(x).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean, so that encode is deterministic like a plain AE's."""
        return self.encode_distribution(x)[0]

    def loss(self, x: torch.Tensor, target: torch.Tensor | None = None) -> tuple[torch.Tensor, Parts]:
        """Negative ELBO per pixel: summed BCE plus beta times KL, divided by the pixel count."""
        target = x if target is None else target
        mu, logvar = self.encode_distribution(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)  # reparameterisation trick
        logits = self.decode_logits(z)
        n_pixels = target[0].numel()
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / len(x)
        if self.config.recon_loss == "mse":
            # Gaussian decoder, one variance for every pixel set to the batch's mean squared error (its maximum
            # likelihood value): -log p(x|z) per image = D/2 log(2 pi e mse). A calibrated variance weighs the KL
            # against how well the decoder really does, where BCE on grey pixels overweights the KL.
            mse = F.mse_loss(torch.sigmoid(logits), target)
            recon = 0.5 * n_pixels * (torch.log(mse.clamp_min(1e-8)) + math.log(2 * math.pi) + 1.0)
            shown = mse
        else:
            recon = F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / len(x)
            shown = recon / n_pixels
        total = (recon + self.config.beta * kl) / n_pixels
        return total, {"loss": total.detach(), "recon": shown.detach(), "kl": kl.detach()}


# The order is the display order (AE first) and the order of FAMILIES.
AUTOENCODERS: dict[str, type[Autoencoder]] = {cls.family: cls for cls in
                                              (Autoencoder, VariationalAutoencoder, DenoisingAutoencoder)}
FAMILIES = tuple(AUTOENCODERS)


@dataclass(frozen=True)
class ClassifierConfig(CardConfig):
    """The reference classifier's architecture; stored in its JSON card (the training recipe sits beside it)."""

    family: str = "classifier"  # the NETWORKS key, so that a card says which network its config builds
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (channels, height, width) of the input
    n_classes: int = 10  # number of output classes
    channels: tuple[int, ...] = (16, 32)  # conv widths; each block halves the side with a max-pool
    features: int = 64  # width of the penultimate layer, the space the Fréchet distance is measured in

    def __post_init__(self):
        if self.family != ReferenceClassifier.family:
            raise ValueError(f"A classifier config has family {ReferenceClassifier.family!r}, not {self.family!r}.")
        super().__post_init__()


class ReferenceClassifier(nn.Module):
    """Conv blocks -> dense feature layer -> class logits; the feature layer stands in for Inception's pool."""

    family: ClassVar[str] = "classifier"

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = config
        in_ch, height, width = config.image_shape
        layers: list[nn.Module] = []
        for c_in, c_out in zip((in_ch, *config.channels[:-1]), config.channels):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)]
            height, width = math.ceil(height / 2), math.ceil(width / 2)
        self.conv = nn.Sequential(*layers)
        self.to_features = nn.Sequential(nn.Flatten(), nn.Linear(config.channels[-1] * height * width,
                                                                 config.features), nn.ReLU())
        self.head = nn.Linear(config.features, config.n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) in [0, 1] -> penultimate activations (N, features)."""
        return self.to_features(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (N, n_classes) logits

    def training_pair(self, images: torch.Tensor, labels: torch.Tensor | None,
                      generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Images in, their labels as the target."""
        if labels is None:
            raise ValueError("The classifier trains on labelled images; pass y_train.")
        return images, labels

    def loss(self, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, Parts]:
        """Mean cross-entropy of the class logits against integer labels (N,)."""
        value = F.cross_entropy(self(x), target)
        return value, {"loss": value.detach()}


Network = Autoencoder | ReferenceClassifier
NetworkConfig = ModelConfig | ClassifierConfig
# Every network a checkpoint may hold, by the family its config names; build and the checkpoint loader use it.
NETWORKS: dict[str, type[Network]] = {**AUTOENCODERS, ReferenceClassifier.family: ReferenceClassifier}
CONFIGS: dict[str, type[NetworkConfig]] = {**{family: ModelConfig for family in AUTOENCODERS},
                                           ReferenceClassifier.family: ClassifierConfig}
NETWORKS[sae.FAMILY], CONFIGS[sae.FAMILY] = sae.SparseAutoencoder, sae.SAEConfig  # reads another network's layer


def config_from_dict(values: dict) -> NetworkConfig:
    """The config a card stores, as the dataclass of the network it names (family "ae" when unnamed)."""
    family = values.get("family", "ae")
    if family not in CONFIGS:
        raise ValueError(f"Unknown network family {family!r}; expected one of {tuple(CONFIGS)}.")
    return CONFIGS[family].from_dict(values)


def build(config: NetworkConfig) -> Network:
    """The network for a config, looked up by its family; weights freshly initialised from torch's global RNG."""
    return NETWORKS[config.family](config)


def default_config(family: str, latent_dim: int, image_shape: tuple[int, int, int], **overrides) -> ModelConfig:
    """Sizes that suit the image: tiny 8x8 digits get a lighter conv stack than 28x28 MNIST."""
    base = {"channels": (16, 32), "hidden": 64} if data.is_small(image_shape) else {"channels": (32, 64, 64),
                                                                                     "hidden": 128}
    if family not in AUTOENCODERS:
        raise ValueError(f"Unknown family {family!r}; expected one of {FAMILIES}.")
    base.update(AUTOENCODERS[family].config_defaults)
    return ModelConfig(family=family, latent_dim=latent_dim, image_shape=tuple(image_shape), **{**base, **overrides})


def default_classifier_config(image_shape: tuple[int, int, int], n_classes: int = 10) -> ClassifierConfig:
    """Tiny 8x8 digits get wider convs: they cost little at that size and the classifier needs every pixel."""
    channels = (32, 64) if data.is_small(image_shape) else (16, 32)
    return ClassifierConfig(image_shape=tuple(image_shape), n_classes=n_classes, channels=channels)


# Today's generators (latent flow matching, the VQ-VAE and its prior) keep their networks in modules of their own;
# register them here so every checkpoint loader and nets.build know them. The conditional VAE (core/cvae.py) builds
# on the VAE above, so it registers itself when imported; the recipe table imports it.
from dashboard.core import generator_nets, vq_nets  # noqa: E402 (they need nothing from this module)

NETWORKS.update({**generator_nets.NETWORKS, **vq_nets.NETWORKS})
CONFIGS.update({**generator_nets.CONFIGS, **vq_nets.CONFIGS})
