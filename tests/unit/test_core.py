"""Unit tests of the core on the tiny digits set: data, networks, training, checkpoints and errors."""

from __future__ import annotations

import json
import socket
import time

import pytest
import torch

from dashboard.core import checkpoints, corrupt, data, metrics, nets, recipes, train, zoo

DIGITS = "digits"


@pytest.fixture(scope="module")
def digits():
    return data.load(DIGITS)


def test_mnist_5k_split_is_stratified_and_fixed():
    ds = data.load("mnist-5k")
    assert ds.x_train.shape == (4000, 1, 28, 28) and ds.x_test.shape == (1000, 1, 28, 28)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert torch.bincount(ds.y_train).tolist() == [400] * 10
    assert torch.bincount(ds.y_test).tolist() == [100] * 10
    assert 0.0 <= float(ds.x_train.min()) and float(ds.x_train.max()) <= 1.0
    again = data.stratified_split(torch.cat([ds.y_train, ds.y_test]).numpy(), 100, train_per_class=400)
    assert (again[0] == data.stratified_split(torch.cat([ds.y_train, ds.y_test]).numpy(), 100,
                                              train_per_class=400)[0]).all()


def test_digits_has_8x8_images_and_every_class(digits):
    assert digits.image_shape == (1, 8, 8)
    assert set(digits.y_test.tolist()) == set(range(10))
    assert digits.classes == [str(i) for i in range(10)]


def test_unknown_dataset_names_the_valid_ones():
    with pytest.raises(ValueError, match="mnist-5k"):
        data.load("cifar-10")


def test_offline_download_fails_fast_and_leaves_nothing(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path))
    data._torchvision_source("fashion-mnist")  # import torchvision first: the bound is on the network wait
    start = time.perf_counter()
    with pytest.raises(data.DatasetUnavailable, match="offline dataset"):
        data.load("fashion-mnist")
    assert time.perf_counter() - start < 10
    assert [p.name for p in (tmp_path / "fashion-mnist").iterdir()] == []


def test_unwritable_cache_folder_gives_a_clear_error(monkeypatch, tmp_path):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    monkeypatch.setenv(data.CACHE_ENV, str(blocker / "sub"))
    with pytest.raises(data.DatasetUnavailable, match="cannot be written"):
        data.load("kmnist")


@pytest.mark.parametrize("family", nets.FAMILIES)
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28)])
def test_shapes_and_finite_loss(family, shape):
    model = nets.build(nets.default_config(family, 3, shape))
    x = torch.rand(5, *shape)
    with torch.no_grad():
        z = model.encode(x)
        x_hat = model.decode(z)
    assert z.shape == (5, 3)
    assert x_hat.shape == (5, *shape)
    assert 0.0 <= float(x_hat.min()) and float(x_hat.max()) <= 1.0
    loss, parts = model.loss(x)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert set(parts) >= {"loss", "recon"}


def test_vae_encode_is_the_posterior_mean():
    model = nets.build(nets.default_config("vae", 4, (1, 8, 8))).eval()
    x = torch.rand(3, 1, 8, 8)
    mu, logvar = model.encode_distribution(x)
    assert torch.equal(model.encode(x), mu)
    assert torch.equal(model.encode(x), model.encode(x))  # deterministic, unlike a sample


def test_loss_falls_and_training_is_repeatable(digits):
    config = nets.default_config("ae", 8, digits.image_shape)
    settings = train.TrainConfig(epochs=4, device="cpu")
    seen = []
    first = train.train(config, digits.x_train, settings, progress=lambda e, n, loss: seen.append((e, n)))
    assert first.history[-1] < first.history[0]
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    second = train.train(config, digits.x_train, settings)
    assert first.history == second.history


def test_dae_and_vae_train_through_the_same_loop(digits):
    for family in ("dae", "vae"):
        result = train.train(nets.default_config(family, 4, digits.image_shape), digits.x_train[:200],
                             train.TrainConfig(epochs=2, device="cpu"))
        assert result.epochs_done == 2 and all(torch.isfinite(torch.tensor(result.history)))


def test_training_can_be_cancelled(digits):
    result = train.train(nets.default_config("ae", 2, digits.image_shape), digits.x_train[:100],
                         train.TrainConfig(epochs=50, device="cpu"), should_stop=lambda: True)
    assert result.cancelled and result.epochs_done == 1


