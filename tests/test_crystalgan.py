"""CrystalGAN: the block codec, the metal-distance constraint, the three-step model, its run and its output."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from conftest import REFERENCE, ROOT, need
from tfmat.gan.config import CrystalGanConfig
from tfmat.gan.crystalgan import build_crystalgan, sample_arrays, sampler_of
from tfmat.structure.blocks import PDNIH, decode, encode_one, load_domain, species_counts
from tfmat.structure.constraints import geometric_terms, in_range, metal_distances, metal_distances_tf
from tfmat.structure.crystal import Crystal

SMALL = CrystalGanConfig(width=16, depth=3, batch_size=4)
CRYSTAL = REFERENCE / "crystal"


def binary(metal: str, a: float, rng) -> Crystal:
    """A rock-salt metal hydride (4 metal + 4 H atoms), its cell and sites slightly perturbed."""
    metals = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    frac = np.concatenate([metals + 0.5 * np.array([1, 0, 0]), metals]) + rng.normal(0, 0.01, (8, 3))
    lattice = np.diag([a, a, a]) + rng.normal(0, 0.05, (3, 3))
    return Crystal(lattice, ["H"] * 4 + [metal] * 4, frac)


def domains(n=8, seed=0):
    rng = np.random.default_rng(seed)
    a = np.stack([encode_one(binary("Pd", 4.0, rng)) for _ in range(n)]).astype(np.float32)
    b = np.stack([encode_one(binary("Ni", 3.7, rng)) for _ in range(n)]).astype(np.float32)
    return a, b


def min_image_gap(x: Crystal, y: Crystal) -> float:
    """The largest distance between a site of x and the same site of y, over periodic images (Å)."""
    diff = y.frac - x.frac
    diff -= np.rint(diff)
    return float(np.linalg.norm(diff @ x.lattice, axis=1).max())


def test_round_trip_keeps_cell_sites_and_species():
    rng = np.random.default_rng(1)
    for _ in range(20):
        lattice = rng.normal(0, 1, (3, 3)) + np.diag(rng.uniform(2.5, 6, 3))
        if np.linalg.det(lattice) < 0:
            lattice[0] *= -1
        species = ["H"] * rng.integers(1, 19) + ["Pd"] * rng.integers(0, 7) + ["Ni"] * rng.integers(0, 7)
        crystal = Crystal(lattice, species, rng.uniform(-1, 2, (len(species), 3)))
        (back,), (reason,) = decode(encode_one(crystal)[None])
        assert reason is None and back.species == crystal.species
        np.testing.assert_allclose(back.lattice, crystal.lattice, atol=1e-5)
        assert min_image_gap(crystal, back) < 1e-5


def test_a_left_handed_cell_decodes_to_the_same_atoms():
    from tfmat.structure.codec import scale_frac

    crystal = binary("Pd", 4.0, np.random.default_rng(2))
    arrays = encode_one(crystal)[None]
    arrays[0, 0, :3] = -crystal.lattice / PDNIH.length_scale  # −L, left-handed
    arrays[0, 1:3, :4] = scale_frac(-crystal.frac).reshape(2, 4, 3)  # −f: the same points
    (back,), (reason,) = decode(arrays)
    assert reason is None and np.linalg.det(back.lattice) > 0
    np.testing.assert_allclose(back.lattice, crystal.lattice, atol=1e-9)
    assert min_image_gap(crystal, back) < 1e-9


def test_encode_refuses_what_does_not_fit():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="Fe"):
        encode_one(Crystal(np.eye(3) * 4, ["Fe", "H"], rng.uniform(size=(2, 3))))
    with pytest.raises(ValueError, match="19 H atoms"):
        encode_one(Crystal(np.eye(3) * 9, ["H"] * 19, rng.uniform(size=(19, 3))))


def test_empty_and_flat_arrays_decode_to_none_with_a_reason():
    arrays = np.zeros((2, 4, 18, 3))
    arrays[1, 1, 0] = 0.5  # an H atom in a cell with no volume
    crystals, reasons = decode(arrays)
    assert crystals == [None, None]
    assert reasons[0] == "no atoms" and reasons[1].startswith("cell:")


def test_poscar_directory_loads_with_rejects(tmp_path):
    rng = np.random.default_rng(0)
    binary("Pd", 4.0, rng).write(tmp_path / "good_POSCAR")
    binary("Ni", 3.7, rng).write(tmp_path / "other_POSCAR")  # domain B's metal
    (tmp_path / "broken_POSCAR").write_text("not a structure\n")
    data = load_domain(tmp_path, "A")
    assert data.names == ["good_POSCAR"] and data.arrays.shape == (1, 4, 18, 3)
    assert species_counts(data.arrays).tolist() == [[4, 4, 0]]
    reasons = dict(data.rejects)
    assert set(reasons) == {"other_POSCAR", "broken_POSCAR"}
    assert "no Pd" in reasons["other_POSCAR"]


@pytest.mark.shared
def test_reference_domains_round_trip_against_pymatgen():
    from pymatgen.core import Lattice, Structure
    from scipy.io import loadmat

    for metal, domain in (("Pd", "A"), ("Ni", "B")):
        path = need(CRYSTAL / f"crystalgan_{metal}H_dataset.mat")
        data = load_domain(path, domain)
        assert len(data) == 35 and not data.rejects
        cells = loadmat(path)[f"{metal}_POSCAR_data"]
        for arrays, row in zip(data.arrays, cells):
            block = 2 if domain == "A" else 3
            coords = np.concatenate([np.asarray(row[1], float), np.asarray(row[block], float)])
            species = ["H"] * len(row[1]) + [metal] * len(row[block])
            want = Structure(Lattice(np.asarray(row[0], float)), species, coords, coords_are_cartesian=True)
            (got,), _ = decode(arrays[None].astype(np.float64))
            got = got.to_pymatgen()
            np.testing.assert_allclose(got.lattice.matrix, want.lattice.matrix, atol=1e-5)
            assert [s.specie.symbol for s in got] == species
            # float32 storage: the sites come back within 1e-5 Å of the file's, images allowed
            assert max(g.distance(w) for g, w in zip(got, want)) < 1e-5
    example = load_domain(need(CRYSTAL / "crystalgan_POSCAR"), "A")
    assert species_counts(example.arrays).tolist() == [[4, 4, 0]]


def brute_force(crystal, a, b):
    """Shortest A–B, A–A′, B–B′ over every image within two cells (A′ ≠ the same site at zero shift)."""
    shifts = np.array([[i, j, k] for i in range(-2, 3) for j in range(-2, 3) for k in range(-2, 3)])
    species = np.asarray(crystal.species)

    def shortest(x, y, same):
        fx, fy = crystal.frac[species == x], crystal.frac[species == y]
        d = np.linalg.norm(((fy[None, :, None] + shifts[None, None]) - fx[:, None, None]) @ crystal.lattice, axis=-1)
        if same:
            d[np.arange(len(fx)), np.arange(len(fx)), len(shifts) // 2] = np.inf
        return d.min()

    return np.array([shortest(a, b, False), shortest(a, a, True), shortest(b, b, True)])


def test_metal_distances_match_a_brute_force_search_in_numpy_and_tensorflow():
    rng = np.random.default_rng(3)
    crystals = []
    for _ in range(12):
        species = ["H"] * 3 + ["Pd"] * rng.integers(1, 5) + ["Ni"] * rng.integers(1, 5)
        lattice = np.diag(rng.uniform(3, 6, 3)) + rng.normal(0, 0.3, (3, 3))
        crystals.append(Crystal(lattice, species, rng.uniform(size=(len(species), 3))))
    want = np.array([brute_force(c, "Pd", "Ni") for c in crystals])
    np.testing.assert_allclose([metal_distances(c, "Pd", "Ni") for c in crystals], want, atol=1e-9)
    arrays = np.stack([encode_one(c) for c in crystals]).astype(np.float32)
    got, present = metal_distances_tf(tf.constant(arrays), PDNIH)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-4)
    assert present.numpy().min() == 1.0
    one_metal = arrays[:1].copy()
    one_metal[:, 3] = 0  # no Ni: A–B and B–B′ do not exist
    assert metal_distances_tf(tf.constant(one_metal), PDNIH)[1].numpy().tolist() == [[0.0, 1.0, 0.0]]
    assert np.isnan(metal_distances(decode(one_metal)[0][0], "Pd", "Ni")[[0, 2]]).all()
    assert in_range([[1.8, 2.5, 3.0], [1.79, 2.5, 2.5], [np.nan, 2.0, 2.0]]).tolist() == [True, False, False]


def test_geometric_terms_by_hand():
    d = tf.constant([[1.0, 2.0, 4.0], [2.0, 2.5, 0.5]])
    present = tf.constant([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    geo1, geo2 = geometric_terms(d, present)  # hinge: (0.8² + 0) / 2 and (1² + 0) / 2
    np.testing.assert_allclose([float(geo1), float(geo2)], [0.32, 0.5], rtol=1e-6)
    # paper: min (1.8 − s)² is 0.04 and 0.04; −min (3 − s)² is −1 and −0.25
    geo1, geo2 = geometric_terms(d, present, form="paper")
    np.testing.assert_allclose([float(geo1), float(geo2)], [0.04, -0.625], rtol=1e-5)


def test_geometric_loss_reaches_the_step_3_generators_only():
    a, b = domains(4)
    gan = build_crystalgan(SMALL, PDNIH)
    with tf.GradientTape(persistent=True) as tape:
        fakes = gan.generate((tf.constant(a), tf.constant(b)), training=True)
        terms = gan.generator_terms((tf.constant(a), tf.constant(b)), fakes)
        geo = terms["geo1"] + terms["geo2"]
    assert float(geo) > 0
    for name in ("AHB2", "BHA2"):
        grads = tape.gradient(geo, gan.generators[name].trainable_variables)
        assert sum(float(tf.reduce_sum(tf.abs(g))) for g in grads) > 0, name
    for name in ("AHB1", "BHA1"):  # the transferred data carries no gradient back into step 1
        assert all(g is None for g in tape.gradient(geo, gan.generators[name].trainable_variables)), name


def test_every_discriminator_and_generator_trains():
    from tfmat.gan.run import hydride_pipeline

    a, b = domains(8)
    gan = build_crystalgan(SMALL, PDNIH)
    before = {n: [w.numpy().copy() for w in net.trainable_variables] for n, net in gan.networks.items()}
    history = gan.fit(hydride_pipeline(SMALL, a, b), epochs=2, verbose=0).history
    assert set(gan.critics) == {"AH", "BH", "AHB", "BHA"}
    for name, net in gan.networks.items():
        changed = [not np.array_equal(w0, w.numpy()) for w0, w in zip(before[name], net.trainable_variables)]
        assert all(changed), name
    assert {"rec_AH", "rec_BH", "rec_AHB", "rec_BHA", "geo1", "geo2", "d_loss_AH", "d_loss_BHA",
            "g_loss_AHB", "accuracy_BH"} <= set(history)


def test_baselines_sample_what_the_comparison_judges():
    a, b = domains(4)
    disco = build_crystalgan(CrystalGanConfig(variant="discogan", width=16, depth=3), PDNIH)
    assert set(disco.generators) == {"AHB1", "BHA1"} and set(disco.critics) == {"AH", "BH"}
    arrays, sources = sample_arrays(sampler_of(disco), 7, a, b)
    assert arrays.shape == (7, 4, 18, 3) and sources == ["A 0", "B 0", "A 1", "B 1", "A 2", "B 2", "A 3"]
    np.testing.assert_allclose(arrays[1], disco.generators["BHA1"](b[:1]).numpy()[0], atol=1e-6)
    noise = build_crystalgan(CrystalGanConfig(variant="noise", width=16, depth=3, noise_dim=8), PDNIH)
    arrays, sources = sample_arrays(sampler_of(noise), 5, seed=1)
    assert arrays.shape == (5, 4, 18, 3) and set(sources) == {"noise"}
    np.testing.assert_array_equal(arrays, sample_arrays(sampler_of(noise), 5, seed=1)[0])


@pytest.mark.shared
def test_short_training_on_the_reference_data_brings_metal_distances_into_range():
    from tfmat.gan.run import hydride_pipeline, hydride_quality

    cfg = CrystalGanConfig(epochs=200)
    a = load_domain(need(CRYSTAL / "crystalgan_PdH_dataset.mat"), "A").arrays
    b = load_domain(need(CRYSTAL / "crystalgan_NiH_dataset.mat"), "B").arrays
    gan = build_crystalgan(cfg, cfg.layout)
    arrays, _ = sample_arrays(sampler_of(gan), 70, a, b)
    before = metal_distances_tf(tf.constant(arrays), cfg.layout)
    violation_before = sum(float(t) for t in geometric_terms(*before))
    untrained = hydride_quality(sampler_of(gan), cfg, a, b)
    gan.fit(hydride_pipeline(cfg, a, b), epochs=cfg.epochs, verbose=0)
    arrays, _ = sample_arrays(sampler_of(gan), 70, a, b)
    violation_after = sum(float(t) for t in geometric_terms(*metal_distances_tf(tf.constant(arrays), cfg.layout)))
    trained = hydride_quality(sampler_of(gan), cfg, a, b)
    assert violation_after < 0.2 * violation_before
    assert untrained["in_range"] == 0.0 and trained["in_range"] > 0.1


def run_cli(*args, cwd=ROOT):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "tfmat", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True)


def test_train_resume_and_generate_structures_from_poscar_folders(tmp_path):
    from pymatgen.core import Structure

    rng = np.random.default_rng(0)
    for metal, a in (("Pd", 4.0), ("Ni", 3.7)):
        for i in range(6):
            binary(metal, a, rng).write(tmp_path / f"{metal}H" / f"{i}_POSCAR")
    run = tmp_path / "run"
    common = ["train-gan", "CrystalGAN", "--data-a", tmp_path / "PdH", "--data-b", tmp_path / "NiH", "--width", 16,
              "--depth", 3, "--batch-size", 3, "--select-every", 2, "--out", run, "--progress", 0]
    first = run_cli(*common, "--epochs", 2)
    assert first.returncode == 0, first.stderr
    assert "epochs 0→2" in first.stderr
    again = run_cli(*common, "--epochs", 3)
    assert again.returncode == 0 and "epochs 2→3" in again.stderr, again.stderr
    metrics = pd.read_csv(run / "metrics.csv")
    assert metrics["epoch"].tolist() == [0, 1, 2]
    assert {"geo1", "geo2", "rec_AH", "rec_BHA", "g_loss_BH", "in_range", "ternary"} <= set(metrics.columns)
    assert metrics["in_range"].isna().tolist() == [True, False, True]  # measured every 2 epochs
    out = tmp_path / "out"
    gen = run_cli("generate-structures", "--model", run, "--data-a", tmp_path / "PdH", "--data-b", tmp_path / "NiH",
                  "-n", 5, "-o", out)
    assert gen.returncode == 0, gen.stderr
    table = pd.read_csv(out / "structures.csv", keep_default_na=False)
    assert table["source"].tolist() == ["A 0", "B 0", "A 1", "B 1", "A 2"]
    assert {"d_A_B", "d_A_A", "d_B_B"} <= set(table.columns)
    for name in table["file"]:
        if name:
            cif = Structure.from_file(out / name)
            poscar = Structure.from_file(out / "poscar" / (os.path.basename(name)[:-4] + ".vasp"))
            assert cif.composition == poscar.composition
    judged = run_cli("evaluate-structures", out, "--data", tmp_path / "PdH")
    assert judged.returncode == 2 and "CrystalGAN hydrides" in judged.stderr
    missing = run_cli("generate-structures", "--model", run, "-n", 2, "-o", tmp_path / "none")
    assert missing.returncode == 2 and "--data-a" in missing.stderr
    assert not (tmp_path / "none").exists()


def test_train_gan_crystalgan_refuses_bad_input_with_exit_2(tmp_path):
    no_data = run_cli("train-gan", "CrystalGAN", "--data-a", tmp_path / "nowhere", "--data-b", "NiH", "--out",
                      tmp_path / "r")
    assert no_data.returncode == 2 and "--data-a" in no_data.stderr and "nowhere" in no_data.stderr
    wrong_flag = run_cli("train-gan", "CrystalGAN", "--gp-weight", 1, "--out", tmp_path / "r")
    assert wrong_flag.returncode == 2 and "does not apply to CrystalGAN" in wrong_flag.stderr
    bad_range = run_cli("train-gan", "CrystalGAN", "--d1", 3, "--d2", 2, "--out", tmp_path / "r")
    assert bad_range.returncode == 2 and "0 < d1 < d2" in bad_range.stderr


@pytest.mark.shared
def test_readme_crystalgan_examples_run_shortened(tmp_path, monkeypatch):
    """Every ``train_gan.py CrystalGAN`` line in the README runs (2 epochs) on the reference files it names."""
    import re
    import shlex

    from tfmat.cli import main

    need(CRYSTAL / "crystalgan_PdH_dataset.mat")
    lines = re.findall(r"^    (python train_gan\.py CrystalGAN .*)$", (ROOT / "README.md").read_text(), re.M)
    assert lines, "the README shows no CrystalGAN training command"
    monkeypatch.chdir(tmp_path)
    for i, line in enumerate(lines):
        argv = ["train-gan", *shlex.split(line.split("#")[0])[2:]]
        assert main([*argv, "--epochs", "2", "--progress", "0", "--out", str(tmp_path / f"r{i}")]) == 0, line
