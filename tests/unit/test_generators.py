"""Today's generators: flow matching and the VQ-VAE, their maths on small data and the shipped models' targets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dashboard.core import data, generator_nets, generator_recipes, nets, recipes, train, vq_nets, zoo
from dashboard.generators import diffusion, vq
from dashboard.sampling import quality, samplers
from dashboard.viz import diffusion_figures

DIGITS = "digits"
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_flow(k: int = 2, **overrides) -> generator_nets.LatentFlow:
    torch.manual_seed(0)
    return generator_nets.LatentFlow(generator_nets.FlowConfig(latent_dim=k, width=32, depth=2, n_classes=2,
                                                               **overrides))


class ExactFlow(generator_nets.LatentFlow):
    """The exact velocity field of the straight path toward one point x0: v(z, t) = (z - x0) / t."""

    def __init__(self, x0: torch.Tensor):
        super().__init__(generator_nets.FlowConfig(latent_dim=len(x0), width=8, depth=1, n_classes=2))
        self.x0 = x0

    def guided_velocity(self, x, t, labels, guidance):
        return (x - self.x0) / t[:, None]


def test_the_training_pair_lies_on_the_straight_path_and_hides_some_labels():
    model = tiny_flow(k=3, label_dropout=0.5)
    codes, labels = torch.randn(400, 3), torch.randint(0, 2, (400,))
    (z_t, t, shown), target = model.training_pair(codes, labels, torch.Generator().manual_seed(1))
    assert z_t.shape == (400, 3) and t.shape == (400,) and bool(((t >= 0) & (t <= 1)).all())
    # z_t - t * v recovers the code exactly when v is the true velocity: the denoiser view of flow matching.
    torch.testing.assert_close(z_t - t[:, None] * target, codes, atol=1e-5, rtol=0)
    hidden = (shown == model.no_label).float().mean()
    assert 0.4 < float(hidden) < 0.6 and bool((shown[shown != model.no_label] == labels[shown != model.no_label]).all())


def test_euler_steps_on_the_exact_field_land_on_the_point_for_any_number_of_steps():
    x0 = torch.tensor([1.5, -2.0])
    for steps in (1, 2, 7):
        path = diffusion.reverse_process(ExactFlow(x0), np.random.default_rng(0).standard_normal((5, 2)), None, steps,
                                         0.0)
        assert path.codes.shape == (steps + 1, 5, 2) and path.times[0] == 1.0 and path.times[-1] == 0.0
        np.testing.assert_allclose(path.final, np.tile(x0.numpy(), (5, 1)), atol=1e-5)
    with pytest.raises(ValueError, match="at least one step"):
        diffusion.reverse_process(ExactFlow(x0), np.zeros((1, 2)), None, 0, 1.0)


def test_guidance_mixes_the_labelled_and_unlabelled_velocities():
    model = tiny_flow(k=2).eval()
    x, t, labels = torch.randn(6, 2), torch.rand(6), torch.tensor([0, 1, 0, 1, 0, 1])
    with torch.no_grad():
        free = model(x, t, torch.full((6,), model.no_label))
        told = model(x, t, labels)
        torch.testing.assert_close(model.guided_velocity(x, t, labels, 0.0), free)
        torch.testing.assert_close(model.guided_velocity(x, t, labels, 1.0), told, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model.guided_velocity(x, t, labels, 2.5), free + 2.5 * (told - free),
                                   atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model.guided_velocity(x, t, None, 2.0), free)


def test_a_tiny_flow_learns_two_clusters_through_the_one_training_loop():
    rng = np.random.default_rng(0)
    centres = np.array([[-3.0, 0.0], [3.0, 0.0]])
    labels = rng.integers(0, 2, 300)
    codes = torch.tensor(centres[labels] + 0.2 * rng.standard_normal((300, 2)), dtype=torch.float32)
    config = generator_nets.FlowConfig(latent_dim=2, width=48, depth=2, n_classes=2)
    result = train.train(config, codes, train.TrainConfig(epochs=120, batch_size=64, lr=3e-3, weight_decay=0.0,
                                                          shift=0, device="cpu"), y_train=torch.from_numpy(labels))
    assert result.history[-1] < result.history[0]
    model = result.model
    path = diffusion.draw(model, 200, seed=0, steps=20, guidance=1.0)
    nearest = np.linalg.norm(path.final[:, None] - centres[None], axis=2)  # (200, 2)
    assert np.median(nearest.min(axis=1)) < 0.8  # the noise (spread about 1) ends up on the clusters
    # Asked for a class, a sample goes to that class's cluster.
    assert (nearest.argmin(axis=1) == path.labels).mean() > 0.9
    assert np.bincount(path.labels, minlength=2).tolist() == [100, 100]  # balanced labels
    one = diffusion.draw(model, 50, seed=1, steps=20, guidance=2.0, label=1).final
    assert (np.linalg.norm(one - centres[1], axis=1) < 1.5).mean() > 0.9


def test_shares_copies_and_denoiser_views_on_small_arrays():
    assert diffusion.class_share_gap((10, 10, 10, 10)) == 0.0
    assert diffusion.class_share_gap((20, 0, 10, 10)) == pytest.approx(0.25)
    train_codes = np.array([[0.0, 0.0], [10.0, 0.0]])
    np.testing.assert_allclose(diffusion.nearest_distance(train_codes, np.array([[1.0, 0.0], [10.0, 2.0]])),
                               [1.0, 2.0])
    assert diffusion.CopyCheck(0.5, 1.0).copies and not diffusion.CopyCheck(1.0, 1.0).copies
    x0 = torch.tensor([1.0, 2.0])
    noisy, guess, levels = diffusion.denoiser_views(ExactFlow(x0), np.array([[1.0, 2.0]]), seed=0)
    assert noisy.shape == guess.shape == (len(levels), 2)
    np.testing.assert_allclose(guess, np.tile([1.0, 2.0], (len(levels), 1)), atol=1e-5)  # the exact field denoises
    assert diffusion_figures.shown_steps(3) == [0, 1, 2, 3] and diffusion_figures.shown_steps(50) == [0, 10, 20, 30,
                                                                                                       40, 50]


def test_the_reverse_figure_moves_only_the_samples_in_each_frame():
    path = np.random.default_rng(0).standard_normal((6, 10, 2))
    spec = diffusion_figures.reverse_figure(path, np.linspace(1, 0, 6), np.arange(10) % 3 - 1,
                                            np.random.default_rng(1).standard_normal((30, 2)), np.arange(30) % 3,
                                            ["a", "b", "c"])
    assert len(spec["frames"]) == 6 and all(frame["traces"] == [3] for frame in spec["frames"])
    np.testing.assert_allclose(spec["frames"][2]["data"][0]["x"], path[2, :, 0].astype(np.float32))
    assert len(spec["layout"]["sliders"][0]["steps"]) == 6 and spec["layout"]["sliders"][0]["active"] == 5
    assert spec["data"][3]["marker"]["color"][0] == diffusion_figures.NOISE_COLOR  # asked -1: no class


def test_the_recipes_describe_the_flow_models_over_their_autoencoders():
    plan = recipes.recipe("flow-ae-16", DIGITS)
    assert plan.network.base == "ae-16" and plan.network.latent_dim == 16 and plan.network.image_shape == (1, 8, 8)
    assert plan.training == generator_recipes.FLOW_TRAINING[True] and plan.training.shift == 0
    assert set(generator_recipes.NAMES) <= set(recipes.SHIPPED_NAMES)
    assert nets.config_from_dict(plan.network.to_dict()) == plan.network
    assert "flow-ae-16" not in zoo.names(DIGITS)  # not an autoencoder: the zoo's lists stay as they were


@pytest.mark.parametrize("base", diffusion.BASES)
def test_shipped_flow_models_load_and_their_card_says_how_they_trained(base):
    model = diffusion.shipped(DIGITS, base)
    card = diffusion.card(DIGITS, base)
    assert model.config.base == base and card["train_seconds"] <= 300
    assert card["rebuild"] == f"python -m dashboard.core.build --dataset {DIGITS} --only flow-{base}"
    # Labels help: told the class, the net predicts the velocity better than without it.
    assert card["metrics"]["test_loss"] < card["metrics"]["test_loss_no_label"]


def test_the_latent_diffusion_setup_samples_like_the_others_and_meets_its_targets():
    setup = next(s for s in samplers.SETUPS if s.kind == "diffusion")
    assert setup.available(DIGITS, 16) and setup.available(DIGITS, 2) and not setup.available(DIGITS, 8)
    images = samplers.generate(DIGITS, setup, 16, 40, seed=3)
    assert images.shape == (40, 1, 8, 8) and float(images.min()) >= 0 and float(images.max()) <= 1
    assert torch.equal(images, samplers.generate(DIGITS, setup, 16, 40, seed=3))
    codes = samplers.fitted_sampler(DIGITS, "ae-16", "diffusion").sample(samplers.N_SCORED, seed=0).numpy()
    report = quality.assess(samplers.decode(zoo.frozen("ae-16", DIGITS), torch.from_numpy(codes)), DIGITS)
    gmm = quality.assess(samplers.generate(DIGITS, samplers.SETUPS[2], 16, samplers.N_SCORED, seed=0), DIGITS)
    assert report.frechet < gmm.frechet  # better than the best fitted density on the same decoder
    assert diffusion.class_share_gap(report.class_counts) <= 0.03
    assert not diffusion.copy_check(DIGITS, "ae-16", codes).copies


# ---------------------------------------------------------------- discrete codes (VQ-VAE)
def tiny_vq(**overrides) -> vq_nets.VQVAE:
    torch.manual_seed(0)
    return vq_nets.VQVAE(vq_nets.VQConfig(image_shape=(1, 8, 8), codebook_size=8, code_dim=4, channels=(8,),
                                          **overrides))


def test_quantising_picks_the_nearest_entry_and_passes_gradients_straight_through():
    net = tiny_vq()
    net.codebook.copy_(torch.eye(8, 4) * 3)  # entries 0..3 on the axes, 4..7 at the origin
    z_e = torch.zeros(1, 4, 2, 2)
    z_e[0, :, 0, 0] = torch.tensor([2.9, 0.1, 0, 0])  # nearest: entry 0
    z_e[0, :, 1, 1] = torch.tensor([0, 0, 0, 2.5])  # nearest: entry 3
    found = net.nearest(z_e)
    assert found[0, 0, 0] == 0 and found[0, 1, 1] == 3 and found[0, 0, 1] >= 4
    net.eval()
    x = torch.rand(2, 1, 8, 8)
    assert net.encode(x).shape == (2, 4, 4) and net.encode(x).dtype == torch.int64 and net.bits == 16 * 3
    assert net.decode(net.encode(x)).shape == (2, 1, 8, 8)
    loss, parts = net.loss(x)
    loss.backward()
    # The nearest-entry step has no gradient of its own; the encoder still gets one, copied past it.
    assert net.encoder[0].weight.grad is not None and float(net.encoder[0].weight.grad.abs().sum()) > 0
    assert set(parts) == {"loss", "recon", "commit"}


def test_the_codebook_follows_its_vectors_by_moving_averages_and_dead_entries_restart():
    net = tiny_vq(decay=0.5, dead_below=0.5)
    net.train()
    z_e = torch.full((1, 4, 1, 2), 1.0)  # two vectors, both (1, 1, 1, 1)
    net.ema_count.fill_(1.0)
    net.ema_sum.copy_(net.codebook)
    target = torch.zeros(1, 1, 2, dtype=torch.long)  # both pick entry 0
    before = net.codebook[0].clone()
    net._update_codebook(z_e, target)
    # count 0.5 * 1 + 0.5 * 2 = 1.5; sum 0.5 * e0 + 0.5 * 2 * (1, 1, 1, 1): the entry moves toward the vectors
    torch.testing.assert_close(net.codebook[0], (0.5 * before + 1.0) / 1.5)
    for _ in range(3):
        net._update_codebook(z_e, target)  # the other entries go unpicked and their counts decay
    dead = net.ema_count[1:] <= (1 - net.config.decay)
    assert bool(dead.all())
    torch.testing.assert_close(net.codebook[1:], torch.ones(7, 4))  # restarted on a live vector (all are ones)


def test_the_pixelcnn_sees_only_the_cells_before_each_cell():
    torch.manual_seed(0)
    prior = vq_nets.PixelPrior(vq_nets.PriorConfig(codebook_size=5, grid=(4, 4), channels=(8,), layers=2))
    grids = torch.randint(0, 5, (1, 4, 4))
    changed = grids.clone()
    changed[0, 2, 1] = (changed[0, 2, 1] + 1) % 5
    with torch.no_grad():
        a, b = prior(grids)[0], prior(changed)[0]  # (K, h, w)
    differs = (a - b).abs().amax(0) > 1e-6  # (h, w)
    order = torch.arange(16).reshape(4, 4)
    assert not bool(differs[order <= 2 * 4 + 1].any())  # the cell itself and every cell before it are unaffected
    sampled = prior.sample(3, torch.Generator().manual_seed(0))
    assert sampled.shape == (3, 4, 4) and int(sampled.max()) < 5
    assert torch.equal(sampled, prior.sample(3, torch.Generator().manual_seed(0)))


def test_usage_perplexity_and_grid_checks():
    found = vq.Usage(np.array([5, 5, 0, 0]))
    assert found.used == 0.5 and found.perplexity == pytest.approx(2.0)
    net = tiny_vq().eval()
    with pytest.raises(ValueError, match="4 x 4 grid"):
        vq.decode_grid(net, np.zeros((3, 3), dtype=int))
    with pytest.raises(ValueError, match="from 0 to 7"):
        vq.decode_grid(net, np.full((4, 4), 8))
    assert vq.decode_grid(net, np.zeros((4, 4), dtype=int)).shape == (1, 8, 8)
    assert found.commonest == 0
    images = torch.zeros(3, 1, 8, 8)
    images[:, :, :4, :4] = 1.0  # a bright top-left quarter
    patches = vq.entry_patches(net, images)
    assert patches.shape == (8, 1, 4, 4)
    picked = torch.bincount(net.encode(images).flatten(), minlength=8)
    assert bool((patches[picked == 0] == 0).all())  # unused entries: blank
    # Each entry's patch is the mean over its cells, so count-weighted patches add up to every cell's patch: the
    # 3 images x 16 cells each see the bright quarter through 4 x 4 windows one pixel beyond their own 2 x 2.
    ink = float((patches * picked[:, None, None, None]).sum())
    windows = torch.nn.functional.unfold(torch.nn.functional.pad(images, [1] * 4), kernel_size=4, stride=2)
    assert ink == pytest.approx(float(windows.sum()), rel=1e-5)


def test_the_shipped_vq_vae_meets_its_targets_through_the_public_api():
    net = zoo.load("vq-32", dataset=DIGITS)
    ds = data.load(DIGITS)
    grids = net.encode(ds.x_test[:5])
    assert grids.shape == (5, 4, 4) and int(grids.max()) < 32 and net.decode(grids).shape == (5, 1, 8, 8)
    card = vq.card(DIGITS)
    assert card["config"]["codebook_size"] == 32 and card["train_seconds"] <= 300
    assert vq.usage(net, ds.x_test).used >= 0.9
    assert card["metrics"]["usage"] >= 0.9
    prior_report = quality.assess(vq.prior_samples(DIGITS, 500, 0), DIGITS)
    vae_report = quality.assess(samplers.generate(DIGITS, samplers.SETUPS[3], 16, 500, 0), DIGITS)
    assert prior_report.frechet < vae_report.frechet


def test_one_flow_recipe_rebuilt_gives_its_card_back(tmp_path, capsys):
    """digits/flow-ae-2 through the documented command (its card gives the training time)."""
    from dashboard.core import build

    shipped = diffusion.card(DIGITS, "ae-2")
    build.main(["--dataset", DIGITS, "--only", "flow-ae-2", "--device", "cpu", "--out", str(tmp_path)])
    assert "| flow-ae-2 | 250 |" in capsys.readouterr().out
    card = json.loads((tmp_path / DIGITS / "flow-ae-2.json").read_text())
    for key in ("test_loss", "test_loss_no_label"):
        assert card["metrics"][key] == pytest.approx(shipped["metrics"][key], rel=0.05)
    assert card["config"] == shipped["config"] and card["rebuild"] == shipped["rebuild"]
