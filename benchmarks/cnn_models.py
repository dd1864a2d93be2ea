"""Train (or resume) the shipped CNN models and collect their scores.

    nice -n 10 python benchmarks/cnn_models.py --only MP_band_gap
    nice -n 10 python benchmarks/cnn_models.py --only OQMD_delta_e
    nice -n 10 python benchmarks/cnn_models.py --thesis --only MP_band_gap   # the thesis settings, as they are
    python benchmarks/cnn_models.py --collect                                # rewrite the JSON only

Each model is one ``tfmat train-cnn`` command on the embedded data
(deduplicated compositions, polymorphs averaged): 10% of compositions held
out first, 5-fold cross-validation on the rest (each fold's train/test split
90/10, best test R² kept), the fold models shipped as an ensemble and scored
on the holdout. ``--thesis`` runs the thesis's own settings (table 4.2 batch
size and learning rate, MSE loss, constant learning rate) on one seeded split,
for comparison; those models are not shipped.

Results go to ``benchmarks/cnn_models.json``; reports to ``runs/cnn/``; the
models, their metrics and plots to ``check_point/CNN/<name>/``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BARS = {"MP_band_gap": 0.36, "MP_formation_energy": 0.12, "OQMD_delta_e": 0.080}

# Shipped: the thesis CNN plus an element-fraction branch (--fractions 64, FC 64), MAE loss, cosine-decayed
# Adam, 5-fold ensemble. Epochs are what fits two shared CPU cores.
_BEYOND = ["--folds", "5", "--holdout", "0.1", "--lr", "0.002", "--loss", "mae", "--schedule", "cosine",
           "--fractions", "64", "--dense", "64"]
SHIPPED = {
    "MP_band_gap": ["--data_name", "MP", "--attribute", "band_gap", "--epochs", "80", "--batch_size", "256", *_BEYOND],
    "MP_formation_energy": ["--data_name", "MP", "--attribute", "formation_energy", "--epochs", "80",
                            "--batch_size", "256", *_BEYOND],
    "OQMD_delta_e": ["--data_name", "OQMD", "--attribute", "delta_e", "--epochs", "35", "--batch_size", "512",
                     *_BEYOND],
}
# The thesis as it is: table 4.2 defaults (no --lr/--batch_size), MSE, constant rate, one seeded split.
THESIS = {
    "MP_band_gap": ["--data_name", "MP", "--attribute", "band_gap", "--epochs", "40"],
    "MP_formation_energy": ["--data_name", "MP", "--attribute", "formation_energy", "--epochs", "40"],
    "OQMD_delta_e": ["--data_name", "OQMD", "--attribute", "delta_e", "--epochs", "15"],
}


def paths(name: str, thesis: bool) -> tuple[Path, Path]:
    if thesis:
        return ROOT / "runs" / "cnn_thesis" / name, ROOT / "runs" / "cnn_thesis" / name / "model"
    return ROOT / "runs" / "cnn" / name, ROOT / "check_point" / "CNN" / name


def command(name: str, thesis: bool) -> list[str]:
    out, ck = paths(name, thesis)
    args = (THESIS if thesis else SHIPPED)[name]
    return ["tfmat", "train-cnn", *args, "--out", str(out.relative_to(ROOT)), "--checkpoint", str(ck.relative_to(ROOT))]


def train(name: str, thesis: bool) -> None:
    import os

    from tfmat.cli import main as tfmat_main

    os.chdir(ROOT)
    start = time.time()
    code = tfmat_main(command(name, thesis)[1:])
    if code:
        sys.exit(code)
    out, ck = paths(name, thesis)
    wall = out / "wall_seconds.txt"  # summed over invocations (a resumed run adds its part)
    before = float(wall.read_text()) if wall.exists() else 0.0
    wall.write_text(f"{before + time.time() - start:.0f}\n")
    if not thesis:
        for png in ("learning_curves.png", "parity.png"):
            shutil.copyfile(out / png, ck / png)


def collect(out_json: Path) -> dict:
    result = {"command": "python benchmarks/cnn_models.py --collect", "bars_mae": BARS, "models": {}}
    for name in SHIPPED:
        entry = {}
        for thesis, key in ((False, "shipped"), (True, "thesis_as_is")):
            out, _ = paths(name, thesis)
            if not (out / "metrics.json").exists():
                continue
            m = json.loads((out / "metrics.json").read_text())
            wall = out / "wall_seconds.txt"
            entry[key] = {
                "train_command": " ".join(command(name, thesis)),
                "config": m["config"], "compositions": m["compositions"],
                "validation_mean_of_folds": m["validation_mean"],
                "validation_pooled": m["validation_pooled"],
                "holdout_ensemble": m.get("holdout_ensemble"),
                "holdout_single_models_mean": m.get("holdout_members"),
                "wall_seconds": float(wall.read_text()) if wall.exists() else None,
            }
        if "shipped" in entry:
            best = entry["shipped"]["holdout_ensemble"] or entry["shipped"]["validation_mean_of_folds"]
            entry["shipped_mae"] = best["mae"]
            entry["meets_bar"] = bool(best["mae"] <= BARS[name])
        result["models"][name] = entry
    from tfmat.io import write_json

    write_json(out_json, result)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=list(SHIPPED), action="append")
    ap.add_argument("--thesis", action="store_true", help="run the thesis settings instead (not shipped)")
    ap.add_argument("--collect", action="store_true", help="only rewrite the JSON from finished runs")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "cnn_models.json"))
    args = ap.parse_args()
    if not args.collect:
        for name in args.only or list(SHIPPED):
            train(name, args.thesis)
    print(json.dumps(collect(Path(args.out)), indent=1)[:4000])


if __name__ == "__main__":
    main()
