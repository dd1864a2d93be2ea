"""tfmat.chemistry against SMACT: agreement and speed per formula, and a 2,000,000-formula run.

    python benchmarks/chemistry_speed.py [--repeats 3] [-o benchmarks/chemistry_speed.json]

Reads real formulas from ../shared/data (open MP and OQMD, the thesis's lists).
Speed: ``--repeats`` interleaved repeats of the four timed calls (SMACT's
``smact_validity`` per formula for EN and for CN; tfmat from strings and from
(N, 85) counts), the order rotating by one each repeat; every repeat's wall
and CPU seconds are recorded, and the speed-ups are ratios of the median CPU
seconds, with their range over repeats. The 2,000,000-formula runs are timed
``--repeats`` times as well (median, minimum, maximum).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TFMAT_SHARED", ROOT.parent / "shared")) / "data"
sys.path.insert(0, str(ROOT))

from tfmat import chemistry as ch  # noqa: E402
from tfmat.composition import encode_formulas  # noqa: E402
from tfmat.evaluation.enumeration import sample_counts  # noqa: E402
from tfmat.io import write_json  # noqa: E402

SOURCES = [("open/mp/mp_e_form.csv", "formula"), ("open/mp/mp_gap.csv", "formula"),
           ("open/oqmd/formation_enthalpy_train.csv", "formula"), ("open/oqmd/formation_enthalpy_test.csv", "formula"),
           ("reference/thesis/OQMD/train_formula.csv", "formulas"),
           ("reference/thesis/ICSD/train_formula.csv", "formulas"),
           ("reference/thesis/MP/bandgap_formula.csv", "formulas")]


def real_formulas() -> list[str]:
    seen: dict[str, None] = {}
    for path, column in SOURCES:
        for f in pd.read_csv(SHARED / path)[column].astype(str):
            seen.setdefault(f, None)
    return list(seen)


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--oracle", type=int, default=40000, help="formulas checked by both SMACT and tfmat")
    ap.add_argument("--large", type=int, default=2_000_000, help="formulas in the large run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats of every call (at least 3)")
    ap.add_argument("-o", "--output", default=str(Path(__file__).with_suffix(".json")))
    args = ap.parse_args()
    if args.repeats < 3:
        ap.error("--repeats must be at least 3")
    from smact.screening import smact_validity

    rng = np.random.default_rng(args.seed)
    pool = real_formulas()
    texts = [pool[i] for i in rng.choice(len(pool), size=args.oracle, replace=False)]
    result = {"command": " ".join(["python"] + sys.argv), "machine": platform.processor() or platform.machine(),
              "cpu_count": os.cpu_count(), "real_pool": len(pool), "oracle": {}, "large": {}}
    enc = encode_formulas(texts)
    fit = [texts[i] for i in enc.rows]  # the formulas the 85x8 counts can hold, for the speed comparison
    result["speed_formulas"] = len(fit)
    for name, rules, kw in [("smact_default", ch.SMACT_DEFAULT, {}),
                            ("thesis", ch.THESIS, dict(oxidation_states_set="smact14", include_alloys=False))]:
        ch._table.cache_clear()
        _, build, _ = timed(lambda: ch._table(rules))
        ours, _, _ = timed(lambda: ch.check_formulas(texts, rules))
        ref_en = np.array([smact_validity(t, **kw) for t in ours.texts])
        ref_cn = np.array([smact_validity(t, use_pauling_test=False, **kw) for t in ours.texts])
        agree = (ref_cn == ours.cn) & (ref_en == ours.en)
        # Speed, best of three, on the representable formulas: SMACT per formula (EN, and EN + CN
        # as two calls) against tfmat from strings (parsing included) and from (N, 85) counts.
        runs = {"smact_en": lambda: [smact_validity(t, **kw) for t in fit],
                "smact_cn": lambda: [smact_validity(t, use_pauling_test=False, **kw) for t in fit],
                "tfmat_strings": lambda: ch.check_formulas(fit, rules),
                "tfmat_counts": lambda: ch.check(enc.counts, rules)}
        labels = list(runs)
        times = {label: [] for label in labels}
        for r in range(args.repeats):
            for label in labels[r % len(labels):] + labels[:r % len(labels)]:
                times[label].append(timed(runs[label])[1:])
        cpu_runs = {k: np.array([t[1] for t in v]) for k, v in times.items()}
        cpu = {k: float(np.median(v)) for k, v in cpu_runs.items()}

        def speedup(reference, ours):
            per = reference / cpu_runs[ours]
            return {"ratio_of_medians": float(np.median(reference)) / cpu[ours],
                    "per_repeat_min": float(per.min()), "per_repeat_max": float(per.max())}

        result["oracle"][name] = {
            "formulas": len(ours.texts), "rejects": len(ours.rejects), "agree": int(agree.sum()),
            "cn_share": float(ours.cn.mean()), "en_share": float(ours.en.mean()), "table_build_s": build,
            "timings": {k: {"wall_s": [t[0] for t in v], "cpu_s": [t[1] for t in v],
                            "cpu_s_median": cpu[k], "cpu_s_min": float(cpu_runs[k].min()),
                            "cpu_s_max": float(cpu_runs[k].max())} for k, v in times.items()},
            "smact_cpu_us_per_formula": 1e6 * cpu["smact_en"] / len(fit),
            "tfmat_strings_cpu_us_per_formula": 1e6 * cpu["tfmat_strings"] / len(fit),
            "tfmat_counts_cpu_us_per_formula": 1e6 * cpu["tfmat_counts"] / len(fit),
            "cpu_speedup_counts_vs_smact_en": speedup(cpu_runs["smact_en"], "tfmat_counts"),
            "cpu_speedup_counts_vs_smact_cn_and_en": speedup(cpu_runs["smact_en"] + cpu_runs["smact_cn"],
                                                             "tfmat_counts"),
            "cpu_speedup_strings_vs_smact_en": speedup(cpu_runs["smact_en"], "tfmat_strings"),
            "cpu_speedup_strings_vs_smact_cn_and_en": speedup(cpu_runs["smact_en"] + cpu_runs["smact_cn"],
                                                              "tfmat_strings"),
            "disagreements": [ours.texts[i] for i in np.flatnonzero(~agree)[:20]]}
        print(name, result["oracle"][name], flush=True)

    # 2,000,000 formulas: uniform draws from the 85x8 space (almost all distinct, the worst case)
    # and draws with replacement from the real formulas that fit the representation.
    enc = encode_formulas(pool)
    real = enc.counts[rng.integers(0, len(enc.counts), size=args.large)]
    uniform = sample_counts(args.large, arities=(2, 3, 4, 5), seed=args.seed)
    for label, counts in [("uniform_85x8", uniform), ("real_with_repeats", real)]:
        distinct = len(np.unique(counts, axis=0))
        for name, rules in [("smact_default", ch.SMACT_DEFAULT), ("thesis", ch.THESIS)]:
            ch._table(rules)
            runs = [timed(lambda: ch.check(counts, rules)) for _ in range(args.repeats)]
            v = runs[0][0]
            wall, cpu = [t[1] for t in runs], [t[2] for t in runs]
            result["large"][f"{label}/{name}"] = {"formulas": len(counts), "distinct": distinct, "wall_s": wall,
                                                  "cpu_s": cpu, "cpu_s_median": float(np.median(cpu)),
                                                  "cpu_s_min": min(cpu), "cpu_s_max": max(cpu), **v.shares()}
            print(label, name, result["large"][f"{label}/{name}"], flush=True)
    write_json(args.output, result)


if __name__ == "__main__":
    main()
