"""The project's training loop (:func:`tfmat.training.fit`, which resumes exactly) against Keras's
``Model.fit`` on the same MatGAN-MP steps: interleaved repeats, median and range.

    python benchmarks/training_loop.py [--steps 150] [--repeats 7] [--out benchmarks/training_loop.json]

Two MatGAN-MP models (thesis layout, batch 32, real embedded formulas) each run
a warm-up epoch (tracing), then take turns, the order alternating: every
repeat times one epoch of ``--steps`` batches through each loop. The JSON
lists every repeat, the median, minimum and maximum milliseconds per step of
each loop, and the ratio of the medians (project / Keras).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

from tfmat.data import gan_pipeline, load_gan_dataset
from tfmat.gan.config import THESIS_CONFIGS
from tfmat.gan.matgan import build_matgan
from tfmat.io import write_json
from tfmat.training import fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default="benchmarks/training_loop.json")
    args = parser.parse_args()

    cfg = THESIS_CONFIGS["MP"]
    counts = load_gan_dataset("MP").train().counts[: cfg.batch_size * args.steps]
    batches = lambda epoch: gan_pipeline(counts, cfg.batch_size, seed=0, epoch=epoch)  # noqa: E731
    loops = {"tfmat.training.fit": lambda gan: fit(gan, batches, 1),
             "keras Model.fit": lambda gan: gan.fit(batches(0), epochs=1, verbose=0, shuffle=False)}
    models = {name: build_matgan(cfg) for name in loops}
    for name, run in loops.items():
        run(models[name])  # warm-up: tracing
    seconds = {name: [] for name in loops}
    for r in range(args.repeats):
        for name in (list(loops) if r % 2 == 0 else list(loops)[::-1]):
            start = time.perf_counter()
            loops[name](models[name])
            seconds[name].append(time.perf_counter() - start)
    ms = {name: [1e3 * s / args.steps for s in runs] for name, runs in seconds.items()}
    summary = {name: {"median": float(np.median(v)), "min": float(min(v)), "max": float(max(v)), "repeats": v}
               for name, v in ms.items()}
    ratio = summary["tfmat.training.fit"]["median"] / summary["keras Model.fit"]["median"]
    write_json(args.out, {"command": " ".join(["python", "benchmarks/training_loop.py", *sys.argv[1:]]),
                          "what": "MatGAN-MP train steps (thesis layout, batch 32), ms per step",
                          "steps_per_repeat": args.steps, "loops": summary, "ratio_of_medians": ratio,
                          "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()}})
    for name, s in summary.items():
        print(f"{name}: {s['median']:.1f} ms/step (min {s['min']:.1f}, max {s['max']:.1f})")
    print(f"ratio of medians (project / Keras): {ratio:.3f}; wrote {args.out}")


if __name__ == "__main__":
    main()