def test_auto_device_falls_back_to_cpu_and_cuda_is_refused_without_gpu():
    assert train.pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no GPU"):
            train.pick_device("cuda")


def test_random_shift_moves_pixels_by_whole_steps():
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 1.0
    gen = torch.Generator().manual_seed(3)
    shifted = train.random_shift(x.repeat(20, 1, 1, 1), 1, gen)
    assert torch.all(shifted.sum(dim=(1, 2, 3)) == 1.0)  # the dot moves, it never blurs
    assert len({tuple(torch.nonzero(s[0])[0].tolist()) for s in shifted}) > 1


@pytest.fixture()
def saved_model(tmp_path):
    result, card = zoo.train_and_save("ae-3", DIGITS, folder=tmp_path / DIGITS, epochs=1, device="cpu")
    return tmp_path, result.model, card


def test_save_and_load_round_trip_is_bit_exact(saved_model):
    root, model, card = saved_model
    loaded = zoo.load("ae-3", DIGITS, root=root)
    for key, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[key])
    assert not loaded.training
    assert zoo.names(DIGITS, root=root) == ["ae-3"]
    assert card["metrics"]["test_mse"] > 0 and len(card["sha256"]) == 64


def test_truncated_checkpoint_is_refused(saved_model):
    root, _, _ = saved_model
    path = root / DIGITS / "ae-3.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(zoo.CheckpointError, match="ae-3.safetensors"):
        zoo.load("ae-3", DIGITS, root=root)


def test_foreign_weights_with_a_matching_hash_are_refused_by_shape(saved_model):
    root, _, card = saved_model
    other = nets.build(nets.default_config("ae", 5, (1, 8, 8)))
    payload = zoo.model_to_bytes(other)
    (root / DIGITS / "ae-3.safetensors").write_bytes(payload)
    card["sha256"] = checkpoints.sha256(payload)
    (root / DIGITS / "ae-3.json").write_text(json.dumps(card))
    with pytest.raises(zoo.CheckpointError, match="needs"):
        zoo.load("ae-3", DIGITS, root=root)


def test_pickle_is_never_accepted(saved_model):
    root, model, card = saved_model
    path = root / DIGITS / "ae-3.safetensors"
    torch.save(model.state_dict(), path)  # a pickle-based file where safetensors belongs
    card["sha256"] = checkpoints.sha256(path.read_bytes())
    (root / DIGITS / "ae-3.json").write_text(json.dumps(card))
    with pytest.raises(zoo.CheckpointError, match="not a valid safetensors"):
        zoo.load("ae-3", DIGITS, root=root)


def test_garbage_model_card_is_refused(saved_model):
    root, _, _ = saved_model
    (root / DIGITS / "ae-3.json").write_text("{not json")
    with pytest.raises(zoo.CheckpointError, match="ae-3.json"):
        zoo.load("ae-3", DIGITS, root=root)


def test_unknown_model_names_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="family ae, vae or dae"):
        zoo.load("gan-16", DIGITS)
    with pytest.raises(zoo.ModelNotFound, match="ae-7"):
        zoo.load("ae-7", DIGITS, root=tmp_path)


def test_missing_model_trains_on_demand(tmp_path, monkeypatch):
    monkeypatch.setattr(recipes, "AUTOENCODER_TRAINING",
                        {small: train.TrainConfig(epochs=1) for small in (True, False)})
    model = zoo.load("vae-5", DIGITS, root=tmp_path, train_missing=True)
    assert model.encode(torch.rand(2, 1, 8, 8)).shape == (2, 5)
    assert zoo.names(DIGITS, root=tmp_path) == ["vae-5"]


def test_unwritable_models_folder_falls_back_to_temp(tmp_path):
    # A file where the folder should be cannot be written into even by root, who ignores read-only modes.
    blocked_root = tmp_path / "models"
    blocked_root.write_text("not a folder")
    folder = zoo.writable_folder(DIGITS, root=blocked_root)
    assert folder.name == DIGITS and folder.is_dir()
    assert blocked_root not in folder.parents


@pytest.mark.parametrize("name", zoo.ZOO_NAMES)
@pytest.mark.parametrize("dataset", ["mnist-5k", "digits"])
def test_every_shipped_model_loads_and_beats_pca(name, dataset):
    card = zoo.read_card(name, dataset)
    model = zoo.load(name, dataset)
    ds = data.load(dataset)
    z = metrics.encode(model, ds.x_test[:10])
    assert z.shape == (10, zoo.parse_name(name)[1])
    # On 8x8 digits PCA with 32 of 64 components is nearly lossless, so only small codes must beat it there.
    if name.startswith("ae-") and (dataset == "mnist-5k" or zoo.parse_name(name)[1] <= 16):
        assert card["metrics"]["test_mse"] < card["metrics"]["pca_mse"]


