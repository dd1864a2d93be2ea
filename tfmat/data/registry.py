"""The thesis datasets and the property datasets, by name.

Embedded data (built from Materials Project and OQMD by :mod:`tfmat.data.build`)
lives in the repository's ``data/`` directory, or ``$TFMAT_DATA``. ICSD is
licensed and never embedded: its loaders read the user's file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..composition import encode, encode_formulas, Reject
from ..paths import DATA
from .errors import DataError
from .files import read_csv, read_formula_table, refuse_bad_rows
from .rules import average_polymorphs, gan_formulas, leave_out_split

GAN_DATASETS = ("OQMD", "MP", "ICSD", "ICSD_Filter", "Bandgap")
EMBEDDED_GAN = ("OQMD", "MP", "Bandgap")

# (source, attribute) -> (embedded file stem, unit, description)
PROPERTIES = {
    ("MP", "band_gap"): ("mp_band_gap", "eV", "MP PBE band gap"),
    ("MP", "formation_energy"): ("mp_formation_energy", "eV/atom", "MP formation energy"),
    ("MP", "stability"): ("mp_stability", "eV/atom", "MP energy above the convex hull"),
    ("OQMD", "delta_e"): ("oqmd_delta_e", "eV/atom", "OQMD formation enthalpy"),
    ("OQMD", "band_gap"): ("oqmd_band_gap", "eV", "OQMD band gap"),
    ("OQMD", "volume_pa"): ("oqmd_volume_pa", "Å³/atom", "OQMD volume per atom"),
}
ATTRIBUTE_ALIASES = {"e_hull": "stability", "formation_enthalpy": "delta_e", "e_form": "formation_energy",
                     "bandgap": "band_gap", "eg": "band_gap", "volume_per_atom": "volume_pa"}

ICSD_GUIDANCE = ("ICSD is a licensed database and is not shipped with tfmat: pass your own formula list with "
                 "--data PATH (a CSV with a header and one formula per line), or place it at "
                 "DATA_DIR/train_data/ICSD/train_formula.csv and pass --data DATA_DIR")


def data_dir() -> Path:
    """Where the embedded datasets live."""
    return DATA


def embedded_file(stem: str) -> Path:
    path = data_dir() / f"{stem}.csv.gz"
    if not path.is_file():
        raise DataError(f"embedded dataset {path} is missing; rebuild it with "
                        "`tfmat data build --source PATH/TO/shared/data/open` or set TFMAT_DATA")
    return path


@dataclass
class FormulaSet:
    """A GAN dataset: distinct canonical formulas, their counts and leave-out split."""

    name: str
    formulas: list[str]
    counts: np.ndarray  # (N, 85) int8
    split: np.ndarray  # "train" / "leave_out"
    labels: np.ndarray | None = None
    rejects: list[Reject] | None = None  # rows of a user file that were left out

    def __len__(self) -> int:
        return len(self.formulas)

    def __repr__(self) -> str:
        train = int((self.split == "train").sum())
        return (f"FormulaSet({self.name!r}, {len(self):,} formulas: {train:,} train, {len(self) - train:,} leave-out"
                + (", labelled" if self.labels is not None else "") + ")")

    def subset(self, mask: np.ndarray) -> "FormulaSet":
        idx = np.flatnonzero(mask)
        return FormulaSet(self.name, [self.formulas[i] for i in idx], self.counts[idx], self.split[idx],
                          None if self.labels is None else self.labels[idx], self.rejects)

    def train(self) -> "FormulaSet":
        return self.subset(self.split == "train")

    def leave_out(self) -> "FormulaSet":
        return self.subset(self.split == "leave_out")

    def onehot(self) -> np.ndarray:
        """(N, 85, 8) float32 one-hot matrices."""
        return encode(self.counts)


def _formula_set(name: str, frame: pd.DataFrame, rejects=None) -> FormulaSet:
    enc = encode_formulas(frame.formula.tolist(), min_elements=2)
    if len(enc.formulas) != len(frame):
        raise DataError(f"{name}: {len(frame) - len(enc.formulas)} stored formulas are not representable")
    split = frame["split"].to_numpy(dtype=object) if "split" in frame else leave_out_split(enc.formulas)
    labels = frame["label"].to_numpy(dtype=np.float64) if "label" in frame else None
    return FormulaSet(name, enc.formulas, enc.counts, split, labels, rejects)


def user_formula_file(name: str, data: str | Path) -> Path:
    """The file to read for dataset ``name`` from a user path (a file, or a data directory
    in the thesis layout ``train_data/<name>/train_formula.csv``)."""
    path = Path(data)
    if path.is_dir():
        for candidate in (path / "train_data" / name / "train_formula.csv", path / name / "train_formula.csv"):
            if candidate.is_file():
                return candidate
        raise DataError(f"{path} holds no train_data/{name}/train_formula.csv")
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    return path


def load_gan_dataset(name: str, data: str | Path | None = None, drop_bad_rows: bool = False) -> FormulaSet:
    """A thesis GAN dataset by name (OQMD, MP, ICSD, ICSD_Filter, Bandgap).

    ``data`` replaces the embedded data with the user's formula file (or a
    data directory in the thesis layout); ICSD and ICSD_Filter need it. A row
    of it that the 85×8 matrix cannot hold stops the load (:class:`DataError`
    with its line) unless ``drop_bad_rows``; the rows left out are in ``rejects``.
    """
    canon = {n.lower(): n for n in GAN_DATASETS}.get(str(name).lower())
    if canon is None:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(GAN_DATASETS)}")
    if data is None:
        if canon in ("ICSD", "ICSD_Filter"):
            raise DataError(ICSD_GUIDANCE)
        return _formula_set(canon, read_csv(embedded_file(f"gan_{canon}")))
    source = "ICSD" if canon == "ICSD_Filter" else canon
    table = read_formula_table(user_formula_file(source, data))
    enc = encode_formulas(table.formula.tolist(), min_elements=2)
    lines = table.line.to_numpy()
    rejects = [Reject(int(lines[r.row]), r.text, r.reason) for r in enc.rejects]  # row = line in the file
    refuse_bad_rows(data, rejects, drop_bad_rows)
    frame = gan_formulas(enc.formulas)
    if not len(frame):
        first = f" (line {rejects[0].row}: {rejects[0].text!r}: {rejects[0].reason})" if rejects else ""
        raise DataError(f"{data}: no representable formula{first}")
    if canon == "ICSD_Filter":
        from ..chemistry import valid_mask
        frame = frame[valid_mask(frame.formula.tolist())].reset_index(drop=True)
    return _formula_set(canon, frame, rejects)


def normalise_attribute(attribute: str) -> str:
    a = attribute.strip().lower().replace("-", "_")
    return ATTRIBUTE_ALIASES.get(a, a)


# the physical range a label of each property must lie in (inclusive), for user files; wide enough for
# published data (OQMD's test split has formation enthalpies up to about 14 eV/atom)
LABEL_RANGES = {"band_gap": (0.0, 20.0), "formation_energy": (-20.0, 20.0), "delta_e": (-20.0, 20.0),
                "stability": (0.0, 20.0), "volume_pa": (0.0, 1000.0)}


def label_rejects(values: pd.Series, lines: np.ndarray, attribute: str,
                  label_range: tuple[float, float] | None = None) -> list[Reject]:
    """The labels that are not numbers, not finite or outside the property's range, as rejects
    carrying the file's line number (the header is line 1) and the value as written."""
    lo, hi = label_range if label_range is not None else LABEL_RANGES.get(attribute, (-np.inf, np.inf))
    text = values.astype(str).str.strip()
    number = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
    rejects = []
    for i in np.flatnonzero(~(number >= lo) | ~(number <= hi)):  # NaN fails both
        t = text.iloc[i]
        reason = ("no label" if t == "" else
                  "label is not a number" if np.isnan(number[i]) and t.lower() != "nan" else
                  "label is not finite" if not np.isfinite(number[i]) else
                  f"label outside the {attribute} range [{lo:g}, {hi:g}] (--label-range widens it)")
        rejects.append(Reject(int(lines[i]), t, reason))
    return rejects


