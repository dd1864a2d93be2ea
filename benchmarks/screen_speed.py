"""Screening throughput, stage by stage, against the per-formula path.

    python benchmarks/screen_speed.py --samples 200000 --reference 1000 --full-run 2000000 \
        --out benchmarks/screen_speed.json

* Our stages after generation (decode, deduplicate, chemistry, featurise,
  predict) on ``--samples`` generated matrices of the shipped GAN-MP.
* The per-formula path a user would otherwise write, on ``--reference`` of the
  same formulas: pymatgen ``Composition`` + ``smact_validity`` + matminer
  Magpie ``featurize`` per formula, then one batched call of the same models
  (batched prediction is the reference's most favourable choice).
* The generator's throughput against the machine's measured float32
  matrix-multiply peak (FLOPs per sample × samples/s ÷ peak FLOP/s).
* ``--full-run N``: ``python screen.py -n N`` in a child process, its wall time
  and peak resident memory.

``--arch`` picks the shipped property models (as ``screen --arch``; the
default architecture unless given).
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tfmat.chemistry import check_compositions, rules_named  # noqa: E402
from tfmat.cnn.config import ARCHITECTURES, DEFAULT_ARCH  # noqa: E402
from tfmat.cnn.predict import Predictor  # noqa: E402
from tfmat.composition import Compositions, decode  # noqa: E402
from tfmat.features import element_fractions, magpie_features  # noqa: E402
from tfmat.gan.sampling import load_generator  # noqa: E402
from tfmat.io import write_json  # noqa: E402
from tfmat.screen import Pool, ScreenConfig  # noqa: E402


def generator_flops(model) -> int:
    """Multiply-adds × 2 of one forward pass of one sample (dense and (transposed) conv layers)."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            total += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            h, w, cin = layer.input.shape[1:]
            kh, kw, cout, _ = layer.kernel.shape
            total += 2 * h * w * cin * kh * kw * cout
        elif isinstance(layer, keras.layers.Conv2D):
            h, w, cout = layer.output.shape[1:]
            kh, kw, cin, _ = layer.kernel.shape
            total += 2 * h * w * kh * kw * cin * cout
    return int(total)


