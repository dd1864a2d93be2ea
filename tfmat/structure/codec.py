"""The CCCGAN matrix representation of a crystal (Kim et al. 2020).

A :class:`SlotLayout` fixes the elements and how many atoms of each a matrix
can hold. A matrix has ``layout.rows`` rows of three numbers:

* row 0: the cell lengths a, b, c divided by ``length_scale`` (30 Å);
* row 1: the cell angles α, β, γ divided by ``angle_scale`` (180°);
* then, element by element, one row ("slot") per atom: its fractional
  coordinate P, wrapped into [0, 1), scaled to P' = ⅔(P − 0.5) + 0.5, so a
  real atom lies in [1/6, 5/6]. Empty slots are 0.

Decoding reads a slot as an atom when its row sum exceeds ``threshold``
and takes P = (P' − 0.5)·1.5 + 0.5. Only the cell parameters are kept, so a
decoded crystal has the :meth:`Crystal.from_parameters` orientation.

The composition label of a matrix is, per element, a one-hot over the atom
counts 0..slots, concatenated (:func:`composition_onehot`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

from tfmat.elements import PERIODIC_TABLE
from tfmat.structure.crystal import Crystal

# Crystal's own test for a cell: volume > 1e-8 · abc, i.e. the squared volume factor > 1e-16
_MIN_VOLUME_FACTOR = 1e-16


@dataclass(frozen=True)
class SlotLayout:
    """Elements, the number of slots of each, and the scales of a matrix."""

    elements: tuple[str, ...]
    slots: tuple[int, ...]
    length_scale: float = 30.0
    angle_scale: float = 180.0
    threshold: float = 0.4

    def __post_init__(self):
        if isinstance(self.elements, str):
            raise ValueError("elements must be a sequence of element symbols, not one string.")
        elements = tuple(str(e) for e in self.elements)
        slots = tuple(int(s) for s in self.slots)
        if not elements or len(elements) != len(slots):
            raise ValueError(f"need one slot count per element; got {len(elements)} elements and {len(slots)} counts.")
        if len(set(elements)) != len(elements):
            raise ValueError(f"elements repeat: {elements}.")
        unknown = [e for e in elements if e not in PERIODIC_TABLE]
        if unknown:
            raise ValueError(f"unknown element symbol(s): {', '.join(unknown)}.")
        if min(slots) < 1:
            raise ValueError(f"every element needs at least one slot; got {slots}.")
        if not (self.length_scale > 0 and self.angle_scale > 0 and self.threshold > 0):
            raise ValueError("length_scale, angle_scale and threshold must be positive.")
        object.__setattr__(self, "elements", elements)
        object.__setattr__(self, "slots", slots)

    @property
    def rows(self) -> int:
        """Rows of a matrix: 2 + the number of slots."""
        return 2 + sum(self.slots)

    @property
    def ranges(self) -> tuple[range, ...]:
        """The matrix rows of each element, in the order of ``elements``."""
        stops = 2 + np.cumsum(self.slots)
        return tuple(range(int(stop) - n, int(stop)) for stop, n in zip(stops, self.slots))

    def rows_of(self, element: str) -> range:
        """The matrix rows of one element."""
        if element not in self.elements:
            raise ValueError(f"{element} is not in the layout ({', '.join(self.elements)}).")
        return self.ranges[self.elements.index(element)]

    @property
    def onehot_width(self) -> int:
        """Columns of the composition label: Σ (slots + 1)."""
        return sum(self.slots) + len(self.slots)

    def __str__(self) -> str:
        return " ".join(f"{e}×{n}" for e, n in zip(self.elements, self.slots))


MGMNO = SlotLayout(("Mg", "Mn", "O"), (8, 8, 12))
"""The Mg–Mn–O layout of the paper: 8 Mg, 8 Mn and 12 O slots, a 30×3 matrix."""


class Decoded(NamedTuple):
    """What :func:`decode` returns: a crystal or None per matrix, and the reason for each None."""

    crystals: list
    reasons: list


# --------------------------------------------------------------------------- coordinates
def scale_frac(frac: np.ndarray) -> np.ndarray:
    """Fractional coordinates to slot values: wrap into [0, 1), then ⅔(P − 0.5) + 0.5."""
    p = np.mod(frac, 1.0)
    p = np.where(p >= 1.0, 0.0, p)  # np.mod(-1e-17, 1) rounds to 1.0
    return (2.0 / 3.0) * (p - 0.5) + 0.5


def unscale_frac(values: np.ndarray) -> np.ndarray:
    """Slot values to fractional coordinates: (P' − 0.5)·1.5 + 0.5 (not wrapped)."""
    return (np.asarray(values, dtype=float) - 0.5) * 1.5 + 0.5


def occupied(matrices: np.ndarray, layout: SlotLayout) -> np.ndarray:
    """(N, Σ slots) bool: which slots hold an atom (row sum > threshold)."""
    m = _as_matrices(matrices, layout)
    return m[:, 2:].sum(axis=-1) > layout.threshold


def _as_matrices(matrices, layout: SlotLayout) -> np.ndarray:
    m = np.asarray(matrices)
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3 or m.shape[1:] != (layout.rows, 3):
        raise ValueError(f"matrices for the layout {layout} have shape (N, {layout.rows}, 3); got {m.shape}.")
    return m


# --------------------------------------------------------------------------- encode
def encode_one(crystal, layout: SlotLayout) -> np.ndarray:
    """One crystal (a :class:`Crystal` or pymatgen ``Structure``) as a (rows, 3) float64 matrix.

    The sites of each element fill its slots in the order they appear in the
    crystal. Raises ValueError with the reason when an element is not in the
    layout or has more atoms than slots.
    """
    if not isinstance(crystal, Crystal):
        crystal = Crystal.from_pymatgen(crystal)
    species = np.array(crystal.species)
    foreign = sorted(set(crystal.species) - set(layout.elements))
    if foreign:
        raise ValueError(f"element(s) {', '.join(foreign)} not in the layout ({', '.join(layout.elements)})")
    m = np.zeros((layout.rows, 3))
    params = np.array(crystal.parameters)
    m[0] = params[:3] / layout.length_scale
    m[1] = params[3:] / layout.angle_scale
    for element, rows in zip(layout.elements, layout.ranges):
        frac = crystal.frac[species == element]
        if len(frac) > len(rows):
            raise ValueError(f"{len(frac)} {element} atoms, more than the {len(rows)} {element} slots")
        m[rows.start:rows.start + len(frac)] = scale_frac(frac)
    return m


def encode(crystals, layout: SlotLayout, names: Sequence[str] | None = None) -> np.ndarray:
    """Crystals (or pymatgen Structures) as (N, rows, 3) float32 matrices.

    A crystal that does not fit the layout raises ValueError naming it
    (``names[i]``, or ``structure i`` and its formula) and the reason.
    """
    if isinstance(crystals, Crystal) or hasattr(crystals, "lattice"):
        crystals = [crystals]
    crystals = list(crystals)
    out = np.zeros((len(crystals), layout.rows, 3), dtype=np.float32)
    for i, crystal in enumerate(crystals):
        try:
            out[i] = encode_one(crystal, layout)
        except ValueError as exc:
            name = names[i] if names is not None else f"structure {i} ({_formula(crystal)})"
            raise ValueError(f"{name}: {exc}") from exc
    return out


def _formula(crystal) -> str:
    try:
        species = crystal.species if isinstance(crystal, Crystal) else [s.specie.symbol for s in crystal]
    except Exception:  # a disordered pymatgen site has no single species
        return "?"
    symbols, n = np.unique(np.asarray(species, dtype=str), return_counts=True)
    return "".join(f"{s}{k}" for s, k in zip(symbols, n))


# --------------------------------------------------------------------------- decode
def invalid_reasons(matrices, layout: SlotLayout) -> list:
    """Per matrix, why it does not decode to a crystal, or None when it does."""
    m = _as_matrices(matrices, layout).astype(float)
    lengths = m[:, 0] * layout.length_scale
    angles = m[:, 1] * layout.angle_scale
    cos = np.cos(np.radians(angles))
    factor = 1.0 - (cos**2).sum(axis=1) + 2.0 * cos.prod(axis=1)
    with np.errstate(invalid="ignore"):
        checks = [
            (~np.isfinite(m).all(axis=(1, 2)), "non-finite values"),
            (~occupied(m, layout).any(axis=1), "no atoms"),
            (~(lengths > 0).all(axis=1), "cell has a non-positive length"),
            (~((angles > 0) & (angles < 180)).all(axis=1), "cell has an angle outside (0°, 180°)"),
            (~(factor > _MIN_VOLUME_FACTOR), "cell has non-positive volume"),
        ]
    reasons = [None] * len(m)
    for bad, reason in reversed(checks):  # the first failing check wins
        for i in np.flatnonzero(bad):
            reasons[i] = reason
    return reasons


def decode(matrices, layout: SlotLayout) -> Decoded:
    """Matrices (N, rows, 3) as crystals: ``(crystals, reasons)``, a Crystal or None per matrix
    and, for each None, why (e.g. "no atoms", "cell has non-positive volume")."""
    m = _as_matrices(matrices, layout).astype(float)
    reasons = invalid_reasons(m, layout)
    occ = occupied(m, layout)
    frac = unscale_frac(m[:, 2:])
    params = np.concatenate([m[:, 0] * layout.length_scale, m[:, 1] * layout.angle_scale], axis=1)
    slot_species = np.repeat(np.array(layout.elements), layout.slots)
    crystals = [None] * len(m)
    for i in np.flatnonzero([r is None for r in reasons]):
        try:
            crystals[i] = Crystal.from_parameters(*params[i], species=slot_species[occ[i]], frac=frac[i, occ[i]])
        except ValueError as exc:
            reasons[i] = str(exc)
    return Decoded(crystals, reasons)


# --------------------------------------------------------------------------- compositions
def counts(matrices, layout: SlotLayout) -> np.ndarray:
    """(N, n_elements) int: the occupied slots of each element."""
    occ = occupied(matrices, layout)
    starts = np.cumsum((0,) + layout.slots[:-1])
    return np.add.reduceat(occ.astype(int), starts, axis=1)


def composition_onehot(counts, layout: SlotLayout) -> np.ndarray:
    """Composition labels (N, Σ (slots + 1)) float32: per element a one-hot over 0..slots."""
    c = np.asarray(counts)
    if c.ndim == 1:
        c = c[None]
    if c.ndim != 2 or c.shape[1] != len(layout.elements):
        raise ValueError(f"counts for the layout {layout} have shape (N, {len(layout.elements)}); got {c.shape}.")
    if not np.array_equal(c, np.round(c)) or (c < 0).any() or (c > np.array(layout.slots)).any():
        raise ValueError(f"counts must be whole numbers from 0 to the slots ({layout}).")
    offsets = np.cumsum((0,) + tuple(n + 1 for n in layout.slots[:-1]))
    out = np.zeros((len(c), layout.onehot_width), dtype=np.float32)
    np.put_along_axis(out, c.astype(int) + offsets, 1.0, axis=1)
    return out


def composition_from_string(formula: str, layout: SlotLayout) -> np.ndarray:
    """Atom counts (n_elements,) of a composition naming the cell's contents, taken as written.

    ``composition_from_string("Mg4Mn2O8", MGMNO)`` is ``[4, 2, 8]``. Raises
    ValueError with the reason for unknown or foreign elements, amounts that
    are not whole numbers, or more atoms than slots.
    """
    from tfmat.composition import parse_formula

    try:
        amounts = parse_formula(formula)
    except ValueError as exc:
        raise ValueError(f"{formula!r}: {exc}") from exc
    foreign = sorted(set(amounts) - set(layout.elements))
    if foreign:
        raise ValueError(f"{formula!r}: element(s) {', '.join(foreign)} not in the layout ({', '.join(layout.elements)})")
    out = np.zeros(len(layout.elements), dtype=int)
    for element, amount in amounts.items():
        k = layout.elements.index(element)
        if amount != round(amount):
            raise ValueError(f"{formula!r}: {amount:g} {element} atoms is not a whole number")
        if amount > layout.slots[k]:
            raise ValueError(f"{formula!r}: {amount:g} {element} atoms, more than the {layout.slots[k]} {element} slots")
        out[k] = int(round(amount))
    return out
