"""Training in a child process gives the run training in this process gives, and says clearly when it fails."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from dashboard.core import data, isolated, nets, train


@pytest.fixture(scope="module")
def digits():
    return data.load("digits")


def test_the_child_trains_the_same_network_and_reports_every_epoch(digits):
    config = nets.default_config("ae", 4, digits.image_shape)
    settings = train.TrainConfig(epochs=2, batch_size=64, shift=0, device="cpu")
    x = digits.x_train[:256]
    here = train.train(config, x, settings)
    epochs: list[tuple[int, int]] = []
    there = isolated.train_in_child(config, x, settings, progress=lambda e, n, loss: epochs.append((e, n)))
    assert epochs == [(1, 2), (2, 2)]
    assert there.epochs_done == 2 and not there.model.training
    assert there.history == pytest.approx(here.history, rel=1e-5)
    for name, value in here.model.state_dict().items():
        torch.testing.assert_close(there.model.state_dict()[name], value, rtol=1e-4, atol=1e-5, msg=name)


def test_a_failing_child_raises_with_its_last_words(digits):
    config = nets.default_config("ae", 4, digits.image_shape)
    broken = dataclasses.replace(train.TrainConfig(epochs=1, device="cpu"), batch_size=0)  # range() step 0
    with pytest.raises(RuntimeError, match="training process stopped with code"):
        isolated.train_in_child(config, digits.x_train[:32], broken)


def test_an_isolated_detector_cannot_take_a_stop_button():
    from dashboard import anomaly

    split = anomaly.make_split("digits", "one-class", 0, "noise", None)
    with pytest.raises(ValueError, match="cannot be stopped"):
        anomaly.train_detector(split, isolate=True, should_stop=lambda: False)
