"""The core layer: datasets, corruption, image input, metrics, networks, training and checkpoints."""
