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
import sys
import time
import weakref
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from .io import atomic_path, save_atomically, write_json, write_text

BACKUP_DIR = "backup"
WEIGHTS_FILE = "latest.weights.h5"
STATE_FILE = "state.npz"  # random generators and metric sums
META_FILE = "training_metadata.json"  # {"epoch": epochs done, "batch": batches done in the next}
METRICS_CSV = "metrics.csv"
LOG_DIR = "logs"


class Backup(keras.callbacks.Callback):
    """The resume state of a run, in ``backup_dir``: the weights (optimizers' included), the state of
    every random generator and running metric, and where the run stands (epochs done, batches done in
    the next epoch).

    Written every ``every`` batches (None: never mid-epoch) and at every epoch end, atomically: a kill
    mid-write leaves the previous backup whole. :func:`fit` calls :meth:`restore` before training.
    """

    def __init__(self, backup_dir: str | os.PathLike, every: int | None = None):
        super().__init__()
        if every is not None and every < 1:
            raise ValueError("a backup every N batches needs N ≥ 1")
        self.dir, self.every = Path(backup_dir), every
        self.weights, self.state, self.meta = self.dir / WEIGHTS_FILE, self.dir / STATE_FILE, self.dir / META_FILE
        self._epoch = 0

    def _extra_variables(self) -> list:
        """What ``save_weights`` leaves out: the random generators' states and the metrics' accumulators."""
        weights = {id(v) for v in self.model.weights}
        return [v for v in self.model.variables if id(v) not in weights] + list(self.model.metrics_variables)

    def position(self) -> tuple[int, int]:
        """(epochs done, batches done in the next epoch) of the saved state; (0, 0) when there is none."""
        if not self.meta.is_file():
            return 0, 0
        meta = json.loads(self.meta.read_text())
        return int(meta["epoch"]), int(meta.get("batch", 0))

    def restore(self) -> tuple[int, int]:
        """Load the saved state into the model; returns :meth:`position`."""
        epoch, batch = self.position()
        if not self.weights.is_file():
            return 0, 0
        for optimizer in _optimizers(self.model):
            if not optimizer.built:  # its slots must exist before they can be loaded
                optimizer.build(self.model.trainable_variables)
        self.model.load_weights(self.weights)
        if self.state.is_file():
            with np.load(self.state) as saved:
                values = [saved[f"v{i}"] for i in range(len(saved.files))]
            variables = self._extra_variables()
            if [tuple(v.shape) for v in variables] != [x.shape for x in values]:
                raise ValueError(f"{self.state} does not match this model's random and metric state")
            for variable, value in zip(variables, values):
                variable.assign(value)
        return epoch, batch

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.every and (batch + 1) % self.every == 0:
            self.save(self._epoch, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        self.save(epoch + 1, 0)

    def save(self, epoch: int, batch: int) -> None:
        # the weights and state land first, then the position that names them
        with atomic_path(self.weights) as weights, atomic_path(self.state) as state:
            self.model.save_weights(str(weights), overwrite=True)
            with open(state, "wb") as f:
                np.savez(f, **{f"v{i}": np.asarray(v) for i, v in enumerate(self._extra_variables())})
        write_text(self.meta, json.dumps({"epoch": epoch, "batch": batch}))


def _optimizers(model) -> list:
    named = getattr(model, "optimizers", None)  # the adversarial models hold one per network
    if isinstance(named, dict):
        return list(named.values())
    return [model.optimizer] if getattr(model, "optimizer", None) is not None else []


def fit(model, data, epochs: int, callbacks=(), *, validation=None, verbose: int = 0, strategy=None,
        log: Callable[[str], None] | None = None):
    """Train ``model`` for ``epochs`` on ``data(epoch)``, the batches of each epoch; returns the History.

    The one training loop of every family: ``model.train_step`` through ``strategy.run`` in a
    ``tf.function``, callbacks at the points ``Model.fit`` calls them, and ``validation`` (a dataset)
    scored with ``model.evaluate`` into ``val_*`` logs at each epoch end. With a :class:`Backup` among
    ``callbacks`` the run resumes where it stands: the epoch and batch, the weights, optimizers, random
    generators and metric sums, skipping the batches of that epoch already trained (``log`` says where).
    """
    strategy = strategy or tf.distribute.get_strategy()
    callbacks = list(callbacks)
    backup = next((c for c in callbacks if isinstance(c, Backup)), None)
    if getattr(model, "_compile_metrics", None) is not None or getattr(model, "_compile_loss", None) is not None:
        with strategy.scope():  # the compiled metrics and loss make their state now, as Model.fit has them do
            model._symbolic_build(data_batch=next(iter(data(0).take(1))))
    if backup is not None:
        backup.set_model(model)
    first, skip = backup.restore() if backup is not None else (0, 0)
    if backup is not None and (first or skip) and first < epochs:
        (log or _stderr)(f"resuming from {backup.dir} at epoch {first + 1}, batch {skip}")

    step = _train_function(model, strategy)
    cardinality = int(data(first).cardinality()) if first < epochs else -1
    listed = keras.callbacks.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, verbose=verbose,
                                          epochs=epochs, steps=cardinality if cardinality > 0 else None, model=model)
    model.stop_training = False
    listed.on_train_begin()
    logs = {}
    for epoch in range(first, epochs):
        resumed = epoch == first and skip > 0
        if not resumed:
            model.reset_metrics()
        listed.on_epoch_begin(epoch)
        batches = data(epoch).skip(skip if resumed else 0)
        left = int(batches.cardinality())  # < 0: not known before the data runs out
        iterator = iter(strategy.experimental_distribute_dataset(batches))
        i = skip if resumed else 0
        while left != 0:
            listed.on_train_batch_begin(i)
            try:
                logs = step(iterator)
            except (StopIteration, tf.errors.OutOfRangeError):
                break
            listed.on_train_batch_end(i, logs)
            i, left = i + 1, left - 1
            if model.stop_training:
                break
        logs = {k: float(v) for k, v in model.get_metrics_result().items()}
        if validation is not None:
            scored = model.evaluate(validation, verbose=0, return_dict=True)
            logs.update({f"val_{k}": float(v) for k, v in scored.items()})
        listed.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    listed.on_train_end(logs)
    return model.history


