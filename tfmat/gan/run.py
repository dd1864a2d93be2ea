"""GAN training runs in a directory (MatGAN, CCCGAN, CrystalGAN): fresh start, resume, epoch selection.

:func:`train_matgan` is what ``tfmat train-gan`` does once its flags are
parsed. A run directory holds ``config.json``, ``run.json``, ``metrics.csv``,
TensorBoard ``logs/``, the ``backup/`` a killed or extended run resumes from,
``generator_last.keras`` (the latest epoch) and ``generator.keras`` (the
selected epoch, its figures in ``generator.keras.json``).

Under ``--strategy multiworker`` the chief writes the run directory and
worker ``i`` writes its own copy in ``workers/i`` (its backup included, so
each worker resumes from its own state).
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..io import claim_run, clear_run, data_hash, record_run, write_json
from .config import GanConfig
from .sampling import GENERATOR_FILE, LAST_GENERATOR_FILE

# What picks a run's generator.keras: the most distinct decoded formulas per sample, less the arity and element
# total-variation distances of the samples' mix from the training set's, among the epochs whose CN+EN share
# (thesis rules) is within SELECTION_GAP of the training set's; epochs outside it rank below all inside.
# A generator that decodes, varies, keeps the data's chemistry and its mix of formulas: distinct per sample
# alone rewards many-element formulas, which are combinatorially more diverse.
SELECTION_GAP = 0.05
WORKERS_DIR = "workers"


def prepare_run(out: Path, cfg, data_sha256: str, overwrite: bool = False) -> None:
    """Make ``out`` ready for ``cfg`` on the data hashed ``data_sha256``: cleared with ``overwrite``;
    else bound to them (:func:`tfmat.io.claim_run`: a rerun may only change ``cfg.RERUN_FREE``), and a
    finished run there must have the backup it resumes from (a :class:`UsageError` otherwise)."""
    from ..training import BACKUP_DIR, METRICS_CSV

    clear_run(out, overwrite, keep=(WORKERS_DIR,))
    trained = [f for f in (GENERATOR_FILE, LAST_GENERATOR_FILE, METRICS_CSV) if (out / f).exists()]
    if trained and not (out / BACKUP_DIR).is_dir():
        raise UsageError(f"{out} holds a finished run ({', '.join(trained)}) that cannot be resumed (no "
                         f"{BACKUP_DIR}/); pass --overwrite to replace it, or choose another --out")
    claim_run(out, {**cfg.identity(), "data_sha256": data_sha256}, keep=(WORKERS_DIR,))


def selection_score(figures: dict, reference_cn_en: float) -> float:
    """An epoch's rank (:data:`SELECTION_GAP`): ``distinct − arity_tv − element_tv`` (between −2 and 1),
    less 4 when its CN+EN share lies more than the gap from ``reference_cn_en``."""
    inside = abs(figures["cn_en"] - reference_cn_en) <= SELECTION_GAP
    return figures["distinct"] - figures["arity_tv"] - figures["element_tv"] - (0.0 if inside else 4.0)


def selection_callbacks(gan, out: Path, samples: int, seed: int, train_counts: np.ndarray) -> list:
    """Callbacks writing the latest generator and, with ``samples`` > 0, the best-scoring one
    (:data:`SELECTION_GAP`), judged on ``samples`` draws of fixed noise (``seed``). Each epoch's figures,
    the arity and element total-variation distances from ``train_counts`` among them, go to its logs."""
    from ..chemistry import THESIS, check
    from ..training import KeepBest, SaveEachEpoch
    from .sampling import sample_quality

    if samples == 0:
        return [SaveEachEpoch(out / GENERATOR_FILE, gan.generator.save)]
    reference = check(train_counts, THESIS).shares()["en"]

    def measure():
        f = sample_quality(gan.generator, samples, seed=seed, reference=train_counts).figures()
        return {**f, "score": selection_score(f, reference)}

    return [KeepBest(out / GENERATOR_FILE, "score", save=gan.generator.save, measure=measure),
            SaveEachEpoch(out / LAST_GENERATOR_FILE, gan.generator.save)]


@dataclass
class RunSummary:
    out: Path
    epochs_done: int
    seconds: float
    replicas: int
    best: dict | None  # generator.keras.json: the selected epoch and its figures


def train_matgan(cfg: GanConfig, counts: np.ndarray, out: str | Path, *, select_samples: int = 20_000,
                 backup_every: int | None = 500, progress: int = 0, overwrite: bool = False,
                 record: dict | None = None) -> RunSummary:
    """Train (or resume) a MatGAN on ``counts`` ((N, 85) reduced counts) in ``out``.

    ``record`` is added to ``run.json`` (where the data came from). Prints one
    line on stderr when it starts.
    """
    from ..data import DataError, gan_pipeline
    from .matgan import build_matgan

    if select_samples < 0:
        raise UsageError("--select-samples must be ≥ 0")
    if len(counts) < cfg.batch_size:
        raise DataError(f"{cfg.dataset}: {len(counts)} training formulas, fewer than one batch of {cfg.batch_size}")
    return run_adversarial(cfg, out, lambda: build_matgan(cfg, counts), lambda epoch: gan_pipeline(counts, cfg.batch_size, seed=cfg.seed, epoch=epoch),
                           lambda gan, run: selection_callbacks(gan, run, select_samples, cfg.seed, counts),
                           what=f"{len(counts)} formulas", data_sha256=data_hash(counts), backup_every=backup_every, progress=progress,
                           overwrite=overwrite, record={**(record or {}), "training_formulas": len(counts),
                                                        "select_samples": select_samples})


def run_adversarial(cfg, out: str | Path, build, make_dataset, selection, *, what: str, data_sha256: str,
                    backup_every: int | None = 500, progress: int = 0, overwrite: bool = False,
                    record: dict | None = None) -> RunSummary:
    """Train (or resume) the GAN ``build()`` makes (inside the strategy's scope) on ``make_dataset(epoch)``
    (each epoch's batches) in ``out``.

    Both are called after the strategy exists: a multi-worker strategy must be created before any
    TensorFlow op runs.

    ``cfg`` is the run's config (``to_dict``, ``identity``, ``epochs``, ``batch_size``, ``strategy``,
    ``dataset``); ``selection(gan, out)`` returns the callbacks that write its generators.
    """
    from ..distribute import select_strategy, worker
    from ..training import completed_epochs, fit, run_callbacks

    out = Path(out)
    strategy = select_strategy(cfg.strategy)
    index, chief = worker() if cfg.strategy == "multiworker" else (0, True)
    if not chief:
        out = out / WORKERS_DIR / str(index)
    prepare_run(out, cfg, data_sha256, overwrite)
    with strategy.scope():
        gan = build()
    write_json(out / "config.json", cfg.to_dict())
    record_run(out, {**cfg.to_dict(), **(record or {}), "replicas": strategy.num_replicas_in_sync})
    print(f"train-gan {cfg.dataset}: {what}, batch {cfg.batch_size}, {strategy.num_replicas_in_sync} replica(s), "
          f"epochs {completed_epochs(out)}→{cfg.epochs}, output {out}", file=sys.stderr)
    callbacks = run_callbacks(out, backup_every, extra=selection(gan, out))
    start = time.time()
    fit(gan, make_dataset, cfg.epochs, callbacks, verbose=progress, strategy=strategy)
    best = out / (GENERATOR_FILE + ".json")
    return RunSummary(out, completed_epochs(out), time.time() - start, strategy.num_replicas_in_sync,
                      json.loads(best.read_text()) if best.is_file() else None)


def structure_quality(generator, layout, counts: np.ndarray, per_composition: int, seed: int = 0) -> dict:
    """Shares of ``per_composition`` samples for each composition (rows of ``counts``) that are valid
    structures (:mod:`tfmat.structure.validity`), have the requested atom counts, and both (``score``)."""
    from ..structure.codec import counts as read_counts
    from ..structure.codec import decode
    from ..structure.validity import is_valid
    from .cccgan import sample_matrices

    requested = np.repeat(np.asarray(counts), per_composition, axis=0)
    matrices = sample_matrices(generator, layout, requested, seed)
    valid = np.array([is_valid(c) for c in decode(matrices, layout).crystals])
    conditioned = (read_counts(matrices, layout) == requested).all(axis=1)
    return {"valid": float(valid.mean()), "conditioned": float(conditioned.mean()),
            "score": float((valid & conditioned).mean())}


def train_cccgan(cfg, data, out: str | Path, *, select_samples: int = 1000, backup_every: int | None = 500,
                 progress: int = 0, overwrite: bool = False, record: dict | None = None) -> RunSummary:
    """Train (or resume) a CCCGAN (:class:`~tfmat.gan.config.CCCGanConfig`) on ``data`` (a
    :class:`~tfmat.structure.data.StructureSet`) in ``out``.

    After each epoch ``select_samples`` samples, spread over the eight most frequent training compositions
    with fixed noise, are scored (:func:`structure_quality`); ``generator.keras`` is the epoch with the
    largest share that is valid and has the requested counts. The generator's cell starts at the training
    set's mean cell.
    """
    from ..data import DataError
    from ..structure.augment import augmented_dataset, supercells
    from ..training import KeepBest, SaveEachEpoch
    from .cccgan import LAYOUTS, build_cccgan

    if select_samples < 0:
        raise UsageError("--select-samples must be ≥ 0")
    layout = LAYOUTS[cfg.system]
    if len(data) < cfg.batch_size:
        raise DataError(f"CCCGAN: {len(data)} training structures, fewer than one batch of {cfg.batch_size}")
    steps = (len(data) + len(supercells(data.matrices, layout).matrices)) // cfg.batch_size
    kinds, freq = np.unique(data.counts, axis=0, return_counts=True)
    top = kinds[np.argsort(-freq, kind="stable")[:8]]

    def selection(gan, run):
        last = SaveEachEpoch(run / LAST_GENERATOR_FILE, gan.generator.save)
        if select_samples == 0:
            return [SaveEachEpoch(run / GENERATOR_FILE, gan.generator.save), last]
        per = max(1, select_samples // len(top))
        return [KeepBest(run / GENERATOR_FILE, "score", save=gan.generator.save,
                         measure=lambda: structure_quality(gan.generator, layout, top, per, cfg.seed)), last]

    cell_mean = data.matrices[:, :2].mean(axis=0)
    return run_adversarial(cfg, out, lambda: build_cccgan(cfg, layout, steps, cell_mean),
                           lambda epoch: augmented_dataset(data.matrices, data.counts, layout, cfg.batch_size,
                                                           cfg.seed, drop_remainder=True, epoch=epoch), selection,
                           what=f"{len(data)} structures ({steps} batches with supercells)",
                           data_sha256=data_hash(data.matrices, data.counts),
                           backup_every=backup_every, progress=progress, overwrite=overwrite,
                           record={**(record or {}), "training_structures": len(data),
                                   "select_samples": select_samples})


def hydride_pipeline(cfg, domain_a, domain_b, epoch: int = 0):
    """The training batches of a CrystalGAN run: ``(x, y)`` pairs, each domain shuffled on its own every
    epoch (the shorter one repeated to the longer one's length); for the noise baseline, both domains
    together. Batches of ``cfg.batch_size``, the last one dropped when smaller. The first pass's order
    is a function of ``cfg.seed`` and ``epoch``."""
    import tensorflow as tf

    from ..data.pipeline import epoch_seed

    a, b = np.asarray(domain_a, np.float32), np.asarray(domain_b, np.float32)
    if cfg.variant == "noise":
        both = np.concatenate([a, b])
        return (tf.data.Dataset.from_tensor_slices(both).shuffle(len(both), seed=epoch_seed(cfg.seed, epoch))
                .batch(cfg.batch_size, drop_remainder=True))
    n = max(len(a), len(b))
    a, b = a[np.arange(n) % len(a)], b[np.arange(n) % len(b)]
    side = lambda x, s: tf.data.Dataset.from_tensor_slices(x).shuffle(n, seed=s)  # noqa: E731
    return (tf.data.Dataset.zip(side(a, epoch_seed(cfg.seed, epoch)), side(b, epoch_seed(cfg.seed + 1, epoch)))
            .batch(cfg.batch_size, drop_remainder=True))


def hydride_quality(sampler, cfg, domain_a, domain_b, uniqueness: bool = False) -> dict:
    """:func:`~tfmat.structure.constraints.evaluate_hydrides` figures of a sampler on every input of both
    domains (2·max(len) samples; for the noise baseline as many noise draws, seed ``cfg.seed``)."""
    from ..structure.constraints import evaluate_hydrides
    from .crystalgan import sample_arrays

    n = 2 * max(len(domain_a), len(domain_b))
    arrays, _ = sample_arrays(sampler, n, domain_a, domain_b, seed=cfg.seed)
    figures = evaluate_hydrides(arrays, cfg.layout, cfg.d1, cfg.d2, uniqueness=uniqueness).figures
    return {k: v for k, v in figures.items() if isinstance(v, float)}


def train_crystalgan(cfg, domain_a, domain_b, out: str | Path, *, select_every: int = 10,
                     backup_every: int | None = None, progress: int = 0, overwrite: bool = False,
                     record: dict | None = None) -> RunSummary:
    """Train (or resume) a CrystalGAN (:class:`~tfmat.gan.config.CrystalGanConfig`) on the block arrays of
    two domains in ``out``.

    ``generator.keras`` is the sampler (:func:`~tfmat.gan.crystalgan.sampler_of`) of the epoch whose
    translations of every training input have the largest in-range share
    (:func:`hydride_quality`, measured every ``select_every`` epochs; 0: the latest epoch);
    ``generator_last.keras`` the latest epoch's.
    """
    from ..data import DataError
    from ..training import KeepBest, SaveEachEpoch
    from .crystalgan import build_crystalgan, sampler_of

    if select_every < 0:
        raise UsageError("--select-every must be ≥ 0")
    smallest = len(domain_a) + len(domain_b) if cfg.variant == "noise" else max(len(domain_a), len(domain_b))
    if min(len(domain_a), len(domain_b)) == 0 or smallest < cfg.batch_size:
        raise DataError(f"CrystalGAN: {len(domain_a)} and {len(domain_b)} structures in the two domains, fewer "
                        f"than one batch of {cfg.batch_size}")

    def selection(gan, run):
        save = lambda path: sampler_of(gan).save(path)  # noqa: E731
        last = SaveEachEpoch(run / LAST_GENERATOR_FILE, save)
        if select_every == 0:
            return [SaveEachEpoch(run / GENERATOR_FILE, save), last]

        measure = lambda: hydride_quality(sampler_of(gan), cfg, domain_a, domain_b)  # noqa: E731
        return [KeepBest(run / GENERATOR_FILE, "in_range", save=save, measure=measure, every=select_every), last]

    return run_adversarial(cfg, out, lambda: build_crystalgan(cfg, cfg.layout),
                           lambda epoch: hydride_pipeline(cfg, domain_a, domain_b, epoch), selection,
                           what=f"{len(domain_a)} + {len(domain_b)} structures ({cfg.variant})",
                           data_sha256=data_hash(domain_a, domain_b),
                           backup_every=backup_every, progress=progress, overwrite=overwrite,
                           record={**(record or {}), "structures_a": len(domain_a), "structures_b": len(domain_b),
                                   "select_every": select_every})
