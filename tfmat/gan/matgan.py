"""MatGAN generators and critics (thesis tables 3.1 and 3.2).

Shapes are (elements, counts, channels); the generator maps 128-d N(0, 1)
noise to an (85, 8, 1) sigmoid matrix, the critic maps such a matrix to one
unbounded score. Each architecture is a list of layer specs, so the shape
test and the builders read the same table.

* ``"oqmd"`` — GAN-OQMD, table 3.1.
* ``"mp"`` — GAN-MP and GAN-ICSD, table 3.2.
* ``"signal"`` — Bandgap and ICSD_Filter. The thesis gives no table; this is
  an intermediate size between the two: the table-3.2 layout (four stride-2
  steps) with the OQMD widths halved and one stride-1 refinement before the
  output, so it has more capacity than GAN-MP for the smaller, chemically
  filtered sets without the cost of GAN-OQMD.

Odd heights (6→11→22→43→85) come from transposed convolutions with explicit
``output_padding`` (:func:`_output_padding` works out the value).

Critic normalisation: ``"batch"`` (thesis code) or ``"layer"`` (what the
WGAN-GP paper advises, since batch norm couples the samples whose gradients
the penalty constrains). ``DEFAULT_CRITIC_NORM`` is layer norm by measurement
(``benchmarks/gan_norm.json``): on MP at the shipped GAN-MP's learning rates
(G 1e-4 / D 1e-3), layer norm decodes 24–46% of the samples from step 900 to
1,800, while with batch norm nothing decodes at any checkpoint to step 1,800
(most elements stay above the decoding threshold).

XLA (``jit_compile``) is off by default: on the shared 2-core CPU it made
GAN-MP's train_step 2.0× slower (median of 5 interleaved repeats,
``benchmarks/gan_speed.json``).
"""
from __future__ import annotations

import keras

from ..composition import DECODE_TOLERANCE
from ..elements import MAX_COUNT, N_ELEMENTS
from .adversarial import Adversarial, CriticInput
from .config import ARCHITECTURES, DEFAULT_CRITIC_NORM, GENERATOR_OUTPUTS, GanConfig

LEAK = 0.2
PRESENCE_UNITS = 64
ARITIES = 8  # element counts a formula may have: 1..8


