"""The sparse autoencoder: an overcomplete TopK dictionary of another network's activations, and its scores."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

FAMILY = "sae"
TOP_IMAGES = 10  # how many top-activating images the selectivity score looks at


@dataclass(frozen=True)
class SAEConfig:
    """Everything needed to rebuild a sparse autoencoder; stored in its model card."""

    family: str = FAMILY  # the NETWORKS key
    inputs: int = 64  # width of the activations it reads
    width: int = 512  # number of latents (dictionary features); 8x the inputs makes it overcomplete
    k: int = 16  # latents kept per input by TopK: the L0 is fixed by construction, with no L1 shrinkage
    aux_k: int = 64  # dead latents the auxiliary loss may use per input to explain what the live ones missed
    aux_weight: float = 1 / 32  # weight of that auxiliary loss (Gao et al. 2024 use 1/32)
    # A latent counts as dead when it fires on fewer than dead_rate of the inputs, averaged over about `window`
    # steps: one that fires on a few training images only would never fire on the test split either.
    dead_rate: float = 0.005
    window: int = 100
    # Step per training step, as a share of the mean kept activation, of the selection bias that helps dead latents
    # into the top k (0: plain TopK). Like the bias of loss-free load balancing in mixture-of-experts routing
    # (Wang et al. 2024), it only decides which latents are kept, never their values.
    balance: float = 0.01
    views: int = 8  # randomly shifted copies of each training image whose activations it trains on
    source: str = "reference-classifier"  # the network it reads: a file stem under models/<dataset>/
    layer: str = "features"  # the method of that network that gives the activations (N, inputs)

    def __post_init__(self):
        if self.family != FAMILY:
            raise ValueError(f"A sparse autoencoder config has family {FAMILY!r}, not {self.family!r}.")
        if not 1 <= self.k <= self.width:
            raise ValueError(f"k must be between 1 and the width {self.width}, not {self.k}.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> SAEConfig:
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


def top_k(values: torch.Tensor, k: int, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Keep the k largest entries of each row (N, width), after a ReLU; every other entry becomes 0.

    bias (width,), when given, is added for choosing the k entries only; the kept values are the entries' own.
    """
    index = (values if bias is None else values + bias).topk(k, dim=1).indices
    return torch.zeros_like(values).scatter(1, index, F.relu(values.gather(1, index)))


