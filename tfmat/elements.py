"""Element tables, defined once.

``ELEMENTS`` holds the 85 elements of the MatGAN representation: H through Pu
in atomic-number order, leaving out He, Ne, Ar, Kr, Po, At, Rn, Fr and Ra
(thesis 3.2.1). Row ``i`` of every (N, 85, 8) matrix is ``ELEMENTS[i]``.
``PERIODIC_TABLE`` holds every symbol a formula may name.
"""
from __future__ import annotations

import numpy as np

PERIODIC_TABLE: tuple[str, ...] = tuple((
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni "
    "Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I "
    "Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt "
    "Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr "
    "Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og"
).split())
N_Z = len(PERIODIC_TABLE)  # 118; column z-1 of a composition is element z
Z_OF: dict[str, int] = {s: i + 1 for i, s in enumerate(PERIODIC_TABLE)}

EXCLUDED = ("He", "Ne", "Ar", "Kr", "Po", "At", "Rn", "Fr", "Ra")
ELEMENTS: tuple[str, ...] = tuple(s for s in PERIODIC_TABLE[:94] if s not in EXCLUDED)
N_ELEMENTS = len(ELEMENTS)  # 85
MAX_COUNT = 8  # columns of the one-hot matrix: counts 1..8
SYMBOL_TO_INDEX: dict[str, int] = {s: i for i, s in enumerate(ELEMENTS)}
ATOMIC_NUMBERS = np.array([Z_OF[s] for s in ELEMENTS], dtype=np.int64)

# Row of the 85-element matrix for atomic number z (index z-1), -1 if not one of the 85.
INDEX_OF_Z = np.full(N_Z, -1, dtype=np.int64)
INDEX_OF_Z[ATOMIC_NUMBERS - 1] = np.arange(N_ELEMENTS)

# Pauling electronegativities as pymatgen tabulates them; they only order the
# symbols of a formula string (elements without a value are written last).
_PAULING = {
    "H": 2.20, "Li": 0.98, "Be": 1.57, "B": 2.04, "C": 2.55, "N": 3.04, "O": 3.44,
    "F": 3.98, "Na": 0.93, "Mg": 1.31, "Al": 1.61, "Si": 1.90, "P": 2.19, "S": 2.58,
    "Cl": 3.16, "K": 0.82, "Ca": 1.00, "Sc": 1.36, "Ti": 1.54, "V": 1.63, "Cr": 1.66,
    "Mn": 1.55, "Fe": 1.83, "Co": 1.88, "Ni": 1.91, "Cu": 1.90, "Zn": 1.65, "Ga": 1.81,
    "Ge": 2.01, "As": 2.18, "Se": 2.55, "Br": 2.96, "Kr": 3.00, "Rb": 0.82, "Sr": 0.95,
    "Y": 1.22, "Zr": 1.33, "Nb": 1.60, "Mo": 2.16, "Tc": 1.90, "Ru": 2.20, "Rh": 2.28,
    "Pd": 2.20, "Ag": 1.93, "Cd": 1.69, "In": 1.78, "Sn": 1.96, "Sb": 2.05, "Te": 2.10,
    "I": 2.66, "Xe": 2.60, "Cs": 0.79, "Ba": 0.89, "La": 1.10, "Ce": 1.12, "Pr": 1.13,
    "Nd": 1.14, "Pm": 1.13, "Sm": 1.17, "Eu": 1.20, "Gd": 1.20, "Tb": 1.10, "Dy": 1.22,
    "Ho": 1.23, "Er": 1.24, "Tm": 1.25, "Yb": 1.10, "Lu": 1.27, "Hf": 1.30, "Ta": 1.50,
    "W": 2.36, "Re": 1.90, "Os": 2.20, "Ir": 2.20, "Pt": 2.28, "Au": 2.54, "Hg": 2.00,
    "Tl": 1.62, "Pb": 2.33, "Bi": 2.02, "Po": 2.00, "At": 2.20, "Rn": 2.20, "Fr": 0.70,
    "Ra": 0.90, "Ac": 1.10, "Th": 1.30, "Pa": 1.50, "U": 1.38, "Np": 1.36, "Pu": 1.28,
    "Am": 1.30, "Cm": 1.30, "Bk": 1.30, "Cf": 1.30, "Es": 1.30, "Fm": 1.30, "Md": 1.30,
    "No": 1.30, "Lr": 1.30,
}
PAULING = np.array([_PAULING.get(s, np.inf) for s in PERIODIC_TABLE])

# Rank of each atomic number (index z-1) in the order formula strings are
# written: electronegativity, then symbol (pymatgen's reduced_formula order).
_order = sorted(range(N_Z), key=lambda i: (PAULING[i], PERIODIC_TABLE[i]))
WRITE_RANK = np.empty(N_Z, dtype=np.int64)
WRITE_RANK[_order] = np.arange(N_Z)
