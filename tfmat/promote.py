"""Shipping a trained run: the one step that writes a model into ``check_point/``.

:func:`promote` recognises what a run directory holds (a MatGAN, CCCGAN or CrystalGAN run, a
``train-cnn`` run or model folder, an autoencoder run), copies the selected
weights with their config, run record and metrics to the destination, and
adds ``MODEL_CARD.md``: where the model came from, the command that trained
it, its data and its figures. The copy is assembled in a hidden sibling and
renamed into place, so a destination is either the old model or the new one.
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .data.errors import DataError
from .io import atomic_dir

CARD = "MODEL_CARD.md"

ATTRIBUTION = {
    "MP": "Materials Project (A. Jain et al., APL Mater. 1, 011002, 2013), CC-BY 4.0",
    "Bandgap": "Materials Project (A. Jain et al., APL Mater. 1, 011002, 2013), CC-BY 4.0",
    "OQMD": "OQMD (J. E. Saal et al., JOM 65, 1501, 2013; S. Kirklin et al., npj Comput. Mater. 1, 15010, "
            "2015), CC-BY 4.0",
    "ICSD": "ICSD formulas supplied by the user (a licensed database)",
    "ICSD_Filter": "ICSD formulas supplied by the user (a licensed database)",
    "CCCGAN": "Materials Project structures (A. Jain et al., APL Mater. 1, 011002, 2013), CC-BY 4.0, in the "
              "slot-matrix representation of S. Kim et al., ACS Cent. Sci. 6, 1412 (2020)",
    "CrystalGAN": "the Pd–H and Ni–H structures and four-block [lattice, H, A, B] representation of A. Nouira, "
                  "N. Sokolovska, J.-C. Crivello, CrystalGAN, arXiv:1810.11203 (2018)",
}


@dataclass(frozen=True)
class Kind:
    name: str
    marker: str  # a file whose presence identifies the kind
    files: tuple[str, ...]  # copied when present (folders whole)


KINDS = (
    Kind("GAN generator", "generator.keras",
         ("generator.keras", "generator.keras.json", "generator_last.keras", "config.json", "run.json",
          "metrics.csv", "logs")),
    Kind("CNN property model", "members",
         ("config.json", "scaler.json", "metrics.json", "domain.json", "calibration.json", "members",
          "learning_curves.png", "parity.png", "calibration.png")),
    Kind("autoencoder", "autoencoder.keras",
         ("autoencoder.keras", "config.json", "run.json", "decodable.json", "metrics.csv")),
)


def run_kind(run: Path) -> tuple[Kind, Path]:
    """``(kind, folder holding the weights)`` of a run directory; a ``train-cnn`` run's model is ``run/model``."""
    for folder in (run, run / "model"):
        for kind in KINDS:
            if (folder / kind.marker).exists():
                return kind, folder
    raise DataError(f"{run} holds no trained model (no generator.keras, members/ or autoencoder.keras)")


def promote(run: str | Path, dest: str | Path, overwrite: bool = False) -> Path:
    """Copy the trained model of ``run`` to ``dest`` with a model card; returns ``dest``."""
    run, dest = Path(run), Path(dest)
    kind, folder = run_kind(run)
    if dest.exists() and not overwrite:
        raise FileExistsError(f"{dest} exists; pass --overwrite to replace it")
    if dest.resolve() in (run.resolve(), folder.resolve()):
        raise DataError(f"{dest} is the run itself")
    with atomic_dir(dest) as tmp:
        copied = []
        for name in kind.files:
            src = next((p for p in (folder / name, run / name) if p.exists()), None)
            if src is None:
                continue
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, tmp / name)
            copied.append(name)
        (tmp / CARD).write_text(model_card(kind, run, folder, copied))
    return dest


def _json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def model_card(kind: Kind, run: Path, folder: Path, copied: list[str]) -> str:
    """The text of ``MODEL_CARD.md`` for a model promoted from ``run``."""
    record = _json(run / "run.json")
    config = record.get("config") or _json(folder / "config.json").get("config") or _json(folder / "config.json")
    dataset = config.get("dataset") or config.get("data_name") or "?"
    lines = [f"# {kind.name}", "",
             f"- promoted from `{run}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `tfmat promote`",
             f"- trained by: `{record['command']}`" if "command" in record else "- trained by: (no run record)",
             f"- data: {dataset}" + (f" — {ATTRIBUTION[dataset]}" if dataset in ATTRIBUTION else ""),
             f"- files: {', '.join(copied)}", "", "## Figures", ""]
    figures = _figures(folder, run)
    lines += [f"- {name}: {value}" for name, value in figures] or ["- none recorded"]
    return "\n".join(lines) + "\n"


def _figures(folder: Path, run: Path) -> list[tuple[str, str]]:
    best = _json(folder / "generator.keras.json")
    if best:
        picked = ", ".join(f"{k} {v:.4f}" for k, v in best.items() if k != "epoch" and isinstance(v, float))
        return [("selected epoch", str(best.get("epoch", 0) + 1)), ("its sample figures", picked)]
    metrics = _json(folder / "metrics.json")
    if metrics:
        out = [(f"{part} {key}", f"{metrics[part][key]:.4f}") for part in ("holdout_ensemble", "validation_mean")
               if part in metrics for key in ("mae", "rmse", "r2")]
        return out
    decodable = _json(folder / "decodable.json") or _json(run / "decodable.json")
    return [(k, f"{v:.4f}") for k, v in decodable.items() if k.endswith("decodable") and isinstance(v, float)]
