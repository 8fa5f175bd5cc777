"""Training in a child process gives the run training in this process gives, and says clearly when it fails."""

from __future__ import annotations

import dataclasses
import sys
import time

import numpy as np
import psutil
import pytest
import torch

from dashboard.core import checkpoints, data, isolated, metrics, nets, recipes, snapshots, train


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


def test_a_recipe_made_in_the_child_comes_back_scored_with_its_codes_after_every_epoch(digits):
    plan = recipes.recipe("ae-2", "digits", epochs=2, device="cpu")
    epochs, codes = [], {}
    result, card, payload = isolated.make_in_child(
        plan, digits.x_train[:300], progress=lambda e, n, loss: epochs.append((e, n)),
        on_codes=lambda epoch, z, loss: codes.setdefault(epoch, (z, loss)))
    assert epochs == [(1, 2), (2, 2)] and sorted(codes) == [0, 1, 2]
    n_images = len(snapshots.image_indices(len(digits.x_test)))
    assert all(z.shape == (n_images, 2) and np.isfinite(z).all() for z, _ in codes.values())
    assert codes[0][1] is None and codes[2][1] == pytest.approx(result.history[-1])
    assert card["n_train"] == 300 and card["epochs"] == 2 and card["sha256"] == checkpoints.sha256(payload)
    assert not result.model.training and not result.cancelled
    # The model that came back is the one the card scored: its test error is the card's.
    x_hat = metrics.reconstruct(result.model, digits.x_test)
    assert metrics.mse(digits.x_test, x_hat) == pytest.approx(card["metrics"]["test_mse"], rel=1e-4)
    z_last = codes[2][0]
    with torch.no_grad():
        z_here = result.model.encode(digits.x_test[:n_images]).numpy()
    np.testing.assert_allclose(z_last, z_here, rtol=1e-2, atol=1e-2)  # the codes travel as float16


def test_a_time_cap_stops_the_child_after_an_epoch_and_keeps_the_model(digits):
    plan = recipes.recipe("ae-2", "digits", epochs=50, device="cpu")
    result, card, _ = isolated.make_in_child(plan, digits.x_train[:100], stop_after_s=0)
    assert result.cancelled and result.epochs_done == card["epochs"] == 1


def test_a_child_that_prints_a_lot_to_stderr_finishes():
    # Far more than a pipe holds: a parent that read stderr only at the end would wait forever.
    chatty = ("import sys\nfor i in range(20000): print('warning: ' + 'x' * 100, file=sys.stderr)\n"
              f"print({isolated.MESSAGE!r} + '{{\"done\": true}}', flush=True)")
    heard: list[dict] = []
    start = time.monotonic()
    isolated.run_child([sys.executable, "-c", chatty], heard.append, timeout_s=60)
    assert heard == [{"done": True}] and time.monotonic() - start < 60


def test_a_child_that_prints_forever_is_stopped_at_its_time_limit():
    endless = ("import sys\nwhile True:\n"
               f"    print({isolated.MESSAGE!r} + '{{\"tick\": 1}}', flush=True)\n"
               "    print('noise', flush=True)\n    print('more noise', file=sys.stderr)")
    heard: list[dict] = []
    before = {child.pid for child in psutil.Process().children()}  # e.g. scikit-learn's worker pool, left by others
    start = time.monotonic()
    with pytest.raises(isolated.ChildError, match="ran past its limit of 3 s and was stopped"):
        isolated.run_child([sys.executable, "-c", endless], heard.append, timeout_s=3)
    assert heard and 3 <= time.monotonic() - start < 15
    assert not {c.pid for c in psutil.Process().children()} - before, "the child outlived its time limit"


def test_a_child_that_goes_quiet_is_stopped_at_its_time_limit():
    with pytest.raises(isolated.ChildError, match="ran past its limit"):
        isolated.run_child([sys.executable, "-c", "import time; time.sleep(60)"], timeout_s=1)


class Rerun(BaseException):
    """Like Streamlit's rerun and stop signals: a BaseException raised from a drawing call in the callback."""


def test_a_rerun_raised_in_the_callback_stops_the_child():
    endless = f"while True: print({isolated.MESSAGE!r} + '{{}}', flush=True)"

    def refuse(message: dict) -> None:
        raise Rerun

    before = {child.pid for child in psutil.Process().children()}  # e.g. scikit-learn's worker pool, left by others
    start = time.monotonic()
    with pytest.raises(Rerun):
        isolated.run_child([sys.executable, "-c", endless], refuse, timeout_s=60)
    assert time.monotonic() - start < 30
    assert not {c.pid for c in psutil.Process().children()} - before, "the child outlived the rerun"


def test_an_isolated_detector_cannot_take_a_stop_button():
    from dashboard import anomaly

    split = anomaly.make_split("digits", "one-class", 0, "noise", None)
    with pytest.raises(ValueError, match="cannot be stopped"):
        anomaly.train_detector(split, isolate=True, should_stop=lambda: False)
