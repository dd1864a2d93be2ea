"""``tfmat evaluate`` (generated formulas against their training set) and ``tfmat check`` (CN/EN per formula)."""
from __future__ import annotations

import sys
from pathlib import Path

from . import UsageError, add_drop_bad_rows, add_overwrite, refuse_existing, report_dropped

DATASETS = ("OQMD", "MP", "ICSD", "ICSD_Filter", "Bandgap")


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate generated formulas as the thesis does (validity, uniqueness, "
                                        "novelty, recovery, cross-database hits, t-SNE map)",
                       description="Evaluate a generated-formula CSV (column 'formula', one row per sample, in "
                                   "generation order) against the GAN dataset it was trained on. Writes "
                                   "evaluation.json, rejects.csv, uniqueness.png, validity.png, "
                                   "distributions.png, tsne.png/.csv and run.json to OUTDIR.")
    p.add_argument("--generated", required=True, metavar="FILE", help="CSV with a 'formula' column")
    p.add_argument("--dataset", required=True, metavar="DB", help=f"training dataset: {', '.join(DATASETS)}")
    p.add_argument("--data", metavar="PATH", help="user formula file for DB (required for ICSD, ICSD_Filter)")
    p.add_argument("-o", "--out", required=True, metavar="OUTDIR", help="output directory")
    add_overwrite(p)
    add_drop_bad_rows(p, "--data and --cross files")
    p.add_argument("--cross", action="append", metavar="DB[=PATH]",
                   help="database to look novel formulas up in (repeatable; default: the other of OQMD, MP)")
    p.add_argument("--rules", choices=("thesis", "smact"), default="thesis",
                   help="validity rules: thesis (SMACT 2014 oxidation states, no alloy shortcut; default) or "
                        "smact (SMACT 4 smact_validity defaults)")
    p.add_argument("--limit", type=int, help="evaluate only the first N generated rows")
    p.add_argument("--tsne", type=int, default=1000, metavar="N",
                   help="formulas per group (training, leave-out, generated) in the t-SNE map; 0: no map "
                        "(default: 1000)")
    p.add_argument("--baseline-samples", type=int, default=100_000, metavar="N",
                   help="uniform draws per arity for the enumeration baseline and efficiency ratio; 0: skip "
                        "(default: 100000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the t-SNE subsample and baseline draws")
    p.set_defaults(func=evaluate)

    c = sub.add_parser("check", help="charge neutrality and electronegativity balance of formulas (SMACT rules)",
                       description="Check every formula of a CSV (its 'formula' column, or its only column) or "
                                   "of the command line; writes line,formula,cn,en (the file's line, the header "
                                   "being line 1) or argument,formula,cn,en (command-line position from 1) to -o or "
                                   "prints it.")
    c.add_argument("formulas", nargs="*", help="formulas (or give --input)")
    c.add_argument("--input", metavar="FILE", help="CSV with a 'formula' column (or only one column)")
    c.add_argument("-o", "--output", metavar="FILE", help="output CSV (default: standard output)")
    add_overwrite(c)
    c.add_argument("--rules", choices=("thesis", "smact"), default="smact",
                   help="smact (SMACT 4 smact_validity defaults; default) or thesis")
    c.set_defaults(func=check)


def _canonical_db(name: str) -> str:
    canon = {d.lower(): d for d in DATASETS}.get(name.lower())
    if canon is None:
        raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return canon


def _others(specs, dataset: str, drop_bad_rows: bool = False) -> dict[str, list[str]]:
    from ..data import load_gan_dataset

    if not specs:
        specs = [d for d in ("OQMD", "MP") if d != dataset]
    out = {}
    for spec in specs:
        name, _, path = spec.partition("=")
        name = _canonical_db(name)
        found = load_gan_dataset(name, data=path or None, drop_bad_rows=drop_bad_rows)
        report_dropped(found.rejects, path)
        out[name] = found.formulas
    return out


