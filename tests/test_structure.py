"""tfmat.structure against pymatgen, on the real PdH POSCAR and random cells."""
import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from conftest import REFERENCE, ROOT, need
from tfmat.structure.crystal import Crystal
from tfmat.structure.distances import lattice_matrix, lll_reduce, pbc_distances

PDH = REFERENCE / "crystal" / "crystalgan_POSCAR"

CELLS = {  # (a, b, c, α, β, γ)
    "cubic": (4.0, 4.0, 4.0, 90, 90, 90),
    "hexagonal": (3.2, 3.2, 5.2, 90, 90, 120),
    "monoclinic": (5.1, 6.3, 7.4, 90, 104.5, 90),
    "skewed": (3.0, 3.0, 10.0, 90, 90, 20),
    "needle": (3.0, 9.0, 10.0, 90, 90, 15),  # 27 images of the cell as given miss some nearest images
    "triclinic": (4.3, 5.9, 7.1, 71.3, 103.2, 118.6),
    "flat": (2.5, 6.0, 9.0, 30.0, 35.0, 60.0),
}


def _crystal(params, n=7, seed=0):
    rng = np.random.default_rng(seed)
    species = rng.choice(["Mg", "Mn", "O", "Pd", "Ni", "H"], size=n)
    return Crystal.from_parameters(*params, species=species, frac=rng.random((n, 3)))


def _periodic_gap(f, g):
    d = np.asarray(f) - np.asarray(g)
    return np.abs(d - np.rint(d)).max()


def _assert_same_sites(back, crystal):
    """Same lattice and the same sites, in any order (pymatgen's CIF parser groups sites by element)."""
    np.testing.assert_allclose(back.lattice, crystal.lattice, atol=1e-5)
    match = pbc_distances(crystal.frac, back.frac, back.lattice).argmin(axis=1)
    assert sorted(match) == list(range(len(crystal.species)))
    assert tuple(back.species[j] for j in match) == crystal.species
    assert _periodic_gap(back.frac[match], crystal.frac) < 1e-5


@pytest.mark.shared
def test_reads_real_pdh_poscar():
    crystal = Crystal.read(need(PDH))
    reference = Structure.from_file(PDH)
    assert crystal.species == ("H",) * 4 + ("Pd",) * 4
    np.testing.assert_allclose(crystal.lattice, 4.0 * np.eye(3))
    np.testing.assert_allclose(crystal.frac, reference.frac_coords)
    np.testing.assert_allclose(crystal.parameters, (4, 4, 4, 90, 90, 90))


@pytest.mark.shared
def test_pdh_distances_match_pymatgen():
    crystal = Crystal.read(need(PDH))
    d = pbc_distances(crystal.frac, crystal.frac, crystal.lattice)
    np.testing.assert_allclose(d, Structure.from_file(PDH).distance_matrix, atol=1e-9)
    h, pd = np.array(crystal.species) == "H", np.array(crystal.species) == "Pd"
    np.testing.assert_allclose(d[np.ix_(h, pd)].min(axis=1), 2.0)  # rock salt, a = 4 Å: H–Pd 2 Å


@pytest.mark.parametrize("name", CELLS)
def test_from_parameters_matches_pymatgen(name):
    params = CELLS[name]
    crystal = _crystal(params)
    np.testing.assert_allclose(crystal.lattice, Lattice.from_parameters(*params).matrix, atol=1e-12)
    np.testing.assert_allclose(crystal.parameters, params, atol=1e-9)


def test_lattice_matrix_is_vectorised():
    params = np.array(list(CELLS.values())[:6], dtype=float).reshape(2, 3, 6)
    expected = [[Lattice.from_parameters(*p).matrix for p in row] for row in params]
    np.testing.assert_allclose(lattice_matrix(params), expected, atol=1e-12)


@pytest.mark.parametrize("name", CELLS)
def test_cif_round_trip(tmp_path, name):
    crystal = _crystal(CELLS[name])
    path = crystal.write(tmp_path / "x.cif")
    assert sorted(tmp_path.iterdir()) == [path]  # no temporary file left behind
    _assert_same_sites(Crystal.read(path), crystal)


@pytest.mark.parametrize("name", ["POSCAR", "POSCAR_PdNiH", "x.vasp", "x.txt"])
def test_poscar_round_trip(tmp_path, name):
    rng = np.random.default_rng(1)
    lattice = np.diag([4.0, 5.0, 6.0]) + rng.uniform(-1, 1, (3, 3))  # any orientation survives POSCAR
    crystal = Crystal(lattice, ("Pd", "Ni", "H", "H", "Pd"), rng.random((5, 3)))
    fmt = "poscar" if name == "x.txt" else None
    path = crystal.write(tmp_path / name, fmt=fmt)
    assert sorted(tmp_path.iterdir()) == [path]
    back = Crystal.read(path, fmt=fmt)
    assert back.species == crystal.species  # POSCAR keeps the site order
    np.testing.assert_allclose(back.lattice, crystal.lattice, atol=1e-5)
    assert _periodic_gap(back.frac, crystal.frac) < 1e-5


