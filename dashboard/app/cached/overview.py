"""What the Overview and every page's code views read first: each shipped model's codes of the test split."""

from __future__ import annotations

from dashboard.core import zoo


def precompute(dataset: str) -> None:
    """Store the test codes of every shipped autoencoder, for `python -m dashboard.app.precompute`."""
    for name in zoo.names(dataset):
        zoo.codes(name, dataset)
