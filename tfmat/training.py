"""Training plumbing shared by the models: distribution strategy, callbacks, resume.

* :func:`select_strategy` — ``auto`` (MirroredStrategy over the GPUs when
  more than one is visible, else the default strategy), ``default`` or
  ``mirrored`` (all GPUs, or all logical CPU devices when there is no GPU).
* :func:`run_callbacks` — the callbacks every long run gets: a backup every
  ``backup_every`` batches and at each epoch end (a killed run resumes from
  it when rerun with the same output directory), a per-epoch metrics CSV and
  TensorBoard scalars (:class:`EpochLog`), a stop on NaN, and any exports passed in.
* :class:`SaveEachEpoch` — writes a servable artefact atomically after every epoch.
* :class:`KeepBest` — scores the model after every epoch and keeps the best
  epoch's artefact (model selection that survives a resume).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable

import keras
import tensorflow as tf

from .io import write_json
from .models.matgan_config import STRATEGIES

BACKUP_DIR = "backup"
METRICS_CSV = "metrics.csv"
LOG_DIR = "logs"


def select_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy called ``name`` (see the module docstring)."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    return tf.distribute.get_strategy()


class Backup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore that also backs up at every epoch end when saving every ``save_freq`` batches."""

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.save_freq != "epoch":
            self._save_model()


class EpochLog(keras.callbacks.Callback):
    """Per-epoch metrics appended to a CSV (``epoch`` + one column per metric +
    ``seconds``, the epoch's wall time) and written as TensorBoard scalars under ``log_dir``.

    The scalars use core ``tf.summary.write`` with the scalars plugin tag, so
    writing them needs no ``tensorboard`` package (viewing them does).
    """

    def __init__(self, csv_path: str | os.PathLike, log_dir: str | os.PathLike):
        super().__init__()
        self.csv_path = Path(csv_path)
        self.log_dir = str(log_dir)
        self._writer = None
        self._start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        from tensorflow.core.framework import summary_pb2

        logs = {**{k: float(v) for k, v in (logs or {}).items()}, "seconds": time.perf_counter() - self._start}
        new = not self.csv_path.is_file() or self.csv_path.stat().st_size == 0
        with open(self.csv_path, "a") as f:
            if new:
                f.write(",".join(["epoch", *logs]) + "\n")
            f.write(",".join([str(epoch), *(repr(v) for v in logs.values())]) + "\n")
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
        with self._writer.as_default():
            for name, value in logs.items():
                tf.summary.write(f"epoch_{name}", tf.constant(value), step=epoch, metadata=meta)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def save_atomically(path: str | os.PathLike, save: Callable[[str], None]) -> None:
    """Call ``save`` on a temporary sibling of ``path``, then rename it into place."""
    path = Path(path)
    tmp = path.with_name(f".{os.getpid()}.{path.name}")  # keeps the suffix Keras wants
    try:
        save(str(tmp))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class SaveEachEpoch(keras.callbacks.Callback):
    """``save(path)`` after each epoch, atomically."""

    def __init__(self, path: str | os.PathLike, save: Callable[[str], None]):
        super().__init__()
        self.path = Path(path)
        self.save = save

    def on_epoch_end(self, epoch, logs=None):
        save_atomically(self.path, self.save)


class KeepBest(keras.callbacks.Callback):
    """After each epoch: ``measure()`` → a dict of figures, added to the epoch's logs
    (so the metrics CSV records them); when ``figures[key]`` beats every earlier
    epoch's, ``save(path)`` atomically. The best score and epoch are kept in
    ``<path>.json``, so a resumed run still knows them.
    """

    def __init__(self, path: str | os.PathLike, save: Callable[[str], None], measure: Callable[[], dict],
                 key: str):
        super().__init__()
        self.path, self.save, self.measure, self.key = Path(path), save, measure, key
        self.state_path = self.path.with_name(self.path.name + ".json")

    def best(self) -> dict | None:
        """``{"epoch": ..., key: ...}`` of the kept artefact, or None."""
        if self.state_path.is_file() and self.path.is_file():
            return json.loads(self.state_path.read_text())
        return None

    def on_epoch_end(self, epoch, logs=None):
        figures = {k: float(v) for k, v in self.measure().items()}
        if logs is not None:
            logs.update(figures)
        best = self.best()
        if best is None or figures[self.key] > best[self.key]:
            save_atomically(self.path, self.save)
            write_json(self.state_path, {"epoch": epoch, **figures})


def run_callbacks(out_dir: str | os.PathLike, backup_every: int | None = None,
                  extra: list[keras.callbacks.Callback] = ()) -> list[keras.callbacks.Callback]:
    """Backup/restore, exports in ``extra``, metrics CSV, TensorBoard and NaN stop for ``out_dir``.

    The backup is kept after training, so rerunning a finished run with more
    epochs continues it and rerunning it unchanged does nothing.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # the backup comes last: an epoch counts as done only once its outputs are written
    return [keras.callbacks.TerminateOnNaN(), *extra, EpochLog(out / METRICS_CSV, out / LOG_DIR),
            Backup(str(out / BACKUP_DIR), save_freq=backup_every or "epoch", delete_checkpoint=False)]


def completed_epochs(out_dir: str | os.PathLike) -> int:
    """Epochs a run in ``out_dir`` has finished (0 when it has no backup)."""
    meta = Path(out_dir) / BACKUP_DIR / "training_metadata.json"
    return int(json.loads(meta.read_text())["epoch"]) if meta.is_file() else 0
