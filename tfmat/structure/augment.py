"""Augmenting CCCGAN matrices with the same crystal in other cells, in NumPy.

* :func:`supercells`: 2× supercells along one axis (a, b, c) and along two
  axes (ab, ac, bc) that still fit the layout, as extra structures.
* :func:`translate`: one random shift of all atoms of a structure, mod 1.
* :func:`swap_axes`: a random relabelling of the three axes per structure
  (:func:`permute_axes` applies given ones).
* :func:`augmented_dataset`: a seeded ``tf.data.Dataset`` of (matrix,
  composition label) batches: supercells added once, translations, axis
  swaps and order redrawn every epoch.

Each of them gives the same crystal, up to a rotation and the choice of cell.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tfmat.structure.codec import MGMNO, SlotLayout, composition_onehot, occupied, scale_frac, unscale_frac
from tfmat.structure.codec import counts as count_atoms

SUPERCELL_AXES = ((0,), (1,), (2,), (0, 1), (0, 2), (1, 2))
"""The axes doubled by :func:`supercells`, in the order it makes them: a, b, c, ab, ac, bc."""


class Supercells(NamedTuple):
    """What :func:`supercells` returns: the new matrices, the index of the structure each comes
    from, and the axes it doubles (an entry of :data:`SUPERCELL_AXES`)."""

    matrices: np.ndarray
    source: np.ndarray
    axes: list


def supercells(matrices, layout: SlotLayout) -> Supercells:
    """The 2× supercells of each structure along one axis and along two axes.

    A supercell is made when every element's doubled (one axis) or
    quadrupled (two axes) count fits its slots and every doubled length
    stays within ``length_scale`` (a scaled value ≤ 1). Doubling axis i
    maps P_i to P_i / 2 and adds the copies at P_i / 2 + ½; each element's
    slots hold the original atoms first, then each copy in turn. The
    result is ordered by source structure, then as :data:`SUPERCELL_AXES`;
    the three-axis (2×2×2) supercell is not made.
    """
    m = np.asarray(matrices)
    c = count_atoms(m, layout)
    occ = occupied(m, layout)
    frac = np.mod(unscale_frac(m[:, 2:]), 1.0)
    slots = np.array(layout.slots)
    parts, sources, axes = [], [], []
    for k, ax in enumerate(SUPERCELL_AXES):
        copies = 2 ** len(ax)
        fits = (c * copies <= slots).all(axis=1) & (m[:, 0, list(ax)] * 2 <= 1.0).all(axis=1)
        idx = np.flatnonzero(fits)
        shifts = np.zeros((copies, 3))
        shifts[:, list(ax)] = 0.5 * np.array([[(j >> b) & 1 for b in range(len(ax))] for j in range(copies)])
        half = frac[idx].copy()
        half[..., list(ax)] /= 2
        out = np.zeros((len(idx), layout.rows, 3), dtype=m.dtype)
        out[:, :2] = m[idx, :2]
        out[:, 0, list(ax)] *= 2
        for rows in layout.ranges:
            block = slice(rows.start - 2, rows.stop - 2)
            # occupied slots first (stable), so atom i of the element sits at position i
            order = np.argsort(~occ[idx, block], axis=1, kind="stable")
            atoms = np.take_along_axis(half[:, block], order[..., None], axis=1)
            n = occ[idx, block].sum(axis=1)
            s, a = np.nonzero(np.arange(len(rows))[None] < n[:, None])
            for j, shift in enumerate(shifts):
                out[s, rows.start + j * n[s] + a] = scale_frac(atoms[s, a] + shift)
        parts.append(out)
        sources.append(idx)
        axes.append(np.full(len(idx), k))
    source, which = np.concatenate(sources), np.concatenate(axes)
    order = np.argsort(source, kind="stable")  # by source; within one, SUPERCELL_AXES order
    return Supercells(np.concatenate(parts)[order], source[order], [SUPERCELL_AXES[k] for k in which[order]])


def translate(matrices, rng: np.random.Generator, layout: SlotLayout = MGMNO) -> np.ndarray:
    """Each structure with all its atoms shifted by one random vector (mod 1); empty slots stay 0."""
    m = np.asarray(matrices)
    occ = occupied(m, layout)
    shift = rng.random((len(m), 1, 3))
    out = m.copy()
    moved = scale_frac(unscale_frac(m[:, 2:]) + shift)
    out[:, 2:] = np.where(occ[..., None], moved, 0.0)
    return out


def swap_axes(matrices, rng: np.random.Generator, layout: SlotLayout = MGMNO) -> np.ndarray:
    """Each structure with its axes relabelled by a random permutation (see :func:`permute_axes`)."""
    m = np.asarray(matrices)
    return permute_axes(m, np.argsort(rng.random((len(m), 3)), axis=1), layout)


def permute_axes(matrices, perm, layout: SlotLayout = MGMNO) -> np.ndarray:
    """Structures with their axes relabelled: new axis i is old axis ``perm[i]`` (one (3,)
    permutation, or one per structure). Lengths, angles (α is the angle between b and
    c, so it follows a) and coordinate columns all become ``[perm]``.

    The cell is rebuilt right-handed from its parameters, so an odd permutation
    alone would give the mirror image; there the coordinates are also negated
    (mod 1), which keeps the same crystal (the new axes are −a_perm).
    """
    m = np.asarray(matrices)
    perm = np.broadcast_to(np.asarray(perm, dtype=int), (len(m), 3))
    if not (np.sort(perm, axis=1) == np.arange(3)).all():
        raise ValueError("each perm must be a permutation of (0, 1, 2).")
    occ = occupied(m, layout)
    odd = ((perm[:, 0] > perm[:, 1]).astype(int) + (perm[:, 0] > perm[:, 2]) + (perm[:, 1] > perm[:, 2])) % 2 == 1
    out = np.take_along_axis(m, perm[:, None, :], axis=2)
    p = unscale_frac(out[:, 2:])
    p = np.where(odd[:, None, None], -p, p)
    out[:, 2:] = np.where(occ[..., None], scale_frac(p), 0.0)
    return out


def augmented_dataset(matrices, counts, layout: SlotLayout, batch_size: int, seed: int, *,
                      with_supercells: bool = True, drop_remainder: bool = False, epoch: int = 0):
    """A ``tf.data.Dataset`` of (matrix (B, rows, 3), composition label (B, width)) float32 batches.

    The supercells of :func:`supercells` are added once. Every pass over the
    dataset (epoch e, counted from ``epoch``) draws new translations, axis swaps and a new order from
    ``numpy.random.default_rng([seed, e])``: the same seed gives the same
    batches, epoch by epoch. ``counts`` must be the counts of ``matrices``.
    """
    import tensorflow as tf

    m = np.asarray(matrices, dtype=np.float32)
    c = np.asarray(counts)
    if not np.array_equal(c, count_atoms(m, layout)):
        raise ValueError("counts do not match the occupied slots of the matrices.")
    if with_supercells:
        extra = supercells(m, layout).matrices
        m = np.concatenate([m, extra])
        c = np.concatenate([c, count_atoms(extra, layout)])
    labels = composition_onehot(c, layout)
    passes = [epoch]

    def batches():
        rng = np.random.default_rng([seed, passes[0]])
        passes[0] += 1
        x = swap_axes(translate(m, rng, layout), rng, layout).astype(np.float32)
        order = rng.permutation(len(x))
        stop = len(x) - len(x) % batch_size if drop_remainder else len(x)
        for start in range(0, stop, batch_size):
            take = order[start:start + batch_size]
            yield x[take], labels[take]

    signature = (tf.TensorSpec((None, layout.rows, 3), tf.float32),
                 tf.TensorSpec((None, layout.onehot_width), tf.float32))
    return tf.data.Dataset.from_generator(batches, output_signature=signature)
