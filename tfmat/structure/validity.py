"""Whether generated crystals are physically possible: the structure-validity test of the
crystal-generation literature (every interatomic distance under periodic boundaries > 0.5 Å, and
more than 0.1 Å³ of cell per atom)."""
from __future__ import annotations

import numpy as np

from .distances import lll_reduce, pbc_distances

MIN_DISTANCE = 0.5  # Å
MIN_VOLUME_PER_ATOM = 0.1  # Å³
_SHIFTS = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1) if (i, j, k) != (0, 0, 0)])


def shortest_translation(lattice) -> float:
    """The shortest non-zero lattice vector (Å): the distance from a site to its own nearest image."""
    reduced, _ = lll_reduce(lattice)
    return float(np.linalg.norm(_SHIFTS @ reduced, axis=1).min())


def min_distance(crystal) -> float:
    """The shortest distance between two sites, or between a site and its own periodic image (Å)."""
    shortest = shortest_translation(crystal.lattice)
    if len(crystal.frac) > 1:
        d = pbc_distances(crystal.frac, crystal.frac, crystal.lattice)
        np.fill_diagonal(d, np.inf)
        shortest = min(shortest, float(d.min()))
    return shortest


def is_valid(crystal) -> bool:
    """Every distance > :data:`MIN_DISTANCE` and volume per atom > :data:`MIN_VOLUME_PER_ATOM`; None is invalid."""
    if crystal is None:
        return False
    volume = abs(np.linalg.det(crystal.lattice))
    return volume / len(crystal.frac) > MIN_VOLUME_PER_ATOM and min_distance(crystal) > MIN_DISTANCE
