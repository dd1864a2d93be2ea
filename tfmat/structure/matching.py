"""Which crystals are the same structure: uniqueness and novelty with pymatgen's ``StructureMatcher``.

Each crystal is reduced once (primitive cell, then Niggli) and compared with
``StructureMatcher(primitive_cell=False)`` and the matcher's default
tolerances (ltol 0.2, stol 0.3, angle_tol 5°, volumes scaled), told to skip
its own reduction, and only against crystals of the same reduced formula and
number of sites (without supercells the matcher never matches two cells of
different size). That is the matcher's own verdict, without reducing both
crystals again for every pair.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np


def _matcher():
    from pymatgen.analysis.structure_matcher import StructureMatcher

    return StructureMatcher(primitive_cell=False)


def _kind(structure) -> tuple:
    """What two structures must share to be compared: reduced formula and number of sites."""
    return structure.composition.reduced_formula, len(structure)


def reduce_all(crystals: Sequence) -> list:
    """pymatgen Structures, primitive and Niggli-reduced, for :class:`~tfmat.structure.crystal.Crystal`\\ s
    (None stays None)."""
    return [None if c is None else c.to_pymatgen().get_primitive_structure().get_reduced_structure()
            for c in crystals]


def unique_mask(structures: Sequence, groups: Sequence | None = None) -> np.ndarray:
    """True for the first of each set of matching structures (reduced, from :func:`reduce_all`); None is
    never unique. Structures are compared within the same ``groups`` label only (e.g. the requested
    composition), in order: one is unique when it matches none of the unique ones before it."""
    matcher = _matcher()
    groups = [0] * len(structures) if groups is None else list(groups)
    kept: dict = defaultdict(list)
    out = np.zeros(len(structures), dtype=bool)
    for i, (s, g) in enumerate(zip(structures, groups)):
        if s is None:
            continue
        key = (g, *_kind(s))
        if not any(matcher.fit(s, r, skip_structure_reduction=True) for r in kept[key]):
            kept[key].append(s)
            out[i] = True
    return out


def novel_mask(structures: Sequence, known: Sequence) -> np.ndarray:
    """True where a structure (reduced) matches none of ``known`` (reduced); None is never novel."""
    matcher = _matcher()
    by_kind = defaultdict(list)
    for k in known:
        if k is not None:
            by_kind[_kind(k)].append(k)
    return np.array([s is not None and not any(matcher.fit(s, k, skip_structure_reduction=True)
                                               for k in by_kind[_kind(s)]) for s in structures], dtype=bool)
