"""CCCGAN: crystal structures conditioned on their composition (Kim et al. 2020, SPEC §9).

A structure is a slot matrix (:mod:`tfmat.structure.codec`): two rows of
cell, then one row of scaled fractional coordinates per atom slot, grouped by
element. The condition is the composition as one one-hot count per element.

* generator — noise and composition → a dense layer per slot row, transposed
  convolutions across the three coordinates (BN + ReLU), sigmoid coordinates;
  the cell comes from the flattened coordinates through FC, BN, FC and a sigmoid.
* critic — convolutions across each row (leaky ReLU), then the rows of each
  element averaged (the slots of one element are interchangeable), merged with
  the cell rows and the composition, and three dense layers to one score.
* classifier — four convolution + BN layers per row; a two-way softmax per
  slot (occupied or empty) and, per element, a softmax over its atom count.

Loss: WGAN-GP plus the classifier's cross-entropies. The critic side learns
the classifier on real structures (``occupancy_real`` + ``count_real``); the
generator is asked to make structures the classifier reads as the requested
composition (``occupancy_fake``: slots filled in order up to each element's
count; ``count_fake``).
"""
from __future__ import annotations

import keras
import tensorflow as tf

from ..structure.codec import MGMNO, SlotLayout
from .adversarial import Adversarial, CriticInput

LEAK = 0.2


LAYOUTS = {"MgMnO": MGMNO}  # --system → slot layout


def _blocks(layout: SlotLayout):
    """(first row, slots) of each element's rows in the matrix."""
    return [(r.start, len(r)) for r in layout.ranges]


def layout_config(layout: SlotLayout) -> dict:
    return {"elements": list(layout.elements), "slots": list(layout.slots), "length_scale": layout.length_scale,
            "angle_scale": layout.angle_scale, "threshold": layout.threshold}


