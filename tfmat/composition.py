"""Chemical formulas: parsing, reduction, canonical strings and the 85×8 codec.

Formulas are parsed with pymatgen's semantics (parentheses and square
brackets, repeated symbols summed) into :class:`Compositions`, a compressed
sparse-row batch of (atomic number, amount) entries. From there:

* :func:`formulas_of` writes one canonical string per composition: the
  integer-reduced formula, symbols ordered as pymatgen orders them.
* :func:`encode_formulas` turns strings into integer counts and (N, 85, 8)
  one-hot matrices, rejecting what the representation cannot hold.
* :func:`decode` turns generated real-valued matrices back into formulas.

Batch calls never fail on a bad row: they return the good rows and a list of
:class:`Reject` (row, text, reason).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

from .elements import (ATOMIC_NUMBERS, ELEMENTS, INDEX_OF_Z, MAX_COUNT, N_ELEMENTS, PERIODIC_TABLE,
                       WRITE_RANK, Z_OF)

DECODE_TOLERANCE = 0.8  # thesis: a cell counts when its value is >= 1 - 0.8
MAX_AMOUNT = 10 ** 6  # an element's amount above this is not a formula (and would overflow integer reduction)


class FormulaError(ValueError):
    """A formula that cannot be parsed or represented; the message is the reason."""


@dataclass(frozen=True)
class Reject:
    """A row that was left out of a batch, and why."""

    row: int
    text: str
    reason: str


# --------------------------------------------------------------------------- parsing
_PLAIN = re.compile(r"(?:[A-Z][a-z]?[0-9]*)+")  # formulas without groups, spaces or decimals
_PLAIN_TOKEN = re.compile(r"([A-Z][a-z]?)([0-9]*)")
_SYMBOL_Z = np.zeros(1 << 16, np.int64)  # (first byte * 256 + second byte or 0) -> atomic number
for _s, _z in Z_OF.items():
    _SYMBOL_Z[ord(_s[0]) * 256 + (ord(_s[1]) if len(_s) > 1 else 0)] = _z
_TOKEN = re.compile(r"\s*(?:([A-Z][a-z]*)|(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)|([(\[])|([)\]]))")


def parse_formula(text: str) -> dict[str, float]:
    """Amount of each element in ``text`` (not reduced).

    ``parse_formula("Sr(AlH)2") == {"Sr": 1, "Al": 2, "H": 2}``. Raises
    :class:`FormulaError` with the reason when the text is not a formula.
    """
    if not isinstance(text, str):
        raise FormulaError(f"not a string: {text!r}")
    s = text.strip()
    if not s:
        raise FormulaError("empty formula")
    if _PLAIN.fullmatch(s):
        out: dict[str, float] = {}
        for sym, n in _PLAIN_TOKEN.findall(s):
            if sym not in Z_OF:
                raise FormulaError(f"unknown element {sym!r}")
            out[sym] = out.get(sym, 0) + (int(n) if n else 1)
        return _check_amounts(out)
    return _check_amounts(_parse_general(s))


def _parse_general(s: str) -> dict[str, float]:
    stack: list[dict[str, float]] = [{}]
    pos, last = 0, None  # last: the dict or symbol a following number multiplies
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m or m.end() == pos:
            if s[pos:].strip() == "":
                break
            raise FormulaError(f"unexpected text {s[pos:].strip()[:20]!r}")
        pos = m.end()
        sym, num, opening, closing = m.groups()
        if sym is not None:
            if sym not in Z_OF:
                raise FormulaError(f"unknown element {sym!r}")
            stack[-1][sym] = stack[-1].get(sym, 0) + 1
            last = sym
        elif num is not None:
            if last is None:
                raise FormulaError(f"number {num!r} follows no element or group")
            k = float(num)
            if isinstance(last, str):
                stack[-1][last] += k - 1
            else:
                for e, a in last.items():
                    stack[-1][e] += a * (k - 1)
            last = None
        elif opening is not None:
            stack.append({})
            last = None
        else:
            if len(stack) == 1:
                raise FormulaError("unbalanced ')'")
            group = stack.pop()
            for e, a in group.items():
                stack[-1][e] = stack[-1].get(e, 0) + a
            last = group
    if len(stack) != 1:
        raise FormulaError("unbalanced '('")
    return stack[0]


def _check_amounts(amounts: dict[str, float]) -> dict[str, float]:
    if not amounts:
        raise FormulaError("no element")
    for e, a in amounts.items():
        if not a > 0:
            raise FormulaError(f"amount of {e} is {a:g}, not positive")
        if a > MAX_AMOUNT:
            shown = f"{int(a):,}" if float(a).is_integer() else f"{a:.6g}"
            raise FormulaError(f"amount of {e} is {shown}, above the bound {MAX_AMOUNT:,}")
    return amounts


def formula_from_mapping(mapping: Mapping[str, float]) -> str:
    """Formula text for an element→amount mapping (e.g. a thesis dict-literal line)."""
    return "".join(f"{e}{float(a):g}" for e, a in mapping.items())


# --------------------------------------------------------------------------- batches
@dataclass
class Compositions:
    """A batch of compositions in compressed sparse-row form.

    Row ``i`` holds entries ``indptr[i]:indptr[i+1]`` of ``z`` (atomic
    numbers) and ``amount``; each element appears once per row.
    """

    indptr: np.ndarray
    z: np.ndarray
    amount: np.ndarray

    def __repr__(self) -> str:
        return f"Compositions({len(self.indptr) - 1:,} rows)"

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @property
    def row_of_entry(self) -> np.ndarray:
        """Row index of every entry."""
        return np.repeat(np.arange(len(self)), np.diff(self.indptr))

    @property
    def n_elements(self) -> np.ndarray:
        """Number of distinct elements per row."""
        return np.diff(self.indptr)

    def fractions(self) -> np.ndarray:
        """Amount of each entry divided by its row's total."""
        totals = np.add.reduceat(self.amount, self.indptr[:-1]) if len(self) else np.zeros(0)
        return self.amount / np.repeat(totals, self.n_elements)

    @classmethod
    def from_counts(cls, counts: np.ndarray) -> "Compositions":
        """Batch from (N, 85) counts in :data:`~tfmat.elements.ELEMENTS` order."""
        counts = np.asarray(counts)
        rows, cols = np.nonzero(counts)
        indptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(counts)), out=indptr[1:])
        return cls(indptr, ATOMIC_NUMBERS[cols], counts[rows, cols].astype(np.float64))

    @classmethod
    def from_dense(cls, amounts: np.ndarray) -> "Compositions":
        """Batch from (N, 118) amounts, column z-1 for element z."""
        amounts = np.asarray(amounts, dtype=np.float64)
        rows, cols = np.nonzero(amounts > 0)
        indptr = np.zeros(len(amounts) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(amounts)), out=indptr[1:])
        return cls(indptr, cols + 1, amounts[rows, cols])

    def take(self, rows: np.ndarray) -> "Compositions":
        """The compositions at ``rows`` (repeats allowed), as a new batch."""
        rows = np.asarray(rows, dtype=np.int64)
        lengths = self.n_elements[rows]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        src = np.repeat(self.indptr[rows] - indptr[:-1], lengths) + np.arange(indptr[-1])
        return Compositions(indptr, self.z[src], self.amount[src])

    def dense(self, columns: int = len(PERIODIC_TABLE)) -> np.ndarray:
        """(N, 118) amounts, column z-1 for element z."""
        out = np.zeros((len(self), columns))
        out[self.row_of_entry, self.z - 1] = self.amount
        return out


