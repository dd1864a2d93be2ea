"""An immutable periodic crystal that reads and writes CIF and POSCAR.

pymatgen does the parsing and formatting; it is imported when first needed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfmat.elements import PERIODIC_TABLE
from tfmat.io import atomic_path
from tfmat.structure.distances import lattice_matrix

FORMATS = ("cif", "poscar")
_ELEMENTS = frozenset(PERIODIC_TABLE)


@dataclass(frozen=True, eq=False)
class Crystal:
    """A crystal: ``lattice`` (3×3, rows are the cell vectors in Å), ``species``
    (element symbols) and ``frac`` ((n, 3) fractional coordinates).

    The arrays are copied to read-only float64.
    """

    lattice: np.ndarray
    species: tuple[str, ...]
    frac: np.ndarray

    def __post_init__(self):
        if isinstance(self.species, str):
            raise ValueError("species must be a sequence of element symbols, not one string.")
        lattice = np.array(self.lattice, dtype=float)
        species = tuple(str(s) for s in self.species)
        frac = np.array(self.frac, dtype=float)
        if lattice.shape != (3, 3):
            raise ValueError(f"lattice must be a 3×3 matrix, got shape {lattice.shape}.")
        if frac.ndim != 2 or frac.shape[1] != 3:
            raise ValueError(f"frac must have shape (n, 3), got {frac.shape}.")
        if len(species) != len(frac):
            raise ValueError(f"got {len(species)} species but {len(frac)} fractional coordinates; they must match.")
        if not species:
            raise ValueError("a Crystal needs at least one site.")
        if not (np.isfinite(lattice).all() and np.isfinite(frac).all()):
            raise ValueError("lattice and fractional coordinates must be finite.")
        unknown = sorted(set(species) - _ELEMENTS)
        if unknown:
            raise ValueError(f"unknown element symbol(s): {', '.join(unknown)}.")
        volume = np.linalg.det(lattice)
        if not volume > 1e-8 * np.prod(np.linalg.norm(lattice, axis=1)):
            raise ValueError(f"lattice must have a positive volume (got {volume:.3g} Å³); rows are the cell vectors.")
        lattice.setflags(write=False)
        frac.setflags(write=False)
        object.__setattr__(self, "lattice", lattice)
        object.__setattr__(self, "species", species)
        object.__setattr__(self, "frac", frac)

    @classmethod
    def from_parameters(cls, a, b, c, alpha, beta, gamma, species, frac) -> Crystal:
        """A crystal from cell lengths (Å) and angles (degrees), oriented as pymatgen orients them."""
        return cls(lattice_matrix([a, b, c, alpha, beta, gamma]), species, frac)

    @property
    def parameters(self) -> tuple[float, float, float, float, float, float]:
        """(a, b, c, α, β, γ): cell lengths in Å and angles in degrees."""
        lengths = np.linalg.norm(self.lattice, axis=1)
        angles = []
        for i, j in ((1, 2), (0, 2), (0, 1)):
            cos = self.lattice[i] @ self.lattice[j] / (lengths[i] * lengths[j])
            angles.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
        return tuple(float(x) for x in (*lengths, *angles))

    def to_pymatgen(self):
        """This crystal as a ``pymatgen.core.Structure``."""
        from pymatgen.core import Lattice, Structure

        return Structure(Lattice(self.lattice), list(self.species), self.frac)

    @classmethod
    def from_pymatgen(cls, structure) -> Crystal:
        """A crystal from an ordered ``pymatgen.core.Structure`` (oxidation states are dropped)."""
        if not structure.is_ordered:
            raise ValueError("the structure has partially occupied sites; a Crystal holds one element per site.")
        return cls(structure.lattice.matrix, tuple(site.specie.symbol for site in structure), structure.frac_coords)

    def write(self, path: str | os.PathLike, fmt: str | None = None) -> Path:
        """Write CIF or POSCAR atomically, creating missing directories.

        ``fmt`` is "cif" or "poscar"; without it the name decides: ``*.cif`` is
        CIF, a name containing ``POSCAR`` or ending in ``.vasp`` is POSCAR.
        CIF keeps only the cell parameters, so reading it back gives the
        lattice in the :meth:`from_parameters` orientation.
        """
        from pymatgen.io.cif import CifWriter
        from pymatgen.io.vasp import Poscar

        fmt = _format(path, fmt)
        structure = self.to_pymatgen()
        with atomic_path(path) as tmp:
            (CifWriter(structure) if fmt == "cif" else Poscar(structure)).write_file(tmp)
        return Path(path)

    @classmethod
    def read(cls, path: str | os.PathLike, fmt: str | None = None) -> Crystal:
        """Read CIF or POSCAR; without ``fmt``, pymatgen's ``Structure.from_file`` decides by the name.

        POSCAR keeps the site order; pymatgen's CIF parser groups the sites
        by element. A missing file raises FileNotFoundError, one that cannot
        be read as a crystal raises ValueError naming the file.
        """
        from pymatgen.core import Structure

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no such file: {path}")
        try:
            if fmt is None:
                structure = Structure.from_file(path)
            else:
                structure = Structure.from_str(path.read_text(), fmt=_format(path, fmt))
            return cls.from_pymatgen(structure)
        except Exception as exc:
            raise ValueError(f"cannot read a crystal from {path}: {exc}") from exc


def _format(path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt.lower() not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; use 'cif' or 'poscar'.")
        return fmt.lower()
    name = Path(path).name
    if name.lower().endswith(".cif"):
        return "cif"
    if "POSCAR" in name or name.lower().endswith(".vasp"):
        return "poscar"
    raise ValueError(f"cannot tell the format of {path} from its name; pass fmt='cif' or fmt='poscar'.")
