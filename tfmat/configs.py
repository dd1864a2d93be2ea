"""What every run config shares: it is a dataclass saved as ``config.json`` and read back."""
from __future__ import annotations

import dataclasses


class SavedConfig:
    """Mixin for dataclass configs: :meth:`to_dict` for ``config.json``, :meth:`from_dict` back (keys
    that are not fields, such as those of older versions, are ignored). :meth:`identity` is what binds a
    run directory to its settings: every field but those in ``RERUN_FREE``, which a rerun may change,
    and those in ``ADDED`` while they hold their default (settings newer than some runs on disk: a run
    recorded before them made what their default makes, so it still resumes)."""

    RERUN_FREE: tuple[str, ...] = ()
    ADDED: tuple[str, ...] = ()

    def identity(self) -> dict:
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        return {k: v for k, v in self.to_dict().items()
                if k not in self.RERUN_FREE and not (k in self.ADDED and v == defaults[k])}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict):
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
