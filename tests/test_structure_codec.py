"""The CCCGAN matrix representation, its loaders and augmentation (tfmat.structure.codec/data/augment)."""
import itertools
import time

import numpy as np
import pytest
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from conftest import REFERENCE, need
from tfmat.structure.augment import SUPERCELL_AXES, augmented_dataset, permute_axes, supercells, swap_axes, translate
from tfmat.structure.codec import (MGMNO, SlotLayout, composition_from_string, composition_onehot, counts, decode,
                                   encode, occupied)
from tfmat.structure.crystal import Crystal
from tfmat.structure.data import load_structures

MGMNO_NPY = REFERENCE / "crystal" / "mgmno_unique_sc.npy"
THIRD = 1.0 / 3.0


def _random_crystals(n_atoms, seed=0):
    """Mg–Mn–O crystals with the given (Mg, Mn, O) counts, random cells of 3–7 Å and 70–110°."""
    rng = np.random.default_rng(seed)
    out = []
    for n in n_atoms:
        species = [e for e, k in zip(MGMNO.elements, n) for _ in range(k)]
        params = (*rng.uniform(3, 7, 3), *rng.uniform(70, 110, 3))
        out.append(Crystal.from_parameters(*params, species=species, frac=rng.random((len(species), 3))))
    return out


def _match(a, b, **kwargs):
    return StructureMatcher(**kwargs).fit(a.to_pymatgen(), b.to_pymatgen())


# --------------------------------------------------------------------------- layout
def test_layout_rows_ranges_and_width():
    assert MGMNO.rows == 30 and MGMNO.onehot_width == 31
    assert MGMNO.ranges == (range(2, 10), range(10, 18), range(18, 30))
    assert MGMNO.rows_of("O") == range(18, 30)
    other = SlotLayout(("Pd", "Ni", "H"), (4, 4, 8))  # another ternary system is a config
    assert other.rows == 18 and other.ranges[2] == range(10, 18) and other.onehot_width == 19
    for bad in [(("Mg", "Mg"), (1, 1)), (("Mg", "Xx"), (1, 1)), (("Mg", "O"), (1,)), (("Mg", "O"), (0, 2))]:
        with pytest.raises(ValueError):
            SlotLayout(*bad)


