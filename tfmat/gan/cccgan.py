"""CCCGAN: crystal structures conditioned on their composition (Kim et al. 2020, SPEC §9).

A structure is a slot matrix (:mod:`tfmat.structure.codec`): two rows of
cell, then one row of scaled fractional coordinates per atom slot, grouped by
element. The condition is the composition as one one-hot count per element.

* generator — noise and composition → a dense layer per slot row, transposed
  convolutions across the three coordinates (BN + ReLU), sigmoid coordinates;
  the cell comes from the flattened coordinates through FC, BN, FC and a sigmoid.
  With ``mask_slots`` (the default) the composition also decides which slots
  hold atoms: the first n slots of an element asked for n atoms get
  coordinates in [1/6, 5/6] (where the codec puts real atoms), the rest 0, so
  every sample decodes to the requested counts. With ``repel_steps`` (default
  5) the generator ends with a :class:`Repel` layer: that many soft-sphere
  steps push apart the requested atoms closer than ``contact``, the cell fixed.
* critic — convolutions across each row (leaky ReLU), then the rows of each
  element averaged (the slots of one element are interchangeable), merged with
  the cell rows and the composition, and three dense layers to one score.
* classifier — four convolution + BN layers per row; a two-way softmax per
  slot (occupied or empty) and, per element, a softmax over its atom count.

Loss: WGAN-GP plus the classifier's cross-entropies. The critic side learns
the classifier on real structures (``occupancy_real`` + ``count_real``); the
generator is asked to make structures the classifier reads as the requested
composition (``occupancy_fake``: slots filled in order up to each element's
count; ``count_fake``). With ``distance_weight`` > 0 the generator side also
pays ``clash``: Σ over pairs of requested atoms of max(0, contact − d)² (Å²,
d the minimum-image distance), averaged over the batch; its gradient moves the
atoms, not the cell.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ..structure.codec import MGMNO, SlotLayout
from ..structure.distances import lattice_matrix_tf, pbc_distances_tf, wrapped_vectors_tf
from .adversarial import Adversarial, CriticInput

LEAK = 0.2


LAYOUTS = {"MgMnO": MGMNO}  # --system → slot layout


def _blocks(layout: SlotLayout):
    """(first row, slots) of each element's rows in the matrix."""
    return [(r.start, len(r)) for r in layout.ranges]


def layout_config(layout: SlotLayout) -> dict:
    return {"elements": list(layout.elements), "slots": list(layout.slots), "length_scale": layout.length_scale,
            "angle_scale": layout.angle_scale, "threshold": layout.threshold}


@keras.saving.register_keras_serializable("tfmat")
class SlotMask(keras.layers.Layer):
    """Composition one-hot (Σ (slots + 1),) → (Σ slots,) 1.0 where a slot is to hold an atom.

    Within an element's block the one-hot's cumulative sum is 1 from its count onwards, so
    1 − cumsum marks the first ``count`` slots; a linear map of the one-hot.
    """

    def __init__(self, slots, **kwargs):
        super().__init__(**kwargs)
        self.slots = [int(n) for n in slots]

    def call(self, onehot):
        parts, start = [], 0
        for n in self.slots:
            block = onehot[:, start:start + n + 1]
            parts.append(1.0 - keras.ops.cumsum(block, axis=1)[:, :n])
            start += n + 1
        return keras.ops.concatenate(parts, axis=1)

    def get_config(self):
        return {**super().get_config(), "slots": self.slots}


def _cell_parameters(cell_rows, layout: SlotLayout):
    """The two scaled cell rows (B, 2, 3) → (B, 6) a, b, c in Å and α, β, γ in degrees."""
    return tf.concat([cell_rows[:, 0] * layout.length_scale, cell_rows[:, 1] * layout.angle_scale], axis=1)


