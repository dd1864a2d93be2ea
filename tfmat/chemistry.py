"""Chemical validity of compositions: SMACT's charge-neutrality and electronegativity rules, vectorised.

The rules are those of ``smact.screening.smact_validity`` (SMACT 4.0.2):

* a single-element composition is valid;
* with ``include_alloys``, a composition made only of ``smact.metals`` is valid;
* otherwise each element takes one oxidation state from the chosen set
  (an element without states makes the composition invalid), the counts are
  reduced by their gcd, and the composition is **charge neutral (CN)** when
  some choice gives ``sum(count * state) == 0``;
* it is **electronegativity balanced (EN)** when some charge-neutral choice
  also passes the Pauling test: every cation (state > 0) is strictly less
  electronegative than every anion (state < 0); an element without a Pauling
  electronegativity fails it.

``cn`` is ``smact_validity(..., use_pauling_test=False)`` and ``en`` is
``smact_validity(..., use_pauling_test=True)`` under the same options, so
``en`` implies ``cn`` and "CN and EN" is ``en``.

Oxidation-state sets (``Rules.oxidation_states``): ``None`` is SMACT 4's
default, the ICSD-2024 filter (``consensus=3``, ``commonality="low"``, no
zero states); ``"smact14"``, ``"icsd16"``, ``"icsd24"``, ``"pymatgen_sp"``,
``"wiki"`` are SMACT's named sets; a mapping symbol -> states is a custom set.
SMACT's ``check_metallicity`` and ``mixed_valence`` options are not offered.

The thesis (2020, SMACT 2.x) counted a formula CN when some combination of
``Element.oxidation_states`` -- then the 2014 SMACT list, today's
``"smact14"`` -- is neutral with the reduced counts, EN when such a neutral
combination also passes the Pauling test, single elements as valid and no
alloy shortcut: that is :data:`THESIS` = ``Rules("smact14",
include_alloys=False)``. It gives 55.85% CN on the thesis's GAN-OQMD training
list (thesis: 55.8%) and 84.50% on its ICSD list (thesis: 84.4%), where
SMACT 4's defaults give 94.56% and 97.96%. :data:`SMACT_DEFAULT` reproduces
today's ``smact_validity`` defaults.

How it is fast: compositions are deduplicated; each one is checked by a
meet-in-the-middle over its elements (all sums of state x count over one half
of the elements are scattered into a bitset, the negated sums of the other
half are looked up in it), a whole batch at a time in NumPy. The Pauling test
is a cut in electronegativity order: a choice passes iff some cut puts every
cation below and every anion above it, so EN is CN with each element's states
restricted to one sign, tried for each cut.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

from .composition import Compositions, FormulaError, Reject, integer_reduce, parse_formulas
from .elements import ATOMIC_NUMBERS, PERIODIC_TABLE

N_SMACT = 103  # SMACT tabulates elements 1..103
_BIG = 1 << 40  # sum contribution of a padding state: never neutral
_BUDGET = 1 << 23  # array cells per chunk


@dataclass(frozen=True)
class Rules:
    """Options of the check, named as in ``smact_validity``.

    ``oxidation_states``: ``None`` (the ICSD-2024 filter with ``consensus``,
    ``commonality`` and ``include_zero``), a SMACT set name, or a mapping
    symbol -> states (give it as a tuple of pairs to keep Rules hashable).
    """

    oxidation_states: str | tuple | None = None
    include_alloys: bool = True
    consensus: int = 3
    commonality: str | float = "low"
    include_zero: bool = False

    def __post_init__(self):
        if isinstance(self.oxidation_states, Mapping):
            object.__setattr__(self, "oxidation_states",
                               tuple((k, tuple(v)) for k, v in self.oxidation_states.items()))


SMACT_DEFAULT = Rules()
THESIS = Rules("smact14", include_alloys=False)
SETS = ("smact14", "icsd16", "icsd24", "pymatgen_sp", "wiki")


@dataclass(frozen=True)
class _Table:
    """Per-element data indexed by atomic number (row 0 unused)."""

    states: np.ndarray  # (104, L) int64, padded with 0 where mask is False
    mask: np.ndarray  # (104, L) bool: real states
    eneg: np.ndarray  # (104,) float, nan where SMACT has none
    metal: np.ndarray  # (104,) bool
    has_zero: bool


@functools.lru_cache(maxsize=16)
def _table(rules: Rules) -> _Table:
    import smact

    symbols = PERIODIC_TABLE[:N_SMACT]
    elements = {s: smact.Element(s) for s in symbols}
    name = rules.oxidation_states
    if name is None:
        from smact.utils.oxidation import ICSD24OxStatesFilter
        frame = ICSD24OxStatesFilter().filter(consensus=rules.consensus, include_zero=rules.include_zero,
                                              commonality=rules.commonality)
        lookup = {str(e): [int(x) for x in str(o).split()]
                  for e, o in zip(frame["element"], frame["oxidation_state"])}
        states = [lookup.get(s) for s in symbols]
    elif isinstance(name, tuple):
        custom = dict(name)
        states = [custom.get(s) for s in symbols]
    elif name in SETS:
        states = [getattr(elements[s], "oxidation_states_sp" if name == "pymatgen_sp"
                          else f"oxidation_states_{name}") for s in symbols]
    else:
        raise ValueError(f"unknown oxidation-state set {name!r}; use None, a mapping or one of {SETS}")
    states = [sorted(set(int(o) for o in st)) if st else [] for st in states]
    width = max(1, max(len(st) for st in states))
    table = np.zeros((N_SMACT + 1, width), dtype=np.int64)
    mask = np.zeros((N_SMACT + 1, width), dtype=bool)
    for z, st in enumerate(states, start=1):
        table[z, :len(st)] = st
        mask[z, :len(st)] = True
    eneg = np.array([np.nan] + [np.nan if elements[s].pauling_eneg is None else elements[s].pauling_eneg
                                for s in symbols])
    metal = np.zeros(N_SMACT + 1, dtype=bool)
    metal[[PERIODIC_TABLE.index(s) + 1 for s in smact.metals if s in elements]] = True
    return _Table(table, mask, eneg, metal, bool((table[mask] == 0).any()))


def oxidation_states(symbol: str, rules: Rules = SMACT_DEFAULT) -> list[int]:
    """The states ``rules`` allow for ``symbol`` (empty when it has none)."""
    t = _table(rules)
    z = PERIODIC_TABLE.index(symbol) + 1
    return t.states[z][t.mask[z]].tolist()


# --------------------------------------------------------------------------- core
def _neutral(contrib: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Whether some choice of one allowed entry per element sums to zero.

    ``contrib`` (n, k, L) holds count x state, ``allowed`` (n, k, L) which
    entries may be chosen. Meet in the middle: half the elements' sums go into
    a bitset, the other half's negated sums are looked up in it.
    """
    n, k, _ = contrib.shape
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    # Order each row's elements by how many choices they have, then alternate
    # them between the halves so both products stay small.
    n_choice = allowed.sum(2)
    order = np.argsort(-n_choice, axis=1, kind="stable")
    contrib = np.take_along_axis(contrib, order[:, :, None], 1)
    allowed = np.take_along_axis(allowed, order[:, :, None], 1)
    n_choice = np.take_along_axis(n_choice, order, 1)
    dead = (n_choice == 0).any(1)
    # Compact each element's allowed entries to the front.
    pos = np.argsort(~allowed, axis=2, kind="stable")
    contrib = np.take_along_axis(contrib, pos, 2)
    allowed = np.take_along_axis(allowed, pos, 2)
    value = np.where(allowed, contrib, _BIG)
    halves = (np.arange(0, k, 2), np.arange(1, k, 2))
    peak = np.where(allowed, np.abs(contrib), 0).max(2)
    # A zero total needs |sum of either half| <= the smaller half's bound.
    reach = np.minimum(peak[:, halves[0]].sum(1), peak[:, halves[1]].sum(1))
    live = np.flatnonzero(~dead)
    live = live[np.argsort(reach[live], kind="stable")]
    n_live, reach_live = n_choice[live], reach[live]
    widest = n_live.max(0) if len(live) else np.ones(k, np.int64)
    rows_cap = max(1, _BUDGET // (sum(int(np.prod(widest[h])) for h in halves) + 1))
    start = 0
    while start < len(live):
        stop = min(len(live), start + rows_cap)
        stop = min(stop, start + max(1, _BUDGET // (2 * int(reach_live[stop - 1]) + 3)))
        span = int(reach_live[stop - 1])
        rows = live[start:stop]
        width_l = np.maximum(n_live[start:stop].max(0), 1)
        sums = []
        for h in halves:
            s = np.zeros((len(rows), 1), dtype=np.int64)
            for p in h:
                v = value[rows, p, :width_l[p]]
                s = (s[:, :, None] + v[:, None, :]).reshape(len(rows), -1)
            sums.append(s)
        m = len(rows)
        if sums[1].shape[1] * sums[0].shape[1] <= 2 * span + 3:
            out[rows] = (sums[0][:, :, None] == -sums[1][:, None, :]).any((1, 2))
        else:
            bits = np.zeros((m, 2 * span + 3), dtype=bool)  # column 2*span+1: overflow of A, +2: of B
            ia = np.where(np.abs(sums[0]) <= span, sums[0] + span, 2 * span + 1)
            ib = np.where(np.abs(sums[1]) <= span, span - sums[1], 2 * span + 2)
            r = np.arange(m)[:, None]
            bits[r, ia] = True
            out[rows] = bits[r, ib].any(1)
        start = stop
    return out


def _check_arity(z: np.ndarray, c: np.ndarray, rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    """CN and EN of n compositions with k elements each: atomic numbers and reduced counts (n, k)."""
    n, k = z.shape
    if k == 1:
        return np.ones(n, bool), np.ones(n, bool)
    t = _table(rules)
    shortcut = t.metal[z].all(1) if rules.include_alloys else np.zeros(n, bool)
    contrib = c[:, :, None] * t.states[z]
    allowed = t.mask[z]
    todo = np.flatnonzero(~shortcut)
    cn = shortcut.copy()
    cn[todo] = _neutral(contrib[todo], allowed[todo])
    en = shortcut.copy()
    eneg = t.eneg[z]
    todo = np.flatnonzero(cn & ~shortcut & ~np.isnan(eneg).any(1))
    if len(todo):
        # Dense rank of each element's electronegativity within its row.
        e = eneg[todo]
        srt = np.sort(e, axis=1)
        new = np.concatenate([np.ones((len(todo), 1), bool), srt[:, 1:] > srt[:, :-1]], 1)
        levels = np.cumsum(new, 1)
        rank = np.take_along_axis(levels, np.argsort(np.argsort(e, 1, kind="stable"), 1), 1) - 1
        n_levels = levels[:, -1]
        states = t.states[z[todo]]
        ok = np.zeros(len(todo), bool)
        # Most compounds pass with only their most electronegative elements as anions: try high cuts first.
        cuts = list(range(k - 1, 0, -1)) + ([k, 0] if t.has_zero else [])
        for cut in cuts:
            rows = np.flatnonzero(~ok & (cut <= n_levels))
            if not len(rows):
                continue
            cation_side = (rank[rows] < cut)[:, :, None]
            st = states[rows]
            sign_ok = (st == 0) | ((st > 0) & cation_side) | ((st < 0) & ~cation_side)
            ok[rows] = _neutral(contrib[todo[rows]], allowed[todo[rows]] & sign_ok)
        en[todo] = ok
    return cn, en


def _check_csr(indptr: np.ndarray, z: np.ndarray, c: np.ndarray, rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    """CN and EN per row of a CSR batch of (atomic number, integer count) entries."""
    arity = np.diff(indptr)
    cn = np.zeros(len(arity), bool)
    en = np.zeros(len(arity), bool)
    for k in np.unique(arity):
        if k == 0:
            continue
        rows = np.flatnonzero(arity == k)
        idx = indptr[rows][:, None] + np.arange(k)
        zk, ck = z[idx], c[idx].astype(np.int64)
        srt = np.argsort(zk, axis=1, kind="stable")
        zk, ck = np.take_along_axis(zk, srt, 1), np.take_along_axis(ck, srt, 1)
        ck //= np.gcd.reduce(ck, axis=1)[:, None]
        key, inverse = _unique_rows(zk, ck)
        cn_u, en_u = _check_arity(zk[key], ck[key], rules)
        cn[rows], en[rows] = cn_u[inverse], en_u[inverse]
    return cn, en


def _unique_rows(z: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First index of each distinct (z, c) row and the inverse map."""
    k = z.shape[1]
    cbits = int(c.max() - 1).bit_length() if c.size else 0
    if k * (7 + cbits) <= 63:
        key = np.zeros(len(z), dtype=np.int64)
        for p in range(k):
            key = (key << (7 + cbits)) | (z[:, p] << cbits) | (c[:, p] - 1)
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(np.concatenate([z, c], 1), axis=0, return_index=True,
                                      return_inverse=True)
    return first, inverse.reshape(-1)


# --------------------------------------------------------------------------- public API
@dataclass
class Validity:
    """Per-row flags: ``cn`` charge neutral, ``en`` charge neutral and Pauling-balanced."""

    cn: np.ndarray
    en: np.ndarray

    def __len__(self) -> int:
        return len(self.cn)

    def __repr__(self) -> str:
        return f"Validity({len(self):,} rows, {int(self.cn.sum()):,} CN, {int(self.en.sum()):,} CN+EN)"

    def shares(self) -> dict[str, float]:
        """Fractions of rows that are CN, EN (CN and EN in one choice)."""
        n = max(len(self.cn), 1)
        return {"cn": float(self.cn.sum() / n), "en": float(self.en.sum() / n)}


def _checkable(comps: Compositions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer-reduced amounts, per-row integral flags and per-row "element beyond Lr" flags."""
    reduced, integral = integer_reduce(comps)
    beyond = np.zeros(len(comps), bool)
    np.logical_or.at(beyond, comps.row_of_entry, comps.z > N_SMACT)
    return reduced, integral, beyond


def unchecked_reasons(comps: Compositions) -> dict[int, str]:
    """Rows that cannot be checked (a non-integer amount, an element SMACT does not tabulate), with why."""
    _, integral, beyond = _checkable(comps)
    out = {}
    for i in np.flatnonzero(~integral | beyond):
        a, b = comps.indptr[i], comps.indptr[i + 1]
        syms = [PERIODIC_TABLE[z - 1] for z in comps.z[a:b] if z > N_SMACT]
        out[int(i)] = f"element {', '.join(syms)} has no SMACT data" if beyond[i] else "fractional amount"
    return out


def check_compositions(comps: Compositions, rules: Rules = SMACT_DEFAULT) -> Validity:
    """CN and EN of a CSR batch with integer amounts of elements 1..103.

    Rows with no element, a non-integer amount or an element SMACT does not
    tabulate are neither (:func:`check_formulas` says why).
    """
    reduced, integral, beyond = _checkable(comps)
    ok = integral & ~beyond
    sub = comps.take(np.flatnonzero(ok))
    ints = np.asarray(reduced)[np.repeat(ok, comps.n_elements)].astype(np.int64)
    cn, en = np.zeros(len(comps), bool), np.zeros(len(comps), bool)
    cn[ok], en[ok] = _check_csr(sub.indptr, sub.z, ints, rules)
    return Validity(cn, en)


def check(counts: np.ndarray, rules: Rules = SMACT_DEFAULT) -> Validity:
    """CN and EN of (N, 85) integer counts in the order of :data:`tfmat.elements.ELEMENTS`.

    Rows with no element are neither.
    """
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[1] != len(ATOMIC_NUMBERS):
        raise ValueError(f"counts must be (N, {len(ATOMIC_NUMBERS)}), got {counts.shape}")
    if counts.size and counts.min() < 0:
        raise ValueError(f"negative count in row {int(np.argwhere(counts < 0)[0, 0])}")
    return check_compositions(Compositions.from_counts(counts), rules)


@dataclass
class Checked:
    """Result of :func:`check_formulas`: flags of the rows that could be checked, and the rejects."""

    rows: np.ndarray  # index of each checked formula in the input
    texts: list[str]
    validity: Validity
    rejects: list[Reject] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Checked({self.validity!r}, {len(self.rejects):,} rejects)"

    @property
    def cn(self) -> np.ndarray:
        return self.validity.cn

    @property
    def en(self) -> np.ndarray:
        return self.validity.en

    def frame(self):
        """A DataFrame with columns row, formula, cn, en."""
        import pandas as pd
        return pd.DataFrame({"row": self.rows, "formula": self.texts, "cn": self.cn, "en": self.en})


def check_formulas(texts: Iterable[str], rules: Rules = SMACT_DEFAULT) -> Checked:
    """CN and EN of formula strings (any integer composition of elements 1..103).

    Rows that do not parse, have a fractional amount or an element SMACT
    does not tabulate are returned as rejects with the reason.
    """
    parsed = parse_formulas(texts)
    comps = parsed.compositions
    unchecked = unchecked_reasons(comps)
    rejects = parsed.rejects + [Reject(int(parsed.rows[i]), str(parsed.texts[i]), reason)
                                for i, reason in unchecked.items()]
    rejects.sort(key=lambda r: r.row)
    good = np.setdiff1d(np.arange(len(comps)), np.fromiter(unchecked, np.int64, len(unchecked)))
    v = check_compositions(comps.take(good), rules)
    return Checked(parsed.rows[good], [parsed.texts[i] for i in good], v, rejects)


def check_formula(text: str, rules: Rules = SMACT_DEFAULT) -> tuple[bool, bool]:
    """(CN, EN) of one formula; raises :class:`FormulaError` when it cannot be checked."""
    checked = check_formulas([text], rules)
    if checked.rejects:
        raise FormulaError(checked.rejects[0].reason)
    return bool(checked.cn[0]), bool(checked.en[0])


def rules_named(name: str) -> Rules:
    """``"thesis"`` -> :data:`THESIS`, ``"smact"`` -> :data:`SMACT_DEFAULT`."""
    presets = {"thesis": THESIS, "smact": SMACT_DEFAULT}
    if name not in presets:
        raise ValueError(f"unknown rules {name!r}; use one of {sorted(presets)}")
    return presets[name]


def valid_mask(texts: Sequence[str], rules: Rules = THESIS) -> np.ndarray:
    """Per input formula: charge neutral and electronegativity balanced (False where it cannot be checked).

    This is the thesis's filter for ICSD_Filter.
    """
    texts = list(texts)
    checked = check_formulas(texts, rules)
    out = np.zeros(len(texts), dtype=bool)
    out[checked.rows] = checked.en
    return out
