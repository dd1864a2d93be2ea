"""Where tfmat finds its embedded data and shipped models, and where runs go.

In a checkout (or an editable install) the embedded datasets are the
repository's ``data/`` and the shipped models its ``check_point/``; an
installed wheel carries both inside the package (``tfmat/shipped/``).
``TFMAT_DATA`` and ``TFMAT_CHECKPOINTS`` override them. Training commands
write under ``RUNS`` (``runs/`` in the working directory, or ``TFMAT_RUNS``)
unless told otherwise; nothing writes into ``CHECKPOINTS`` except
``tfmat promote``.
"""
import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SHIPPED = PACKAGE / "shipped"  # where a wheel puts data/ and check_point/


def _located(name: str) -> Path:
    inside = SHIPPED / name
    return inside if inside.is_dir() else PACKAGE.parent / name


DATA = Path(os.environ.get("TFMAT_DATA") or _located("data"))
CHECKPOINTS = Path(os.environ.get("TFMAT_CHECKPOINTS") or _located("check_point"))
RUNS = Path(os.environ.get("TFMAT_RUNS") or "runs")
# the project's reference data beside a checkout (read, never shipped): ../shared, or TFMAT_SHARED
SHARED = Path(os.environ.get("TFMAT_SHARED") or PACKAGE.parent.parent / "shared")
