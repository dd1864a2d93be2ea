"""Critic normalisation, batch norm (thesis code) vs layer norm: a short real training comparison.

    python benchmarks/gan_norm.py [--steps 600] [--every 100] [--out benchmarks/gan_norm.json]

Trains GAN-MP with the thesis hyperparameters (batch 32, lr G 1e-3 / D 1e-2)
on the embedded MP training formulas, once per normalisation, from the same
seed, and scores 2,000 samples at every ``--every`` steps: share that decodes
to a formula, mean elements above threshold, the L1 distance between per-element
occurrence rates of the samples and of the training set, and distinct share.
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
from tfmat.models.matgan import THESIS_CONFIGS, build_matgan


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
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "gan_norm.json"))
    args = ap.parse_args(argv)
    counts = load_gan_dataset("MP").train().counts
    reference = (counts > 0).mean(axis=0)
    runs = {}
    for norm in ("layer", "batch"):
        cfg = replace(THESIS_CONFIGS["MP"], critic_norm=norm)
        gan = build_matgan(cfg)
        ds = gan_pipeline(counts, cfg.batch_size, seed=cfg.seed)
        it = iter(ds.repeat())
        curve = [{"step": 0, **score(gan.generator, reference)}]
        start = time.perf_counter()
        for step in range(args.every, args.steps + 1, args.every):
            gan.fit(tf.data.Dataset.from_tensor_slices(tf.stack([next(it) for _ in range(args.every)])),
                    epochs=1, verbose=0, shuffle=False)
            curve.append({"step": step, **score(gan.generator, reference)})
            print(norm, curve[-1], flush=True)
        runs[norm] = {"seconds": round(time.perf_counter() - start, 1), "curve": curve}
    write_json(args.out, {"command": " ".join(["python", *sys.argv]), "config": THESIS_CONFIGS["MP"].to_dict(),
                          "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
