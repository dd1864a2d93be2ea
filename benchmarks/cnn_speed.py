"""Training speed of the property models: XLA, the attention model's token budget and its arity batches,
through train-cnn's loop.

    taskset -c 0 python benchmarks/cnn_speed.py            # rewrite benchmarks/cnn_speed.json
    taskset -c 1 python benchmarks/cnn_speed.py --out benchmarks/cnn_speed_epyc.json   # the AMD EPYC record

Each variant (``--arch`` thesis with its shipped fraction branch, and
attention at the benchmark size; XLA on or off; the attention model at its
default 8 tokens per formula, at 10, and in batches of one arity, each padded
only to it, as ``train-cnn --arity-batches`` trains) is built once and warmed up
with three epochs (tracing, compilation, and the
slower first epochs without XLA), then timed for one epoch of the
first ``--rows`` MP band-gap compositions at batch 256, ``--repeats`` times,
the variants interleaved in a rotating order. The JSON holds every epoch's
seconds, their median per variant and the ratios of medians (no XLA / XLA,
10 tokens / 8, 8 tokens / arity batches), and the CPU's model name: XLA's gain depends on the CPU (none
in ``cnn_speed.json``, recorded before the arity-batch variant existed; 2.0× for the attention model in
``cnn_speed_epyc.json``, taken while a test run used the other core).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# (arch, XLA, attention tokens per formula: a number, or "arity" for batches of one arity)
VARIANTS = [("thesis", False, None), ("thesis", True, None), ("attention", False, 8), ("attention", True, 8),
            ("attention", False, 10), ("attention", True, "arity")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=12800)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "cnn_speed.json"))
    args = parser.parse_args(argv)

    import tensorflow as tf

    from tfmat.cnn import CNNConfig
    from tfmat.cnn.train import build_model
    from tfmat.composition import parse_formulas
    from tfmat.data import load_property_dataset
    from tfmat.features import element_fractions, magpie_features
    from machine import cpu
    from tfmat.io import write_json
    from tfmat.data.pipeline import arity_batches
    from tfmat.models.attention import build_attention, formula_tokens
    from tfmat.training import fit

    frame = load_property_dataset("MP", "band_gap").iloc[: args.rows]
    comps = parse_formulas(list(frame.formula)).compositions
    x, f = magpie_features(comps).astype("float32"), element_fractions(comps)
    rows = tf.data.Dataset.from_tensor_slices(((x, f), frame.target.to_numpy("float32")))

    y, element_tokens = frame.target.to_numpy("float32"), formula_tokens(f)

    def epoch(e):
        return rows.shuffle(len(frame), seed=e).batch(256)

    def arity_epoch(e):
        return arity_batches(*element_tokens, y, 256, seed=e)

    models = []
    for arch, xla, tokens in VARIANTS:
        if arch == "thesis":
            model = build_model(CNNConfig(data_name="MP", attribute="band_gap", fractions=64, dense=64), x, seed=0)
        else:  # as build_model makes it for band gap, with the token budget set
            model = build_attention(width=128, heads=4, blocks=3, max_elements=8 if tokens == "arity" else tokens,
                                    head="nonneg", seed=0)
        model.jit_compile = xla
        data = arity_epoch if tokens == "arity" else epoch
        start = time.perf_counter()
        fit(model, data, 3)
        models.append({"arch": arch, "xla": xla, "tokens": tokens, "model": model, "data": data,
                       "warmup_s": round(time.perf_counter() - start, 2), "seconds": []})
        print(arch, tokens or "", "XLA" if xla else "no XLA", "warm-up", models[-1]["warmup_s"], "s", flush=True)
    order = []
    for r in range(args.repeats):
        turn = [(i + r) % len(models) for i in range(len(models))]
        order.append([name(models[i]) for i in turn])
        for i in turn:
            m = models[i]
            start = time.perf_counter()
            fit(m["model"], m["data"], 1)
            m["seconds"].append(round(time.perf_counter() - start, 3))
            print(r, name(m), m["seconds"][-1], "s", flush=True)
    result = {"command": " ".join(["python", "benchmarks/cnn_speed.py", *(argv or sys.argv[1:])]),
              "rows": len(frame), "batch_size": 256, "repeats": args.repeats, "order_per_repeat": order,
              "variants": [{k: v for k, v in m.items() if k not in ("model", "data")}
                           | {"median_s": float(np.median(m["seconds"]))}
                           for m in models],
              "machine": {**cpu(), "cores_visible": len(os.sched_getaffinity(0))}}
    medians = {name(m): float(np.median(m["seconds"])) for m in models}
    result["no_xla_over_xla"] = {"thesis": round(medians["thesis"] / medians["thesis/XLA"], 3),
                                 "attention": round(medians["attention8"] / medians["attention8/XLA"], 3)}
    result["attention_10_over_8_tokens"] = round(medians["attention10"] / medians["attention8"], 3)
    result["attention_8_tokens_over_arity_batches"] = round(medians["attention8/XLA"] / medians["attentionarity/XLA"], 3)
    print(result["no_xla_over_xla"], result["attention_10_over_8_tokens"],
          result["attention_8_tokens_over_arity_batches"], flush=True)
    write_json(Path(args.out), result)
    return 0


def name(variant: dict) -> str:
    return f"{variant['arch']}{variant['tokens'] or ''}{'/XLA' if variant['xla'] else ''}"


if __name__ == "__main__":
    sys.exit(main())
