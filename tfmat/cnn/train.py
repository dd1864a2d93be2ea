"""The thesis's CNN protocol: splits, fold training with :func:`tfmat.training.fit`, reports.

A run writes, under its output directory:

* ``metrics.json`` — validation scores of every fold, their mean and spread,
  the pooled out-of-fold scores and (with a holdout) the ensemble's scores;
* ``epochs.csv`` — per-epoch MAE/RMSE/R² on train and test of every fold;
* ``learning_curves.png``, ``parity.png``;
* ``predictions.csv`` — out-of-fold (and holdout) predictions;
* ``folds/<member>/`` — per-fold working state; a killed run resumes from it.

The model itself (the fold members, their config and scalers) goes to the
checkpoint directory, loadable by :class:`tfmat.cnn.Predictor`.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..composition import parse_formulas
from ..features import element_fractions, magpie_features
from ..io import claim_run, data_hash, record_run, write_csv, write_json
from ..progress import bar as progress_bar
from .config import CNNConfig

MEMBERS = "members"


@dataclass
class Split:
    """Row indices of one fold: ``train`` and ``test`` fit the model, ``validation`` scores it."""

    name: str
    train: np.ndarray
    test: np.ndarray
    validation: np.ndarray


def set_aside(n: int, config: CNNConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(holdout, calibration, pool)`` rows of ``n`` compositions, seeded by ``config.seed``: the holdout
    and calibration fractions come off one permutation before any fold sees a row."""
    order = np.random.default_rng(config.seed).permutation(n)
    n_hold, n_cal = int(round(config.holdout * n)), int(round(config.calibration * n))
    return np.sort(order[:n_hold]), np.sort(order[n_hold:n_hold + n_cal]), order[n_hold + n_cal:]


def make_splits(n: int, config: CNNConfig) -> tuple[np.ndarray, list[Split]]:
    """``(holdout_rows, splits)`` for ``n`` distinct compositions, seeded by ``config.seed``; the folds
    are drawn from the rows :func:`set_aside` leaves."""
    holdout, _, pool = set_aside(n, config)
    splits = []
    for r in range(config.repeats):
        perm = np.random.default_rng([config.seed, r]).permutation(pool)
        if config.folds == 1:
            n_val = int(round(config.validation_fraction * len(perm)))
            chunks = [perm[:n_val]]
        else:
            chunks = np.array_split(perm, config.folds)
        for k, validation in enumerate(chunks):
            rest = np.setdiff1d(pool, validation, assume_unique=True)
            rest = np.random.default_rng([config.seed, r, k]).permutation(rest)
            n_test = int(round(config.test_fraction * len(rest)))
            splits.append(Split(f"r{r}_k{k}", np.sort(rest[n_test:]), np.sort(rest[:n_test]), np.sort(validation)))
    return holdout, splits


