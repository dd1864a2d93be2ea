"""Readers for user-supplied formula files (the thesis layouts included).

A formula file is a CSV with a header; its formula column is the first of
``formula``, ``formulas``, ``pretty_formula``, ``reduced_cell_formula``,
``composition`` present (else the first column). Cells may be plain formula
strings or the thesis's dict literals (``{'K': 2.0, 'F': 6.0, 'U': 1.0}``).
"""
from __future__ import annotations

import ast
import csv
from pathlib import Path

import pandas as pd

from ..composition import formula_from_mapping
from .errors import DataError

FORMULA_COLUMNS = ("formula", "formulas", "pretty_formula", "reduced_cell_formula", "composition")


def read_csv(path: str | Path) -> pd.DataFrame:
    """A CSV whose ``formula`` column is kept as text ("NaN" is sodium nitride,
    not a missing value); other columns named in ``NUMERIC`` become numbers."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in frame.columns:
        if col in NUMERIC:
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame


NUMERIC = ("target", "label", "n_entries")


def read_formula_table(path: str | Path) -> pd.DataFrame:
    """The file as a frame whose ``formula`` column holds formula text and
    ``line`` the 1-based line number of each row in the file (the header is line 1).

    The formula column is the one named as in :data:`FORMULA_COLUMNS`, or the
    only column of a one-column file; an empty or header-only file is an error.

    Unparseable cells are kept as they are, so the codec can report them
    with their row; a file that cannot be read at all raises :class:`DataError`.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    try:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"cannot read {path}: {err}") from None
    if len(rows) < 2:
        raise DataError(f"{path} has no data rows (a header line, then one formula per line)")
    header = [h.strip() for h in rows[0]]
    lower = [h.lower() for h in header]
    col = next((lower.index(c) for c in FORMULA_COLUMNS if c in lower), 0 if len(header) == 1 else None)
    if col is None:
        raise DataError(f"{path} has no formula column: name one {' or '.join(repr(c) for c in FORMULA_COLUMNS[:2])} "
                        f"(columns: {', '.join(header)})")
    body, lines = [], []
    for number, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        line = ",".join(row).strip()
        if line.startswith("{") or line.startswith('"{'):
            body.append({header[col]: _dict_literal(line)})
        else:
            body.append({h: (row[i] if i < len(row) else "") for i, h in enumerate(header)})
        lines.append(number)
    frame = pd.DataFrame(body, columns=header)
    frame.columns = ["formula" if i == col else h for i, h in enumerate(header)]
    frame["line"] = lines
    return frame


def _dict_literal(line: str) -> str:
    text = line.strip().strip('"')
    try:
        mapping = ast.literal_eval(text)
        if isinstance(mapping, dict):
            return formula_from_mapping(mapping)
    except (ValueError, SyntaxError):
        pass
    return text


def refuse_bad_rows(path, rejects: list, drop_bad_rows: bool) -> None:
    """The one policy for bad rows of a training or reference file: unless ``drop_bad_rows``, the first
    bad row (its line and text, the reason) and how many there are stop the command (:class:`DataError`)."""
    if rejects and not drop_bad_rows:
        first = rejects[0]
        raise DataError(f"{path}: line {first.row}: {first.text!r}: {first.reason}"
                        + (f" ({len(rejects)} bad rows in all)" if len(rejects) > 1 else "")
                        + "; fix the file, or pass --drop-bad-rows to leave such rows out")


def rejects_frame(rejects: list) -> pd.DataFrame:
    """A rejects file's table: ``line`` (as an editor shows it, the header being line 1), ``text``, ``reason``."""
    return pd.DataFrame({"line": [r.row for r in rejects], "text": [r.text for r in rejects],
                         "reason": [r.reason for r in rejects]}, columns=["line", "text", "reason"])
