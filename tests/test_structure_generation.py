"""Generating crystals from a CCCGAN and judging them: slot masking, the clash term, matching,
the random baseline, the CIF folder and the two commands."""
import json

import numpy as np
import pytest
import tensorflow as tf

from conftest import REFERENCE, need
from tfmat.cli import main
from tfmat.gan.cccgan import Repel, build_generator, clash, layout_config, sample_matrices
from tfmat.gan.config import CCCGanConfig
from tfmat.structure.codec import MGMNO, composition_onehot, counts, decode, encode
from tfmat.structure.crystal import Crystal

ROCKSALT = Crystal.from_parameters(4.2, 4.2, 4.2, 90, 90, 90, ["Mg"] * 4 + ["O"] * 4,
                                   [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5],
                                    [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5], [0.5, 0.5, 0.5]])


def test_masked_generator_fills_exactly_the_requested_slots():
    rng = np.random.default_rng(0)
    wanted = np.stack([rng.integers(0, n + 1, size=40) for n in MGMNO.slots], axis=1)
    g = build_generator(MGMNO, 16, 8, mask_slots=True)
    m = sample_matrices(g, MGMNO, wanted, seed=1)
    np.testing.assert_array_equal(counts(m, MGMNO), wanted)
    atoms = m[:, 2:][m[:, 2:].sum(-1) > 0]
    assert atoms.min() >= 1 / 6 - 1e-6 and atoms.max() <= 5 / 6 + 1e-6  # where the codec puts real atoms
    pushed = sample_matrices(build_generator(MGMNO, 16, 8, mask_slots=True, repel_steps=3), MGMNO, wanted, seed=1)
    np.testing.assert_array_equal(counts(pushed, MGMNO), wanted)
    free = sample_matrices(build_generator(MGMNO, 16, 8, mask_slots=False), MGMNO, wanted, seed=1)
    assert not np.array_equal(counts(free, MGMNO), wanted)  # unmasked, an untrained generator ignores the request


def test_clash_is_the_squared_overlap_of_close_pairs_and_moves_atoms_only():
    crystal = Crystal.from_parameters(5, 5, 5, 90, 90, 90, ["Mg", "O", "O"], [[0.1, 0.1, 0.1], [0.3, 0.1, 0.1],
                                                                              [0.1, 0.1, 0.6]])
    m = tf.Variable(encode([crystal], MGMNO))
    occupied = tf.constant((np.asarray(m)[:, 2:].sum(-1) > 0.4).astype(np.float32))
    with tf.GradientTape() as tape:
        value = clash(m, occupied, MGMNO, contact=1.4)
    # Mg–O 1.0 Å apart (0.4² = 0.16); the other pairs are 2.5 Å and 2.69 Å apart
    assert float(value) == pytest.approx(0.16, rel=1e-4)
    grad = tape.gradient(value, m).numpy()[0]
    assert np.abs(grad[:2]).max() == 0  # the cell rows
    assert np.abs(grad[2]).max() > 0 and np.abs(grad[18]).max() > 0  # the two atoms in contact