def load_property_dataset(source: str, attribute: str, data: str | Path | None = None,
                          label_range: tuple[float, float] | None = None,
                          drop_bad_rows: bool = False) -> pd.DataFrame:
    """Composition → property table: ``formula`` (canonical), ``target``, ``n_entries``.

    Compositions are distinct; polymorph values are averaged. ``data`` reads a
    user CSV (needed for ICSD) with a formula column and a column named as the
    attribute, one of its aliases (``Eg``, ``bandgap`` for the band gap, …) or ``target``.
    A row of a user file whose formula does not parse, or whose label is not a
    finite number in :data:`LABEL_RANGES` (or ``label_range``), stops the load
    with its line number, unless ``drop_bad_rows``: then the rows are left
    out and listed, with their line and reason, in ``frame.attrs["rejects"]``.
    """
    source = source.upper()
    attribute = normalise_attribute(attribute)
    if data is None:
        if source == "ICSD":
            raise DataError("ICSD property data is licensed and not shipped: pass --data PATH to a CSV with a "
                            f"formula (or pretty_formula) column and a {attribute} column")
        if (source, attribute) not in PROPERTIES:
            known = ", ".join(f"{s} {a}" for s, a in PROPERTIES)
            raise DataError(f"no embedded {source} {attribute} data; embedded: {known}")
        return read_csv(embedded_file(PROPERTIES[(source, attribute)][0]))
    table = read_formula_table(data)
    column = next((c for c in table.columns if c != "line" and normalise_attribute(c) in (attribute, "target")),
                  None)
    if column is None:
        columns = ", ".join(c for c in table.columns if c != "line")
        raise DataError(f"{data} has no {attribute!r} or 'target' column (columns: {columns})")
    lines = table.line.to_numpy()
    bad = label_rejects(table[column], lines, attribute, label_range)
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(np.float64)
    values[np.isin(lines, [r.row for r in bad])] = np.nan  # averaging leaves non-finite labels out
    frame, parse_rejects = average_polymorphs(table.formula.tolist(), values)
    bad = sorted(bad + [Reject(int(lines[r.row]), r.text, r.reason) for r in parse_rejects], key=lambda r: r.row)
    refuse_bad_rows(data, bad, drop_bad_rows)
    if not len(frame):
        raise DataError(f"{data}: no row has both a readable formula and a valid {column}")
    frame.attrs["rejects"] = bad
    return frame
