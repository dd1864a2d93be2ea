"""Histograms of generated crystals beside the training ones: density and shortest distance."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def histograms(path, samples: Sequence, train_crystals: Sequence) -> Path:
    """Two panels, density (g/cm³) and shortest interatomic distance (Å), generated samples
    (:class:`~tfmat.structure.evaluation.Sample`) against the training crystals, each normalised."""
    from ..evaluation.plots import _figure, _save
    from .evaluation import density
    from .validity import MIN_DISTANCE, min_distance

    generated = {"density": [s.density for s in samples], "min_distance": [s.min_distance for s in samples]}
    train = {"density": [density(c) for c in train_crystals], "min_distance": [min_distance(c) for c in train_crystals]}
    fig, axes = _figure(1, 2, figsize=(9, 3.5))
    for ax, key, label in zip(axes, ("density", "min_distance"), ("density (g/cm³)", "shortest distance (Å)")):
        g, t = np.asarray(generated[key], float), np.asarray(train[key], float)
        g = g[np.isfinite(g)]
        both = np.concatenate([g, t])
        bins = np.linspace(both.min(), np.percentile(both, 99.5), 40) if len(both) else 10
        ax.hist(t, bins=bins, density=True, alpha=0.5, label=f"training ({len(t)})")
        ax.hist(g, bins=bins, density=True, alpha=0.5, label=f"generated ({len(g)})")
        if key == "min_distance":
            ax.axvline(MIN_DISTANCE, color="k", lw=0.8, ls="--")
        ax.set_xlabel(label)
        ax.legend(fontsize=8)
    return _save(fig, path)
