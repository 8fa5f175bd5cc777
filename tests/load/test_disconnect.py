"""A visitor who closes the tab in the middle of training: the server carries on and frees the training slot."""

from __future__ import annotations

import time

import pytest

from tests.harness import server
from tests.harness.loadclient import ClientConfig, LoadClientError, SessionClient

pytestmark = pytest.mark.load


def test_browser_disconnect_during_training_leaves_the_server_working():
    with server.running_app() as (base, process):
        leaver = SessionClient(base, ClientConfig(run_timeout_s=180)).open()
        leaver.visit("models", {"dataset": "mnist-5k"})
        leaver.stage("models_epochs", 8)
        with pytest.raises(LoadClientError):
            # Give up on the run after a second, as a closed tab does, while the epochs are still running.
            leaver.submit_form("models_train_form", timeout_s=1.0)
        leaver.close()

        other = SessionClient(base, ClientConfig(run_timeout_s=180)).open()
        visit = other.visit("", {"dataset": "digits"})
        assert not visit.exceptions and process.poll() is None  # other visitors are served meanwhile

        other.visit("models", {"dataset": "digits"})
        other.stage("models_epochs", 1)
        deadline = time.monotonic() + 240  # the abandoned run is capped at 180 s; then the slot must be free
        while True:
            result = other.submit_form("models_train_form", timeout_s=180)
            assert not result.exceptions, result.exceptions
            texts = " ".join(other.texts())
            if "Your models" in texts:
                break
            assert "Another visitor is training" in texts, texts[:500]
            assert time.monotonic() < deadline, "the training slot was never released"
            time.sleep(3)
        other.close()
