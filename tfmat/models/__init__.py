"""Keras models: MatGAN generators and critics, the adversarial base, the CNN, the autoencoder."""