@keras.saving.register_keras_serializable("tfmat")
class Repel(keras.layers.Layer):
    """[coordinates (B, slots, 3, 1) scaled as in the codec, cell rows (B, 2, 3, 1), mask (B, slots)] →
    the coordinates after ``steps`` steps of gradient descent, step ``rate``, on Σ over pairs of
    masked atoms of max(0, contact − d)² (d in Å along the wrapped fractional difference,
    :func:`~tfmat.structure.distances.wrapped_vectors_tf`, the minimum image unless the cell is
    strongly skewed): a soft-sphere push that separates atoms closer than ``contact``. The cell is
    held fixed and atoms are wrapped back into it; a cell with (nearly) no volume leaves its atoms
    where they are. Differentiable in the coordinates."""

    def __init__(self, layout: dict, contact: float = 1.4, steps: int = 10, rate: float = 0.2, **kwargs):
        super().__init__(**kwargs)
        self.layout = dict(layout)
        self.contact, self.steps, self.rate = float(contact), int(steps), float(rate)

    def call(self, inputs):
        coords, cell, mask = inputs
        layout = SlotLayout(**self.layout)
        frac = (coords[..., 0] - 0.5) * 1.5 + 0.5  # the codec's unscale_frac
        lattice = tf.stop_gradient(lattice_matrix_tf(_cell_parameters(cell[..., 0], layout)))
        # a cell with (nearly) no volume has no inverse; its atoms stay where they are
        lengths = tf.reduce_prod(tf.norm(lattice, axis=-1), axis=-1)
        usable = tf.abs(tf.linalg.det(lattice)) > 1e-3 * lengths
        lattice = tf.where(usable[:, None, None], lattice, tf.eye(3, batch_shape=tf.shape(lattice)[:1]))
        inverse = tf.linalg.inv(lattice)
        n = tf.shape(mask)[1]
        pairs = mask[:, :, None] * mask[:, None, :] * (1.0 - tf.eye(n))[None]
        pairs *= tf.cast(usable, mask.dtype)[:, None, None]
        for _ in range(self.steps):
            r = wrapped_vectors_tf(frac, frac, lattice)  # (B, n, n, 3), from atom i to atom j
            d = tf.sqrt(tf.reduce_sum(r**2, axis=-1) + 1e-4)
            push = pairs * tf.nn.relu(self.contact - d) / d
            cart = -2.0 * self.rate * tf.einsum("bij,bijk->bik", push, r)  # minus the gradient, in Å
            frac = frac + tf.einsum("bik,bkl->bil", cart, inverse)
        frac -= tf.stop_gradient(tf.floor(frac))
        return ((frac - 0.5) / 1.5 + 0.5)[..., None] * mask[:, :, None, None]

    def get_config(self):
        return {**super().get_config(), "layout": self.layout, "contact": self.contact, "steps": self.steps,
                "rate": self.rate}


def build_generator(layout: SlotLayout, noise_dim: int = 512, width: int = 256, mask_slots: bool = True,
                    repel_steps: int = 0, contact: float = 1.4, name: str = "generator"):
    """[noise (noise_dim,), composition (Σ slots+1,)] → (rows, 3) matrix in [0, 1]; with ``mask_slots``
    exactly the requested slots are nonzero, in [1/6, 5/6]; with ``repel_steps`` > 0 (needs
    ``mask_slots``) the atoms then take that many :class:`Repel` steps apart."""
    if repel_steps and not mask_slots:
        raise ValueError("repel_steps needs mask_slots: the push acts on the requested atoms")
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
    h = keras.layers.Flatten()(logits)
    h = keras.layers.Dense(32, name="cell_fc")(h)
    h = keras.layers.BatchNormalization(name="cell_bn")(h)
    h = keras.layers.ReLU()(h)
    cell = keras.layers.Dense(6, activation="sigmoid", name="cell")(h)
    cell = keras.layers.Reshape((2, 3, 1))(cell)
    coords = keras.layers.Activation("sigmoid")(logits)
    if mask_slots:
        mask = SlotMask(layout.slots, name="slot_mask")(c)
        coords = (1.0 / 6.0 + coords * (2.0 / 3.0)) * keras.layers.Reshape((slots, 1, 1))(mask)
        if repel_steps:
            coords = Repel(layout_config(layout), contact, repel_steps, name="repel")([coords, cell, mask])
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


def clash(matrices, occupied, layout: SlotLayout, contact: float):
    """Mean over samples of Σ over distinct occupied pairs of max(0, contact − d)², d in Å under
    periodic boundaries (:func:`~tfmat.structure.distances.pbc_distances_tf`); differentiable in the
    coordinates, constant in the cell."""
    # atoms move apart; growing the cell is not a way out
    cell = tf.stop_gradient(_cell_parameters(matrices[:, :2], layout))
    frac = (matrices[:, 2:] - 0.5) * 1.5 + 0.5  # the codec's unscale_frac, in TensorFlow
    d = pbc_distances_tf(frac, frac, lattice_matrix_tf(cell))
    pairs = occupied[:, :, None] * occupied[:, None, :] * (1.0 - tf.eye(tf.shape(occupied)[1]))[None]
    return tf.reduce_mean(tf.reduce_sum(pairs * tf.nn.relu(contact - d) ** 2, axis=[1, 2])) / 2.0


def _cross_entropy(onehot, logits):
    return tf.reduce_mean(keras.losses.categorical_crossentropy(onehot, logits, from_logits=True))


