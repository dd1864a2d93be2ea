"""Upper-confidence-bound acquisition over the latent box, and batches of points kept apart.

UCB(x) = μ(x) + κ·σ(x) of the surrogate's posterior. It is maximised by
multi-start gradient ascent (Adam on x, projected back into the box after
every step, and, with a ``radius``, into the ball of that radius around its
start: the decoder is only trained near the codes of real formulas); a batch
is then chosen greedily by UCB among the climbed points, each at least
``min_distance`` from those already chosen.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from .surrogate import GaussianProcess

BOX = (-1.0, 1.0)  # the tanh code's range


def ucb(gp: GaussianProcess, x, kappa: float) -> np.ndarray:
    mean, std = gp.posterior(x)
    return mean + kappa * std


def climb(gp: GaussianProcess, starts: np.ndarray, kappa: float, steps: int = 100, lr: float = 0.05,
          radius: float | None = None, box: tuple[float, float] = BOX) -> tuple[np.ndarray, np.ndarray]:
    """Gradient ascent of UCB from every start (Adam, projected into ``box`` and within ``radius`` of
    the start); returns the points and their UCB values."""
    origin = tf.constant(np.clip(np.asarray(starts, np.float64), *box))
    x = tf.Variable(origin)
    m, v = tf.Variable(tf.zeros_like(x)), tf.Variable(tf.zeros_like(x))
    b1, b2, eps = 0.9, 0.999, 1e-8

    @tf.function
    def step(t):
        with tf.GradientTape() as tape:
            mean, std = gp.posterior_tensors(x)
            value = tf.reduce_sum(mean + kappa * std)
        g = tape.gradient(value, x)
        m.assign(b1 * m + (1 - b1) * g)
        v.assign(b2 * v + (1 - b2) * g * g)
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        new = x + lr * m_hat / (tf.sqrt(v_hat) + eps)
        if radius is not None:
            away = new - origin
            norm = tf.norm(away, axis=1, keepdims=True)
            new = origin + away * tf.minimum(tf.constant(1.0, tf.float64), radius / tf.maximum(norm, 1e-12))
        x.assign(tf.clip_by_value(new, *box))

    for t in range(1, steps + 1):
        step(tf.constant(float(t), tf.float64))
    points = x.numpy()
    return points, ucb(gp, points, kappa)


def spread_batch(points: np.ndarray, values: np.ndarray, k: int, min_distance: float) -> np.ndarray:
    """Indices of up to ``k`` points, best value first, each at least ``min_distance`` (Euclidean)
    from every one chosen before it."""
    chosen: list[int] = []
    for i in np.argsort(-values, kind="stable"):
        if len(chosen) == k:
            break
        if not chosen or np.min(np.linalg.norm(points[chosen] - points[i], axis=1)) >= min_distance:
            chosen.append(int(i))
    return np.asarray(chosen, dtype=np.int64)


def propose(gp: GaussianProcess, starts: np.ndarray, k: int, kappa: float, min_distance: float,
            steps: int = 100, lr: float = 0.05, radius: float | None = None) -> np.ndarray:
    """(≤ k, d) latent points: UCB climbed from ``starts``, then :func:`spread_batch`."""
    points, values = climb(gp, starts, kappa, steps, lr, radius)
    return points[spread_batch(points, values, k, min_distance)]
