"""Codec throughput on 1,000,000 real formulas: parse, encode to (N, 85, 8), decode back.

    python benchmarks/codec_speed.py --n 1000000 --out benchmarks/codec_speed.json

The formulas are drawn (with a fixed seed, with repeats) from the embedded OQMD,
MP and Bandgap sets, each written in the source tables' style (every count
spelled out, e.g. ``Fe2O3`` as ``Fe2O3``, ``NaCl`` as ``Na1Cl1``).
"""
from __future__ import annotations

import argparse
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
    ap.add_argument("--out", default="benchmarks/codec_speed.json")
    args = ap.parse_args()
    counts = np.concatenate([load_gan_dataset(n).counts for n in EMBEDDED_GAN])
    rng = np.random.default_rng(0)
    texts = spelled_out(counts[rng.integers(0, len(counts), args.n)])
    n_distinct = len(set(texts))

    t = time.perf_counter(); parsed = parse_formulas(texts); t_parse = time.perf_counter() - t
    t = time.perf_counter(); enc = encode_formulas(texts, min_elements=2); t_encode_all = time.perf_counter() - t
    t = time.perf_counter()
    decoded = 0
    for a in range(0, len(enc.counts), args.chunk):
        m = encode(enc.counts[a:a + args.chunk])  # the one-hot matrices a GAN would emit
        dec = decode(m)
        decoded += len(dec.formulas)
        assert dec.formulas == enc.formulas[a:a + args.chunk]
    t_onehot_decode = time.perf_counter() - t
    t = time.perf_counter()
    for a in range(0, len(enc.counts), args.chunk):
        m = encode(enc.counts[a:a + args.chunk])
    t_onehot = time.perf_counter() - t
    t_decode = t_onehot_decode - t_onehot
    result = {
        "command": "python " + " ".join(sys.argv),
        "machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores",
        "formulas": args.n, "distinct_texts": n_distinct, "encoded": len(enc.formulas), "rejected": len(enc.rejects),
        "round_trip_exact": decoded == len(enc.formulas),
        "seconds": {"parse": round(t_parse, 2), "parse_reduce_check_encode_counts": round(t_encode_all, 2),
                    "onehot_85x8": round(t_onehot, 2), "decode": round(t_decode, 2)},
        "formulas_per_second": {"parse": round(args.n / t_parse), "encode": round(args.n / t_encode_all),
                                "onehot_85x8": round(args.n / t_onehot), "decode": round(args.n / t_decode)},
    }
    write_json(args.out, result)
    print(result)


if __name__ == "__main__":
    main()
