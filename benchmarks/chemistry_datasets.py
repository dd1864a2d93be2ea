"""% CN and % CN+EN of every GAN training set, under the thesis's rules and SMACT 4's defaults.

    python benchmarks/chemistry_datasets.py [-o benchmarks/chemistry_datasets.json]

MP, OQMD and Bandgap are the embedded sets; ICSD and ICSD_Filter, and the
thesis's own OQMD and Bandgap lists, are read from ../shared/data/reference/thesis
(for this benchmark only).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("TFMAT_SHARED", ROOT.parent / "shared")) / "data" / "reference" / "thesis"
sys.path.insert(0, str(ROOT))

from tfmat import chemistry as ch  # noqa: E402
from tfmat.data import load_gan_dataset  # noqa: E402
from tfmat.io import write_json  # noqa: E402

THESIS_CN = {"OQMD": 0.558, "MP": 0.835, "ICSD": 0.844}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default=str(Path(__file__).with_suffix(".json")))
    args = ap.parse_args()
    sets = {name: load_gan_dataset(name).train().counts for name in ("MP", "OQMD", "Bandgap")}
    for name in ("ICSD", "ICSD_Filter"):
        sets[name] = load_gan_dataset(name, data=REFERENCE / "ICSD" / "train_formula.csv").train().counts
    texts = {"thesis list OQMD (all rows)": REFERENCE / "OQMD" / "train_formula.csv",
             "thesis list ICSD (all rows)": REFERENCE / "ICSD" / "train_formula.csv",
             "thesis list Bandgap (all rows)": REFERENCE / "MP" / "bandgap_formula.csv"}
    result = {"command": " ".join(["python"] + sys.argv), "thesis_cn_train": THESIS_CN, "sets": {}}
    for rules_name in ("thesis", "smact"):
        rules = ch.rules_named(rules_name)
        for name, counts in sets.items():
            v = ch.check(counts, rules)
            result["sets"][f"{name} train split/{rules_name}"] = {"n": len(v), **v.shares()}
        for name, path in texts.items():
            checked = ch.check_formulas(pd.read_csv(path)["formulas"], rules)
            result["sets"][f"{name}/{rules_name}"] = {"n": len(checked.texts), "rejects": len(checked.rejects),
                                                      **checked.validity.shares()}
    for k, v in result["sets"].items():
        print(f"{k:45s} n={v['n']:7d} CN {100 * v['cn']:.2f}% EN {100 * v['en']:.2f}%")
    write_json(args.output, result)


if __name__ == "__main__":
    main()
