"""``tfmat train-ae``: train a formula autoencoder and measure how many formulas decode exactly."""
from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

from ..paths import RUNS
from . import (UsageError, add_drop_bad_rows, add_overwrite, add_resume_flags,
               default_output, report_dropped, start_training)

AE_FILE = "autoencoder.keras"


def register(sub) -> None:
    from ..models.autoencoder_config import LAYOUTS, LOSSES, AutoencoderConfig

    d = AutoencoderConfig()
    p = sub.add_parser("train-ae", help="train a formula autoencoder and measure how many formulas decode exactly",
                       description="Train a formula autoencoder on a GAN dataset's training split, keep the "
                                   "weights with the best exact-decode share on the left-out split, and write the "
                                   "decodable shares of both to OUT/decodable.json. The default is the dense "
                                   "BCE autoencoder on MP whose tanh code the active-learning search explores; "
                                   "--thesis starts from the thesis's Dice-loss limit study (OQMD, GAN-OQMD "
                                   "layers, batch 1024, 1000 epochs) and the other flags override it. Rerunning "
                                   "with the same --out resumes.")
    p.add_argument("--thesis", action="store_true", help="start from the thesis's Dice study (thesis 3.4)")
    p.add_argument("--dataset", help=f"GAN dataset (default: {d.dataset}; thesis: OQMD)")
    p.add_argument("--architecture", choices=LAYOUTS,
                   help=f"layout: dense, paper (2 convs + FC, the active-learning paper's) or a MatGAN "
                        f"architecture (its critic → code → its generator) (default: {d.architecture}; thesis: oqmd)")
    p.add_argument("--loss", choices=LOSSES, help=f"per-cell binary cross-entropy or negative Dice "
                                                 f"(default: {d.loss}; thesis: dice)")
    p.add_argument("--latent-dim", type=int, help=f"code size (default: {d.latent_dim})")
    p.add_argument("--hidden", type=int, help=f"hidden width of the dense layout (default: {d.hidden})")
    p.add_argument("--code-noise", type=float,
                   help=f"σ of the Gaussian noise on the code while training (default: {d.code_noise}; thesis: 0)")
    p.add_argument("--data", metavar="PATH", help="user formula file for the dataset (needed for ICSD)")
    p.add_argument("--out", help="output directory (default: runs/autoencoder/DB-LAYOUT-LOSS)")
    p.add_argument("--epochs", type=int, help=f"epochs (default: {d.epochs}; thesis: 1000)")
    p.add_argument("--batch-size", type=int, help=f"batch size (default: {d.batch_size}; thesis: 1024)")
    p.add_argument("--lr", type=float, help=f"Adam learning rate (default and thesis: {d.lr})")
    p.add_argument("--seed", type=int, help="seed of weights, shuffling and subsamples (default: 0)")
    p.add_argument("--limit", type=int, help="train on a random subsample of N training formulas")
    p.add_argument("--test-limit", type=int, help="score a random subsample of N left-out formulas")
    p.add_argument("--generated", metavar="FILE",
                   help="formulas a GAN generated from the same dataset (CSV, column 'formula'): report how many "
                        "of the decodable and of the undecodable training formulas it produced")
    add_resume_flags(p, backup_every=200)
    add_drop_bad_rows(p)
    p.add_argument("--progress", type=int, choices=(0, 1, 2), default=1,
                   help="0 silent, 1 progress bar with the losses, 2 one line per epoch (default: 1)")
    add_overwrite(p)
    p.set_defaults(func=train_ae)


def _subsample(counts, limit, seed):
    import numpy as np

    if limit is None or limit >= len(counts):
        return counts
    return counts[np.sort(np.random.default_rng(seed).choice(len(counts), limit, replace=False))]


