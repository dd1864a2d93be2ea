"""CrystalGAN: ternary hydrides from two binary domains (Nouira et al. 2018, SPEC §10).

Domain A holds A–H binaries (Pd–H), domain B holds B–H binaries (Ni–H), each
structure a block array [lattice, H, A, B] (:mod:`tfmat.structure.blocks`)
whose other-metal block is the empty placeholder. A batch is ``(x, y)``: x
from domain A, y from domain B.

* Step 1, a DiscoGAN: G_AHB1 turns x into a B–H-like array, judged by D_BH
  against real y; G_BHA1 turns y into an A–H-like one, judged by D_AH. The
  generators also pay the reconstructions ‖G_BHA1(G_AHB1(x)) − x‖² and
  ‖G_AHB1(G_BHA1(y)) − y‖² (``rec_AH``, ``rec_BH``, mean squared error).
* Step 2, feature transfer: x's empty B block is filled with the B block of
  G_AHB1(x) (``x_AHBg``), y's empty A block with the A block of G_BHA1(y)
  (``y_BHAg``). These ternaries are the data of step 3; no gradient flows
  back into step 1 through them.
* Step 3, a second cycle on the transferred data: G_AHB2(x_AHBg) judged by
  D_BHA against y_BHAg, G_BHA2(y_BHAg) by D_AHB against x_AHBg, the
  reconstructions ``rec_AHB`` and ``rec_BHA``, and the geometric terms
  ``geo1`` and ``geo2`` (:func:`~tfmat.structure.constraints.geometric_terms`)
  on the A–B, A–A′ and B–B′ nearest-neighbour distances of the two outputs,
  computed in TensorFlow from their lattice and coordinates.

Both steps train together, in one ``train_step`` of the adversarial base:
every discriminator is updated on the critic side, every generator on the
generator side. Networks are MLPs (``depth`` dense layers of ``width`` ReLU
units, 5 and 100 in the paper); a discriminator's last layer is one logit,
the sigmoid being inside the log-loss. A generator's lattice block is linear,
its atom blocks sigmoid.

``stages=1`` is DiscoGAN alone (its outputs are G_AHB1(x) and G_BHA1(y)).
:func:`build_noise_gan` is the paper's other baseline: one generator from
Gaussian noise judged by one discriminator on both domains.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ..structure.blocks import BlockLayout
from ..structure.constraints import D1, D2, geometric_terms, metal_distances_tf
from .adversarial import Adversarial, CriticInput

A_BLOCK, B_BLOCK = 2, 3


@keras.saving.register_keras_serializable("tfmat")
class BlockOutput(keras.layers.Layer):
    """(B, 4·rows·3) → (B, 4, rows, 3): the lattice block as it is, the atom blocks through a sigmoid."""

    def __init__(self, rows: int, **kwargs):
        super().__init__(**kwargs)
        self.rows = int(rows)

    def call(self, x):
        x = keras.ops.reshape(x, (-1, 4, self.rows, 3))
        return keras.ops.concatenate([x[:, :1], keras.ops.sigmoid(x[:, 1:])], axis=1)

    def get_config(self):
        return {**super().get_config(), "rows": self.rows}


@keras.saving.register_keras_serializable("tfmat")
class Transfer(keras.layers.Layer):
    """[array, donor] → the array with block ``block`` taken from the donor (step 2)."""

    def __init__(self, block: int, **kwargs):
        super().__init__(**kwargs)
        self.block = int(block)

    def call(self, inputs):
        x, donor = inputs
        return keras.ops.concatenate([x[:, :self.block], donor[:, self.block:self.block + 1],
                                      x[:, self.block + 1:]], axis=1)

    def get_config(self):
        return {**super().get_config(), "block": self.block}


def _mlp(x, width: int, depth: int, out: int, name: str):
    x = keras.layers.Flatten()(x)
    for i in range(depth - 1):
        x = keras.layers.Dense(width, activation="relu", name=f"{name}_fc{i + 1}")(x)
    return keras.layers.Dense(out, name=f"{name}_out")(x)


def build_translator(layout: BlockLayout, width: int = 100, depth: int = 5, name: str = "G"):
    """A block array → a block array (a cross-domain generator)."""
    x = keras.Input(layout.shape, name="array")
    y = BlockOutput(layout.rows, name=f"{name}_blocks")(_mlp(x, width, depth, int(np.prod(layout.shape)), name))
    return keras.Model(x, y, name=name)


def build_discriminator(layout: BlockLayout, width: int = 100, depth: int = 5, name: str = "D"):
    """A block array → one logit (real: positive)."""
    x = keras.Input(layout.shape, name="array")
    return keras.Model(x, _mlp(x, width, depth, 1, name), name=name)


def build_noise_generator(layout: BlockLayout, noise_dim: int = 100, width: int = 100, depth: int = 5,
                          name: str = "generator"):
    """N(0, 1) noise (noise_dim,) → a block array."""
    z = keras.Input((noise_dim,), name="noise")
    return keras.Model(z, BlockOutput(layout.rows, name="blocks")(_mlp(z, width, depth, int(np.prod(layout.shape)),
                                                                       name)), name=name)


def _mse(a, b):
    return tf.reduce_mean(tf.square(a - b))


@keras.saving.register_keras_serializable("tfmat")
class CrystalGAN(Adversarial):
    """The three steps above on the adversarial base (log-loss, no gradient penalty); batches are ``(x, y)``."""

    def __init__(self, generators, critics, layout: dict | BlockLayout, stages: int = 2, d1: float = D1,
                 d2: float = D2, geo_form: str = "hinge", **kwargs):
        kwargs.setdefault("loss", "logistic")
        kwargs.setdefault("gp_weight", 0.0)
        super().__init__(generators, critics, **kwargs)
        self.layout = layout if isinstance(layout, BlockLayout) else BlockLayout(**layout)
        self.stages, self.d1, self.d2, self.geo_form = int(stages), float(d1), float(d2), geo_form
        if self.stages not in (1, 2):
            raise ValueError("stages is 1 (DiscoGAN) or 2 (CrystalGAN)")
        self.transfer_a, self.transfer_b = Transfer(B_BLOCK), Transfer(A_BLOCK)

    def get_config(self):
        return {**super().get_config(), "layout": self.layout.to_dict(), "stages": self.stages, "d1": self.d1,
                "d2": self.d2, "geo_form": self.geo_form}

    def generate(self, data, training=False):
        x, y = data
        g = self.generators
        f = {"AHB1": g["AHB1"](x, training=training), "BHA1": g["BHA1"](y, training=training)}
        f["AHBA1"] = g["BHA1"](f["AHB1"], training=training)
        f["BHAB1"] = g["AHB1"](f["BHA1"], training=training)
        if self.stages == 2:
            f["AHBg"] = tf.stop_gradient(self.transfer_a([x, f["AHB1"]]))
            f["BHAg"] = tf.stop_gradient(self.transfer_b([y, f["BHA1"]]))
            f["AHB2"] = g["AHB2"](f["AHBg"], training=training)
            f["BHA2"] = g["BHA2"](f["BHAg"], training=training)
            f["AHBA2"] = g["BHA2"](f["AHB2"], training=training)
            f["BHAB2"] = g["AHB2"](f["BHA2"], training=training)
        return f

    def critic_inputs(self, data, fakes):
        x, y = data
        inputs = {"BH": CriticInput(y, fakes["AHB1"]), "AH": CriticInput(x, fakes["BHA1"])}
        if self.stages == 2:
            inputs.update(BHA=CriticInput(fakes["BHAg"], fakes["AHB2"]), AHB=CriticInput(fakes["AHBg"], fakes["BHA2"]))
        return inputs

    def ternaries(self, fakes):
        """The generated ternaries the constraint applies to: G_AHB2's and G_BHA2's outputs."""
        return tf.concat([fakes["AHB2"], fakes["BHA2"]], axis=0)

    def generator_terms(self, data, fakes, training=True):
        x, y = data
        terms = {"rec_AH": _mse(fakes["AHBA1"], x), "rec_BH": _mse(fakes["BHAB1"], y)}
        if self.stages == 2:
            terms.update(rec_AHB=_mse(fakes["AHBA2"], fakes["AHBg"]), rec_BHA=_mse(fakes["BHAB2"], fakes["BHAg"]))
            distances, present = metal_distances_tf(self.ternaries(fakes), self.layout)
            terms["geo1"], terms["geo2"] = geometric_terms(distances, present, self.d1, self.d2, self.geo_form)
        return terms


def build_sampler(gan: CrystalGAN) -> keras.Model:
    """The generating path as one model: [x (domain A), y (domain B)] → [ternary from x, ternary from y]
    (G_AHB2(x_AHBg) and G_BHA2(y_BHAg); with one stage G_AHB1(x) and G_BHA1(y))."""
    layout, g = gan.layout, gan.generators
    x, y = keras.Input(layout.shape, name="domain_a"), keras.Input(layout.shape, name="domain_b")
    from_a, from_b = g["AHB1"](x), g["BHA1"](y)
    if gan.stages == 2:
        from_a = g["AHB2"](Transfer(B_BLOCK, name="transfer_a")([x, from_a]))
        from_b = g["BHA2"](Transfer(A_BLOCK, name="transfer_b")([y, from_b]))
    return keras.Model([x, y], [from_a, from_b], name="sampler")


def build_noise_gan(config, layout: BlockLayout) -> Adversarial:
    """The noise baseline: one generator from N(0, 1) noise, one log-loss discriminator on both domains."""
    keras.utils.set_random_seed(config.seed)
    gan = Adversarial({"generator": build_noise_generator(layout, config.noise_dim, config.width, config.depth)},
                      {"critic": build_discriminator(layout, config.width, config.depth, "D")},
                      loss="logistic", gp_weight=0.0, seed=config.seed, name="noise_gan")
    _compile(gan, config)
    return gan


def _compile(gan, config):
    lr = {**{g: config.g_lr for g in gan.generators}, **{d: config.d_lr for d in gan.critics}}
    gan.compile(optimizers={name: keras.optimizers.Adam(lr[name], beta_1=config.beta_1, beta_2=config.beta_2)
                            for name in gan.networks}, jit_compile=False)
    gan.build_optimizers()


def build_crystalgan(config, layout: BlockLayout):
    """A compiled model for ``config`` (:class:`~tfmat.gan.config.CrystalGanConfig`), optimizer slots built:
    :class:`CrystalGAN` for the ``crystalgan`` and ``discogan`` variants, :func:`build_noise_gan` for ``noise``."""
    if config.variant == "noise":
        return build_noise_gan(config, layout)
    keras.utils.set_random_seed(config.seed)
    stages = 1 if config.variant == "discogan" else 2
    pairs = [("AHB1", "BH"), ("BHA1", "AH")] + ([("AHB2", "BHA"), ("BHA2", "AHB")] if stages == 2 else [])
    generators = {g: build_translator(layout, config.width, config.depth, f"G_{g}") for g, _ in pairs}
    critics = {d: build_discriminator(layout, config.width, config.depth, f"D_{d}") for _, d in pairs}
    terms = {"rec_AH": config.rec_weight, "rec_BH": config.rec_weight}
    if stages == 2:
        terms.update(rec_AHB=config.rec_weight, rec_BHA=config.rec_weight, geo1=config.geo1_weight,
                     geo2=config.geo2_weight)
    gan = CrystalGAN(generators, critics, layout, stages=stages, d1=config.d1, d2=config.d2,
                     geo_form=config.geo_form, generator_terms=terms, seed=config.seed, name="crystalgan")
    _compile(gan, config)
    return gan


def sampler_of(gan) -> keras.Model:
    """What a run saves as ``generator.keras``: the noise generator, or :func:`build_sampler`."""
    return build_sampler(gan) if isinstance(gan, CrystalGAN) else gan.generator


def sample_arrays(sampler: keras.Model, n: int, domain_a=None, domain_b=None, seed: int = 0):
    """``(arrays (n, 4, rows, 3), sources)``: n samples of a saved sampler and where each came from.

    A noise generator draws n N(0, 1) vectors from ``seed`` (sources ``noise``). A translator takes
    the domains' arrays in turn: sample 2i from ``domain_a[i mod len]``, sample 2i + 1 from
    ``domain_b[i mod len]`` (sources ``A i`` and ``B i``), so n ≤ 2·len covers each input at most once.
    """
    if len(sampler.inputs) == 1:
        z = np.random.default_rng(seed).standard_normal((n, *sampler.inputs[0].shape[1:])).astype(np.float32)
        return np.asarray(sampler(z, training=False)), ["noise"] * n
    if domain_a is None or domain_b is None or not len(domain_a) or not len(domain_b):
        raise ValueError("a CrystalGAN or DiscoGAN translates structures: it needs both domains' structures")
    pairs = (n + 1) // 2
    ia, ib = np.arange(pairs) % len(domain_a), np.arange(pairs) % len(domain_b)
    out_a, out_b = sampler([np.asarray(domain_a, np.float32)[ia], np.asarray(domain_b, np.float32)[ib]],
                           training=False)
    arrays = np.stack([np.asarray(out_a), np.asarray(out_b)], axis=1).reshape(-1, *out_a.shape[1:])[:n]
    sources = [s for i, j in zip(ia, ib) for s in (f"A {i}", f"B {j}")][:n]
    return arrays, sources


def load_hydride_sampler(model_dir):
    """``(sampler, layout, config)`` of a CrystalGAN run or shipped folder; ValueError saying what is wrong."""
    from .config import CrystalGanConfig, read_model_config

    config, weights = read_model_config(model_dir, CrystalGanConfig)
    return keras.models.load_model(weights, compile=False), config.layout, config
