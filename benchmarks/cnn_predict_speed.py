"""Throughput of :class:`tfmat.cnn.Predictor` on (N, 85) counts, the screening pipeline's input.

    python benchmarks/cnn_predict_speed.py --model check_point/CNN/MP_formation_energy --n 200000 \
        --out benchmarks/cnn_predict_speed.json

Counts are real compositions drawn (with repeats, fixed seed) from the embedded
OQMD GAN set. Inputs (Magpie features and element fractions) and the
network are timed separately, then the whole ``predict_counts`` call.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from tfmat.cnn import Predictor
from tfmat.composition import Compositions
from tfmat.data import load_gan_dataset
from tfmat.features import element_fractions, magpie_features
from tfmat.io import write_json


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="check_point/CNN/MP_formation_energy")
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--out", default="benchmarks/cnn_predict_speed.json")
    args = ap.parse_args()
    counts = load_gan_dataset("OQMD").counts
    counts = counts[np.random.default_rng(0).integers(0, len(counts), args.n)]
    pred = Predictor(args.model)
    pred.predict_counts(counts[:1000])  # build the graph once
    t = time.perf_counter()
    comps = Compositions.from_counts(counts)
    feats, fractions = magpie_features(comps), element_fractions(comps)
    t_feat = time.perf_counter() - t
    t = time.perf_counter(); pred.member_predictions(feats, fractions); t_net = time.perf_counter() - t
    t = time.perf_counter(); pred.predict_counts(counts); t_all = time.perf_counter() - t
    result = {"command": " ".join(["python"] + sys.argv), "model": args.model, "members": len(pred.members),
              "rows": args.n, "seconds_features": round(t_feat, 3), "seconds_network": round(t_net, 3),
              "seconds_total": round(t_all, 3), "rows_per_second": round(args.n / t_all),
              "note": "2 shared CPU cores, other jobs running"}
    write_json(args.out, result)
    print(result)


if __name__ == "__main__":
    main()
