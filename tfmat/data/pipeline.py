"""``tf.data`` input pipelines."""
from __future__ import annotations

import numpy as np

from ..elements import MAX_COUNT, N_ELEMENTS


def epoch_seed(seed: int, epoch: int) -> int:
    """The shuffling seed of epoch ``epoch`` of a run seeded ``seed``: a run's data order is a function
    of its seed and the epoch, so a resumed run sees the batches an uninterrupted one would."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def gan_pipeline(counts: np.ndarray, batch_size: int, seed: int = 0, shuffle: bool = True,
                 drop_remainder: bool = True, epoch: int = 0):
    """Batches of (85, 8, 1) float32 one-hot matrices from (N, 85) integer counts.

    The counts stay int8 in memory; one-hot expansion happens per batch. The
    first pass is shuffled by :func:`epoch_seed` (``seed``, ``epoch``); later passes reshuffle.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(np.asarray(counts, dtype=np.int8))
    if shuffle:
        ds = ds.shuffle(len(counts), seed=epoch_seed(seed, epoch), reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    def onehot(c):
        m = tf.one_hot(tf.cast(c, tf.int32) - 1, MAX_COUNT, dtype=tf.float32)  # count 0 → all-zero row
        return tf.reshape(m, (-1, N_ELEMENTS, MAX_COUNT, 1))

    return ds.map(onehot, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def arity_batches(z: np.ndarray, fraction: np.ndarray, y: np.ndarray, batch_size: int, seed: int):
    """One epoch of ``({"z", "fraction"}, y)`` batches of formulas with as many elements as each other, the
    tokens cut to that number: (n, k) element tokens (:func:`tfmat.models.attention.formula_tokens`; z = 0
    pads) with their targets. The rows are shuffled by ``seed`` and cut into full batches within each
    arity; the rows each arity leaves over are pooled in order of arity into batches cut to their largest
    arity (the last may be short), so a compiled step meets one shape per arity and one more. The batches
    are shuffled; the order is a function of ``seed`` alone."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    arity = (z > 0).sum(axis=1)
    batches, left = [], []
    for k in np.unique(arity):
        rows = order[arity[order] == k]
        full = len(rows) - len(rows) % batch_size
        batches += np.split(rows[:full], full // batch_size) if full else []
        left.append(rows[full:])
    left = np.concatenate(left)
    batches += [left[i:i + batch_size] for i in range(0, len(left), batch_size)]
    batches = [batches[i] for i in rng.permutation(len(batches))]
    cut = [max(int(arity[rows].max()), 1) for rows in batches]

    def generate():
        for rows, k in zip(batches, cut):
            yield {"z": z[rows, :k], "fraction": fraction[rows, :k]}, y[rows]

    spec = ({"z": tf.TensorSpec((None, None), tf.int32), "fraction": tf.TensorSpec((None, None), tf.float32)},
            tf.TensorSpec((None, *y.shape[1:]), tf.as_dtype(y.dtype)))
    data = tf.data.Dataset.from_generator(generate, output_signature=spec)
    return data.apply(tf.data.experimental.assert_cardinality(len(batches))).prefetch(2)