@dataclass
class Parsed:
    """Result of :func:`parse_formulas`: the parsed rows and the rejects."""

    compositions: Compositions
    rows: np.ndarray  # index of each parsed composition in the input
    texts: list[str]  # input text of each parsed composition
    rejects: list[Reject] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Parsed({len(self.texts):,} compositions, {len(self.rejects):,} rejects)"


def parse_formulas(texts: Iterable[str]) -> Parsed:
    """Parse many formulas; each distinct text is parsed once.

    Plain formulas (``Fe2O3``) are tokenised together in one regex pass; the
    rest go through :func:`parse_formula` one by one.
    """
    import pandas as pd

    texts = list(texts)
    arr = np.empty(len(texts), dtype=object)
    arr[:] = texts
    inverse, uniques = pd.factorize(arr)  # missing values (None, NaN) get code -1
    unique = list(uniques)
    missing = inverse < 0
    if missing.any():
        inverse[missing] = len(unique)
        unique.append(texts[int(np.argmax(missing))])
    comps, errors = _parse_unique(unique)
    ok_unique = np.ones(len(unique), bool)
    ok_unique[list(errors)] = False
    ok = ok_unique[inverse]
    rows = np.flatnonzero(ok)
    rejects = [Reject(int(i), str(texts[i]), f"not a string: {texts[i]!r}" if missing[i] else errors[inverse[i]])
               for i in np.flatnonzero(~ok)]
    return Parsed(comps.take(inverse[rows]), rows, [texts[i] for i in rows], rejects)


