"""Today's generators: latent diffusion over an autoencoder's codes; the VQ-VAE's discrete codes and prior."""