def test_repel_pushes_clashing_atoms_to_contact_and_leaves_the_rest():
    from tfmat.structure.validity import min_distance

    crystal = Crystal.from_parameters(5, 5, 5, 90, 90, 90, ["Mg", "O", "O"], [[0.1, 0.1, 0.1], [0.3, 0.1, 0.1],
                                                                              [0.1, 0.1, 0.6]])
    m = encode([crystal], MGMNO)
    mask = tf.constant((m[:, 2:].sum(-1) > 0.4).astype(np.float32))
    coords = tf.Variable(m[:, 2:, :, None])
    with tf.GradientTape() as tape:
        out = Repel(layout_config(MGMNO), contact=1.4, steps=5)([coords, tf.constant(m[:, :2, :, None]), mask])
        total = tf.reduce_sum(out)
    moved = m.copy()
    moved[:, 2:] = out.numpy()[..., 0]
    pushed = decode(moved, MGMNO).crystals[0]
    # the Mg–O pair 1.0 Å apart ends 1.4 Å apart, each atom moved along x; the far O stays put
    assert min_distance(pushed) == pytest.approx(1.4, abs=1e-3)
    np.testing.assert_allclose(pushed.frac[:, 1:], crystal.frac[:, 1:], atol=1e-6)
    np.testing.assert_allclose(pushed.frac[2], crystal.frac[2], atol=1e-6)
    assert np.abs(moved[0, 3:18]).max() == 0 and np.abs(moved[0, 20:]).max() == 0  # empty slots stay empty
    grad = tape.gradient(total, coords).numpy()
    assert np.isfinite(grad).all() and np.abs(grad).max() > 0
    flat = m.copy()
    flat[:, 1] = 120.0 / MGMNO.angle_scale  # three 120° angles: a cell with no volume
    kept = Repel(layout_config(MGMNO), steps=5)([tf.constant(flat[:, 2:, :, None]), tf.constant(flat[:, :2, :, None]),
                                                 mask]).numpy()[..., 0]
    np.testing.assert_allclose(kept, flat[:, 2:], atol=1e-6)


def test_matching_finds_the_same_structure_moved_or_enlarged():
    from pymatgen.core import Structure

    from tfmat.structure.matching import novel_mask, reduce_all, unique_mask

    moved = Crystal(ROCKSALT.lattice, ROCKSALT.species, (ROCKSALT.frac + 0.13) % 1.0)
    s = ROCKSALT.to_pymatgen()
    s.make_supercell([2, 1, 1])
    bigger = Crystal.from_pymatgen(s)
    rng = np.random.default_rng(2)
    scrambled = Crystal(ROCKSALT.lattice, ROCKSALT.species, rng.uniform(size=(8, 3)))
    reduced = reduce_all([ROCKSALT, moved, bigger, scrambled, None])
    assert unique_mask(reduced).tolist() == [True, False, False, True, False]
    assert unique_mask(reduced, groups=["a", "b", "a", "a", "a"]).tolist() == [True, True, False, True, False]
    assert novel_mask(reduced, reduce_all([bigger])).tolist() == [False, False, False, True, False]
    from pymatgen.analysis.structure_matcher import StructureMatcher  # the oracle, on the raw crystals
    oracle = StructureMatcher()
    raw = [c.to_pymatgen() for c in (ROCKSALT, moved, bigger, scrambled)]
    assert [oracle.fit(raw[0], r) for r in raw[1:]] == [True, True, False]
    assert isinstance(reduced[0], Structure)


def test_random_baseline_uses_a_training_cell_of_the_requested_composition():
    from tfmat.structure.evaluation import crystal_counts, random_baseline

    other = Crystal.from_parameters(3, 3, 6, 90, 90, 120, ["Mg", "Mn", "O", "O"], np.full((4, 3), 0.25))
    requested = np.array([[4, 0, 4], [2, 1, 3], [1, 1, 2]])
    out = random_baseline(requested, [ROCKSALT, other], MGMNO.elements, seed=0)
    assert [crystal_counts(c, MGMNO.elements).tolist() for c in out] == requested.tolist()
    np.testing.assert_allclose(out[0].lattice, ROCKSALT.lattice)
    np.testing.assert_allclose(out[2].lattice, other.lattice)
    # Mg2MnO3 is absent: the nearest training cell (other, 4 atoms) grown to 6 atoms at the same volume per atom
    assert abs(np.linalg.det(out[1].lattice)) == pytest.approx(1.5 * abs(np.linalg.det(other.lattice)))
    assert not np.allclose(out[0].frac, ROCKSALT.frac)


