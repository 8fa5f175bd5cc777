"""Latent Lab's importable package: core maths and models, one module per use case, lessons, charts and app glue.

`from dashboard import data, zoo` is the public face for notebooks; both live in `dashboard.core` and are
imported on first use, so that importing a light module (the page map, the quiz) does not pay for torch.
"""

import importlib

_PUBLIC_FACES = {"data": "dashboard.core.data", "zoo": "dashboard.core.zoo"}


def __getattr__(name: str):
    if name in _PUBLIC_FACES:
        module = importlib.import_module(_PUBLIC_FACES[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module 'dashboard' has no attribute {name!r}")
