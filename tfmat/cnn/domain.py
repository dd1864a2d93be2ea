"""The training domain of a trained CNN: the formulas its predictions stand on.

A formula is inside the domain when

* every element of it occurs in the model's training data,
* it has no more distinct elements than the training formula with the most,
* none of its elements is rarer in it than the rarest element of any
  training formula (``Na1000000Cl`` is not NaCl), and
* each of its 22×6 Magpie features lies within the training rows' range.

Fractional amounts are read as proportions, as the features are, so
``Na1.5Cl`` and ``Na3Cl2`` stand on the same ground. A model directory keeps
its domain in ``domain.json``; for a model without one (trained before it
existed) it is recomputed from the embedded dataset its config names.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..elements import N_Z

DOMAIN_FILE = "domain.json"
REASONS = {"element": "an element absent from the training data",
           "arity": "more elements than any training formula",
           "fraction": "an element rarer than in any training formula",
           "features": "Magpie features outside the training range"}


@dataclass
class Domain:
    elements: np.ndarray  # (118,) bool, column z-1: the element occurs in the training data
    max_elements: int
    min_fraction: float  # the smallest share of an element in a training formula
    low: np.ndarray  # (22, 6) feature minima over the training rows
    high: np.ndarray  # (22, 6) maxima

    @classmethod
    def of(cls, features: np.ndarray, fractions: np.ndarray) -> "Domain":
        """The domain of training rows: (N, 22, 6) features and (N, 118) element fractions."""
        fractions = np.asarray(fractions)
        present = fractions > 0
        return cls(present.any(axis=0), int(present.sum(axis=1).max()), float(fractions[present].min()),
                   np.asarray(features).min(axis=0), np.asarray(features).max(axis=0))

    def save(self, model_dir: str | Path) -> Path:
        from ..elements import PERIODIC_TABLE
        from ..io import write_json

        return write_json(Path(model_dir) / DOMAIN_FILE, {
            "elements": [PERIODIC_TABLE[z] for z in np.flatnonzero(self.elements)],
            "max_elements": self.max_elements, "min_fraction": self.min_fraction, "low": self.low.tolist(), "high": self.high.tolist()})

    @classmethod
    def load(cls, path: str | Path) -> "Domain":
        from ..elements import Z_OF

        saved = json.loads(Path(path).read_text())
        elements = np.zeros(N_Z, bool)
        elements[[Z_OF[s] - 1 for s in saved["elements"]]] = True
        return cls(elements, int(saved["max_elements"]), float(saved["min_fraction"]), np.asarray(saved["low"]),
                   np.asarray(saved["high"]))

    def reasons(self, features: np.ndarray, fractions: np.ndarray) -> np.ndarray:
        """(N,) object array: for each row the key of :data:`REASONS` that puts it outside, the first that
        applies, or ``""`` inside."""
        fractions = np.asarray(fractions)
        present = fractions > 0
        features = np.asarray(features, np.float64)
        slack = 1e-6 * np.maximum(1.0, np.abs(self.high - self.low))
        inside_box = ((features >= self.low - slack) & (features <= self.high + slack)).all(axis=(1, 2))
        out = np.full(len(features), "", dtype=object)
        out[~inside_box] = "features"
        rarest = np.where(present, fractions, np.inf).min(axis=1)
        out[rarest < self.min_fraction * (1 - 1e-6)] = "fraction"
        out[present.sum(axis=1) > self.max_elements] = "arity"
        out[(present & ~self.elements).any(axis=1)] = "element"
        return out


def model_domain(model_dir: Path, config: dict) -> Domain | None:
    """The domain saved in ``model_dir``, else that of the embedded dataset ``config`` names; None for a
    model trained on a user file without a saved domain."""
    if (model_dir / DOMAIN_FILE).is_file():
        return Domain.load(model_dir / DOMAIN_FILE)
    if config.get("data"):
        return None
    from .config import CNNConfig
    from .train import load_features

    frame, x, fractions = load_features(CNNConfig.from_dict(config))
    return Domain.of(x, fractions)
