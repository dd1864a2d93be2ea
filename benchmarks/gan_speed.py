"""MatGAN train_step throughput with and without XLA: interleaved repeats, median and range.

    python benchmarks/gan_speed.py [--steps 20] [--oqmd-steps N] [--repeats 3] [--out benchmarks/gan_speed.json]

For each dataset (MP, OQMD: real embedded formulas, thesis batch size, the
default layer-norm critic) one model is built per variant: without XLA,
with XLA (``jit_compile``), and, for MP, without XLA at each ``--extra-batch``
size. Each model first runs a warm-up ``fit()`` on the same data as the timed
runs (tracing, and XLA compilation, happen there), then the variants take
turns: every repeat times one ``fit()`` over ``--steps`` batches of each
variant, the order rotating by one each repeat. The JSON lists every repeat
and, per variant, the median, minimum and maximum seconds, and the XLA
slow-down as the ratio of the medians (and its range over repeats). It is
rewritten after each dataset.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import replace

import numpy as np

from tfmat.data import gan_pipeline, load_gan_dataset
from tfmat.io import write_json
from tfmat.gan.config import THESIS_CONFIGS
from tfmat.gan.matgan import build_matgan


def variants(db: str, extra_batch: list[int]) -> list[tuple[int, bool]]:
    thesis = THESIS_CONFIGS[db].batch_size
    return [(thesis, False), (thesis, True)] + ([(b, False) for b in extra_batch] if db == "MP" else [])


def measure(db: str, norm: str, steps: int, repeats: int, extra_batch: list[int]) -> dict:
    data = load_gan_dataset(db).train().counts
    runs = []
    for batch, jit in variants(db, extra_batch):
        cfg = replace(THESIS_CONFIGS[db], batch_size=batch, jit_compile=jit, critic_norm=norm)
        gan = build_matgan(cfg)
        ds = gan_pipeline(data[: batch * steps], batch, seed=0).cache()
        start = time.perf_counter()
        gan.fit(ds, epochs=1, verbose=0, shuffle=False)  # warm-up: tracing and compilation
        runs.append({"batch_size": batch, "jit_compile": jit, "gan": gan, "ds": ds,
                     "warmup_s": round(time.perf_counter() - start, 3), "seconds": [], "load_average_1min": []})
        print(db, batch, "XLA" if jit else "no XLA", "warm-up", runs[-1]["warmup_s"], "s", flush=True)
    order = []
    for r in range(repeats):
        turn = [(i + r) % len(runs) for i in range(len(runs))]
        order.append(turn)
        for i in turn:
            run = runs[i]
            start = time.perf_counter()
            run["gan"].fit(run["ds"], epochs=1, verbose=0, shuffle=False)
            run["seconds"].append(round(time.perf_counter() - start, 3))
            run["load_average_1min"].append(round(os.getloadavg()[0], 2))
            print(db, run["batch_size"], "XLA" if run["jit_compile"] else "no XLA", "repeat", r, run["seconds"][-1],
                  "s", flush=True)
    rows = []
    for run in runs:
        s = np.array(run["seconds"])
        rows.append({"batch_size": run["batch_size"], "jit_compile": run["jit_compile"], "steps": steps,
                     "warmup_s": run["warmup_s"], "seconds": run["seconds"],
                     "median_s": float(np.median(s)), "min_s": float(s.min()), "max_s": float(s.max()),
                     "steps_per_s_median": round(steps / float(np.median(s)), 3),
                     "samples_per_s_median": round(steps * run["batch_size"] / float(np.median(s)), 1),
                     "load_average_1min": run["load_average_1min"]})
    plain, xla = np.array(runs[0]["seconds"]), np.array(runs[1]["seconds"])
    per_repeat = xla / plain
    return {"dataset": db, "architecture": THESIS_CONFIGS[db].architecture, "critic_norm": norm,
            "order_per_repeat": [[f"{runs[i]['batch_size']}{'/XLA' if runs[i]['jit_compile'] else ''}" for i in t]
                                 for t in order],
            "variants": rows,
            "xla_slowdown": {"ratio_of_medians": round(float(np.median(xla) / np.median(plain)), 2),
                             "per_repeat_min": round(float(per_repeat.min()), 2),
                             "per_repeat_max": round(float(per_repeat.max()), 2)}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--oqmd-steps", type=int, help="timed steps for OQMD (default: --steps)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--datasets", nargs="+", default=["MP", "OQMD"])
    ap.add_argument("--norm", default="layer")
    ap.add_argument("--extra-batch", type=int, nargs="*", default=[256],
                    help="batch sizes measured besides the thesis one (MP only, without XLA)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "gan_speed.json"))
    args = ap.parse_args(argv)
    if args.repeats < 3:
        ap.error("--repeats must be at least 3")
    import tensorflow as tf

    results = []
    for db in args.datasets:
        steps = args.oqmd_steps if db == "OQMD" and args.oqmd_steps else args.steps
        results.append(measure(db, args.norm, steps, args.repeats, args.extra_batch))
        print(results[-1]["xla_slowdown"], flush=True)
        write_json(args.out, {
            "command": " ".join(["python", *sys.argv]),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "tensorflow": tf.__version__,
                        "note": "2 CPU cores shared with other jobs; load_average_1min after each timed run"},
            "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
