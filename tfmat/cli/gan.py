"""``tfmat train-gan DB`` and ``tfmat generate``: MatGAN (and CCCGAN) training, MatGAN sampling."""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from ..paths import RUNS
from . import UsageError, add_overwrite, refuse_existing

DATASETS = ("OQMD", "MP", "ICSD", "ICSD_Filter", "Bandgap", "CCCGAN")
# CCCGAN only: flag → CCCGanConfig field (--latent-dim sets its noise_dim)
CCCGAN_OVERRIDES = {
    "width": (int, "CCCGAN: channels of the per-row convolutions"),
    "c_lr": (float, "CCCGAN: classifier learning rate"),
    "decay": (float, "CCCGAN: learning rates × DECAY every --decay-epochs"),
    "decay_epochs": (int, "CCCGAN: epochs between learning-rate decays"),
    "count_weight": (float, "CCCGAN: weight of the classifier's count cross-entropies"),
    "distance_weight": (float, "CCCGAN: weight of the generator's clash term (0: the paper's loss)"),
    "contact": (float, "CCCGAN: distance (Å) under which two atoms clash"),
    "repel_steps": (int, "CCCGAN: soft-sphere steps that push the generator's atoms apart (0: the paper's "
                         "generator; needs --mask-slots)"),
}
# flag → GanConfig field; the flag's help names the field
OVERRIDES = {
    "epochs": (int, "epochs"),
    "batch_size": (int, "global batch size (split across replicas)"),
    "g_lr": (float, "generator learning rate"),
    "d_lr": (float, "critic learning rate"),
    "beta_1": (float, "Adam beta_1"),
    "beta_2": (float, "Adam beta_2"),
    "critic_steps": (int, "critic steps per generator step"),
    "gp_weight": (float, "gradient-penalty weight"),
    "latent_dim": (int, "noise size"),
    "seed": (int, "random seed (weights, noise, shuffling)"),
}


def _dataset(name: str) -> str:
    canon = {d.lower(): d for d in DATASETS}.get(name.lower())
    if canon is None:
        raise argparse.ArgumentTypeError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return canon


def _defaults_table() -> str:
    from ..gan.config import THESIS_CONFIGS

    fields = ["architecture", *OVERRIDES, "critic_norm", "jit_compile", "strategy"]
    head = "thesis defaults per dataset (every one is overridable by the flag of the same name):\n"
    rows = [f"  {db:<12}" + " ".join(f"{f}={getattr(c, f)}" for f in fields) for db, c in THESIS_CONFIGS.items()]
    from ..gan.config import CCCGanConfig

    c = CCCGanConfig()
    rows.append("  CCCGAN      " + " ".join(f"{f}={v}" for f, v in c.to_dict().items() if f != "dataset"))
    return head + "\n".join(rows)


