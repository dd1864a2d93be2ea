"""Self-attention over the elements of a formula: the composition model beside the thesis CNN.

A formula is read as a set of at most ``max_elements`` tokens, one per element,
taken from the (batch, 118) element fractions (column z-1) in order of
decreasing fraction:

=================================  =====================
stage                              output
=================================  =====================
top-k elements by fraction         (k,) atomic numbers, (k,) fractions
element vector                     learned embedding of z (zero at start) + linear map of its 22 Magpie properties
fraction encoding                  sines and cosines of the fraction and of its logarithm, linear map
encoder (``layers`` blocks)        pre-norm multi-head self-attention + GELU feed-forward, padding masked
fraction-weighted pooling          (width,)
head                               Dense ``width`` GELU → Dense 1
=================================  =====================

``head="nonneg"`` puts a softplus on the output, so a prediction is never
negative (band gap, energy above hull); ``"linear"`` leaves it signed.

The model takes ``(features, fractions)``, the same pair as the thesis CNN
with its fraction branch, so one predictor, export and screen serve both; it
reads only the fractions. It also takes ``{"z": ..., "fraction": ...}``, the
(batch, k) tokens :func:`formula_tokens` makes, for any k: training in
batches of one arity (:func:`tfmat.data.pipeline.arity_batches`) then pads
each formula only to its batch's arity. Everything inside is ``keras.ops`` and Keras
layers, so it trains under any Keras backend (``KERAS_BACKEND=jax`` included).
Formulas with more than ``max_elements`` (default 8, as many as a MatGAN
formula holds and as the MP and OQMD tables reach) elements keep their largest
fractions. Padding tokens change no prediction.
"""
from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

from ..elements import N_Z
from ..features import SHAPE, element_table

HEADS = ("linear", "nonneg")


def element_properties() -> np.ndarray:
    """(119, 22) float32: row z holds element z's Magpie properties, standardised over the 118 elements;
    row 0 (padding) is zero."""
    table = element_table()
    z = (table - table.mean(axis=0)) / np.where(table.std(axis=0) > 0, table.std(axis=0), 1.0)
    return np.concatenate([np.zeros((1, z.shape[1])), z]).astype("float32")


def fraction_encoding(fractions, size: int):
    """(..., ``size``) sines and cosines of a fraction in (0, 1] and of its log, at geometric frequencies."""
    quarter = size // 4
    freqs = ops.convert_to_tensor(np.geomspace(1.0, 1000.0, quarter).astype("float32") * math.pi)
    f = ops.expand_dims(fractions, -1)
    logf = ops.log(ops.maximum(f, 1e-6)) / math.log(1e-6)  # 0 for a pure element, 1 at 1 ppm
    return ops.concatenate([ops.sin(f * freqs), ops.cos(f * freqs), ops.sin(logf * freqs), ops.cos(logf * freqs)],
                           axis=-1)


