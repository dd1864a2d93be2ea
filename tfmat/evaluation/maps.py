"""2-D maps of formula sets (thesis fig. 3.4): t-SNE of the 85x8 one-hot matrices."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from ..composition import encode, formulas_from_counts


def tsne_map(groups: Mapping[str, np.ndarray], per_group: int = 1000, seed: int = 0) -> pd.DataFrame:
    """t-SNE coordinates of up to ``per_group`` formulas drawn from each group of (N, 85) counts.

    Returns columns ``group``, ``formula``, ``x``, ``y``. The flattened
    one-hot matrices are reduced to 50 principal components first.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    rng = np.random.default_rng(seed)
    parts, names = [], []
    for name, counts in groups.items():
        counts = np.asarray(counts)
        take = rng.choice(len(counts), size=min(per_group, len(counts)), replace=False) if len(counts) else []
        parts.append(counts[np.sort(take)])
        names += [name] * len(take)
    counts = np.concatenate(parts) if parts else np.zeros((0, 85), np.int8)
    if len(counts) < 5:
        raise ValueError(f"a t-SNE map needs at least 5 formulas, got {len(counts)}")
    x = encode(counts).reshape(len(counts), -1)
    x = PCA(n_components=min(50, *x.shape), random_state=seed).fit_transform(x)
    xy = TSNE(n_components=2, perplexity=min(30.0, (len(x) - 1) / 3), init="pca", random_state=seed).fit_transform(x)
    return pd.DataFrame({"group": names, "formula": formulas_from_counts(counts), "x": xy[:, 0], "y": xy[:, 1]})
