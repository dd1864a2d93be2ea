"""The adversarial base: one ``train_step`` for every GAN of the project.

:class:`Adversarial` holds named networks on two sides. One ``train_step`` is
``critic_steps`` updates of the critic side, then one update of the generator
side::

    critic side:    L_D = Σ_c [ adv_D(D_c(real_c), D_c(fake_c)) + gp_weight · GP_c ] + Σ_t w_t · t
    generator side: L_G = Σ_c   adv_G(D_c(fake_c))                               + Σ_t w_t · t

``c`` runs over the critics, ``t`` over the named loss terms of that side.
Each network is updated by its own optimizer on its own variables.

Subclasses change the objective through hooks (each gets the batch as
``fit()`` feeds it, any nested structure):

``generate(data, training) -> fakes``
    Run the generators. By default: N(0, 1) noise through the one generator.
``critic_inputs(data, fakes) -> {critic: CriticInput}``
    What each critic scores. By default the one critic compares the batch
    with the fakes.
``critic_terms(data, fakes, training) -> {name: value}`` and ``generator_terms(...)``
    Extra scalar losses, unweighted. Their names and weights are declared at
    construction (``critic_terms={"aux": 1.0}``), and each gets a tracker.

The adversarial loss is :class:`Wasserstein` (with a gradient penalty when
``gp_weight`` > 0) or :class:`Logistic` (log-loss critics, non-saturating
generator).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import tensorflow as tf


@dataclass
class CriticInput:
    """What one critic scores: ``real`` and ``fake`` (nested structures of the same shape) and an
    optional ``condition`` that both share. With a condition the critic is called on the flat list of
    the sample's tensors followed by the condition's; the gradient penalty interpolates the sample only.
    """

    real: Any
    fake: Any
    condition: Any = None

    def call(self, critic, x, training):
        if self.condition is None:
            return critic(x, training=training)
        return critic([*tf.nest.flatten(x), *tf.nest.flatten(self.condition)], training=training)


def gradient_penalty(critic, real, fake, seed, condition=None, training: bool = True):
    """Mean over samples of (‖∇D(x̂)‖₂ − 1)², x̂ = x + ε (G(z) − x), ε ~ U(0, 1) per sample.

    ``real`` and ``fake`` may be nested structures: every tensor of a sample
    shares that sample's ε, and the norm runs over the gradients of all of
    them. ``critic(x, training=...)`` returns one score per sample; with a
    ``condition`` it is called as :meth:`CriticInput.call` does. ``seed`` is
    a stateless seed (two integers).
    """
    real = tf.nest.map_structure(tf.convert_to_tensor, real)
    leaves = tf.nest.flatten(real)
    fake = tf.nest.map_structure(lambda r, f: tf.cast(f, r.dtype), real, fake)
    eps = tf.random.stateless_uniform(tf.shape(leaves[0])[:1], seed=seed, dtype=leaves[0].dtype)

    def mix(r, f):
        e = tf.reshape(eps, tf.concat([tf.shape(eps), tf.ones([tf.rank(r) - 1], tf.int32)], axis=0))
        return r + e * (f - r)

    mixed = tf.nest.map_structure(mix, real, fake)
    with tf.GradientTape() as tape:
        tape.watch(tf.nest.flatten(mixed))
        score = CriticInput(None, None, condition).call(critic, mixed, training)
    grads = tape.gradient(score, tf.nest.flatten(mixed))
    squares = [tf.reduce_sum(tf.reshape(tf.square(g), [tf.shape(g)[0], -1]), axis=1) for g in grads]
    norm = tf.sqrt(tf.add_n(squares) + 1e-12)
    return tf.reduce_mean(tf.square(norm - 1.0))


class Wasserstein:
    """WGAN: the critic minimises E[D(fake)] − E[D(real)], the generator −E[D(fake)]."""

    name = "wasserstein"
    statistic = "wasserstein"  # E[D(real)] − E[D(fake)], tracked per critic

    @staticmethod
    def critic(real_score, fake_score):
        return tf.reduce_mean(fake_score) - tf.reduce_mean(real_score)

    @staticmethod
    def generator(fake_score):
        return -tf.reduce_mean(fake_score)

    @staticmethod
    def stat(real_score, fake_score):
        return tf.reduce_mean(real_score) - tf.reduce_mean(fake_score)


class Logistic:
    """Standard GAN on logits: the critic minimises the log-loss of real = 1, fake = 0; the
    generator the non-saturating −log σ(D(fake)). A sigmoid critic with cross-entropy, computed stably."""

    name = "logistic"
    statistic = "accuracy"  # share of real and fake samples the critic classifies right, tracked per critic

    @staticmethod
    def critic(real_score, fake_score):
        return tf.reduce_mean(tf.nn.softplus(-real_score)) + tf.reduce_mean(tf.nn.softplus(fake_score))

    @staticmethod
    def generator(fake_score):
        return tf.reduce_mean(tf.nn.softplus(-fake_score))

    @staticmethod
    def stat(real_score, fake_score):
        right = tf.concat([tf.reshape(real_score > 0, [-1]), tf.reshape(fake_score < 0, [-1])], axis=0)
        return tf.reduce_mean(tf.cast(right, tf.float32))


LOSSES = {loss.name: loss for loss in (Wasserstein, Logistic)}


def _networks(config: dict | None) -> dict:
    return {k: keras.saving.deserialize_keras_object(v) for k, v in (config or {}).items()}


@keras.saving.register_keras_serializable("tfmat")
class Adversarial(keras.Model):
    """Generators and critics trained against each other (see the module docstring).

    ``generators``, ``critics`` and ``auxiliaries`` map names to Keras
    models. Auxiliaries (a classifier, say) are updated with the critics but
    score nothing; they act through the named terms. ``compile(optimizers=
    {name: optimizer})`` needs one optimizer per network.

    Tracked: ``d_loss`` and ``g_loss`` (the totals); per critic the
    gradient penalty ``gp`` (unweighted, when ``gp_weight`` > 0) and the loss's
    statistic (``wasserstein`` or ``accuracy``); with several critics these
    end in ``_<critic>``, and each critic's adversarial losses are tracked as
    ``d_loss_<critic>`` and ``g_loss_<critic>``; every named term, unweighted.
    """

    def __init__(self, generators: dict, critics: dict, auxiliaries: dict | None = None,
                 loss: str = "wasserstein", gp_weight: float = 10.0, critic_steps: int = 1,
                 critic_terms: dict | None = None, generator_terms: dict | None = None, seed: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        if loss not in LOSSES:
            raise ValueError(f"unknown adversarial loss {loss!r}; choose one of {', '.join(LOSSES)}")
        self.generators, self.critics, self.auxiliaries = dict(generators), dict(critics), dict(auxiliaries or {})
        names = [*self.generators, *self.critics, *self.auxiliaries]
        if len(set(names)) != len(names) or not self.generators or not self.critics:
            raise ValueError(f"networks need distinct names and at least one generator and one critic: {names}")
        self.loss_name, self.adversarial_loss = loss, LOSSES[loss]
        self.gp_weight, self.critic_steps, self.seed = float(gp_weight), int(critic_steps), seed
        if self.critic_steps < 1:
            raise ValueError("critic_steps must be at least 1")
        self.critic_weights = {k: float(v) for k, v in (critic_terms or {}).items()}
        self.generator_weights = {k: float(v) for k, v in (generator_terms or {}).items()}
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self._tracked_names()}

    def _suffix(self, critic: str) -> str:
        return "" if len(self.critics) == 1 else f"_{critic}"

    def _tracked_names(self) -> list[str]:
        names = ["d_loss", "g_loss"]
        for c in self.critics:
            if len(self.critics) > 1:
                names += [f"d_loss_{c}", f"g_loss_{c}"]
            if self.gp_weight > 0:
                names.append("gp" + self._suffix(c))
            names.append(self.adversarial_loss.statistic + self._suffix(c))
        for term in [*self.critic_weights, *self.generator_weights]:
            if term in names:
                raise ValueError(f"loss term {term!r} is declared twice or clashes with a tracked figure")
            names.append(term)
        return names

    # ------------------------------------------------------------------ keras plumbing
    def compile(self, optimizers: dict, **kwargs):
        missing = {*self.generators, *self.critics, *self.auxiliaries} - set(optimizers)
        if missing:
            raise ValueError(f"no optimizer for {', '.join(sorted(missing))}")
        kwargs.setdefault("optimizer", None)  # the optimizers below do all the updates
        super().compile(**kwargs)
        self.optimizers = dict(optimizers)

    def build(self, input_shape=None):
        """The networks are built Keras models already; this marks the wrapper built."""
        self.built = True

    def build_optimizers(self):
        """Create every optimizer's slots now (needed before restoring a backup)."""
        self.build()
        for name, net in self.networks.items():
            self.optimizers[name].build(net.trainable_variables)

    @property
    def networks(self) -> dict:
        return {**self.generators, **self.critics, **self.auxiliaries}

    @property
    def generator(self) -> keras.Model:
        """The generator, when there is only one."""
        (net,) = self.generators.values()
        return net

    @property
    def critic(self) -> keras.Model:
        """The critic, when there is only one."""
        (net,) = self.critics.values()
        return net

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        """The generator's output for ``inputs``; with several generators, ``{name: output}`` for
        ``{name: input}``."""
        if len(self.generators) == 1:
            return next(iter(self.generators.values()))(inputs, training=training)
        return {name: self.generators[name](x, training=training) for name, x in inputs.items()}

    def get_config(self):
        ser = lambda nets: {k: keras.saving.serialize_keras_object(v) for k, v in nets.items()}  # noqa: E731
        return {**super().get_config(), "generators": ser(self.generators), "critics": ser(self.critics),
                "auxiliaries": ser(self.auxiliaries), "loss": self.loss_name, "gp_weight": self.gp_weight,
                "critic_steps": self.critic_steps, "critic_terms": self.critic_weights,
                "generator_terms": self.generator_weights, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for side in ("generators", "critics", "auxiliaries"):
            config[side] = _networks(config.get(side))
        return cls(**config)

    # ------------------------------------------------------------------ randomness
    def draw_seed(self):
        """A fresh stateless seed, different on every replica under ``tf.distribute``."""
        ctx = tf.distribute.get_replica_context()
        replica = 0 if ctx is None else ctx.replica_id_in_sync_group
        # the generator's state is (seed, counter); replicas get distant first components
        offset = tf.cast(replica, tf.int32) * 1_000_003
        return tf.cast(self.seed_generator.next(), tf.int32) + tf.stack([offset, 0])

    def noise(self, generator: str, batch_size):
        """N(0, 1) noise shaped like the first input of ``generator``."""
        shape = self.generators[generator].inputs[0].shape[1:]
        return tf.random.stateless_normal(tf.concat([[batch_size], shape], axis=0), seed=self.draw_seed())

    @staticmethod
    def batch_size(data):
        return tf.shape(tf.nest.flatten(data)[0])[0]

    # ------------------------------------------------------------------ hooks
    def generate(self, data, training=False):
        (name, generator), = self.generators.items()
        return generator(self.noise(name, self.batch_size(data)), training=training)

    def critic_inputs(self, data, fakes) -> dict:
        (name, _), = self.critics.items()
        return {name: CriticInput(data, fakes)}

    def critic_terms(self, data, fakes, training=True) -> dict:
        return {}

    def generator_terms(self, data, fakes, training=True) -> dict:
        return {}

    # ------------------------------------------------------------------ the algorithm
    def _weighted(self, terms: dict, weights: dict, side: str, figures: dict):
        if set(terms) != set(weights):
            raise ValueError(f"{side}_terms returned {sorted(terms)} but the model declares {sorted(weights)}")
        figures.update(terms)
        return tf.add_n([tf.constant(0.0)] + [weights[k] * tf.cast(v, tf.float32) for k, v in terms.items()])

    def _critic_loss(self, data, fakes, figures: dict):
        total = tf.constant(0.0)
        for name, inp in self.critic_inputs(data, fakes).items():
            critic, sfx = self.critics[name], self._suffix(name)
            real_score = inp.call(critic, inp.real, training=True)
            fake_score = inp.call(critic, inp.fake, training=True)
            adv = self.adversarial_loss.critic(real_score, fake_score)
            figures[self.adversarial_loss.statistic + sfx] = self.adversarial_loss.stat(real_score, fake_score)
            if len(self.critics) > 1:
                figures[f"d_loss_{name}"] = adv
            if self.gp_weight > 0:
                gp = gradient_penalty(critic, inp.real, inp.fake, self.draw_seed(), inp.condition)
                figures["gp" + sfx] = gp
                adv = adv + self.gp_weight * gp
            total = total + adv
        return total + self._weighted(self.critic_terms(data, fakes, training=True), self.critic_weights,
                                      "critic", figures)

    def _generator_loss(self, data, fakes, figures: dict):
        total = tf.constant(0.0)
        for name, inp in self.critic_inputs(data, fakes).items():
            adv = self.adversarial_loss.generator(inp.call(self.critics[name], inp.fake, training=True))
            if len(self.critics) > 1:
                figures[f"g_loss_{name}"] = adv
            total = total + adv
        return total + self._weighted(self.generator_terms(data, fakes, training=True), self.generator_weights,
                                      "generator", figures)

    @staticmethod
    def _replica_share(loss):
        # under tf.distribute the optimizers sum the replicas' gradients: each replica contributes its share
        return loss / tf.distribute.get_strategy().num_replicas_in_sync

    def _update(self, tape, scaled, names):
        nets = [self.networks[n] for n in names]
        grads = tape.gradient(scaled, [net.trainable_variables for net in nets])
        for name, net, g in zip(names, nets, grads):
            self.optimizers[name].apply_gradients(zip(g, net.trainable_variables))

    def train_step(self, data):
        figures = {}
        critic_side = [*self.critics, *self.auxiliaries]
        for _ in range(self.critic_steps):
            fakes = self.generate(data, training=True)
            with tf.GradientTape() as tape:
                d_loss = self._critic_loss(data, fakes, figures)
                scaled = self._replica_share(d_loss)
            self._update(tape, scaled, critic_side)
        with tf.GradientTape() as tape:
            fakes = self.generate(data, training=True)
            g_loss = self._generator_loss(data, fakes, figures)
            scaled = self._replica_share(g_loss)
        self._update(tape, scaled, list(self.generators))
        figures.update(d_loss=d_loss, g_loss=g_loss)
        for name, value in figures.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}
