"""The CrystalGAN block representation of a metal hydride (Nouira et al. 2018).

A :class:`BlockLayout` names two metals, A and B. A crystal of H, A and B
atoms is a (4, rows, 3) array of four blocks, each ``rows`` (18) rows of three
numbers:

* block 0, the lattice: rows 0–2 are the cell vectors in Å divided by
  ``length_scale`` (10 Å), the other rows 0;
* blocks 1, 2, 3, the H, A and B atoms: one row per atom, its fractional
  coordinate P wrapped into [0, 1) and scaled to ⅔(P − 0.5) + 0.5, so a real
  atom lies in [1/6, 5/6] (as in :mod:`tfmat.structure.codec`); empty rows 0.

A binary of domain A (A–H) has an empty B block, the placeholder that
CrystalGAN's feature transfer fills with the other domain's metal. Decoding
reads a row as an atom when its sum exceeds ``threshold``; the lattice
vectors are kept as they are, so a round trip gives back the same cell and the
same periodic sites. A generated cell may be left-handed (negative
determinant): it is read with all three vectors and the fractional
coordinates negated, which places the same atoms at the same points.

:func:`load_domain` reads the paper's MATLAB files (a cell array of
[lattice, H, A, B] per structure, Cartesian Å) or POSCAR files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from tfmat.elements import PERIODIC_TABLE
from tfmat.structure.codec import scale_frac, unscale_frac
from tfmat.structure.crystal import Crystal

BLOCKS = ("lattice", "H", "A", "B")


@dataclass(frozen=True)
class BlockLayout:
    """The two metals and the size and scales of a block array."""

    metal_a: str = "Pd"
    metal_b: str = "Ni"
    rows: int = 18
    length_scale: float = 10.0
    threshold: float = 0.4

    def __post_init__(self):
        for metal in (self.metal_a, self.metal_b):
            if metal not in PERIODIC_TABLE or metal == "H":
                raise ValueError(f"{metal!r} is not a metal symbol for a hydride layout.")
        if self.metal_a == self.metal_b:
            raise ValueError("the two metals of a layout must differ.")
        if self.rows < 3 or not (self.length_scale > 0 and self.threshold > 0):
            raise ValueError("rows must be at least 3 and length_scale and threshold positive.")

    @property
    def species(self) -> tuple[str, str, str]:
        """The element of blocks 1, 2 and 3."""
        return ("H", self.metal_a, self.metal_b)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (4, self.rows, 3)

    def metal(self, domain: str) -> str:
        """The metal of domain ``"A"`` or ``"B"``."""
        if domain not in ("A", "B"):
            raise ValueError(f"a domain is 'A' or 'B', not {domain!r}.")
        return self.metal_a if domain == "A" else self.metal_b

    def to_dict(self) -> dict:
        return {"metal_a": self.metal_a, "metal_b": self.metal_b, "rows": self.rows,
                "length_scale": self.length_scale, "threshold": self.threshold}

    @property
    def system(self) -> str:
        """``PdNiH`` for Pd and Ni."""
        return f"{self.metal_a}{self.metal_b}H"


PDNIH = BlockLayout("Pd", "Ni")
"""The paper's layout: A = Pd, B = Ni, 18 rows per block (a 4×18×3 array)."""


class Decoded(NamedTuple):
    """What :func:`decode` returns: a crystal or None per array, and the reason for each None."""

    crystals: list
    reasons: list


def encode_one(crystal: Crystal, layout: BlockLayout = PDNIH) -> np.ndarray:
    """The (4, rows, 3) float64 array of a crystal made of H, A and B atoms (sites in their order
    within each element); ValueError naming what does not fit."""
    species = np.asarray(crystal.species)
    other = sorted(set(species) - set(layout.species))
    if other:
        raise ValueError(f"holds {', '.join(other)}; the layout takes only {', '.join(layout.species)}.")
    out = np.zeros(layout.shape)
    out[0, :3] = crystal.lattice / layout.length_scale
    for block, element in enumerate(layout.species, start=1):
        frac = crystal.frac[species == element]
        if len(frac) > layout.rows:
            raise ValueError(f"has {len(frac)} {element} atoms; a block holds at most {layout.rows}.")
        out[block, :len(frac)] = scale_frac(frac)
    return out


def occupied(arrays, layout: BlockLayout = PDNIH) -> np.ndarray:
    """(N, 3, rows) bool: which rows of the H, A and B blocks hold an atom (row sum > threshold)."""
    return np.asarray(arrays)[:, 1:].sum(axis=-1) > layout.threshold


def species_counts(arrays, layout: BlockLayout = PDNIH) -> np.ndarray:
    """(N, 3) int: the H, A and B atoms each array holds."""
    return occupied(arrays, layout).sum(axis=-1)


