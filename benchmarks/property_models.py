"""Property models on published and extrapolation splits, side by side with a random forest.

    python benchmarks/property_models.py --split matbench --model rf            # every fold of one cell
    python benchmarks/property_models.py --split matbench --model attention --fold k0
    python benchmarks/property_models.py --split lanthanides --model attention --members 3   # an ensemble
    python benchmarks/property_models.py --split lanthanides --model attention --members 3 --member 1
    python benchmarks/property_models.py --list                                 # what is done, what is left

Splits (``../shared/data/open``):

* ``matbench``: ``mp/mp_gap.csv`` (106,113 rows, matbench_mp_gap) in file order,
  ``KFold(5, shuffle=True, random_state=18012019)`` over the rows, as Matbench
  did: polymorphs of one formula may fall on both sides of a fold.
* ``matbench_grouped``: the same KFold over the distinct compositions (first
  appearance order), every row of a composition on its side: no formula is
  ever both trained on and scored.
* ``lanthanides``: ``mp_gap.csv``, every formula with an element La–Lu scored,
  trained on all the others (one fold): a family of elements the model has
  never seen.
* ``oqmd``: OQMD formation enthalpy, the CrabNet train / val / test files;
  the models train on train, the neural models keep their best epoch on val,
  all are scored on test.
* ``mp_e_hull``: MP energy above the convex hull, the CrabNet train / val /
  test files (39,663 / 8,499 / 8,500 rows), used as ``oqmd`` is.

Models: ``rf`` (scikit-learn random forest, 100 trees, on the 132 Magpie
features), ``thesis`` (the shipped thesis CNN's settings, :data:`THESIS_FLAGS`)
``attention`` (:mod:`tfmat.models.attention`, :data:`ATTENTION_FLAGS`) and
``attention_arity``, the same trained in batches of one arity
(``train-cnn --arity-batches``).
The neural models keep the epoch with the best R² on 10% of their training
rows (the val file for ``oqmd`` and ``mp_e_hull``). A cell is one (split,
model, fold); its scores — MAE on all rows (of predictions clipped at 0 for
a property that cannot be negative, as ``tfmat predict`` clips them) and on
non-metals (target > 0) for band gaps, the share of negative raw
predictions, wall seconds of the process that finished the cell
(``resumed_at_epoch`` says when it resumed earlier work) — go into
``benchmarks/property_models.json`` as soon as it finishes, with the
machine. ``--members N`` makes a neural cell the mean of N models, each from
its own seed (recorded as ``<model>_xN``; member 0 is the single-model cell);
``--member I`` trains member I alone, so members can train in parallel
processes before the ``--members N`` run that scores them. Working state lives
in ``runs/benchmarks/property_models/``, one folder per cell, member and
settings; a killed cell resumes there.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data" / "open"
JSON = ROOT / "benchmarks" / "property_models.json"
WORK = ROOT / "runs" / "benchmarks" / "property_models"
MATBENCH_SEED = 18012019
LANTHANIDES = ("La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu")
SPLITS = ("matbench", "matbench_grouped", "lanthanides", "oqmd", "mp_e_hull")
# the CrabNet train / val / test splits: split → (files, with {} for the part; attribute)
FILE_SPLITS = {"oqmd": ("oqmd/formation_enthalpy_{}.csv", "delta_e"),
               "mp_e_hull": ("mp/mp_e_hull_{}.csv", "stability")}
MODELS = ("rf", "thesis", "attention", "attention_arity")
# the shipped thesis CNN's settings (check_point/CNN/MP_band_gap/config.json)
THESIS_FLAGS = dict(arch="thesis", epochs=80, batch_size=256, lr=0.002, loss="mae", schedule="cosine",
                    fractions=64, dense=64)
# one fold of MP band gap in about an hour on two CPU cores
ATTENTION_FLAGS = dict(arch="attention", epochs=60, width=128, heads=4, blocks=3)
# the neural models' settings; attention_arity trains in batches of one arity (train-cnn --arity-batches)
FLAGS = {"thesis": THESIS_FLAGS, "attention": ATTENTION_FLAGS,
         "attention_arity": {**ATTENTION_FLAGS, "arity_batches": True}}
OQMD_EPOCHS = {"thesis": 35, "attention": 20, "attention_arity": 20}
PUBLISHED = {
    "matbench": {"unit": "eV", "CrabNet (Matbench leaderboard, composition only)": 0.27,
                 "RF-SCM/Magpie (Matbench leaderboard)": 0.35},
    "oqmd": {"unit": "eV/atom", "CrabNet (paper)": 0.031, "ElemNet (CrabNet paper)": 0.049,
             "RF (CrabNet paper)": 0.083},
}


def load(split: str):
    """``(formulas, targets, folds, attribute)``: folds is a list of (name, train_rows, select_rows or None,
    score_rows)."""
    from sklearn.model_selection import KFold

    if split in FILE_SPLITS:
        pattern, attribute = FILE_SPLITS[split]
        parts = [pd.read_csv(SHARED / pattern.format(p), keep_default_na=False) for p in ("train", "val", "test")]
        frame = pd.concat(parts, ignore_index=True)
        edges = np.cumsum([0] + [len(p) for p in parts])
        rows = [np.arange(edges[i], edges[i + 1]) for i in range(3)]
        return frame.formula.to_numpy(str), frame.target.to_numpy(np.float32), \
            [("test", rows[0], rows[1], rows[2])], attribute
    frame = pd.read_csv(SHARED / "mp" / "mp_gap.csv")
    formulas, y = frame.formula.to_numpy(str), frame.target.to_numpy(np.float32)
    kfold = KFold(5, shuffle=True, random_state=MATBENCH_SEED)
    if split == "matbench":
        return formulas, y, [(f"k{k}", tr, None, te) for k, (tr, te) in enumerate(kfold.split(formulas))], "band_gap"
    from tfmat.composition import formulas_of, parse_formulas

    comps = parse_formulas(list(formulas)).compositions
    if split == "matbench_grouped":
        keys = np.array(formulas_of(comps))
        distinct, first, group = np.unique(keys, return_index=True, return_inverse=True)
        order = np.argsort(first)                      # distinct compositions in order of first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        folds = []
        for k, (tr, te) in enumerate(kfold.split(order)):
            in_test = np.isin(rank[group], te)
            folds.append((f"k{k}", np.flatnonzero(~in_test), None, np.flatnonzero(in_test)))
        return formulas, y, folds, "band_gap"
    if split == "lanthanides":
        from tfmat.elements import Z_OF

        dense = comps.dense()
        cols = [Z_OF[e] - 1 for e in LANTHANIDES]
        held = (dense[:, cols] > 0).any(axis=1)
        return formulas, y, [("held_out", np.flatnonzero(~held), None, np.flatnonzero(held))], "band_gap"
    raise SystemExit(f"unknown split {split!r}; one of {', '.join(SPLITS)}")


def features(formulas: np.ndarray):
    from tfmat.composition import parse_formulas
    from tfmat.features import element_fractions, magpie_features

    parsed = parse_formulas(list(formulas))
    if parsed.rejects:
        raise SystemExit(f"unreadable formula: {parsed.rejects[0]}")
    return magpie_features(parsed.compositions).astype(np.float32), element_fractions(parsed.compositions)


def fit_rf(x, y, train):
    from sklearn.ensemble import RandomForestRegressor

    rf = RandomForestRegressor(n_estimators=100, n_jobs=os.cpu_count(), random_state=0)
    rf.fit(x[train].reshape(len(train), -1), y[train])
    return lambda rows: rf.predict(x[rows].reshape(len(rows), -1))


def fit_neural(model: str, split: str, fold: str, inputs, y, train, select, attribute, member: int = 0):
    """Train (or resume) one member of a neural cell; returns ``(predict(rows), flags, epochs done before
    this process)``. Member ``i`` starts from seed offset ``i``; member 0 is the single-model cell."""
    from tfmat.cnn import CNNConfig, Split, train_member
    from tfmat.training import completed_epochs

    flags = dict(FLAGS[model])
    if split == "oqmd":
        flags["epochs"] = OQMD_EPOCHS[model]
    if select is None:  # 10% of the training rows choose the kept epoch
        perm = np.random.default_rng(520).permutation(train)
        n = len(perm) // 10
        select, train = np.sort(perm[:n]), np.sort(perm[n:])
    source = "OQMD" if split == "oqmd" else "MP"
    config = CNNConfig(data_name=source, attribute=attribute, **flags)
    # other settings never resume this one
    work = WORK / split / model / (f"{fold}-{settings_digest(flags)}" + (f"-m{member}" if member else ""))
    before = completed_epochs(work)
    net = train_member(inputs, y, Split(fold, train, select, select), config, work, backup_every=500,
                       seed_offset=member)
    return lambda rows: np.asarray(net.predict((inputs[0][rows], inputs[1][rows]), batch_size=8192,
                                               verbose=0)).ravel(), flags, before


def settings_digest(flags: dict) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(flags, sort_keys=True).encode()).hexdigest()[:10]


def machine() -> dict:
    from machine import cpu

    return {"cpu": cpu()["cpu"], "cores": os.cpu_count(), "python": platform.python_version()}


def score(y, pred, attribute: str) -> dict:
    from tfmat.cnn.config import NON_NEGATIVE
    from tfmat.models.cnn import scores

    out = {"mae": scores(y, pred)["mae"], "r2": scores(y, pred)["r2"], "rows": int(len(y)),
           "negative_share": float(np.mean(pred < 0))}
    if attribute in NON_NEGATIVE:
        clipped = np.maximum(pred, 0)
        out.update(mae_clipped=float(np.mean(np.abs(clipped - y))))
    if attribute == "band_gap":  # (one of NON_NEGATIVE)
        metal = y <= 0
        out.update(mae_nonmetals=float(np.mean(np.abs(clipped[~metal] - y[~metal]))), nonmetal_rows=int((~metal).sum()))
    return out


def record(split: str, model: str, fold: str, result: dict) -> None:
    """Add one cell to the JSON (cells may run in parallel processes: the read-modify-write is locked)."""
    import fcntl

    WORK.mkdir(parents=True, exist_ok=True)
    with open(WORK / "json.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _record(split, model, fold, result)


def _record(split: str, model: str, fold: str, result: dict) -> None:
    from tfmat.io import write_json

    data = json.loads(JSON.read_text()) if JSON.exists() else {"published": PUBLISHED, "cells": {}}
    data["published"] = PUBLISHED
    data["cells"].setdefault(split, {}).setdefault(model, {})[fold] = result
    for s, models in data["cells"].items():
        data.setdefault("summary", {})[s] = {
            m: {"folds": len(cells), "mae": float(np.mean([c["mae_clipped" if "mae_clipped" in c else "mae"]
                                                           for c in cells.values()]))}
            for m, cells in models.items()}
    write_json(JSON, data)


def run(split: str, model: str, only: str | None, members: int = 1, member: int | None = None) -> None:
    """Run the cells of ``split`` × ``model`` (``only``: one fold). A neural cell with ``members`` > 1 is the
    mean of that many members (recorded as ``<model>_x<members>``); ``member`` trains that one member only
    and records nothing, so members can train in parallel processes."""
    formulas, y, folds, attribute = load(split)
    x, f = features(formulas)
    key = model if members == 1 else f"{model}_x{members}"
    for name, train, select, test in folds:
        if only is not None and name != only:
            continue
        start = time.perf_counter()
        flags, resumed = {"n_estimators": 100}, 0
        if model == "rf":
            pred = fit_rf(x, y, train if select is None else np.concatenate([train, select]))(test)
        else:
            each = []
            for m in range(members) if member is None else [member]:
                predict, flags, before = fit_neural(model, split, name, (x, f), y, train, select, attribute,
                                                    member=m)
                each.append(predict(test))
                resumed = max(resumed, before)
            if member is not None:
                print(f"{split} {model} {name}: member {member} trained", flush=True)
                continue
            pred = np.mean(each, axis=0)
            if members > 1:
                flags = {**flags, "members": members}
        result = {**score(y[test], pred, attribute), "train_rows": int(len(train)),
                  "seconds": round(time.perf_counter() - start, 1), "settings": flags, "machine": machine(),
                  **({"resumed_at_epoch": resumed} if resumed else {}),
                  "command": f"python benchmarks/property_models.py --split {split} --model {model} --fold {name}"
                             + (f" --members {members}" if members > 1 else "")}
        record(split, key, name, result)
        print(f"{split} {key} {name}: MAE {result.get('mae_clipped', result['mae']):.4f} "
              f"({result['seconds']:.0f} s, {len(train)} training rows)", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=SPLITS)
    parser.add_argument("--model", choices=MODELS)
    parser.add_argument("--fold", default=None, help="one fold (k0..k4, held_out, test); default every fold")
    parser.add_argument("--members", type=int, default=1, help="neural models: an ensemble of this many "
                        "members, each from its own seed (default 1)")
    parser.add_argument("--member", type=int, default=None, help="with --members: train only this member "
                        "(0-based), to train members in parallel; records nothing")
    parser.add_argument("--list", action="store_true", help="print the cells recorded in the JSON")
    args = parser.parse_args(argv)
    if args.list:
        data = json.loads(JSON.read_text()) if JSON.exists() else {"summary": {}}
        print(json.dumps(data.get("summary", {}), indent=1))
        return 0
    if not (args.split and args.model):
        parser.error("give --split and --model (or --list)")
    if not SHARED.is_dir():
        print(f"{SHARED} is missing: this benchmark reads ../shared/data/open", file=sys.stderr)
        return 2
    if args.members < 1 or (args.member is not None and not 0 <= args.member < args.members):
        parser.error("--members must be ≥ 1 and --member in [0, --members)")
    if args.model == "rf" and (args.members > 1 or args.member is not None):
        parser.error("--members and --member are for the neural models")
    run(args.split, args.model, args.fold, args.members, args.member)
    return 0


if __name__ == "__main__":
    sys.exit(main())
