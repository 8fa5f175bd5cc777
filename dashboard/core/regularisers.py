"""Code regularisers for an autoencoder: an L1 sparsity penalty or a top-k code, and a contractive penalty."""

from __future__ import annotations

import torch

SPARSITY = ("none", "l1", "topk")  # the code options a config may name
CONTRACTIVE_PROBES = 4  # random projections per batch in the contractive estimate: cheap, unbiased, noisy


def check(family: str, latent_dim: int, sparsity: str, sparsity_weight: float, top_k: int,
          contractive: float, penalty_warmup: int = 0) -> None:
    """Raise ValueError with a plain message when the regulariser settings cannot train."""
    if penalty_warmup < 0:
        raise ValueError("penalty_warmup must be zero or a positive number of steps.")
    if sparsity not in SPARSITY:
        raise ValueError(f"Unknown sparsity {sparsity!r}; expected one of {SPARSITY}.")
    if sparsity_weight < 0 or contractive < 0:
        raise ValueError("Penalty weights must be zero or positive.")
    if sparsity == "topk" and not 1 <= top_k <= latent_dim:
        raise ValueError(f"top_k must be between 1 and the code size {latent_dim}, not {top_k}.")
    if family == "vae" and (sparsity != "none" or contractive > 0):
        raise ValueError("A VAE takes no code penalty here: its KL term already regularises the code.")


def current_k(model: torch.nn.Module) -> int:
    """The number of units a top-k code keeps now: the config's top_k, eased down from the full code in training.

    Makhzani & Frey (2014) start with a large k and lower it to the target over the first part of training, so that
    every unit gets picked, and trained, before the competition starts; units never picked early would stay dead.
    """
    config = model.config
    if config.sparsity != "topk" or not config.penalty_warmup or not model.training:
        return config.top_k
    share = min(1.0, getattr(model, "penalty_steps", 0) / config.penalty_warmup)
    return round(config.latent_dim - (config.latent_dim - config.top_k) * share)


def shape_code(code: torch.Tensor, sparsity: str, top_k: int) -> torch.Tensor:
    """The code the decoder sees (N, k): unchanged, rectified (L1), or rectified with only its top_k largest kept.

    A rectified code makes "this unit is off" an exact zero, so counting active units needs no threshold.
    """
    if sparsity == "l1":
        return torch.relu(code)
    if sparsity == "topk":
        # Makhzani & Frey (2014): keep the k largest activations, zero the rest; gradients reach only the kept ones.
        # Rectified first, so that an image may use fewer than k units when fewer than k are positive.
        code = torch.relu(code)
        kept = code.topk(top_k, dim=1).indices  # (N, top_k)
        return torch.zeros_like(code).scatter(1, kept, code.gather(1, kept))
    return code


def l1_penalty(code: torch.Tensor, unit_scale: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over the batch of sum_i |z_i| (Goodfellow et al. 2016, sec. 14.2.1), each unit weighted by unit_scale (k,).

    Weighting unit i by the norm of the decoder weights it feeds makes the penalty blind to scale: otherwise the
    encoder can shrink every code value and the decoder grow its weights to match, which lowers the penalty
    without making the code any sparser.
    """
    size = code.abs() if unit_scale is None else code.abs() * unit_scale
    return size.sum(dim=1).mean()


def contractive_estimate(x: torch.Tensor, code: torch.Tensor, probes: int = CONTRACTIVE_PROBES,
                         create_graph: bool = True) -> torch.Tensor:
    """An unbiased estimate of the mean squared Frobenius norm of the encoder's Jacobian dz/dx over a batch.

    x must require grad and code (N, k) must have been computed from it. Rifai et al. (2011) penalise
    ||J(x)||_F^2. A conv encoder's full Jacobian costs one backward pass per code unit; instead, for u ~ N(0, I) in
    code space, E ||J^T u||^2 = trace(J J^T) = ||J||_F^2 (Hutchinson's trace estimator), and J^T u is one
    vector-Jacobian product. With batch normalisation in training mode the images of a batch share statistics, so
    the estimate then also carries their (small) cross terms. The probes come from torch's global RNG.
    """
    total = x.new_zeros(())
    for _ in range(probes):
        u = torch.randn_like(code)
        (jtu,) = torch.autograd.grad(code, x, grad_outputs=u, create_graph=create_graph, retain_graph=True)
        total = total + jtu.pow(2).flatten(1).sum(dim=1).mean()
    return total / probes


def jacobian_norm(encode, x: torch.Tensor) -> torch.Tensor:
    """The exact squared Frobenius norm of dz/dx for each image (N,), one backward pass per code unit.

    For a network in eval mode (no batch coupling); used to measure, not to train.
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        code = encode(x)  # (N, k)
        norms = x.new_zeros(len(x))
        for unit in range(code.shape[1]):
            (row,) = torch.autograd.grad(code[:, unit].sum(), x, retain_graph=True)
            norms = norms + row.pow(2).flatten(1).sum(dim=1)
    return norms.detach()


def warmup(model: torch.nn.Module) -> float:
    """The share of the penalty weights in force at this training step: rising from 0 to 1 over penalty_warmup steps.

    A strong L1 penalty from the first step silences every unit of a rectified code before the decoder has learned
    to use any, and a silent unit gets no gradient to come back; easing it in avoids that (a top-k code eases its k
    down over the same steps, see current_k). Counts the calls made in training mode (one per optimiser step); in
    eval mode, or without a warm-up, the full weight applies.
    """
    steps = getattr(model.config, "penalty_warmup", 0)
    if not steps or not model.training:
        return 1.0
    model.penalty_steps = getattr(model, "penalty_steps", 0) + 1
    return min(1.0, model.penalty_steps / steps)


def penalties(config, x: torch.Tensor, code: torch.Tensor, decoder_in: torch.Tensor | None = None,
              share: float = 1.0) -> dict[str, torch.Tensor]:
    """The weighted penalty terms a config asks for, by name ("sparsity", "contractive"); empty when none.

    decoder_in (hidden, k) is the weight of the decoder's first layer, whose column norms scale the L1 term; share
    scales every weight (see warmup). For the contractive term x must require grad and code must come from it.
    """
    parts: dict[str, torch.Tensor] = {}
    if config.sparsity == "l1" and config.sparsity_weight > 0:
        scale = None if decoder_in is None else decoder_in.norm(dim=0)  # (k,)
        parts["sparsity"] = share * config.sparsity_weight * l1_penalty(code, scale)
    if config.contractive > 0:
        parts["contractive"] = share * config.contractive * contractive_estimate(x, code)
    return parts
