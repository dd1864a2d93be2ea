"""Magpie 22×6 featurizer against matminer: agreement and measured speed on the same real formulas.

    python benchmarks/features_speed.py --n 10000 --repeats 5 --out benchmarks/features_speed.json

Each repeat draws ``--n`` distinct OQMD compositions (embedded ``delta_e``
table, seed = repeat number) and featurizes the same formulas with both
tools, interleaved: tfmat (``featurize_formulas``, strings to features,
parsing included; and ``magpie_features`` on parsed compositions) and matminer
(``ElementProperty.from_preset("magpie")``: ``pymatgen.Composition`` parsing,
then ``featurize``). Which tool goes first alternates between repeats. The
speed-ups are ratios of the medians over repeats; every repeat is recorded.
Every formula of every repeat also feeds the exactness oracle: the maximum
relative difference between the two feature vectors.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

from tfmat.composition import parse_formulas
from tfmat.data import load_property_dataset
from tfmat.features import feature_labels, featurize_formulas, magpie_features
from tfmat.io import write_json


def summary(values: list[float]) -> dict:
    return {"median": round(float(np.median(values)), 5), "min": min(values), "max": max(values)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="formulas per repeat (both tools, the same formulas)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="benchmarks/features_speed.json")
    args = ap.parse_args()
    pool = load_property_dataset("OQMD", "delta_e")["formula"]

    from matminer.featurizers.composition import ElementProperty
    from pymatgen.core import Composition

    ep = ElementProperty.from_preset("magpie")
    warm = pool.iloc[:100].tolist()  # element tables of both tools loaded before timing
    featurize_formulas(warm)
    [ep.featurize(Composition(f)) for f in warm]

    repeats, max_rel, max_abs_zero, rejects = [], 0.0, 0.0, 0
    for r in range(args.repeats):
        formulas = pool.sample(args.n, random_state=r).tolist()
        row = {"repeat": r, "first": "tfmat" if r % 2 == 0 else "matminer"}

        def run_tfmat():
            t = time.perf_counter(); x, _, rej = featurize_formulas(formulas); row["tfmat_s"] = time.perf_counter() - t
            parsed = parse_formulas(formulas)
            t = time.perf_counter(); magpie_features(parsed.compositions)
            row["tfmat_features_only_s"] = time.perf_counter() - t
            return x, rej

        def run_matminer():
            t = time.perf_counter(); comps = [Composition(f) for f in formulas]
            row["matminer_parse_s"] = time.perf_counter() - t
            t = time.perf_counter(); ref = np.array([ep.featurize(c) for c in comps])
            row["matminer_features_only_s"] = time.perf_counter() - t
            row["matminer_s"] = row["matminer_parse_s"] + row["matminer_features_only_s"]
            return ref

        if r % 2 == 0:
            (x, rej), ref = run_tfmat(), run_matminer()
        else:
            ref = run_matminer(); x, rej = run_tfmat()
        rejects += len(rej)
        ours = x.reshape(len(formulas), -1)
        nz = ref != 0
        max_rel = max(max_rel, float((np.abs(ours - ref)[nz] / np.abs(ref[nz])).max()))
        max_abs_zero = max(max_abs_zero, float(np.abs(ours[~nz]).max()) if (~nz).any() else 0.0)
        row["speedup"] = row["matminer_s"] / row["tfmat_s"]
        row = {k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()}
        print(row, flush=True)
        repeats.append(row)

    med = {k: float(np.median([row[k] for row in repeats]))
           for k in ("tfmat_s", "tfmat_features_only_s", "matminer_s", "matminer_features_only_s")}
    speedups = [round(row["speedup"], 1) for row in repeats]
    result = {
        "command": " ".join(["python"] + sys.argv),
        "formulas_per_repeat": args.n, "repeats": args.repeats, "rejects": rejects, "features": len(feature_labels()),
        "seconds": {k: summary([row[k] for row in repeats])
                    for k in ("tfmat_s", "tfmat_features_only_s", "matminer_s", "matminer_features_only_s")},
        "speedup_strings_to_features": {"ratio_of_medians": round(med["matminer_s"] / med["tfmat_s"], 1),
                                        "per_repeat_min": min(speedups), "per_repeat_max": max(speedups)},
        "speedup_parsed_to_features": round(med["matminer_features_only_s"] / med["tfmat_features_only_s"], 1),
        "oracle_formulas": args.n * args.repeats, "oracle_max_relative_difference": max_rel,
        "oracle_max_abs_where_matminer_zero": max_abs_zero,
        "runs": repeats,
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "note": "2 CPU cores shared with other jobs"},
    }
    write_json(args.out, result)
    print({k: v for k, v in result.items() if k != "runs"})


if __name__ == "__main__":
    main()
