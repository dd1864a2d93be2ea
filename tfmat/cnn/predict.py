"""Batch prediction with a trained CNN (one model or an ensemble of fold models)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..composition import Compositions, formulas_from_counts, parse_formulas
from ..elements import ATOMIC_NUMBERS, N_ELEMENTS, N_Z
from ..features import SHAPE, element_fractions, magpie_features
from .model_dir import read_model_dir, resolve_model

TOKEN_CHUNK = 4096  # rows per XLA-compiled call of element-attention members (Predictor)


class Predictor:
    """Loads a model directory once and predicts batches of formulas or counts.

    With several fold members the prediction is their mean and the
    uncertainty their standard deviation (0 for a single model), scaled by
    the model's ``calibration.json`` where it has one
    (:mod:`tfmat.cnn.calibration`). Each member's predictions of a property
    that cannot be negative (:data:`~tfmat.cnn.config.NON_NEGATIVE`: band
    gap, energy above hull, volume) are clipped at 0, so the thesis CNN's
    linear head never reports a negative band gap. Formula predictions carry
    ``in_domain``: whether the formula lies inside the model's training
    domain (:mod:`tfmat.cnn.domain`). An element-attention ensemble reads
    its rows one arity at a time, each row as element tokens cut to its
    arity: the same predictions as padding every row to 8 tokens, for less
    work.
    """

    def __init__(self, model_dir: str | Path, batch_size: int = 16384):
        import keras

        from ..models import attention, cnn  # noqa: F401  registers the saved classes
        from . import calibration
        from .config import NON_NEGATIVE

        self.info, paths = read_model_dir(model_dir)
        self.model_dir, self.batch_size = resolve_model(model_dir), batch_size
        self.non_negative = self.info["config"]["attribute"] in NON_NEGATIVE
        self.calibration = calibration.read(self.model_dir)
        self.members = [keras.saving.load_model(p) for p in paths]
        for i, member in enumerate(self.members):  # members saved by separate processes share one name
            member.name = f"member_{i}"
        self.unit = self.info.get("unit", "")
        inputs = [keras.Input(SHAPE, name="magpie"), keras.Input((N_Z,), name="fractions")]
        outs = [m(inputs) for m in self.members]
        stacked = keras.layers.Concatenate(axis=1)(outs) if len(outs) > 1 else outs[0]
        self.ensemble = keras.Model(inputs, stacked, name="ensemble")
        import tensorflow as tf

        self._forward = tf.function(lambda x, f: self.ensemble([x, f], training=False),
                                    input_signature=[tf.TensorSpec((None, *SHAPE), tf.float32),
                                                     tf.TensorSpec((None, N_Z), tf.float32)])
        from ..models.attention import ElementAttention

        # element-attention members also read (batch, k) element tokens: rows are predicted in groups of one
        # arity, each padded only to it; full chunks of TOKEN_CHUNK rows go through an XLA-compiled call
        # (one shape per arity), the rest through a traced one that takes any shape
        self.tokens = (all(isinstance(m, ElementAttention) for m in self.members)
                       and len({m.max_elements for m in self.members}) == 1)
        if self.tokens:
            def tokens(z, fraction):
                outs = [m({"z": z, "fraction": fraction}, training=False) for m in self.members]
                return tf.concat(outs, axis=1)

            spec = [tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.float32)]
            self._tokens_any = tf.function(tokens, input_signature=spec)
            self._tokens_full = tf.function(tokens, jit_compile=True)
            self.max_elements = self.members[0].max_elements

    @property
    def domain(self):
        """The model's :class:`~tfmat.cnn.domain.Domain` (None when it cannot be known), read on first use."""
        if not hasattr(self, "_domain"):
            from .domain import model_domain
            self._domain = model_domain(self.model_dir, self.info["config"])
        return self._domain

    def outside(self, features: np.ndarray, fractions: np.ndarray) -> np.ndarray | None:
        """Per row, why it lies outside the training domain (a :data:`~tfmat.cnn.domain.REASONS` key; ``""``
        inside); None when the domain is unknown."""
        return None if self.domain is None else self.domain.reasons(features, fractions)

    @property
    def attribute(self) -> str:
        return self.info["config"]["attribute"]

    @property
    def needs_fractions(self) -> bool:
        """Whether the members have the element-fraction branch (the shipped models do)."""
        return any(m.needs_fractions for m in self.members)

    def member_predictions(self, features: np.ndarray, fractions: np.ndarray | None = None,
                           progress=None, clip: bool = True) -> np.ndarray:
        """(N, members) predictions from (N, 22, 6) features and (N, 118) element fractions.

        A non-negative property's predictions are clipped at 0 unless ``clip`` is false (the members' raw
        outputs, as training scored them).

        ``fractions`` (see :func:`tfmat.features.element_fractions`) may be left
        out only for thesis-only models; :meth:`predict_compositions` computes both.
        ``progress(k)`` is called after each chunk of ``k`` rows.
        """
        features = np.asarray(features, np.float32)
        if fractions is None:
            if self.needs_fractions:
                raise ValueError(f"{self.model_dir} also takes element fractions: pass "
                                 "tfmat.features.element_fractions(comps), or call predict_compositions(comps)")
            fractions = np.zeros((len(features), N_Z), np.float32)
        fractions = np.asarray(fractions, np.float32)
        if len(features) == 0:
            return np.zeros((0, len(self.members)), np.float32)
        if self.tokens:
            each = self._by_arity(fractions, progress)
        else:
            step, out = self.batch_size, []
            for i in range(0, len(features), step):
                out.append(np.asarray(self._forward(features[i:i + step], fractions[i:i + step])))
                if progress is not None:
                    progress(len(out[-1]))
            each = np.concatenate(out).reshape(len(features), len(self.members))
        return np.maximum(each, 0.0) if clip and self.non_negative else each

    def _by_arity(self, fractions: np.ndarray, progress=None) -> np.ndarray:
        """(N, members) predictions of element-attention members, one arity at a time (see ``__init__``)."""
        from ..models.attention import formula_tokens

        each = np.zeros((len(fractions), len(self.members)), np.float32)
        z, fraction = formula_tokens(fractions, self.max_elements)  # largest first, so a row's first k are its own
        arity = (z > 0).sum(axis=1)
        for k in np.unique(arity):
            rows = np.flatnonzero(arity == k)
            full = len(rows) - len(rows) % TOKEN_CHUNK
            for i in range(0, len(rows), TOKEN_CHUNK):
                chunk = rows[i:i + TOKEN_CHUNK]
                forward = self._tokens_full if i < full else self._tokens_any
                each[chunk] = np.asarray(forward(z[chunk, :k], fraction[chunk, :k]))
                if progress is not None:
                    progress(len(chunk))
        return each

    def estimate(self, each: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(prediction, uncertainty)`` from (N, members) predictions: their mean and (calibrated) spread."""
        from . import calibration

        return each.mean(axis=1), calibration.sigma(self.calibration, each.std(axis=1))

    def predict_compositions(self, comps: Compositions, progress=None) -> np.ndarray:
        """(N, members) predictions for a CSR batch."""
        return self.member_predictions(magpie_features(comps), element_fractions(comps), progress)

    def predict_features(self, features: np.ndarray, fractions: np.ndarray | None = None) -> pd.DataFrame:
        each = self.member_predictions(features, fractions)
        mean, sigma = self.estimate(each)
        frame = pd.DataFrame({"prediction": mean, "uncertainty": sigma})
        if each.shape[1] > 1:
            for j in range(each.shape[1]):
                frame[f"member_{j}"] = each[:, j]
        return frame

    def predict_counts(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(prediction, uncertainty)`` for (N, 85) counts, the screening pipeline's fast path."""
        return self.estimate(self.predict_compositions(Compositions.from_counts(_checked_counts(counts))))

    def predict(self, inputs: Sequence[str] | np.ndarray, progress=None) -> pd.DataFrame:
        """Predict formula strings or (N, 85) counts.

        Returns columns ``row`` (index in ``inputs``), ``formula``,
        ``prediction``, ``uncertainty`` and ``in_domain`` (left out when the
        domain is unknown); unreadable formulas are left out and listed in
        ``frame.attrs["rejects"]``, and ``frame.attrs["outside"]`` counts the
        rows outside the domain by reason.
        """
        from collections import Counter

        if isinstance(inputs, np.ndarray) and inputs.ndim == 2:
            counts = _checked_counts(inputs)
            comps, rows, texts, rejects = Compositions.from_counts(counts), np.arange(len(counts)), \
                formulas_from_counts(counts), []
        else:
            parsed = parse_formulas(list(inputs))
            comps, rows, texts, rejects = parsed.compositions, parsed.rows, parsed.texts, parsed.rejects
        features, fractions = magpie_features(comps), element_fractions(comps)
        mean, sigma = self.estimate(self.member_predictions(features, fractions, progress))
        frame = pd.DataFrame({"row": rows, "formula": texts, "prediction": mean, "uncertainty": sigma})
        why = self.outside(features, fractions)
        if why is not None:
            frame["in_domain"] = why == ""
        frame.attrs["rejects"] = rejects
        frame.attrs["outside"] = Counter(w for w in why if w) if why is not None else None
        return frame


def _checked_counts(counts) -> np.ndarray:
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[1] != N_ELEMENTS:
        raise ValueError(f"counts must be (N, {N_ELEMENTS}), got {counts.shape}")
    empty = ~(counts > 0).any(axis=1)
    if empty.any():
        raise ValueError(f"row {int(np.argmax(empty))} has no element")
    return counts
