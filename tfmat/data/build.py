"""Rebuild the embedded datasets in ``data/`` from the open Materials Project and OQMD tables.

``tfmat data build --source shared/data/open`` reads the CSVs listed in
``SOURCES`` (formula,target per row), applies :mod:`tfmat.data.rules` and
writes gzip CSVs plus ``MANIFEST.json`` (row counts at every step).
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_path, write_json
from .registry import PROPERTIES
from .files import read_csv
from .rules import average_polymorphs, drop_outliers, gan_formulas, leave_out_split

SOURCES = {
    "mp_band_gap": ["mp/mp_gap.csv"],
    "mp_formation_energy": ["mp/mp_e_form.csv"],
    "mp_stability": ["mp/mp_e_hull_train.csv", "mp/mp_e_hull_val.csv", "mp/mp_e_hull_test.csv"],
    "oqmd_delta_e": [f"oqmd/formation_enthalpy_{s}.csv" for s in ("train", "val", "test")],
    "oqmd_band_gap": [f"oqmd/bandgap_{s}.csv" for s in ("train", "val", "test")],
    "oqmd_volume_pa": [f"oqmd/volume_per_atom_{s}.csv" for s in ("train", "val", "test")],
}


def _write(frame: pd.DataFrame, path: Path) -> None:
    """Gzip CSV with no name or time in its header, so a rebuild is byte-identical."""
    data = gzip.compress(frame.to_csv(index=False, float_format="%.6g").encode(), mtime=0)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def build(source: str | Path, out: str | Path, progress=print) -> dict:
    """Build every embedded dataset from ``source`` into ``out``; returns the manifest."""
    source, out = Path(source), Path(out)
    manifest: dict = {"source": "crabnet 2.0.8 data (Materials Project, OQMD; CC-BY 4.0)", "files": {}}
    tables = {}
    for stem, files in SOURCES.items():
        paths = [source / f for f in files]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"missing source file(s): {', '.join(missing)}")
        raw = pd.concat([read_csv(p) for p in paths], ignore_index=True)
        frame, rejects = average_polymorphs(raw.formula.tolist(), raw.target.to_numpy())
        info = {"source_rows": len(raw), "unparseable": [f"{r.text}: {r.reason}" for r in rejects],
                "compositions": len(frame)}
        if stem == "oqmd_delta_e":
            frame = drop_outliers(frame).reset_index(drop=True)
            info["after_5_sigma_rule"] = len(frame)
        tables[stem] = frame
        _write(frame, out / f"{stem}.csv.gz")
        manifest["files"][f"{stem}.csv.gz"] = info
        progress(f"{stem}: {info}")

    gan_sources = {
        # MP: every composition of the MP tables (the band-gap table's are a subset).
        "MP": (pd.concat([tables["mp_formation_energy"], tables["mp_band_gap"]]).formula, None),
        # OQMD: lowest formation energy per composition, outliers removed (one row per composition here).
        "OQMD": (tables["oqmd_delta_e"].formula, tables["oqmd_delta_e"].target),
        # Bandgap: MP compositions whose (polymorph-averaged) band gap is above 0.
        "Bandgap": (tables["mp_band_gap"].formula[tables["mp_band_gap"].target > 0],
                    tables["mp_band_gap"].target[tables["mp_band_gap"].target > 0]),
    }
    for name, (formulas, labels) in gan_sources.items():
        frame = gan_formulas(formulas.tolist(), None if labels is None else labels.to_numpy())
        frame.insert(1, "split", leave_out_split(frame.formula.to_numpy()))
        _write(frame, out / f"gan_{name}.csv.gz")
        info = {"formulas": len(frame), "train": int((frame.split == "train").sum()),
                "leave_out": int((frame.split == "leave_out").sum())}
        manifest["files"][f"gan_{name}.csv.gz"] = info
        progress(f"gan_{name}: {info}")
    write_json(out / "MANIFEST.json", manifest)
    return manifest


assert set(SOURCES) == {stem for stem, _, _ in PROPERTIES.values()}
