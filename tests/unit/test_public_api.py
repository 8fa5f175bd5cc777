"""The public Python API the README documents: its example runs as written, and the named faces stay where they are."""

from __future__ import annotations

import re
from pathlib import Path

import torch

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_example_runs_as_written():
    section = README.read_text().split("## Use it from Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # the documented snippet, unchanged
    assert namespace["ds"].x_train.shape[1:] == (1, 28, 28)
    assert namespace["z"].shape == (8, 16)
    x_hat = namespace["x_hat"].detach()  # the snippet runs without inference_mode, as a notebook would
    assert x_hat.shape == (8, 1, 28, 28)
    assert float(x_hat.min()) >= 0.0 and float(x_hat.max()) <= 1.0


def test_the_named_faces_and_the_feature_transformer():
    from dashboard import data, zoo
    from dashboard.features import AutoencoderFeatures

    assert {"ae-2", "ae-3", "ae-8", "ae-16", "ae-32", "vae-2", "vae-3", "vae-16", "dae-16"} <= set(zoo.names("digits"))
    model = zoo.load("vae-16", dataset="digits")
    assert not model.training
    x = data.load("digits").x_test[:4]
    with torch.inference_mode():
        assert model.decode(model.encode(x)).shape == x.shape
    features = AutoencoderFeatures(model="ae-8", dataset="digits").fit(x.flatten(1).numpy())
    assert features.transform(x.flatten(1).numpy()).shape == (4, 8)