def _parse_unique(strings: list) -> tuple[Compositions, dict[int, str]]:
    """CSR of every string (failed ones empty) and the reason of each failure by position."""
    plain = np.fromiter((isinstance(s, str) and _PLAIN.fullmatch(s) is not None for s in strings), bool,
                        len(strings))
    errors: dict[int, str] = {}
    # plain formulas, all at once on their bytes: a token starts at each capital letter
    p_idx = np.flatnonzero(plain)
    b = np.frombuffer(("\n".join(strings[i] for i in p_idx) + "\n\n").encode("ascii"), np.uint8).astype(np.int64)
    starts = np.flatnonzero((b >= 65) & (b <= 90))
    two = (b[starts + 1] >= 97) & (b[starts + 1] <= 122)
    z = _SYMBOL_Z[b[starts] * 256 + np.where(two, b[starts + 1], 0)]
    digit = (b >= 48) & (b <= 57)
    pos = starts + 1 + two
    amount = np.where(digit[pos], 0.0, 1.0)
    active = np.flatnonzero(digit[pos])
    while len(active):  # read the digit runs, one column at a time
        amount[active] = amount[active] * 10 + (b[pos[active]] - 48)
        pos[active] += 1
        active = active[digit[pos[active]]]
    row = np.cumsum(b == 10)[starts]
    key = row * 128 + z
    if len(key) and (np.diff(np.sort(key)) == 0).any():  # a symbol repeated within a formula: sum it
        key, inv = np.unique(key, return_inverse=True)
        amount = np.bincount(inv.ravel(), weights=amount)
        row, z = key // 128, key % 128
    plain_indptr = np.zeros(len(p_idx) + 1, np.int64)
    np.cumsum(np.bincount(row, minlength=len(p_idx)), out=plain_indptr[1:])
    for r in np.unique(row[(z == 0) | (amount <= 0) | (amount > MAX_AMOUNT)]):  # let the parser say what is wrong
        try:
            parse_formula(strings[p_idx[r]])
        except FormulaError as err:
            errors[int(p_idx[r])] = str(err)
    # everything else, one by one
    g_idx = np.flatnonzero(~plain)
    g_len, g_z, g_a = [], [], []
    for i in g_idx:
        try:
            parsed = parse_formula(strings[i])
        except FormulaError as err:
            errors[int(i)] = str(err)
            parsed = {}
        g_len.append(len(parsed))
        g_z.extend(Z_OF[e] for e in parsed)
        g_a.extend(parsed.values())
    g_indptr = np.zeros(len(g_idx) + 1, np.int64)
    np.cumsum(g_len, out=g_indptr[1:])
    both = Compositions(np.concatenate([plain_indptr, g_indptr[1:] + plain_indptr[-1]]),
                        np.concatenate([z, np.asarray(g_z, np.int64)]),
                        np.concatenate([amount, np.asarray(g_a, np.float64)]))
    position = np.empty(len(strings), np.int64)
    position[np.concatenate([p_idx, g_idx])] = np.arange(len(strings))
    return both.take(position), errors


