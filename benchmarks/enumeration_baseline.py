"""The enumeration baseline under the 85x8 representation, and GAN efficiency ratios.

    python benchmarks/enumeration_baseline.py [--samples 1000000] [--generated DB=FILE ...]

Binaries are enumerated exhaustively (228,480 matrices), ternaries and
quaternaries drawn uniformly; the pooled share weights each arity by the size
of its space. ``--generated`` adds the CN+EN share of a generated-formula CSV
and its efficiency ratio over the baseline.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tfmat import chemistry as ch  # noqa: E402
from tfmat.composition import encode_formulas  # noqa: E402
from tfmat.evaluation.enumeration import baseline, efficiency  # noqa: E402
from tfmat.evaluation.report import read_generated  # noqa: E402
from tfmat.io import write_json  # noqa: E402

THESIS = {"enumeration_cn_en": 0.0078, "gan_cn_en": 0.6224, "efficiency": 77}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1_000_000, help="uniform draws per sampled arity")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--generated", action="append", default=[], metavar="NAME=FILE")
    ap.add_argument("-o", "--output", default=str(Path(__file__).with_suffix(".json")))
    args = ap.parse_args()
    result = {"command": " ".join(["python"] + sys.argv), "thesis": THESIS, "baselines": {}, "generated": {}}
    for rules_name in ("thesis", "smact"):
        rules = ch.rules_named(rules_name)
        for reduced in (False, True):
            t = time.perf_counter()
            b = baseline(rules, arities=(2, 3, 4), samples=args.samples, seed=args.seed, reduced=reduced)
            b["seconds"] = time.perf_counter() - t
            key = f"{rules_name}/{'reduced' if reduced else 'all_matrices'}"
            result["baselines"][key] = b
            print(key, {k: v for k, v in b.items() if k != "by_arity"}, flush=True)
    base = result["baselines"]["thesis/all_matrices"]["pooled"]["en"]
    result["thesis_gan_efficiency_over_our_baseline"] = efficiency(THESIS["gan_cn_en"], base)
    for spec in args.generated:
        name, _, path = spec.partition("=")
        enc = encode_formulas(read_generated(path))
        share = float(ch.check(enc.counts, ch.THESIS).en.mean())
        result["generated"][name] = {"file": path, "formulas": len(enc.formulas), "cn_en": share,
                                     "efficiency": efficiency(share, base)}
        print(name, result["generated"][name], flush=True)
    write_json(args.output, result)


if __name__ == "__main__":
    main()
