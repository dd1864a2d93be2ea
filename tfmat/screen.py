"""Discovery (thesis ch. 5): generate formulas, keep the new chemically valid ones,
predict formation energy and band gap, list candidates.

Stages, each with its own progress bar and timing:

1. *generate* — the GAN samples ``n`` matrices in batches; they are decoded,
   deduplicated and compared with the GAN's training database ("known,
   recovered" formulas are set aside). With ``--input`` a user's file is read
   instead (bad rows go to ``rejects.csv``) and nothing is set aside.
2. *chemistry* — keep the charge-neutral, electronegativity-balanced ones.
3. *predict* — Magpie features, then the formation-energy and band-gap models;
   ``in_domain`` says whether a formula lies inside both models' training
   domains (:mod:`tfmat.cnn.domain`), and the summary counts those outside each.
4. *write* — ``candidates.csv``, ``table_5_1.csv``, ``table_5_2.csv``,
   ``summary.json`` and histograms, into a fresh directory renamed into place.

Only distinct formulas are held in memory (as int8 count rows), and every
stage works in chunks of ``batch_size``, so the peak memory hardly grows with
``n`` (``benchmarks/screen_memory.json``).
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .cnn.config import ARCHITECTURES, DEFAULT_ARCH, model_name
from .composition import Compositions, formulas_of, parse_formulas
from .gan.sampling import GENERATION_BATCH
from .io import atomic_dir, write_csv, write_json
from .paths import CHECKPOINTS
from .progress import bar as progress_bar

REQUIRE = ("cn+en", "cn", "none")


@dataclass
class ScreenConfig:
    """Everything that decides a screening run's outputs (saved in ``summary.json``)."""

    n: int = 500_000  # samples to generate (the thesis: 2,000,000)
    seed: int = 0
    batch_size: int = GENERATION_BATCH  # samples per generator call, formulas per chemistry/predict chunk
    gan: str = str(CHECKPOINTS / "iMatGAN" / "MP")
    dataset: str | None = None  # the GAN's training database; from the GAN's run record when None
    data: str | None = None  # the user's file for that database (ICSD)
    drop_bad_rows: bool = False  # leave out that file's unusable rows instead of stopping
    input: str | None = None  # screen this formula file instead of generating
    arch: str = DEFAULT_ARCH  # the architecture of the shipped models used where none is named
    formation_model: str | None = None  # None: the shipped MP formation-energy model of ``arch``
    band_gap_model: str | None = None  # None: the shipped MP band-gap model of ``arch``
    require: str = "cn+en"  # chemistry a candidate must pass
    rules: str = "thesis"  # oxidation-state rules: "thesis" (SMACT 2014 states, no alloy shortcut) or "smact"
    max_formation_energy: float = 0.0  # table 5.2: E_f below this (eV/atom)
    gap_min: float = 1.0  # table 5.2 band-gap window (eV)
    gap_max: float = 2.0
    gap_target: float = 1.4  # table 5.2 order: closeness to this gap
    top: int = 20  # table 5.1: lowest-E_f formulas per arity

    def __post_init__(self):
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"arch must be one of {ARCHITECTURES}")
        for field_name, attribute in (("formation_model", "formation_energy"), ("band_gap_model", "band_gap")):
            if getattr(self, field_name) is None:
                setattr(self, field_name, str(CHECKPOINTS / "CNN" / model_name(attribute, self.arch)))


@dataclass
class Pool:
    """Distinct formulas met so far, in order of first appearance."""

    formulas: list[str] = field(default_factory=list)
    counts: list[np.ndarray] = field(default_factory=list)  # (k, 85) int8 chunks (generated)
    comps: list[Compositions] = field(default_factory=list)  # CSR chunks (input files)
    index: set = field(default_factory=set)

    def add(self, formulas: list[str], comps: Compositions, counts: np.ndarray | None = None) -> None:
        keep = []
        for i, f in enumerate(formulas):
            if f not in self.index:
                self.index.add(f)
                keep.append(i)
        if not keep:
            return
        keep = np.asarray(keep)
        self.formulas.extend(formulas[i] for i in keep)
        if counts is not None:
            self.counts.append(counts[keep])
        else:
            self.comps.append(comps.take(keep))

    def compositions(self) -> Compositions:
        if self.counts:
            return Compositions.from_counts(np.concatenate(self.counts))
        if not self.comps:
            return Compositions(np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0))
        indptr = [np.zeros(1, np.int64)]
        for c in self.comps:
            indptr.append(c.indptr[1:] + indptr[-1][-1])
        return Compositions(np.concatenate(indptr), np.concatenate([c.z for c in self.comps]),
                            np.concatenate([c.amount for c in self.comps]))


