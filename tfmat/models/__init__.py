"""Keras models outside the adversarial family: the thesis CNN and the formula autoencoder."""
