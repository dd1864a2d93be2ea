"""``tfmat generate-structures`` and ``tfmat evaluate-structures``: crystals from a CCCGAN or a CrystalGAN,
and their metrics."""
from __future__ import annotations

import sys
from pathlib import Path

from . import UsageError, add_overwrite, refuse_existing


def register(sub) -> None:
    g = sub.add_parser("generate-structures", help="crystal structures from a CCCGAN (given compositions) or a "
                                                   "CrystalGAN (ternary hydrides)",
                       description="CCCGAN: draw N crystals for each --composition and write one CIF per crystal "
                                   "(invalid ones too) and structures.csv to OUTDIR. A composition names the "
                                   "cell's contents: Mg4Mn2O8 is 4 Mg, 2 Mn and 8 O atoms. CrystalGAN: translate "
                                   "the binaries of --data-a and --data-b in turn into N ternary hydrides, written "
                                   "as CIF and POSCAR, with their A-B, A-A' and B-B' nearest-neighbour distances "
                                   "in structures.csv.")
    g.add_argument("--model", required=True, metavar="DIR", help="CCCGAN or CrystalGAN run or shipped folder "
                                                                 "(generator.keras, config.json)")
    g.add_argument("--composition", action="append", metavar="FORMULA",
                   help="CCCGAN: cell contents, e.g. Mg2MnO4; repeat for several (required)")
    g.add_argument("--data-a", help="CrystalGAN: the A-H binaries to translate (.mat, POSCAR file or directory; "
                                    "PdH: the reference file beside the checkout)")
    g.add_argument("--data-b", help="CrystalGAN: the B-H binaries to translate (NiH: the reference file)")
    g.add_argument("-n", type=int, required=True, help="crystals per composition (CrystalGAN: in all)")
    g.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    g.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    g.add_argument("--data", metavar="PATH", help="training structures (.npy or CIF/POSCAR folder): fills the "
                                                  "novel column (StructureMatcher, about 10 ms per comparison)")
    add_overwrite(g)
    g.set_defaults(func=generate_structures)

    e = sub.add_parser("evaluate-structures", help="validity, conditioning, uniqueness, novelty and "
                                                   "distribution distances of generated crystals",
                       description="Score a folder written by generate-structures against the training "
                                   "structures, beside a random-coordinate baseline for the same requests.")
    e.add_argument("folder", metavar="OUTDIR", help="folder written by generate-structures")
    e.add_argument("--data", required=True, metavar="PATH", help="training structures (.npy or CIF/POSCAR folder)")
    e.add_argument("--system", default="MgMnO", help="slot layout of the data (default: MgMnO)")
    e.add_argument("--no-novelty", dest="novelty", action="store_false",
                   help="skip novelty (the slowest metric: each crystal against the training crystals of its "
                        "formula)")
    e.add_argument("--seed", type=int, default=0, help="baseline seed (default: 0)")
    e.add_argument("-o", "--output", metavar="FILE", help="metrics JSON (default: OUTDIR/evaluation.json; "
                                                          "histograms beside it as .png)")
    add_overwrite(e)
    e.set_defaults(func=evaluate_structures)


def _training(path: str, layout):
    from ..structure.codec import decode
    from ..structure.data import load_structures

    try:
        data = load_structures(path, layout)
    except ValueError as err:
        raise UsageError(str(err)) from err
    if data.rejects:
        name, reason = data.rejects[0]
        print(f"{len(data.rejects)} structures of {path} left out (first: {name}: {reason})", file=sys.stderr)
    return decode(data.matrices, layout).crystals


def _model_kind(folder) -> str | None:
    import json

    config = Path(folder) / "config.json"
    try:
        return json.loads(config.read_text()).get("dataset") if config.is_file() else None
    except ValueError as err:
        raise UsageError(f"{config}: not a JSON config ({err})") from err


def generate_hydrides(args) -> int:
    from ..gan.crystalgan import load_hydride_sampler, sample_arrays
    from ..structure.constraints import PAIRS, evaluate_hydrides
    from ..structure.output import write_structures
    from .gan import load_domains

    if args.composition:
        raise UsageError("--composition applies to CCCGAN models; a CrystalGAN translates --data-a and --data-b")
    try:
        sampler, layout, config = load_hydride_sampler(args.model)
    except ValueError as err:
        raise UsageError(str(err)) from err
    a = b = None
    if len(sampler.inputs) > 1:
        a, b = (d.arrays for d in load_domains(args.data_a, args.data_b, layout))
    elif args.data_a or args.data_b:
        raise UsageError(f"{args.model} generates from noise ({config.variant}): it takes no --data-a/--data-b")
    arrays, sources = sample_arrays(sampler, args.n, a, b, seed=args.seed)
    judged = evaluate_hydrides(arrays, layout, config.d1, config.d2)
    figures = judged.figures
    extra = {"source": sources,
             **{f"d_{p.replace('-', '_')}": judged.distances[:, k].round(6) for k, p in enumerate(PAIRS)}}
    write_structures(args.output, judged.crystals, judged.samples, judged.unique, extra=extra, poscar=True)
    print(f"generate-structures: {len(judged.samples)} crystals in {args.output}: "
          + ", ".join(f"{100 * figures[k]:.1f}% {k}" for k in ("ternary", "in_range", "no_clash", "unique")),
          file=sys.stderr)
    return 0


