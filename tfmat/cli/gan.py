"""``tfmat train-gan DB`` and ``tfmat generate``: MatGAN (and CCCGAN) training, MatGAN sampling."""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from ..paths import RUNS
from . import (UsageError, add_drop_bad_rows, add_overwrite, add_resume_flags,
               default_output, refuse_existing, report_dropped, start_training)

DATASETS = ("OQMD", "MP", "ICSD", "ICSD_Filter", "Bandgap", "CCCGAN", "CrystalGAN")
# CCCGAN only: flag → CCCGanConfig field (--latent-dim sets its noise_dim)
CCCGAN_OVERRIDES = {
    "width": (int, "CCCGAN: channels of the per-row convolutions; CrystalGAN: units per hidden layer"),
    "c_lr": (float, "CCCGAN: classifier learning rate"),
    "decay": (float, "CCCGAN: learning rates × DECAY every --decay-epochs"),
    "decay_epochs": (int, "CCCGAN: epochs between learning-rate decays"),
    "count_weight": (float, "CCCGAN: weight of the classifier's count cross-entropies"),
    "distance_weight": (float, "CCCGAN: weight of the generator's clash term (0: the paper's loss)"),
    "contact": (float, "CCCGAN: distance (Å) under which two atoms clash"),
    "repel_steps": (int, "CCCGAN: soft-sphere steps that push the generator's atoms apart (0: the paper's "
                         "generator; needs --mask-slots)"),
}
# CrystalGAN only: flag → CrystalGanConfig field (--latent-dim sets the noise baseline's noise_dim; --width
# is shared with CCCGAN)
CRYSTALGAN_OVERRIDES = {
    "variant": (str, "CrystalGAN: crystalgan (the three steps), discogan (step 1 only) or noise (one generator "
                     "from Gaussian noise)"),
    "metal_a": (str, "CrystalGAN: the metal of domain A"),
    "metal_b": (str, "CrystalGAN: the metal of domain B"),
    "depth": (int, "CrystalGAN: dense layers per network"),
    "rec_weight": (float, "CrystalGAN: weight of each reconstruction term"),
    "geo1_weight": (float, "CrystalGAN: weight of the lower geometric term (0: no constraint)"),
    "geo2_weight": (float, "CrystalGAN: weight of the upper geometric term (0: no constraint)"),
    "geo_form": (str, "CrystalGAN: hinge, or paper (the formulas as printed)"),
    "d1": (float, "CrystalGAN: shortest allowed metal-metal distance (Å)"),
    "d2": (float, "CrystalGAN: longest allowed nearest metal-metal distance (Å)"),
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


# MatGAN settings given by their own flags rather than OVERRIDES
MATGAN_CHOICES = ("architecture", "critic_norm", "critic_presence", "decoded_critic", "generator_output",
                  "sharpness", "arity_condition", "jit_compile", "strategy")


def _defaults_table() -> str:
    from ..gan.config import THESIS_CONFIGS

    fields = ["architecture", *OVERRIDES, *MATGAN_CHOICES[1:]]
    head = "thesis defaults per dataset (every one is overridable by the flag of the same name):\n"
    rows = [f"  {db:<12}" + " ".join(f"{f}={getattr(c, f)}" for f in fields) for db, c in THESIS_CONFIGS.items()]
    from ..gan.config import CCCGanConfig, CrystalGanConfig

    c = CCCGanConfig()
    rows.append("  CCCGAN      " + " ".join(f"{f}={v}" for f, v in c.to_dict().items() if f != "dataset"))
    rows.append("  CrystalGAN  " + " ".join(f"{f}={v}" for f, v in CrystalGanConfig().to_dict().items()
                                            if f != "dataset"))
    return head + "\n".join(rows)


def register(sub) -> None:
    from ..distribute import STRATEGIES
    from ..gan.config import ARCHITECTURES, GENERATOR_OUTPUTS
    from ..gan.sampling import GENERATION_BATCH

    p = sub.add_parser("train-gan", help="train a MatGAN (WGAN-GP) on a thesis dataset, a CCCGAN or a CrystalGAN",
                       description="Train a MatGAN on DB (or the CCCGAN or CrystalGAN crystal generators). "
                                   "Rerunning with the same --out resumes an "
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
    for flag, (kind, what) in {**CCCGAN_OVERRIDES, **CRYSTALGAN_OVERRIDES}.items():
        p.add_argument("--" + flag.replace("_", "-"), dest=flag, type=kind, help=f"{what} (default: below)")
    p.add_argument("--data-a", help="CrystalGAN: domain A (A-H binaries): the paper's .mat file, a POSCAR file or a "
                                    "directory of POSCAR files, or PdH for the reference file beside the checkout")
    p.add_argument("--data-b", help="CrystalGAN: domain B (B-H binaries), likewise (NiH for the reference file)")
    p.add_argument("--select-every", type=int, metavar="K",
                   help="CrystalGAN: every K epochs translate every training input and keep as generator.keras "
                        "the epoch with the largest share of ternaries whose metal distances lie in [d1, d2]; "
                        "0 keeps the latest epoch (default: 10)")
    p.add_argument("--mask-slots", dest="mask_slots", action=argparse.BooleanOptionalAction,
                   help="CCCGAN: the composition decides which slots hold atoms; --no-mask-slots leaves it to "
                        "the generator, as in the paper (default: on)")
    p.add_argument("--architecture", choices=sorted(ARCHITECTURES), help="network size (default: per DB)")
    p.add_argument("--critic-norm", choices=("batch", "layer", "none"),
                   help="critic normalisation: batch (thesis code) or layer (default, measured)")
    p.add_argument("--critic-presence", dest="critic_presence", action=argparse.BooleanOptionalAction,
                   help="MatGAN: give the critic each element row's largest cell as well, so that it sees which "
                        "elements a sample holds and how many (default: per DB, below)")
    p.add_argument("--decoded-critic", dest="decoded_critic", action=argparse.BooleanOptionalAction,
                   help="MatGAN: the critic scores each generated matrix as decoding reads it (one-hot, with the "
                        "gradient of the matrix), so that a faint cell decoding counts weighs as a real element "
                        "(default: per DB, below)")
    p.add_argument("--generator-output", choices=GENERATOR_OUTPUTS,
                   help="MatGAN: sigmoid per cell (thesis); softmax per element row over absent and the 8 "
                        "counts, so that a row holds at most one cell above 0.5; or onehot, that softmax's most "
                        "likely choice as a 0/1 row, trained through the softmax's gradient; exact_arity (with "
                        "--arity-condition), those 0/1 rows keeping exactly the drawn element count, or "
                        "exact_arity_soft, the softmax rows keeping that count (default: per DB, below)")
    p.add_argument("--sharpness", type=float, metavar="W",
                   help="MatGAN: weight of a generator term, the mean of Σ x(1 − x) over each sample's cells, which "
                        "pushes every cell towards 0 or 1 as in real matrices; 0 is the thesis's loss "
                        "(default: per DB, below)")
    p.add_argument("--arity-condition", dest="arity_condition", action=argparse.BooleanOptionalAction,
                   help="MatGAN: draw each fake for the element count of a real sample of the batch and let the "
                        "critic see that count; the generator then draws counts with the training set's shares "
                        "(default: per DB, below)")
    p.add_argument("--jit-compile", dest="jit_compile", action=argparse.BooleanOptionalAction,
                   help="compile train_step with XLA (default: per DB, below)")
    p.add_argument("--strategy", choices=STRATEGIES,
                   help="tf.distribute strategy: auto = mirrored when >1 GPU is visible; multiworker = the "
                        "cluster in TF_CONFIG, one process per machine (default: auto)")
    p.add_argument("--limit", type=int, help="train on the first N training formulas only (quick runs)")
    add_resume_flags(p, backup_every=500)
    add_drop_bad_rows(p)
    p.add_argument("--select-samples", type=int, default=None, metavar="N",
                   help="after each epoch score N samples (fixed noise) and keep as generator.keras the epoch "
                        "with the most distinct decoded formulas per sample less the arity and element "
                        "total-variation distances from the training set, among those whose CN+EN share is "
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


def _crystalgan_config(args):
    from ..gan.config import CRYSTALGAN_VARIANTS, CrystalGanConfig

    wrong = [f for f in ["critic_steps", "gp_weight", *CCCGAN_OVERRIDES, "mask_slots"]
             if f != "width" and getattr(args, f) is not None]
    if wrong:
        raise UsageError(f"--{wrong[0].replace('_', '-')} does not apply to CrystalGAN")
    names = {**{f: f for f in [*OVERRIDES, *CRYSTALGAN_OVERRIDES, "width", "strategy"]
                if f not in ("critic_steps", "gp_weight")}, "latent_dim": "noise_dim"}
    flags = {field: getattr(args, flag) for flag, field in names.items()}
    cfg = replace(CrystalGanConfig(), **{k: v for k, v in flags.items() if v is not None})
    for name in ("epochs", "batch_size", "noise_dim", "width", "depth", "rows"):
        if getattr(cfg, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    if cfg.variant not in CRYSTALGAN_VARIANTS:
        raise UsageError(f"--variant {cfg.variant!r}: choose one of {', '.join(CRYSTALGAN_VARIANTS)}")
    if cfg.geo_form not in ("hinge", "paper"):
        raise UsageError(f"--geo-form {cfg.geo_form!r}: choose hinge or paper")
    if not 0 < cfg.d1 < cfg.d2:
        raise UsageError(f"--d1 and --d2 need 0 < d1 < d2 (got {cfg.d1} and {cfg.d2})")
    try:
        cfg.layout
    except ValueError as err:
        raise UsageError(f"--metal-a/--metal-b: {err}") from err
    return cfg


def config_from_args(args):
    """The run's config: thesis values for DB (:class:`~tfmat.gan.config.GanConfig`) or the public code's for
    CCCGAN (:class:`~tfmat.gan.config.CCCGanConfig`) and CrystalGAN (:class:`~tfmat.gan.config.CrystalGanConfig`),
    then the flags."""
    from ..gan.config import THESIS_CONFIGS, CCCGanConfig

    if args.database == "CrystalGAN":
        return _crystalgan_config(args)
    crystal = [f for f in [*CRYSTALGAN_OVERRIDES, "data_a", "data_b", "select_every"] if getattr(args, f) is not None]
    if crystal:
        raise UsageError(f"--{crystal[0].replace('_', '-')} applies to CrystalGAN only")
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

    flags = {f: getattr(args, f) for f in [*OVERRIDES, *MATGAN_CHOICES]}
    cfg = replace(THESIS_CONFIGS[args.database], **{k: v for k, v in flags.items() if v is not None})
    for name in ("epochs", "batch_size", "critic_steps", "latent_dim"):
        if getattr(cfg, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    if cfg.sharpness < 0:
        raise UsageError("--sharpness must be 0 or more")
    if cfg.generator_output.startswith("exact_arity") and not cfg.arity_condition:
        raise UsageError(f"--generator-output {cfg.generator_output} needs --arity-condition (the count it keeps)")
    return cfg


def _report_done(name: str, summary) -> None:
    print(f"train-gan {name}: {summary.epochs_done} epochs done in {summary.out} ({summary.seconds:.0f} s this run)",
          file=sys.stderr)


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
    summary = train_cccgan(cfg, data, args.out or default_output(args, RUNS / "CCCGAN" / cfg.system),
                           select_samples=800 if args.select_samples is None else args.select_samples,
                           backup_every=args.backup_every, progress=args.progress, overwrite=args.overwrite,
                           record={"data": args.data, "limit": args.limit})
    _report_done("CCCGAN", summary)
    if summary.best:
        b = summary.best
        print(f"train-gan CCCGAN: generator.keras is epoch {b['epoch'] + 1}: {100 * b['valid']:.1f}% valid, "
              f"{100 * b['conditioned']:.1f}% with the requested counts", file=sys.stderr)
    return 0


def load_domains(data_a: str | None, data_b: str | None, layout):
    """Both domains' :class:`~tfmat.structure.blocks.Domain` from the --data-a/--data-b values (a
    :class:`UsageError` when one is missing or unreadable); the structures left out are reported."""
    from ..structure.blocks import load_domain, resolve_domain

    if not data_a or not data_b:
        raise UsageError("CrystalGAN needs --data-a and --data-b: the two binary domains (the paper's .mat files, "
                         "POSCAR files or directories of them; PdH and NiH name the reference files beside the "
                         "checkout)")
    out = []
    for flag, value, domain in (("--data-a", data_a, "A"), ("--data-b", data_b, "B")):
        try:
            data = load_domain(resolve_domain(value), domain, layout)
        except (FileNotFoundError, ValueError) as err:
            raise UsageError(f"{flag}: {err}") from err
        if data.rejects:
            name, reason = data.rejects[0]
            print(f"{len(data.rejects)} structures of {value} left out (first: {name}: {reason})", file=sys.stderr)
        if not len(data):
            raise UsageError(f"{flag} {value}: no usable structure of domain {domain} ({layout.metal(domain)}-H)")
        out.append(data)
    return out


def train_crystalgan(args, cfg) -> int:
    from ..gan.run import train_crystalgan

    a, b = load_domains(args.data_a, args.data_b, cfg.layout)
    if args.limit is not None:
        a, b = (replace(d, arrays=d.arrays[:args.limit], names=d.names[:args.limit]) for d in (a, b))
    out = args.out or default_output(args, RUNS / "CrystalGAN" / (
        cfg.layout.system if cfg.variant == "crystalgan" else f"{cfg.layout.system}_{cfg.variant}"))
    summary = train_crystalgan(cfg, a.arrays, b.arrays, out,
                               select_every=10 if args.select_every is None else args.select_every,
                               backup_every=args.backup_every, progress=args.progress, overwrite=args.overwrite,
                               record={"data_a": args.data_a, "data_b": args.data_b, "limit": args.limit})
    _report_done("CrystalGAN", summary)
    if summary.best:
        b = summary.best
        print(f"train-gan CrystalGAN: generator.keras is epoch {b['epoch'] + 1}: {100 * b['in_range']:.1f}% of the "
              f"translations are ternaries with metal distances in [{cfg.d1}, {cfg.d2}] Å, "
              f"{100 * b['ternary']:.1f}% ternaries", file=sys.stderr)
    return 0


def train_gan(args) -> int:
    from ..data import load_gan_dataset
    from ..gan.run import train_matgan

    cfg = config_from_args(args)
    start_training(args)
    if args.database == "CrystalGAN":
        return train_crystalgan(args, cfg)
    if args.database == "CCCGAN":
        return train_cccgan(args, cfg)
    if args.select_samples is None:
        args.select_samples = 20_000
    data = load_gan_dataset(cfg.dataset, data=args.data, drop_bad_rows=args.drop_bad_rows)
    summary = train_matgan(cfg, data.train().counts[: args.limit], args.out or default_output(args, RUNS / "iMatGAN" / cfg.dataset),
                           select_samples=args.select_samples, backup_every=args.backup_every,
                           progress=args.progress, overwrite=args.overwrite,
                           record={"data": args.data, "limit": args.limit})
    _report_done(cfg.dataset, summary)
    report_dropped(data.rejects, args.data, summary.out)
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
