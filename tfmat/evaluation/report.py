"""One call that evaluates a generated formula set against its training data, and writes the results."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..chemistry import THESIS, Rules
from ..composition import Reject, encode_formulas
from ..io import write_csv, write_json
from . import metrics
from .enumeration import efficiency

UNIQUENESS_AT = (1_000, 10_000, 100_000, 340_000, 1_000_000, 2_000_000)


@dataclass
class Evaluation:
    """What :func:`evaluate` measured: ``summary`` (JSON-ready), the full uniqueness curve, rejects."""

    summary: dict
    uniqueness: np.ndarray
    rejects: list[Reject] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Evaluation({self.summary.get('dataset')!r}, {len(self.uniqueness):,} formulas evaluated)"


def read_generated(path: str | Path, with_lines: bool = False):
    """The formula column of a generated-formula CSV (see :func:`tfmat.data.files.read_formula_table`),
    in file order; with ``with_lines`` also each row's file line."""
    from ..data.files import read_formula_table

    table = read_formula_table(path)
    formulas = table.formula.tolist()
    return (formulas, table.line.tolist()) if with_lines else formulas


def evaluate(generated: Sequence[str], dataset, others: Mapping[str, Sequence[str]] | None = None,
             rules: Rules = THESIS, baseline_share: float | None = None) -> Evaluation:
    """Validity, uniqueness, novelty/recovery (overall and by arity), cross-database hits and distributions.

    ``dataset`` is a :class:`tfmat.data.FormulaSet` with its train/leave-out split;
    ``others`` maps database names to their formulas; ``baseline_share`` is
    the enumeration baseline's CN+EN share, for the efficiency ratio.
    """
    enc = encode_formulas(generated, min_elements=1)
    train, leave = dataset.train(), dataset.leave_out()
    curve = metrics.uniqueness_curve(enc.formulas)
    gen_validity = metrics.validity(enc.counts, rules)
    summary = {
        "dataset": dataset.name,
        "rules": {"oxidation_states": rules.oxidation_states if not isinstance(rules.oxidation_states, tuple)
                  else "custom", "include_alloys": rules.include_alloys},
        "generated": {"rows": len(generated), "formulas": len(enc.formulas), "rejected": len(enc.rejects)},
        "validity": {"train": metrics.validity(train.counts, rules), "leave_out": metrics.validity(leave.counts, rules),
                     "generated": gen_validity},
        "uniqueness": {"at": {str(n): float(curve[n - 1]) for n in UNIQUENESS_AT if n <= len(curve)},
                       "final": float(curve[-1]) if len(curve) else None},
        "novelty": metrics.novelty(enc.formulas, metrics.arity_of(enc.counts), train.formulas,
                                   metrics.arity_of(train.counts), leave.formulas, metrics.arity_of(leave.counts)),
        "distributions": metrics.distributions(enc.counts, train.counts),
    }
    novel = metrics.novel_formulas(enc.formulas, list(dataset.formulas))
    summary["cross_database"] = metrics.cross_database(novel, dict(others or {}))
    if baseline_share:
        summary["efficiency_vs_enumeration"] = {"baseline_en": baseline_share,
                                                "ratio": efficiency(gen_validity["both"], baseline_share)}
    return Evaluation(summary, curve, enc.rejects)


def write(evaluation: Evaluation, out_dir: str | Path, groups: Mapping[str, np.ndarray] | None = None,
          tsne_per_group: int = 1000, seed: int = 0, lines: Sequence[int] | None = None) -> list[Path]:
    """Write ``evaluation.json``, the rejects, and the plots (a t-SNE map when ``groups`` are given).

    A reject is named by ``lines[row]``, the file line of generated row ``row`` (default: ``row + 2``,
    a formula file with its header on line 1 and one formula per line)."""
    from . import plots

    out = Path(out_dir)
    written = [write_json(out / "evaluation.json", evaluation.summary)]
    if evaluation.rejects:
        from ..data.files import rejects_frame
        from ..composition import Reject

        line = (lambda row: int(lines[row])) if lines is not None else (lambda row: row + 2)  # noqa: E731
        written.append(write_csv(out / "rejects.csv", rejects_frame(
            [Reject(line(r.row), r.text, r.reason) for r in evaluation.rejects])))
    points = metrics.curve_points(evaluation.uniqueness)
    written.append(write_csv(out / "uniqueness.csv", pd.DataFrame(points, columns=["n", "distinct_share"])))
    written.append(plots.uniqueness(evaluation.uniqueness, out / "uniqueness.png"))
    written.append(plots.validity_bars(evaluation.summary["validity"], out / "validity.png"))
    written.append(plots.distributions(evaluation.summary["distributions"], out / "distributions.png"))
    if groups and tsne_per_group > 0:
        from .maps import tsne_map
        frame = tsne_map(groups, tsne_per_group, seed)
        written.append(write_csv(out / "tsne.csv", frame))
        written.append(plots.tsne(frame, out / "tsne.png"))
    return written