_TRAIN_FUNCTIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _train_function(model, strategy):
    """One training step on the next batch of an iterator, traced once per model and strategy (as
    ``Model.fit`` keeps its ``train_function``): the batch is read inside the graph."""
    cached = _TRAIN_FUNCTIONS.get(model)
    if cached is not None and cached[0] is strategy:
        return cached[1]

    train_step = model.train_step
    if getattr(model, "jit_compile", False):  # XLA compiles the step; reading the batch stays outside it
        train_step = tf.function(model.train_step, jit_compile=True, reduce_retracing=True)

    @tf.function(reduce_retracing=True)
    def step(iterator):
        strategy.run(train_step, args=(next(iterator),))
        return model.get_metrics_result()

    _TRAIN_FUNCTIONS[model] = (strategy, step)
    return step


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


_DETERMINISTIC = []  # holds True once deterministic() has run in this process


def deterministic() -> None:
    """Make TensorFlow's ops deterministic (``--deterministic``): a resumed run then repeats an
    uninterrupted one to float precision."""
    tf.config.experimental.enable_op_determinism()
    _DETERMINISTIC[:] = [True]


def is_deterministic() -> bool:
    """Whether :func:`deterministic` has run in this process (worker processes inherit it)."""
    return bool(_DETERMINISTIC)


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
            Backup(out / BACKUP_DIR, every=backup_every)]


def completed_epochs(out_dir: str | os.PathLike) -> int:
    """Epochs a run in ``out_dir`` has finished (0 when it has no backup)."""
    return Backup(Path(out_dir) / BACKUP_DIR).position()[0]