def formula_tokens(fractions: np.ndarray, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """``(z, fraction)``, (n, ``k``) int32 and float32: the ``k`` largest of the (n, 118) element fractions
    in decreasing order, as :class:`ElementAttention` takes them from the fractions itself; z = 0 pads."""
    index = np.argsort(-fractions, axis=1, kind="stable")[:, :k]
    values = np.take_along_axis(fractions, index, axis=1).astype(np.float32)
    return np.where(values > 0, index + 1, 0).astype(np.int32), np.where(values > 0, values, 0).astype(np.float32)


@keras.saving.register_keras_serializable(package="tfmat")
class EncoderBlock(layers.Layer):
    """Pre-norm transformer block over element tokens, with a key mask for the padding."""

    def __init__(self, width: int, heads: int, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.width, self.heads, self.dropout = width, heads, dropout
        self.norm1 = layers.LayerNormalization(epsilon=1e-5, name="norm1")
        self.attention = layers.MultiHeadAttention(heads, width // heads, dropout=dropout, name="attention")
        self.norm2 = layers.LayerNormalization(epsilon=1e-5, name="norm2")
        self.up = layers.Dense(2 * width, activation="gelu", name="up")
        self.down = layers.Dense(width, name="down")
        self.drop = layers.Dropout(dropout)

    def build(self, input_shape):
        shape = tuple(input_shape)
        self.norm1.build(shape)
        self.attention.build(shape, shape)
        self.norm2.build(shape)
        self.up.build(shape)
        self.down.build((*shape[:-1], 2 * self.width))
        self.built = True

    def call(self, x, mask, training=False):
        h = self.norm1(x)
        pair = ops.logical_and(ops.expand_dims(mask, 1), ops.expand_dims(mask, 2))
        x = x + self.drop(self.attention(h, h, attention_mask=pair, training=training), training=training)
        return x + self.drop(self.down(self.up(self.norm2(x))), training=training)

    def get_config(self):
        return {**super().get_config(), "width": self.width, "heads": self.heads, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="tfmat")
class ElementAttention(keras.Model):
    """``(features (batch, 22, 6), fractions (batch, 118))`` → (batch, 1) property (module docstring)."""

    needs_fractions = True

    def __init__(self, width: int = 128, heads: int = 4, blocks: int = 3, max_elements: int = 8,
                 head: str = "linear", dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, not {head!r}")
        if width % 4 or width % heads:
            raise ValueError(f"width {width} must be a multiple of 4 and of heads {heads}")
        self.width, self.heads, self.n_blocks = width, heads, blocks
        self.max_elements, self.head, self.dropout = max_elements, head, dropout
        self.properties = ops.convert_to_tensor(element_properties())
        # starts at zero: an element no training formula holds keeps a zero learned part and is read from
        # its Magpie properties alone
        self.element = layers.Embedding(N_Z + 1, width, embeddings_initializer="zeros", name="element")
        self.from_properties = layers.Dense(width, use_bias=False, name="from_properties")
        self.from_fraction = layers.Dense(width, name="from_fraction")
        self.encoder = [EncoderBlock(width, heads, dropout, name=f"block{i}") for i in range(blocks)]
        self.norm = layers.LayerNormalization(epsilon=1e-5, name="norm")
        self.hidden = layers.Dense(width, activation="gelu", name="hidden")
        self.out = layers.Dense(1, name="output")

    def build(self, input_shape=None):
        self.built = True
        self.call(self.example_inputs())  # creates every sublayer's weights

    def example_inputs(self):
        fractions = np.zeros((1, N_Z), "float32")
        fractions[0, [7, 25]] = 0.6, 0.4
        return [np.zeros((1, *SHAPE), "float32"), fractions]

    def tokens(self, fractions):
        """``(z, fraction, mask)`` of the ``max_elements`` largest fractions, each (batch, k); z = 0 pads."""
        k = min(self.max_elements, N_Z)
        values, index = ops.top_k(fractions, k, sorted=True)
        mask = values > 0
        z = ops.where(mask, index + 1, 0)
        return z, ops.where(mask, values, 0.0), mask

    def call(self, inputs, training=False):
        if isinstance(inputs, dict):  # (batch, k) element tokens (module docstring)
            z, frac = ops.cast(inputs["z"], "int32"), ops.cast(inputs["fraction"], "float32")
            mask = z > 0
        else:
            fractions = ops.cast(inputs[1] if isinstance(inputs, (tuple, list)) else inputs, "float32")
            z, frac, mask = self.tokens(fractions)
        x = self.element(z) + self.from_properties(ops.take(self.properties, z, axis=0))
        x = x + self.from_fraction(fraction_encoding(frac, self.width))
        for block in self.encoder:
            x = block(x, mask, training=training)
        weight = frac / ops.maximum(ops.sum(frac, axis=1, keepdims=True), 1e-12)
        pooled = ops.sum(self.norm(x) * ops.expand_dims(weight, -1), axis=1)
        y = self.out(self.hidden(pooled))
        return ops.softplus(y) if self.head == "nonneg" else y

    def input_shapes(self):
        return [(None, *SHAPE), (None, N_Z)]

    def get_config(self):
        return {**super().get_config(), "width": self.width, "heads": self.heads, "blocks": self.n_blocks,
                "max_elements": self.max_elements, "head": self.head, "dropout": self.dropout}


def build_attention(lr: float = 5e-4, loss: str = "mae", width: int = 128, heads: int = 4, blocks: int = 3,
                    max_elements: int = 8, head: str = "linear", seed: int | None = None) -> ElementAttention:
    """A compiled :class:`ElementAttention` (Adam, the thesis's three scores), its training step XLA-compiled
    under TensorFlow and JAX. Keras would leave XLA off on a CPU-only TensorFlow; on the AMD EPYC CPU of
    ``benchmarks/cnn_speed_epyc.json`` it halves an epoch, and on the CPU of ``cnn_speed.json`` it changed
    nothing."""
    from .cnn import regression_metrics

    if seed is not None:
        keras.utils.set_random_seed(seed)
    model = ElementAttention(width=width, heads=heads, blocks=blocks, max_elements=max_elements, head=head)
    model.build()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss=loss, metrics=regression_metrics(),
                  jit_compile=keras.backend.backend() in ("tensorflow", "jax"))
    return model


__all__ = ["ElementAttention", "EncoderBlock", "build_attention", "element_properties", "formula_tokens",
           "fraction_encoding"]
