"""The enumeration baseline: how often a composition drawn blindly from the 85x8 space is valid.

The thesis compares the GAN with exhaustive enumeration of binaries,
ternaries and quaternaries (0.78% pass CN and EN). Here binaries are
enumerated exhaustively and larger arities sampled uniformly; the pooled
share weights each arity by the size of its space, as exhaustive
enumeration would.
"""
from __future__ import annotations

from math import comb

import numpy as np

from ..chemistry import THESIS, Rules, check
from ..elements import MAX_COUNT, N_ELEMENTS


def space_size(arity: int, reduced: bool = False) -> int:
    """Number of 85x8 matrices with ``arity`` elements (``reduced``: only gcd-1 count vectors)."""
    if not reduced:
        return comb(N_ELEMENTS, arity) * MAX_COUNT ** arity
    # Count vectors in 1..8 with gcd 1, by Moebius inversion over the common divisor.
    mu = {1: 1, 2: -1, 3: -1, 4: 0, 5: -1, 6: 1, 7: -1, 8: 0}
    return comb(N_ELEMENTS, arity) * sum(mu[d] * (MAX_COUNT // d) ** arity for d in mu)


def enumerate_counts(arity: int) -> np.ndarray:
    """Every (element set, count vector) of ``arity`` elements as (M, 85) int8 rows (small arities only)."""
    from itertools import combinations, product
    sets = np.array(list(combinations(range(N_ELEMENTS), arity)), dtype=np.int64)
    vectors = np.array(list(product(range(1, MAX_COUNT + 1), repeat=arity)), dtype=np.int8)
    out = np.zeros((len(sets) * len(vectors), N_ELEMENTS), dtype=np.int8)
    rows = np.arange(len(out))
    for p in range(arity):
        out[rows, np.repeat(sets[:, p], len(vectors))] = np.tile(vectors[:, p], len(sets))
    return out


def sample_counts(n: int, arities=(2, 3, 4), seed: int = 0, reduced: bool = False) -> np.ndarray:
    """``n`` uniform draws from the 85x8 space, split evenly over ``arities``, as (n, 85) int8 counts.

    Within an arity every element set and count vector is equally likely;
    ``reduced`` redraws count vectors whose gcd is above 1.
    """
    rng = np.random.default_rng(seed)
    per = np.full(len(arities), n // len(arities))
    per[: n % len(arities)] += 1
    out = np.zeros((n, N_ELEMENTS), dtype=np.int8)
    row = 0
    for k, m in zip(arities, per):
        elements = np.argsort(rng.random((m, N_ELEMENTS)), axis=1)[:, :k]
        vectors = rng.integers(1, MAX_COUNT + 1, size=(m, k))
        if reduced:
            bad = np.gcd.reduce(vectors, axis=1) > 1
            while bad.any():
                vectors[bad] = rng.integers(1, MAX_COUNT + 1, size=(int(bad.sum()), k))
                bad = np.gcd.reduce(vectors, axis=1) > 1
        out[row + np.arange(m)[:, None], elements] = vectors
        row += m
    return out


def baseline(rules: Rules = THESIS, arities=(2, 3, 4), samples: int = 1_000_000, seed: int = 0,
             reduced: bool = False, exhaustive_up_to: int = 2) -> dict:
    """Share of CN and EN compositions per arity and pooled over ``arities`` (weighted by space size)."""
    rows = {}
    for k in arities:
        if k <= exhaustive_up_to:
            counts = enumerate_counts(k)
            if reduced:
                counts = counts[np.gcd.reduce(counts.astype(np.int64), axis=1) == 1]
            how = "exhaustive"
        else:
            counts = sample_counts(samples, (k,), seed + k, reduced)
            how = "sampled"
        v = check(counts, rules)
        rows[k] = {"arity": k, "method": how, "n": int(len(counts)), "space": space_size(k, reduced),
                   "cn": float(v.cn.mean()), "en": float(v.en.mean())}
    total = sum(r["space"] for r in rows.values())
    pooled = {f: sum(r[f] * r["space"] for r in rows.values()) / total for f in ("cn", "en")}
    return {"reduced": reduced, "by_arity": list(rows.values()), "pooled": pooled, "space": total}


def efficiency(generated_share: float, baseline_share: float) -> float:
    """How many times more often the generator hits a valid formula than blind enumeration."""
    return float(generated_share / baseline_share) if baseline_share > 0 else float("inf")