def test_corruptions_respect_range_level_and_seed():
    x = torch.full((200, 1, 28, 28), 0.5)
    noisy = corrupt.apply(x, "gaussian", 0.2, seed=1)
    assert 0.0 <= float(noisy.min()) and float(noisy.max()) <= 1.0
    assert abs(float((noisy - x).std()) - 0.2) < 0.01
    assert torch.equal(noisy, corrupt.apply(x, "gaussian", 0.2, seed=1))
    assert not torch.equal(noisy, corrupt.apply(x, "gaussian", 0.2, seed=2))
    sp = corrupt.apply(x, "salt-pepper", 0.1, seed=1)
    changed = (sp != x).float().mean()
    assert abs(float(changed) - 0.1) < 0.01 and set(sp.unique().tolist()) == {0.0, 0.5, 1.0}
    masked = corrupt.apply(x, "mask", 0.5, seed=1)
    assert torch.all((masked == 0).sum(dim=(1, 2, 3)) == 14 * 14)
    with pytest.raises(ValueError):
        corrupt.apply(x, "gaussian", 5.0)
    with pytest.raises(ValueError, match="Unknown noise"):
        corrupt.apply(x, "blur", 0.1)


def test_metrics_on_known_values():
    x = torch.zeros(2, 1, 8, 8)
    y = torch.full((2, 1, 8, 8), 0.1)
    assert metrics.mse(x, y) == pytest.approx(0.01)
    assert metrics.psnr(x, y) == pytest.approx(20.0)
    img = torch.rand(3, 1, 28, 28)
    assert metrics.ssim(img, img) == pytest.approx(1.0)
    assert metrics.ssim(img, torch.rand(3, 1, 28, 28)) < 0.5


@pytest.mark.parametrize("side", [8, 28, 9])
def test_ssim_is_scikit_images_per_image_ssim(side):
    """One batched SSIM serves every page; per image it gives scikit-image's numbers with its defaults."""
    from skimage.metrics import structural_similarity

    generator = torch.Generator().manual_seed(side)
    x = torch.rand(5, 1, side, side, generator=generator)
    y = (x + 0.3 * torch.randn(x.shape, generator=generator)).clamp(0, 1)
    expected = [structural_similarity(a[0].double().numpy(), b[0].double().numpy(), data_range=1.0,
                                      win_size=metrics.ssim_window(side, side)) for a, b in zip(x, y)]
    assert metrics.ssim_per_image(x, y) == pytest.approx(expected, abs=1e-9)
    assert metrics.ssim_per_image(x, y, batch_size=2) == pytest.approx(expected, abs=1e-9)
    window = metrics.ssim_window(side, side)
    assert metrics.ssim_map(x, y).shape == (5, 1, side - window + 1, side - window + 1)


def test_the_ssim_window_fits_the_image():
    assert metrics.ssim_window(28, 28) == metrics.ssim_window(8, 8) == 7
    assert metrics.ssim_window(6, 28) == 5 and metrics.ssim_window(5, 5) == 5
    with pytest.raises(ValueError, match="at least 3x3"):
        metrics.ssim_window(2, 28)


def test_each_family_is_a_class_that_carries_its_differences():
    shape = (1, 8, 8)
    assert nets.FAMILIES == ("ae", "vae", "dae")
    for family in nets.FAMILIES:
        model = nets.build(nets.default_config(family, 4, shape))
        assert type(model) is nets.AUTOENCODERS[family] and model.family == family
    assert [n for n in nets.FAMILIES if nets.AUTOENCODERS[n].has_prior] == ["vae"]
    assert nets.default_config("dae", 4, shape).noise == "mixed"  # the DAE's own default, not an if in the factory
    with pytest.raises(ValueError, match="nets.build"):
        nets.Autoencoder(nets.default_config("vae", 4, shape))
    x = torch.rand(6, *shape)
    gen = torch.Generator().manual_seed(0)
    inputs, target = nets.build(nets.default_config("ae", 4, shape)).training_pair(x, None, gen)
    assert inputs is x and target is x
    inputs, target = nets.build(nets.default_config("dae", 4, shape)).training_pair(x, None, gen)
    assert target is x and not torch.equal(inputs, x)  # the DAE corrupts its own input


