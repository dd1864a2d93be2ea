"""Sample quality of a trained MatGAN (SPEC §4): decoding, uniqueness, CN / CN+EN shares.

    python benchmarks/gan_quality.py --gan check_point/iMatGAN/MP -n 100000 --dataset MP \
        --out check_point/iMatGAN/MP/quality.json

Draws ``n`` samples (seed 0) in batches and reports:
``decoded`` share of samples that decode to a formula (2–8 elements);
``unique_of_decoded`` distinct formulas among the decoded ones (the thesis's
uniqueness); ``new_of_unique`` distinct formulas absent from the whole dataset;
CN and CN+EN shares of the decoded samples and of the dataset's training
formulas under the thesis's rules (SMACT 2014 oxidation states) and under
SMACT 4's defaults. Also the generation speed and peak memory.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np

from tfmat.chemistry import SMACT_DEFAULT, THESIS, check
from tfmat.data import load_gan_dataset
from tfmat.gan.sampling import load_generator, sample_batches
from tfmat.io import write_json


def shares(counts: np.ndarray) -> dict:
    out = {}
    for name, rules in (("thesis_rules", THESIS), ("smact4_default", SMACT_DEFAULT)):
        v = check(counts, rules)
        out[name] = {k: round(100 * x, 2) for k, x in v.shares().items()}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gan", required=True)
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--dataset", default="MP")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=10_000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)

    generator = load_generator(args.gan)
    start = time.perf_counter()
    formulas, counts, samples = [], [], 0
    for batch in sample_batches(generator, args.n, seed=args.seed, batch_size=args.batch_size):
        formulas += batch.formulas
        counts.append(batch.counts)
        samples += len(batch.rows) + len(batch.rejects)
    seconds = time.perf_counter() - start
    counts = np.concatenate(counts)
    data = load_gan_dataset(args.dataset)
    known = set(data.formulas)
    unique = set(formulas)
    report = {
        "command": " ".join(["python", *sys.argv]),
        "samples": samples,
        "decoded_pct": round(100 * len(formulas) / samples, 2),
        "unique_of_decoded_pct": round(100 * len(unique) / max(len(formulas), 1), 2),
        "new_of_unique_pct": round(100 * len(unique - known) / max(len(unique), 1), 2),
        "mean_elements": round(float((counts > 0).sum(axis=1).mean()), 2) if len(counts) else 0.0,
        "generated_chemistry_pct": shares(counts),
        "training_chemistry_pct": shares(data.train().counts),
        "generation_samples_per_s": round(samples / seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    write_json(args.out, report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
