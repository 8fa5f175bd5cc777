"""Latent Lab's importable core: datasets, autoencoders, training, the model zoo and the maths behind each page."""

__version__ = "0.1.0"
