"""CrystalGAN's geometric constraint: metal–metal nearest-neighbour distances in [d1, d2].

For a crystal of H, A and B atoms, three distances under periodic boundary
conditions: the shortest A–B, the shortest A–A′ and the shortest B–B′ (A′ is
another A site or a periodic image of the same one). H is left out, as in the
paper. A crystal is *in range* when it holds both metals and all three lie in
[d1, d2] (1.8 Å and 3 Å in the paper).

:func:`metal_distances` is exact (NumPy, any cell); :func:`metal_distances_tf`
computes the same from block arrays (:mod:`tfmat.structure.blocks`) in
TensorFlow, differentiably, for the loss, searching the 27 images around the
wrapped difference (exact unless the cell is strongly skewed).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .distances import pbc_distances
from .validity import shortest_translation

D1, D2 = 1.8, 3.0  # Å, the paper's limits
PAIRS = ("A-B", "A-A", "B-B")


def metal_distances(crystal, metal_a: str, metal_b: str) -> np.ndarray:
    """(3,) shortest A–B, A–A′ and B–B′ distances in Å; NaN where a metal is missing."""
    species = np.asarray(crystal.species)
    fa, fb = crystal.frac[species == metal_a], crystal.frac[species == metal_b]
    self_image = shortest_translation(crystal.lattice)

    def same(f):
        if not len(f):
            return np.nan
        d = pbc_distances(f, f, crystal.lattice)
        np.fill_diagonal(d, np.inf)
        return min(self_image, float(d.min()))

    ab = float(pbc_distances(fa, fb, crystal.lattice).min()) if len(fa) and len(fb) else np.nan
    return np.array([ab, same(fa), same(fb)])


def in_range(distances, d1: float = D1, d2: float = D2) -> np.ndarray:
    """True where all three distances (rows of ``distances``, (..., 3)) lie in [d1, d2]; NaN is out."""
    d = np.asarray(distances, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.all((d >= d1) & (d <= d2), axis=-1)


def metal_distances_tf(arrays, layout):
    """(B, 3) shortest A–B, A–A′ and B–B′ distances in Å of block arrays (B, 4, rows, 3), and a (B, 3)
    0/1 mask of which exist (both metals present for A–B, the metal for A–A′ and B–B′). Atoms are the
    rows whose sum exceeds the layout's threshold (no gradient through that choice); the distances are
    differentiable in the lattice and the coordinates."""
    import tensorflow as tf

    from .distances import pbc_images_tf

    arrays = tf.convert_to_tensor(arrays)
    lattice = arrays[:, 0, :3] * layout.length_scale
    metals = tf.concat([arrays[:, 2], arrays[:, 3]], axis=1)  # (B, 2·rows, 3): A rows, then B rows
    frac = (metals - 0.5) * 1.5 + 0.5
    atom = tf.cast(tf.reduce_sum(tf.stop_gradient(metals), axis=-1) > layout.threshold, arrays.dtype)
    rows = layout.rows
    is_a = tf.concat([tf.ones(rows), tf.zeros(rows)], axis=0)
    d2 = tf.reduce_sum(pbc_images_tf(frac, frac, lattice) ** 2, axis=-1)  # (B, n, n, 27)
    # a site and its own image at zero shift (image 13 of the 27) is no neighbour
    n = 2 * rows
    self_zero = tf.reshape(tf.one_hot(13, 27), [1, 1, 1, 27]) * tf.eye(n)[None, :, :, None]
    d2 = d2 + 1e6 * self_zero
    d2 = tf.reduce_min(d2, axis=-1)  # (B, n, n)
    both = atom[:, :, None] * atom[:, None, :]
    is_b = 1.0 - is_a
    kinds = [is_a[:, None] * is_b[None, :], is_a[:, None] * is_a[None, :], is_b[:, None] * is_b[None, :]]
    out, present = [], []
    for kind in kinds:
        mask = both * kind[None]
        has = tf.cast(tf.reduce_any(mask > 0, axis=[1, 2]), arrays.dtype)
        shortest = tf.reduce_min(d2 + 1e6 * (1.0 - mask), axis=[1, 2])
        safe = tf.where(has > 0, shortest, tf.ones_like(shortest))
        out.append(tf.sqrt(tf.maximum(safe, 1e-12)) * has)
        present.append(has)
    return tf.stack(out, axis=1), tf.stack(present, axis=1)


def geometric_terms(distances, present, d1: float = D1, d2: float = D2, form: str = "hinge"):
    """``(geo1, geo2)``: the constraint's two terms, averaged over the batch, from
    :func:`metal_distances_tf`'s output.

    ``hinge`` (default): Σ over the existing distances s of max(0, d1 − s)² and of max(0, s − d2)²,
    zero exactly when every distance lies in [d1, d2]. ``paper``: the formulas as printed,
    min_s (d1 − s)² and −min_s (d2 − s)² over the sample's existing distances; the second is
    unbounded below.
    """
    import tensorflow as tf

    if form == "hinge":
        low = tf.reduce_sum(present * tf.nn.relu(d1 - distances) ** 2, axis=1)
        high = tf.reduce_sum(present * tf.nn.relu(distances - d2) ** 2, axis=1)
        return tf.reduce_mean(low), tf.reduce_mean(high)
    if form == "paper":
        big = 1e6 * (1.0 - present)
        any_ = tf.reduce_max(present, axis=1)
        low = tf.reduce_min((d1 - distances) ** 2 + big, axis=1) * any_
        high = -tf.reduce_min((d2 - distances) ** 2 + big, axis=1) * any_
        return tf.reduce_mean(low), tf.reduce_mean(high)
    raise ValueError(f"unknown geometric form {form!r}; choose hinge or paper")


class HydrideEvaluation(NamedTuple):
    """What :func:`evaluate_hydrides` returns."""

    figures: dict
    samples: list
    distances: np.ndarray
    unique: np.ndarray
    crystals: list  # the decoded crystals, None where one did not decode


def evaluate_hydrides(arrays, layout, d1: float = D1, d2: float = D2, uniqueness: bool = True) -> HydrideEvaluation:
    """``(figures, samples, distances, unique, crystals)`` for generated block arrays (N, 4, rows, 3).

    Each share is over all N samples, so one that does not decode, or a pseudo-binary (one metal
    missing), counts against it: ``decoded``; ``ternary`` (both metals present); ``in_range``
    (:func:`in_range` of the three metal distances, pseudo-binaries out); ``no_clash`` (no two
    sites, nor a site and its image, closer than 0.5 Å); ``unique`` (not matching an earlier
    decoded sample under StructureMatcher, :mod:`tfmat.structure.matching`); also the median of each
    distance and of the cell volume per atom (Å³) over the decoded samples. ``samples`` are the
    :class:`~tfmat.structure.evaluation.Sample` rows, ``distances`` (N, 3) the A–B, A–A′ and B–B′
    distances (NaN where missing), ``unique`` the (N,) mask (all False without ``uniqueness``).
    """
    from dataclasses import replace

    from .blocks import decode, species_counts
    from .evaluation import describe
    from .matching import reduce_all, unique_mask
    from .validity import MIN_DISTANCE

    arrays = np.asarray(arrays)
    crystals, reasons = decode(arrays, layout)
    counts = species_counts(arrays, layout)
    samples, distances = [], np.full((len(arrays), 3), np.nan)
    for i, (crystal, why) in enumerate(zip(crystals, reasons)):
        samples.append(replace(describe(crystal, counts[i], layout.species, why), requested=""))
        if crystal is not None:
            distances[i] = metal_distances(crystal, layout.metal_a, layout.metal_b)
    n = max(len(arrays), 1)
    ternary = (counts[:, 1] > 0) & (counts[:, 2] > 0) & np.array([c is not None for c in crystals], bool)
    unique = unique_mask(reduce_all(crystals)) if uniqueness else np.zeros(len(arrays), bool)
    figures = {"samples": len(arrays),
               "decoded": sum(c is not None for c in crystals) / n,
               "ternary": float(ternary.sum()) / n,
               "in_range": float((in_range(distances, d1, d2) & ternary).sum()) / n,
               "no_clash": float(sum(bool(s.min_distance > MIN_DISTANCE) for s in samples)) / n,
               "median_distances": {p: float(np.nanmedian(distances[:, k])) if np.isfinite(distances[:, k]).any()
                                    else float("nan") for k, p in enumerate(PAIRS)},
               "median_volume_per_atom": float(np.median([abs(np.linalg.det(c.lattice)) / len(c.species)
                                                          for c in crystals if c is not None]))
               if any(c is not None for c in crystals) else float("nan")}
    if uniqueness:
        figures["unique"] = float(unique.sum()) / n
    return HydrideEvaluation(figures, samples, distances, unique, crystals)
