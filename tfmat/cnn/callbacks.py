"""Callbacks of the CNN protocol."""
from __future__ import annotations

import keras


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
