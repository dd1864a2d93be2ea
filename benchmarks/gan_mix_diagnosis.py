"""Where a MatGAN generator's formula mix goes wrong: faint element rows, the decoding threshold, batch norm.

    python benchmarks/gan_mix_diagnosis.py [--gan check_point/iMatGAN/MP] [--samples 20480]

On ``--samples`` draws of noise seed 11, from the raw generated matrices:
the distribution of each element row's largest cell (how present the element
is); the arity distribution of the samples when a cell counts at ≥ 0.2 (the
thesis's rule), 0.5 and 0.7; and the total-variation distances from the
training set's mix with the batch norms in inference mode (moving averages,
as ``generate`` samples) and in training mode (the statistics of each batch
of 2,048).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tfmat.io import write_json  # noqa: E402

BATCH = 2048
N_MAX = 8  # elements a decoded formula may hold
EDGES = [0.0, 0.05, 0.2, 0.5, 0.7, 0.9, 1.0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gan", default="check_point/iMatGAN/MP")
    ap.add_argument("--dataset", default="MP")
    ap.add_argument("--samples", type=int, default=10 * BATCH)
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    args = ap.parse_args(argv)

    from tfmat.composition import decode, decode_counts
    from tfmat.data import load_gan_dataset
    from tfmat.evaluation.metrics import arity_distribution, total_variations
    from tfmat.gan.sampling import load_generator

    generator = load_generator(args.gan)
    train = load_gan_dataset(args.dataset).train().counts
    noise = np.random.default_rng(11).standard_normal((args.samples, 128), dtype=np.float32)

    def matrices(training: bool) -> np.ndarray:
        return np.concatenate([np.asarray(generator(noise[i:i + BATCH], training=training))[..., 0]
                               for i in range(0, args.samples, BATCH)])

    m = matrices(False)
    row_max = m.max(axis=-1)
    hist = np.histogram(row_max, bins=EDGES)[0]
    shares = lambda a: {str(k): round(float(v), 4) for k, v in enumerate(a)}  # noqa: E731
    by_threshold = {}
    for cell in (0.2, 0.5, 0.7):
        counts = decode_counts(m, tol=1.0 - cell)
        arity = np.bincount(np.count_nonzero(counts, axis=1), minlength=N_MAX + 1)[:N_MAX + 1] / len(counts)
        by_threshold[str(cell)] = {"arity_shares_all_samples": shares(arity)}
    modes = {}
    for name, training in (("inference", False), ("training", True)):
        d = decode(m if not training else matrices(True))
        tv = total_variations(d.counts, train)
        modes[name] = {"decoded": round(len(d.formulas) / args.samples, 4),
                       "arity_tv": round(tv["arity_total_variation"], 4),
                       "element_tv": round(tv["element_total_variation"], 4)}
    result = {"command": " ".join(["python", *sys.argv]), "gan": args.gan, "samples": args.samples,
              "noise_seed": 11,
              "train_arity_shares": {str(k + 1): round(float(v), 4) for k, v in enumerate(arity_distribution(train))},
              "row_max_share": {f"{a}-{b}": round(float(h) / row_max.size, 5) for a, b, h in zip(EDGES, EDGES[1:], hist)},
              "rows_per_sample": {"above_0.9": round(float((row_max > 0.9).sum()) / args.samples, 3),
                                  "0.2_to_0.9": round(float(((row_max >= 0.2) & (row_max <= 0.9)).sum()) / args.samples, 3)},
              "arity_by_cell_threshold": by_threshold, "batch_norm_mode": modes}
    write_json(args.out, result)
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