@keras.saving.register_keras_serializable("tfmat")
class CCCGAN(Adversarial):
    """Composition-conditioned WGAN-GP with an auxiliary classifier; batches are ``(matrix, composition)``."""

    def __init__(self, generators, critics, auxiliaries, layout: dict | SlotLayout, contact: float = 1.4,
                 **kwargs):
        kwargs.setdefault("critic_terms", {"occupancy_real": 1.0, "count_real": 0.3})
        kwargs.setdefault("generator_terms", {"occupancy_fake": 1.0, "count_fake": 0.3})
        super().__init__(generators, critics, auxiliaries, **kwargs)
        self.layout = layout if isinstance(layout, SlotLayout) else SlotLayout(**layout)
        self.contact = float(contact)

    def get_config(self):
        return {**super().get_config(), "layout": layout_config(self.layout), "contact": self.contact}

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
        wanted = requested_occupancy(onehot, self.layout)
        occ, count = self._classifier_terms(fakes, wanted, onehot, training)
        terms = {"occupancy_fake": occ, "count_fake": count}
        if "clash" in self.generator_weights:
            terms["clash"] = clash(fakes, wanted, self.layout, self.contact)
        return terms


def sample_matrices(generator, layout: SlotLayout, requested, seed: int = 0, batch_size: int = 1024):
    """Slot matrices (N, rows, 3) float32 from ``generator`` for the rows of ``requested`` (atom counts per
    element), one N(0, 1) noise draw per row from ``seed``."""

    from ..structure.codec import composition_onehot

    requested = np.asarray(requested)
    noise = np.random.default_rng(seed).standard_normal((len(requested), *generator.inputs[0].shape[1:]),
                                                        dtype=np.float32)
    onehot = composition_onehot(requested, layout)
    out = [np.asarray(generator([tf.constant(noise[i:i + batch_size]), tf.constant(onehot[i:i + batch_size])],
                                training=False)) for i in range(0, len(requested), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, layout.rows, 3), np.float32)


def load_structure_generator(model_dir):
    """``(generator, layout, config)`` of a CCCGAN run or shipped folder (``generator.keras`` and
    ``config.json``); ValueError saying what is missing otherwise."""
    from .config import CCCGanConfig, read_model_config

    config, weights = read_model_config(model_dir, CCCGanConfig)
    if config.system not in LAYOUTS:
        raise ValueError(f"{model_dir}: unknown system {config.system!r} (known: {', '.join(LAYOUTS)})")
    return keras.models.load_model(weights, compile=False), LAYOUTS[config.system], config


def build_cccgan(config, layout: SlotLayout, steps_per_epoch: int, cell_mean=None) -> CCCGAN:
    """A compiled CCCGAN for ``config`` (:class:`~tfmat.gan.config.CCCGanConfig`), optimizer slots built;
    every learning rate decays by ``config.decay`` every ``config.decay_epochs`` epochs. With ``cell_mean``
    (the two cell rows, (2, 3), averaged over the training matrices) the generator's cell starts there:
    the cell head's bias is its logit."""
    keras.utils.set_random_seed(config.seed)
    generator_terms = {"occupancy_fake": 1.0, "count_fake": config.count_weight}
    if config.distance_weight > 0:
        generator_terms["clash"] = config.distance_weight
    generator = build_generator(layout, config.noise_dim, config.width, config.mask_slots, config.repel_steps,
                                config.contact)
    gan = CCCGAN({"generator": generator},
                 {"critic": build_critic(layout, config.width)},
                 {"classifier": build_classifier(layout, config.width)}, layout=layout, contact=config.contact,
                 critic_terms={"occupancy_real": 1.0, "count_real": config.count_weight},
                 generator_terms=generator_terms,
                 critic_steps=config.critic_steps, gp_weight=config.gp_weight, seed=config.seed, name="cccgan")

    def adam(lr, updates_per_step):  # the critic side takes critic_steps updates per training step
        schedule = keras.optimizers.schedules.ExponentialDecay(
            lr, config.decay_epochs * steps_per_epoch * updates_per_step, config.decay, staircase=True)
        return keras.optimizers.Adam(schedule, beta_1=config.beta_1, beta_2=config.beta_2)

    gan.compile(optimizers={"generator": adam(config.g_lr, 1), "critic": adam(config.d_lr, config.critic_steps),
                            "classifier": adam(config.c_lr, config.critic_steps)}, jit_compile=False)
    gan.build_optimizers()
    if cell_mean is not None:
        p = np.clip(np.asarray(cell_mean, np.float64).reshape(6), 1e-3, 1 - 1e-3)
        gan.generator.get_layer("cell").bias.assign(np.log(p / (1 - p)).astype(np.float32))
    return gan
