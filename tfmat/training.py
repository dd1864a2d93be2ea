"""Training plumbing shared by the model families: callbacks and resume.

(Where training runs, the ``tf.distribute`` strategies, is :mod:`tfmat.distribute`.)

* :func:`run_callbacks` — the callbacks every long run gets: a backup every
  ``backup_every`` batches and at each epoch end (a killed run resumes from
  it when rerun with the same output directory), a per-epoch metrics CSV and
  TensorBoard scalars (:class:`EpochLog`), a stop on NaN, and any exports passed in.
* :class:`SaveEachEpoch` — writes a servable artefact atomically after every epoch.
* :class:`KeepBest` — keeps the best epoch's artefact by a figure in the
  epoch's logs or one it measures (model selection that survives a resume).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable

import keras
import tensorflow as tf

from .io import atomic_path, save_atomically, write_json, write_text

BACKUP_DIR = "backup"
METRICS_CSV = "metrics.csv"
LOG_DIR = "logs"


class Backup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore that writes its weights and state atomically (a kill mid-write leaves the
    previous backup whole) and, when saving every ``save_freq`` batches, also at every epoch end."""

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.save_freq != "epoch":
            self._save_model()

    def _save_model(self):
        # the weights land first, then the state that names them
        with atomic_path(self._training_metadata_path) as meta, atomic_path(self._weights_path) as weights:
            self.model.save_weights(str(weights), overwrite=True)
            meta.write_text(json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen}))


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
        self._append(epoch, logs)
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
        with self._writer.as_default():
            for name, value in logs.items():
                tf.summary.write(f"epoch_{name}", tf.constant(value), step=epoch, metadata=meta)
        self._writer.flush()

    def _append(self, epoch, logs: dict) -> None:
        """One CSV row; a figure first seen now (one measured every k epochs, say) becomes a new column,
        empty in the rows before, and a figure missing from this epoch is left empty."""
        lines = self.csv_path.read_text().splitlines() if self.csv_path.is_file() else []
        columns = lines[0].split(",") if lines else ["epoch"]
        added = [k for k in logs if k not in columns]
        values = {"epoch": str(epoch), **{k: repr(v) for k, v in logs.items()}}
        if added and len(lines) > 1:  # widen the earlier rows, then write the file anew
            columns += added
            rows = [line + "," * len(added) for line in lines[1:]]
            write_text(self.csv_path, "\n".join([",".join(columns), *rows,
                                                 ",".join(values.get(c, "") for c in columns)]) + "\n")
            return
        columns += added
        with open(self.csv_path, "w" if len(lines) <= 1 else "a") as f:
            if len(lines) <= 1:
                f.write(",".join(columns) + "\n")
            f.write(",".join(values.get(c, "") for c in columns) + "\n")

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class SaveEachEpoch(keras.callbacks.Callback):
    """``save(path)`` after each epoch, atomically."""

    def __init__(self, path: str | os.PathLike, save: Callable[[str], None]):
        super().__init__()
        self.path = Path(path)
        self.save = save

    def on_epoch_end(self, epoch, logs=None):
        save_atomically(self.path, self.save)


class KeepBest(keras.callbacks.Callback):
    """Keep the artefact of the epoch with the highest ``logs[key]``.

    After each epoch: ``measure()`` (optional) returns figures that are added
    to the epoch's logs, so the metrics CSV records them; when ``logs[key]``
    beats every earlier epoch's, ``save(path)`` runs atomically (default:
    ``model.save``, or ``model.save_weights`` with ``weights_only``). The best
    epoch's logs go to ``<path>.json``, so a resumed run still knows them.
    With ``restore``, the model loads the kept weights when training ends.
    With ``every`` = k, only every k-th epoch (epochs k, 2k, ...) is measured and considered.
    """

    def __init__(self, path: str | os.PathLike, key: str, save: Callable[[str], None] | None = None,
                 measure: Callable[[], dict] | None = None, weights_only: bool = False, restore: bool = False,
                 every: int = 1):
        super().__init__()
        self.every = max(1, int(every))
        self.path, self.key, self._save, self.measure = Path(path), key, save, measure
        self.weights_only, self.restore = weights_only, restore
        self.state_path = self.path.with_name(self.path.name + ".json")

    def best(self) -> dict | None:
        """``{"epoch": ..., key: ..., ...}`` of the kept artefact, or None."""
        if self.state_path.is_file() and self.path.is_file():
            return json.loads(self.state_path.read_text())
        return None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        if (epoch + 1) % self.every:
            return
        if self.measure is not None:
            logs.update({k: float(v) for k, v in self.measure().items()})
        if self.key not in logs:
            return
        best = self.best()
        if best is None or float(logs[self.key]) > best[self.key]:
            save = self._save or (self.model.save_weights if self.weights_only else self.model.save)
            save_atomically(self.path, save)
            write_json(self.state_path, {"epoch": epoch, **{k: float(v) for k, v in logs.items()}})

    def on_train_end(self, logs=None):
        if self.restore and self.path.is_file():
            self.model.load_weights(self.path)


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