def evaluate(args) -> int:
    from ..chemistry import rules_named
    from ..data import DataError, load_gan_dataset
    from ..evaluation import report
    from ..evaluation.enumeration import baseline
    from ..io import atomic_dir, record_run
    from ..progress import bar

    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    if args.tsne < 0 or args.baseline_samples < 0:
        raise UsageError("--tsne and --baseline-samples must be ≥ 0")
    refuse_existing(args.out, args.overwrite)
    dataset = _canonical_db(args.dataset)
    rules = rules_named(args.rules)
    # the inputs are read before the progress bar starts, so a bad file gets its one message alone
    generated, lines = report.read_generated(args.generated, with_lines=True)
    generated, lines = generated[: args.limit], lines[: args.limit]
    if not generated:
        raise DataError(f"{args.generated}: no generated formula")
    data = load_gan_dataset(dataset, data=args.data, drop_bad_rows=args.drop_bad_rows)
    report_dropped(data.rejects, args.data)
    others = _others(args.cross, dataset, args.drop_bad_rows)
    stages = bar(4, "evaluate", "stage")
    stages.update(1)
    stages.set_postfix_str("enumeration baseline")
    base = None
    if args.baseline_samples:
        base = baseline(rules, samples=args.baseline_samples, seed=args.seed)
    stages.update(1)
    stages.set_postfix_str("measures")
    ev = report.evaluate(generated, data, others, rules, baseline_share=base["pooled"]["en"] if base else None)
    stages.update(1)
    stages.set_postfix_str("plots" + (" and t-SNE" if args.tsne else ""))
    if not ev.summary["generated"]["formulas"]:
        r = ev.rejects[0]
        raise DataError(f"{args.generated}: no representable formula (line {lines[r.row]} {r.text!r}: {r.reason})")
    if base:
        ev.summary["enumeration_baseline"] = base
    groups = None
    if args.tsne:
        from ..composition import encode_formulas
        groups = {"training": data.train().counts, "leave-out": data.leave_out().counts,
                  "generated": encode_formulas(generated).counts}
    out = Path(args.out)
    with atomic_dir(out) as tmp:  # the directory appears whole, or the one before stays
        record_run(tmp, {"generated": args.generated, "dataset": dataset, "data": args.data, "cross": list(others),
                         "rules": args.rules, "limit": args.limit, "tsne": args.tsne,
                         "baseline_samples": args.baseline_samples, "seed": args.seed})
        written = report.write(ev, tmp, groups, args.tsne, args.seed, lines=lines)
    stages.update(1)
    stages.close()
    s = ev.summary
    v, nov = s["validity"], s["novelty"]
    share = lambda x: "n/a" if x is None else f"{100 * x:.2f}%"  # noqa: E731  (a user file has no leave-out)
    print(f"evaluate {dataset}: {s['generated']['formulas']:,} formulas ({s['generated']['rejected']:,} rejected); "
          f"CN {100 * v['train']['cn']:.1f}% → {100 * v['generated']['cn']:.1f}%, "
          f"CN+EN {100 * v['train']['both']:.1f}% → {100 * v['generated']['both']:.1f}%; "
          f"distinct {100 * s['uniqueness']['final']:.1f}%; training recovered {share(nov['train_recovered'])}, "
          f"leave-out {share(nov['leave_out_recovered'])}; new samples {nov['new_samples']:,}; "
          f"wrote {len(written)} files to {out}", file=sys.stderr)
    return 0


def check(args) -> int:
    import numpy as np

    from ..chemistry import check_formulas, rules_named
    from ..data.files import read_formula_table
    from ..io import write_csv

    if bool(args.formulas) == bool(args.input):
        raise UsageError("give formulas on the command line or --input FILE, not both or neither")
    if args.output:
        refuse_existing(args.output, args.overwrite)
    if args.input:  # rows are named by their line in the file (the header is line 1)
        table = read_formula_table(args.input)
        texts, where, numbers = table.formula.tolist(), "line", table.line.to_numpy()
    else:
        texts, where = list(args.formulas), "argument"  # as predict names them, from 1
        numbers = np.arange(1, len(texts) + 1)
    res = check_formulas(texts, rules_named(args.rules))
    for r in res.rejects[:10]:
        print(f"{where} {numbers[r.row]} {r.text!r}: {r.reason}", file=sys.stderr)
    if len(res.rejects) > 10:
        print(f"... {len(res.rejects) - 10} more rows could not be checked", file=sys.stderr)
    frame = res.frame()
    frame["row"] = numbers[frame["row"].to_numpy()]
    frame = frame.rename(columns={"row": where})
    if not len(frame):
        from ..composition import FormulaError
        r = res.rejects[0]
        raise FormulaError(f"no formula could be checked ({where} {numbers[r.row]} {r.text!r}: {r.reason})")
    if args.output:
        write_csv(args.output, frame)
        print(f"check: {len(frame):,} formulas, CN {100 * frame.cn.mean():.2f}%, EN {100 * frame.en.mean():.2f}%; "
              f"{len(res.rejects)} rejected; wrote {args.output}", file=sys.stderr)
    else:
        frame.to_csv(sys.stdout, index=False)
    return 0
