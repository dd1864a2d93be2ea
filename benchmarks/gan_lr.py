"""Learning rates for GAN-MP: the thesis's (G 1e-3 / D 1e-2) against ten times lower, on real training.

    python benchmarks/gan_lr.py [--epochs 2] [--out benchmarks/gan_lr.json]

Runs ``train_gan.py MP`` on the full embedded MP training set once per
setting, from the same seed, with every other hyperparameter at the thesis
value, and reads the per-epoch sample quality that training records
(``--select-samples 10000``: 10,000 samples from fixed noise after each epoch):
share that decodes, share of those that are distinct, CN+EN share (thesis
rules), and the epoch's wall time.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from tfmat.io import write_json

SETTINGS = {"thesis": ("1e-3", "1e-2"), "tenth": ("1e-4", "1e-3")}
ROOT = Path(__file__).resolve().parents[1]


def run(name: str, g_lr: str, d_lr: str, epochs: int, work: Path) -> list[dict]:
    out = work / name
    cmd = [sys.executable, str(ROOT / "train_gan.py"), "MP", "--out", str(out), "--epochs", str(epochs),
           "--g-lr", g_lr, "--d-lr", d_lr, "--select-samples", "10000", "--progress", "0"]
    subprocess.run(cmd, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    metrics = pd.read_csv(out / "metrics.csv")
    return [{"setting": name, "g_lr": float(g_lr), "d_lr": float(d_lr), "epoch": int(r.epoch) + 1,
             "decoded_pct": round(100 * r.decoded, 2), "unique_of_decoded_pct": round(100 * r.unique, 2),
             "cn_en_pct": round(100 * r.cn_en, 2), "seconds": round(r.seconds, 1)} for r in metrics.itertuples()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "gan_lr.json"))
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name in args.settings:
            rows += run(name, *SETTINGS[name], args.epochs, Path(work))
            for row in rows[-args.epochs:]:
                print(row, flush=True)
            write_json(args.out, {"command": " ".join(["python", *sys.argv]), "cpus": os.cpu_count(),
                                  "results": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
