"""``tfmat screen``: generate, filter, predict and list candidate materials."""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from . import UsageError, add_drop_bad_rows, add_overwrite


def register(sub) -> None:
    from ..cnn.config import ARCHITECTURES
    from ..screen import ScreenConfig

    d = ScreenConfig()
    p = sub.add_parser("screen", help="discover candidates: generate, filter by chemistry, predict E_f and E_g",
                       description="Generate formulas with a trained MatGAN (or read --input), keep the new "
                                   "charge-neutral, electronegativity-balanced ones, predict formation energy and "
                                   "band gap, and write candidates.csv, table_5_1.csv, table_5_2.csv, summary.json "
                                   "and histograms.png. The thesis ran -n 2000000.")
    p.add_argument("-o", "--out", default="screening", help="output directory (default: %(default)s)")
    add_overwrite(p)
    p.add_argument("-n", type=int, default=d.n, help="samples to generate (default: %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="noise seed (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="samples per batch (default: %(default)s)")
    p.add_argument("--gan", default=d.gan, help="trained GAN directory (default: the shipped GAN-MP)")
    p.add_argument("--dataset", default=None, help="the GAN's training database (default: from its run record)")
    p.add_argument("--data", default=None, help="your file for that database (ICSD)")
    add_drop_bad_rows(p)
    p.add_argument("--input", default=None, help="screen the formulas of this CSV instead of generating")
    p.add_argument("--arch", default=d.arch, choices=ARCHITECTURES,
                   help="property models' architecture: the shipped models of it, or its folders under --models "
                        "(default: %(default)s)")
    p.add_argument("--models", metavar="DIR", help="folder holding MP_formation_energy/ and MP_band_gap/ (with "
                                                   "_attention for --arch attention: model folders or train-cnn "
                                                   "runs, e.g. runs/cnn); default: the shipped models")
    p.add_argument("--formation-model", help="formation-energy model (folder, train-cnn run or shipped name; "
                                             "overrides --models)")
    p.add_argument("--band-gap-model", help="band-gap model (likewise)")
    p.add_argument("--require", default=d.require, choices=["cn+en", "cn", "none"],
                   help="chemistry a candidate must pass (default: %(default)s)")
    p.add_argument("--rules", default=d.rules, choices=["thesis", "smact"],
                   help="oxidation-state rules: thesis (SMACT 2014 states, no alloy shortcut) or smact "
                        "(SMACT 4 defaults) (default: %(default)s)")
    p.add_argument("--max-formation-energy", type=float, default=d.max_formation_energy,
                   help="table 5.2: formation energy below this, eV/atom (default: %(default)s)")
    p.add_argument("--gap-min", type=float, default=d.gap_min, help="table 5.2 band-gap window, eV (default: %(default)s)")
    p.add_argument("--gap-max", type=float, default=d.gap_max, help="(default: %(default)s)")
    p.add_argument("--gap-target", type=float, default=d.gap_target,
                   help="table 5.2 is ordered by closeness to this gap, eV (default: %(default)s)")
    p.add_argument("--top", type=int, default=d.top, help="table 5.1 rows per arity (default: %(default)s)")
    p.set_defaults(func=_screen)


def _screen(args) -> int:
    from ..cnn.config import model_name
    from ..screen import ScreenConfig, screen

    names = {f.name for f in fields(ScreenConfig)}
    if args.models:
        for field, attribute in (("formation_model", "formation_energy"), ("band_gap_model", "band_gap")):
            if getattr(args, field) is None:
                setattr(args, field, str(Path(args.models) / model_name(attribute, args.arch)))
    config = ScreenConfig(**{k: v for k, v in vars(args).items() if k in names and v is not None})
    if config.n < 1:
        raise UsageError("-n must be at least 1")
    if config.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    if not config.gap_min <= config.gap_target <= config.gap_max:
        raise UsageError("need --gap-min <= --gap-target <= --gap-max")
    if config.input and not Path(config.input).is_file():
        raise UsageError(f"--input {config.input}: no such file")
    try:
        summary = screen(config, args.out, overwrite=args.overwrite)
    except FileExistsError as err:
        raise UsageError(str(err)) from None
    c = summary["counts"]
    print("  ".join(f"{k}={v:,}" for k, v in c.items()))
    outside = summary["outside_domain"]
    if any(outside.values()):
        print("outside the training domain (in_domain false): " + ", ".join(
            f"{n:,} for the {name.replace('_', ' ')} model" for name, n in outside.items()))
    print(f"table 5.2: {summary['table_5_2_rows']:,} candidates; {summary['seconds']['total']:.1f} s; "
          f"outputs in {args.out}/")
    return 0
