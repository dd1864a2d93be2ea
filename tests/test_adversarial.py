"""The adversarial base (:mod:`tfmat.gan.adversarial`) serves GANs of other shapes than MatGAN's.

Tiny subclasses (``gan_shapes.py``) train on synthetic data: a conditional generator with an
auxiliary classifier (the CCCGAN shape) and two domains with two log-loss critics and a cycle
term (the CrystalGAN shape); each also under MirroredStrategy on two logical CPUs.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import gan_shapes as shapes
from conftest import ROOT
from tfmat.gan.adversarial import Adversarial, CriticInput

TESTS = Path(__file__).parent


def check_conditional(result):
    h = result["history"]
    assert {"d_loss", "g_loss", "gp", "wasserstein", "class_real", "class_fake"} == set(h)
    # the classifier learns the real classes, and the generator makes points of the class it is asked for
    assert h["class_real"][-1] < 0.05 < h["class_real"][0]
    assert h["class_fake"][-1] < h["class_fake"][0] / 4
    low, high = result["means"]
    assert low < -1.5 and high > 1.5, result["means"]  # the classes sit at ∓3
    steps = len(h["d_loss"]) * 512 // 64
    assert result["iterations"] == {"generator": steps, "critic": steps, "classifier": steps}


def check_two_domain(result):
    h = result["history"]
    assert set(h) == {"d_loss", "g_loss", "d_loss_A", "g_loss_A", "accuracy_A", "d_loss_B", "g_loss_B",
                      "accuracy_B", "cycle_a", "cycle_b"}  # log-loss: no gradient penalty
    assert h["cycle_a"][-1] < h["cycle_a"][0] / 5 and h["cycle_b"][-1] < h["cycle_b"][0] / 5
    ab, ba = result["means"]
    assert ab > 2.0 and ba < -2.0, result["means"]  # A (around −3) is carried to B (around +3) and back
    steps = len(h["d_loss"]) * 512 // 64
    assert result["iterations"] == {"ab": steps, "ba": steps, "A": steps, "B": steps}


def check_run_outputs(out: Path, history: dict):
    """Every tracked figure, named terms included, is in metrics.csv and in the TensorBoard scalars."""
    metrics = pd.read_csv(out / "metrics.csv")
    assert set(history) <= set(metrics.columns)
    for name, values in history.items():
        np.testing.assert_allclose(metrics[name], values, rtol=1e-6)
    tags = {}
    for event_file in (out / "logs").glob("events.out.tfevents.*"):
        for record in tf.data.TFRecordDataset(str(event_file)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(float(tf.make_ndarray(value.tensor)))
    for name, values in history.items():
        np.testing.assert_allclose(tags[f"epoch_{name}"], values, rtol=1e-6)


@pytest.mark.parametrize("kind,check", [("conditional", check_conditional), ("two_domain", check_two_domain)])
def test_shapes_train_and_log_every_named_term(kind, check, tmp_path):
    result = shapes.train(kind, tmp_path)
    assert result["replicas"] == 1
    check(result)
    check_run_outputs(tmp_path, result["history"])


MIRRORED = r"""
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import gan_shapes as shapes
from tfmat.distribute import select_strategy
with select_strategy("mirrored").scope():
    print(json.dumps({kind: shapes.train(kind, sys.argv[3] + "/" + kind) for kind in ("conditional", "two_domain")}))
