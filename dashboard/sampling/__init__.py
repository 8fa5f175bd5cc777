"""Sampling new images: latent samplers with fit/sample, and the FID-like quality score."""
