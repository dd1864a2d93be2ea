"""GAN-MP's formula mix against its training set, per training setting: the sweep behind the shipped choice.

    python benchmarks/gan_mix.py [--epochs 2] [--settings NAME ...] [--samples 100000] [--work DIR]

Each setting trains ``train_gan.py MP`` on the embedded MP training set from
the same seed, for the same number of epochs, in ``--work/NAME`` (a killed
sweep resumes there; default ``runs/benchmarks/gan_mix``). Its latest
generator is then read on one fixed evaluation: ``--samples`` draws of noise
seed 11, through ``tfmat.evaluation.report.evaluate`` against the MP
training and leave-out sets. The random-enumeration baseline (uniform over
binaries, ternaries and quaternaries of the 85×8 space, as many draws) is
read the same way beside them.

Figures per row: share decoded, distinct decoded per sample, CN and CN+EN
shares (thesis rules), the arity and element total-variation distances from
the training set, the arity shares, recovery of training and leave-out
formulas, and the per-epoch figures that training recorded on its own
20,000 selection samples.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tfmat.io import write_json  # noqa: E402

# name → train_gan.py flags on top of the MP defaults (thesis values: G 1e-3 / D 1e-2, 1 critic step, batch 32)
SETTINGS = {
    "shipped": ["--g-lr", "1e-4", "--d-lr", "1e-3"],
    "thesis": [],
    "critic5": ["--g-lr", "1e-4", "--d-lr", "1e-3", "--critic-steps", "5"],
    "critic5_equal_lr": ["--g-lr", "1e-4", "--d-lr", "1e-4", "--critic-steps", "5"],
    "batch256_critic5": ["--g-lr", "1e-4", "--d-lr", "1e-4", "--critic-steps", "5", "--batch-size", "256"],
    "presence": ["--g-lr", "1e-4", "--d-lr", "1e-3", "--critic-presence"],
    "decoded_critic": ["--g-lr", "1e-4", "--d-lr", "1e-3", "--decoded-critic"],
    "code_layout": ["--g-lr", "1e-4", "--d-lr", "1e-3", "--architecture", "mp_code"],
    "row_softmax": ["--g-lr", "1e-4", "--d-lr", "1e-3", "--generator-output", "softmax"],
    "row_softmax_critic5": ["--g-lr", "1e-4", "--d-lr", "1e-3", "--generator-output", "softmax", "--critic-steps", "5"],
    "onehot": ["--g-lr", "1e-4", "--d-lr", "1e-3", "--generator-output", "onehot"],
    "onehot_critic5": ["--g-lr", "1e-4", "--d-lr", "1e-3", "--generator-output", "onehot", "--critic-steps", "5"],
    "arity_condition": ["--g-lr", "1e-4", "--d-lr", "1e-3", "--arity-condition"],
    "exact_arity": ["--g-lr", "1e-4", "--d-lr", "1e-3", "--arity-condition", "--generator-output", "exact_arity"],
    "exact_arity_soft": ["--g-lr", "1e-4", "--d-lr", "1e-3", "--arity-condition", "--generator-output",
                         "exact_arity_soft"],
    "exact_arity_soft_critic5": ["--g-lr", "1e-4", "--d-lr", "1e-3", "--arity-condition", "--generator-output",
                                 "exact_arity_soft", "--critic-steps", "5"],
    "sharpness": ["--g-lr", "1e-4", "--d-lr", "1e-3", "--sharpness", "0.1"],
}
EVAL_SEED = 11


def train(name: str, epochs: int, work: Path) -> Path:
    out = work / name
    cmd = [sys.executable, str(ROOT / "train_gan.py"), "MP", "--out", str(out), "--epochs", str(epochs),
           "--select-samples", "20000", "--progress", "0", *SETTINGS[name]]
    subprocess.run(cmd, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return out


def read(formulas: list[str], samples: int, dataset) -> dict:
    """The fixed evaluation's figures of the decoded formulas (repeats kept) of ``samples`` draws."""
    from tfmat.evaluation.report import evaluate

    s = evaluate(formulas, dataset).summary
    dist, nov, val = s["distributions"], s["novelty"], s["validity"]["generated"]
    return {"decoded": round(len(formulas) / samples, 4), "distinct_per_sample": round(nov["distinct"] / samples, 4),
            "cn": round(val["cn"], 4), "cn_en": round(val["both"], 4),
            "arity_tv": round(dist["arity_total_variation"], 4),
            "element_tv": round(dist["element_total_variation"], 4),
            "arity_shares": {k: round(v["generated"], 4) for k, v in dist["arity"].items()},
            "train_recovered": round(nov["train_recovered"], 4),
            "leave_out_recovered": round(nov["leave_out_recovered"], 4),
            "distinct": nov["distinct"]}