# --------------------------------------------------------------------------- encode / decode
def test_encode_hand_built_crystal_gives_exact_rows():
    crystal = Crystal.from_parameters(6.0, 9.0, 12.0, 90.0, 90.0, 120.0, species=["O", "Mg", "Mn", "O"],
                                      frac=[[0.25, 0.75, 1.0], [0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [-0.25, -1e-17, 1.5]])
    m = encode([crystal], MGMNO)
    assert m.shape == (1, 30, 3) and m.dtype == np.float32
    expected = np.zeros((30, 3))
    expected[0] = [0.2, 0.3, 0.4]
    expected[1] = [0.5, 0.5, 2 * THIRD]
    expected[2] = [1 / 6, 1 / 6, 1 / 6]  # Mg at P = 0
    expected[10] = [0.5, 0.5, 0.5]  # Mn at P = 0.5
    expected[18] = [THIRD, 2 * THIRD, 1 / 6]  # O: P = 1.0 wraps to 0; order as in the crystal
    expected[19] = [2 * THIRD, 1 / 6, 0.5]  # P = -0.25 → 0.75, -1e-17 → 0 (not 1), 1.5 → 0.5
    np.testing.assert_allclose(m[0], expected, atol=1e-6)
    back = decode(m, MGMNO).crystals[0]
    assert back.species == ("Mg", "Mn", "O", "O")
    np.testing.assert_allclose(back.parameters, (6, 9, 12, 90, 90, 120), atol=1e-4)
    np.testing.assert_allclose(back.frac, [[0, 0, 0], [0.5, 0.5, 0.5], [0.25, 0.75, 0], [0.75, 0, 0.5]], atol=1e-6)


def test_encode_accepts_pymatgen_and_keeps_site_order():
    structure = Structure(Lattice.cubic(4.2), ["O", "Mg", "O", "Mg"],
                          [[0.5, 0, 0], [0, 0, 0], [0, 0.5, 0], [0.5, 0.5, 0.5]])
    m = encode(structure, MGMNO)[0]
    np.testing.assert_allclose(m[2:4], [[1 / 6] * 3, [0.5] * 3], atol=1e-7)
    np.testing.assert_allclose(m[18:20], [[0.5, 1 / 6, 1 / 6], [1 / 6, 0.5, 1 / 6]], atol=1e-7)
    assert not m[4:18].any() and not m[20:].any()
    np.testing.assert_array_equal(m, encode([Crystal.from_pymatgen(structure)], MGMNO)[0])


def test_encode_names_the_structure_that_does_not_fit():
    fe, too_many = _random_crystals([(1, 1, 2)])[0], _random_crystals([(9, 0, 1)])[0]
    fe = Crystal(fe.lattice, ("Fe",) + fe.species[1:], fe.frac)
    with pytest.raises(ValueError, match=r"structure 1 \(.*Fe1.*\): element\(s\) Fe not in the layout \(Mg, Mn, O\)"):
        encode(_random_crystals([(1, 1, 1)]) + [fe], MGMNO)
    with pytest.raises(ValueError, match=r"^big: 9 Mg atoms, more than the 8 Mg slots"):
        encode([too_many], MGMNO, names=["big"])


def test_decode_reports_why_a_matrix_is_not_a_crystal():
    good = encode(_random_crystals([(2, 1, 3)]), MGMNO)[0]
    m = np.stack([good] * 5)
    m[1, 2:] = 0  # no atoms
    m[2, 1] = [100 / 180, 50 / 180, 20 / 180]  # 100° > 50° + 20°: no cell
    m[3, 0, 1] = -0.1
    m[4, 5, 0] = np.nan
    crystals, reasons = decode(m, MGMNO)
    assert isinstance(crystals[0], Crystal) and reasons[0] is None
    assert crystals[1:] == [None] * 4
    assert reasons[1:] == ["no atoms", "cell has non-positive volume", "cell has a non-positive length",
                           "non-finite values"]


def test_decode_threshold_decides_which_slots_are_atoms():
    m = encode(_random_crystals([(1, 0, 1)]), MGMNO)
    m[0, 10] = [0.13, 0.13, 0.13]  # row sum 0.39: empty
    m[0, 11] = [0.14, 0.14, 0.14]  # 0.42: an atom
    assert decode(m, MGMNO).crystals[0].species == ("Mg", "Mn", "O")
    np.testing.assert_array_equal(counts(m, MGMNO), [[1, 1, 1]])
    strict = SlotLayout(MGMNO.elements, MGMNO.slots, threshold=0.45)
    assert decode(m, strict).crystals[0].species == ("Mg", "O")


# --------------------------------------------------------------------------- compositions
def test_counts_and_composition_onehot():
    m = encode(_random_crystals([(4, 2, 8), (0, 8, 12), (1, 0, 0)]), MGMNO)
    c = counts(m, MGMNO)
    np.testing.assert_array_equal(c, [[4, 2, 8], [0, 8, 12], [1, 0, 0]])
    onehot = composition_onehot(c, MGMNO)
    assert onehot.shape == (3, 31) and onehot.dtype == np.float32
    assert (onehot.sum(axis=1) == 3).all()
    np.testing.assert_array_equal(np.flatnonzero(onehot[0]), [4, 9 + 2, 18 + 8])
    np.testing.assert_array_equal(np.flatnonzero(onehot[1]), [0, 9 + 8, 18 + 12])
    np.testing.assert_array_equal(np.flatnonzero(onehot[2]), [1, 9, 18])
    with pytest.raises(ValueError):
        composition_onehot([[9, 0, 0]], MGMNO)


def test_composition_from_string():
    np.testing.assert_array_equal(composition_from_string("Mg4Mn2O8", MGMNO), [4, 2, 8])
    np.testing.assert_array_equal(composition_from_string("Mg2MnO4", MGMNO), [2, 1, 4])  # taken as written
    np.testing.assert_array_equal(composition_from_string("O12Mn8", MGMNO), [0, 8, 12])
    for text, reason in [("Fe2O3", "Fe not in the layout"), ("Mg9O2", "9 Mg atoms, more than the 8 Mg slots"),
                         ("Mg0.5O", "not a whole number"), ("Mg2Xx", "unknown element"), ("", "empty")]:
        with pytest.raises(ValueError, match=reason):
            composition_from_string(text, MGMNO)


# --------------------------------------------------------------------------- the reference set
@pytest.mark.shared
def test_reference_set_round_trips(capsys):
    """The Done-when bar: all 2,627 structures survive decode → Crystal → encode → decode."""
    raw = np.load(need(MGMNO_NPY))
    data = load_structures(MGMNO_NPY)
    assert len(data) == 2627 and data.rejects == [] and data.names[5] == "npy row 5"
    np.testing.assert_array_equal(data.matrices, raw.astype(np.float32))
    start = time.perf_counter()
    first = decode(raw, MGMNO)
    assert all(r is None for r in first.reasons)
    again = encode(first.crystals, MGMNO)
    second = decode(again, MGMNO)
    codec_s = time.perf_counter() - start
    rows = np.concatenate([np.ones((len(raw), 2), bool), occupied(raw, MGMNO)], axis=1)
    assert np.abs(again - raw)[rows].max() < 1e-6
    assert not again[~rows].any()
    np.testing.assert_array_equal(counts(again, MGMNO), data.counts)
    start = time.perf_counter()
    matcher = StructureMatcher(primitive_cell=False)  # same sites in the same cell: no reduction needed
    failed = [i for i, (a, b) in enumerate(zip(first.crystals, second.crystals))
              if not matcher.fit(a.to_pymatgen(), b.to_pymatgen())]
    with capsys.disabled():
        print(f"\n  codec round trip {codec_s:.2f} s, StructureMatcher on 2,627 pairs {time.perf_counter() - start:.1f} s")
    assert failed == []


@pytest.mark.shared
def test_reference_augmentations_are_the_same_crystals():
    data = load_structures(need(MGMNO_NPY))
    pick = np.random.default_rng(0).choice(len(data), 40, replace=False)
    m = data.matrices[pick]
    original = decode(m, MGMNO).crystals
    for changed in (translate(m, np.random.default_rng(1)), swap_axes(m, np.random.default_rng(2))):
        assert all(_match(a, b) for a, b in zip(original, decode(changed, MGMNO).crystals))
    sc = supercells(m, MGMNO)
    assert len(sc.source) > 20
    _assert_supercells(m, sc, original)


# --------------------------------------------------------------------------- loaders
def test_cif_and_poscar_directory_round_trip(tmp_path):
    crystals = _random_crystals([(1, 1, 3), (2, 2, 4), (4, 2, 8)], seed=3)
    crystals[0].write(tmp_path / "a.cif")
    crystals[1].write(tmp_path / "b_POSCAR")
    crystals[2].write(tmp_path / "c.vasp")
    data = load_structures(tmp_path)
    assert data.names == ["a.cif", "b_POSCAR", "c.vasp"] and data.rejects == []
    assert data.matrices.shape == (3, 30, 3) and data.matrices.dtype == np.float32
    np.testing.assert_array_equal(data.counts, [[1, 1, 3], [2, 2, 4], [4, 2, 8]])
    for crystal, back in zip(crystals, decode(data.matrices, MGMNO).crystals):
        assert _match(crystal, back)


@pytest.mark.filterwarnings("ignore:.*CIF:UserWarning")
def test_directory_reports_rejects_and_keeps_the_rest(tmp_path):
    good, foreign, crowded = _random_crystals([(2, 1, 3), (1, 1, 1), (1, 1, 13)], seed=4)
    good.write(tmp_path / "good.cif")
    Crystal(foreign.lattice, ("Fe", "Mn", "O"), foreign.frac).write(tmp_path / "iron.cif")
    crowded.write(tmp_path / "crowded.cif")
    (tmp_path / "broken.cif").write_text("data_x\n_cell_length_a nonsense\n")
    (tmp_path / ".hidden").write_text("ignored")
    data = load_structures(tmp_path)
    assert data.names == ["good.cif"] and len(data.matrices) == 1
    rejects = dict(data.rejects)
    assert sorted(rejects) == ["broken.cif", "crowded.cif", "iron.cif"]
    assert "cannot read a crystal" in rejects["broken.cif"]
    assert "Fe not in the layout" in rejects["iron.cif"]
    assert "13 O atoms, more than the 12 O slots" in rejects["crowded.cif"]


def test_load_structures_paths(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_structures(tmp_path / "absent.npy")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="neither a .npy file of matrices nor a directory"):
        load_structures(tmp_path / "notes.txt")
    np.save(tmp_path / "wrong.npy", np.zeros((2, 29, 3)))
    with pytest.raises(ValueError, match=r"shape \(2, 29, 3\)"):
        load_structures(tmp_path / "wrong.npy")
    m = encode(_random_crystals([(1, 1, 2)] * 3), MGMNO).astype(np.float64)
    m[1, 2:] = 0
    np.save(tmp_path / "set.npy", m)
    data = load_structures(tmp_path / "set.npy")
    assert data.names == ["npy row 0", "npy row 2"] and data.rejects == [("npy row 1", "no atoms")]
    np.testing.assert_array_equal(data.matrices, m[[0, 2]].astype(np.float32))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert load_structures(empty).matrices.shape == (0, 30, 3)


# --------------------------------------------------------------------------- augmentation
def _assert_supercells(m, sc, original):
    """Each supercell has 2^k × the atoms and volume of its source and the same primitive cell."""
    factor = np.array([2 ** len(ax) for ax in sc.axes])
    np.testing.assert_array_equal(counts(sc.matrices, MGMNO), counts(m, MGMNO)[sc.source] * factor[:, None])
    for crystal, i, f in zip(decode(sc.matrices, MGMNO).crystals, sc.source, factor):
        source = original[i].to_pymatgen()
        big = crystal.to_pymatgen()
        assert big.volume == pytest.approx(f * source.volume, rel=1e-5)
        assert StructureMatcher(primitive_cell=True, scale=False).fit(source, big)
        assert len(big.get_primitive_structure()) == len(source.get_primitive_structure())


def test_supercells_which_are_made():
    m = encode(_random_crystals([(1, 1, 2), (2, 2, 4), (4, 4, 8), (2, 1, 3)]), MGMNO)
    m[3, 0, 0] = 16 / 30  # a = 16 Å: doubling it would leave the 30 Å scale
    sc = supercells(m, MGMNO)
    # (1, 1, 2): all six; (2, 2, 4): one axis only; (4, 4, 8): none; (2, 1, 3) with a = 16 Å: not along a
    assert sc.source.tolist() == [0] * 6 + [1] * 3 + [3] * 3
    assert sc.axes == list(SUPERCELL_AXES) + [(0,), (1,), (2,)] + [(1,), (2,), (1, 2)]
    np.testing.assert_array_equal(sc.matrices, supercells(m, MGMNO).matrices)  # deterministic
    np.testing.assert_allclose(sc.matrices[0, 0], m[0, 0] * [2, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(sc.matrices[3, 0], m[0, 0] * [2, 2, 1], rtol=1e-6)
    np.testing.assert_array_equal(sc.matrices[:, 1], m[sc.source, 1])


def test_supercells_are_the_same_crystal():
    m = encode(_random_crystals([(1, 1, 2), (2, 1, 3), (1, 2, 3)], seed=5), MGMNO)
    sc = supercells(m, MGMNO)
    assert len(sc.source) == 6 + 6 + 6
    _assert_supercells(m, sc, decode(m, MGMNO).crystals)


def test_translate_is_the_same_crystal_shifted():
    m = encode(_random_crystals([(1, 1, 2), (2, 3, 5), (4, 4, 8)], seed=6), MGMNO)
    moved = translate(m, np.random.default_rng(0))
    np.testing.assert_array_equal(moved[:, :2], m[:, :2])
    np.testing.assert_array_equal(occupied(moved, MGMNO), occupied(m, MGMNO))
    assert not moved[~np.concatenate([np.ones((3, 2), bool), occupied(m, MGMNO)], axis=1)].any()
    original, shifted = decode(m, MGMNO).crystals, decode(moved, MGMNO).crystals
    for a, b in zip(original, shifted):
        step = b.frac - a.frac - (b.frac[0] - a.frac[0])
        assert np.abs(step - np.rint(step)).max() < 1e-5  # one shift for all atoms
        assert np.abs((b.frac[0] - a.frac[0] + 0.5) % 1.0 - 0.5).max() > 1e-3  # and not none
        assert _match(a, b)
    np.testing.assert_array_equal(moved, translate(m, np.random.default_rng(0)))


@pytest.mark.parametrize("perm", list(itertools.permutations(range(3))))
def test_permute_axes_is_the_same_crystal(perm):
    crystal = Crystal.from_parameters(4.1, 5.3, 6.7, 75.0, 85.0, 100.0, species=["Mg", "Mn", "O", "O"],
                                      frac=np.random.default_rng(7).random((4, 3)))
    m = encode([crystal], MGMNO)
    swapped = permute_axes(m, perm)
    np.testing.assert_allclose(decode(swapped, MGMNO).crystals[0].parameters,
                               np.array(crystal.parameters).reshape(2, 3)[:, list(perm)].ravel(), rtol=1e-5)
    assert _match(crystal, decode(swapped, MGMNO).crystals[0])


def test_swapping_axes_keeps_the_handedness():
    """P3_1 and P3_2 are mirror images: an axis swap must not turn one into the other."""
    structure = Structure.from_spacegroup(144, Lattice.hexagonal(5.0, 7.0), ["Mg", "Mn", "O", "O"],
                                          [[0.1, 0.2, 0.05], [0.35, 0.1, 0.2], [0.6, 0.3, 0.1], [0.2, 0.7, 0.25]])
    assert SpacegroupAnalyzer(structure).get_space_group_number() == 144
    m = encode(structure, MGMNO)
    for perm in itertools.permutations(range(3)):
        crystal = decode(permute_axes(m, perm), MGMNO).crystals[0]
        assert SpacegroupAnalyzer(crystal.to_pymatgen()).get_space_group_number() == 144, perm


def test_swap_axes_draws_every_permutation():
    m = encode(_random_crystals([(1, 1, 2)]), MGMNO).repeat(120, axis=0)
    swapped = swap_axes(m, np.random.default_rng(0))
    orders = {tuple(np.argsort(row)) for row in swapped[:, 0]}
    assert len(orders) == 6
    np.testing.assert_array_equal(swapped, swap_axes(m, np.random.default_rng(0)))


def _epochs(dataset, n):
    it = [[(x.numpy(), y.numpy()) for x, y in dataset] for _ in range(n)]
    return [(np.concatenate([x for x, _ in e]), np.concatenate([y for _, y in e])) for e in it]


def test_augmented_dataset_is_seeded_and_redrawn_every_epoch():
    m = encode(_random_crystals([(1, 1, 2), (2, 2, 4), (4, 4, 8), (2, 1, 3), (1, 3, 4)], seed=8), MGMNO)
    c = counts(m, MGMNO)
    n_total = len(m) + len(supercells(m, MGMNO).source)
    ds = augmented_dataset(m, c, MGMNO, batch_size=8, seed=1)
    (x0, y0), (x1, y1) = _epochs(ds, 2)
    assert x0.shape == (n_total, 30, 3) and y0.shape == (n_total, 31) and x0.dtype == np.float32
    assert [len(b[0]) for b in ds.take(10)] == [8] * (n_total // 8) + ([n_total % 8] if n_total % 8 else [])
    for x, y in ((x0, y0), (x1, y1)):  # each label is the composition of its matrix
        np.testing.assert_array_equal(y, composition_onehot(counts(x, MGMNO), MGMNO))
    same = _epochs(augmented_dataset(m, c, MGMNO, batch_size=8, seed=1), 2)
    for (xa, ya), (xb, yb) in zip(same, [(x0, y0), (x1, y1)]):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.allclose(x0, x1)
    assert not np.allclose(x0, _epochs(augmented_dataset(m, c, MGMNO, batch_size=8, seed=2), 1)[0][0])
    with pytest.raises(ValueError, match="counts do not match"):
        augmented_dataset(m, c + 1, MGMNO, batch_size=8, seed=1)
