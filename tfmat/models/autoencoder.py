"""Formula autoencoders: (85, 8, 1) one-hot matrix → latent code → matrix.

Three layouts, chosen by ``architecture``:

* ``dense`` (default): flatten → ``hidden`` ReLU → ``latent_dim`` tanh code →
  ``hidden`` ReLU → 680 sigmoid cells. The code lies in the box [-1, 1]^d, the
  space the active-learning search (:mod:`tfmat.active`) explores; Gaussian
  noise of σ = ``code_noise`` on the code during training keeps nearby codes
  decoding to the same formula.
* ``paper``: the active-learning paper's layout (SPEC §11), two convolutions +
  FC to the code, FC + two transposed convolutions back, ReLU, sigmoid output.
* a MatGAN architecture name (``oqmd``, ``mp``, …): the thesis's limit study
  (thesis 3.4, table 3.5, SPEC §5), the GAN critic's convolutions (batch norm +
  ReLU) → FC code, decoded by the GAN generator itself; table 3.5's (5,4,256)
  reshape is replaced by the (6,4,256) the convolution arithmetic needs.

``loss`` is ``bce`` (per-cell binary cross-entropy) or ``dice`` (the thesis's
negative Dice, −2 Σ(A·B) / (Σ A + Σ B) per formula). A formula is *decodable*
when decoding its reconstruction (:func:`tfmat.composition.decode_counts`,
threshold 0.2) gives back exactly its counts. The models use ``keras.ops``
only, so they train under the TensorFlow and JAX backends.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from ..composition import DECODE_TOLERANCE, decode_counts, encode
from ..elements import MAX_COUNT, N_ELEMENTS
from ..gan.config import ARCHITECTURES
from .autoencoder_config import LAYOUTS, LOSSES, THESIS_STUDY, AutoencoderConfig  # noqa: F401

def build_encoder(architecture: str = "oqmd", latent_dim: int = 128, hidden: int = 512,
                  name: str = "encoder") -> keras.Model:
    """(85, 8, 1) → (latent_dim,)."""
    inp = keras.Input((N_ELEMENTS, MAX_COUNT, 1), name="matrix")
    x = inp
    if architecture == "dense":
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(hidden, activation="relu", name="hidden")(x)
        return keras.Model(inp, keras.layers.Dense(latent_dim, activation="tanh", name="code")(x), name=name)
    if architecture == "paper":
        x = keras.layers.Conv2D(32, (5, 3), strides=(2, 1), padding="same", activation="relu", name="conv1")(x)
        x = keras.layers.Conv2D(64, (5, 3), strides=(2, 2), padding="same", activation="relu", name="conv2")(x)
    else:
        for i, layer in enumerate(ARCHITECTURES[architecture].critic):
            x = keras.layers.Conv2D(layer.filters, layer.kernel, strides=layer.strides, padding="same",
                                    name=f"conv{i + 1}")(x)
            x = keras.layers.BatchNormalization(name=f"conv{i + 1}_bn")(x)
            x = keras.layers.ReLU(name=f"conv{i + 1}_relu")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    return keras.Model(inp, keras.layers.Dense(latent_dim, name="code")(x), name=name)


def build_decoder(architecture: str = "oqmd", latent_dim: int = 128, hidden: int = 512,
                  name: str = "decoder") -> keras.Model:
    """(latent_dim,) → (85, 8, 1) in [0, 1]."""
    if architecture not in ("dense", "paper"):
        from ..gan.matgan import build_generator  # the GAN family imports TensorFlow; the other layouts do not

        return build_generator(architecture, latent_dim, name=name)
    z = keras.Input((latent_dim,), name="code")
    if architecture == "dense":
        x = keras.layers.Dense(hidden, activation="relu", name="hidden")(z)
        x = keras.layers.Dense(N_ELEMENTS * MAX_COUNT, activation="sigmoid", name="cells")(x)
        return keras.Model(z, keras.layers.Reshape((N_ELEMENTS, MAX_COUNT, 1), name="matrix")(x), name=name)
    x = keras.layers.Dense(22 * 4 * 64, activation="relu", name="fc")(z)  # the encoder's last conv shape
    x = keras.layers.Reshape((22, 4, 64), name="reshape")(x)
    x = keras.layers.Conv2DTranspose(32, (5, 3), strides=(2, 2), padding="same", activation="relu",
                                     name="deconv1")(x)  # (44, 8, 32)
    x = keras.layers.Conv2DTranspose(1, (5, 3), strides=(2, 1), padding="same", activation="sigmoid",
                                     name="deconv2")(x)  # (88, 8, 1)
    return keras.Model(z, keras.layers.Cropping2D(((0, 88 - N_ELEMENTS), (0, 0)), name="crop")(x), name=name)


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
class FormulaAutoencoder(keras.Model):
    """Encoder + decoder trained to reproduce (85, 8, 1) formula matrices; while training, the
    code gets Gaussian noise of σ = ``code_noise``."""

    def __init__(self, architecture: str = "dense", latent_dim: int = 128, hidden: int = 512,
                 code_noise: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.architecture, self.latent_dim, self.hidden, self.code_noise = architecture, latent_dim, hidden, code_noise
        self.encoder = build_encoder(architecture, latent_dim, hidden)
        self.decoder = build_decoder(architecture, latent_dim, hidden)
        self.noise = keras.layers.GaussianNoise(code_noise, name="code_noise")

    def call(self, x, training=False):
        return self.decoder(self.noise(self.encoder(x, training=training), training=training), training=training)

    def get_config(self):
        return {**super().get_config(), "architecture": self.architecture, "latent_dim": self.latent_dim,
                "hidden": self.hidden, "code_noise": self.code_noise}


def build_autoencoder(config: AutoencoderConfig) -> FormulaAutoencoder:
    """A compiled autoencoder (Adam, the configured loss, exact-decode metric)."""
    if config.architecture not in LAYOUTS:
        raise ValueError(f"unknown autoencoder architecture {config.architecture!r}; choose one of {', '.join(LAYOUTS)}")
    if config.loss not in LOSSES:
        raise ValueError(f"unknown autoencoder loss {config.loss!r}; choose one of {', '.join(LOSSES)}")
    keras.utils.set_random_seed(config.seed)
    model = FormulaAutoencoder(config.architecture, config.latent_dim, config.hidden, config.code_noise,
                               name=f"{config.loss}_autoencoder")
    loss = dice_loss if config.loss == "dice" else keras.losses.BinaryCrossentropy()
    model.compile(optimizer=keras.optimizers.Adam(config.lr), loss=loss, metrics=[ExactDecode()],
                  jit_compile=False)
    model.build((None, N_ELEMENTS, MAX_COUNT, 1))
    return model


def _batched(fn, x: np.ndarray, batch_size: int) -> np.ndarray:
    return np.concatenate([np.asarray(fn(x[i:i + batch_size], training=False))
                           for i in range(0, max(len(x), 1), batch_size)])


def encode_counts(model: keras.Model, counts: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """(N, 85) counts → (N, latent_dim) codes."""
    return _batched(model.encoder, encode(np.asarray(counts))[..., None], batch_size)


def decode_codes(model: keras.Model, codes: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """(N, latent_dim) codes → the (N, 85, 8, 1) matrices the decoder gives them."""
    return _batched(model.decoder, np.asarray(codes, np.float32), batch_size)


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