"""


def test_shapes_train_under_mirrored_strategy_on_two_logical_cpus(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-c", MIRRORED, str(ROOT), str(TESTS), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for kind, check in (("conditional", check_conditional), ("two_domain", check_two_domain)):
        assert results[kind]["replicas"] == 2
        check(results[kind])
        check_run_outputs(tmp_path / kind, results[kind]["history"])


# --------------------------------------------------------------------------- gradient penalty per critic
def _linear(name, *shapes_in, weights):
    """A critic D(x₁, …) = Σ ⟨wᵢ, xᵢ⟩ with fixed weights."""
    inputs = [keras.Input(s) for s in shapes_in]
    flat = [keras.layers.Flatten()(x) for x in inputs]
    joined = keras.layers.Concatenate()(flat) if len(flat) > 1 else flat[0]
    dense = keras.layers.Dense(1, use_bias=False)
    model = keras.Model(inputs if len(inputs) > 1 else inputs[0], dense(joined), name=name)
    dense.set_weights([np.concatenate([w.ravel() for w in weights])[:, None]])
    return model


class _Pairs(Adversarial):
    """One generator making a pair (x, y) of equal shapes; critic ``one`` scores x alone, critic ``pair``
    scores the pair (x, y) as one sample."""

    def generate(self, data, training=False):
        out = self.generator(self.noise("generator", self.batch_size(data)), training=training)
        return out[:, 0], out[:, 1]

    def critic_inputs(self, data, fakes):
        return {"one": CriticInput(data[0], fakes[0]), "pair": CriticInput(data, fakes)}


def test_gradient_penalty_per_critic_matches_hand_computed_values():
    rng = np.random.default_rng(4)
    w_one, u, v = (rng.normal(size=(5, 3)) * s for s in (0.3, 0.2, 0.4))
    z = keras.Input((6,))
    generator = keras.Model(z, keras.layers.Reshape((2, 5, 3))(keras.layers.Dense(30)(z)), name="generator")
    gan = _Pairs({"generator": generator},
                 {"one": _linear("one", (5, 3), weights=[w_one]), "pair": _linear("pair", (5, 3), (5, 3), weights=[u, v])},
                 seed=0)
    gan.compile(optimizers={n: keras.optimizers.SGD(0.0) for n in gan.networks})
    real = (tf.random.normal((16, 5, 3)), tf.random.normal((16, 5, 3)))
    logs = gan.train_step(real)
    # a linear critic's gradient is its weight vector everywhere: GP = (‖w‖ − 1)²
    assert float(logs["gp_one"]) == pytest.approx((np.linalg.norm(w_one) - 1) ** 2, rel=1e-5)
    # a pair is one sample: one norm over both tensors' gradients
    assert float(logs["gp_pair"]) == pytest.approx((np.sqrt((u ** 2).sum() + (v ** 2).sum()) - 1) ** 2, rel=1e-5)
    assert float(logs["d_loss"]) == pytest.approx(
        -float(logs["wasserstein_one"]) - float(logs["wasserstein_pair"])
        + 10 * (float(logs["gp_one"]) + float(logs["gp_pair"])), rel=1e-5)


def test_declared_terms_must_match_what_the_hooks_return():
    class Undeclared(shapes.TwoDomain):
        def generator_terms(self, data, fakes, training=True):
            return {**super().generator_terms(data, fakes, training), "extra": tf.constant(1.0)}

    gan = shapes.two_domain()
    bad = Undeclared(gan.generators, gan.critics)
    bad.compile(optimizers={n: keras.optimizers.Adam() for n in bad.networks})
    a, b = shapes.two_domain_data(64)
    with pytest.raises(ValueError, match="generator_terms returned .*'extra'.* declares"):
        bad.train_step((tf.constant(a), tf.constant(b)))
    with pytest.raises(ValueError, match="no optimizer for B"):
        shapes.two_domain().compile(optimizers={"ab": 1, "ba": 1, "A": 1})
    with pytest.raises(ValueError, match="distinct names"):
        Adversarial({"x": gan.generators["ab"]}, {"x": gan.critics["A"]})


def test_config_round_trip_keeps_every_network_and_setting():
    gan = shapes.two_domain()
    clone = shapes.TwoDomain.from_config(gan.get_config())
    assert set(clone.generators) == {"ab", "ba"} and set(clone.critics) == {"A", "B"}
    assert (clone.loss_name, clone.gp_weight, clone.generator_weights) == ("logistic", 0.0, {"cycle_a": 10.0, "cycle_b": 10.0})
    x = tf.random.normal((3, shapes.DIM))
    for name in ("ab", "ba"):
        clone.generators[name].set_weights(gan.generators[name].get_weights())
    out, again = gan({"ab": x, "ba": x}), clone({"ab": x, "ba": x})
    np.testing.assert_allclose(out["ab"], again["ab"]) and np.testing.assert_allclose(out["ba"], again["ba"])
    cond = shapes.conditional()
    onehot = tf.one_hot([0, 1, 1], shapes.CLASSES)
    z = tf.random.normal((3, shapes.NOISE))
    # call() passes the context on: the conditional generator sees the class
    np.testing.assert_allclose(cond([z, onehot]), cond.generator([z, onehot]))
    assert not np.allclose(cond([z, onehot]), cond([z, 1 - onehot]))