def decode(arrays, layout: BlockLayout = PDNIH) -> Decoded:
    """Crystals from (N, 4, rows, 3) arrays; None, with the reason, where the cell has no volume or
    no row holds an atom."""
    arrays = np.asarray(arrays, dtype=float)
    if arrays.ndim != 4 or arrays.shape[1:] != layout.shape:
        raise ValueError(f"expected arrays of shape (N, {', '.join(map(str, layout.shape))}), got {arrays.shape}.")
    occ = occupied(arrays, layout)
    crystals, reasons = [], []
    for m, o in zip(arrays, occ):
        species = [e for e, rows in zip(layout.species, o) for _ in range(int(rows.sum()))]
        if not species:
            crystals.append(None)
            reasons.append("no atoms")
            continue
        frac = unscale_frac(np.concatenate([m[b][o[b - 1]] for b in (1, 2, 3)]))
        lattice = m[0, :3] * layout.length_scale
        if np.linalg.det(lattice) < 0:  # left-handed: −L with −f is the same set of points
            lattice, frac = -lattice, -frac
        try:
            crystals.append(Crystal(lattice, species, frac))
            reasons.append(None)
        except ValueError as exc:
            crystals.append(None)
            reasons.append(f"cell: {exc}")
    return Decoded(crystals, reasons)


@dataclass
class Domain:
    """One binary domain: arrays (N, 4, rows, 3) float32, a name per array (``file`` or
    ``file #i``) and ``rejects``, (name, reason) pairs for what could not be used."""

    arrays: np.ndarray
    names: list[str]
    rejects: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.arrays)


def load_domain(path: str | os.PathLike, domain: str, layout: BlockLayout = PDNIH) -> Domain:
    """The binary hydrides of ``domain`` (``"A"``: metal A and H; ``"B"``: metal B and H).

    ``path`` is the paper's ``.mat`` file (one cell array of [lattice, H, A, B]
    blocks per structure, Cartesian Å, read with ``scipy.io.loadmat``), a
    POSCAR (or CIF) file, or a directory of them. Structures with other
    elements, with the other domain's metal, with no atom of the domain's
    metal or with more atoms than a block holds go to ``rejects``. A missing
    path raises FileNotFoundError; a file that is not such data, ValueError.
    """
    path = Path(path)
    metal = layout.metal(domain)
    if not path.exists():
        raise FileNotFoundError(f"no such file or directory: {path}")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        items = []
        for file in files:
            items.extend(_read_file(file))
    else:
        items = _read_mat(path, layout) if path.suffix.lower() == ".mat" else _read_file(path)
    arrays, names, rejects = [], [], []
    for name, crystal in items:
        if isinstance(crystal, str):
            rejects.append((name, crystal))
            continue
        try:
            species = set(crystal.species)
            if metal not in species:
                raise ValueError(f"has no {metal}, the metal of domain {domain}.")
            wrong = layout.metal("B" if domain == "A" else "A")
            if wrong in species:
                raise ValueError(f"holds {wrong}: a binary of domain {domain} has only {metal} and H.")
            arrays.append(encode_one(crystal, layout))
        except ValueError as exc:
            rejects.append((name, str(exc)))
            continue
        names.append(name)
    stacked = np.stack(arrays).astype(np.float32) if arrays else np.zeros((0, *layout.shape), np.float32)
    return Domain(stacked, names, rejects)


def _read_file(file: Path) -> list:
    fmt = "cif" if file.suffix.lower() == ".cif" else "poscar"
    try:
        return [(file.name, Crystal.read(file, fmt=fmt))]
    except ValueError as exc:
        return [(file.name, str(exc))]


def _read_mat(path: Path, layout: BlockLayout) -> list:
    """(name, Crystal or reason) per structure of a CrystalGAN ``.mat`` file."""
    from scipy.io import loadmat

    try:
        content = loadmat(path)
    except Exception as exc:
        raise ValueError(f"cannot read {path} as a MATLAB file: {exc}") from exc
    keys = [k for k in content if not k.startswith("__")]
    cells = content[keys[0]] if len(keys) == 1 else None
    if cells is None or cells.dtype != object or cells.ndim != 2 or cells.shape[1] != 4:
        raise ValueError(f"{path} is not a CrystalGAN data file: it needs one variable, a cell array of "
                         f"[lattice, H, A, B] rows (found {', '.join(keys) or 'none'}).")
    out = []
    for i, row in enumerate(cells):
        name = f"{path.name} #{i}"
        try:
            lattice = np.asarray(row[0], dtype=float)
            blocks = [np.asarray(b, dtype=float).reshape(-1, 3) for b in row[1:]]
            species = [e for e, b in zip(layout.species, blocks) for _ in range(len(b))]
            cart = np.concatenate(blocks)
            # a block that is all zeros with the full block height is the empty placeholder
            keep = np.concatenate([np.full(len(b), not (len(b) == layout.rows and not b.any())) for b in blocks])
            frac = np.linalg.solve(lattice.T, cart[keep].T).T
            out.append((name, Crystal(lattice, [s for s, k in zip(species, keep) if k], frac)))
        except (ValueError, np.linalg.LinAlgError) as exc:
            out.append((name, f"cannot read structure: {exc}"))
    return out


def resolve_domain(name: str) -> Path:
    """A domain's data file: ``name`` when it is a path that exists, else a short name such as ``PdH``
    for the paper's ``crystalgan_PdH_dataset.mat`` in the reference data beside the checkout
    (:data:`tfmat.paths.SHARED`); FileNotFoundError saying where it looked otherwise."""
    from tfmat.paths import SHARED

    path = Path(name)
    if path.exists():
        return path
    reference = SHARED / "data" / "reference" / "crystal" / f"crystalgan_{name}_dataset.mat"
    if reference.is_file():
        return reference
    raise FileNotFoundError(f"{name!r} is neither a file or directory nor a reference data set ({reference} "
                            f"does not exist); give a .mat file, a POSCAR file or a directory of POSCAR files")