def test_evaluation_counts_undecoded_samples_against_every_share():
    from tfmat.structure.evaluation import evaluate

    clashing = Crystal(ROCKSALT.lattice, ROCKSALT.species, np.vstack([ROCKSALT.frac[:7], [[0.01, 0, 0]]]))
    requested = np.array([[4, 0, 4]] * 4)
    figures, samples, unique, _ = evaluate([ROCKSALT, ROCKSALT, clashing, None], requested, MGMNO.elements,
                                           reasons=[None, None, None, "no atoms"])
    assert figures["valid"] == 0.5 and figures["conditioned"] == 0.75 and figures["unique"] == 0.5
    assert figures["composition_valid"] == 0.75  # Mg4O4 is charge neutral
    assert samples[3].reason == "no atoms" and not samples[2].valid
    assert samples[0].density == pytest.approx(ROCKSALT.to_pymatgen().density, rel=1e-6)


def _tiny_model(tmp_path, mask_slots=True):
    cfg = CCCGanConfig(noise_dim=16, width=8, mask_slots=mask_slots, repel_steps=2 if mask_slots else 0)
    folder = tmp_path / "model"
    folder.mkdir()
    keras_seed = tf.keras.utils.set_random_seed
    keras_seed(0)
    build_generator(MGMNO, cfg.noise_dim, cfg.width, cfg.mask_slots, cfg.repel_steps,
                    cfg.contact).save(folder / "generator.keras")
    (folder / "config.json").write_text(json.dumps(cfg.to_dict()))
    return folder


def test_generate_structures_writes_cifs_pymatgen_reads(tmp_path, capsys):
    import pandas as pd
    from pymatgen.core import Structure

    from tfmat.structure.output import read_structures

    model, out = _tiny_model(tmp_path), tmp_path / "out"
    assert main(["generate-structures", "--model", str(model), "--composition", "Mg2MnO4", "--composition",
                 "Mg4Mn2O8", "-n", "5", "-o", str(out), "--seed", "3"]) == 0
    table = pd.read_csv(out / "structures.csv", keep_default_na=False)
    assert table.requested.tolist() == ["Mg2Mn1O4"] * 5 + ["Mg4Mn2O8"] * 5
    assert (table.decoded[table.file != ""] == table.requested[table.file != ""]).all()
    folder = read_structures(out)
    assert len(folder) == 10 and set(table.novel) == {""}
    for name, crystal, valid in zip(table.file, folder.crystals, table.valid):
        assert len(crystal.species) == (7 if "Mg2Mn1O4" in name else 14)
        if valid:  # pymatgen merges coincident atoms, so only valid crystals read back whole through it
            assert len(Structure.from_file(out / name)) == len(crystal.species)
    again = tmp_path / "again"
    assert main(["generate-structures", "--model", str(model), "--composition", "Mg2MnO4", "--composition",
                 "Mg4Mn2O8", "-n", "5", "-o", str(again), "--seed", "3"]) == 0
    assert (again / "structures.csv").read_text() == (out / "structures.csv").read_text()  # seeded
    capsys.readouterr()
    assert main(["generate-structures", "--model", str(model), "--composition", "Mg2MnO4", "-n", "5", "-o",
                 str(out)]) == 2  # exists
    assert "--overwrite" in capsys.readouterr().err
    for bad, why in [("Mg2FeO4", "Fe"), ("Mg9O9", "more than the 8 Mg slots"), ("Mg2.5O4", "whole number"),
                     ("Mg(", "Mg(")]:
        assert main(["generate-structures", "--model", str(model), "--composition", bad, "-n", "2", "-o",
                     str(tmp_path / "bad")]) == 2
        assert why in capsys.readouterr().err
    assert main(["generate-structures", "--model", str(tmp_path), "--composition", "MgO", "-n", "2", "-o",
                 str(tmp_path / "bad")]) == 2
    assert "not a CCCGAN model folder" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_structure_folder_round_trips_through_cif(tmp_path):
    from pymatgen.analysis.structure_matcher import StructureMatcher
    from pymatgen.core import Structure

    from tfmat.structure.evaluation import describe
    from tfmat.structure.output import read_structures, write_structures

    piled = Crystal(ROCKSALT.lattice, ROCKSALT.species, np.zeros((8, 3)))  # eight atoms on one spot
    crystals = [ROCKSALT, piled, None]
    samples = [describe(c, [4, 0, 4], MGMNO.elements, "no atoms") for c in crystals]
    write_structures(tmp_path / "out", crystals, samples, np.array([True, True, False]))
    folder = read_structures(tmp_path / "out")
    assert folder.table.valid.tolist() == [True, False, False] and folder.table.reason[2] == "no atoms"
    assert StructureMatcher().fit(Structure.from_file(tmp_path / "out" / folder.table.file[0]), ROCKSALT.to_pymatgen())
    np.testing.assert_allclose(folder.crystals[0].frac, ROCKSALT.frac, atol=1e-6)
    assert len(folder.crystals[1].species) == 8 and folder.crystals[2] is None
