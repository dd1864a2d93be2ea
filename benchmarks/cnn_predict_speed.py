"""Throughput of :class:`tfmat.cnn.Predictor` on (N, 85) counts, the screening pipeline's input.

    python benchmarks/cnn_predict_speed.py --model check_point/CNN/MP_formation_energy --n 200000 \
        --out benchmarks/cnn_predict_speed.json

    python benchmarks/cnn_predict_speed.py --model check_point/CNN/MP_band_gap_attention --n 50000 \
        --repeats 3 --out benchmarks/cnn_predict_speed_attention.json

Counts are real compositions drawn (with repeats, fixed seed) from the embedded
OQMD GAN set. Inputs (Magpie features and element fractions) and the
network are timed separately, then the whole ``predict_counts`` call.
For an element-attention ensemble, ``--repeats R`` also times its network
three ways, interleaved R times (medians): one arity at a time (what
``Predictor`` does) on all rows in one call, the same in the screen's
2,048-row calls, and every row padded to 8 element tokens.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tfmat.cnn import Predictor  # noqa: E402
from tfmat.composition import Compositions  # noqa: E402
from tfmat.data import load_gan_dataset  # noqa: E402
from tfmat.features import element_fractions, magpie_features  # noqa: E402
from tfmat.io import write_json  # noqa: E402
from tfmat.screen import ScreenConfig  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu  # noqa: E402


def compare_padded(pred: Predictor, feats: np.ndarray, fractions: np.ndarray, repeats: int) -> dict:
    """Median seconds of the network one arity at a time (in one call, and in the screen's calls) and padded
    to 8 tokens, interleaved ``repeats`` times after one untimed call of each (compilation), and the largest
    difference between by arity and padded."""
    def in_screen_calls():
        step = ScreenConfig.batch_size
        return np.concatenate([pred.member_predictions(feats[i:i + step], fractions[i:i + step], clip=False)
                               for i in range(0, len(feats), step)])

    def padded():
        step = pred.batch_size
        return np.concatenate([np.asarray(pred._forward(feats[i:i + step], fractions[i:i + step]))
                               for i in range(0, len(feats), step)])

    ways = {"by_arity": lambda: pred.member_predictions(feats, fractions, clip=False),
            "by_arity_in_screen_calls": in_screen_calls, "padded_to_8": padded}
    outputs = {name: way() for name, way in ways.items()}
    times = {name: [] for name in ways}
    for _ in range(repeats):
        for name, way in ways.items():
            t = time.perf_counter(); way(); times[name].append(time.perf_counter() - t)
    median = {name: round(float(np.median(t)), 3) for name, t in times.items()}
    return {**median, "repeats": {name: [round(x, 3) for x in t] for name, t in times.items()},
            "speedup": round(median["padded_to_8"] / median["by_arity"], 2),
            "max_abs_difference": float(np.abs(outputs["by_arity"] - outputs["padded_to_8"]).max())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="check_point/CNN/MP_formation_energy")
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--out", default="benchmarks/cnn_predict_speed.json")
    ap.add_argument("--note", default="", help="what else ran on the machine")
    ap.add_argument("--repeats", type=int, default=0, help="attention ensembles: interleaved repeats of the "
                    "network by arity and padded to 8 tokens")
    args = ap.parse_args()
    counts = load_gan_dataset("OQMD").counts
    counts = counts[np.random.default_rng(0).integers(0, len(counts), args.n)]
    pred = Predictor(args.model)
    pred.predict_counts(counts[:1000])  # build the graph once
    t = time.perf_counter()
    comps = Compositions.from_counts(counts)
    feats, fractions = magpie_features(comps), element_fractions(comps)
    t_feat = time.perf_counter() - t
    pred.member_predictions(feats, fractions)  # compile every shape once (attention: one per arity)
    t = time.perf_counter(); pred.member_predictions(feats, fractions); t_net = time.perf_counter() - t
    t = time.perf_counter(); pred.predict_counts(counts); t_all = time.perf_counter() - t
    result = {"command": " ".join(["python"] + sys.argv), "model": args.model, "members": len(pred.members),
              "rows": args.n, "seconds_features": round(t_feat, 3), "seconds_network": round(t_net, 3),
              "seconds_total": round(t_all, 3), "rows_per_second": round(args.n / t_all),
              "machine": {**cpu(), "cpus": os.cpu_count(), "threads": os.environ.get("TF_NUM_INTRAOP_THREADS")},
              "note": args.note}
    if args.repeats and pred.tokens:
        result["network_seconds"] = compare_padded(pred, feats, fractions, args.repeats)
    write_json(args.out, result)
    print(result)


if __name__ == "__main__":
    main()
