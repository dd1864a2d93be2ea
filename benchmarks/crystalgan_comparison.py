"""The CrystalGAN paper's comparison, measured: four generators on the same Pd–H and Ni–H data.

Trained with the same budget (``--epochs``, batch 35, Adam 1e-4, β1 0.5, the
paper's 5 × 100 MLPs) from each of ``--seeds``:

* ``noise``: one generator from Gaussian noise, one discriminator on both domains;
* ``discogan``: CrystalGAN's step 1 alone (its outputs are G_AHB1(x) and G_BHA1(y));
* ``crystalgan_unconstrained``: the three steps, geometric weights 0;
* ``crystalgan``: the three steps with the hinge constraint, weight 30 (the default);
* ``crystalgan_weight_1``: the same with the geometric weights at 1;
* ``crystalgan_paper_terms``: the three steps with the constraint's formulas as printed (weight 30).

Each generator's last epoch is judged (no epoch selection) on 70 samples: the
translations of all 35 + 35 training inputs, or 70 noise draws.
:func:`tfmat.structure.constraints.evaluate_hydrides` gives the shares, each
over all 70 samples (pseudo-binaries count as failures): ternaries whose A–B,
A–A′ and B–B′ nearest-neighbour distances all lie in [1.8, 3] Å
(``in_range``), no distance below 0.5 Å (``no_clash``), both metals present
(``ternary``), unique under StructureMatcher (``unique``). The untrained
generators are judged too (``untrained``), and so are the 70 training binaries
themselves (``training_binaries``: their median cell volume per atom is the
scale a generated cell should have).

    python benchmarks/crystalgan_comparison.py [--epochs 1000] [--seeds 0 1 2] [--data-a PdH --data-b NiH]
    python benchmarks/crystalgan_comparison.py --table    # the README's table, from the JSON

Writes ``benchmarks/crystalgan_comparison.json`` and the distance histograms
``benchmarks/crystalgan_comparison.png`` (all seeds pooled, d1 and d2 marked).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "noise": {"variant": "noise"},
    "discogan": {"variant": "discogan"},
    "crystalgan_unconstrained": {"geo1_weight": 0.0, "geo2_weight": 0.0},
    "crystalgan": {},
    "crystalgan_weight_1": {"geo1_weight": 1.0, "geo2_weight": 1.0},
    "crystalgan_paper_terms": {"geo_form": "paper"},
}
SHARES = ("in_range", "no_clash", "ternary", "unique", "decoded")


def judge(gan, cfg, a, b):
    from tfmat.gan.crystalgan import sample_arrays, sampler_of
    from tfmat.structure.constraints import evaluate_hydrides

    arrays, _ = sample_arrays(sampler_of(gan), 2 * max(len(a), len(b)), a, b, seed=cfg.seed)
    judged = evaluate_hydrides(arrays, cfg.layout, cfg.d1, cfg.d2)
    return judged.figures, judged.distances


def spread(values):
    v = np.asarray(values, float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max()), "per_seed": [float(x) for x in v]}


def plot(path, distances: dict, d1: float, d2: float):
    from tfmat.evaluation.plots import _figure, _save
    from tfmat.structure.constraints import PAIRS

    fig, axes = _figure(1, 3, figsize=(13, 3.6))
    bins = np.linspace(0, 5, 51)
    for k, (ax, pair) in enumerate(zip(axes, PAIRS)):
        for name, d in distances.items():
            values = d[:, k][np.isfinite(d[:, k])]
            ax.hist(np.clip(values, 0, 5), bins=bins, histtype="step", lw=1.3, label=f"{name} ({len(values)})")
        ax.axvline(d1, color="k", ls="--", lw=0.8)
        ax.axvline(d2, color="k", ls="--", lw=0.8)
        ax.set_xlabel(f"shortest {pair.replace('-', '–')}{'′' if pair[0] == pair[-1] else ''} distance (Å)")
        ax.set_ylabel("samples")
    axes[0].legend(fontsize=7)
    return _save(fig, path)


LABELS = {"noise": "GAN from Gaussian noise", "discogan": "DiscoGAN (step 1)",
          "crystalgan_unconstrained": "CrystalGAN, no constraint", "crystalgan": "**CrystalGAN, constraint (default)**",
          "crystalgan_weight_1": "CrystalGAN, constraint weight 1",
          "crystalgan_paper_terms": "CrystalGAN, the printed constraint formulas"}


def table(report: dict) -> str:
    """The README's markdown table: mean ± standard deviation over the seeds, (min–max) for in range."""
    head = ("| generator | in [d1, d2] | no distance < 0.5 Å | ternary | unique | volume / atom (Å³) |\n"
            "|---|---|---|---|---|---|")
    rows = []
    for name, r in report["variants"].items():
        pct = lambda k: f"{100 * r[k]['mean']:.1f} ± {100 * r[k]['std']:.1f}"  # noqa: E731
        span = f" ({100 * r['in_range']['min']:.1f}–{100 * r['in_range']['max']:.1f})"
        rows.append(f"| {LABELS.get(name, name)} | {pct('in_range')}{span} | {pct('no_clash')} | {pct('ternary')} | "
                    f"{pct('unique')} | {r['median_volume_per_atom']['mean']:.1f} |")
    t = report["training_binaries"]
    rows.append(f"| (the 70 training binaries) | — | {100 * t['no_clash']:.1f} | 0 | {100 * t['unique']:.1f} | "
                f"{t['median_volume_per_atom']:.1f} |")
    return "\n".join([head, *rows])


