"""Distances under periodic boundary conditions.

A lattice is a 3×3 matrix whose rows are the cell vectors in Å; a site with
fractional coordinates ``f`` sits at ``f @ lattice``. Cell parameters
(a, b, c, α, β, γ), lengths in Å and angles in degrees, become matrices in
the orientation of pymatgen's ``Lattice.from_parameters``: c along z, a in
the xz-plane.

The NumPy functions are exact for any cell. The ``*_tf`` functions are
differentiable and meant for the cells a generator outputs; TensorFlow is
imported only when one of them is called.
"""
from __future__ import annotations

import numpy as np


def lattice_matrix(params) -> np.ndarray:
    """Lattice matrices (..., 3, 3) from cell parameters (..., 6)."""
    p = np.asarray(params, dtype=float)
    if p.shape[-1:] != (6,):
        raise ValueError(f"cell parameters must have shape (..., 6), got {p.shape}.")
    a, b, c = p[..., 0], p[..., 1], p[..., 2]
    cos, sin = np.cos(np.radians(p[..., 3:])), np.sin(np.radians(p[..., 3:]))
    # cosine of the reciprocal angle γ*; its sine is sqrt(1 - cos²)
    cos_gs = np.clip((cos[..., 0] * cos[..., 1] - cos[..., 2]) / (sin[..., 0] * sin[..., 1]), -1.0, 1.0)
    zero = np.zeros_like(a)
    rows = ([a * sin[..., 1], zero, a * cos[..., 1]],
            [-b * sin[..., 0] * cos_gs, b * sin[..., 0] * np.sqrt(1.0 - cos_gs**2), b * cos[..., 0]],
            [zero, zero, c])
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def lll_reduce(lattice, delta: float = 0.75) -> tuple[np.ndarray, np.ndarray]:
    """LLL-reduce one lattice: ``(reduced, t)`` with ``reduced == t @ lattice``, ``t`` unimodular."""
    lattice = np.asarray(lattice, dtype=float)
    if lattice.shape != (3, 3):
        raise ValueError(f"a lattice is a 3×3 matrix, got shape {lattice.shape}.")
    if not abs(np.linalg.det(lattice)) > 1e-8 * np.prod(np.linalg.norm(lattice, axis=1)):
        raise ValueError("the lattice is singular or not finite; its rows must be three independent cell vectors.")
    t = np.eye(3)
    k = 1
    while k < 3:
        for j in range(k - 1, -1, -1):  # size-reduce row k against rows j < k
            r = np.linalg.qr((t @ lattice).T, mode="r")
            mu = r[j, k] / r[j, j]
            if abs(mu) > 0.5:
                t[k] -= np.rint(mu) * t[j]
        r = np.linalg.qr((t @ lattice).T, mode="r")
        if r[k, k] ** 2 >= (delta - (r[k - 1, k] / r[k - 1, k - 1]) ** 2) * r[k - 1, k - 1] ** 2:
            k += 1
        else:
            t[[k - 1, k]] = t[[k, k - 1]]
            k = max(k - 1, 1)
    return t @ lattice, t


def pbc_distances(frac_a, frac_b, lattice) -> np.ndarray:
    """Minimum-image distances in Å, exact for any cell.

    ``frac_a`` (..., n, 3), ``frac_b`` (..., m, 3) and ``lattice`` (..., 3, 3),
    with broadcastable leading dimensions, give (..., n, m). Each lattice is
    LLL-reduced and the 27 images around the wrapped difference are searched;
    the search widens when a bound says a nearer image could lie further out.
    """
    fa, fb, lat = (np.asarray(x, dtype=float) for x in (frac_a, frac_b, lattice))
    if fa.ndim < 2 or fb.ndim < 2 or fa.shape[-1] != 3 or fb.shape[-1] != 3 or lat.shape[-2:] != (3, 3):
        raise ValueError(f"expected shapes (..., n, 3), (..., m, 3) and (..., 3, 3); "
                         f"got {fa.shape}, {fb.shape} and {lat.shape}.")
    batch = np.broadcast_shapes(fa.shape[:-2], fb.shape[:-2], lat.shape[:-2])
    n, m = fa.shape[-2], fb.shape[-2]
    if n == 0 or m == 0:
        return np.zeros(batch + (n, m))
    fa = np.broadcast_to(fa, batch + (n, 3)).reshape(-1, n, 3)
    fb = np.broadcast_to(fb, batch + (m, 3)).reshape(-1, m, 3)
    reduced, t = map(np.stack, zip(*(lll_reduce(x) for x in np.broadcast_to(lat, batch + (3, 3)).reshape(-1, 3, 3))))
    # fractional coordinates in the reduced basis are f @ inv(t), an integer matrix
    diff = (fb[:, None] - fa[:, :, None]) @ np.rint(np.linalg.inv(t))[:, None]
    diff -= np.rint(diff)
    cart = diff @ reduced[:, None]
    best = _nearest_image_sq(cart, reduced, 1)
    # An image nearer than D needs |diff_i + k_i| <= D * h_i, h_i the norm of column i of inv(reduced).
    h = np.linalg.norm(np.linalg.inv(reduced), axis=-2)
    reach = np.floor(np.sqrt(best.max(axis=(1, 2)))[:, None] * h + 0.5).max(axis=0).astype(int)
    if reach.max() > 1:
        best = _nearest_image_sq(cart, reduced, reach)
    return np.sqrt(best).reshape(batch + (n, m))


