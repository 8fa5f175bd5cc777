"""Networks of today's generators: the flow-matching denoiser that walks noise down to an autoencoder's codes."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

Parts = dict[str, torch.Tensor]


@dataclass(frozen=True)
class FlowConfig:
    """A latent flow-matching denoiser: which codes it models and how big it is; stored in its JSON card."""

    family: str = "latent-flow"  # the nets.NETWORKS key, so that a card says which network its config builds
    base: str = "ae-16"  # the shipped autoencoder whose train-split codes are the data
    image_shape: tuple[int, int, int] = (1, 28, 28)  # the base model's images (the build sorts recipes by them)
    latent_dim: int = 16  # size of the codes it generates, the base model's latent size
    width: int = 192  # width of the hidden layers
    depth: int = 3  # residual blocks
    time_features: int = 32  # sinusoidal features of the noise level t
    n_classes: int = 10  # class labels it can be told; one more embedding row stands for "no label"
    label_dropout: float = 0.15  # share of training steps that hide the label, so one net also samples unconditionally

    def __post_init__(self):
        object.__setattr__(self, "image_shape", tuple(self.image_shape))
        if self.family != LatentFlow.family:
            raise ValueError(f"A latent flow config has family {LatentFlow.family!r}, not {self.family!r}.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> FlowConfig:
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


def time_features(t: torch.Tensor, n: int) -> torch.Tensor:
    """Noise levels t (N,) in [0, 1] -> sinusoidal features (N, n), as transformers embed positions."""
    freqs = torch.exp(torch.linspace(0.0, math.log(1000.0), n // 2, device=t.device))  # (n/2,)
    angles = t[:, None] * freqs[None] * math.pi  # (N, n/2)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class _Block(nn.Module):
    """A residual MLP block whose hidden layer is shifted by the noise level's and the label's embedding."""

    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.inner = nn.Linear(width, width)
        self.outer = nn.Linear(width, width)

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return h + self.outer(F.silu(self.inner(self.norm(h)) + cond))


class LatentFlow(nn.Module):
    """Velocity v(z_t, t, label) of the straight path z_t = (1 - t) z + t * noise (flow matching, Lipman et al. 2023).

    t = 0 is a code, t = 1 pure noise. The velocity points from the code to the noise, so z_t - t * v is the net's
    guess of the clean code: it is a denoiser at every noise level at once. Codes are standardised with the
    buffers code_mean and code_std, which the build sets from the training codes.
    """

    family: ClassVar[str] = "latent-flow"

    def __init__(self, config: FlowConfig):
        super().__init__()
        self.config = config
        k, width = config.latent_dim, config.width
        self.register_buffer("code_mean", torch.zeros(k))
        self.register_buffer("code_std", torch.ones(k))
        self.inp = nn.Linear(k, width)
        self.time = nn.Sequential(nn.Linear(config.time_features, width), nn.SiLU(), nn.Linear(width, width))
        self.label = nn.Embedding(config.n_classes + 1, width)  # row n_classes: no label given
        self.blocks = nn.ModuleList(_Block(width) for _ in range(config.depth))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, k))

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def no_label(self) -> int:
        return self.config.n_classes

    def set_code_stats(self, codes: torch.Tensor) -> None:
        """Standardise with these codes' (N, k) per-dimension mean and spread."""
        self.code_mean.copy_(codes.mean(0))
        self.code_std.copy_(codes.std(0).clamp_min(1e-6))

    def standardise(self, codes: torch.Tensor) -> torch.Tensor:
        return (codes - self.code_mean) / self.code_std

    def unstandardise(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.code_std + self.code_mean

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Standardised z_t (N, k), noise levels t (N,), labels (N,) (no_label for none) -> velocity (N, k)."""
        cond = self.time(time_features(t, self.config.time_features)) + self.label(labels)  # (N, width)
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, cond)
        return self.out(h)

    def training_pair(self, codes: torch.Tensor, labels: torch.Tensor | None,
                      generator: torch.Generator) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """A random noise level per code, the code moved that far toward fresh noise, and the velocity to predict.

        The training loop hands over codes already standardised (the build does it once for all of them).
        """
        n = len(codes)
        t = torch.rand(n, generator=generator, device=codes.device)  # (N,)
        noise = torch.randn(codes.shape, generator=generator, device=codes.device)  # (N, k)
        z_t = (1 - t[:, None]) * codes + t[:, None] * noise
        if labels is None:
            labels = torch.full((n,), self.no_label, device=codes.device)
        else:
            hide = torch.rand(n, generator=generator, device=codes.device) < self.config.label_dropout
            labels = torch.where(hide, torch.full_like(labels, self.no_label), labels)
        return (z_t, t, labels), noise - codes

    def loss(self, inputs: tuple[torch.Tensor, ...], target: torch.Tensor) -> tuple[torch.Tensor, Parts]:
        """Mean squared error of the predicted velocity."""
        value = F.mse_loss(self(*inputs), target)
        return value, {"loss": value.detach()}

    def guided_velocity(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None,
                        guidance: float) -> torch.Tensor:
        """Classifier-free guidance (Ho & Salimans 2022): v_none + guidance * (v_label - v_none).

        guidance 0 ignores the label, 1 follows it as trained, above 1 pushes further toward that class.
        """
        none = torch.full((len(x),), self.no_label, device=x.device)
        if labels is None or guidance == 0:
            return self(x, t, none)
        both = self(torch.cat([x, x]), torch.cat([t, t]), torch.cat([labels, none]))  # one batched pass
        with_label, without = both[:len(x)], both[len(x):]
        return without + guidance * (with_label - without)


NETWORKS = {LatentFlow.family: LatentFlow}
CONFIGS = {LatentFlow.family: FlowConfig}