def generated_row(run: Path, samples: int, dataset) -> dict:
    from tfmat.gan.sampling import LAST_GENERATOR_FILE, load_generator, sample_batches

    t = time.perf_counter()
    formulas: list[str] = []
    for batch in sample_batches(load_generator(run / LAST_GENERATOR_FILE), samples, seed=EVAL_SEED):
        formulas += batch.formulas
    row = read(formulas, samples, dataset)
    metrics = pd.read_csv(run / "metrics.csv")
    keep = ["epoch", "decoded", "distinct", "cn_en", "arity_tv", "element_tv", "seconds"]
    row["per_epoch"] = [{k: (int(r[k]) + 1 if k == "epoch" else round(float(r[k]), 4)) for k in keep}
                        for _, r in metrics.iterrows()]
    row["train_seconds"] = round(float(metrics.seconds.sum()), 1)
    row["eval_seconds"] = round(time.perf_counter() - t, 1)
    return row


def baseline_row(samples: int, dataset) -> dict:
    from tfmat.composition import formulas_from_counts, reduce_counts
    from tfmat.evaluation.enumeration import sample_counts

    counts = reduce_counts(sample_counts(samples, (2, 3, 4), seed=EVAL_SEED))
    formulas = formulas_from_counts(counts)
    return read(formulas, samples, dataset)


def earlier_settings(out: Path, result: dict) -> dict:
    """The settings an earlier sweep into ``out`` read on the same evaluation (the rest of a sweep run in parts);
    each keeps the command that measured it."""
    if not out.is_file():
        return {}
    old = json.loads(out.read_text())
    if any(old.get(k) != result[k] for k in ("epochs", "samples", "noise_seed")):
        return {}
    return {name: {"command": row.get("command", old["command"]), **row} for name, row in old["settings"].items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "benchmarks" / "gan_mix")
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    args = ap.parse_args(argv)

    from tfmat.data import load_gan_dataset
    from tfmat.evaluation.metrics import arity_distribution

    dataset = load_gan_dataset("MP")
    train_arity = arity_distribution(dataset.train().counts)
    result = {"command": " ".join(["python", *sys.argv]), "cpus": os.cpu_count(), "epochs": args.epochs,
              "samples": args.samples, "noise_seed": EVAL_SEED,
              "train_arity_shares": {str(k + 1): round(float(v), 4) for k, v in enumerate(train_arity)},
              "enumeration_baseline": baseline_row(args.samples, dataset), "settings": {}}
    measured = {}
    for name in args.settings:
        run = train(name, args.epochs, args.work)
        measured[name] = {"command": result["command"], "flags": " ".join(SETTINGS[name]) or "(thesis defaults)",
                          **generated_row(run, args.samples, dataset)}
        print(name, {k: v for k, v in measured[name].items() if k != "per_epoch"}, flush=True)
        # read late, so that sweeps of other settings running beside this one keep their rows
        result["settings"] = {**earlier_settings(Path(args.out), result), **measured}
        write_json(args.out, result)
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