def _output_padding(size_in: int, size_out: int, kernel: int, stride: int) -> int:
    """``output_padding`` making a 'same' transposed conv map ``size_in`` to ``size_out``."""
    extra = size_out - ((size_in - 1) * stride + kernel - 2 * (kernel // 2))
    if kernel % 2 == 0 or not 0 <= extra < stride:
        raise ValueError(f"a stride-{stride} kernel-{kernel} transposed conv cannot map {size_in} to {size_out}")
    return extra


def _normalisation(kind: str, name: str, synchronized: bool = False):
    if kind == "batch":
        return keras.layers.BatchNormalization(name=name, synchronized=synchronized)
    if kind == "layer":
        return keras.layers.LayerNormalization(axis=(1, 2, 3), name=name)
    if kind == "none":
        return None
    raise ValueError(f"unknown critic normalisation {kind!r} (batch, layer or none)")


def row_choices(logits):
    """(…, 85, 8, 1) logits → (…, 85, 9): per element row the softmax over "absent" (a fixed logit of 0)
    and the 8 counts."""
    x = logits[..., 0]
    return keras.ops.softmax(keras.ops.concatenate([keras.ops.zeros_like(x[..., :1]), x], axis=-1), axis=-1)


@keras.saving.register_keras_serializable("tfmat")
class RowSoftmax(keras.layers.Layer):
    """(…, 85, 8, 1) logits → per element row a softmax over "absent" (a fixed logit of 0) and the 8
    counts, the absent share dropped: each row sums to at most 1, so it holds at most one cell above 0.5.

    ``onehot``: the forward pass is instead the one-hot of each row's most likely choice (all zeros when
    "absent" wins), so every output is a 0/1 matrix like the real ones; the gradient stays the softmax's
    (straight-through).
    """

    def __init__(self, onehot: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.onehot = bool(onehot)

    def call(self, logits):
        p = row_choices(logits)
        if self.onehot:
            hard = keras.ops.one_hot(keras.ops.argmax(p, axis=-1), MAX_COUNT + 1, dtype=p.dtype)
            p = p + keras.ops.stop_gradient(hard - p)
        return p[..., 1:, None]

    def get_config(self):
        return {**super().get_config(), "onehot": self.onehot}


@keras.saving.register_keras_serializable("tfmat")
class ExactArityRows(keras.layers.Layer):
    """(logits (…, 85, 8, 1), element count one-hot over 1..``ARITIES``) → a matrix with exactly that
    many element rows: the rows least likely "absent" under :class:`RowSoftmax`'s softmax, every other
    row zero. ``onehot``: each kept row is the one-hot of its most likely count, with the softmax's gradient
    (straight-through); otherwise it is the softmax's counts as :class:`RowSoftmax` gives them."""

    def __init__(self, onehot: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.onehot = bool(onehot)

    def call(self, logits, arity):
        ops = keras.ops
        p = row_choices(logits)
        # ranked by the log-odds of "present" (ties broken by position), so that exactly the count is kept
        best = ops.top_k(ops.logsumexp(logits[..., 0], axis=-1), ARITIES)[1]
        wanted = ops.cast(ops.arange(ARITIES)[None, :] <= ops.argmax(arity, axis=-1)[:, None], p.dtype)
        keep = ops.sum(ops.one_hot(best, N_ELEMENTS, dtype=p.dtype) * wanted[..., None], axis=1)
        soft = p[..., 1:]
        if not self.onehot:
            return (soft * keep[..., None])[..., None]
        hard = ops.one_hot(ops.argmax(soft, axis=-1), MAX_COUNT, dtype=p.dtype) * keep[..., None]
        return (soft + ops.stop_gradient(hard - soft))[..., None]

    def get_config(self):
        return {**super().get_config(), "onehot": self.onehot}


@keras.saving.register_keras_serializable("tfmat")
class ArityFromNoise(keras.layers.Layer):
    """Noise → the element count it stands for, one-hot over 1..``ARITIES``: noise coordinate 0 cut at
    ``cuts``, the N(0, 1) quantiles of the cumulative arity shares of the training set (a non-trainable
    weight, :func:`set_arity_prior`). N(0, 1) noise thus draws counts with the training set's shares."""

    def build(self, input_shape):
        self.cuts = self.add_weight(shape=(ARITIES - 1,), initializer="zeros", trainable=False, name="cuts")

    def call(self, z):
        index = keras.ops.sum(keras.ops.cast(z[:, :1] > self.cuts, "int32"), axis=1)
        return keras.ops.one_hot(index, ARITIES, dtype=z.dtype)


def build_generator(architecture: str = "mp", latent_dim: int = 128, name: str = "generator",
                    synchronized: bool = False, output: str = "sigmoid", arity: bool = False) -> keras.Model:
    """Noise (latent_dim,) → (85, 8, 1) in [0, 1]; batch norm + ReLU after every hidden layer.

    ``arity``: the noise also passes through :class:`ArityFromNoise` (layer ``"arity"``), and the
    element count it stands for joins the noise before the dense layer.

    ``output``: ``"sigmoid"`` per cell (thesis), ``"softmax"`` per element row (:class:`RowSoftmax`) or
    ``"onehot"``, that softmax's one-hot forward pass with its gradient; ``"exact_arity"`` (needs
    ``arity``), that one-hot keeping exactly the drawn count of elements (:class:`ExactArityRows`), or
    ``"exact_arity_soft"``, the softmax's rows keeping that count.
    ``synchronized`` batch norms use the statistics of the global batch across replicas (TensorFlow only).
    """
    if output not in GENERATOR_OUTPUTS:
        raise ValueError(f"unknown generator output {output!r} ({' or '.join(GENERATOR_OUTPUTS)})")
    arch = ARCHITECTURES[architecture]
    z = keras.Input((latent_dim,), name="noise")
    h, w, c = arch.seed_shape
    x = z
    if output.startswith("exact_arity") and not arity:
        raise ValueError("the exact_arity output needs the arity condition (the count it keeps)")
    if arity:
        count = ArityFromNoise(name="arity")(z)
        x = keras.layers.Concatenate(name="noise_arity")([z, count])
    x = keras.layers.Dense(h * w * c, name="fc")(x)
    x = keras.layers.BatchNormalization(name="fc_bn", synchronized=synchronized)(x)
    x = keras.layers.ReLU(name="fc_relu")(x)
    x = keras.layers.Reshape(arch.seed_shape, name="reshape")(x)
    shape = arch.seed_shape
    last = len(arch.generator) - 1
    for i, layer in enumerate(arch.generator):
        k = layer.kernel
        pads = tuple(_output_padding(a, b, k, s) for a, b, s in zip(shape[:2], layer.shape[:2], layer.strides))
        x = keras.layers.Conv2DTranspose(layer.filters, k, strides=layer.strides, padding="same",
                                         output_padding=pads, name=f"deconv{i + 1}",
                                         activation="sigmoid" if i == last and output == "sigmoid" else None)(x)
        if i != last:
            x = keras.layers.BatchNormalization(name=f"deconv{i + 1}_bn", synchronized=synchronized)(x)
            x = keras.layers.ReLU(name=f"deconv{i + 1}_relu")(x)
        shape = layer.shape
    if output.startswith("exact_arity"):
        x = ExactArityRows(onehot=output == "exact_arity", name="exact_arity")(x, count)
    elif output != "sigmoid":
        x = RowSoftmax(onehot=output == "onehot", name="row_softmax")(x)
    return keras.Model(z, x, name=name)


def build_critic(architecture: str = "mp", norm: str = DEFAULT_CRITIC_NORM, name: str = "critic",
                 synchronized: bool = False, presence: bool = False, arity: bool = False) -> keras.Model:
    """(85, 8, 1) → one score; normalisation + leaky ReLU (0.2) after every conv.

    ``presence`` adds the element-presence head: each element row's largest cell (how present the
    element is, 0 or 1 in real data) through a dense layer of ``PRESENCE_UNITS``, joined to the conv
    features before the score. It lets the critic see at once which elements a sample holds and how
    many, which strided convolutions over the element axis only see piecewise.

    ``arity``: a second input, the sample's element count one-hot over 1..``ARITIES``, enters as a
    projection (score += ⟨embedding of the count, features⟩), so that the critic can judge each sample
    against the count it was given; a count merely joined to the features before the linear score
    would only add a constant per count.
    """
    arch = ARCHITECTURES[architecture]
    inp = keras.Input((N_ELEMENTS, MAX_COUNT, 1), name="matrix")
    x = inp
    for i, layer in enumerate(arch.critic):
        x = keras.layers.Conv2D(layer.filters, layer.kernel, strides=layer.strides, padding="same",
                                name=f"conv{i + 1}")(x)
        normalise = _normalisation(norm, f"conv{i + 1}_norm", synchronized)
        if normalise is not None:
            x = normalise(x)
        x = keras.layers.LeakyReLU(LEAK, name=f"conv{i + 1}_lrelu")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    if presence:
        rows = keras.layers.Reshape((N_ELEMENTS, MAX_COUNT), name="rows")(inp)
        present = keras.layers.GlobalMaxPooling1D(data_format="channels_first", name="presence")(rows)
        present = keras.layers.Dense(PRESENCE_UNITS, name="presence_fc")(present)
        present = keras.layers.LeakyReLU(LEAK, name="presence_lrelu")(present)
        x = keras.layers.Concatenate(name="join")([x, present])
    score = keras.layers.Dense(1, name="score")(x)
    if not arity:
        return keras.Model(inp, score, name=name)
    count = keras.Input((ARITIES,), name="arity")
    embedded = keras.layers.Dense(x.shape[-1], use_bias=False, name="arity_embedding")(count)
    score = keras.layers.Add(name="projection")([score, keras.layers.Dot(axes=1, name="arity_match")([x, embedded])])
    return keras.Model([inp, count], score, name=name)


def layer_shapes(model: keras.Model) -> list[tuple[str, tuple]]:
    """(layer name, output shape without the batch axis) of every conv/deconv/reshape layer."""
    kinds = (keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.Reshape)
    return [(layer.name, tuple(layer.output.shape[1:])) for layer in model.layers if isinstance(layer, kinds)]


def decoded_straight_through(matrices, tol: float = DECODE_TOLERANCE):
    """Generated matrices as decoding reads them, with the gradient of the matrices themselves.

    Forward: per element row a 1 at the best cell when it is ≥ 1 − ``tol`` (ties aside, what
    :func:`tfmat.composition.decode_counts` keeps), 0 elsewhere. Backward: the identity.
    """
    import tensorflow as tf

    best = tf.reduce_max(matrices, axis=2, keepdims=True)
    hard = tf.cast((matrices >= best) & (matrices >= 1.0 - tol), matrices.dtype)
    return matrices + tf.stop_gradient(hard - matrices)


def ambiguity(matrices):
    """Mean over samples of Σ x(1 − x) over the cells: 0 for a 0/1 matrix, as every real one is; its
    gradient pushes each cell below 0.5 towards 0 and each above towards 1."""
    x = keras.ops.reshape(matrices, (keras.ops.shape(matrices)[0], -1))
    return keras.ops.mean(keras.ops.sum(x * (1.0 - x), axis=1))


def arity_index(matrices):
    """Each one-hot matrix's element count − 1 (the :class:`ArityFromNoise` class), clipped to 0..ARITIES − 1."""
    import tensorflow as tf

    present = tf.reduce_max(tf.reshape(matrices, [tf.shape(matrices)[0], N_ELEMENTS, MAX_COUNT]), axis=2) > 0.5
    return tf.clip_by_value(tf.reduce_sum(tf.cast(present, tf.int32), axis=1) - 1, 0, ARITIES - 1)


def arity_noise(cuts, index, seed):
    """A noise coordinate 0 that :class:`ArityFromNoise` with ``cuts`` reads as class ``index``: N(0, 1)
    restricted to that class's interval (drawn away from its ends by 0.1% of its mass), so that over the
    training batches' classes it stays N(0, 1)."""
    import tensorflow as tf

    cdf = tf.concat([[0.0], 0.5 * tf.math.erfc(-cuts / 2 ** 0.5), [1.0]], axis=0)
    lo, hi = tf.gather(cdf, index), tf.gather(cdf, index + 1)
    u = tf.random.stateless_uniform(tf.shape(index), seed=seed, minval=1e-3, maxval=1.0 - 1e-3)
    return tf.math.ndtri(tf.clip_by_value(lo + u * (hi - lo), 1e-7, 1.0 - 1e-7))


def set_arity_prior(generator: keras.Model, counts) -> None:
    """Set ``generator``'s :class:`ArityFromNoise` cuts from the arity shares of ``counts`` ((N, 85) counts)."""
    from statistics import NormalDist

    import numpy as np

    from ..evaluation.metrics import arity_distribution

    cumulative = np.cumsum(arity_distribution(counts)[:ARITIES - 1])
    cuts = [NormalDist().inv_cdf(float(p)) for p in np.clip(cumulative, 1e-6, 1.0 - 1e-6)]
    generator.get_layer("arity").cuts.assign(np.asarray(cuts, np.float32))


@keras.saving.register_keras_serializable("tfmat")
class MatGAN(Adversarial):
    """The MatGAN WGAN-GP. With ``decoded_critic`` the critic scores the fakes as decoding reads them
    (:func:`decoded_straight_through`): a faint cell that decoding counts as an element weighs as much
    as a real one. A ``sharpness`` generator term (declared with ``generator_terms={"sharpness": w}``)
    adds ``w`` × :func:`ambiguity` of the fakes to the generator's loss.

    With ``arity_condition`` (networks built with ``arity=True``) each fake is drawn for the element
    count of one real sample of the batch (:func:`arity_noise`), and the critic scores real and fake
    against that count."""

    def __init__(self, *args, decoded_critic: bool = False, arity_condition: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.decoded_critic = bool(decoded_critic)
        self.arity_condition = bool(arity_condition)

    def generate(self, data, training=False):
        if not self.arity_condition:
            return super().generate(data, training)
        import tensorflow as tf

        z = self.noise("generator", self.batch_size(data))
        z0 = arity_noise(self.generator.get_layer("arity").cuts, arity_index(data), self.draw_seed())
        return self.generator(tf.concat([z0[:, None], z[:, 1:]], axis=1), training=training)

    def critic_inputs(self, data, fakes) -> dict:
        fake = decoded_straight_through(fakes) if self.decoded_critic else fakes
        condition = keras.ops.one_hot(arity_index(data), ARITIES) if self.arity_condition else None
        return {"critic": CriticInput(data, fake, condition)}

    def generator_terms(self, data, fakes, training=True) -> dict:
        return {"sharpness": ambiguity(fakes)} if "sharpness" in self.generator_weights else {}

    def get_config(self):
        return {**super().get_config(), "decoded_critic": self.decoded_critic, "arity_condition": self.arity_condition}


def build_matgan(config: GanConfig, counts=None) -> MatGAN:
    """A compiled WGAN-GP (:class:`MatGAN`) of one generator and one
    critic for ``config``, optimizer slots built. Call inside ``strategy.scope()`` under ``tf.distribute``:
    with several replicas the batch norms are synchronised, so that they see the global batch as on one
    device and every replica keeps the same moving statistics. With ``config.arity_condition`` the
    training set's counts ((N, 85)) set the generator's arity prior (:func:`set_arity_prior`).
    """
    import tensorflow as tf

    if config.arity_condition and counts is None:
        raise ValueError("an arity-conditioned MatGAN needs its training counts for the arity prior")

    keras.utils.set_random_seed(config.seed)
    sync = tf.distribute.get_strategy().num_replicas_in_sync > 1
    gan = MatGAN({"generator": build_generator(config.architecture, config.latent_dim, synchronized=sync,
                                               output=config.generator_output, arity=config.arity_condition)},
                 {"critic": build_critic(config.architecture, config.critic_norm, synchronized=sync,
                                         presence=config.critic_presence, arity=config.arity_condition)},
                 critic_steps=config.critic_steps, gp_weight=config.gp_weight, seed=config.seed,
                 generator_terms={"sharpness": config.sharpness} if config.sharpness else None,
                 decoded_critic=config.decoded_critic, arity_condition=config.arity_condition, name="matgan")
    adam = lambda lr: keras.optimizers.Adam(lr, beta_1=config.beta_1, beta_2=config.beta_2)  # noqa: E731
    gan.compile(optimizers={"generator": adam(config.g_lr), "critic": adam(config.d_lr)},
                jit_compile=config.jit_compile)
    gan.build_optimizers()
    if config.arity_condition:
        set_arity_prior(gan.generator, counts)
    return gan