def load_features(config: CNNConfig) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The deduplicated property table, its (N, 22, 6) features and (N, 118) element fractions."""
    from ..data import DataError, load_property_dataset

    frame = load_property_dataset(config.data_name, config.attribute, data=config.data,
                                  label_range=config.label_range, drop_bad_rows=config.drop_bad_rows)
    parsed = parse_formulas(frame["formula"].tolist())
    if parsed.rejects:
        r = parsed.rejects[0]
        raise DataError(f"row {r.row} ({r.text!r}): {r.reason}")
    x = magpie_features(parsed.compositions).astype(np.float32)
    fractions = element_fractions(parsed.compositions)
    finite = np.isfinite(frame["target"].to_numpy(float))
    return frame[finite].reset_index(drop=True), x[finite], fractions[finite]


BEST_WEIGHTS = "best.weights.h5"  # a member's best-test-R² weights in its work folder; the epoch in .json


def _callbacks(work: Path, bar=None, backup_every: int | None = None):
    import keras

    from ..training import Backup, KeepBest
    from .callbacks import EpochBar

    work.mkdir(parents=True, exist_ok=True)
    # the best test R² weights are kept and restored at the end; the backup comes last, so an epoch counts
    # as done only once its outputs are written
    return [KeepBest(work / BEST_WEIGHTS, "val_r2", weights_only=True, restore=True),
            keras.callbacks.CSVLogger(str(work / "history.csv"), append=True),
            keras.callbacks.TerminateOnNaN(),
            *([EpochBar(bar)] if bar is not None else []),
            Backup(work / "backup", every=backup_every)]


def train_member(inputs: tuple[np.ndarray, np.ndarray], y: np.ndarray, split: Split, config: CNNConfig,
                 work: Path, bar=None, seed_offset: int = 0, backup_every: int | None = None):
    """Fit one model on ``split`` (resuming from ``work`` if present); returns the best-test-R² model.

    ``inputs`` is ``(features, fractions)`` for all rows; ``bar`` (optional) advances once per epoch. The
    training rows are shuffled each epoch by the member's seed and the epoch (with ``arity_batches``, into
    batches of one arity: :func:`tfmat.data.pipeline.arity_batches`), and backed up every ``backup_every``
    batches as well as at each epoch end.
    """
    import keras
    import tensorflow as tf

    from ..data.pipeline import arity_batches, epoch_seed
    from ..training import fit

    seed = config.seed + seed_offset
    model = build_model(config, inputs[0][split.train], seed)
    if config.arity_batches:
        from ..models.attention import formula_tokens

        z, fraction = formula_tokens(inputs[1][split.train], model.max_elements)

        def data(epoch):
            return arity_batches(z, fraction, y[split.train], config.batch_size, epoch_seed(seed, epoch))
    else:
        rows = tf.data.Dataset.from_tensor_slices((take(inputs, split.train), y[split.train]))

        def data(epoch):
            return rows.shuffle(len(split.train), seed=epoch_seed(seed, epoch)).batch(config.batch_size)
    if config.schedule == "cosine":
        steps = config.epochs * int(data(0).cardinality())
        model.optimizer.learning_rate = keras.optimizers.schedules.CosineDecay(config.lr, steps)
    test = tf.data.Dataset.from_tensor_slices((take(inputs, split.test), y[split.test])).batch(config.batch_size)
    fit(model, data, config.epochs, _callbacks(work, bar, backup_every), validation=test)
    return model


def build_model(config: CNNConfig, train_features: np.ndarray, seed: int | None = None):
    """The compiled model ``config.arch`` names; the thesis CNN's scaling is fitted to ``train_features``."""
    from .config import NON_NEGATIVE

    if config.arch == "attention":
        from ..models.attention import build_attention

        return build_attention(lr=config.lr, loss=config.loss, width=config.width, heads=config.heads,
                               blocks=config.blocks, head="nonneg" if config.attribute in NON_NEGATIVE else "linear",
                               seed=seed)
    from ..models.cnn import build_cnn

    return build_cnn(train_features, lr=config.lr, loss=config.loss, filters=config.filters, dense=config.dense,
                     fraction_units=config.fractions, seed=seed)


def describe(config: CNNConfig) -> str:
    if config.arch == "attention":
        return f"element attention, width {config.width}, {config.blocks} blocks of {config.heads} heads"
    return "thesis CNN" if not config.fractions else f"CNN + fraction branch {config.fractions}"


