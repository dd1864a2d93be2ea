"""Magpie element-property statistics: the CNN's 22×6 input matrix.

Row ``p`` of the matrix is Magpie property ``PROPERTIES[p]``, column ``s`` is
statistic ``STATS[s]`` over the elements of a composition, weighted by their
amounts. The numbers are those of matminer's
``ElementProperty.from_preset("magpie")`` (132 features, property-major,
statistics inner) reshaped to (22, 6):

* minimum, maximum, range ignore the amounts;
* mean and avg_dev (mean absolute deviation) are amount-weighted;
* mode is the smallest value among the elements whose amount is
  ``numpy.isclose`` to the largest amount.

The element table is read from matminer's installed Magpie data files; a
missing value is replaced by that property's mean over the elements that have
one, as matminer does by default (``impute_nan=True``).

:func:`magpie_features` works on a :class:`~tfmat.composition.Compositions`
batch with NumPy segment reductions; :class:`MagpieLayer` computes the same
matrix inside a Keras graph from (batch, 118) per-element amounts.
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Iterable

import numpy as np

from .composition import Compositions, FormulaError, Reject, parse_formulas
from .elements import N_Z

PROPERTIES: tuple[str, ...] = (
    "Number", "MendeleevNumber", "AtomicWeight", "MeltingT", "Column", "Row",
    "CovalentRadius", "Electronegativity", "NsValence", "NpValence", "NdValence",
    "NfValence", "NValence", "NsUnfilled", "NpUnfilled", "NdUnfilled", "NfUnfilled",
    "NUnfilled", "GSvolume_pa", "GSbandgap", "GSmagmom", "SpaceGroupNumber",
)
STATS: tuple[str, ...] = ("minimum", "maximum", "range", "mean", "avg_dev", "mode")
SHAPE = (len(PROPERTIES), len(STATS))  # (22, 6)

# numpy.isclose defaults, used by matminer's weighted mode
_MODE_RTOL, _MODE_ATOL = 1e-5, 1e-8


def feature_labels() -> list[str]:
    """matminer's 132 labels in the order of ``matrix.reshape(-1, 132)``."""
    return [f"MagpieData {s} {p}" for p in PROPERTIES for s in STATS]


def _magpie_dir() -> Path:
    spec = importlib.util.find_spec("matminer")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("matminer is required for the Magpie element table")
    return Path(list(spec.submodule_search_locations)[0]) / "utils" / "data_files" / "magpie_elementdata"


@functools.lru_cache(maxsize=1)
def element_table() -> np.ndarray:
    """(118, 22) float64: property ``p`` of element ``z`` at ``[z-1, p]``, NaNs imputed."""
    folder = _magpie_dir()
    table = np.full((N_Z, len(PROPERTIES)), np.nan)
    for p, name in enumerate(PROPERTIES):
        lines = (folder / f"{name}.table").read_text().splitlines()
        for i, line in enumerate(lines[:N_Z]):
            try:
                table[i, p] = float(line)
            except ValueError:
                pass  # "Missing" and blanks stay NaN
    means = np.nanmean(table, axis=0)
    missing = np.isnan(table)
    table[missing] = np.broadcast_to(means, table.shape)[missing]
    table.setflags(write=False)
    return table


