"""Calibrated uncertainty: the ensemble's spread, scaled so that 1σ covers about 68% of errors.

The scale is fitted on calibration rows, which no member trained on and which
chose no kept epoch (``CNNConfig.calibration``; :func:`tfmat.cnn.train.set_aside`):

* several members: σ = ``scale`` × spread, with ``scale`` the 68.27th
  percentile of |error| / spread;
* one member (no spread): σ = ``constant``, the 68.27th percentile of |error|.

The fit is saved as ``calibration.json`` in the model folder; a model without
one reports the raw spread.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

COVERAGE = 0.6827  # share of a Gaussian's errors within 1σ
FILE = "calibration.json"


def fit(errors: np.ndarray, spread: np.ndarray) -> dict:
    """The calibration of ``errors`` (prediction − truth) against the members' ``spread`` (their std)."""
    errors, spread = np.abs(np.asarray(errors, float)), np.asarray(spread, float)
    if not len(errors):
        raise ValueError("no calibration rows")
    if np.all(spread > 0):
        scale = float(np.quantile(errors / spread, COVERAGE))
        out = {"scale": scale, "constant": None}
    else:
        out = {"scale": None, "constant": float(np.quantile(errors, COVERAGE))}
    return {**out, "rows": int(len(errors)), "target_coverage": COVERAGE,
            "raw_coverage": coverage(errors, spread)}


def sigma(calibration: dict | None, spread: np.ndarray) -> np.ndarray:
    """Calibrated σ for a spread (the spread itself without a calibration)."""
    spread = np.asarray(spread, np.float32)
    if calibration is None:
        return spread
    if calibration["scale"] is not None:
        return (calibration["scale"] * spread).astype(np.float32)
    return np.full_like(spread, calibration["constant"])


def coverage(errors: np.ndarray, sigma: np.ndarray, k: float = 1.0) -> float:
    """Share of rows with |error| ≤ k·σ."""
    return float(np.mean(np.abs(np.asarray(errors, float)) <= k * np.asarray(sigma, float)))


def coverage_curve(errors: np.ndarray, sigma: np.ndarray, levels: np.ndarray | None = None):
    """``(expected, observed)``: for each Gaussian coverage level p, the share of errors inside its interval."""
    from scipy.stats import norm

    levels = np.linspace(0.05, 0.95, 19) if levels is None else np.asarray(levels, float)
    observed = np.array([coverage(errors, sigma, norm.ppf(0.5 + p / 2)) for p in levels])
    return levels, observed


def read(model_dir: str | Path) -> dict | None:
    path = Path(model_dir) / FILE
    return json.loads(path.read_text()) if path.is_file() else None


__all__ = ["COVERAGE", "FILE", "fit", "sigma", "coverage", "coverage_curve", "read"]
