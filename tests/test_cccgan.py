"""CCCGAN's networks and objective (:mod:`tfmat.gan.cccgan`) on the adversarial base."""
import numpy as np
import pytest
import tensorflow as tf

from conftest import REFERENCE, need
from tfmat.gan.cccgan import (CCCGAN, build_cccgan, build_classifier, build_critic, build_generator, occupancy,
                              requested_occupancy)
from tfmat.gan.config import CCCGanConfig
from tfmat.structure.codec import MGMNO, composition_onehot

SMALL = CCCGanConfig(width=16, noise_dim=32, critic_steps=2)


def test_network_shapes():
    g, c, q = build_generator(MGMNO, 32, 16), build_critic(MGMNO, 16), build_classifier(MGMNO, 16)
    z, onehot = tf.random.normal((5, 32)), tf.constant(composition_onehot([[2, 1, 4]] * 5, MGMNO))
    x = g([z, onehot], training=False)
    assert x.shape == (5, 30, 3) and float(tf.reduce_min(x)) >= 0 and float(tf.reduce_max(x)) <= 1
    assert c([x, onehot]).shape == (5, 1)
    assert [tuple(o.shape) for o in q(x)] == [(5, 28, 2), (5, 9), (5, 9), (5, 13)]


def test_critic_treats_the_slots_of_an_element_alike():
    critic = build_critic(MGMNO, 16)
    x = np.random.default_rng(0).uniform(size=(4, 30, 3)).astype(np.float32)
    onehot = tf.constant(composition_onehot([[2, 1, 4]] * 4, MGMNO))
    shuffled = x.copy()
    shuffled[:, 2:10] = x[:, 2:10][:, ::-1]  # reverse the Mg slots
    shuffled[:, 18:30] = np.roll(x[:, 18:30], 5, axis=1)  # rotate the O slots
    np.testing.assert_allclose(critic([tf.constant(x), onehot]), critic([tf.constant(shuffled), onehot]), rtol=1e-5, atol=1e-6)
    moved = x.copy()
    moved[:, 2] = x[:, 18]  # an Mg row swapped with an O row is a different crystal
    moved[:, 18] = x[:, 2]
    assert not np.allclose(critic([tf.constant(x), onehot]), critic([tf.constant(moved), onehot]))


def test_requested_and_read_occupancy():
    onehot = tf.constant(composition_onehot([[2, 1, 4], [0, 8, 12]], MGMNO))
    want = requested_occupancy(onehot, MGMNO).numpy()
    assert want.shape == (2, 28)
    assert want[0].tolist() == [1, 1] + [0] * 6 + [1] + [0] * 7 + [1] * 4 + [0] * 8
    assert want[1].tolist() == [0] * 8 + [1] * 20
    m = np.zeros((1, 30, 3), np.float32)
    m[0, 2] = 0.2  # row sum 0.6 > 0.4: an atom
    m[0, 3] = 0.1  # 0.3: empty
    assert occupancy(tf.constant(m), MGMNO).numpy()[0, :2].tolist() == [1, 0]


@pytest.mark.shared
def test_trains_on_the_reference_structures_and_round_trips_its_config():
    from tfmat.structure.augment import augmented_dataset
    from tfmat.structure.data import load_structures

    data = load_structures(need(REFERENCE / "crystal" / "mgmno_unique_sc.npy"))
    ds = augmented_dataset(data.matrices[:640], data.counts[:640], MGMNO, 32, seed=0, with_supercells=False)
    gan = build_cccgan(SMALL, MGMNO, steps_per_epoch=20)
    history = gan.fit(ds, epochs=3, verbose=0).history
    assert set(history) == {"d_loss", "g_loss", "gp", "wasserstein", "occupancy_real", "count_real",
                            "occupancy_fake", "count_fake", "clash"}
    assert all(np.isfinite(v).all() for v in history.values())
    assert history["occupancy_real"][-1] < history["occupancy_real"][0]  # the classifier learns real structures
    steps = {n: int(o.iterations.numpy()) for n, o in gan.optimizers.items()}
    assert steps["generator"] >= 60 and steps["critic"] == steps["classifier"] == 2 * steps["generator"]
    clone = CCCGAN.from_config(gan.get_config())
    assert clone.layout == MGMNO and clone.critic_steps == 2 and set(clone.auxiliaries) == {"classifier"}


def test_structure_validity_against_pymatgen():
    from pymatgen.core import Lattice, Structure

    from tfmat.structure.crystal import Crystal
    from tfmat.structure.validity import is_valid, min_distance

    rng = np.random.default_rng(3)
    for params in [(4, 5, 6, 90, 90, 90), (3, 3, 10, 90, 90, 20), (5, 6, 7, 70, 80, 100)]:
        frac = rng.uniform(size=(6, 3))
        crystal = Crystal.from_parameters(*params, species=["Mg", "Mn", "O", "O", "O", "Mg"], frac=frac)
        s = Structure(Lattice.from_parameters(*params), crystal.species, frac)
        d = s.distance_matrix + np.diag([np.inf] * 6)
        want = min(d.min(), min(np.linalg.norm(v) for v in Lattice.from_parameters(*params).get_lll_reduced_lattice().matrix))
        assert min_distance(crystal) == pytest.approx(want, abs=1e-6)
    close = Crystal.from_parameters(5, 5, 5, 90, 90, 90, ["Mg", "O"], [[0, 0, 0], [0.05, 0, 0]])  # 0.25 Å apart
    far = Crystal.from_parameters(5, 5, 5, 90, 90, 90, ["Mg", "O"], [[0, 0, 0], [0.5, 0, 0]])
    tiny = Crystal.from_parameters(0.4, 5, 5, 90, 90, 90, ["Mg"], [[0, 0, 0]])  # its own image 0.4 Å away
    assert (is_valid(close), is_valid(far), is_valid(tiny), is_valid(None)) == (False, True, False, False)


@pytest.mark.shared
def test_train_gan_cccgan_writes_a_run_and_extends_it(tmp_path, capsys):
    import json

    import pandas as pd

    from tfmat.cli import main

    npy = need(REFERENCE / "crystal" / "mgmno_unique_sc.npy")
    args = ["train-gan", "CCCGAN", "--data", str(npy), "--limit", "64", "--width", "16", "--latent-dim", "32",
            "--critic-steps", "1", "--select-samples", "40", "--progress", "0", "--out", str(tmp_path / "run")]
    assert main([*args, "--epochs", "1"]) == 0
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (cfg["noise_dim"], cfg["width"], cfg["critic_steps"], cfg["c_lr"], cfg["g_lr"]) == (32, 16, 1, 2.5e-5, 5e-5)
    assert main([*args, "--epochs", "2"]) == 0
    assert "epochs 1→2" in capsys.readouterr().err
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert metrics.epoch.tolist() == [0, 1]
    assert {"occupancy_real", "count_fake", "valid", "conditioned", "score"} <= set(metrics.columns)
    best = json.loads((tmp_path / "run" / "generator.keras.json").read_text())
    assert best["score"] == metrics.score.max()
    assert main([*args, "--epochs", "3", "--width", "8"]) == 2  # a different network cannot resume
    assert main(["train-gan", "CCCGAN", "--epochs", "1"]) == 2  # no --data
    assert main(["train-gan", "MP", "--width", "8", "--epochs", "1"]) == 2  # a CCCGAN-only flag
    capsys.readouterr()
    assert main([*args, "--epochs", "3", "--no-mask-slots"]) == 2  # the default push needs masked slots
    assert "--repel-steps needs --mask-slots" in capsys.readouterr().err