def magpie_features(comps: Compositions) -> np.ndarray:
    """(N, 22, 6) float64 Magpie statistics of every composition in the batch.

    Rows are grouped by their number of elements ``k``; each group is one
    dense (rows, k, 22) block of element properties reduced along axis 1.
    """
    n = len(comps)
    out = np.empty((n, *SHAPE))
    lengths = comps.n_elements
    if n and lengths.min() == 0:
        raise FormulaError(f"row {int(np.argmax(lengths == 0))}: empty composition")
    table = element_table()
    amount = np.asarray(comps.amount, dtype=np.float64)
    for k in np.unique(lengths):
        rows = np.flatnonzero(lengths == k)
        entries = comps.indptr[rows][:, None] + np.arange(k)   # (rows, k)
        x = table[comps.z[entries] - 1]                         # (rows, k, 22)
        w = amount[entries]                                     # (rows, k)
        total = w.sum(axis=1)[:, None]
        mean = np.einsum("rk,rkp->rp", w, x) / total
        lo, hi = x.min(axis=1), x.max(axis=1)
        avg_dev = np.einsum("rk,rkp->rp", w, np.abs(x - mean[:, None, :])) / total
        w_max = w.max(axis=1, keepdims=True)
        is_mode = np.abs(w - w_max) <= _MODE_ATOL + _MODE_RTOL * np.abs(w_max)
        mode = np.where(is_mode[:, :, None], x, np.inf).min(axis=1)
        out[rows] = np.stack([lo, hi, hi - lo, mean, avg_dev, mode], axis=-1)
    return out


def featurize_formulas(formulas: Iterable[str]) -> tuple[np.ndarray, np.ndarray, list[Reject]]:
    """Features of formula strings: ``(features, rows, rejects)``.

    ``rows`` indexes the input for each feature matrix; unparsable rows are
    returned as rejects with their reason.
    """
    parsed = parse_formulas(formulas)
    return magpie_features(parsed.compositions), parsed.rows, parsed.rejects


def element_fractions(comps: Compositions) -> np.ndarray:
    """(N, 118) float32 element fractions, column z-1 (the CNN's optional second input)."""
    amounts = comps.dense()
    return (amounts / amounts.sum(axis=1, keepdims=True)).astype(np.float32)


def _make_layer_class():
    """Define :class:`MagpieLayer` on first use, so importing this module stays Keras-free."""
    import keras
    import tensorflow as tf

    @keras.saving.register_keras_serializable(package="tfmat")
    class MagpieLayer(keras.layers.Layer):
        """Per-element amounts (batch, 118), column z-1 → Magpie matrix (batch, 22, 6).

        Computed in float64 and returned as float32. Rows with no positive
        amount give NaN.
        """

        def __init__(self, **kwargs):
            super().__init__(trainable=False, **kwargs)
            self.table = tf.constant(element_table(), dtype=tf.float64)

        def call(self, amounts):
            w = tf.cast(amounts, tf.float64)
            w = tf.where(w > 0, w, tf.zeros_like(w))
            present = (w > 0)[:, :, None]                       # (B, 118, 1)
            x = self.table[None]                                # (1, 118, 22)
            total = tf.reduce_sum(w, axis=1, keepdims=True)     # (B, 1)
            mean = tf.matmul(w, self.table) / total             # (B, 22)
            inf = tf.constant(np.inf, tf.float64)
            lo = tf.reduce_min(tf.where(present, x, inf), axis=1)
            hi = tf.reduce_max(tf.where(present, x, -inf), axis=1)
            dev = tf.reduce_sum(w[:, :, None] * tf.abs(x - mean[:, None, :]), axis=1) / total
            w_max = tf.reduce_max(w, axis=1, keepdims=True)
            is_mode = (w > 0) & (tf.abs(w - w_max) <= _MODE_ATOL + _MODE_RTOL * w_max)
            mode = tf.reduce_min(tf.where(is_mode[:, :, None], x, inf), axis=1)
            out = tf.stack([lo, hi, hi - lo, mean, dev, mode], axis=-1)
            empty = tf.reshape(total[:, 0] <= 0, (-1, 1, 1))
            out = tf.where(empty, tf.constant(np.nan, tf.float64), out)
            return tf.cast(out, tf.float32)

        def compute_output_shape(self, input_shape):
            return (input_shape[0], *SHAPE)

    return MagpieLayer


def __getattr__(name):
    if name == "MagpieLayer":
        cls = _make_layer_class()
        globals()["MagpieLayer"] = cls
        return cls
    raise AttributeError(name)