def test_write_creates_missing_directories(tmp_path):
    crystal = _crystal(CELLS["cubic"])
    _assert_same_sites(Crystal.read(crystal.write(tmp_path / "a" / "b" / "x.cif")), crystal)


def test_file_errors(tmp_path):
    crystal = _crystal(CELLS["cubic"])
    with pytest.raises(ValueError, match="cannot tell the format"):
        crystal.write(tmp_path / "x.txt")
    with pytest.raises(ValueError, match="unknown format"):
        crystal.write(tmp_path / "x.cif", fmt="xyz")
    with pytest.raises(FileNotFoundError):
        Crystal.read(tmp_path / "missing.cif")
    (tmp_path / "bad.cif").write_text("this is not a CIF\n")
    with pytest.raises(ValueError, match="bad.cif"):
        Crystal.read(tmp_path / "bad.cif")


@pytest.mark.parametrize("kwargs, message", [
    (dict(species=("H", "Pd"), frac=np.zeros((3, 3))), "2 species but 3 fractional coordinates"),
    (dict(lattice=[[1, 0, 0], [0, 1, 0], [1, 1, 0]]), "positive volume"),
    (dict(lattice=np.diag([1.0, 1.0, -1.0])), "positive volume"),
    (dict(lattice=np.eye(2)), "3×3"),
    (dict(species=("H", "Xx")), "unknown element symbol"),
    (dict(species="HPd"), "not one string"),
    (dict(frac=[[0, 0, np.nan], [0.5, 0.5, 0.5]]), "finite"),
    (dict(species=(), frac=np.zeros((0, 3))), "at least one site"),
])
def test_bad_input_is_rejected(kwargs, message):
    good = dict(lattice=4.0 * np.eye(3), species=("H", "Pd"), frac=[[0, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(ValueError, match=message):
        Crystal(**{**good, **kwargs})


def test_disordered_structure_is_rejected():
    structure = Structure(Lattice.cubic(4.0), [{"Pd": 0.5, "Ni": 0.5}], [[0, 0, 0]])
    with pytest.raises(ValueError, match="partially occupied"):
        Crystal.from_pymatgen(structure)


def test_crystal_is_immutable():
    crystal = _crystal(CELLS["cubic"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        crystal.species = ("H",)
    with pytest.raises(ValueError, match="read-only"):
        crystal.frac[0, 0] = 0.5
    assert Crystal.from_pymatgen(crystal.to_pymatgen()).species == crystal.species


@pytest.mark.parametrize("name", CELLS)
def test_pbc_distances_match_pymatgen(name):
    rng = np.random.default_rng(2)
    lattice = Lattice.from_parameters(*CELLS[name])
    a, b = rng.uniform(-1, 2, (12, 3)), rng.random((9, 3))
    np.testing.assert_allclose(pbc_distances(a, b, lattice.matrix), lattice.get_all_distances(a, b), atol=1e-6)


def test_pbc_distances_match_pymatgen_on_random_lattices():
    rng = np.random.default_rng(3)
    for _ in range(20):
        lattice = rng.normal(size=(3, 3)) * 3
        a, b = rng.random((5, 3)), rng.random((6, 3))
        np.testing.assert_allclose(pbc_distances(a, b, lattice), Lattice(lattice).get_all_distances(a, b), atol=1e-6)


@pytest.mark.parametrize("name", ["skewed", "needle", "flat"])
def test_pbc_distances_equal_brute_force(name):
    lattice = lattice_matrix(CELLS[name])
    rng = np.random.default_rng(4)
    a, b = rng.random((10, 3)), rng.random((8, 3))
    # Every distance is below half the sum of the cell lengths D, so an image k that can be
    # nearest has |k_i| <= D * |column i of inv(lattice)| + 1/2 along each axis.
    reach = np.ceil(0.5 * np.linalg.norm(lattice, axis=1).sum() * np.linalg.norm(np.linalg.inv(lattice), axis=0) + 0.5)
    k = np.stack(np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij"), -1).reshape(-1, 3)
    brute = np.linalg.norm((b[None, :, None] - a[:, None, None] + k) @ lattice, axis=-1).min(axis=-1)
    np.testing.assert_allclose(pbc_distances(a, b, lattice), brute, atol=1e-9)


@pytest.mark.parametrize("name", CELLS)
def test_lll_reduce_is_unimodular(name):
    lattice = lattice_matrix(CELLS[name])
    reduced, t = lll_reduce(lattice)
    assert np.array_equal(t, np.rint(t)) and abs(round(np.linalg.det(t))) == 1
    np.testing.assert_allclose(reduced, t @ lattice, atol=1e-12)
    assert np.linalg.norm(reduced, axis=1).max() <= np.linalg.norm(lattice, axis=1).max() + 1e-12
    if name == "skewed":  # b - a is the shortest vector
        np.testing.assert_allclose(np.linalg.norm(reduced, axis=1), [2 * 3 * np.sin(np.radians(10)), 3, 10])


def test_pbc_distances_reject_bad_shapes_and_singular_lattices():
    with pytest.raises(ValueError, match="expected"):
        pbc_distances(np.zeros((2, 2)), np.zeros((2, 3)), np.eye(3))
    with pytest.raises(ValueError, match="singular"):
        pbc_distances(np.zeros((2, 3)), np.zeros((2, 3)), [[1, 0, 0], [0, 1, 0], [2, 2, 0]])


def test_pbc_distances_broadcast_leading_dims():
    rng = np.random.default_rng(5)
    lattices = lattice_matrix([CELLS["skewed"], CELLS["triclinic"], CELLS["hexagonal"]])
    a, b = rng.random((3, 4, 3)), rng.random((5, 3))
    batched = pbc_distances(a, b, lattices)
    assert batched.shape == (3, 4, 5)
    for i in range(3):
        np.testing.assert_allclose(batched[i], pbc_distances(a[i], b, lattices[i]), atol=1e-12)


def _near_orthogonal(rng, batch):
    params = np.concatenate([rng.uniform(3, 8, (batch, 3)), 90 + rng.uniform(-8, 8, (batch, 3))], axis=1)
    return lattice_matrix(params), params


def test_tf_matches_numpy_on_near_orthogonal_cells():
    import tensorflow as tf
    from tfmat.structure.distances import lattice_matrix_tf, pbc_distances_tf

    rng = np.random.default_rng(6)
    lattices, params = _near_orthogonal(rng, 8)
    a, b = rng.uniform(-0.5, 1.5, (8, 6, 3)), rng.random((8, 5, 3))
    np.testing.assert_allclose(lattice_matrix_tf(tf.constant(params)).numpy(), lattices, atol=1e-12)
    expected = pbc_distances(a, b, lattices)
    np.testing.assert_allclose(pbc_distances_tf(a, b, lattices).numpy(), expected, atol=1e-9)
    got32 = pbc_distances_tf(tf.constant(a, tf.float32), b, lattices)
    assert got32.dtype == tf.float32
    np.testing.assert_allclose(got32.numpy(), expected, atol=1e-4)


def test_tf_gradients_match_finite_differences():
    import tensorflow as tf
    from tfmat.structure.distances import lattice_matrix_tf, pbc_distances_tf

    rng = np.random.default_rng(7)
    _, params = _near_orthogonal(rng, 2)
    a, b = rng.random((2, 4, 3)), rng.random((2, 3, 3))
    weights = rng.random((2, 4, 3))

    def loss(params, a, b):
        return tf.reduce_sum(weights * pbc_distances_tf(a, b, lattice_matrix_tf(params)))

    inputs = [tf.Variable(x) for x in (params, a, b)]
    with tf.GradientTape() as tape:
        value = loss(*inputs)
    grads = tape.gradient(value, inputs)
    eps = 1e-6
    for i, x in enumerate((params, a, b)):
        numeric = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            up, down = [y.copy() for y in (params, a, b)], [y.copy() for y in (params, a, b)]
            up[i][idx] += eps
            down[i][idx] -= eps
            numeric[idx] = (loss(*up) - loss(*down)).numpy() / (2 * eps)
        np.testing.assert_allclose(grads[i].numpy(), numeric, rtol=1e-5, atol=1e-7)


def test_tf_gradient_is_zero_at_zero_distance():
    import tensorflow as tf
    from tfmat.structure.distances import pbc_distances_tf

    frac = tf.Variable(np.random.default_rng(8).random((1, 3, 3)))
    with tf.GradientTape() as tape:
        d = pbc_distances_tf(frac, frac, 5.0 * np.eye(3)[None])
        diagonal = tf.reduce_sum(tf.linalg.diag_part(d))
    assert diagonal.numpy() == 0.0
    np.testing.assert_array_equal(tape.gradient(diagonal, frac).numpy(), 0.0)


def test_modules_import_no_tensorflow():
    code = ("import sys, tfmat.structure, tfmat.structure.crystal, tfmat.structure.distances; "
            "assert tfmat.structure.__file__.startswith(sys.argv[1]); assert 'tensorflow' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
