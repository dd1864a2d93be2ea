"""The shipped CCCGAN judged on known and new Mg–Mn–O compositions, beside a random baseline.

100 crystals (seed 0) for each of the 11 compositions with the most training
structures and for 5 compositions absent from the training data (charge
neutral with Mn at +2 to +4), every share over all samples requested. The
baseline puts the same atoms at random coordinates in a training cell
(:func:`tfmat.structure.evaluation.random_baseline`). When the generator ends
in a soft-sphere push (``repel_steps`` > 0), the same push applied to the
baseline is reported too (``random_baseline_repelled``): what the push alone
achieves, without anything learned. Novelty is judged for the generator only
(random coordinates are novel by construction).

    python benchmarks/cccgan_structures.py [--model check_point/CCCGAN/MgMnO] [--data PATH]

Writes ``benchmarks/cccgan_structures.json`` and the density / shortest-distance
histograms ``benchmarks/cccgan_structures.png``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "reference" / "crystal" / "mgmno_unique_sc.npy"
NEW = ["Mg3Mn2O7", "Mg3Mn4O7", "Mg4Mn3O7", "Mg2Mn5O9", "Mg6Mn1O7"]
PER_COMPOSITION = 100


def known_compositions(counts: np.ndarray, n: int = 11) -> np.ndarray:
    """The ``n`` atom-count rows with the most training structures, most first."""
    kinds, freq = np.unique(counts, axis=0, return_counts=True)
    return kinds[np.argsort(-freq, kind="stable")[:n]]


def setup(doc: str, out_name: str):
    """Parse --model / --data / --out (default ``benchmarks/<out_name>``); load the generator and the
    data: ``(args, generator, layout, config, data, train crystals, model label)``."""
    from tfmat.gan.cccgan import load_structure_generator
    from tfmat.structure.codec import decode
    from tfmat.structure.data import load_structures

    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--model", default=str(ROOT / "check_point" / "CCCGAN" / "MgMnO"))
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--out", default=str(ROOT / "benchmarks" / out_name))
    args = p.parse_args()
    generator, layout, config = load_structure_generator(args.model)
    data = load_structures(args.data, layout)
    model = Path(args.model)
    label = str(model.relative_to(ROOT)) if model.is_relative_to(ROOT) else args.model
    return args, generator, layout, config, data, decode(data.matrices, layout).crystals, label


def main() -> None:
    from tfmat.gan.cccgan import sample_matrices
    from tfmat.io import write_json
    from tfmat.structure.codec import composition_from_string, decode, encode
    from tfmat.structure.evaluation import evaluate, formula_of, random_baseline
    from tfmat.structure.plots import histograms

    args, generator, layout, config, data, train, label = setup(__doc__, "cccgan_structures.json")
    known = known_compositions(data.counts)
    new = np.array([composition_from_string(f, layout) for f in NEW])
    assert not any((data.counts == n).all(axis=1).any() for n in new), "a 'new' composition is in the data"

    result = {"model": label,
              "per_composition": PER_COMPOSITION, "seed": 0, "repel_steps": config.repel_steps,
              "known": [formula_of(k, layout.elements) for k in known], "new": NEW}
    every = {}
    for group, wanted in (("known", known), ("new", new)):
        requested = np.repeat(wanted, PER_COMPOSITION, axis=0)
        start = time.time()
        crystals, reasons = decode(sample_matrices(generator, layout, requested, seed=0), layout)
        figures, samples, _, _ = evaluate(crystals, requested, layout.elements, train, reasons=reasons)
        randoms = random_baseline(requested, train, layout.elements, seed=0)
        baseline, _, _, _ = evaluate(randoms, requested, layout.elements, train, novelty=False)
        result[group] = {"generated": figures, "random_baseline": baseline}
        if config.repel_steps:
            pushed = repel(generator, encode(randoms, layout), requested, layout)
            result[group]["random_baseline_repelled"] = evaluate(decode(pushed, layout).crystals, requested,
                                                                 layout.elements, train, novelty=False)[0]
        result[group]["seconds"] = round(time.time() - start, 1)
        every[group] = (requested, crystals, reasons, samples)
        print(group, figures, "\nbaseline", baseline, file=sys.stderr)
    requested = np.concatenate([every[g][0] for g in every])
    crystals = [c for g in every for c in every[g][1]]
    reasons = [r for g in every for r in every[g][2]]
    overall, samples, _, _ = evaluate(crystals, requested, layout.elements, novelty=False, reasons=reasons)
    result["all"] = overall
    result["bars"] = {"valid >= 0.9": overall["valid"] >= 0.9, "conditioned >= 0.9": overall["conditioned"] >= 0.9,
                      "unique >= 0.5": overall["unique"] >= 0.5,
                      "valid > baseline": all(result[g]["generated"]["valid"] > result[g]["random_baseline"]["valid"]
                                              for g in ("known", "new"))}
    write_json(args.out, result)
    histograms(Path(args.out).with_suffix(".png"), samples, train)
    print(result["all"], result["bars"], file=sys.stderr)


def repel(generator, matrices, requested, layout):
    """``matrices`` after the generator's own soft-sphere push (its ``repel`` layer)."""
    import tensorflow as tf

    from tfmat.structure.codec import composition_onehot

    mask = generator.get_layer("slot_mask")(tf.constant(composition_onehot(requested, layout)))
    coords = generator.get_layer("repel")([tf.constant(matrices[:, 2:, :, None]),
                                           tf.constant(matrices[:, :2, :, None]), mask])
    out = matrices.copy()
    out[:, 2:] = coords.numpy()[..., 0]
    return out


if __name__ == "__main__":
    main()
