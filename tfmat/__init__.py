"""tfmat: deep-learning discovery of new inorganic materials with TensorFlow/Keras."""
__version__ = "0.1.0"
