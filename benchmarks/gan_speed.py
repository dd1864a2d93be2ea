"""MatGAN train_step throughput: steps/s and samples/s, with and without XLA.

    python benchmarks/gan_speed.py [--steps 60] [--oqmd-steps N] [--out benchmarks/gan_speed.json]

Times ``fit()`` on real embedded formulas (MP, OQMD) at the thesis batch sizes
after a warm-up epoch that absorbs tracing and compilation; reports the median
of ``--repeats`` timed runs. The machine's other load is recorded too. The
JSON is rewritten after every measurement, so a stopped run keeps its rows.
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
from tfmat.models.matgan import THESIS_CONFIGS, build_matgan


def measure(db: str, batch_size: int, jit: bool, norm: str, steps: int, repeats: int) -> dict:
    cfg = replace(THESIS_CONFIGS[db], batch_size=batch_size, jit_compile=jit, critic_norm=norm)
    counts = load_gan_dataset(db).train().counts[: batch_size * steps]
    gan = build_matgan(cfg)
    ds = gan_pipeline(counts, batch_size, seed=0).cache()
    gan.fit(gan_pipeline(counts[: 2 * batch_size], batch_size), epochs=1, verbose=0, shuffle=False)  # trace
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        gan.fit(ds, epochs=1, verbose=0, shuffle=False)
        times.append(time.perf_counter() - start)
    t = float(np.median(times))
    return {"dataset": db, "architecture": cfg.architecture, "batch_size": batch_size, "jit_compile": jit,
            "critic_norm": norm, "steps": steps, "seconds": round(t, 3), "steps_per_s": round(steps / t, 2),
            "samples_per_s": round(steps * batch_size / t, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--oqmd-steps", type=int, help="timed steps for OQMD (default: --steps)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--datasets", nargs="+", default=["MP", "OQMD"])
    ap.add_argument("--norms", nargs="+", default=["layer", "batch"])
    ap.add_argument("--extra-batch", type=int, nargs="*", default=[256],
                    help="batch sizes measured besides the thesis one (MP only, without XLA)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "gan_speed.json"))
    args = ap.parse_args(argv)
    import tensorflow as tf

    runs = [(db, batch, norm, jit) for db in args.datasets for norm in args.norms
            for batch, jits in [(THESIS_CONFIGS[db].batch_size, (False, True))]
            + ([(b, (False,)) for b in args.extra_batch] if db == "MP" else [])
            for jit in jits]
    rows = []
    for db, batch, norm, jit in runs:
        steps = args.oqmd_steps if db == "OQMD" and args.oqmd_steps else args.steps
        row = measure(db, batch, jit, norm, steps, args.repeats)
        row["load_average_1min"] = round(os.getloadavg()[0], 2)
        print(row, flush=True)
        rows.append(row)
        write_json(args.out, {
            "command": " ".join(["python", *sys.argv]),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "tensorflow": tf.__version__,
                        "note": "2 cores shared with other jobs; see load_average_1min per row"},
            "results": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