def _row_any(flags: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Per-row logical OR of per-entry flags."""
    n = len(indptr) - 1
    if n == 0 or len(flags) == 0:
        return np.zeros(n, dtype=bool)
    out = np.logical_or.reduceat(flags, np.minimum(indptr[:-1], len(flags) - 1))
    out[np.diff(indptr) == 0] = False
    return out


def integer_reduce(comps: Compositions) -> tuple[np.ndarray, np.ndarray]:
    """Integer-reduced amounts per entry and a per-row flag of integral rows.

    Rows with non-integer amounts keep their amounts and get ``False``.
    """
    rounded = np.rint(comps.amount)
    integral_entry = np.abs(comps.amount - rounded) <= 1e-8 * np.maximum(1.0, comps.amount)
    integral = ~_row_any(~integral_entry, comps.indptr)
    ints = np.where(integral_entry, rounded, 1).astype(np.int64)
    if len(comps) and len(ints):
        g = np.gcd.reduceat(ints, np.minimum(comps.indptr[:-1], len(ints) - 1))
        g[comps.n_elements == 0] = 1
    else:
        g = np.ones(len(comps), dtype=np.int64)
    per_entry_g = np.repeat(np.where(integral, g, 1), comps.n_elements)
    reduced = np.where(np.repeat(integral, comps.n_elements), ints // per_entry_g, comps.amount)
    return reduced, integral


def formulas_of(comps: Compositions) -> list[str]:
    """Canonical formula of each composition: integer-reduced, pymatgen's symbol order.

    Non-integral compositions are written with their amounts as given.
    """
    reduced, integral = integer_reduce(comps)
    rows = comps.row_of_entry
    order = np.lexsort((WRITE_RANK[comps.z - 1], rows))
    syms = np.asarray(PERIODIC_TABLE, dtype=object)[comps.z[order] - 1]
    amts = reduced[order]
    tokens = [s if a == 1 else (f"{s}{int(a)}" if float(a).is_integer() else f"{s}{a:g}")
              for s, a in zip(syms.tolist(), amts.tolist())]
    ptr = comps.indptr.tolist()
    return ["".join(tokens[a:b]) for a, b in zip(ptr[:-1], ptr[1:])]


# --------------------------------------------------------------------------- 85×8 codec
_ORDER85 = np.argsort(WRITE_RANK[ATOMIC_NUMBERS - 1], kind="stable")
_TOKENS85 = np.array([[""] + [ELEMENTS[e] + ("" if c == 1 else str(c)) for c in range(1, MAX_COUNT + 1)]
                      for e in _ORDER85], dtype=object)


@dataclass
class Encoded:
    """Formulas that fit the 85×8 representation, and the rows that did not."""

    formulas: list[str]  # canonical
    counts: np.ndarray  # (N, 85) int8 reduced counts
    rows: np.ndarray  # index of each formula in the input
    rejects: list[Reject] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Encoded({len(self.formulas):,} formulas, {len(self.rejects):,} rejects)"

    def onehot(self, dtype=np.float32) -> np.ndarray:
        """(N, 85, 8) one-hot matrices."""
        return encode(self.counts, dtype)


def encode(counts: np.ndarray, dtype=np.float32) -> np.ndarray:
    """(N, 85) integer counts in 0..8 → (N, 85, 8) one-hot (count c → column c-1)."""
    counts = np.asarray(counts)
    return (counts[..., None] == np.arange(1, MAX_COUNT + 1, dtype=counts.dtype)).astype(dtype)


def reduce_counts(counts: np.ndarray) -> np.ndarray:
    """(N, 85) counts divided by each row's gcd (only rows without a count of 1 can reduce)."""
    counts = np.asarray(counts)
    maybe = np.flatnonzero(~(counts == 1).any(axis=1) & (counts > 0).any(axis=1))
    if not len(maybe):
        return counts
    sub = counts[maybe].astype(np.int64)
    g = np.gcd.reduce(sub, axis=1)
    out = counts.copy()
    out[maybe] = (sub // g[:, None]).astype(counts.dtype)
    return out


def formulas_from_counts(counts: np.ndarray) -> list[str]:
    """Canonical formulas of (N, 85) integer counts (reduced by their gcd first)."""
    ordered = reduce_counts(counts)[:, _ORDER85]
    r, c = np.nonzero(ordered)
    tokens = _TOKENS85[c, ordered[r, c]].tolist()
    ends = np.searchsorted(r, np.arange(1, len(counts) + 1)).tolist()
    starts = [0] + ends[:-1]
    return ["".join(tokens[a:b]) for a, b in zip(starts, ends)]


def encode_formulas(texts: Iterable[str], min_elements: int = 1) -> Encoded:
    """Parse, reduce and check formulas for the 85×8 representation.

    A row is rejected when it does not parse, names an element outside the
    85, has a non-integer amount, a reduced count above 8, or fewer than
    ``min_elements`` elements.
    """
    parsed = parse_formulas(texts)
    comps = parsed.compositions
    reduced, integral = integer_reduce(comps)
    idx85 = INDEX_OF_Z[comps.z - 1]
    outside = _row_any(idx85 < 0, comps.indptr)
    too_many = _row_any(reduced > MAX_COUNT, comps.indptr) & integral
    few = comps.n_elements < min_elements
    bad = outside | ~integral | too_many | few
    rejects = list(parsed.rejects)
    for i in np.flatnonzero(bad):
        rejects.append(Reject(int(parsed.rows[i]), str(parsed.texts[i]), _reason(comps, reduced, i, outside[i],
                                                                            integral[i], few[i], min_elements)))
    rejects.sort(key=lambda r: r.row)
    good = ~bad
    entry_good = np.repeat(good, comps.n_elements)
    counts = np.zeros((len(comps), N_ELEMENTS), dtype=np.int8)
    counts[comps.row_of_entry[entry_good], idx85[entry_good]] = reduced[entry_good]
    counts = counts[good]
    return Encoded(formulas_from_counts(counts), counts, parsed.rows[good], rejects)


def _reason(comps, reduced, i, outside, integral, few, min_elements) -> str:
    a, b = comps.indptr[i], comps.indptr[i + 1]
    syms = [PERIODIC_TABLE[z - 1] for z in comps.z[a:b]]
    if outside:
        out = [s for s, z in zip(syms, comps.z[a:b]) if INDEX_OF_Z[z - 1] < 0]
        return f"element {', '.join(out)} is outside the 85-element set"
    if not integral:
        return "fractional amount"
    big = [(s, int(n)) for s, n in zip(syms, reduced[a:b]) if n > MAX_COUNT]
    if big:
        return "reduced count above 8: " + ", ".join(f"{s}{n}" for s, n in big)
    if few:
        return "single element" if b - a == 1 else f"fewer than {min_elements} elements"
    raise AssertionError("row is valid")


@dataclass
class Decoded:
    """Formulas decoded from generated matrices, and the samples that did not decode."""

    formulas: list[str]
    counts: np.ndarray  # (N, 85) int8 reduced counts
    rows: np.ndarray  # index of each formula among the samples
    rejects: list[Reject] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Decoded({len(self.formulas):,} formulas, {len(self.rejects):,} samples not decoded)"


def decode_counts(matrices: np.ndarray, tol: float = DECODE_TOLERANCE) -> np.ndarray:
    """(N, 85, 8) real values → (N, 85) counts: per element row the best column
    among those ≥ 1 − tol, or 0 where none passes."""
    m = np.asarray(matrices)
    if m.ndim == 4:
        m = m[..., 0]
    m = m.astype(np.float32, copy=False)
    best = np.full(m.shape[:-1], np.nextafter(np.float32(1.0 - tol), np.float32(-np.inf)), np.float32)
    counts = np.zeros(m.shape[:-1], np.int8)
    for j in range(m.shape[-1]):  # a pass per column beats argmax over a length-8 axis
        v = m[..., j]
        better = v > best  # strict: the first of equal maxima wins
        np.copyto(best, v, where=better)
        counts[better] = j + 1
    return counts


def decode(matrices: np.ndarray, tol: float = DECODE_TOLERANCE, min_elements: int = 2,
           max_elements: int = 8) -> Decoded:
    """Generated (N, 85, 8[, 1]) matrices → canonical formulas.

    A sample counts when it has between ``min_elements`` and ``max_elements``
    elements after thresholding (thesis: at least 2; public code: at most 8).
    """
    counts = decode_counts(matrices, tol)
    n = np.count_nonzero(counts, axis=1)
    good = (n >= min_elements) & (n <= max_elements)
    rejects = []
    for i in np.flatnonzero(~good):
        k = int(n[i])
        reason = ("no element above the threshold" if k == 0 else
                  "single element" if k == 1 else
                  f"{k} elements, fewer than {min_elements}" if k < min_elements else
                  f"{k} elements, more than {max_elements}")
        rejects.append(Reject(int(i), "", reason))
    counts = reduce_counts(counts[good])
    return Decoded(formulas_from_counts(counts), counts, np.flatnonzero(good), rejects)


def canonical(text: str) -> str:
    """Canonical formula of one formula string (raises :class:`FormulaError`)."""
    parsed = parse_formulas([text])
    if parsed.rejects:
        raise FormulaError(parsed.rejects[0].reason)
    return formulas_of(parsed.compositions)[0]


def counts_of(formulas: Sequence[str]) -> np.ndarray:
    """(N, 85) counts of formulas that must all be representable (raises otherwise)."""
    enc = encode_formulas(formulas)
    if enc.rejects:
        r = enc.rejects[0]
        raise FormulaError(f"row {r.row} {r.text!r}: {r.reason}")
    return enc.counts
