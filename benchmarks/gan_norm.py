"""Critic normalisation (layer, batch as in the thesis code, none): a real GAN-MP training comparison.

    python benchmarks/gan_norm.py --g-lr 1e-4 --d-lr 1e-3 --steps 2400 --every 300 --norms layer batch none

Trains GAN-MP on the embedded MP training formulas once per normalisation,
from the same seed and the same batches, with the thesis hyperparameters
(batch 32, Adam β 0.5/0.9, gradient penalty 10) except the learning rates
``--g-lr`` / ``--d-lr`` (default the thesis's 1e-3 / 1e-2; the shipped GAN-MP
was trained at a tenth of those). Every ``--every`` steps it scores
``--samples`` samples from fixed noise: the share that decodes to a 2–8
element formula, the distinct share of those, the mean number of elements
above the decoding threshold, and the L1 distance between the samples' and the
training set's per-element occurrence rates. The JSON is rewritten after each
normalisation; ``seconds`` is each run's wall time (training and scoring) on
shared CPUs, not a speed comparison.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace

import numpy as np
import tensorflow as tf

from tfmat.composition import decode, decode_counts
from tfmat.data import gan_pipeline, load_gan_dataset
from tfmat.io import write_json
from tfmat.gan.config import THESIS_CONFIGS
from tfmat.gan.matgan import build_matgan


def score(generator, reference_rate, n=2000) -> dict:
    x = generator(tf.random.stateless_normal((n, 128), seed=[7, 7]), training=False).numpy()
    counts = decode_counts(x)
    dec = decode(x)
    return {"decoded": len(dec.formulas) / n, "unique_of_decoded": len(set(dec.formulas)) / max(len(dec.formulas), 1),
            "mean_elements": float((counts > 0).sum(axis=1).mean()),
            "occurrence_l1": float(np.abs((counts > 0).mean(axis=0) - reference_rate).sum())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--g-lr", type=float, default=THESIS_CONFIGS["MP"].g_lr)
    ap.add_argument("--d-lr", type=float, default=THESIS_CONFIGS["MP"].d_lr)
    ap.add_argument("--norms", nargs="+", default=["layer", "batch"], choices=["layer", "batch", "none"])
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "gan_norm.json"))
    args = ap.parse_args(argv)
    counts = load_gan_dataset("MP").train().counts
    reference = (counts > 0).mean(axis=0)
    base = replace(THESIS_CONFIGS["MP"], g_lr=args.g_lr, d_lr=args.d_lr)
    runs = {}
    for norm in args.norms:
        cfg = replace(base, critic_norm=norm)
        gan = build_matgan(cfg)
        ds = gan_pipeline(counts, cfg.batch_size, seed=cfg.seed)
        it = iter(ds.repeat())
        curve = [{"step": 0, **score(gan.generator, reference, args.samples)}]
        start = time.perf_counter()
        for step in range(args.every, args.steps + 1, args.every):
            gan.fit(tf.data.Dataset.from_tensor_slices(tf.stack([next(it) for _ in range(args.every)])),
                    epochs=1, verbose=0, shuffle=False)
            curve.append({"step": step, **score(gan.generator, reference, args.samples)})
            print(norm, curve[-1], flush=True)
        runs[norm] = {"seconds": round(time.perf_counter() - start, 1), "curve": curve}
        write_json(args.out, {"command": " ".join(["python", *sys.argv]),
                              "config": {**base.to_dict(), "critic_norm": args.norms},
                              "steps_per_epoch": int(np.ceil(len(counts) / base.batch_size)),
                              "samples": args.samples, "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
