"""Magpie 22×6 featurizer: agreement with matminer and speed on 100,000 real formulas.

    python benchmarks/features_speed.py --n 100000 --oracle 10000 --out benchmarks/features_speed.json

Formulas: 100,000 distinct OQMD compositions (embedded ``delta_e`` table, fixed
seed). tfmat featurizes all of them (parsing included). matminer
(``ElementProperty.from_preset("magpie")`` on ``pymatgen.Composition``) runs on
the first ``--oracle`` of them; its time for 100,000 is extrapolated linearly
from that subsample (its cost is per formula). The same subsample gives the
maximum relative difference between the two.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np

from tfmat.data import load_property_dataset
from tfmat.features import featurize_formulas, feature_labels, magpie_features
from tfmat.composition import parse_formulas
from tfmat.io import write_json


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--oracle", type=int, default=10_000)
    ap.add_argument("--out", default="benchmarks/features_speed.json")
    args = ap.parse_args()
    formulas = load_property_dataset("OQMD", "delta_e")["formula"].sample(args.n, random_state=0).tolist()

    featurize_formulas(formulas[:100])  # warm the element table
    t = time.perf_counter(); x, rows, rejects = featurize_formulas(formulas); t_total = time.perf_counter() - t
    parsed = parse_formulas(formulas)
    t = time.perf_counter(); magpie_features(parsed.compositions); t_features = time.perf_counter() - t

    from matminer.featurizers.composition import ElementProperty
    from pymatgen.core import Composition

    ep = ElementProperty.from_preset("magpie")
    sub = formulas[:args.oracle]
    t = time.perf_counter(); ref = np.array([ep.featurize(Composition(f)) for f in sub]); t_ref = time.perf_counter() - t
    ours = x[:args.oracle].reshape(len(sub), -1)
    nz = ref != 0
    rel = float((np.abs(ours - ref)[nz] / np.abs(ref[nz])).max())
    t_ref_full = t_ref * args.n / len(sub)
    result = {
        "command": " ".join(["python"] + sys.argv),
        "formulas": args.n, "rejects": len(rejects), "features": len(feature_labels()),
        "tfmat_seconds_parse_and_features": round(t_total, 4),
        "tfmat_seconds_features_only": round(t_features, 4),
        "matminer_formulas_timed": len(sub), "matminer_seconds_timed": round(t_ref, 3),
        "matminer_seconds_extrapolated": round(t_ref_full, 2),
        "speedup_end_to_end": round(t_ref_full / t_total, 1),
        "speedup_features_only": round(t_ref_full / t_features, 1),
        "oracle_formulas": len(sub), "oracle_max_relative_difference": rel,
        "oracle_max_abs_where_matminer_zero": float(np.abs(ours[~nz]).max()) if (~nz).any() else 0.0,
        "bar": "speedup >= 50 on 100,000 formulas; max relative difference <= 1e-6",
        "meets_bar": bool(t_ref_full / t_total >= 50 and rel <= 1e-6),
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine(),
                    "note": "2 shared CPU cores; other jobs were running"},
    }
    write_json(args.out, result)
    print(result)


if __name__ == "__main__":
    main()