def take(inputs: tuple[np.ndarray, np.ndarray], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return inputs[0][rows], inputs[1][rows]


def _predict(model, inputs) -> np.ndarray:
    return np.asarray(model.predict(inputs, batch_size=8192, verbose=0)).ravel()


FOLD_DONE = "scores.json"  # written last in a fold's work folder: the fold is finished


def train_fold(inputs: tuple[np.ndarray, np.ndarray], y: np.ndarray, split: Split, index: int, config: CNNConfig,
               work: Path, bar=None, backup_every: int | None = None) -> None:
    """Train member ``index`` on ``split`` in ``work`` (resuming there) and write its ``model.keras``,
    validation predictions and scores; ``scores.json``, written last, marks the fold finished. The fold's
    folder is locked meanwhile (:func:`tfmat.io.output_lock`)."""
    from ..io import output_lock
    from ..models.cnn import scores

    with output_lock(work):  # one writer per fold, also against a worker process of an earlier run
        model = train_member(inputs, y, split, config, work, bar, seed_offset=index, backup_every=backup_every)
        model.save(work / "partial.keras")
        (work / "partial.keras").replace(work / "model.keras")
        pred = {part: _predict(model, take(inputs, getattr(split, part))) for part in ("train", "test", "validation")}
        write_csv(work / "validation.csv", pd.DataFrame({"row": split.validation, "predicted": pred["validation"]}))
        write_json(work / FOLD_DONE, {part: scores(y[getattr(split, part)], p) for part, p in pred.items()})
        shutil.rmtree(work / "backup", ignore_errors=True)


def _train_folds_in_processes(config: CNNConfig, out: Path, todo: list[tuple[int, Split]], jobs: int,
                              backup_every: int | None, bar, log: Callable[[str], None]) -> None:
    """Train the folds ``todo`` (``(index, split)`` pairs) ``jobs`` at a time, each in a fresh process
    with an equal share of this process's CPUs as TensorFlow threads.

    A worker reloads the data, rebuilds the splits from ``config`` and trains its fold with
    :func:`train_fold`; it is killed if this process dies, and a rerun resumes every fold from its backup.
    The bar advances by the epochs the folds' histories record.
    """
    import concurrent.futures as futures
    import multiprocessing
    import os

    from ..training import is_deterministic

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = max(1, cpus // jobs)
    log(f"training {len(todo)} fold(s), {jobs} at a time, each in its own process with {threads} thread(s)")
    histories = [out / "folds" / split.name / "history.csv" for _, split in todo]

    def epochs_done() -> int:
        return sum(max(0, len(h.read_text().splitlines()) - 1) for h in histories if h.is_file())

    start = epochs_done()
    with futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_fold_worker_start,
                                     initargs=(os.getpid(), threads, is_deterministic())) as pool:
        pending = {pool.submit(_fold_worker, config.to_dict(), str(out), index, backup_every) for index, _ in todo}
        try:
            while pending:
                finished, pending = futures.wait(pending, timeout=5, return_when=futures.FIRST_COMPLETED)
                bar.update(epochs_done() - start - bar.n)
                for job in finished:
                    job.result()  # a worker's error is raised here
        except BaseException:
            pool.shutdown(cancel_futures=True)  # folds not yet started stay untouched for the rerun
            raise


def _fold_worker_start(parent: int, threads: int, deterministic: bool) -> None:
    """A fold worker's set-up: die with the parent (Linux), quiet TensorFlow, ``threads`` threads."""
    import os
    import sys

    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the line above
            os._exit(1)
    from ..quiet import silence_tensorflow

    silence_tensorflow()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    if deterministic:
        from ..training import deterministic as make_deterministic

        make_deterministic()


def _fold_worker(config: dict, out: str, index: int, backup_every: int | None) -> str:
    """Train fold ``index`` of the run in ``out`` (a worker of :func:`_train_folds_in_processes`)."""
    config = CNNConfig.from_dict(config)
    frame, x, fractions = load_features(config)
    _, splits = make_splits(len(frame), config)
    split = splits[index]
    train_fold((x, fractions), frame["target"].to_numpy(np.float32), split, index, config,
               Path(out) / "folds" / split.name, backup_every=backup_every)
    return split.name


def run_training(config: CNNConfig, out: str | Path, checkpoint: str | Path,
                 log: Callable[[str], None] = print, backup_every: int | None = None, jobs: int = 1) -> dict:
    """Train every fold of ``config`` (skipping finished ones), write reports and the checkpoint.

    ``out`` is bound to the data, the split and the config (:func:`tfmat.io.claim_run`): a rerun with
    other data or settings is refused. ``jobs`` > 1 trains that many folds at once, each in its own
    process (:func:`_train_folds_in_processes`); a fold is trained the same way either way.
    """
    from ..models.cnn import scores
    from .model_dir import save_model_dir

    out, checkpoint = Path(out), Path(checkpoint)
    frame, x, fractions = load_features(config)
    inputs = (x, fractions)
    y = frame["target"].to_numpy(np.float32)
    holdout, splits = make_splits(len(frame), config)
    thin = next((s for s in splits if min(len(s.train), len(s.test), len(s.validation)) == 0), None)
    if thin is not None:
        from ..data import DataError
        raise DataError(f"{len(frame)} compositions are too few for {config.folds} fold(s): fold {thin.name} "
                        f"would get {len(thin.train)} training, {len(thin.test)} test and {len(thin.validation)} "
                        "validation rows")
    claim_run(out, {**config.identity(), "data_sha256": data_hash(frame["formula"].to_numpy(str), y),
                    "split_sha256": data_hash(holdout, *[getattr(s, p) for s in splits
                                                         for p in ("train", "test", "validation")])})
    record_run(out, config.to_dict())
    rejects = frame.attrs.get("rejects", [])
    if rejects:
        from ..data.files import rejects_frame
        write_csv(out / "rejects.csv", rejects_frame(rejects))
        log(f"{len(rejects)} bad row(s) of {config.data} left out (--drop-bad-rows), listed in {out / 'rejects.csv'}")
    log(f"{config.name}: {len(frame)} compositions, {len(splits)} fold model(s), holdout {len(holdout)}; "
        f"batch {config.batch_size}, lr {config.lr} ({config.schedule}), {config.epochs} epochs, loss {config.loss}, "
        f"{describe(config)}")

    fold_scores, member_files, oof = [], [], []
    todo = [(index, s) for index, s in enumerate(splits) if not (out / "folds" / s.name / FOLD_DONE).exists()]
    bar = progress_bar(len(todo) * config.epochs, "train-cnn", "epoch", disable=not todo)
    jobs = max(1, min(jobs, len(todo)))
    if jobs > 1:
        _train_folds_in_processes(config, out, todo, jobs, backup_every, bar, log)
    for index, split in enumerate(splits):
        work = out / "folds" / split.name
        done = work / FOLD_DONE
        if not done.exists():
            bar.set_description(f"fold {split.name}")
            log(f"fold {split.name}: train {len(split.train)}, test {len(split.test)}, "
                f"validation {len(split.validation)}")
            train_fold(inputs, y, split, index, config, work, bar, backup_every)
        fold = json.loads(done.read_text())
        fold_scores.append({"fold": split.name, **fold})
        member_files.append(work / "model.keras")
        val = pd.read_csv(work / "validation.csv")
        oof.append(val.assign(fold=split.name))
        log(f"fold {split.name}: validation MAE {fold['validation']['mae']:.4f}, R² {fold['validation']['r2']:.4f}")

    bar.close()
    oof = pd.concat(oof, ignore_index=True)
    predictions = pd.DataFrame({"formula": frame["formula"].to_numpy()[oof["row"]], "target": y[oof["row"]],
                                "predicted": oof["predicted"], "fold": oof["fold"], "set": "validation"})
    metrics = {"config": config.to_dict(), "compositions": len(frame), "rejected_rows": len(rejects),
               "folds": fold_scores,
               "validation_mean": _mean_scores([f["validation"] for f in fold_scores]),
               "validation_pooled": scores(predictions["target"], predictions["predicted"])}
    from .domain import Domain

    save_model_dir(checkpoint, config, member_files, metrics, domain=Domain.of(x, fractions))
    _, calibration_rows, _ = set_aside(len(frame), config)
    if len(calibration_rows):
        from . import calibration
        from .predict import Predictor

        each = Predictor(checkpoint).member_predictions(x[calibration_rows], fractions[calibration_rows])
        fitted = calibration.fit(each.mean(axis=1) - y[calibration_rows], each.std(axis=1))
        write_json(checkpoint / calibration.FILE, fitted)
        metrics["calibration"] = fitted
        log(f"uncertainty calibrated on {len(calibration_rows)} rows: "
            + (f"σ = {fitted['scale']:.3f} × spread" if fitted["scale"] is not None
               else f"σ = {fitted['constant']:.4f}"))
    if len(holdout):
        from .predict import Predictor

        ens = Predictor(checkpoint).predict_features(x[holdout], fractions[holdout])
        metrics.update(ensemble_scores(y[holdout], ens))
        hold = pd.DataFrame({"formula": frame["formula"].to_numpy()[holdout], "target": y[holdout],
                             "predicted": ens["prediction"], "fold": "ensemble", "set": "holdout",
                             "uncertainty": ens["uncertainty"]})
        predictions = pd.concat([predictions, hold], ignore_index=True)
        write_json(checkpoint / "metrics.json", metrics)
    write_csv(out / "predictions.csv", predictions)
    write_json(out / "metrics.json", metrics)
    epochs = _epoch_table(out, splits)
    write_csv(out / "epochs.csv", epochs)
    from .plots import learning_curves, parity

    learning_curves(epochs, out / "learning_curves.png", title=config.name)
    parity(predictions, out / "parity.png", title=config.name)
    if len(holdout) and len(calibration_rows):
        from .plots import calibration as calibration_plot

        calibration_plot(hold["predicted"] - hold["target"], hold["uncertainty"], out / "calibration.png",
                         title=f"{config.name}: holdout")
    log(f"validation MAE {metrics['validation_mean']['mae']:.4f} ± {metrics['validation_mean']['mae_std']:.4f}"
        + (f"; holdout ensemble MAE {metrics['holdout_ensemble']['mae']:.4f}" if len(holdout) else ""))
    return metrics


def ensemble_scores(y: np.ndarray, ens: pd.DataFrame) -> dict:
    """``holdout_ensemble`` (scores of the mean, with ``mean_uncertainty``) and ``holdout_members``
    (mean and spread of each member's scores) for targets ``y`` and a :meth:`Predictor.predict_features` frame."""
    from ..models.cnn import scores

    members = [c for c in ens.columns if c.startswith("member_")]
    from .calibration import coverage

    errors = ens["prediction"].to_numpy() - np.asarray(y, float)
    return {"holdout_ensemble": {**scores(y, ens["prediction"]), "mean_uncertainty": float(ens["uncertainty"].mean()),
                                 "coverage_1sigma": coverage(errors, ens["uncertainty"])},
            "holdout_members": _mean_scores([scores(y, ens[c]) for c in members]) if members else None}


def score_holdout(model_dir: str | Path, validation: bool = False, clip: bool = True) -> dict:
    """Recompute a trained ensemble's holdout scores from its directory and its data.

    The holdout is the rows :func:`make_splits` sets aside for the config saved in
    ``model_dir`` (the same data, deduplicated and loaded as in training); returns
    ``compositions``, ``holdout_rows`` and the keys of :func:`ensemble_scores`; for band gap, the ensemble's
    ``mae_nonmetals`` over the ``nonmetal_rows`` (gap > 0).
    With ``validation``, also ``validation_mean`` and ``validation_pooled``: each
    member scored on its own validation fold (members are named after their split).
    ``clip=False`` scores the members' raw outputs, as training did, before
    :class:`Predictor` clips a non-negative property at 0.
    """
    from ..data import load_property_dataset
    from ..models.cnn import scores
    from .predict import Predictor

    predictor = Predictor(model_dir)
    config = CNNConfig.from_dict(predictor.info["config"])
    if not config.holdout:
        raise ValueError(f"{model_dir} was trained without a holdout (config holdout = 0)")
    frame = load_property_dataset(config.data_name, config.attribute, data=config.data,
                                  label_range=config.label_range, drop_bad_rows=config.drop_bad_rows)
    frame = frame[np.isfinite(frame["target"].to_numpy(float))].reset_index(drop=True)
    holdout, splits = make_splits(len(frame), config)
    rows = np.arange(len(frame)) if validation else holdout
    comps = parse_formulas(frame["formula"].to_numpy()[rows].tolist()).compositions
    each = predictor.member_predictions(magpie_features(comps), element_fractions(comps), clip=clip)
    y = frame["target"].to_numpy(np.float32)[rows]
    at = np.searchsorted(rows, holdout)
    mean, sigma = predictor.estimate(each[at])
    ens = pd.DataFrame({"prediction": mean, "uncertainty": sigma})
    for j in range(each.shape[1] if each.shape[1] > 1 else 0):
        ens[f"member_{j}"] = each[at, j]
    out = {"compositions": len(frame), "holdout_rows": len(holdout), **ensemble_scores(y[at], ens)}
    if config.attribute == "band_gap":  # the non-metals: a gap above 0
        nonmetal = y[at] > 0
        out["holdout_ensemble"].update(mae_nonmetals=float(np.abs(mean[nonmetal] - y[at][nonmetal]).mean()),
                                       nonmetal_rows=int(nonmetal.sum()))
    if validation:
        names = [Path(m).stem for m in predictor.info["members"]]
        folds = [(s, names.index(s.name)) for s in splits if s.name in names]
        out["validation_mean"] = _mean_scores([scores(y[s.validation], each[s.validation, j]) for s, j in folds])
        rows_v = np.concatenate([s.validation for s, _ in folds])
        out["validation_pooled"] = scores(y[rows_v], np.concatenate([each[s.validation, j] for s, j in folds]))
    return out


def _mean_scores(items: list[dict]) -> dict:
    out = {}
    for key in ("mae", "rmse", "r2"):
        values = np.array([s[key] for s in items], float)
        out[key], out[f"{key}_std"] = float(values.mean()), float(values.std())
    out["n_models"] = len(items)
    return out


def _epoch_table(out: Path, splits: list[Split]) -> pd.DataFrame:
    """Per-epoch history of every fold; Keras's ``val_`` columns are the test split."""
    frames = []
    for split in splits:
        hist = pd.read_csv(out / "folds" / split.name / "history.csv")
        hist = hist.drop_duplicates("epoch", keep="last")
        rename = {c: ("test_" + c[4:] if c.startswith("val_") else f"train_{c}") for c in hist.columns if c != "epoch"}
        frames.append(hist.rename(columns=rename).assign(fold=split.name))
    table = pd.concat(frames, ignore_index=True)
    return table[["fold", "epoch"] + [c for c in table.columns if c not in ("fold", "epoch")]]


__all__ = ["Split", "set_aside", "make_splits", "build_model", "describe", "load_features", "take", "train_member",
           "train_fold", "run_training", "ensemble_scores",
           "score_holdout"]
