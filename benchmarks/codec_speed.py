"""Codec throughput on 1,000,000 real formulas: parse, encode to (N, 85, 8), decode back.

    python benchmarks/codec_speed.py --n 1000000 --repeats 3 --out benchmarks/codec_speed.json

The formulas are drawn (with a fixed seed, with repeats) from the embedded OQMD,
MP and Bandgap sets, each written in the source tables' style (every count
spelled out, e.g. ``Fe2O3`` as ``Fe2O3``, ``NaCl`` as ``Na1Cl1``). Each of
``--repeats`` rounds times every stage once: parsing, parse + reduce + check
+ encode to counts, counts to (N, 85, 8) one-hot matrices, and decoding those
matrices (the last two in chunks of ``--chunk``, each chunk's decode timed
alone). The JSON gives every round and the median, minimum and maximum.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

from tfmat.composition import decode, encode, encode_formulas, parse_formulas
from tfmat.data import EMBEDDED_GAN, load_gan_dataset
from tfmat.elements import ELEMENTS
from tfmat.io import write_json


def spelled_out(counts: np.ndarray) -> list[str]:
    return ["".join(f"{ELEMENTS[e]}{row[e]}" for e in np.flatnonzero(row)) for row in counts]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/codec_speed.json")
    args = ap.parse_args()
    counts = np.concatenate([load_gan_dataset(n).counts for n in EMBEDDED_GAN])
    rng = np.random.default_rng(0)
    texts = spelled_out(counts[rng.integers(0, len(counts), args.n)])
    n_distinct = len(set(texts))

    rounds = []
    for _ in range(args.repeats):
        t = time.perf_counter(); parse_formulas(texts); t_parse = time.perf_counter() - t
        t = time.perf_counter(); enc = encode_formulas(texts, min_elements=2); t_encode_all = time.perf_counter() - t
        t_onehot = t_decode = 0.0
        decoded = 0
        for a in range(0, len(enc.counts), args.chunk):
            t = time.perf_counter(); m = encode(enc.counts[a:a + args.chunk]); t_onehot += time.perf_counter() - t
            t = time.perf_counter(); dec = decode(m); t_decode += time.perf_counter() - t
            decoded += len(dec.formulas)
            assert dec.formulas == enc.formulas[a:a + args.chunk]
        rounds.append({"parse": t_parse, "parse_reduce_check_encode_counts": t_encode_all,
                       "onehot_85x8": t_onehot, "decode": t_decode})
        print({k: round(v, 3) for k, v in rounds[-1].items()}, flush=True)
    stages = list(rounds[0])
    median = {k: float(np.median([r[k] for r in rounds])) for k in stages}
    result = {
        "command": "python " + " ".join(sys.argv),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, shared with other jobs",
        "formulas": args.n, "distinct_texts": n_distinct, "encoded": len(enc.formulas), "rejected": len(enc.rejects),
        "round_trip_exact": decoded == len(enc.formulas), "repeats": args.repeats,
        "seconds_median": {k: round(v, 3) for k, v in median.items()},
        "seconds_min": {k: round(min(r[k] for r in rounds), 3) for k in stages},
        "seconds_max": {k: round(max(r[k] for r in rounds), 3) for k in stages},
        "formulas_per_second_median": {k: round(args.n / v) for k, v in median.items()},
        "rounds": [{k: round(v, 4) for k, v in r.items()} for r in rounds],
    }
    write_json(args.out, result)
    print(result)


if __name__ == "__main__":
    main()