class SparseAutoencoder(nn.Module):
    """a -> TopK(ReLU(W_enc (a - b) + c)) = codes -> W_dec codes + b, with unit-norm decoder columns.

    TopK (Gao et al. 2024) rather than ReLU + L1: it sets the L0 directly, and with no L1 penalty the active
    latents are not shrunk towards zero. The decoder columns are the features' directions in activation space.
    They are normalised inside decode, so a feature's activation is its length along a unit direction, and the
    loss cannot shrink codes by growing the decoder. Dead latents are fought three ways: each starts on a real
    input, the auxiliary TopK loss (AuxK) trains them on what the live ones miss, and a selection bias helps the
    rarest into the top k. The classifier's layer has few directions that matter, so without that help many
    latents end up firing on a handful of training images and never on a test image.
    """

    family: ClassVar[str] = FAMILY

    def __init__(self, config: SAEConfig):
        super().__init__()
        self.config = config
        directions = F.normalize(torch.randn(config.inputs, config.width), dim=0)
        self.decoder_weight = nn.Parameter(directions)  # (inputs, width); columns are normalised in use
        self.encoder = nn.Linear(config.inputs, config.width)
        with torch.no_grad():  # a tied start: each latent first reads along its own direction
            self.encoder.weight.copy_(directions.T)
            self.encoder.bias.zero_()
        self.bias = nn.Parameter(torch.zeros(config.inputs))  # b: the activations' centre, set from data
        # Added to the pre-activations when TopK chooses, learned by the balancing rule (zero without it); stored.
        self.register_buffer("selection_bias", torch.zeros(config.width))
        # Training state only: each latent's recent firing rate, and whether b was set from the first batch.
        self.register_buffer("rate", torch.full((config.width,), config.k / config.width), persistent=False)
        self.centred = False

    @property
    def width(self) -> int:
        return self.config.width

    def directions(self) -> torch.Tensor:
        """The unit-norm decoder columns (inputs, width): feature i points along directions()[:, i]."""
        return F.normalize(self.decoder_weight, dim=0)

    def pre_activations(self, a: torch.Tensor) -> torch.Tensor:
        """Activations (N, inputs) -> every latent's input before TopK (N, width)."""
        return self.encoder(a - self.bias)

    def encode(self, a: torch.Tensor) -> torch.Tensor:
        """Activations (N, inputs) -> sparse codes (N, width), at most k non-zero per row, all >= 0."""
        return top_k(self.pre_activations(a), self.config.k, self.selection_bias)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (N, width) -> activations (N, inputs)."""
        return codes @ self.directions().T + self.bias

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(a))

    def training_pair(self, inputs: torch.Tensor, labels: torch.Tensor | None,
                      generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Activations in, the same out. The first batch sets the start: b is its mean, and every feature's
        direction is one of its centred inputs, so each latent starts out firing on real data."""
        if not self.centred:
            with torch.no_grad():
                self.bias.copy_(inputs.mean(0))
                picks = torch.randint(len(inputs), (self.width,), generator=generator, device=inputs.device)
                noise = torch.randn(self.width, inputs.shape[1], generator=generator, device=inputs.device)
                centred = inputs[picks] - self.bias
                start = F.normalize(centred + 0.1 * centred.norm(dim=1, keepdim=True) * noise / inputs.shape[1] ** 0.5,
                                    dim=1)  # (width, inputs); the noise parts latents that picked the same input
                self.decoder_weight.copy_(start.T)
                self.encoder.weight.copy_(start)
            self.centred = True
        return inputs, inputs

    def dead(self) -> torch.Tensor:
        """Which latents fire too rarely in training (width,) bool."""
        return self.rate < self.config.dead_rate

    def loss(self, a: torch.Tensor, target: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """Normalised squared error (1 - the batch's fraction of variance explained), plus AuxK while training."""
        target = a if target is None else target
        pre = self.pre_activations(a)  # (N, width)
        codes = top_k(pre, self.config.k, self.selection_bias)
        recon = self.decode(codes)
        spread = (target - target.mean(0)).pow(2).sum(1).mean().clamp_min(1e-8)
        error = (recon - target).pow(2).sum(1).mean() / spread
        total = error
        parts = {"recon": error.detach()}
        if self.training:
            with torch.no_grad():
                fired = (codes > 0).float().mean(0)  # (width,)
                self.rate.lerp_(fired, 1.0 / self.config.window)
                kept = codes[codes > 0]
                if self.config.balance and len(kept):
                    # A rare latent's bias rises until it fires often enough; once it fires more than the average
                    # latent, the help is withdrawn step by step. The others' choices are left to the loss.
                    rare = self.dead()
                    helped = (self.rate > self.config.k / self.width) & (self.selection_bias > 0)
                    self.selection_bias += self.config.balance * kept.mean() * (rare.float() - helped.float())
            dead = self.dead()  # (width,)
            if dead.any():
                # The dead latents' pre-activations, not their ReLU: a latent whose input never reaches zero
                # still gets a gradient towards explaining the residual.
                residual = (target - recon).detach()
                masked = pre.masked_fill(~dead, float("-inf"))
                kept, index = masked.topk(min(self.config.aux_k, int(dead.sum())), dim=1)
                aux_codes = torch.zeros_like(pre).scatter(1, index, kept)
                aux_recon = aux_codes @ self.directions().T
                aux_spread = (residual - residual.mean(0)).pow(2).sum(1).mean().clamp_min(1e-8)
                aux = (aux_recon - residual).pow(2).sum(1).mean() / aux_spread
                total = error + self.config.aux_weight * aux
                parts["aux"] = aux.detach()
            parts["dead"] = dead.float().mean()
        parts["loss"] = total.detach()
        return total, parts


def read(reader: nn.Module, layer: str, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """The activations (N, F) that reader's layer method gives for images, in batches, without gradients."""
    with torch.inference_mode():
        return torch.cat([getattr(reader, layer)(images[i:i + batch]) for i in range(0, len(images), batch)])


def top_purity(scores: torch.Tensor, labels: torch.Tensor, top: int = TOP_IMAGES) -> torch.Tensor:
    """For each column of scores (N, F): the share of its `top` highest-scoring rows that carry its commonest label.

    A column that is positive on fewer than `top` rows is scored on those rows only; one never positive gets NaN.
    """
    order = scores.argsort(dim=0, descending=True)[:top]  # (top, F)
    ranked_labels = labels[order]  # (top, F)
    positive = scores.gather(0, order) > 0  # (top, F)
    n_classes = int(labels.max()) + 1
    counts = torch.zeros(n_classes, scores.shape[1])
    counts.scatter_add_(0, ranked_labels, positive.float())
    fired = positive.sum(0).float()
    return torch.where(fired > 0, counts.max(0).values / fired.clamp_min(1), torch.nan)


def evaluate(sae: SparseAutoencoder, reader: nn.Module, images: torch.Tensor, labels: torch.Tensor,
             activations: torch.Tensor | None = None) -> dict[str, float]:
    """SAEBench-style scores on a labelled split: reconstruction, sparsity, dead and dense, accuracy kept, purity.

    activations, when given, are reader's layer on images already (N, inputs), so they are not read again.
    """
    a = read(reader, sae.config.layer, images) if activations is None else activations  # (N, inputs)
    with torch.inference_mode():
        codes = sae.encode(a)  # (N, width)
        recon = sae.decode(codes)
        accuracy = float((reader.head(a).argmax(1) == labels).double().mean())
        accuracy_recon = float((reader.head(recon).argmax(1) == labels).double().mean())
    firing = (codes > 0).double().mean(0)  # (width,)
    purity = top_purity(codes, labels)
    scored = purity[(codes > 0).sum(0) >= TOP_IMAGES]  # features that fire on at least `top` images
    variance = (a - a.mean(0)).pow(2).sum()
    return {
        "fve": float(1 - (a - recon).pow(2).sum() / variance),
        "l0": float((codes > 0).sum(1).double().mean()),
        "dead_fraction": float((firing == 0).double().mean()),
        "dense_fraction": float((firing > 0.5).double().mean()),
        "accuracy": accuracy,
        "accuracy_with_sae": accuracy_recon,
        "accuracy_kept": accuracy_recon / max(accuracy, 1e-9),
        "median_top10_purity": float(scored.median()) if len(scored) else float("nan"),
        "features_scored": int(len(scored)),
    }
