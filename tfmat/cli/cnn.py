"""``tfmat train-cnn``, ``tfmat predict``, ``tfmat export``: the screening CNN."""
from __future__ import annotations

import sys
from pathlib import Path

from ..paths import RUNS
from . import (UsageError, add_drop_bad_rows, add_overwrite, add_resume_flags,
               clear_run, default_output, refuse_existing, start_training)


def register(sub) -> None:
    from ..cnn.config import ARCHITECTURES, ATTRIBUTES, SOURCES, CNNConfig, model_name

    d = CNNConfig()
    t = sub.add_parser("train-cnn", help="train a property model: the thesis CNN on Magpie 22×6 features (SPEC §6) or element attention",
                       description="Train the screening CNN. Defaults follow the thesis: table 4.2 batch size "
                                   "and learning rate per attribute (band gap 256 / 0.01, formation energy "
                                   "512 / 0.1, others 512 / 0.001), Adam, 1000 epochs, best test R² kept.")
    t.add_argument("--data_name", "--data-name", dest="data_name", default="MP", type=str.upper, choices=SOURCES)
    t.add_argument("--attribute", default="band_gap", choices=ATTRIBUTES)
    t.add_argument("--lr", type=float, default=None, help="learning rate (default: table 4.2; attention 5e-4)")
    t.add_argument("--epochs", type=int, default=d.epochs)
    t.add_argument("--batch_size", "--batch-size", dest="batch_size", type=int, default=None,
                   help="batch size (default: table 4.2; attention 256)")
    t.add_argument("--folds", type=int, default=d.folds, help="K-fold cross-validation (1: one seeded split)")
    t.add_argument("--repeats", type=int, default=d.repeats, help="repeat the cross-validation R times")
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--holdout", type=float, default=d.holdout,
                   help="fraction set aside before the folds to score the fold ensemble (default 0)")
    t.add_argument("--calibration", type=float, default=d.calibration,
                   help="fraction set aside before the folds to calibrate the ensemble's uncertainty, so that "
                        "1σ covers about 68%% of errors (default 0: the raw spread)")
    t.add_argument("--arch", default=d.arch, choices=ARCHITECTURES,
                   help="thesis: the table 4.1 CNN on the 22×6 Magpie matrix; attention: self-attention over "
                        "the elements of a formula (default thesis)")
    t.add_argument("--loss", default=None, choices=("mse", "mae", "huber"),
                   help="default mse (thesis), mae (attention)")
    t.add_argument("--schedule", default=None, choices=("constant", "cosine"),
                   help="default constant (thesis), cosine (attention)")
    t.add_argument("--width", type=int, default=d.width, help="attention: token width (default %(default)s)")
    t.add_argument("--heads", type=int, default=d.heads, help="attention: heads per block (default %(default)s)")
    t.add_argument("--blocks", type=int, default=d.blocks, help="attention: encoder blocks (default %(default)s)")
    t.add_argument("--arity-batches", action="store_true",
                   help="attention: train in batches of formulas with one number of elements, each padded only "
                        "to it (faster; default: every formula padded to 8 elements)")
    t.add_argument("--filters", type=int, default=d.filters, help="channels of each convolution (thesis 32)")
    t.add_argument("--dense", type=int, default=d.dense, help="width of the hidden FC layer (thesis 32)")
    t.add_argument("--fractions", type=int, default=d.fractions,
                   help="width of an element-fraction branch joined before the FC layer (0: the thesis CNN)")
    t.add_argument("--data", default=None, help="CSV with a formula column and an attribute column "
                                                "(required for ICSD)")
    t.add_argument("--label-range", type=_label_range, metavar="LO,HI", default=None,
                   help="the range a label of --data must lie in, e.g. --label-range=-30,30 (default: the "
                        "property's physical range, "
                        "band gap [0, 20] eV, formation energy and ΔH [-20, 20] eV/atom, stability [0, 20] "
                        "eV/atom, volume [0, 1000] Å³/atom)")
    add_drop_bad_rows(t)
    t.add_argument("--out", default=None, help="run folder: reports, fold state (a rerun resumes there) and the "
                                               "trained model in OUT/model (default runs/cnn/<data>_<attribute>, "
                                               "with _attention for --arch attention)")
    t.add_argument("--checkpoint", default=None, help="model folder (default OUT/model); ship a trained model with "
                                                      "`tfmat promote`")
    t.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="train N folds at once, each in its own process with 1/N of the CPUs (default 1); the "
                        "folds come out as they do one at a time")
    add_resume_flags(t, backup_every=200)
    add_overwrite(t)
    t.set_defaults(func=_train)

    p = sub.add_parser("predict", help="predict a property with a trained CNN")
    p.add_argument("--model", default=model_name("band_gap"), help="model folder, train-cnn run folder, or the "
                                                                   "name of a shipped model (default: %(default)s)")
    p.add_argument("formulas", nargs="*", metavar="FORMULA")
    p.add_argument("--input", default=None, help="CSV with a formula column")
    p.add_argument("-o", "--output", default=None, help="output CSV (default: print to stdout)")
    add_overwrite(p)
    p.set_defaults(func=_predict)

    e = sub.add_parser("export", help="write a trained CNN as a SavedModel for serving")
    e.add_argument("--model", default=model_name("band_gap"), help="model folder, train-cnn run folder, or a "
                                                                   "shipped model's name (default: %(default)s)")
    e.add_argument("--out", required=True, help="SavedModel folder to write")
    add_overwrite(e)
    e.set_defaults(func=_export)


