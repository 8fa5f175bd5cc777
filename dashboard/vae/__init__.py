"""The VAE opened up: the ELBO taken apart, attribute directions, the conditional VAE and the prior, as maths."""
