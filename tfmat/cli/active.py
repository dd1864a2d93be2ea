"""``tfmat active-learn``: active-learning generative design of wide band-gap materials."""
from __future__ import annotations

import sys
from dataclasses import fields, replace
from pathlib import Path

from ..paths import RUNS
from . import UsageError, add_overwrite, clear_run, default_output

FLAGS = {  # config field: help
    "data": "CSV of formulas and band gaps (a formula/composition column and a band_gap, Eg or target "
            "column); default: the embedded MP band gaps",
    "labels": "starting labelled formulas, drawn from the 60%% training split",
    "below": "draw the starting labels only among band gaps below this (eV); default: no limit",
    "rounds": "acquisition rounds",
    "batch": "latent points proposed per round (k)",
    "acquisition": "ucb, or a control: random-latent (uniform latent points) or random-labels (extra rows "
                   "of the training split with their DFT labels)",
    "kappa": "UCB = mean + kappa * std",
    "kernel": "GP kernel with one length scale per latent dimension: matern52 or rbf",
    "starts": "gradient-ascent starts per round",
    "min_distance": "smallest latent distance between the points of one batch",
    "radius": "how far (latent distance) a climb may go from its start",
    "screening": "screening model: rf (random forest on Magpie features) or cnn (the project's CNN)",
    "trees": "trees of the random forest",
    "cnn_epochs": "epochs of the CNN",
    "candidates": "MatGAN samples screened by the final models (0: none)",
    "wide_gap": "band gap (eV) from which a material counts as wide-gap",
    "autoencoder": "the autoencoder whose latent space is searched",
    "oracle": "the band-gap model that labels new formulas in place of DFT",
    "gan": "the MatGAN generator whose formulas are screened",
    "seed": "seed of the split, the starting labels and every round",
}


def register(sub) -> None:
    from ..active.loop import ACQUISITIONS, SCREENINGS, ActiveConfig

    d = ActiveConfig()
    p = sub.add_parser("active-learn", help="search the autoencoder's latent space for wide band-gap materials "
                                            "(GP surrogate + UCB), label with an oracle, retrain a screening model",
                       description="Active-learning generative design: fit a Gaussian process from latent codes "
                                   "to band gaps, propose latent points by UCB, decode them to formulas, keep "
                                   "the new chemically valid ones, label them with the oracle model, repeat; "
                                   "then train a screening model with and without the acquired "
                                   "labels and score both on the test split and on MatGAN formulas. Writes "
                                   "rounds.csv, acquired.csv, results.json, candidates.csv and "
                                   "active_learning.png to OUT. Rerunning with the same --out resumes at the "
                                   "round a killed run was in.")
    types = {f.name: f.type for f in fields(ActiveConfig)}
    for name, text in FLAGS.items():
        default = getattr(d, name)
        kind = {"int": int, "float": float, "float | None": float}.get(str(types[name]), str)
        kwargs = {"acquisition": {"choices": ACQUISITIONS}, "screening": {"choices": SCREENINGS},
                  "kernel": {"choices": ("matern52", "rbf")}}.get(name, {})
        shown = "" if default is None else f" (default: {default})"
        p.add_argument(f"--{name.replace('_', '-')}", type=kind, help=text + shown, **kwargs)
    p.add_argument("--out", help="output directory (default: runs/active/ACQUISITION)")
    p.add_argument("--progress", type=int, choices=(0, 1), default=1, help="1: progress bars (default), 0: none")
    add_overwrite(p)
    p.set_defaults(func=active_learn)


def active_learn(args) -> int:
    from ..active.loop import ActiveConfig, active_learn

    cfg = replace(ActiveConfig(), **{k: getattr(args, k) for k in FLAGS if getattr(args, k) is not None})
    try:
        cfg.check()
    except ValueError as err:
        raise UsageError(str(err)) from None
    for path in (cfg.autoencoder, cfg.oracle) + ((cfg.gan,) if cfg.candidates else ()):
        if not Path(path).exists():
            raise UsageError(f"no such model: {path}")
    out = Path(args.out) if args.out else default_output(args, RUNS / "active" / cfg.acquisition)
    clear_run(out, args.overwrite)
    results = active_learn(cfg, out, progress=bool(args.progress))
    test = results["test"]
    print(f"active-learn: {results['funnel']['acquired']} formulas acquired in {results['rounds']} rounds "
          f"({results['wide_gap_acquired']} ≥ {cfg.wide_gap} eV); test MAE {test['base']['mae']:.3f} → "
          f"{test['active']['mae']:.3f} eV, wide-gap tail {test['base']['mae_wide_gap']:.3f} → "
          f"{test['active']['mae_wide_gap']:.3f} eV; wrote {out}", file=sys.stderr)
    return 0