def _label_range(text: str) -> list[float]:
    import argparse

    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give LO,HI (e.g. --label-range=-30,30)") from None
    return [lo, hi]


def _train(args) -> int:
    from ..cnn import CNNConfig, run_training
    from ..data import ICSD_GUIDANCE

    if args.data_name == "ICSD" and not args.data:
        raise UsageError(f"--data_name ICSD needs --data PATH: a CSV with a formula column and a "
                         f"{args.attribute} column. {ICSD_GUIDANCE.split(':')[0]}")
    if args.data and not Path(args.data).is_file():
        raise UsageError(f"--data {args.data}: no such file")
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    config = CNNConfig(data_name=args.data_name, attribute=args.attribute, lr=args.lr, batch_size=args.batch_size,
                       epochs=args.epochs, folds=args.folds, repeats=args.repeats, seed=args.seed,
                       holdout=args.holdout, loss=args.loss, schedule=args.schedule, filters=args.filters,
                       dense=args.dense, fractions=args.fractions, data=args.data,
                       label_range=args.label_range, drop_bad_rows=args.drop_bad_rows, arch=args.arch,
                       width=args.width, heads=args.heads, blocks=args.blocks, calibration=args.calibration,
                       arity_batches=args.arity_batches)
    out = Path(args.out) if args.out else default_output(args, RUNS / "cnn" / config.name)
    checkpoint = Path(args.checkpoint) if args.checkpoint else out / "model"
    start_training(args)
    clear_run(out, args.overwrite)
    if args.checkpoint:
        clear_run(checkpoint, args.overwrite)
    run_training(config, out, checkpoint, log=lambda m: print(m, flush=True), backup_every=args.backup_every,
                 jobs=args.jobs)
    print(f"reports in {out}, model in {checkpoint}")
    return 0


def _predict(args) -> int:
    import pandas as pd

    from ..cnn import Predictor
    from ..composition import Reject
    from ..data import DataError
    from ..data.files import read_formula_table
    from ..io import write_csv

    if bool(args.formulas) == bool(args.input):
        raise UsageError("give formulas on the command line or --input CSV (one of the two)")
    if args.output:
        refuse_existing(args.output, args.overwrite)
    if args.input:
        table = read_formula_table(args.input)
        texts, lines = table["formula"].tolist(), table["line"].tolist()
    else:
        texts, lines = list(args.formulas), list(range(1, len(args.formulas) + 1))
    from ..progress import bar

    predictor = Predictor(args.model)
    shown = bar(len(texts), "predict", "formula", disable=not args.input)
    frame = predictor.predict(texts, progress=shown.update)
    shown.close()
    rejects: list[Reject] = frame.attrs.get("rejects", [])
    if len(frame) == 0:
        first = f": row {lines[rejects[0].row]} {rejects[0].text!r}: {rejects[0].reason}" if rejects else ""
        raise DataError(f"no formula could be read{first}")
    where = "line" if args.input else "argument"
    out = pd.DataFrame({where: [lines[r] for r in frame["row"]], "formula": frame["formula"],
                        predictor.attribute: frame["prediction"], "uncertainty": frame["uncertainty"]})
    if "in_domain" in frame:
        out["in_domain"] = frame["in_domain"].to_numpy()
    bad = pd.DataFrame({where: [lines[r.row] for r in rejects], "text": [r.text for r in rejects],
                        "reason": [r.reason for r in rejects]})
    outside = frame.attrs.get("outside")
    if outside is None:
        print(f"{predictor.model_dir}: training domain unknown (trained on a user file before domains were "
              "saved); no in_domain column", file=sys.stderr)
    elif outside:
        from ..cnn.domain import REASONS
        print(f"{sum(outside.values())} of {len(out)} prediction(s) outside the model's training domain "
              f"(in_domain false): " + ", ".join(f"{n} with {REASONS[k]}" for k, n in outside.most_common()),
              file=sys.stderr)
    if args.output:
        write_csv(args.output, out)
        if len(bad):
            reject_path = Path(args.output).with_suffix(".rejects.csv")
            write_csv(reject_path, bad)
            print(f"{len(bad)} row(s) rejected, reasons in {reject_path}", file=sys.stderr)
        print(f"{len(out)} prediction(s) in {args.output}", file=sys.stderr)
    else:
        out.to_csv(sys.stdout, index=False, float_format="%.6g")
        for _, r in bad.iterrows():
            print(f"rejected {where} {r[where]} {r['text']!r}: {r['reason']}", file=sys.stderr)
    return 0


def _export(args) -> int:
    from ..cnn import export_model, resolve_model

    refuse_existing(args.out, args.overwrite)
    out = export_model(resolve_model(args.model), args.out)
    print(f"SavedModel written to {out} (signature 'serve': amounts float32 (batch, 118) → prediction, "
          "uncertainty)")
    return 0
