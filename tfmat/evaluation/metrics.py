"""The thesis's measures of a generated formula set (thesis 3.3, SPEC §4).

Formulas are compared as canonical strings (:func:`tfmat.composition.formulas_from_counts`),
so ``Fe2O4`` and ``FeO2`` are the same formula. Shares are fractions in [0, 1].
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..chemistry import THESIS, Rules, check
from ..elements import ELEMENTS

ARITY_NAMES = {2: "binary", 3: "ternary", 4: "quaternary", 5: "quinary", 6: "senary", 7: "septenary",
               8: "octonary"}


def validity(counts: np.ndarray, rules: Rules = THESIS) -> dict[str, float]:
    """Shares of charge-neutral (CN), electronegativity-balanced (EN) and both, as the thesis reports them."""
    v = check(counts, rules)
    n = max(len(v), 1)
    both = v.cn & v.en
    return {"n": int(len(v)), "cn": float(v.cn.sum() / n), "en": float(v.en.sum() / n), "both": float(both.sum() / n)}


def uniqueness_curve(formulas: Sequence[str]) -> np.ndarray:
    """Share of distinct formulas among the first n, for n = 1..N (an array of length N)."""
    codes = pd.factorize(pd.Index(formulas))[0]
    first = np.zeros(len(codes), dtype=bool)
    first[np.unique(codes, return_index=True)[1]] = True
    return np.cumsum(first) / np.arange(1, len(codes) + 1)


def curve_points(curve: np.ndarray, n_points: int = 200) -> list[list[float]]:
    """[n, value] pairs at up to ``n_points`` log-spaced n (always including the last)."""
    if not len(curve):
        return []
    ns = np.unique(np.geomspace(1, len(curve), num=n_points).astype(np.int64))
    return [[int(n), float(curve[n - 1])] for n in ns]


def arity_of(counts: np.ndarray) -> np.ndarray:
    return np.count_nonzero(counts, axis=1)


def novelty(generated: Sequence[str], generated_arity: np.ndarray, train: Sequence[str], train_arity: np.ndarray,
            leave_out: Sequence[str], leave_out_arity: np.ndarray) -> dict:
    """Table 3.3 and fig. 3.6: recovery of training and left-out formulas, and new samples.

    ``generated`` keeps its repeats (one entry per decoded sample).
    """
    gen = pd.Series(list(generated))
    distinct = pd.Index(gen.unique())
    known = pd.Index(list(train)).union(pd.Index(list(leave_out)))
    in_known = gen.isin(known).to_numpy()
    new_distinct = ~distinct.isin(known)
    out = {
        "samples": int(len(gen)),
        "distinct": int(len(distinct)),
        "new_samples": int((~in_known).sum()),  # samples (with repeats) in neither set
        "new_distinct": int(new_distinct.sum()),
        "novel_share_of_samples": _share((~in_known).sum(), len(gen)),
        "novel_share_of_distinct": _share(new_distinct.sum(), len(distinct)),
        "train_recovered": _share(pd.Index(list(train)).isin(distinct).sum(), len(train)),
        "leave_out_recovered": _share(pd.Index(list(leave_out)).isin(distinct).sum(), len(leave_out)),
        "by_arity": [],
    }
    train_hit = pd.Index(list(train)).isin(distinct)
    leave_hit = pd.Index(list(leave_out)).isin(distinct)
    gen_first = ~gen.duplicated().to_numpy()
    distinct_arity = np.asarray(generated_arity)[gen_first]
    for k in sorted(set(np.unique(distinct_arity)) | set(np.unique(train_arity))):
        g = distinct_arity == k
        t = np.asarray(train_arity) == k
        lo = np.asarray(leave_out_arity) == k
        out["by_arity"].append({
            "arity": int(k), "name": ARITY_NAMES.get(int(k), f"{k}-ary"),
            "generated_distinct": int(g.sum()), "novel_share": _share((new_distinct & g).sum(), g.sum()),
            "train": int(t.sum()), "train_recovered": _share(train_hit[t].sum(), t.sum()),
            "leave_out": int(lo.sum()), "leave_out_recovered": _share(leave_hit[lo].sum(), lo.sum())})
    return out


def novel_formulas(generated: Sequence[str], known: Sequence[str]) -> list[str]:
    """Distinct generated formulas that are not in ``known``, in order of first appearance."""
    distinct = pd.Index(pd.unique(pd.Series(list(generated))))
    return distinct[~distinct.isin(pd.Index(list(known)))].tolist()


def cross_database(novel: Sequence[str], others: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Table 3.4: how many novel generated formulas each other database holds."""
    novel = pd.Index(list(novel))
    return {name: int(novel.isin(pd.Index(list(f))).sum()) for name, f in others.items()}


def element_frequency(counts: np.ndarray) -> np.ndarray:
    """Share of formulas that contain each of the 85 elements."""
    counts = np.asarray(counts)
    return (counts > 0).sum(0) / max(len(counts), 1)


def arity_distribution(counts: np.ndarray, max_arity: int = 8) -> np.ndarray:
    """Share of formulas with 1..max_arity elements (index k-1)."""
    a = arity_of(counts)
    return np.bincount(a, minlength=max_arity + 1)[1:max_arity + 1] / max(len(a), 1)


def total_variations(generated: np.ndarray, train: np.ndarray) -> dict[str, float]:
    """The formula mix of (N, 85) ``generated`` counts against ``train``'s: the total-variation distance
    between their arity distributions (1..8 elements) and between their element-occurrence distributions
    (each element's share of all element occurrences). 0 is the same mix, 1 disjoint, as is no formula."""
    if not len(generated):
        return {"arity_total_variation": 1.0, "element_total_variation": 1.0}
    ef_g, ef_t = element_frequency(generated), element_frequency(train)
    p_g, p_t = ef_g / max(ef_g.sum(), 1e-12), ef_t / max(ef_t.sum(), 1e-12)
    return {"arity_total_variation": float(0.5 * np.abs(arity_distribution(generated) - arity_distribution(train)).sum()),
            "element_total_variation": float(0.5 * np.abs(p_g - p_t).sum())}


def distributions(generated: np.ndarray, train: np.ndarray) -> dict:
    """Element-frequency and arity distributions of generated and training formulas, and their distances."""
    ef_g, ef_t = element_frequency(generated), element_frequency(train)
    ar_g, ar_t = arity_distribution(generated), arity_distribution(train)
    return {
        "element_frequency": {e: {"generated": float(g), "train": float(t)} for e, g, t in zip(ELEMENTS, ef_g, ef_t)},
        "arity": {str(k + 1): {"generated": float(g), "train": float(t)} for k, (g, t) in enumerate(zip(ar_g, ar_t))},
        "element_correlation": float(np.corrcoef(ef_g, ef_t)[0, 1]) if ef_g.std() > 0 and ef_t.std() > 0 else None,
        **total_variations(generated, train),
    }


def _share(k, n) -> float | None:
    return float(k) / float(n) if n else None


def recovery_by_decodability(train: Sequence[str], decodable: np.ndarray, generated: Sequence[str]) -> dict:
    """Thesis 3.4: share of the decodable and of the undecodable training formulas that the generator produced."""
    hit = pd.Index(list(train)).isin(pd.Index(pd.unique(pd.Series(list(generated)))))
    decodable = np.asarray(decodable, dtype=bool)
    return {"decodable": int(decodable.sum()), "undecodable": int((~decodable).sum()),
            "decodable_recovered": _share((hit & decodable).sum(), decodable.sum()),
            "undecodable_recovered": _share((hit & ~decodable).sum(), (~decodable).sum())}
