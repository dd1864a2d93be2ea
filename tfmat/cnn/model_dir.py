"""A trained CNN on disk: fold members, their config and scalers, metrics.

```
<dir>/config.json     CNNConfig, member list, units
<dir>/scaler.json     per thesis-CNN member: min and range of each of the 22×6 features (training rows)
<dir>/metrics.json    cross-validated scores
<dir>/calibration.json the uncertainty's scale (tfmat.cnn.calibration), when calibration rows were set aside
<dir>/domain.json     the training domain (tfmat.cnn.domain)
<dir>/members/*.keras the fold models (scaling layer included)
```
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..data import DataError
from ..features import PROPERTIES, STATS
from ..io import write_json
from .config import CNNConfig

MEMBERS = "members"


def save_model_dir(path: str | Path, config: CNNConfig, member_files: list[Path], metrics: dict,
                   domain=None) -> Path:
    """Write the model directory ``path`` (replacing one that exists, atomically): the fold models, their
    config, scalers, metrics and ``domain`` (a :class:`~tfmat.cnn.domain.Domain`)."""
    import keras

    from ..io import atomic_dir
    from ..models import attention, cnn  # noqa: F401  registers the saved classes

    with atomic_dir(path) as tmp:  # the model appears whole, or the one before stays
        (tmp / MEMBERS).mkdir()
        names, scalers = [], {}
        for src in member_files:
            name = src.parent.name + ".keras"
            trained = keras.saving.load_model(src)
            weights_only = type(trained).from_config(trained.get_config())  # uncompiled: no optimizer state
            weights_only.build(weights_only.input_shapes())
            weights_only.set_weights(trained.get_weights())
            weights_only.save(tmp / MEMBERS / name)
            names.append(name)
            scaling = getattr(trained, "scaling", None)  # the thesis CNN's; the attention model has none
            if scaling is not None:
                scalers[name] = {"minimum": np.asarray(scaling.minimum).tolist(),
                                 "range": np.asarray(scaling.span).tolist()}
        from ..data import PROPERTIES as DATASETS

        unit = DATASETS.get((config.data_name, config.attribute), (None, ""))[1]
        write_json(tmp / "config.json", {"config": config.to_dict(), "members": names, "unit": unit,
                                         "features": {"rows": list(PROPERTIES), "columns": list(STATS)}})
        write_json(tmp / "scaler.json", scalers)
        write_json(tmp / "metrics.json", metrics)
        if domain is not None:
            domain.save(tmp)
    return Path(path)


def resolve_model(name: str | Path) -> Path:
    """A model folder given as its path, as a ``train-cnn`` run folder (its ``model/``), or as the name of
    a shipped model (``MP_band_gap`` → ``check_point/CNN/MP_band_gap``)."""
    from ..paths import CHECKPOINTS

    path = Path(name)
    for candidate in (path, path / "model", CHECKPOINTS / "CNN" / str(name)):
        if (candidate / "config.json").is_file():
            return candidate
    shipped = ", ".join(sorted(p.name for p in (CHECKPOINTS / "CNN").glob("*") if (p / "config.json").is_file()))
    raise DataError(f"{name}: not a trained CNN folder (no config.json), not a train-cnn run folder and not a "
                    f"shipped model name ({shipped})")


def read_model_dir(path: str | Path) -> tuple[dict, list[Path]]:
    """``(config.json contents, member paths)``; a clear error when ``path`` is not a model."""
    path = resolve_model(path)
    cfg = path / "config.json"
    info = json.loads(cfg.read_text())
    members = [path / MEMBERS / m for m in info["members"]]
    missing = [str(m) for m in members if not m.is_file()]
    if missing:
        raise DataError(f"{path}: member model(s) missing: {', '.join(missing)}")
    return info, members
