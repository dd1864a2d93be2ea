"""Figures of an evaluation: uniqueness curve, validity bars, distributions, t-SNE map."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import atomic_path


def _figure(*shape, **kw):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(*shape, **kw)


def _save(fig, path) -> Path:
    import matplotlib.pyplot as plt
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png", dpi=120)
    plt.close(fig)
    return Path(path)


def uniqueness(curve: np.ndarray, path) -> Path:
    """Share of distinct formulas among the first n generated."""
    fig, ax = _figure(figsize=(5, 3.5))
    n = np.arange(1, len(curve) + 1)
    step = max(1, len(curve) // 5000)
    ax.plot(n[::step], 100 * curve[::step])
    ax.set_xlabel("generated formulas n")
    ax.set_ylabel("distinct among first n (%)")
    ax.set_ylim(0, 101)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def validity_bars(validity: dict, path) -> Path:
    """% CN, % EN and % both for each set."""
    fig, ax = _figure(figsize=(5, 3.5))
    sets = list(validity)
    measures = ["cn", "en", "both"]
    width = 0.8 / len(sets)
    for i, s in enumerate(sets):
        values = [100 * validity[s][m] for m in measures]
        bars = ax.bar(np.arange(3) + i * width, values, width, label=f"{s} (n={validity[s]['n']:,})")
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(np.arange(3) + width * (len(sets) - 1) / 2, ["CN", "EN", "CN and EN"])
    ax.set_ylabel("formulas (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8)
    return _save(fig, path)


def distributions(dist: dict, path, top: int = 40) -> Path:
    """Element frequency (most frequent in training) and arity, generated vs training."""
    fig, (a, b) = _figure(2, 1, figsize=(10, 6))
    ef = dist["element_frequency"]
    names = sorted(ef, key=lambda e: -ef[e]["train"])[:top]
    x = np.arange(len(names))
    a.bar(x - 0.2, [100 * ef[e]["train"] for e in names], 0.4, label="training")
    a.bar(x + 0.2, [100 * ef[e]["generated"] for e in names], 0.4, label="generated")
    a.set_xticks(x, names, fontsize=7)
    a.set_ylabel("formulas containing (%)")
    a.legend(fontsize=8)
    ar = dist["arity"]
    k = [int(i) for i in ar]
    b.bar(np.array(k) - 0.2, [100 * ar[str(i)]["train"] for i in k], 0.4, label="training")
    b.bar(np.array(k) + 0.2, [100 * ar[str(i)]["generated"] for i in k], 0.4, label="generated")
    b.set_xlabel("elements per formula")
    b.set_ylabel("formulas (%)")
    b.legend(fontsize=8)
    return _save(fig, path)


def tsne(frame, path) -> Path:
    """The t-SNE map, one colour per group."""
    fig, ax = _figure(figsize=(6, 5))
    for name, part in frame.groupby("group", sort=False):
        ax.scatter(part.x, part.y, s=3, alpha=0.6, label=f"{name} ({len(part)})")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(markerscale=4, fontsize=8)
    return _save(fig, path)
