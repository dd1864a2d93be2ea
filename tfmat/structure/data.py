"""Training structures in the CCCGAN matrix representation, from a ``.npy`` file or a directory.

:func:`load_structures` reads either the paper's ``.npy`` array (already
matrices) or a directory of CIF/POSCAR files, which it encodes. What cannot
be used is listed in ``rejects`` with the reason; the rest is kept.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tfmat.structure.codec import MGMNO, SlotLayout, counts, encode_one, invalid_reasons
from tfmat.structure.crystal import Crystal


@dataclass
class StructureSet:
    """Matrices (N, rows, 3) float32, their atom counts (N, n_elements), a name per
    matrix (a file name or ``npy row i``) and ``rejects``: (name, reason) pairs."""

    matrices: np.ndarray
    counts: np.ndarray
    names: list[str]
    rejects: list[tuple[str, str]] = field(default_factory=list)
    layout: SlotLayout = MGMNO

    def __len__(self) -> int:
        return len(self.matrices)


def load_structures(path: str | os.PathLike, layout: SlotLayout = MGMNO) -> StructureSet:
    """Structures from a ``.npy`` file of matrices or a directory of CIF/POSCAR files.

    In a directory every file directly inside it that is not hidden is read
    with :meth:`Crystal.read` (pymatgen decides the format by the name) and
    encoded; files that cannot be read and structures that do not fit the
    layout go to ``rejects``. ``.npy`` rows that do not decode (see
    :func:`~tfmat.structure.codec.invalid_reasons`) go there too. A missing
    path raises FileNotFoundError; any other path raises ValueError.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file or directory: {path}")
    if path.is_dir():
        return _from_directory(path, layout)
    if path.is_file() and path.suffix.lower() == ".npy":
        return _from_npy(path, layout)
    raise ValueError(f"{path} is neither a .npy file of matrices nor a directory of CIF/POSCAR files.")


def _from_npy(path: Path, layout: SlotLayout) -> StructureSet:
    try:
        m = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise ValueError(f"cannot read {path} as a .npy array: {exc}") from exc
    if m.ndim != 3 or m.shape[1:] != (layout.rows, 3):
        raise ValueError(f"{path} holds an array of shape {m.shape}; the layout {layout} needs (N, {layout.rows}, 3).")
    names = [f"npy row {i}" for i in range(len(m))]
    reasons = invalid_reasons(m, layout)
    keep = np.array([r is None for r in reasons], dtype=bool)
    rejects = [(n, r) for n, r in zip(names, reasons) if r is not None]
    return _make(m[keep], [n for n, k in zip(names, keep) if k], rejects, layout)


def _from_directory(path: Path, layout: SlotLayout) -> StructureSet:
    rows, names, rejects = [], [], []
    for file in sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
        try:
            rows.append(encode_one(Crystal.read(file), layout))
        except ValueError as exc:
            rejects.append((file.name, str(exc)))
            continue
        names.append(file.name)
    m = np.stack(rows) if rows else np.zeros((0, layout.rows, 3))
    return _make(m, names, rejects, layout)


def _make(m, names, rejects, layout) -> StructureSet:
    m = np.asarray(m, dtype=np.float32)
    return StructureSet(m, counts(m, layout), names, rejects, layout)
