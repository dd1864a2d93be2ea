"""Callbacks of the CNN protocol."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

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


class ProgressLine(keras.callbacks.Callback):
    """One progress line every ``every`` epochs."""

    def __init__(self, log: Callable[[str], None] = print, every: int = 10):
        super().__init__()
        self.log, self.every = log, every

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            logs = logs or {}
            self.log(f"  epoch {epoch + 1}: train MAE {logs.get('mae', float('nan')):.4f}, "
                     f"test MAE {logs.get('val_mae', float('nan')):.4f}, test R² {logs.get('val_r2', float('nan')):.4f}")