def build_generator(layout: SlotLayout, noise_dim: int = 512, width: int = 256, name: str = "generator"):
    """[noise (noise_dim,), composition (Σ slots+1,)] → (rows, 3) matrix in [0, 1]."""
    slots = sum(layout.slots)
    z = keras.Input((noise_dim,), name="noise")
    c = keras.Input((layout.onehot_width,), name="composition")
    x = keras.layers.Concatenate()([z, c])
    x = keras.layers.Dense(slots * width // 2, activation="relu", name="fc")(x)
    x = keras.layers.Reshape((slots, 1, width // 2))(x)
    x = keras.layers.Conv2DTranspose(width, (1, 3), name="deconv1")(x)  # (slots, 3)
    for i, filters in enumerate((2 * width, width), start=2):
        x = keras.layers.BatchNormalization(name=f"deconv{i - 1}_bn")(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.Conv2DTranspose(filters, 1, name=f"deconv{i}")(x)
    x = keras.layers.BatchNormalization(name="deconv3_bn")(x)
    x = keras.layers.ReLU()(x)
    logits = keras.layers.Conv2DTranspose(1, 1, name="coordinates")(x)
    coords = keras.layers.Activation("sigmoid")(logits)
    h = keras.layers.Flatten()(logits)
    h = keras.layers.Dense(32, name="cell_fc")(h)
    h = keras.layers.BatchNormalization(name="cell_bn")(h)
    h = keras.layers.ReLU()(h)
    cell = keras.layers.Dense(6, activation="sigmoid", name="cell")(h)
    cell = keras.layers.Reshape((2, 3, 1))(cell)
    matrix = keras.layers.Concatenate(axis=1)([cell, coords])
    return keras.Model([z, c], keras.layers.Reshape((layout.rows, 3), name="matrix")(matrix), name=name)


def _per_row(x, filters, name, norm: bool):
    x = keras.layers.Conv2D(filters[0], (1, 3), name=f"{name}1")(x)  # (rows, 1)
    for i, f in enumerate(filters[1:], start=2):
        if norm:
            x = keras.layers.BatchNormalization(name=f"{name}{i - 1}_bn")(x)
        x = keras.layers.LeakyReLU(LEAK)(x)
        x = keras.layers.Conv2D(f, 1, name=f"{name}{i}")(x)
    if norm:
        x = keras.layers.BatchNormalization(name=f"{name}{len(filters)}_bn")(x)
    return keras.layers.LeakyReLU(LEAK)(x)


def build_critic(layout: SlotLayout, width: int = 256, name: str = "critic"):
    """[matrix (rows, 3), composition] → one unbounded score."""
    m = keras.Input((layout.rows, 3), name="matrix")
    c = keras.Input((layout.onehot_width,), name="composition")
    x = _per_row(keras.layers.Reshape((layout.rows, 3, 1))(m), (width, width, width // 2), "conv", norm=False)
    parts = [keras.layers.Flatten()(x[:, :2])]
    for start, n in _blocks(layout):
        parts.append(keras.layers.Flatten()(keras.ops.mean(x[:, start:start + n], axis=1)))
    h = keras.layers.Concatenate(name="merge")([*parts, c])
    h = keras.layers.Dense(4 * width, name="fc1")(h)
    h = keras.layers.LeakyReLU(LEAK)(h)
    h = keras.layers.Dense(width, name="fc2")(h)
    h = keras.layers.LeakyReLU(LEAK)(h)
    return keras.Model([m, c], keras.layers.Dense(1, name="score")(h), name=name)


def build_classifier(layout: SlotLayout, width: int = 256, name: str = "classifier"):
    """matrix → [occupancy logits (slots, 2), count logits per element (slots_e + 1,) ...]."""
    m = keras.Input((layout.rows, 3), name="matrix")
    x = _per_row(keras.layers.Reshape((layout.rows, 3, 1))(m), (width, width, width // 2, width // 2), "conv",
                 norm=True)
    occupancy = keras.layers.Reshape((sum(layout.slots), 2), name="occupancy")(
        keras.layers.Conv2D(2, 1, name="occupancy_logits")(x[:, 2:]))
    counts = []
    for (start, n), element in zip(_blocks(layout), layout.elements):
        h = keras.layers.Flatten()(x[:, start:start + n])
        h = keras.layers.Dense(width, name=f"{element}_fc1")(h)
        h = keras.layers.BatchNormalization(name=f"{element}_bn")(h)
        h = keras.layers.LeakyReLU(LEAK)(h)
        counts.append(keras.layers.Dense(n + 1, name=f"{element}_count")(h))
    return keras.Model(m, [occupancy, *counts], name=name)


def _split_condition(onehot, layout: SlotLayout):
    out, start = [], 0
    for n in layout.slots:
        out.append(onehot[:, start:start + n + 1])
        start += n + 1
    return out


def requested_occupancy(onehot, layout: SlotLayout):
    """(B, slots) 1.0 where a slot should hold an atom: the first n slots of an element asked for n atoms."""
    parts = []
    for part, n in zip(_split_condition(onehot, layout), layout.slots):
        count = tf.argmax(part, axis=1, output_type=tf.int32)[:, None]
        parts.append(tf.cast(tf.range(n)[None, :] < count, tf.float32))
    return tf.concat(parts, axis=1)


def occupancy(matrices, layout: SlotLayout):
    """(B, slots) 1.0 where a slot row of ``matrices`` holds an atom (row sum > threshold)."""
    return tf.cast(tf.reduce_sum(matrices[:, 2:], axis=-1) > layout.threshold, tf.float32)


def _cross_entropy(onehot, logits):
    return tf.reduce_mean(keras.losses.categorical_crossentropy(onehot, logits, from_logits=True))


@keras.saving.register_keras_serializable("tfmat")
class CCCGAN(Adversarial):
    """Composition-conditioned WGAN-GP with an auxiliary classifier; batches are ``(matrix, composition)``."""

    def __init__(self, generators, critics, auxiliaries, layout: dict | SlotLayout, **kwargs):
        kwargs.setdefault("critic_terms", {"occupancy_real": 1.0, "count_real": 0.3})
        kwargs.setdefault("generator_terms", {"occupancy_fake": 1.0, "count_fake": 0.3})
        super().__init__(generators, critics, auxiliaries, **kwargs)
        self.layout = layout if isinstance(layout, SlotLayout) else SlotLayout(**layout)

    def get_config(self):
        return {**super().get_config(), "layout": layout_config(self.layout)}

    def generate(self, data, training=False):
        _, onehot = data
        return self.generator([self.noise("generator", self.batch_size(data)), onehot], training=training)

    def critic_inputs(self, data, fakes):
        matrix, onehot = data
        return {"critic": CriticInput(matrix, fakes, condition=onehot)}

    def _classifier_terms(self, matrix, occupancy_target, onehot, training):
        occ, *counts = self.auxiliaries["classifier"](matrix, training=training)
        occ_ce = _cross_entropy(tf.stack([1.0 - occupancy_target, occupancy_target], axis=-1), occ)
        count_ce = tf.add_n([_cross_entropy(t, p) for t, p in zip(_split_condition(onehot, self.layout), counts)])
        return occ_ce, count_ce

    def critic_terms(self, data, fakes, training=True):
        matrix, onehot = data
        occ, count = self._classifier_terms(matrix, occupancy(matrix, self.layout), onehot, training)
        return {"occupancy_real": occ, "count_real": count}

    def generator_terms(self, data, fakes, training=True):
        _, onehot = data
        occ, count = self._classifier_terms(fakes, requested_occupancy(onehot, self.layout), onehot, training)
        return {"occupancy_fake": occ, "count_fake": count}


def build_cccgan(config, layout: SlotLayout, steps_per_epoch: int) -> CCCGAN:
    """A compiled CCCGAN for ``config`` (:class:`~tfmat.gan.config.CCCGanConfig`), optimizer slots built;
    every learning rate decays by ``config.decay`` every ``config.decay_epochs`` epochs."""
    keras.utils.set_random_seed(config.seed)
    gan = CCCGAN({"generator": build_generator(layout, config.noise_dim, config.width)},
                 {"critic": build_critic(layout, config.width)},
                 {"classifier": build_classifier(layout, config.width)}, layout=layout,
                 critic_terms={"occupancy_real": 1.0, "count_real": config.count_weight},
                 generator_terms={"occupancy_fake": 1.0, "count_fake": config.count_weight},
                 critic_steps=config.critic_steps, gp_weight=config.gp_weight, seed=config.seed, name="cccgan")

    def adam(lr, updates_per_step):  # the critic side takes critic_steps updates per training step
        schedule = keras.optimizers.schedules.ExponentialDecay(
            lr, config.decay_epochs * steps_per_epoch * updates_per_step, config.decay, staircase=True)
        return keras.optimizers.Adam(schedule, beta_1=config.beta_1, beta_2=config.beta_2)

    gan.compile(optimizers={"generator": adam(config.g_lr, 1), "critic": adam(config.d_lr, config.critic_steps),
                            "classifier": adam(config.c_lr, config.critic_steps)}, jit_compile=False)
    gan.build_optimizers()
    return gan
