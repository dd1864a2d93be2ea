"""``tfmat train-gan DB`` and ``tfmat generate``: MatGAN training and sampling."""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from ..paths import RUNS
from . import UsageError, add_overwrite, clear_run, refuse_existing

DATASETS = ("OQMD", "MP", "ICSD", "ICSD_Filter", "Bandgap")
# What picks a run's generator.keras: the most distinct decoded formulas per sample among the epochs whose
# CN+EN share (thesis rules) is within SELECTION_GAP of the training set's; epochs outside it rank below all
# inside. A generator that decodes, varies and keeps the data's chemistry.
SELECTION_GAP = 0.05
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
    from ..models.matgan_config import THESIS_CONFIGS

    fields = ["architecture", *OVERRIDES, "critic_norm", "jit_compile", "strategy"]
    head = "thesis defaults per dataset (every one is overridable by the flag of the same name):\n"
    rows = [f"  {db:<12}" + " ".join(f"{f}={getattr(c, f)}" for f in fields) for db, c in THESIS_CONFIGS.items()]
    return head + "\n".join(rows)


def register(sub) -> None:
    from ..generate import GENERATION_BATCH
    from ..models.matgan_config import ARCHITECTURES, STRATEGIES

    p = sub.add_parser("train-gan", help="train a MatGAN (WGAN-GP) on a thesis dataset",
                       description="Train a MatGAN on DB. Rerunning with the same --out resumes an "
                                   "interrupted run from its last backup (or extends a finished one "
                                   "when --epochs grows).",
                       epilog=_defaults_table(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("database", type=_dataset, metavar="DB", help=f"one of {', '.join(DATASETS)}")
    p.add_argument("--data", help="user formula CSV (or a data directory with train_data/DB/train_formula.csv); "
                                  "required for ICSD and ICSD_Filter")
    p.add_argument("--out", help="run directory (default: runs/iMatGAN/DB); ship a trained run with `tfmat promote`")
    for flag, (kind, what) in OVERRIDES.items():
        p.add_argument("--" + flag.replace("_", "-"), dest=flag, type=kind, help=f"{what} (default: per DB, below)")
    p.add_argument("--architecture", choices=sorted(ARCHITECTURES), help="network size (default: per DB)")
    p.add_argument("--critic-norm", choices=("batch", "layer", "none"),
                   help="critic normalisation: batch (thesis code) or layer (default, measured)")
    p.add_argument("--jit-compile", dest="jit_compile", action=argparse.BooleanOptionalAction,
                   help="compile train_step with XLA (default: per DB, below)")
    p.add_argument("--strategy", choices=STRATEGIES,
                   help="tf.distribute strategy: auto = mirrored when >1 GPU is visible (default: auto)")
    p.add_argument("--limit", type=int, help="train on the first N training formulas only (quick runs)")
    p.add_argument("--backup-every", type=int, default=500, help="back up every N batches as well as "
                                                                  "every epoch (default: 500)")
    p.add_argument("--select-samples", type=int, default=20_000, metavar="N",
                   help="after each epoch score N samples (fixed noise) and keep as generator.keras the epoch "
                        "with the most distinct decoded formulas per sample among those whose CN+EN share is "
                        "within 5 points of the training set's; the latest epoch is generator_last.keras; 0 keeps "
                        "the latest epoch as generator.keras (default: 20000)")
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
    """The run's :class:`~tfmat.models.matgan.GanConfig`: thesis values for DB, then the flags."""
    from ..models.matgan_config import THESIS_CONFIGS

    flags = {f: getattr(args, f) for f in [*OVERRIDES, "architecture", "critic_norm", "jit_compile", "strategy"]}
    cfg = replace(THESIS_CONFIGS[args.database], **{k: v for k, v in flags.items() if v is not None})
    for name in ("epochs", "batch_size", "critic_steps", "latent_dim"):
        if getattr(cfg, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    return cfg


def _check_resumable(out: Path, cfg) -> None:
    from ..training import completed_epochs

    saved = out / "config.json"
    if not saved.is_file() or not (out / "backup").is_dir():
        return
    old = json.loads(saved.read_text())
    changed = [f for f in cfg.RESUME_FIELDS if old.get(f) != getattr(cfg, f)]
    if changed:
        raise UsageError(f"{out} holds a run with a different {', '.join(changed)} "
                         f"({completed_epochs(out)} epochs done); choose another --out or remove {out / 'backup'}")


def _selection(gan, out: Path, samples: int, seed: int, train_counts) -> list:
    """Callbacks writing the latest generator and, with ``samples`` > 0, the best-scoring one."""
    from ..chemistry import THESIS, check
    from ..generate import GENERATOR_FILE, LAST_GENERATOR_FILE, sample_quality
    from ..training import KeepBest, SaveEachEpoch

    if samples == 0:
        return [SaveEachEpoch(out / GENERATOR_FILE, gan.generator.save)]
    reference = check(train_counts, THESIS).shares()["en"]

    def measure():
        f = sample_quality(gan.generator, samples, seed=seed).figures()
        inside = abs(f["cn_en"] - reference) <= SELECTION_GAP
        return {**f, "score": f["distinct"] - (0.0 if inside else 1.0)}

    return [KeepBest(out / GENERATOR_FILE, gan.generator.save, measure, key="score"),
            SaveEachEpoch(out / LAST_GENERATOR_FILE, gan.generator.save)]


def train_gan(args) -> int:
    from ..data import DataError, gan_pipeline, load_gan_dataset
    from ..generate import GENERATOR_FILE, LAST_GENERATOR_FILE
    from ..io import record_run, write_json
    from ..models.matgan import build_matgan
    from ..training import BACKUP_DIR, METRICS_CSV, completed_epochs, run_callbacks, select_strategy

    cfg = config_from_args(args)
    if args.select_samples < 0:
        raise UsageError("--select-samples must be ≥ 0")
    out = Path(args.out) if args.out else RUNS / "iMatGAN" / cfg.dataset
    clear_run(out, args.overwrite)
    trained = [f for f in (GENERATOR_FILE, LAST_GENERATOR_FILE, METRICS_CSV) if (out / f).exists()]
    if trained and not (out / BACKUP_DIR).is_dir():
        raise UsageError(f"{out} holds a finished run ({', '.join(trained)}) that cannot be resumed (no "
                         f"{BACKUP_DIR}/); pass --overwrite to replace it, or choose another --out")
    _check_resumable(out, cfg)

    data = load_gan_dataset(cfg.dataset, data=args.data)
    if data.rejects:
        r = data.rejects[0]
        print(f"{len(data.rejects)} rows of {args.data} left out (first: line {r.row} {r.text!r}: {r.reason})",
              file=sys.stderr)
    counts = data.train().counts[: args.limit]
    if len(counts) < cfg.batch_size:
        raise DataError(f"{cfg.dataset}: {len(counts)} training formulas, fewer than one batch of {cfg.batch_size}")

    strategy = select_strategy(cfg.strategy)
    with strategy.scope():
        gan = build_matgan(cfg)
    write_json(out / "config.json", cfg.to_dict())
    record_run(out, {**cfg.to_dict(), "data": args.data, "limit": args.limit, "training_formulas": len(counts),
                     "select_samples": args.select_samples, "replicas": strategy.num_replicas_in_sync})
    done = completed_epochs(out)
    print(f"train-gan {cfg.dataset}: {len(counts)} formulas, batch {cfg.batch_size}, "
          f"{strategy.num_replicas_in_sync} replica(s), epochs {done}→{cfg.epochs}, output {out}", file=sys.stderr)
    callbacks = run_callbacks(out, args.backup_every, extra=_selection(gan, out, args.select_samples, cfg.seed, counts))
    start = time.time()
    gan.fit(gan_pipeline(counts, cfg.batch_size, seed=cfg.seed), epochs=cfg.epochs, callbacks=callbacks,
            shuffle=False, verbose=args.progress)
    print(f"train-gan {cfg.dataset}: {completed_epochs(out)} epochs done in {out} "
          f"({time.time() - start:.0f} s this run)", file=sys.stderr)
    best = out / (GENERATOR_FILE + ".json")
    if args.select_samples and best.is_file():
        b = json.loads(best.read_text())
        print(f"train-gan {cfg.dataset}: {GENERATOR_FILE} is epoch {b['epoch'] + 1}: {100 * b['decoded']:.1f}% of "
              f"{args.select_samples} samples decode, {100 * b['unique']:.1f}% of those are distinct and "
              f"{100 * b['cn_en']:.1f}% CN+EN", file=sys.stderr)
    return 0


def generate(args) -> int:
    from ..generate import GENERATION_BATCH, load_generator, write_formulas
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