def train_ae(args) -> int:
    from ..data import DataError, gan_pipeline, load_gan_dataset
    from ..io import claim_run, data_hash, record_run, write_json
    from ..models.autoencoder import THESIS_STUDY, AutoencoderConfig, build_autoencoder, decodable
    from ..training import KeepBest, SaveEachEpoch, completed_epochs, fit, run_callbacks

    for name in ("epochs", "batch_size", "limit", "test_limit", "latent_dim", "hidden"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    if args.code_noise is not None and args.code_noise < 0:
        raise UsageError("--code-noise must be at least 0")
    cfg = THESIS_STUDY if args.thesis else AutoencoderConfig()
    names = ("dataset", "architecture", "loss", "latent_dim", "hidden", "code_noise", "epochs", "batch_size", "lr",
             "seed")
    cfg = replace(cfg, **{k: getattr(args, k) for k in names if getattr(args, k) is not None})
    data = load_gan_dataset(cfg.dataset, data=args.data, drop_bad_rows=args.drop_bad_rows)
    train = _subsample(data.train().counts, args.limit, cfg.seed)
    test = _subsample(data.leave_out().counts, args.test_limit, cfg.seed + 1)
    if len(train) < cfg.batch_size:
        raise DataError(f"{data.name}: {len(train)} training formulas, fewer than one batch of {cfg.batch_size}")
    out = Path(args.out) if args.out else default_output(
        args, RUNS / "autoencoder" / f"{data.name}-{cfg.architecture}-{cfg.loss}")
    start_training(args)
    claim_run(out, {**cfg.identity(), "train_sha256": data_hash(train), "test_sha256": data_hash(test)}, args.overwrite)
    record_run(out, {**cfg.to_dict(), "data": args.data, "limit": args.limit, "test_limit": args.test_limit,
                     "train_formulas": len(train), "test_formulas": len(test)})
    write_json(out / "config.json", cfg.to_dict())
    model = build_autoencoder(cfg)
    pairs = lambda ds: ds.map(lambda x: (x, x))  # noqa: E731
    best = out / AE_FILE
    print(f"train-ae {data.name}: {cfg.architecture} layout, {cfg.loss} loss, {len(train)} training / "
          f"{len(test)} test formulas, batch {cfg.batch_size}, "
          f"epochs {completed_epochs(out)}→{cfg.epochs}, output {out}", file=sys.stderr)
    start = time.time()
    # the epoch kept is the best on the left-out formulas; a user file has none, and the latest epoch is kept
    keep = KeepBest(best, "val_exact") if len(test) else SaveEachEpoch(best, model.save)
    fit(model, lambda epoch: pairs(gan_pipeline(train, cfg.batch_size, seed=cfg.seed, epoch=epoch)), cfg.epochs,
        run_callbacks(out, args.backup_every, extra=[keep]),
        validation=pairs(gan_pipeline(test, cfg.batch_size, shuffle=False, drop_remainder=False)) if len(test) else None,
        verbose=args.progress)
    import keras
    if best.is_file():
        model = keras.models.load_model(best, compile=False)
    result = {"dataset": data.name, "epochs_done": completed_epochs(out), "train_formulas": len(train),
              "test_formulas": len(test), "train_decodable": float(decodable(model, train).mean()),
              "test_decodable": float(decodable(model, test).mean()) if len(test) else None,
              "thesis_oqmd_dice": {"train_decodable": 0.9631, "test_decodable": 0.9550, "epochs": 1000},
              "seconds_this_run": time.time() - start}
    if args.generated:
        from ..composition import formulas_from_counts
        from ..evaluation.metrics import recovery_by_decodability
        from ..evaluation.report import read_generated
        result["gan_recovery"] = recovery_by_decodability(formulas_from_counts(train), decodable(model, train),
                                                          read_generated(args.generated))
    write_json(out / "decodable.json", result)
    report_dropped(data.rejects, args.data, out)
    print(f"train-ae {data.name}: decodable train {100 * result['train_decodable']:.2f}%, "
          + (f"test {100 * result['test_decodable']:.2f}%" if len(test) else "no left-out formulas to test")
          + f" (thesis 96.31% / 95.50%); wrote {out / 'decodable.json'}",
          file=sys.stderr)
    return 0
