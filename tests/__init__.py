"""Latent Lab test suite: unit, app (AppTest), browser and load tests, with the harness they share."""
