import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TFMAT_SHARED", ROOT.parent / "shared"))
REFERENCE = SHARED / "data" / "reference"
OPEN = SHARED / "data" / "open"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def need(path: Path) -> Path:
    """A file beside the checkout that a test reads; its absence is an error, not a skip."""
    if not path.exists():
        pytest.fail(f"{path} is missing: tests expect ../shared beside the checkout (or TFMAT_SHARED)")
    return path