def main() -> int:
    import json

    from tfmat.gan.config import CrystalGanConfig
    from tfmat.gan.crystalgan import build_crystalgan
    from tfmat.gan.run import hydride_pipeline
    from tfmat.io import write_json
    from tfmat.structure.blocks import load_domain, resolve_domain

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--data-a", default="PdH")
    p.add_argument("--data-b", default="NiH")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "crystalgan_comparison.json"))
    p.add_argument("--table", action="store_true", help="print the markdown table of the JSON at --out and stop")
    args = p.parse_args()
    if args.table:
        print(table(json.loads(Path(args.out).read_text())))
        return 0
    base = CrystalGanConfig(epochs=args.epochs)
    a = load_domain(resolve_domain(args.data_a), "A", base.layout).arrays
    b = load_domain(resolve_domain(args.data_b), "B", base.layout).arrays
    from tfmat.structure.constraints import evaluate_hydrides

    training = evaluate_hydrides(np.concatenate([a, b]), base.layout, base.d1, base.d2).figures
    results, pooled = {}, {}
    for name, changes in VARIANTS.items():
        runs, pooled[name] = [], []
        for seed in args.seeds:
            cfg = replace(base, seed=seed, **changes)
            gan = build_crystalgan(cfg, cfg.layout)
            untrained, _ = judge(gan, cfg, a, b)
            start = time.perf_counter()
            gan.fit(hydride_pipeline(cfg, a, b), epochs=cfg.epochs, verbose=0)
            seconds = time.perf_counter() - start
            figures, distances = judge(gan, cfg, a, b)
            pooled[name].append(distances)
            runs.append({"seed": seed, "seconds": seconds, "trained": figures, "untrained": untrained})
            print(f"{name} seed {seed}: {seconds:.0f} s, " + ", ".join(
                f"{k} {100 * figures[k]:.1f}%" for k in SHARES) + f" (untrained in_range "
                f"{100 * untrained['in_range']:.1f}%)", file=sys.stderr)
        results[name] = {"config": changes, "runs": runs,
                         **{k: spread([r["trained"][k] for r in runs]) for k in SHARES},
                         "median_volume_per_atom": spread([r["trained"]["median_volume_per_atom"] for r in runs]),
                         "untrained_in_range": spread([r["untrained"]["in_range"] for r in runs])}
    out = Path(args.out)
    write_json(out, {"command": "python benchmarks/crystalgan_comparison.py " + " ".join(sys.argv[1:]),
                     "data": [str(resolve_domain(args.data_a)), str(resolve_domain(args.data_b))],
                     "epochs": args.epochs, "seeds": args.seeds, "samples": 2 * max(len(a), len(b)),
                     "d1": base.d1, "d2": base.d2, "training_binaries": training, "variants": results})
    plot(out.with_suffix(".png"), {k: np.concatenate(v) for k, v in pooled.items()}, base.d1, base.d2)
    print(table(json.loads(out.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
