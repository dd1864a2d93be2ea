"""Exactly decodable share of a formula autoencoder's training and held-out formulas.

    python benchmarks/autoencoder_decodable.py [train-ae flags ...]

Runs ``tfmat train-ae`` with the given flags (resuming a run in the same --out)
and records its ``decodable.json``, the best and the last epoch and the per-epoch
log, with this command, in ``autoencoder_decodable.json`` next to this script,
under the run's ``DATASET-LAYOUT-LOSS`` (other entries are kept).

* No flags: the dense BCE autoencoder on MP that active learning uses
  (bar: ≥ 95% of the 6,532 held-out MP formulas decode exactly).
* ``--thesis …``: the thesis's Dice-loss limit study on OQMD (thesis: 96.31% of
  training and 95.50% of test formulas decode, 1000 epochs, batch 1024).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tfmat.cli import main  # noqa: E402
from tfmat.io import write_json  # noqa: E402
from tfmat.paths import RUNS  # noqa: E402

RESULT = Path(__file__).with_suffix(".json")


def run(argv: list[str]) -> None:
    if "--out" not in argv:
        argv = argv + ["--out", str(RUNS / "autoencoder" / ("thesis" if "--thesis" in argv else "default"))]
    out = Path(argv[argv.index("--out") + 1])
    code = main(["train-ae", *argv])
    if code:
        sys.exit(code)
    cfg = json.loads((out / "config.json").read_text())
    result = {"command": " ".join(["python", "benchmarks/autoencoder_decodable.py", *sys.argv[1:]]),
              "config": cfg, **json.loads((out / "decodable.json").read_text())}
    best = out / "autoencoder.keras.json"
    if best.is_file():
        result["best"] = json.loads(best.read_text())
    metrics = out / "metrics.csv"
    if metrics.is_file():
        lines = metrics.read_text().splitlines()
        header, last = lines[0].split(","), lines[-1].split(",")
        if "seconds" in header:
            col = header.index("seconds")
            result["training_seconds"] = round(sum(float(line.split(",")[col]) for line in lines[1:]), 1)
        result["last_epoch"] = {k: float(v) for k, v in zip(header, last) if k in ("epoch", "exact", "val_exact")}
        result["epoch_log"] = lines
    everything = json.loads(RESULT.read_text()) if RESULT.is_file() else {}
    everything[f"{cfg['dataset']}-{cfg['architecture']}-{cfg['loss']}"] = result
    write_json(RESULT, everything)


if __name__ == "__main__":
    run(sys.argv[1:])