class Timer:
    """Wall time per stage."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t


def gan_dataset(gan_dir: str) -> str:
    """The training database recorded with a trained GAN."""
    for name in ("run.json", "config.json"):
        path = Path(gan_dir) / name
        if path.is_file():
            record = json.loads(path.read_text())
            config = record.get("config", record)
            if "dataset" in config:
                return config["dataset"]
    raise FileNotFoundError(f"{gan_dir} has no run record naming its training database; pass --dataset")


def generate_pool(config: ScreenConfig, timer: Timer, counts_out: dict) -> Pool:
    """Stage 1 for generated samples: sample, decode, deduplicate."""
    from .gan.sampling import load_generator, sample_batches

    with timer("load_models"):
        generator = load_generator(config.gan)
    pool = Pool()
    bar = progress_bar(config.n, "generate", "sample")
    batches = sample_batches(generator, config.n, seed=config.seed, batch_size=config.batch_size)
    while True:
        with timer("generate_and_decode"):
            batch = next(batches, None)
        if batch is None:
            break
        with timer("deduplicate"):
            pool.add(batch.formulas, None, batch.counts)
        counts_out["samples"] += len(batch.rows) + len(batch.rejects)
        counts_out["decoded"] += len(batch.rows)
        bar.update(len(batch.rows) + len(batch.rejects))
        bar.set_postfix(unique=len(pool.formulas))
    bar.close()
    return pool


def input_pool(config: ScreenConfig, timer: Timer, counts_out: dict) -> tuple[Pool, pd.DataFrame]:
    """Stage 1 for a user file: read, parse, deduplicate; bad rows become rejects."""
    from .chemistry import unchecked_reasons
    from .data.files import read_formula_table

    with timer("read"):
        table = read_formula_table(config.input)
        parsed = parse_formulas(table.formula.tolist())
        comps = parsed.compositions
        reasons = {int(i): "single element" for i in np.flatnonzero(comps.n_elements < 2)}
        reasons.update(unchecked_reasons(comps))  # Magpie data covers the same elements as SMACT's
        lines = table.line.to_numpy()
        rejects = [(int(lines[r.row]), r.text, r.reason) for r in parsed.rejects]
        rejects += [(int(lines[parsed.rows[i]]), parsed.texts[i], reason) for i, reason in reasons.items()]
        rejects.sort()
        good = np.ones(len(comps), bool)
        good[list(reasons)] = False
    counts_out["rows"] = len(table)
    counts_out["rejected"] = len(rejects)
    pool = Pool()
    keep = np.flatnonzero(good)
    sub = comps.take(keep)
    with timer("deduplicate"):
        pool.add(formulas_of(sub), sub)
    return pool, pd.DataFrame(rejects, columns=["line", "text", "reason"])


def screen(config: ScreenConfig, out_dir: str | Path, overwrite: bool = False) -> dict:
    """Run the pipeline and write its outputs to ``out_dir``; returns the summary."""
    from .chemistry import check_compositions, rules_named
    from .cnn.predict import Predictor
    from .data import load_gan_dataset
    from .features import element_fractions, magpie_features

    if config.require not in REQUIRE:
        raise ValueError(f"require must be one of {REQUIRE}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} exists; pass --overwrite to replace it")
    rules = rules_named(config.rules)
    timer, start = Timer(), time.perf_counter()
    counts: dict = {"samples": 0, "decoded": 0}
    with timer("load_models"):
        fe_model, bg_model = Predictor(config.formation_model), Predictor(config.band_gap_model)

    rejects = None
    if config.input:
        pool, rejects = input_pool(config, timer, counts)
        counts = {k: v for k, v in counts.items() if k not in ("samples", "decoded")}
        counts["distinct"] = len(pool.formulas)
        novel = np.ones(len(pool.formulas), bool)
    else:
        dataset = config.dataset or gan_dataset(config.gan)
        with timer("load_models"):
            known = set(load_gan_dataset(dataset, data=config.data, drop_bad_rows=config.drop_bad_rows).formulas)
        pool = generate_pool(config, timer, counts)
        counts["not_decoded"] = counts["samples"] - counts["decoded"]
        counts["unique"] = len(pool.formulas)
        with timer("known"):
            novel = np.fromiter((f not in known for f in pool.formulas), bool, len(pool.formulas))
        counts["known_recovered"] = int((~novel).sum())
        counts["novel"] = int(novel.sum())

    comps = pool.compositions().take(np.flatnonzero(novel))
    formulas = [f for f, keep in zip(pool.formulas, novel) if keep]
    del pool

    bar = progress_bar(len(formulas), "chemistry", "formula")
    cn, en = np.zeros(len(formulas), bool), np.zeros(len(formulas), bool)
    step = max(config.batch_size, 1)
    for a in range(0, len(formulas), step):
        with timer("chemistry"):
            v = check_compositions(comps.take(np.arange(a, min(a + step, len(formulas)))), rules)
        cn[a:a + step], en[a:a + step] = v.cn, v.en
        bar.update(len(v.cn))
    bar.close()
    counts["charge_neutral"], counts["cn_and_en"] = int(cn.sum()), int(en.sum())
    keep = {"cn+en": en, "cn": cn, "none": np.ones_like(cn)}[config.require]
    idx = np.flatnonzero(keep)
    comps, formulas, cn, en = comps.take(idx), [formulas[i] for i in idx], cn[idx], en[idx]
    counts["screened"] = len(formulas)

    bar = progress_bar(len(formulas), "predict", "formula")
    fe, fe_u, bg, bg_u = (np.zeros(len(formulas), np.float32) for _ in range(4))
    inside = {name: np.ones(len(formulas), bool) for name in ("formation_energy", "band_gap")}
    for a in range(0, len(formulas), step):
        part = comps.take(np.arange(a, min(a + step, len(formulas))))
        with timer("featurise"):
            x, f = magpie_features(part), element_fractions(part)
        with timer("predict"):
            fe[a:a + step], fe_u[a:a + step] = _predict(fe_model, x, f)
            bg[a:a + step], bg_u[a:a + step] = _predict(bg_model, x, f)
        with timer("domain"):
            for name, model in (("formation_energy", fe_model), ("band_gap", bg_model)):
                why = model.outside(x, f)
                if why is not None:
                    inside[name][a:a + step] = why == ""
        bar.update(len(x))
    bar.close()

    with atomic_dir(out_dir) as tmp:
        with timer("write"):
            candidates = pd.DataFrame({
                "formula": formulas, "arity": comps.n_elements, "cn": cn, "en": en,
                "formation_energy": fe, "formation_energy_uncertainty": fe_u,
                "band_gap": bg, "band_gap_uncertainty": bg_u,
                "in_domain": inside["formation_energy"] & inside["band_gap"]})
            summary = {
                "mode": "input" if config.input else "generate",
                "config": asdict(config),
                "counts": counts,
                "outside_domain": {name: int((~v).sum()) for name, v in inside.items()},
                "table_5_2_rows": 0,
                "units": {"formation_energy": "eV/atom", "band_gap": "eV"},
            }
            write_csv(tmp / "candidates.csv", candidates, float_format="%.4f")
            write_csv(tmp / "table_5_1.csv", table_5_1(candidates, config.top), float_format="%.4f")
            t52 = table_5_2(candidates, config)
            write_csv(tmp / "table_5_2.csv", t52, float_format="%.4f")
            summary["table_5_2_rows"] = len(t52)
            if rejects is not None:
                write_csv(tmp / "rejects.csv", rejects)
            histograms(candidates, tmp / "histograms.png")
        summary["seconds"] = {k: round(v, 3) for k, v in timer.seconds.items()}
        summary["seconds"]["total"] = round(time.perf_counter() - start, 3)
        write_json(tmp / "summary.json", summary)
    return summary


def _predict(model, features: np.ndarray, fractions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return model.estimate(model.member_predictions(features, fractions))


def table_5_1(candidates: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """The ``top`` lowest formation energies among binaries, ternaries and quaternaries."""
    parts = []
    for arity in (2, 3, 4):
        part = candidates[candidates.arity == arity].nsmallest(top, "formation_energy", keep="first")
        parts.append(part.assign(rank=np.arange(1, len(part) + 1)))
    cols = ["arity", "rank", "formula", "formation_energy", "formation_energy_uncertainty", "band_gap"]
    return pd.concat(parts, ignore_index=True)[cols]


def table_5_2(candidates: pd.DataFrame, config: ScreenConfig) -> pd.DataFrame:
    """Formation energy below the limit and band gap in the window, closest to the target gap first."""
    sel = candidates[(candidates.formation_energy < config.max_formation_energy)
                     & candidates.band_gap.between(config.gap_min, config.gap_max)]
    order = np.argsort(np.abs(sel.band_gap.to_numpy() - config.gap_target), kind="stable")
    cols = ["formula", "arity", "formation_energy", "formation_energy_uncertainty", "band_gap",
            "band_gap_uncertainty"]
    return sel.iloc[order][cols].reset_index(drop=True)


def histograms(candidates: pd.DataFrame, path: Path) -> None:
    """Predicted formation energy and band gap of the candidates against the MP training data."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .data import load_property_dataset

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, column, attribute, unit in ((axes[0], "formation_energy", "formation_energy", "eV/atom"),
                                        (axes[1], "band_gap", "band_gap", "eV")):
        train = load_property_dataset("MP", attribute).target.to_numpy()
        lo, hi = np.percentile(np.r_[train, candidates[column].to_numpy()], [0.5, 99.5]) if len(candidates) else (0, 1)
        bins = np.linspace(lo, hi, 60)
        ax.hist(train, bins=bins, density=True, alpha=0.5, label=f"MP data ({len(train):,})")
        ax.hist(candidates[column], bins=bins, density=True, alpha=0.5, label=f"candidates ({len(candidates):,})")
        ax.set_xlabel(f"{column.replace('_', ' ')} ({unit})")
        ax.set_ylabel("density")
        ax.legend()
    fig.tight_layout()
    from .io import atomic_path
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