def _nearest_image_sq(cart, lattice, reach) -> np.ndarray:
    """Smallest squared length of ``cart + k @ lattice`` over integer k with |k_i| <= reach[i]."""
    shifts = _images(reach) @ lattice  # (N, K, 3)
    best = np.full(cart.shape[:-1], np.inf)
    for k in range(shifts.shape[1]):
        np.minimum(best, np.sum((cart + shifts[:, None, None, k]) ** 2, axis=-1), out=best)
    return best


def _images(reach) -> np.ndarray:
    """Integer shifts (K, 3) with |k_i| <= reach[i] (one int: the same on every axis)."""
    axes = [np.arange(-r, r + 1, dtype=float) for r in np.broadcast_to(reach, (3,))]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def lattice_matrix_tf(params):
    """Differentiable :func:`lattice_matrix`: a (..., 6) tensor of cell parameters to (..., 3, 3)."""
    import tensorflow as tf

    p = tf.convert_to_tensor(params)
    if not p.dtype.is_floating:
        p = tf.cast(p, tf.float32)
    a, b, c = p[..., 0], p[..., 1], p[..., 2]
    rad = p[..., 3:] * (np.pi / 180.0)
    cos, sin = tf.cos(rad), tf.sin(rad)
    cos_gs = tf.clip_by_value((cos[..., 0] * cos[..., 1] - cos[..., 2]) / (sin[..., 0] * sin[..., 1]), -1.0, 1.0)
    zero = tf.zeros_like(a)
    rows = ([a * sin[..., 1], zero, a * cos[..., 1]],
            [-b * sin[..., 0] * cos_gs, b * sin[..., 0] * tf.sqrt(1.0 - cos_gs**2), b * cos[..., 0]],
            [zero, zero, c])
    return tf.stack([tf.stack(row, axis=-1) for row in rows], axis=-2)


def wrapped_vectors_tf(frac_a, frac_b, lattice):
    """Differentiable vectors in Å from each site of ``frac_a`` to each site of ``frac_b`` with the
    fractional difference wrapped into [-0.5, 0.5]: (B, n, 3), (B, m, 3), (B, 3, 3) to (B, n, m, 3).
    In a cell that is not skewed this is the minimum image; in general a shorter image may exist."""
    import tensorflow as tf

    fa = tf.convert_to_tensor(frac_a)
    if not fa.dtype.is_floating:
        fa = tf.cast(fa, tf.float32)
    fb = tf.convert_to_tensor(frac_b, dtype=fa.dtype)
    lat = tf.convert_to_tensor(lattice, dtype=fa.dtype)
    diff = fb[:, None, :, :] - fa[:, :, None, :]
    diff -= tf.stop_gradient(tf.round(diff))
    return tf.einsum("bnmi,bij->bnmj", diff, lat)


def pbc_images_tf(frac_a, frac_b, lattice):
    """:func:`wrapped_vectors_tf` and its 26 neighbouring images: (B, n, m, 27, 3)."""
    import tensorflow as tf

    cart = wrapped_vectors_tf(frac_a, frac_b, lattice)
    shifts = tf.einsum("ki,bij->bkj", tf.constant(_images(1), dtype=cart.dtype), tf.cast(lattice, cart.dtype))
    return cart[..., None, :] + shifts[:, None, None]


def pbc_distances_tf(frac_a, frac_b, lattice):
    """Differentiable minimum-image distances: (B, n, 3), (B, m, 3), (B, 3, 3) to (B, n, m), the
    shortest of :func:`pbc_images_tf`. The cell is not reduced, so the result is exact only when
    the cell is not too skewed; for a strongly skewed cell it can be too long (use
    :func:`pbc_distances` there). Gradients reach the coordinates and the lattice; at zero distance
    the gradient is zero.
    """
    import tensorflow as tf

    d2 = tf.reduce_min(tf.reduce_sum(pbc_images_tf(frac_a, frac_b, lattice) ** 2, axis=-1), axis=-1)
    positive = d2 > 0
    return tf.where(positive, tf.sqrt(tf.where(positive, d2, tf.ones_like(d2))), tf.zeros_like(d2))
