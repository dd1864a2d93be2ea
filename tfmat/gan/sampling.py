"""Sampling formulas from a trained MatGAN generator, in bounded memory.

Noise comes from ``numpy.random.default_rng(seed)`` batch by batch, so the
same seed and batch size give the same samples whatever ``n`` is cut to.
The generator runs as one compiled graph per call of :func:`sample_batches`
(``tf.function``): eagerly, every layer's output stays alive until the batch
is done, which at 10,000 samples costs about 2 GB.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ..composition import DECODE_TOLERANCE, Decoded, decode
from ..elements import N_ELEMENTS
from ..io import atomic_path

GENERATOR_FILE = "generator.keras"  # the generator a run ships: its best epoch when selection is on
LAST_GENERATOR_FILE = "generator_last.keras"  # the latest epoch's generator
# Samples per generator call: the default of every command that samples. The generator's working memory
# grows with it (about 0.2 GB at 2,048 in graph mode) while throughput no longer does
# (benchmarks/screen_memory.json).
GENERATION_BATCH = 2048


def load_generator(gan_dir: str | os.PathLike):
    """The generator saved by ``tfmat train-gan`` in ``gan_dir`` (or a ``.keras`` file)."""
    import keras

    from . import matgan  # noqa: F401  (registers the generators' own layers)

    path = Path(gan_dir)
    if path.is_dir():
        path = path / GENERATOR_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no trained generator at {path}; train one with `tfmat train-gan DB --out DIR`")
    return keras.models.load_model(path, compile=False)


def compiled_forward(generator):
    """``noise → matrices`` as one ``tf.function`` (inference mode), for any batch size."""
    import tensorflow as tf

    latent_dim = int(generator.inputs[0].shape[-1])
    return tf.function(lambda z: generator(z, training=False),
                       input_signature=[tf.TensorSpec((None, latent_dim), tf.float32)])


def sample_batches(generator, n: int, seed: int = 0, batch_size: int = GENERATION_BATCH,
                   tol: float = DECODE_TOLERANCE) -> Iterator[Decoded]:
    """Decode ``n`` generated samples, ``batch_size`` at a time.

    Each :class:`~tfmat.composition.Decoded` holds the batch's valid formulas
    (2–8 elements) and its rejects; ``rows`` index into the batch.
    """
    if n < 0 or batch_size < 1:
        raise ValueError("n must be ≥ 0 and batch_size ≥ 1")
    rng = np.random.default_rng(seed)
    latent_dim = int(generator.inputs[0].shape[-1])
    forward = compiled_forward(generator)
    for start in range(0, n, batch_size):
        noise = rng.standard_normal((min(batch_size, n - start), latent_dim), dtype=np.float32)
        yield decode(np.asarray(forward(noise)), tol=tol)


def sample_counts(generator, n: int, seed: int = 0, batch_size: int = GENERATION_BATCH) -> Iterator[np.ndarray]:
    """(k, 85) int8 reduced counts of the samples that decode, batch by batch (k ≤ batch_size)."""
    for batch in sample_batches(generator, n, seed, batch_size):
        yield batch.counts


@dataclass
class GenerationReport:
    samples: int = 0
    written: int = 0
    failures: Counter = field(default_factory=Counter)  # reason → samples that did not decode

    @property
    def not_decoded(self) -> int:
        return self.samples - self.written


def write_formulas(generator, n: int, path: str | os.PathLike, seed: int = 0, batch_size: int = GENERATION_BATCH,
                   progress=None) -> GenerationReport:
    """Write the decoded formulas of ``n`` samples to ``path`` (CSV, column ``formula``), atomically."""
    report = GenerationReport()
    with atomic_path(path) as tmp, open(tmp, "w") as out:
        out.write("formula\n")
        for batch in sample_batches(generator, n, seed, batch_size):
            if batch.formulas:
                out.write("\n".join(batch.formulas) + "\n")
            report.samples += len(batch.rows) + len(batch.rejects)
            report.written += len(batch.formulas)
            report.failures.update(r.reason for r in batch.rejects)
            if progress is not None:
                progress(report)
        out.flush()
    return report


@dataclass(frozen=True)
class SampleQuality:
    """How ``samples`` draws of a generator fare: decoded, distinct, CN+EN."""

    samples: int
    decoded: int
    unique: int  # distinct formulas among the decoded samples
    cn_en: int  # decoded samples that are charge-neutral and electronegativity-balanced
    unique_cn_en: int  # distinct formulas among those
    mix: dict[str, float] | None = None  # arity_tv, element_tv: the decoded samples' mix against a reference

    def figures(self) -> dict[str, float]:
        """Shares: ``decoded`` of samples, ``unique`` and ``cn_en`` of decoded, ``distinct`` and
        ``distinct_cn_en`` (distinct CN+EN formulas) per sample; with a reference, ``arity_tv`` and
        ``element_tv``."""
        d = max(self.decoded, 1)
        return {"decoded": self.decoded / self.samples, "unique": self.unique / d, "cn_en": self.cn_en / d,
                "distinct": self.unique / self.samples, "distinct_cn_en": self.unique_cn_en / self.samples,
                **(self.mix or {})}


def sample_quality(generator, n: int = 20_000, seed: int = 0, batch_size: int = GENERATION_BATCH, rules=None,
                   reference: np.ndarray | None = None) -> SampleQuality:
    """Score ``n`` samples (noise seed ``seed``); CN+EN under ``rules`` (thesis rules by default). With
    ``reference`` ((N, 85) counts, the training set), the total-variation distances of the decoded samples'
    arity and element mix from it (:func:`tfmat.evaluation.metrics.total_variations`)."""
    from ..chemistry import THESIS, check

    valid_of: dict[str, bool] = {}
    samples = decoded = cn_en = 0
    kept = []
    for batch in sample_batches(generator, n, seed, batch_size):
        samples += len(batch.rows) + len(batch.rejects)
        decoded += len(batch.formulas)
        if len(batch.counts):
            valid = check(batch.counts, rules or THESIS).en
            cn_en += int(valid.sum())
            valid_of.update(zip(batch.formulas, valid.tolist()))
            if reference is not None:
                kept.append(np.asarray(batch.counts, np.int8))
    mix = None
    if reference is not None:
        from ..evaluation.metrics import total_variations

        tv = total_variations(np.concatenate(kept) if kept else np.zeros((0, N_ELEMENTS), np.int8), reference)
        mix = {"arity_tv": tv["arity_total_variation"], "element_tv": tv["element_total_variation"]}
    return SampleQuality(samples, decoded, len(valid_of), cn_en, sum(valid_of.values()), mix)
