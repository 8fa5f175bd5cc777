"""Discrete codes: the VQ-VAE (a grid of codebook indices per image) and a tiny PixelCNN prior over those grids."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

Parts = dict[str, torch.Tensor]


class _Config:
    def __post_init__(self):
        object.__setattr__(self, "image_shape", tuple(self.image_shape))
        object.__setattr__(self, "channels", tuple(self.channels))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict):
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class VQConfig(_Config):
    """A VQ-VAE (van den Oord et al. 2017); stored in its JSON card."""

    family: str = "vq"  # the nets.NETWORKS key
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (channels, height, width) of the input
    codebook_size: int = 32  # K entries; each cell of the grid costs log2(K) bits
    code_dim: int = 16  # length of each codebook vector
    channels: tuple[int, ...] = (32, 64)  # conv widths; each conv halves the side (28 -> 14 -> 7)
    commitment: float = 0.25  # beta: how hard the encoder is pulled toward its chosen entries
    decay: float = 0.99  # EMA decay of the codebook's running counts and sums
    dead_below: float = 0.5  # an entry whose running count per batch falls below this is restarted on a live vector


def _sides(side: int, n: int) -> list[int]:
    sides = [side]
    for _ in range(n):
        sides.append((sides[-1] + 1) // 2)
    return sides


class VQVAE(nn.Module):
    """Conv encoder -> grid of vectors -> nearest codebook entry per cell -> conv decoder, sigmoid output.

    The codebook is learned by exponential moving averages of the vectors each entry wins (Razavi et al. 2019);
    gradients skip the rounding (straight-through) and a commitment loss keeps the encoder near its entries.
    Entries nobody picks for a while restart on a random encoder vector of the current batch.
    """

    family: ClassVar[str] = "vq"

    def __init__(self, config: VQConfig):
        super().__init__()
        self.config = config
        in_ch, height, width = config.image_shape
        self.heights, self.widths = _sides(height, len(config.channels)), _sides(width, len(config.channels))
        widths = (in_ch, *config.channels)
        enc: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            enc += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.SiLU()]
        enc += [nn.Conv2d(widths[-1], widths[-1], 3, padding=1), nn.SiLU(), nn.Conv2d(widths[-1], config.code_dim, 1)]
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = [nn.Conv2d(config.code_dim, widths[-1], 3, padding=1), nn.SiLU()]
        for i in range(len(config.channels), 0, -1):
            pad_h = self.heights[i - 1] - (2 * self.heights[i] - 1)
            pad_w = self.widths[i - 1] - (2 * self.widths[i] - 1)
            c_out = widths[i - 1] if i > 1 else widths[1]
            dec += [nn.ConvTranspose2d(widths[i], c_out, 3, stride=2, padding=1, output_padding=(pad_h, pad_w)),
                    nn.SiLU()]
        dec.append(nn.Conv2d(widths[1], in_ch, 3, padding=1))
        self.decoder = nn.Sequential(*dec)
        k, d = config.codebook_size, config.code_dim
        self.register_buffer("codebook", torch.randn(k, d))
        self.register_buffer("ema_count", torch.zeros(k))  # zero: every entry starts dead and restarts on data
        self.register_buffer("ema_sum", torch.zeros(k, d))

    @property
    def grid(self) -> tuple[int, int]:
        return self.heights[-1], self.widths[-1]

    @property
    def bits(self) -> float:
        """Bits per image: one index of log2(K) bits per cell."""
        h, w = self.grid
        return h * w * float(torch.log2(torch.tensor(float(self.config.codebook_size))))

    def vectors(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (N, D, h, w)

    def nearest(self, z_e: torch.Tensor) -> torch.Tensor:
        """Encoder vectors (N, D, h, w) -> index of the nearest codebook entry (N, h, w)."""
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, z_e.shape[1])  # (N h w, D)
        distance = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.T
                    + self.codebook.pow(2).sum(1)[None])  # (N h w, K)
        return distance.argmin(1).reshape(z_e.shape[0], *z_e.shape[2:])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) in [0, 1] -> codebook indices (N, h, w), int64."""
        return self.nearest(self.vectors(x))

    def embed(self, indices: torch.Tensor) -> torch.Tensor:
        return self.codebook[indices].permute(0, 3, 1, 2)  # (N, D, h, w)

    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        """Indices (N, h, w) -> images (N, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decoder(self.embed(indices.long())))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def training_pair(self, images: torch.Tensor, labels: torch.Tensor | None,
                      generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return images, images

    @torch.no_grad()
    def _update_codebook(self, z_e: torch.Tensor, indices: torch.Tensor) -> None:
        """EMA of each entry's count and vector sum, then restarts of entries that went unused."""
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, z_e.shape[1])  # (M, D)
        onehot = F.one_hot(indices.reshape(-1), self.config.codebook_size).to(flat.dtype)  # (M, K)
        decay = self.config.decay
        self.ema_count.mul_(decay).add_(onehot.sum(0), alpha=1 - decay)
        self.ema_sum.mul_(decay).add_(onehot.T @ flat, alpha=1 - decay)
        live = self.ema_count >= self.config.dead_below * (1 - decay)  # roughly: picked in recent batches
        self.codebook.copy_(torch.where(live[:, None], self.ema_sum / self.ema_count.clamp_min(1e-8)[:, None],
                                        self.codebook))
        dead = (~live).nonzero().flatten()
        if len(dead):
            picks = flat[torch.randint(len(flat), (len(dead),), device=flat.device)]
            self.codebook[dead] = picks
            self.ema_sum[dead] = picks * (1 - decay)
            self.ema_count[dead] = 1 - decay

    def loss(self, x: torch.Tensor, target: torch.Tensor | None = None) -> tuple[torch.Tensor, Parts]:
        """Squared reconstruction error plus beta times the commitment |z_e - sg(e)|^2."""
        target = x if target is None else target
        z_e = self.vectors(x)
        indices = self.nearest(z_e)
        if self.training:
            self._update_codebook(z_e, indices)
        z_q = self.embed(indices)
        straight = z_e + (z_q - z_e).detach()  # the decoder's gradient passes to the encoder unchanged
        recon = F.mse_loss(torch.sigmoid(self.decoder(straight)), target)
        commit = F.mse_loss(z_e, z_q.detach())
        total = recon + self.config.commitment * commit
        return total, {"loss": total.detach(), "recon": recon.detach(), "commit": commit.detach()}


