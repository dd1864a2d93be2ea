"""Judging generated crystals with the metrics of the crystal-generation literature.

Per sample (:func:`describe`): the decoded composition, the cell, density,
shortest interatomic distance and structure validity
(:mod:`tfmat.structure.validity`). Over a set (:func:`evaluate`), each
share taken over every sample requested, so one that did not decode counts
against it:

- ``valid``: structure validity;
- ``composition_valid``: SMACT charge neutrality of the decoded composition
  (:func:`tfmat.chemistry.check_formulas`, SMACT's default oxidation states);
- ``conditioned``: decoded atom counts equal the requested ones;
- ``unique``: not matching an earlier sample of the same request
  (:mod:`tfmat.structure.matching`);
- ``novel`` (with training crystals): matching none of them;
- ``wasserstein_density`` (g/cm³), ``wasserstein_atoms`` and
  ``wasserstein_min_distance`` (Å): 1-D Wasserstein distances of the decoded
  samples' densities, atom counts and shortest interatomic distances to the
  training set's.

:func:`random_baseline` places the requested atoms at uniform random
fractional coordinates in a training cell of the same composition: the
chance level a generator has to beat.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .validity import is_valid, min_distance

AVOGADRO_FACTOR = 1.66053906660  # g/cm³ per (amu/Å³)


def formula_of(counts: Sequence[int], elements: Sequence[str]) -> str:
    """Cell contents as written, e.g. ``Mg4Mn2O8`` (elements with zero atoms left out)."""
    return "".join(f"{e}{int(n)}" for e, n in zip(elements, counts) if n)


def density(crystal) -> float:
    """Mass density in g/cm³."""
    from pymatgen.core import Element

    mass = sum(float(Element(s).atomic_mass) for s in crystal.species)
    return mass / abs(float(np.linalg.det(crystal.lattice))) * AVOGADRO_FACTOR


def crystal_counts(crystal, elements: Sequence[str]) -> np.ndarray:
    species = list(crystal.species)
    return np.array([species.count(e) for e in elements])


@dataclass
class Sample:
    """One generated crystal as the output table describes it."""

    requested: str
    decoded: str  # "" when it did not decode
    cell: tuple  # (a, b, c, α, β, γ); NaNs when it did not decode
    density: float
    min_distance: float
    valid: bool
    reason: str  # why it did not decode, else ""


def describe(crystal, requested: Sequence[int], elements: Sequence[str], reason: str | None = None) -> Sample:
    """A :class:`Sample` row for ``crystal`` (None when it did not decode, with ``reason``)."""
    want = formula_of(requested, elements)
    if crystal is None:
        return Sample(want, "", (np.nan,) * 6, np.nan, np.nan, False, reason or "did not decode")
    return Sample(want, formula_of(crystal_counts(crystal, elements), elements), crystal.parameters,
                  density(crystal), min_distance(crystal), is_valid(crystal), "")


def random_baseline(requested: np.ndarray, train_crystals: Sequence, elements: Sequence[str],
                    seed: int = 0) -> list:
    """One crystal per row of ``requested`` (atom counts): its atoms at uniform random fractional
    coordinates in the cell of a random training crystal with the same counts; for a composition the
    training set lacks, in a training cell with the nearest counts (L1), scaled to keep its volume per atom."""
    from .crystal import Crystal

    rng = np.random.default_rng(seed)
    train_counts = np.array([crystal_counts(c, elements) for c in train_crystals])
    out = []
    for want in np.asarray(requested):
        distance = np.abs(train_counts - want).sum(axis=1)
        pick = train_crystals[rng.choice(np.flatnonzero(distance == distance.min()))]
        lattice = pick.lattice * (want.sum() / len(pick.species)) ** (1.0 / 3.0)
        species = np.repeat(np.asarray(elements), want)
        out.append(Crystal(lattice, species, rng.uniform(size=(len(species), 3))))
    return out


def wasserstein(a, b) -> float:
    from scipy.stats import wasserstein_distance

    a, b = np.asarray(a, float), np.asarray(b, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    return float(wasserstein_distance(a, b)) if len(a) and len(b) else float("nan")


def evaluate(crystals: Sequence, requested: np.ndarray, elements: Sequence[str], train_crystals: Sequence = (),
             novelty: bool = True, reasons: Sequence | None = None) -> tuple[dict, list[Sample], np.ndarray, np.ndarray]:
    """``(figures, samples, unique, novel)`` for ``crystals`` (None where one did not decode, ``reasons``
    saying why) generated for the rows of ``requested``. ``novel`` (and its figure) needs
    ``train_crystals`` and ``novelty``; it is all False otherwise."""
    from ..chemistry import check_formulas
    from .matching import novel_mask, reduce_all, unique_mask

    requested = np.asarray(requested)
    reasons = [None] * len(crystals) if reasons is None else reasons
    samples = [describe(c, r, elements, why) for c, r, why in zip(crystals, requested, reasons)]
    n = len(samples)
    decoded = [s.decoded for s in samples]
    neutral = np.zeros(n, dtype=bool)
    ok = [i for i, d in enumerate(decoded) if d]
    if ok:
        neutral[ok] = check_formulas([decoded[i] for i in ok]).cn
    reduced = reduce_all(crystals)
    unique = unique_mask(reduced, [s.requested for s in samples])
    novel = np.zeros(n, dtype=bool)
    figures = {
        "samples": n,
        "decoded": len(ok) / n,
        "valid": float(np.mean([s.valid for s in samples])),
        "composition_valid": float(neutral.mean()),
        "conditioned": float(np.mean([s.decoded == s.requested for s in samples])),
        "unique": float(unique.mean()),
    }
    if len(train_crystals):
        if novelty:
            novel = novel_mask(reduced, reduce_all(train_crystals))
            figures["novel"] = float(novel.mean())
            figures["unique_novel"] = float((unique & novel).mean())
        figures["wasserstein_density"] = wasserstein([s.density for s in samples],
                                                     [density(c) for c in train_crystals])
        figures["wasserstein_atoms"] = wasserstein([len(c.species) for c in crystals if c is not None],
                                                   [len(c.species) for c in train_crystals])
        figures["wasserstein_min_distance"] = wasserstein([s.min_distance for s in samples],
                                                          [min_distance(c) for c in train_crystals])
    return figures, samples, unique, novel