@pytest.mark.shared
def test_evaluate_structures_beside_the_random_baseline(tmp_path, capsys):
    from tfmat.structure.data import load_structures

    data = load_structures(need(REFERENCE / "crystal" / "mgmno_unique_sc.npy"))
    train = tmp_path / "train"
    for i in range(0, len(data), 60):  # a small training folder of CIFs, as a user has
        decode(data.matrices[i], MGMNO).crystals[0].write(train / f"{data.names[i]}.cif")
    out = tmp_path / "out"
    assert main(["generate-structures", "--model", str(_tiny_model(tmp_path)), "--composition", "Mg4Mn4O8",
                 "-n", "6", "-o", str(out), "--data", str(train)]) == 0
    assert main(["evaluate-structures", str(out), "--data", str(train)]) == 0
    result = json.loads((out / "evaluation.json").read_text())
    for side in ("generated", "random_baseline"):
        f = result[side]
        assert f["samples"] == 6 and f["conditioned"] == f["decoded"]
        assert {"valid", "composition_valid", "unique", "novel", "wasserstein_density", "wasserstein_atoms",
                "wasserstein_min_distance"} <= set(f)
    assert result["random_baseline"]["conditioned"] == 1.0
    assert (out / "evaluation.png").stat().st_size > 0
    assert main(["evaluate-structures", str(out), "--data", str(train)]) == 2  # evaluation.json exists
    assert main(["evaluate-structures", str(tmp_path), "--data", str(train), "-o", str(tmp_path / "x.json")]) == 2
    assert "structures.csv" in capsys.readouterr().err


def test_coverage_counts_reference_crystals_with_a_near_generated_one():
    from tfmat.structure.coverage import composition_fingerprints, coverage, structure_fingerprints

    moved = Crystal(ROCKSALT.lattice, ROCKSALT.species, (ROCKSALT.frac + 0.13) % 1.0)
    fs = structure_fingerprints([ROCKSALT, moved, None])
    assert fs.shape == (3, 61) and np.isnan(fs[2]).all()
    np.testing.assert_allclose(fs[0], fs[1], atol=1e-9)  # a translation leaves the fingerprint alone
    fc = composition_fingerprints([ROCKSALT, None])
    assert fc.shape == (2, 132) and np.isfinite(fc[0]).all() and np.isnan(fc[1]).all()
    ref_s, ref_c = np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[0.0], [2.0]])  # standardised: -1, 1
    gen_s = np.array([[0.1, 0.0], [5.0, 5.0], [np.nan, np.nan]])
    gen_c = np.array([[0.0], [0.0], [np.nan]])
    cov = coverage(gen_s, gen_c, ref_s, ref_c, structure_cutoff=0.4, composition_cutoff=0.5)
    # reference 0 has generated 0 near in both; reference 1 is 0.9 from it. Of the generated, only 0 is near.
    assert cov["cov_recall"] == 0.5 and cov["cov_precision"] == pytest.approx(1 / 3)
    assert coverage(gen_s, gen_c, ref_s, ref_c, structure_cutoff=1.0, composition_cutoff=0.5)["cov_recall"] == 0.5
    assert coverage(gen_s, gen_c, ref_s, ref_c, structure_cutoff=1.0, composition_cutoff=2.5)["cov_recall"] == 1.0