def test_small_images_get_the_light_networks(digits):
    assert digits.small_images and nets.default_config("ae", 2, digits.image_shape).channels == (16, 32)
    assert nets.default_config("ae", 2, (1, 28, 28)).channels == (32, 64, 64)
    assert nets.default_classifier_config(digits.image_shape).channels == (32, 64)


def _core_imports() -> dict[str, set[str]]:
    """Which dashboard.core modules each core module imports, lazy imports inside functions included."""
    import ast
    from pathlib import Path

    folder = Path(data.__file__).parent
    graph = {}
    for path in folder.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in ("dashboard.core", "dashboard"):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dashboard.core."):
                found.add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[2] for a in node.names if a.name.startswith("dashboard.core.")}
        graph[path.stem] = found & {p.stem for p in folder.glob("*.py")}
    return graph


def test_core_import_graph_has_no_cycle_and_checkpoints_need_only_the_networks():
    graph = _core_imports()
    assert graph["checkpoints"] == {"nets"}
    assert "zoo" not in graph["train"] and "train" not in graph["checkpoints"]
    done, active = set(), []

    def visit(module):
        assert module not in active, f"import cycle: {' -> '.join(active[active.index(module):] + [module])}"
        if module in done:
            return
        active.append(module)
        for target in sorted(graph[module]):
            visit(target)
        active.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_new_network_settings_default_to_the_old_networks():
    """Cards written before recon_loss, refine and batch_norm existed rebuild the same network, key for key."""
    old_card = {"family": "ae", "image_shape": [1, 28, 28], "latent_dim": 16, "channels": [32, 64, 64],
                "hidden": 128, "beta": 1.0, "noise": "gaussian", "noise_level": 0.5}
    config = nets.config_from_dict(old_card)
    assert (config.recon_loss, config.refine, config.batch_norm) == ("bce", 0, False)
    keys = set(nets.build(config).state_dict())
    assert not any("running_mean" in key for key in keys)
    assert {key.split(".")[0] for key in keys} == {"encoder_conv", "encoder_dense", "to_latent", "decoder_dense",
                                                    "decoder_conv"}
    with pytest.raises(ValueError, match="recon_loss"):
        nets.default_config("ae", 4, (1, 8, 8), recon_loss="l1")


@pytest.mark.parametrize("family", nets.FAMILIES)
def test_mse_loss_batch_norm_and_refining_convs_build_and_train(family, digits):
    config = nets.default_config(family, 4, digits.image_shape, recon_loss="mse", batch_norm=True, refine=1)
    model = nets.build(config)
    assert any(isinstance(layer, torch.nn.BatchNorm2d) for layer in model.modules())
    x = digits.x_train[:16]
    loss, parts = model.loss(x)
    assert torch.isfinite(loss)
    if family != "vae":  # an AE's mse loss is the squared error the pages score
        with torch.no_grad():
            squared = float(((torch.sigmoid(model.decode_logits(model.encode(x))) - x) ** 2).mean())
        assert float(loss.detach()) == pytest.approx(squared, rel=1e-5)
    else:
        assert float(parts["recon"]) > 0 and float(parts["kl"]) >= 0
    result = train.train(config, digits.x_train[:200], train.TrainConfig(epochs=2, device="cpu"))
    assert result.history[-1] < result.history[0] and model.decode(torch.zeros(2, 4)).shape == (2, 1, 8, 8)


def test_each_image_draws_its_own_noise_level_up_to_the_mixed_maximum(digits):
    x = digits.x_train[:64]
    gen = torch.Generator().manual_seed(0)
    noisy = nets.corrupt_each(x, gen)
    assert noisy.shape == x.shape and 0.0 <= float(noisy.min()) and float(noisy.max()) <= 1.0
    change = (noisy - x).abs().flatten(1).mean(1)  # (N,)
    assert float(change.min()) < 0.02 < float(change.max())  # some images barely touched, others heavily
    assert torch.equal(noisy, nets.corrupt_each(x, torch.Generator().manual_seed(0)))
    dae = nets.build(nets.default_config("dae", 4, digits.image_shape, noise=nets.EACH_IMAGE_MIX))
    inputs, target = dae.training_pair(x, None, torch.Generator().manual_seed(0))
    assert target is x and torch.equal(inputs, noisy)
