"""Active-learning generative design of wide band-gap materials (SPEC §11).

One run (:func:`active_learn`), in an output directory:

1. the labelled data (formula → band gap, eV) restricted to formulas the
   85 × 8 matrix holds, split 60/20/20 (train pool / validation / test) by the
   seed; the run starts from ``labels`` training rows (all below ``below`` eV
   when it is set);
2. every round: fit the GP surrogate (:mod:`.surrogate`) on the latent codes
   of the labelled formulas, propose ``batch`` latent points
   (:mod:`.acquisition`), decode them with the autoencoder, drop those that do
   not decode to a 2–8 element formula, those that fail the chemistry check,
   those already known (in the data, or acquired before) and repeats within
   the batch — each counted — and
   label the rest with the oracle, a property model standing in for DFT;
3. after the rounds: a screening model (random forest on Magpie features, or
   the project's CNN) trained on the starting labels and one trained on them plus the acquired
   ones, scored on the test split (MAE overall and on the wide-gap tail) and on
   new chemically valid formulas the shipped MatGAN generates (against the
   oracle).

``acquisition`` is ``ucb`` or one of the two controls: ``random-latent``
(uniform points in the latent box instead of UCB) and ``random-labels``
(the same number of extra rows drawn from the training pool, with their DFT
labels). Each round's results are written before the next begins, so a killed
run resumes at the round it was in and ends as an uninterrupted one would; a
finished run rerun with more ``rounds`` goes on from its last round.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..configs import SavedConfig
from ..data.errors import DataError
from ..io import atomic_path, write_csv, write_json
from ..paths import CHECKPOINTS

ACQUISITIONS = ("ucb", "random-latent", "random-labels")
SCREENINGS = ("rf", "cnn")
STATE, ROUNDS, ACQUIRED, RESULTS, CANDIDATES, PLOT = ("state.json", "rounds.csv", "acquired.csv", "results.json",
                                                      "candidates.csv", "active_learning.png")


@dataclass
class ActiveConfig(SavedConfig):
    """Everything that decides a run's results (saved as ``config.json``); model paths pin the models."""

    data: str | None = None  # CSV of formula + band gap; None: the embedded MP band gaps
    labels: int = 1000  # starting labels, drawn from the training split
    below: float | None = None  # draw the starting labels only among gaps below this (eV)
    rounds: int = 10
    batch: int = 100  # latent points proposed per round
    acquisition: str = "ucb"
    kappa: float = 10.0  # UCB = μ + κσ
    kernel: str = "matern52"
    starts: int = 256  # gradient-ascent starts per round
    climb_steps: int = 100
    climb_lr: float = 0.05
    min_distance: float = 2.0  # between the points of one batch (the codes' median distance is ≈ 10)
    radius: float | None = 6.0  # how far a climb may go from its start (None: anywhere in the box)
    gp_steps: int = 60  # L-BFGS iterations of the first fit
    refit_steps: int = 15  # of each later fit, from the previous hyperparameters
    screening: str = "rf"  # the screening model: "rf" (random forest on Magpie features) or "cnn"
    trees: int = 300  # of the random forest
    cnn_epochs: int = 200  # of the CNN
    candidates: int = 20_000  # MatGAN samples screened at the end (0: none)
    wide_gap: float = 4.0  # eV: the tail that counts as wide-gap
    rules: str = "thesis"  # oxidation-state rules of the chemistry check
    autoencoder: str = str(CHECKPOINTS / "autoencoder" / "MP" / "autoencoder.keras")
    oracle: str = str(CHECKPOINTS / "CNN" / "MP_band_gap")
    gan: str = str(CHECKPOINTS / "iMatGAN" / "MP")
    seed: int = 0

    def check(self) -> None:
        if self.acquisition not in ACQUISITIONS:
            raise ValueError(f"unknown acquisition {self.acquisition!r}; choose one of {', '.join(ACQUISITIONS)}")
        if self.screening not in SCREENINGS:
            raise ValueError(f"unknown screening model {self.screening!r}; choose one of {', '.join(SCREENINGS)}")
        for name in ("labels", "batch", "starts", "trees", "cnn_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("rounds", "candidates", "climb_steps", "gp_steps", "refit_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be at least 0")


@dataclass
class LabelledData:
    formulas: list[str]
    counts: np.ndarray  # (N, 85) int8
    gaps: np.ndarray  # eV
    split: np.ndarray  # "train" / "validation" / "test"
    rejected: int  # rows of the source that the matrix cannot hold


def load_labelled(data: str | None, seed: int) -> LabelledData:
    """Distinct representable formulas with their band gaps (polymorphs averaged), split 60/20/20."""
    from ..composition import encode_formulas
    from ..data import load_property_dataset

    frame = load_property_dataset("MP", "band_gap", data)
    enc = encode_formulas(frame.formula.tolist(), min_elements=2)
    gaps = frame.target.to_numpy(np.float64)[enc.rows]
    if len(enc.formulas) < 10:
        raise DataError(f"{data or 'the embedded MP band gaps'}: only {len(enc.formulas)} representable formulas")
    order = np.random.default_rng([seed, 60_20_20]).permutation(len(enc.formulas))
    split = np.empty(len(order), object)
    n_train, n_val = int(0.6 * len(order)), int(0.2 * len(order))
    split[order[:n_train]], split[order[n_train:n_train + n_val]], split[order[n_train + n_val:]] = \
        "train", "validation", "test"
    return LabelledData(enc.formulas, enc.counts, gaps, split, len(enc.rejects))


def starting_labels(data: LabelledData, cfg: ActiveConfig) -> np.ndarray:
    """Row indices of the starting labelled set."""
    pool = np.flatnonzero(data.split == "train")
    if cfg.below is not None:
        pool = pool[data.gaps[pool] < cfg.below]
    if len(pool) < cfg.labels:
        raise DataError(f"{cfg.labels} starting labels asked for, the training split holds {len(pool)}"
                        + (f" below {cfg.below} eV" if cfg.below is not None else ""))
    return np.sort(np.random.default_rng([cfg.seed, 1]).choice(pool, cfg.labels, replace=False))


class Oracle:
    """The stand-in for DFT: a trained band-gap model; a negative prediction counts as 0 eV."""

    def __init__(self, path: str):
        from ..cnn.predict import Predictor

        self.predictor = Predictor(path)

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        if not len(counts):
            return np.zeros(0)
        return np.maximum(self.predictor.predict_counts(counts)[0].astype(np.float64), 0.0)


def magpie_rows(counts: np.ndarray) -> np.ndarray:
    from ..composition import Compositions
    from ..features import magpie_features

    return magpie_features(Compositions.from_counts(np.asarray(counts))).reshape(len(counts), -1)


def fit_screening(counts: np.ndarray, gaps: np.ndarray, cfg: ActiveConfig, work: Path):
    """The screening model trained on ``(counts, gaps)``, as a function of (N, 85) counts: a random
    forest on flattened Magpie features, or the project's CNN (one model, 10% of the rows for its
    test split and 10% for validation, trained in ``work``)."""
    if cfg.screening == "cnn":
        from ..cnn.config import CNNConfig
        from ..cnn.predict import Predictor
        from ..cnn.train import run_training
        from ..composition import formulas_from_counts

        labels = work / "labels.csv"
        write_csv(labels, pd.DataFrame({"formula": formulas_from_counts(counts), "band_gap": gaps}))
        config = CNNConfig(data_name="MP", attribute="band_gap", data=str(labels), epochs=cfg.cnn_epochs,
                           seed=cfg.seed, fractions=32)
        if not (work / "model").is_dir():  # the run itself in work/cnn, bound to its labels
            run_training(config, work / "cnn", work / "model", log=lambda _: None)
        predictor = Predictor(work / "model")
        return lambda c: predictor.predict_counts(c)[0].astype(np.float64) if len(c) else np.zeros(0)
    from sklearn.ensemble import RandomForestRegressor

    forest = RandomForestRegressor(n_estimators=cfg.trees, n_jobs=-1, random_state=cfg.seed)
    forest.fit(magpie_rows(counts), gaps)
    forest.n_jobs = 1  # threads would add the trees' predictions in varying order, moving the last bits
    return lambda c: forest.predict(magpie_rows(c)) if len(c) else np.zeros(0)


def _read_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    return pd.read_csv(path, float_precision="round_trip") if path.is_file() else pd.DataFrame(columns=columns)


ROUND_COLUMNS = ["round", "proposed", "undecodable", "invalid", "known", "repeated", "acquired", "wide_gap_acquired",
                 "best_acquired", "gp_log_likelihood", "seconds"]
ACQUIRED_COLUMNS = ["round", "formula", "band_gap", "mean", "std"]


def _propose_round(cfg, gp, codes_all, labelled_codes, rng):
    from .acquisition import propose

    d = labelled_codes.shape[1]
    if cfg.acquisition == "random-latent":
        return rng.uniform(-1.0, 1.0, (cfg.batch, d))
    half = cfg.starts // 2  # starts: the labelled codes of highest UCB, and codes of random known formulas
    mean, std = gp.posterior(labelled_codes)
    top = labelled_codes[np.argsort(-(mean + cfg.kappa * std))[:half]]
    rand = codes_all[rng.choice(len(codes_all), cfg.starts - len(top), replace=False)]
    starts = np.concatenate([top, rand]) + rng.normal(0.0, 0.05, (cfg.starts, d))
    return propose(gp, starts, cfg.batch, cfg.kappa, cfg.min_distance, cfg.climb_steps, cfg.climb_lr, cfg.radius)


def _draw_training_rows(data, start_rows, drawn, k, r, rng, row):
    """The random-labels control: ``k`` training rows not labelled yet, with their DFT gaps."""
    pool = np.setdiff1d(np.flatnonzero(data.split == "train"), start_rows)
    pool = pool[[data.formulas[i] not in drawn for i in pool]]
    take = np.sort(rng.choice(pool, min(k, len(pool)), replace=False))
    row["proposed"] = len(take)
    return (pd.DataFrame({"round": r, "formula": [data.formulas[i] for i in take], "band_gap": data.gaps[take],
                          "mean": np.nan, "std": np.nan}), data.counts[take])


def _decode_and_label(points, ae, rules, known, oracle, gp, r, row):
    """Decode latent points; count in ``row`` those that do not decode, fail the chemistry check, are
    known or repeat; label the rest with the oracle (and the GP's mean and std at their points)."""
    from ..chemistry import check
    from ..composition import decode
    from ..models.autoencoder import decode_codes

    row["proposed"] = len(points)
    dec = decode(decode_codes(ae, points))
    row["undecodable"] = len(points) - len(dec.formulas)
    valid = check(dec.counts, rules).en if len(dec.formulas) else np.zeros(0, bool)
    row["invalid"] = int((~valid).sum())
    keep, seen = [], set()
    for i in np.flatnonzero(valid):
        f = dec.formulas[i]
        if f in known:
            row["known"] += 1
        elif f in seen:
            row["repeated"] += 1
        else:
            seen.add(f)
            keep.append(i)
    keep = np.asarray(keep, np.int64)
    counts = dec.counts[keep]
    if gp is not None and len(keep):
        mean, std = gp.posterior(points[dec.rows[keep]])
    else:
        mean = std = np.full(len(keep), np.nan)
    return (pd.DataFrame({"round": r, "formula": [dec.formulas[i] for i in keep], "band_gap": oracle(counts),
                          "mean": mean, "std": std}), counts)


def active_learn(cfg: ActiveConfig, out: str | Path, progress: bool = True) -> dict:
    """Run (or resume) the loop into ``out``; returns the results written to ``results.json``."""
    import keras
    import tensorflow as tf

    from ..chemistry import rules_named
    from ..composition import counts_of
    from ..models.autoencoder import encode_counts
    from ..progress import bar
    from .surrogate import GaussianProcess, Hyperparameters

    cfg.check()
    out = Path(out)
    saved = out / "config.json"
    if saved.is_file():  # a resumed run may go on for more rounds; nothing else may change
        before, now = json.loads(saved.read_text()), json.loads(json.dumps(cfg.to_dict()))
        changed = sorted(k for k in now if k != "rounds" and before.get(k) != now[k])
        if changed:
            raise DataError(f"{out} holds a run with other {', '.join(changed)}; pass another --out or --overwrite")
        if (out / STATE).is_file() and json.loads((out / STATE).read_text())["rounds_done"] > cfg.rounds:
            raise DataError(f"{out} has done more than {cfg.rounds} rounds already")
    write_json(saved, cfg.to_dict())
    tf.config.experimental.enable_op_determinism()
    data = load_labelled(cfg.data, cfg.seed)
    start_rows = starting_labels(data, cfg)
    ae = keras.models.load_model(cfg.autoencoder, compile=False)
    oracle = Oracle(cfg.oracle)
    codes_all = encode_counts(ae, data.counts).astype(np.float64)
    known = set(data.formulas)
    rules = rules_named(cfg.rules)

    state = json.loads((out / STATE).read_text()) if (out / STATE).is_file() else {"rounds_done": 0}
    done = state["rounds_done"]
    rounds = _read_csv(out / ROUNDS, ROUND_COLUMNS)
    rounds = rounds[rounds["round"] < done]
    acquired = _read_csv(out / ACQUIRED, ACQUIRED_COLUMNS)
    acquired = acquired[acquired["round"] < done]
    acq_counts = counts_of(acquired.formula.tolist()) if len(acquired) else np.zeros((0, data.counts.shape[1]), np.int8)
    known.update(acquired.formula)
    hyper = None if "hyper" not in state else Hyperparameters(state["hyper"]["amplitude"],
                                                              np.asarray(state["hyper"]["length_scales"]),
                                                              state["hyper"]["noise"])
    drawn = set(acquired.formula) if cfg.acquisition == "random-labels" else set()

    rounds_bar = bar(cfg.rounds, f"active-learn ({cfg.acquisition})", "round", disable=not progress)
    rounds_bar.update(done)
    for r in range(done, cfg.rounds):
        t0 = time.perf_counter()
        rng = np.random.default_rng([cfg.seed, 2, r])
        x = np.concatenate([codes_all[start_rows], encode_counts(ae, acq_counts).astype(np.float64)]) \
            if len(acq_counts) else codes_all[start_rows]
        y = np.concatenate([data.gaps[start_rows], acquired.band_gap.to_numpy(np.float64)])
        row = dict.fromkeys(ROUND_COLUMNS, 0)
        row.update(round=r, gp_log_likelihood=np.nan, best_acquired=np.nan)
        if cfg.acquisition == "random-labels":
            new, new_counts = _draw_training_rows(data, start_rows, drawn, cfg.batch, r, rng, row)
            drawn.update(new.formula)
        else:
            gp = None
            if cfg.acquisition == "ucb":
                gp = GaussianProcess(x, y, cfg.kernel, hyper)
                row["gp_log_likelihood"] = gp.fit(cfg.gp_steps if hyper is None else cfg.refit_steps)
                hyper = gp.hyperparameters
            points = _propose_round(cfg, gp, codes_all, x, rng)
            new, new_counts = _decode_and_label(points, ae, rules, known, oracle, gp, r, row)
        known.update(new.formula)
        acquired = pd.concat([acquired, new], ignore_index=True) if len(acquired) else new
        acq_counts = np.concatenate([acq_counts, new_counts]) if len(new) else acq_counts
        row["acquired"] = len(new)
        row["wide_gap_acquired"] = int((new.band_gap >= cfg.wide_gap).sum())
        row["best_acquired"] = float(new.band_gap.max()) if len(new) else np.nan
        row["seconds"] = time.perf_counter() - t0
        rounds = pd.concat([rounds, pd.DataFrame([row])], ignore_index=True) if len(rounds) else pd.DataFrame([row])
        write_csv(out / ACQUIRED, acquired[ACQUIRED_COLUMNS])
        write_csv(out / ROUNDS, rounds[ROUND_COLUMNS])
        state = {"rounds_done": r + 1}
        if hyper is not None:
            state["hyper"] = {"amplitude": hyper.amplitude, "length_scales": hyper.length_scales.tolist(),
                              "noise": hyper.noise}
        write_json(out / STATE, state)  # last: the round counts as done once its rows are written
        rounds_bar.update(1)
        rounds_bar.set_postfix(acquired=len(acquired), wide_gap=int((acquired.band_gap >= cfg.wide_gap).sum()))
    rounds_bar.close()
    return finish(cfg, out, data, start_rows, acquired, acq_counts, rounds, oracle, progress)


def _mae(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(np.abs(pred - truth))) if len(truth) else float("nan")


def _scores(pred: np.ndarray, truth: np.ndarray, wide_gap: float) -> dict:
    tail = truth >= wide_gap
    return {"mae": _mae(pred, truth), "mae_wide_gap": _mae(pred[tail], truth[tail]), "wide_gap_rows": int(tail.sum())}


def screening_pool(cfg: ActiveConfig, known: set, progress: bool) -> tuple[list[str], np.ndarray]:
    """New, distinct, chemically valid formulas from ``cfg.candidates`` samples of the shipped MatGAN."""
    from ..chemistry import check, rules_named
    from ..gan.sampling import load_generator, sample_batches
    from ..progress import bar

    formulas, counts, seen = [], [], set()
    b = bar(cfg.candidates, "candidates", "sample", disable=not progress)
    for batch in sample_batches(load_generator(cfg.gan), cfg.candidates, seed=cfg.seed):
        b.update(len(batch.rows) + len(batch.rejects))
        keep = [i for i, f in enumerate(batch.formulas) if f not in known and f not in seen]
        seen.update(batch.formulas[i] for i in keep)
        formulas += [batch.formulas[i] for i in keep]
        counts.append(batch.counts[keep])
    b.close()
    counts = np.concatenate(counts) if counts else np.zeros((0, 85), np.int8)
    valid = check(counts, rules_named(cfg.rules)).en if len(counts) else np.zeros(0, bool)
    return [f for f, v in zip(formulas, valid) if v], counts[valid]


def finish(cfg, out, data, start_rows, acquired, acq_counts, rounds, oracle, progress) -> dict:
    """Train the screening models, score them, write ``results.json``, ``candidates.csv`` and the plot."""
    base = fit_screening(data.counts[start_rows], data.gaps[start_rows], cfg, out / "screening" / "base")
    counts = np.concatenate([data.counts[start_rows], acq_counts])
    gaps = np.concatenate([data.gaps[start_rows], acquired.band_gap.to_numpy(np.float64)])
    active = fit_screening(counts, gaps, cfg, out / "screening" / "active") if len(acquired) else base
    results = {"config": cfg.to_dict(), "data_rows": len(data.formulas), "rejected_rows": data.rejected,
               "starting_labels": len(start_rows),
               "starting_wide_gap": int((data.gaps[start_rows] >= cfg.wide_gap).sum()),
               "rounds": len(rounds),
               "funnel": {k: int(rounds[k].sum()) for k in ("proposed", "undecodable", "invalid", "known",
                                                               "repeated", "acquired")},
               "wide_gap_acquired": int((acquired.band_gap >= cfg.wide_gap).sum()),
               "distinct_new_wide_gap": (sorted(acquired.formula[acquired.band_gap >= cfg.wide_gap])
                                         if cfg.acquisition != "random-labels" else [])}
    for split in ("validation", "test"):
        rows = np.flatnonzero(data.split == split)
        results[split] = {"base": _scores(base(data.counts[rows]), data.gaps[rows], cfg.wide_gap),
                          "active": _scores(active(data.counts[rows]), data.gaps[rows], cfg.wide_gap)}
    frame = pd.DataFrame(columns=["formula", "oracle", "base", "active"])
    if cfg.candidates:
        formulas, pool = screening_pool(cfg, set(data.formulas) | set(acquired.formula), progress)
        if len(pool):
            frame = pd.DataFrame({"formula": formulas, "oracle": oracle(pool), "base": base(pool),
                                  "active": active(pool)}).sort_values("active", ascending=False, kind="stable")
        truth = frame.oracle.to_numpy(np.float64)
        top = min(100, len(frame))
        results["candidates"] = {"screened": len(frame), "oracle_wide_gap": int((truth >= cfg.wide_gap).sum())}
        for name in ("base", "active"):
            pred = frame[name].to_numpy(np.float64)
            best = np.argsort(-pred, kind="stable")[:top]
            results["candidates"][name] = {**_scores(pred, truth, cfg.wide_gap),
                                           "top100_oracle_wide_gap": int((truth[best] >= cfg.wide_gap).sum())}
    write_csv(out / CANDIDATES, frame)
    plot(rounds, results, out / PLOT)
    write_json(out / RESULTS, results)
    return results


def plot(rounds: pd.DataFrame, results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    names, labels = ["mae", "mae_wide_gap"], ["test MAE", "test MAE, gap ≥ wide-gap"]
    xs = np.arange(len(names))
    a.bar(xs - 0.2, [results["test"]["base"][n] for n in names], 0.4, label="starting labels")
    a.bar(xs + 0.2, [results["test"]["active"][n] for n in names], 0.4, label="+ acquired labels")
    a.set_xticks(xs, labels)
    a.set_ylabel("eV")
    a.legend()
    a.set_title(f"screening model ({results['config']['screening']})")
    b.plot(rounds["round"] + 1, rounds["acquired"].cumsum(), marker="o", label="acquired")
    b.plot(rounds["round"] + 1, rounds["wide_gap_acquired"].cumsum(), marker="o", label="acquired ≥ wide-gap")
    b.set_xlabel("round")
    b.set_ylabel("formulas")
    b.legend()
    b.set_title(results["config"]["acquisition"])
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)

