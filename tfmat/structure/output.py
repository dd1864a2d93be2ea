"""A folder of generated crystals: one CIF per sample and ``structures.csv`` describing them.

The layout every structure generator of the project writes (and
``tfmat evaluate-structures`` reads)::

    OUTDIR/structures.csv   id, file, requested, decoded, a, b, c, alpha, beta, gamma,
                            density, min_distance, valid, unique, novel, reason
    OUTDIR/cif/00000_Mg4Mn2O8.cif ...
    OUTDIR/poscar/00000_Mg4Mn2O8.vasp ...   (when asked for)

A generator may add columns of its own after these (CrystalGAN: the source
of each sample and its metal–metal distances). ``file`` is empty for a sample that did not decode (``reason`` says why);
invalid crystals are written too, with ``valid`` False. ``novel`` is empty
when no training structures were given. The folder is assembled aside and
renamed into place.

The CIFs are P1 with one line per atom. pymatgen's structure reader merges
sites that coincide, so :func:`read_structures` reads the atom list itself
(through pymatgen's CIF tokenizer): a crystal with two atoms on one spot
reads back as written.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

TABLE = "structures.csv"
CIF_DIR = "cif"
POSCAR_DIR = "poscar"
COLUMNS = ["id", "file", "requested", "decoded", "a", "b", "c", "alpha", "beta", "gamma", "density",
           "min_distance", "valid", "unique", "novel", "reason"]


def write_structures(outdir: str | Path, crystals: Sequence, samples: Sequence, unique: np.ndarray,
                     novel: np.ndarray | None = None, extra: dict | None = None, poscar: bool = False) -> Path:
    """Write ``crystals`` (None where one did not decode) and their
    :class:`~tfmat.structure.evaluation.Sample` rows to ``outdir`` (replaced as a whole). ``extra``
    maps further column names to one value per sample; with ``poscar`` each crystal is also written
    as a POSCAR in ``poscar/``. A file is named by the sample's number and its requested (else
    decoded) composition."""
    import pandas as pd

    from ..io import atomic_dir

    rows = []
    with atomic_dir(outdir) as tmp:
        (tmp / CIF_DIR).mkdir()
        for i, (crystal, s) in enumerate(zip(crystals, samples)):
            name = ""
            if crystal is not None:
                stem = f"{i:05d}_{s.requested or s.decoded}"
                name = f"{CIF_DIR}/{stem}.cif"
                crystal.write(tmp / name)
                if poscar:
                    crystal.write(tmp / POSCAR_DIR / f"{stem}.vasp", fmt="poscar")
            rows.append([i, name, s.requested, s.decoded, *np.round(s.cell, 6), round(s.density, 6),
                         round(s.min_distance, 6), s.valid, bool(unique[i]),
                         "" if novel is None else bool(novel[i]), s.reason])
        table = pd.DataFrame(rows, columns=COLUMNS)
        for column, values in (extra or {}).items():
            table[column] = list(values)
        table.to_csv(tmp / TABLE, index=False)
    return Path(outdir)


@dataclass
class StructureFolder:
    """What :func:`read_structures` returns: the table, and a crystal (or None) per row."""

    table: object  # pandas DataFrame with COLUMNS
    crystals: list

    def __len__(self) -> int:
        return len(self.crystals)


def read_structures(outdir: str | Path) -> StructureFolder:
    """Read a folder written by :func:`write_structures`; its CIFs through pymatgen."""
    import pandas as pd

    outdir = Path(outdir)
    path = outdir / TABLE
    if not path.is_file():
        raise FileNotFoundError(f"{outdir} holds no {TABLE}; generate structures into it first")
    table = pd.read_csv(path, keep_default_na=False, dtype={"file": str, "requested": str, "decoded": str})
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: no column {missing[0]!r} (expected {', '.join(COLUMNS)})")
    crystals = []
    for line, name in enumerate(table["file"], start=2):
        if not name:
            crystals.append(None)
            continue
        try:
            crystals.append(read_p1_cif(outdir / name))
        except (ValueError, KeyError, FileNotFoundError) as exc:
            raise ValueError(f"{path} line {line}: {name}: {exc!r}") from exc
    return StructureFolder(table, crystals)


def read_p1_cif(path: str | Path):
    """The :class:`~tfmat.structure.crystal.Crystal` of a P1 CIF, every atom line kept (none merged)."""
    from pymatgen.io.cif import CifFile

    from .crystal import Crystal

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    block = next(iter(CifFile.from_file(path).data.values())).data
    cell = [float(block[f"_cell_{k}"]) for k in ("length_a", "length_b", "length_c", "angle_alpha",
                                                 "angle_beta", "angle_gamma")]
    frac = np.array([[float(v) for v in block[f"_atom_site_fract_{k}"]] for k in "xyz"]).T
    return Crystal.from_parameters(*cell, species=list(block["_atom_site_type_symbol"]), frac=frac)
