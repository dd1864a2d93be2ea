"""The adversarial base: a Wasserstein GAN with gradient penalty (WGAN-GP).

:class:`AdversarialModel` owns the training loop once; the crystal GANs of the
project build on it by overriding small hooks instead of copying the loop.

One ``train_step`` = ``critic_steps`` critic updates, then one generator update::

    critic:    L_D = E[D(G(z))] - E[D(x)] + gp_weight * GP + critic_extra_loss
    generator: L_G = -E[D(G(z))] + generator_extra_loss

Hooks (override in a subclass; each receives the tensors of the current step):

``split_batch(data) -> (real, context)``
    What ``fit()`` feeds: by default the batch is the real samples and the
    context is ``None``. A composition-conditioned GAN returns its one-hot
    composition as context.
``sample_latent(batch_size, context)``
    The generator input; by default N(0, 1) noise of ``latent_dim``. A
    conditional generator returns ``[noise, context]``; a cross-domain GAN
    (CrystalGAN) returns the source-domain batch.
``generate(latent, context, training)`` / ``critic_score(x, context, training)``
    Forward passes; override to route context or to score several domains
    (sum the scores of two critics).
``critic_extra_loss(real, fake, context)`` / ``generator_extra_loss(latent, fake, context)``
    Extra scalar loss terms, zero by default: an auxiliary classifier's
    cross-entropy, a cycle reconstruction or a geometric distance term.
``critic_variables`` / ``generator_variables``
    What each optimizer updates; add an auxiliary classifier's or a second
    generator's variables here.
"""
from __future__ import annotations

import keras
import tensorflow as tf


def gradient_penalty(critic, real, fake, seed, training: bool = True):
    """Mean of (‖∇D(x̂)‖₂ − 1)² over x̂ = x + ε (G(z) − x), ε ~ U(0, 1) per sample.

    ``critic`` is any callable ``critic(x, training=...)`` returning one score
    per sample; ``seed`` a stateless seed (two integers).
    """
    real = tf.convert_to_tensor(real)
    fake = tf.cast(fake, real.dtype)
    shape = tf.concat([tf.shape(real)[:1], tf.ones([tf.rank(real) - 1], tf.int32)], axis=0)
    eps = tf.random.stateless_uniform(shape, seed=seed, dtype=real.dtype)
    mixed = real + eps * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        score = critic(mixed, training=training)
    grads = tape.gradient(score, mixed)
    norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=tf.range(1, tf.rank(grads))) + 1e-12)
    return tf.reduce_mean(tf.square(norm - 1.0))


class AdversarialModel(keras.Model):
    """WGAN-GP over a ``generator`` and a ``critic`` (see the module docstring for hooks).

    ``compile(d_optimizer=..., g_optimizer=...)`` then ``fit(dataset)``. The
    tracked metrics are ``d_loss``, ``g_loss``, ``gp`` (the gradient penalty
    before weighting) and ``wasserstein`` (E[D(x)] − E[D(G(z))]).
    """

    def __init__(self, generator: keras.Model, critic: keras.Model, latent_dim: int = 128,
                 critic_steps: int = 1, gp_weight: float = 10.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.critic = critic
        self.latent_dim = int(latent_dim)
        self.critic_steps = int(critic_steps)
        self.gp_weight = float(gp_weight)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.gp_tracker = keras.metrics.Mean(name="gp")
        self.wasserstein_tracker = keras.metrics.Mean(name="wasserstein")

    # ------------------------------------------------------------------ keras plumbing
    def compile(self, d_optimizer, g_optimizer, **kwargs):
        kwargs.setdefault("optimizer", None)  # the two optimizers below do all the updates
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    def build(self, input_shape=None):
        """The networks are built Keras models already; this marks the wrapper built."""
        self.built = True

    def build_optimizers(self):
        """Create the optimizer slots now (needed before restoring a backup)."""
        self.build()
        self.d_optimizer.build(self.critic_variables)
        self.g_optimizer.build(self.generator_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.gp_tracker, self.wasserstein_tracker]

    def call(self, latent, training=False):
        return self.generator(latent, training=training)

    def get_config(self):
        return {**super().get_config(),
                "generator": keras.saving.serialize_keras_object(self.generator),
                "critic": keras.saving.serialize_keras_object(self.critic),
                "latent_dim": self.latent_dim, "critic_steps": self.critic_steps,
                "gp_weight": self.gp_weight, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["critic"] = keras.saving.deserialize_keras_object(config["critic"])
        return cls(**config)

    # ------------------------------------------------------------------ hooks
    def split_batch(self, data):
        if isinstance(data, (tuple, list)):
            return data[0], (data[1] if len(data) > 1 else None)
        return data, None

    def draw_seed(self):
        """A fresh stateless seed, different on every replica under ``tf.distribute``."""
        ctx = tf.distribute.get_replica_context()
        replica = 0 if ctx is None else ctx.replica_id_in_sync_group
        # the generator's state is (seed, counter); replicas get distant first components
        offset = tf.cast(replica, tf.int32) * 1_000_003
        return tf.cast(self.seed_generator.next(), tf.int32) + tf.stack([offset, 0])

    def sample_latent(self, batch_size, context=None):
        return tf.random.stateless_normal((batch_size, self.latent_dim), seed=self.draw_seed())

    def generate(self, latent, context=None, training=False):
        return self.generator(latent, training=training)

    def critic_score(self, x, context=None, training=False):
        return self.critic(x, training=training)

    def critic_extra_loss(self, real, fake, context=None):
        return tf.constant(0.0)

    def generator_extra_loss(self, latent, fake, context=None):
        return tf.constant(0.0)

    @property
    def critic_variables(self):
        return self.critic.trainable_variables

    @property
    def generator_variables(self):
        return self.generator.trainable_variables

    # ------------------------------------------------------------------ the algorithm
    def train_step(self, data):
        real, context = self.split_batch(data)
        batch_size = tf.shape(real)[0]
        # Under tf.distribute the optimizers sum the replicas' gradients.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync

        for _ in range(self.critic_steps):
            latent = self.sample_latent(batch_size, context)
            fake = self.generate(latent, context, training=True)
            with tf.GradientTape() as tape:
                real_score = self.critic_score(real, context, training=True)
                fake_score = self.critic_score(fake, context, training=True)
                wasserstein = tf.reduce_mean(real_score) - tf.reduce_mean(fake_score)
                gp = gradient_penalty(lambda x, training: self.critic_score(x, context, training),
                                      real, fake, seed=self.draw_seed())
                d_loss = -wasserstein + self.gp_weight * gp + self.critic_extra_loss(real, fake, context)
                scaled = d_loss / replicas
            grads = tape.gradient(scaled, self.critic_variables)
            self.d_optimizer.apply_gradients(zip(grads, self.critic_variables))

        latent = self.sample_latent(batch_size, context)
        with tf.GradientTape() as tape:
            fake = self.generate(latent, context, training=True)
            g_loss = (-tf.reduce_mean(self.critic_score(fake, context, training=True))
                      + self.generator_extra_loss(latent, fake, context))
            scaled = g_loss / replicas
        grads = tape.gradient(scaled, self.generator_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator_variables))

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.gp_tracker.update_state(gp)
        self.wasserstein_tracker.update_state(wasserstein)
        return {m.name: m.result() for m in self.metrics}
