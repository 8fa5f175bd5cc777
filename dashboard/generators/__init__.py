"""Today's generators: flow matching (latent diffusion) over a shipped autoencoder's codes."""
