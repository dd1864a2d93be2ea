"""The thesis's dataset rules, defined once and applied to embedded and user data alike.

* :func:`average_polymorphs` — one row per composition, the mean of its entries.
* :func:`gan_formulas` — the GAN training sets (thesis 3.2.1): formulas that the
  85×8 matrix can hold, at least two elements.
* :func:`drop_outliers` — OQMD's mean ± 5σ rule on formation energy.
* :func:`leave_out_split` — the seeded 10% leave-out used by the novelty test.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..composition import Reject, encode_formulas, formulas_of, parse_formulas

LEAVE_OUT_FRACTION = 0.1
LEAVE_OUT_SEED = 20200101


def average_polymorphs(formulas: Sequence[str], targets: Sequence[float]) -> tuple[pd.DataFrame, list[Reject]]:
    """Deduplicate compositions; polymorph values are averaged.

    Returns a frame with ``formula`` (canonical), ``target`` (mean) and
    ``n_entries`` (how many rows were averaged), sorted by formula.
    """
    parsed = parse_formulas(formulas)
    targets = np.asarray(targets, dtype=np.float64)[parsed.rows]
    frame = pd.DataFrame({"formula": formulas_of(parsed.compositions), "target": targets})
    frame = frame[np.isfinite(frame.target)]
    out = frame.groupby("formula", sort=True).target.agg(["mean", "size"]).reset_index()
    out.columns = ["formula", "target", "n_entries"]
    return out, parsed.rejects


def drop_outliers(frame: pd.DataFrame, n_sigma: float = 5.0) -> pd.DataFrame:
    """Rows whose target lies within mean ± n_sigma standard deviations."""
    mu, sd = frame.target.mean(), frame.target.std()
    return frame[(frame.target - mu).abs() <= n_sigma * sd]


def gan_formulas(formulas: Sequence[str], labels: Sequence[float] | None = None) -> pd.DataFrame:
    """Distinct representable formulas (≥ 2 elements, 85 elements, counts ≤ 8).

    With ``labels``, a composition's label is the mean over its rows.
    """
    enc = encode_formulas(formulas, min_elements=2)
    frame = pd.DataFrame({"formula": enc.formulas})
    if labels is not None:
        frame["label"] = np.asarray(labels, dtype=np.float64)[enc.rows]
        return frame.groupby("formula", sort=True).label.mean().reset_index()
    return frame.drop_duplicates("formula").sort_values("formula", ignore_index=True)


def leave_out_split(formulas: Sequence[str], fraction: float = LEAVE_OUT_FRACTION,
                    seed: int = LEAVE_OUT_SEED) -> np.ndarray:
    """"train" / "leave_out" for each formula; depends only on the set of formulas and the seed."""
    formulas = np.asarray(formulas, dtype=object)
    order = np.argsort(formulas, kind="stable")
    rng = np.random.default_rng(seed)
    chosen = order[rng.permutation(len(formulas))[: int(round(fraction * len(formulas)))]]
    split = np.full(len(formulas), "train", dtype=object)
    split[chosen] = "leave_out"
    return split
