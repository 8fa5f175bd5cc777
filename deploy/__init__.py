"""Serving Latent Lab from several processes: the nginx launcher and its configuration template."""
