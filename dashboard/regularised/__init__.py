"""Regularised autoencoders: a sparse overcomplete code, the contractive penalty, and the DAE as a vector field."""