def matmul_peak(n: int = 2048, repeats: int = 20) -> float:
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    f = tf.function(lambda x, y: tf.matmul(x, y))
    f(a, b).numpy()
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        f(a, b).numpy()
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=20_000)
    ap.add_argument("--reference", type=int, default=1000)
    ap.add_argument("--full-run", type=int, default=0)
    ap.add_argument("--arch", default=DEFAULT_ARCH, choices=ARCHITECTURES, help="the shipped property models' "
                    "architecture (default: %(default)s)")
    ap.add_argument("--out", default="benchmarks/screen_speed.json")
    args = ap.parse_args()
    cfg = ScreenConfig(arch=args.arch)
    generator = load_generator(cfg.gan)
    fe_model, bg_model = Predictor(cfg.formation_model), Predictor(cfg.band_gap_model)
    rules = rules_named(cfg.rules)
    rng = np.random.default_rng(0)
    latent = int(generator.inputs[0].shape[-1])

    # generator forward pass alone
    matrices, t_gen = [], 0.0
    generator(rng.standard_normal((args.batch, latent), dtype=np.float32), training=False)  # warm-up
    for a in range(0, args.samples, args.batch):
        z = rng.standard_normal((min(args.batch, args.samples - a), latent), dtype=np.float32)
        t = time.perf_counter()
        m = np.asarray(generator(z, training=False))
        t_gen += time.perf_counter() - t
        matrices.append(m)

    # our stages after generation
    t = {k: 0.0 for k in ("decode", "deduplicate", "chemistry", "featurise", "predict")}
    pool = Pool()
    for m in matrices:
        s = time.perf_counter(); dec = decode(m); t["decode"] += time.perf_counter() - s
        s = time.perf_counter(); pool.add(dec.formulas, None, dec.counts); t["deduplicate"] += time.perf_counter() - s
    comps = pool.compositions()
    s = time.perf_counter(); valid = check_compositions(comps, rules); t["chemistry"] += time.perf_counter() - s
    s = time.perf_counter(); x, fr = magpie_features(comps), element_fractions(comps); t["featurise"] += time.perf_counter() - s
    s = time.perf_counter()
    fe = fe_model.member_predictions(x, fr).mean(1)
    bg_model.member_predictions(x, fr)
    t["predict"] += time.perf_counter() - s
    ours_total = sum(t.values())
    n_unique = len(pool.formulas)

    # the per-formula path on the first --reference unique formulas
    from matminer.featurizers.composition import ElementProperty
    from pymatgen.core import Composition
    from smact.screening import smact_validity

    options = ({} if rules.oxidation_states is None else  # the same rules as tfmat's check, for the agreement count
               {"include_alloys": rules.include_alloys, "oxidation_states_set": rules.oxidation_states})
    ref_formulas = pool.formulas[:args.reference]
    featurizer = ElementProperty.from_preset("magpie")
    r = {k: 0.0 for k in ("parse", "smact_validity", "matminer", "predict")}
    feats, agree = [], 0
    for i, f in enumerate(ref_formulas):
        s = time.perf_counter(); c = Composition(f); r["parse"] += time.perf_counter() - s
        s = time.perf_counter(); ok = smact_validity(c, **options); r["smact_validity"] += time.perf_counter() - s
        s = time.perf_counter(); feats.append(featurizer.featurize(c)); r["matminer"] += time.perf_counter() - s
        agree += bool(ok) == bool(valid.en[i])
    s = time.perf_counter()
    ref_x = np.asarray(feats, np.float32).reshape(-1, 22, 6)
    ref_fr = np.zeros((len(ref_formulas), 118), np.float32)  # element fractions: pymatgen's per formula
    for i, f in enumerate(ref_formulas):
        for el, frac in Composition(f).fractional_composition.items():
            ref_fr[i, el.Z - 1] = frac
    ref_fe = fe_model.member_predictions(ref_x, ref_fr).mean(1)
    bg_model.member_predictions(ref_x, ref_fr)
    r["predict"] += time.perf_counter() - s
    ref_per_formula = sum(r.values()) / len(ref_formulas)
    ours_per_sample = ours_total / args.samples
    ours_per_unique = ours_total / n_unique

    flops = generator_flops(generator)
    peak = matmul_peak()
    gen_rate = args.samples / t_gen
    result = {
        "command": "python " + " ".join(sys.argv),
        "arch": args.arch,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "samples": args.samples, "unique": n_unique,
        "ours_seconds": {k: round(v, 3) for k, v in t.items()},
        "ours_per_second": {"samples_through_all_stages": round(args.samples / ours_total),
                            "unique_formulas_through_all_stages": round(n_unique / ours_total)},
        "reference_formulas": len(ref_formulas),
        "reference_seconds": {k: round(v, 3) for k, v in r.items()},
        "reference_formulas_per_second": round(1 / ref_per_formula, 1),
        "speedup_per_formula": round(ref_per_formula / ours_per_unique, 1),
        "smact_agreement": f"{agree}/{len(ref_formulas)}",
        "max_abs_formation_energy_difference_vs_matminer_features": float(np.abs(ref_fe - fe[:len(ref_fe)]).max()),
        "generator": {"flops_per_sample": flops, "samples_per_second": round(gen_rate),
                      "achieved_gflops": round(flops * gen_rate / 1e9, 2),
                      "matmul_peak_gflops": round(peak / 1e9, 2),
                      "fraction_of_matmul_peak": round(flops * gen_rate / peak, 4)},
    }
    if args.full_run:
        with tempfile.TemporaryDirectory() as tmp:
            s = time.perf_counter()
            proc = subprocess.run([sys.executable, str(ROOT / "screen.py"), "-n", str(args.full_run), "--arch",
                                   args.arch, "-o", str(Path(tmp) / "out")], capture_output=True, text=True, cwd=ROOT)
            wall = time.perf_counter() - s
            if proc.returncode:
                raise SystemExit(proc.stderr[-2000:])
            import json
            summary = json.loads((Path(tmp) / "out" / "summary.json").read_text())
        result["full_run"] = {"n": args.full_run, "wall_seconds": round(wall, 1),
                              "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20, 2),
                              "counts": summary["counts"], "stage_seconds": summary["seconds"]}
    write_json(args.out, result)
    print(result)


if __name__ == "__main__":
    main()