@dataclass(frozen=True)
class PriorConfig(_Config):
    """A tiny PixelCNN (van den Oord et al. 2016) over a VQ-VAE's index grids; stored in its JSON card."""

    family: str = "vq-prior"  # the nets.NETWORKS key
    base: str = "vq-32"  # the shipped VQ-VAE whose train-split grids are the data
    image_shape: tuple[int, int, int] = (1, 28, 28)  # the base model's images (the build sorts recipes by them)
    codebook_size: int = 32  # K: the values a cell can take
    grid: tuple[int, int] = (7, 7)  # (h, w) of the index grid
    channels: tuple[int, ...] = (64,)  # width of the masked convs
    layers: int = 4  # masked 3x3 convs after the first 5x5 one

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "grid", tuple(self.grid))


class MaskedConv(nn.Conv2d):
    """A conv that sees only cells above, and to the left in the same row (and the cell itself unless kind "A")."""

    def __init__(self, kind: str, c_in: int, c_out: int, size: int):
        super().__init__(c_in, c_out, size, padding=size // 2)
        mask = torch.ones_like(self.weight)
        mask[:, :, size // 2, size // 2 + (kind == "B"):] = 0
        mask[:, :, size // 2 + 1:] = 0
        self.register_buffer("mask", mask, persistent=False)  # rebuilt from the kind: no need to ship it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelPrior(nn.Module):
    """p(grid) = prod over cells in reading order of p(cell | cells before it): logits (N, K, h, w)."""

    family: ClassVar[str] = "vq-prior"

    def __init__(self, config: PriorConfig):
        super().__init__()
        self.config = config
        width, k = config.channels[0], config.codebook_size
        self.embed = nn.Embedding(k, width)
        self.first = MaskedConv("A", width, width, 5)
        self.layers = nn.ModuleList(MaskedConv("B", width, width, 3) for _ in range(config.layers))
        self.out = nn.Sequential(nn.SiLU(), nn.Conv2d(width, k, 1))

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.first(self.embed(indices).permute(0, 3, 1, 2)))  # (N, width, h, w)
        for layer in self.layers:
            h = h + F.silu(layer(h))
        return self.out(h)  # (N, K, h, w)

    def training_pair(self, grids: torch.Tensor, labels: torch.Tensor | None,
                      generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return grids, grids

    def loss(self, grids: torch.Tensor, target: torch.Tensor | None = None) -> tuple[torch.Tensor, Parts]:
        """Mean cross-entropy (nats per cell) of each cell given the cells before it."""
        value = F.cross_entropy(self(grids), grids if target is None else target)
        return value, {"loss": value.detach()}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator, temperature: float = 1.0) -> torch.Tensor:
        """N new grids (n, h, w), one cell at a time in reading order."""
        h, w = self.config.grid
        grids = torch.zeros(n, h, w, dtype=torch.long)
        for r in range(h):
            for c in range(w):
                logits = self(grids)[:, :, r, c] / max(temperature, 1e-3)  # (n, K)
                grids[:, r, c] = torch.multinomial(torch.softmax(logits, 1), 1, generator=generator)[:, 0]
        return grids


NETWORKS = {VQVAE.family: VQVAE, PixelPrior.family: PixelPrior}
CONFIGS = {VQVAE.family: VQConfig, PixelPrior.family: PriorConfig}
