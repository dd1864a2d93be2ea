"""Learning curves, parity and calibration plots of a CNN run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_path


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(plt, fig, path) -> Path:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return Path(path)


def learning_curves(epochs: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """MAE, RMSE and R² per epoch on train and test (first fold drawn solid, others faint)."""
    plt = _figure()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for i, (fold, hist) in enumerate(epochs.groupby("fold", sort=False)):
        alpha = 1.0 if i == 0 else 0.25
        for ax, key in zip(axes, ("mae", "rmse", "r2")):
            ax.plot(hist["epoch"] + 1, hist[f"train_{key}"], color="tab:blue", alpha=alpha,
                    label="train" if i == 0 else None)
            ax.plot(hist["epoch"] + 1, hist[f"test_{key}"], color="tab:orange", alpha=alpha,
                    label="test" if i == 0 else None)
    for ax, key in zip(axes, ("MAE", "RMSE", "R²")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.legend()
    axes[2].set_ylim(max(-0.5, float(np.nanmin(epochs["test_r2"]))), 1.0)
    fig.suptitle(title)
    return _save(plt, fig, path)


def parity(predictions: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """Predicted against true values of the validation (and holdout) rows."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(4.8, 4.6))
    for name, part in predictions.groupby("set", sort=False):
        ax.scatter(part["target"], part["predicted"], s=2, alpha=0.3, label=name)
    lo = float(min(predictions["target"].min(), predictions["predicted"].min()))
    hi = float(max(predictions["target"].max(), predictions["predicted"].max()))
    ax.plot([lo, hi], [lo, hi], color="black", lw=0.8)
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title(title)
    ax.legend(markerscale=5)
    return _save(plt, fig, path)


def calibration(errors: np.ndarray, sigma: np.ndarray, path: str | Path, title: str = "") -> Path:
    """Observed against expected coverage of the Gaussian intervals ±zσ (the diagonal is perfect)."""
    from .calibration import coverage_curve

    plt = _figure()
    expected, observed = coverage_curve(errors, sigma)
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    ax.plot([0, 1], [0, 1], color="black", lw=0.8)
    ax.plot(expected, observed, marker="o", ms=3)
    ax.set_xlabel("expected coverage")
    ax.set_ylabel("observed coverage")
    ax.set_title(title)
    return _save(plt, fig, path)
