"""The Dice-loss autoencoder of the thesis's limit study (thesis 3.4, table 3.5, SPEC §5).

Encoder: the GAN-OQMD critic's seven convolutions (batch norm + ReLU after
each), flatten, FC to a 128-d code. Decoder: the GAN-OQMD generator itself
(FC to 6x4x256 with batch norm + ReLU, the seven transposed convolutions,
sigmoid output); table 3.5's (5,4,256) reshape is replaced by the (6,4,256)
the convolution arithmetic needs. Loss: negative Dice, -2 sum(A B) / (sum A + sum B)
per formula. A formula is *decodable* when decoding its reconstruction
(:func:`tfmat.composition.decode_counts`, threshold 0.2) gives back exactly its counts.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
from ..configs import SavedConfig
import numpy as np
from keras import ops

from ..composition import DECODE_TOLERANCE, decode_counts, encode
from ..elements import MAX_COUNT, N_ELEMENTS
from ..gan.config import ARCHITECTURES
from ..gan.matgan import build_generator


@dataclass
class AutoencoderConfig(SavedConfig):
    """Thesis values: OQMD, 90/10 split, Adam 1e-3, batch 1024, best test score within 1000 epochs."""

    dataset: str = "OQMD"
    architecture: str = "oqmd"
    latent_dim: int = 128
    lr: float = 1e-3
    batch_size: int = 1024
    epochs: int = 1000
    seed: int = 0



def build_encoder(architecture: str = "oqmd", latent_dim: int = 128, name: str = "encoder") -> keras.Model:
    """(85, 8, 1) → (latent_dim,): the critic's convolutions with batch norm + ReLU, then FC."""
    inp = keras.Input((N_ELEMENTS, MAX_COUNT, 1), name="matrix")
    x = inp
    for i, layer in enumerate(ARCHITECTURES[architecture].critic):
        x = keras.layers.Conv2D(layer.filters, layer.kernel, strides=layer.strides, padding="same",
                                name=f"conv{i + 1}")(x)
        x = keras.layers.BatchNormalization(name=f"conv{i + 1}_bn")(x)
        x = keras.layers.ReLU(name=f"conv{i + 1}_relu")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    return keras.Model(inp, keras.layers.Dense(latent_dim, name="code")(x), name=name)


def dice_loss(y_true, y_pred):
    """Negative Dice coefficient per formula: -2 sum(A B) / (sum A + sum B)."""
    axes = list(range(1, len(y_pred.shape)))
    y_true = ops.cast(y_true, y_pred.dtype)
    inter = ops.sum(y_true * y_pred, axis=axes)
    return -2.0 * inter / (ops.sum(y_true, axis=axes) + ops.sum(y_pred, axis=axes) + 1e-7)


class ExactDecode(keras.metrics.Mean):
    """Share of formulas whose reconstruction decodes (threshold ``1 - tol``, best column) to the input."""

    def __init__(self, tol: float = DECODE_TOLERANCE, name: str = "exact", **kwargs):
        super().__init__(name=name, **kwargs)
        self.tol = tol

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.squeeze(y_pred, -1)
        y_true = ops.squeeze(ops.cast(y_true, y_pred.dtype), -1)
        passing = y_pred >= 1.0 - self.tol
        best = ops.argmax(ops.where(passing, y_pred, -1.0), axis=-1) + 1
        decoded = ops.where(ops.any(passing, axis=-1), best, 0)
        truth = ops.where(ops.any(y_true > 0.5, axis=-1), ops.argmax(y_true, axis=-1) + 1, 0)
        same = ops.all(ops.equal(decoded, truth), axis=-1)
        return super().update_state(ops.cast(same, "float32"), sample_weight)

    def get_config(self):
        return {**super().get_config(), "tol": self.tol}


@keras.saving.register_keras_serializable(package="tfmat")
class DiceAutoencoder(keras.Model):
    """Encoder + decoder trained to reproduce (85, 8, 1) formula matrices."""

    def __init__(self, architecture: str = "oqmd", latent_dim: int = 128, **kwargs):
        super().__init__(**kwargs)
        self.architecture = architecture
        self.latent_dim = latent_dim
        self.encoder = build_encoder(architecture, latent_dim)
        self.decoder = build_generator(architecture, latent_dim, name="decoder")

    def call(self, x, training=False):
        return self.decoder(self.encoder(x, training=training), training=training)

    def get_config(self):
        return {**super().get_config(), "architecture": self.architecture, "latent_dim": self.latent_dim}


def build_autoencoder(config: AutoencoderConfig) -> DiceAutoencoder:
    """A compiled autoencoder (Adam, negative Dice loss, exact-decode metric)."""
    keras.utils.set_random_seed(config.seed)
    model = DiceAutoencoder(config.architecture, config.latent_dim, name="dice_autoencoder")
    model.compile(optimizer=keras.optimizers.Adam(config.lr), loss=dice_loss, metrics=[ExactDecode()],
                  jit_compile=False)
    model.build((None, N_ELEMENTS, MAX_COUNT, 1))
    return model


def reconstruct_counts(model: keras.Model, counts: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """(N, 85) counts → the counts their reconstructions decode to."""
    out = np.zeros_like(counts, dtype=np.int8)
    for start in range(0, len(counts), batch_size):
        x = encode(counts[start:start + batch_size])[..., None]
        out[start:start + batch_size] = decode_counts(np.asarray(model(x, training=False)))
    return out


def decodable(model: keras.Model, counts: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Per formula: does its reconstruction decode back to exactly its counts?"""
    return (reconstruct_counts(model, counts, batch_size) == np.asarray(counts)).all(axis=1)