def generate_structures(args) -> int:
    import numpy as np

    from ..gan.cccgan import load_structure_generator, sample_matrices
    from ..structure.codec import composition_from_string, decode
    from ..structure.evaluation import evaluate
    from ..structure.output import write_structures

    if args.n < 1:
        raise UsageError("-n must be at least 1")
    refuse_existing(args.output, args.overwrite)
    if _model_kind(args.model) == "CrystalGAN":
        return generate_hydrides(args)
    if not args.composition:
        raise UsageError("a CCCGAN needs --composition (the cell contents, e.g. Mg2MnO4)")
    if args.data_a or args.data_b:
        raise UsageError("--data-a/--data-b apply to CrystalGAN models")
    try:
        generator, layout, _ = load_structure_generator(args.model)
    except ValueError as err:
        raise UsageError(str(err)) from err
    try:
        wanted = np.array([composition_from_string(c, layout) for c in args.composition])
    except ValueError as err:
        raise UsageError(f"--composition {err}") from err
    empty = [c for c, w in zip(args.composition, wanted) if w.sum() == 0]
    if empty:
        raise UsageError(f"--composition {empty[0]!r} has no atoms")
    requested = np.repeat(wanted, args.n, axis=0)
    crystals, reasons = decode(sample_matrices(generator, layout, requested, args.seed), layout)
    train = _training(args.data, layout) if args.data else ()
    figures, samples, unique, novel = evaluate(crystals, requested, layout.elements, train, reasons=reasons)
    write_structures(args.output, crystals, samples, unique, novel if args.data else None)
    print(f"generate-structures: {len(crystals)} crystals in {args.output}: "
          + ", ".join(f"{100 * figures[k]:.1f}% {k}" for k in ("valid", "conditioned", "unique", "novel")
                      if k in figures), file=sys.stderr)
    return 0


def evaluate_structures(args) -> int:
    import numpy as np

    from ..io import write_json
    from ..structure.codec import composition_from_string
    from ..structure.evaluation import evaluate, random_baseline
    from ..structure.output import read_structures
    from ..structure.plots import histograms
    from ..gan.cccgan import LAYOUTS

    if args.system not in LAYOUTS:
        raise UsageError(f"--system {args.system!r}: choose one of {', '.join(LAYOUTS)}")
    layout = LAYOUTS[args.system]
    out = Path(args.output) if args.output else Path(args.folder) / "evaluation.json"
    refuse_existing(out, args.overwrite)
    try:
        folder = read_structures(args.folder)
        if "d_A_B" in folder.table.columns:
            raise UsageError(f"{args.folder} holds CrystalGAN hydrides: their shares are in the line "
                             "generate-structures printed and their distances in structures.csv "
                             "(benchmarks/crystalgan_comparison.py compares models)")
        requested = np.array([composition_from_string(r, layout) for r in folder.table["requested"]])
    except ValueError as err:
        raise UsageError(str(err)) from err
    if not len(folder):
        raise UsageError(f"{args.folder}/structures.csv lists no structures")
    train = _training(args.data, layout)
    generated, samples, _, _ = evaluate(folder.crystals, requested, layout.elements, train, args.novelty,
                                        list(folder.table["reason"]))
    baseline_crystals = random_baseline(requested, train, layout.elements, args.seed)
    baseline, baseline_samples, _, _ = evaluate(baseline_crystals, requested, layout.elements, train,
                                                args.novelty)
    write_json(out, {"folder": str(args.folder), "data": args.data, "generated": generated,
                     "random_baseline": baseline})
    histograms(out.with_suffix(".png"), samples, train)
    for name, f in (("generated", generated), ("random baseline", baseline)):
        print(f"evaluate-structures {name}: " + ", ".join(
            f"{100 * f[k]:.1f}% {k}" for k in ("valid", "composition_valid", "conditioned", "unique", "novel")
            if k in f), file=sys.stderr)
    return 0
