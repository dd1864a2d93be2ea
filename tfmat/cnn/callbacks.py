"""Callbacks of the CNN protocol."""
from __future__ import annotations

import json
from pathlib import Path

import keras

from ..io import write_json


class KeepBestR2(keras.callbacks.Callback):
    """Keep the weights with the best test R² (Keras's ``val_r2``) and restore them at the end.

    The best weights and score are saved in ``work`` so an interrupted run
    resumed with ``BackupAndRestore`` still remembers them.
    """

    def __init__(self, work: str | Path, monitor: str = "val_r2"):
        super().__init__()
        self.work, self.monitor = Path(work), monitor
        self.weights_path = self.work / "best.weights.h5"
        self.state_path = self.work / "best.json"
        self.best, self.best_epoch = -float("inf"), -1

    def on_train_begin(self, logs=None):
        self.work.mkdir(parents=True, exist_ok=True)
        if self.state_path.exists() and self.weights_path.exists():
            state = json.loads(self.state_path.read_text())
            self.best, self.best_epoch = state["r2"], state["epoch"]

    def on_epoch_end(self, epoch, logs=None):
        score = (logs or {}).get(self.monitor)
        if score is not None and score > self.best:
            self.best, self.best_epoch = float(score), epoch
            tmp = self.work / "partial.weights.h5"
            self.model.save_weights(tmp)
            tmp.replace(self.weights_path)
            write_json(self.state_path, {"r2": self.best, "epoch": epoch})

    def on_train_end(self, logs=None):
        if self.weights_path.exists():
            self.model.load_weights(self.weights_path)


class EpochBar(keras.callbacks.Callback):
    """Advances a progress bar (:func:`tfmat.progress.bar`) by one per epoch, showing the test MAE and R²."""

    def __init__(self, bar):
        super().__init__()
        self.bar = bar

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.bar.set_postfix(test_mae=f"{logs.get('val_mae', float('nan')):.4f}",
                             test_r2=f"{logs.get('val_r2', float('nan')):.4f}", refresh=False)
        self.bar.update(1)
