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
