"""What the Overview and the pages' code views read first: the shipped models' codes of the test split."""

from __future__ import annotations

from dashboard.core import zoo

LARGEST_STORED_CODE = 16  # wider codes are quick to encode live and would take most of the stored bytes


def precompute(dataset: str) -> None:
    """Store the test codes of every shipped autoencoder with a small code, for `python -m dashboard.app.precompute`."""
    for name in zoo.names(dataset):
        if zoo.parse_name(name)[1] <= LARGEST_STORED_CODE:
            zoo.codes(name, dataset)
