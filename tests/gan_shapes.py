"""Tiny GANs of the shapes the crystal GANs take, built on :class:`tfmat.gan.adversarial.Adversarial`.

Used by ``test_adversarial.py``, in process and under MirroredStrategy in a subprocess.

* :class:`Conditional` — a conditional generator, a conditioned critic and an auxiliary classifier
  (the CCCGAN shape): two classes of 4-d points around ±``SHIFT``.
* :class:`TwoDomain` — two domains, two generators, two log-loss critics and a cycle term (the
  CrystalGAN shape): domain A around −``SHIFT``, domain B around +``SHIFT``.
"""
import keras
import numpy as np
import tensorflow as tf

from tfmat.gan.adversarial import Adversarial, CriticInput

DIM, CLASSES, NOISE, SHIFT = 4, 2, 8, 3.0


def mlp(inputs, out, name):
    x = keras.layers.Concatenate()(inputs) if len(inputs) > 1 else inputs[0]
    x = keras.layers.Dense(32, activation="relu")(x)
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], keras.layers.Dense(out)(x), name=name)


def cross_entropy(onehot, logits):
    return tf.reduce_mean(keras.losses.categorical_crossentropy(onehot, logits, from_logits=True))


class Conditional(Adversarial):
    """Batches are ``(x, onehot)``; the generator gets ``[noise, onehot]``; the critic scores ``[x, onehot]``;
    the classifier learns the class of real points and the generator is asked to make points of its class."""

    def __init__(self, generators, critics, auxiliaries, **kwargs):
        kwargs.setdefault("critic_terms", {"class_real": 1.0})
        kwargs.setdefault("generator_terms", {"class_fake": 0.5})
        super().__init__(generators, critics, auxiliaries, **kwargs)

    def generate(self, data, training=False):
        _, onehot = data
        return self.generator([self.noise("generator", self.batch_size(data)), onehot], training=training)

    def critic_inputs(self, data, fakes):
        x, onehot = data
        return {"critic": CriticInput(x, fakes, condition=onehot)}

    def critic_terms(self, data, fakes, training=True):
        x, onehot = data
        return {"class_real": cross_entropy(onehot, self.auxiliaries["classifier"](x, training=training))}

    def generator_terms(self, data, fakes, training=True):
        _, onehot = data
        return {"class_fake": cross_entropy(onehot, self.auxiliaries["classifier"](fakes, training=training))}


def conditional(seed=0, lr=3e-3):
    keras.utils.set_random_seed(seed)
    noise, onehot, x = keras.Input((NOISE,)), keras.Input((CLASSES,)), keras.Input((DIM,))
    gan = Conditional({"generator": mlp([noise, onehot], DIM, "generator")},
                      {"critic": mlp([x, onehot], 1, "critic")},
                      {"classifier": mlp([keras.Input((DIM,))], CLASSES, "classifier")}, seed=seed)
    gan.compile(optimizers={n: keras.optimizers.Adam(lr, beta_1=0.5) for n in gan.networks})
    gan.build_optimizers()
    return gan


def conditional_data(n=512, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, n)
    x = rng.normal(size=(n, DIM)) + np.where(labels == 0, -SHIFT, SHIFT)[:, None]
    return x.astype(np.float32), np.eye(CLASSES, dtype=np.float32)[labels]


class TwoDomain(Adversarial):
    """Batches are ``(a, b)``; ``ab`` maps A to B and ``ba`` B to A; critic ``B`` compares b with ab(a),
    critic ``A`` a with ba(b); the cycle terms ask ba(ab(a)) ≈ a and ab(ba(b)) ≈ b."""

    def __init__(self, generators, critics, auxiliaries=None, **kwargs):
        kwargs.setdefault("loss", "logistic")
        kwargs.setdefault("gp_weight", 0.0)
        kwargs.setdefault("generator_terms", {"cycle_a": 10.0, "cycle_b": 10.0})
        super().__init__(generators, critics, auxiliaries, **kwargs)

    def generate(self, data, training=False):
        a, b = data
        return {"ab": self.generators["ab"](a, training=training), "ba": self.generators["ba"](b, training=training)}

    def critic_inputs(self, data, fakes):
        a, b = data
        return {"B": CriticInput(b, fakes["ab"]), "A": CriticInput(a, fakes["ba"])}

    def generator_terms(self, data, fakes, training=True):
        a, b = data
        back_a = self.generators["ba"](fakes["ab"], training=training)
        back_b = self.generators["ab"](fakes["ba"], training=training)
        return {"cycle_a": tf.reduce_mean(tf.abs(back_a - a)), "cycle_b": tf.reduce_mean(tf.abs(back_b - b))}


def two_domain(seed=0, lr=2e-3):
    keras.utils.set_random_seed(seed)
    gan = TwoDomain({"ab": mlp([keras.Input((DIM,))], DIM, "ab"), "ba": mlp([keras.Input((DIM,))], DIM, "ba")},
                    {"A": mlp([keras.Input((DIM,))], 1, "A"), "B": mlp([keras.Input((DIM,))], 1, "B")}, seed=seed)
    gan.compile(optimizers={n: keras.optimizers.Adam(lr, beta_1=0.5) for n in gan.networks})
    gan.build_optimizers()
    return gan


def two_domain_data(n=512, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, DIM)) - SHIFT
    b = rng.normal(size=(n, DIM)) * 0.5 + SHIFT
    return a.astype(np.float32), b.astype(np.float32)


def dataset(arrays, batch=64, seed=0):
    return tf.data.Dataset.from_tensor_slices(arrays).shuffle(4096, seed=seed).batch(batch, drop_remainder=True)


def train(kind: str, out, epochs: int = 40) -> dict:
    """Build and train the ``kind`` shape ("conditional" or "two_domain") in the current strategy's scope,
    with the project's run callbacks writing to ``out``; returns plain figures for the tests to judge."""
    from tfmat.training import fit, run_callbacks

    strategy = tf.distribute.get_strategy()
    if kind == "conditional":
        x, onehot = conditional_data()
        gan = conditional()
        history = fit(gan, lambda e: dataset((x, onehot), seed=e), epochs, run_callbacks(out), strategy=strategy).history
        labels = tf.constant(np.repeat(np.eye(CLASSES, dtype=np.float32), 500, axis=0))
        fake = gan.generator([tf.random.normal((1000, NOISE), seed=1), labels]).numpy()
        means = [float(fake[:500].mean()), float(fake[500:].mean())]
    else:
        a, b = two_domain_data()
        gan = two_domain()
        history = fit(gan, lambda e: dataset((a, b), seed=e), epochs, run_callbacks(out), strategy=strategy).history
        means = [float(gan.generators["ab"](a[:256]).numpy().mean()),
                 float(gan.generators["ba"](b[:256]).numpy().mean())]
    return {"history": {k: [float(v) for v in vs] for k, vs in history.items()}, "means": means,
            "iterations": {n: int(o.iterations.numpy()) for n, o in gan.optimizers.items()},
            "replicas": strategy.num_replicas_in_sync}