def register(sub) -> None:
    from ..distribute import STRATEGIES
    from ..gan.config import ARCHITECTURES
    from ..gan.sampling import GENERATION_BATCH

    p = sub.add_parser("train-gan", help="train a MatGAN (WGAN-GP) on a thesis dataset",
                       description="Train a MatGAN on DB. Rerunning with the same --out resumes an "
                                   "interrupted run from its last backup (or extends a finished one "
                                   "when --epochs grows).",
                       epilog=_defaults_table(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("database", type=_dataset, metavar="DB", help=f"one of {', '.join(DATASETS)}")
    p.add_argument("--data", help="user formula CSV (or a data directory with train_data/DB/train_formula.csv); "
                                  "required for ICSD and ICSD_Filter. CCCGAN: the paper's .npy or a directory "
                                  "of CIF/POSCAR files (required)")
    p.add_argument("--out", help="run directory (default: runs/iMatGAN/DB); ship a trained run with `tfmat promote`")
    for flag, (kind, what) in OVERRIDES.items():
        p.add_argument("--" + flag.replace("_", "-"), dest=flag, type=kind, help=f"{what} (default: per DB, below)")
    for flag, (kind, what) in CCCGAN_OVERRIDES.items():
        p.add_argument("--" + flag.replace("_", "-"), dest=flag, type=kind, help=f"{what} (default: below)")
    p.add_argument("--mask-slots", dest="mask_slots", action=argparse.BooleanOptionalAction,
                   help="CCCGAN: the composition decides which slots hold atoms; --no-mask-slots leaves it to "
                        "the generator, as in the paper (default: on)")
    p.add_argument("--architecture", choices=sorted(ARCHITECTURES), help="network size (default: per DB)")
    p.add_argument("--critic-norm", choices=("batch", "layer", "none"),
                   help="critic normalisation: batch (thesis code) or layer (default, measured)")
    p.add_argument("--jit-compile", dest="jit_compile", action=argparse.BooleanOptionalAction,
                   help="compile train_step with XLA (default: per DB, below)")
    p.add_argument("--strategy", choices=STRATEGIES,
                   help="tf.distribute strategy: auto = mirrored when >1 GPU is visible; multiworker = the "
                        "cluster in TF_CONFIG, one process per machine (default: auto)")
    p.add_argument("--limit", type=int, help="train on the first N training formulas only (quick runs)")
    p.add_argument("--backup-every", type=int, default=500, help="back up every N batches as well as "
                                                                  "every epoch (default: 500)")
    p.add_argument("--select-samples", type=int, default=None, metavar="N",
                   help="after each epoch score N samples (fixed noise) and keep as generator.keras the epoch "
                        "with the most distinct decoded formulas per sample among those whose CN+EN share is "
                        "within 5 points of the training set's; the latest epoch is generator_last.keras; 0 keeps "
                        "the latest epoch as generator.keras (default: 20000). CCCGAN: N samples over its 8 most frequent "
                        "compositions, kept by the share that is valid and has the requested counts (default: 800)")
    p.add_argument("--progress", type=int, choices=(0, 1, 2), default=1,
                   help="0 silent, 1 progress bar with the losses, 2 one line per epoch (default: 1)")
    add_overwrite(p)
    p.set_defaults(func=train_gan)

    g = sub.add_parser("generate", help="sample formulas from a trained MatGAN",
                       description="Draw N samples from a trained generator and write the ones that decode "
                                   "to a formula (CSV column 'formula'); streams in batches.")
    g.add_argument("--gan", required=True, metavar="DIR", help="directory written by train-gan (or a .keras file)")
    g.add_argument("-n", type=int, required=True, help="number of samples to draw")
    g.add_argument("-o", "--output", required=True, metavar="FILE", help="output CSV")
    g.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    g.add_argument("--batch-size", type=int, default=None,
                   help=f"samples per generator call (default: {GENERATION_BATCH})")
    add_overwrite(g)
    g.set_defaults(func=generate)


def config_from_args(args):
    """The run's config: thesis values for DB (:class:`~tfmat.gan.config.GanConfig`) or the public code's for
    CCCGAN (:class:`~tfmat.gan.config.CCCGanConfig`), then the flags."""
    from ..gan.config import THESIS_CONFIGS, CCCGanConfig

    if args.database == "CCCGAN":
        names = {**{f: f for f in [*OVERRIDES, *CCCGAN_OVERRIDES, "mask_slots", "strategy"]},
                 "latent_dim": "noise_dim"}
        flags = {field: getattr(args, flag) for flag, field in names.items()}
        cfg = replace(CCCGanConfig(), **{k: v for k, v in flags.items() if v is not None})
        for name in ("epochs", "batch_size", "critic_steps", "noise_dim", "width", "decay_epochs"):
            if getattr(cfg, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
        if cfg.repel_steps < 0:
            raise UsageError("--repel-steps must be 0 or more")
        if cfg.repel_steps and not cfg.mask_slots:
            raise UsageError("--repel-steps needs --mask-slots (or --repel-steps 0)")
        return cfg
    extra = [f for f in [*CCCGAN_OVERRIDES, "mask_slots"] if getattr(args, f) is not None]
    if extra:
        raise UsageError(f"--{extra[0].replace('_', '-')} applies to CCCGAN only")

    flags = {f: getattr(args, f) for f in [*OVERRIDES, "architecture", "critic_norm", "jit_compile", "strategy"]}
    cfg = replace(THESIS_CONFIGS[args.database], **{k: v for k, v in flags.items() if v is not None})
    for name in ("epochs", "batch_size", "critic_steps", "latent_dim"):
        if getattr(cfg, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    return cfg


def train_cccgan(args, cfg) -> int:
    from ..gan.cccgan import LAYOUTS
    from ..gan.run import train_cccgan

    if not args.data:
        raise UsageError("CCCGAN needs --data: the paper's .npy of slot matrices or a directory of CIF/POSCAR files")
    from ..structure.data import load_structures

    try:
        data = load_structures(args.data, LAYOUTS[cfg.system])
    except ValueError as err:
        raise UsageError(str(err)) from err
    if data.rejects:
        name, reason = data.rejects[0]
        print(f"{len(data.rejects)} structures of {args.data} left out (first: {name}: {reason})", file=sys.stderr)
    if args.limit is not None:
        data = replace(data, matrices=data.matrices[:args.limit], counts=data.counts[:args.limit],
                       names=data.names[:args.limit])
    summary = train_cccgan(cfg, data, args.out or RUNS / "CCCGAN" / cfg.system,
                           select_samples=800 if args.select_samples is None else args.select_samples,
                           backup_every=args.backup_every, progress=args.progress, overwrite=args.overwrite,
                           record={"data": args.data, "limit": args.limit})
    print(f"train-gan CCCGAN: {summary.epochs_done} epochs done in {summary.out} "
          f"({summary.seconds:.0f} s this run)", file=sys.stderr)
    if summary.best:
        b = summary.best
        print(f"train-gan CCCGAN: generator.keras is epoch {b['epoch'] + 1}: {100 * b['valid']:.1f}% valid, "
              f"{100 * b['conditioned']:.1f}% with the requested counts", file=sys.stderr)
    return 0


def train_gan(args) -> int:
    from ..data import load_gan_dataset
    from ..gan.run import train_matgan

    cfg = config_from_args(args)
    if args.database == "CCCGAN":
        return train_cccgan(args, cfg)
    if args.select_samples is None:
        args.select_samples = 20_000
    data = load_gan_dataset(cfg.dataset, data=args.data)
    if data.rejects:
        r = data.rejects[0]
        print(f"{len(data.rejects)} rows of {args.data} left out (first: line {r.row} {r.text!r}: {r.reason})",
              file=sys.stderr)
    summary = train_matgan(cfg, data.train().counts[: args.limit], args.out or RUNS / "iMatGAN" / cfg.dataset,
                           select_samples=args.select_samples, backup_every=args.backup_every,
                           progress=args.progress, overwrite=args.overwrite,
                           record={"data": args.data, "limit": args.limit})
    print(f"train-gan {cfg.dataset}: {summary.epochs_done} epochs done in {summary.out} "
          f"({summary.seconds:.0f} s this run)", file=sys.stderr)
    if summary.best:
        b = summary.best
        print(f"train-gan {cfg.dataset}: generator.keras is epoch {b['epoch'] + 1}: {100 * b['decoded']:.1f}% of "
              f"{args.select_samples} samples decode, {100 * b['unique']:.1f}% of those are distinct and "
              f"{100 * b['cn_en']:.1f}% CN+EN", file=sys.stderr)
    return 0


def generate(args) -> int:
    from ..gan.sampling import GENERATION_BATCH, load_generator, write_formulas
    from ..progress import bar

    batch_size = args.batch_size or GENERATION_BATCH
    if args.n < 0:
        raise UsageError("-n must be ≥ 0")
    if batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    refuse_existing(args.output, args.overwrite)
    generator = load_generator(args.gan)
    shown = bar(args.n, "generate", "sample")

    def progress(rep):
        shown.update(rep.samples - shown.n)
        shown.set_postfix(decoded=rep.written, refresh=False)

    report = write_formulas(generator, args.n, args.output, seed=args.seed, batch_size=batch_size,
                            progress=progress)
    shown.close()
    reasons = ", ".join(f"{k}: {v}" for k, v in report.failures.most_common())
    print(f"wrote {report.written} formulas to {args.output}; {report.not_decoded} of "
          f"{report.samples} samples did not decode" + (f" ({reasons})" if reasons else ""), file=sys.stderr)
    return 0
