"""Shared test setup.

Tests that read the real data beside the checkout (``../shared``, or
``$TFMAT_SHARED``) are marked ``shared`` and fetch their files through
:func:`need`. On a bare clone they skip with the missing path as the reason;
with ``TFMAT_REQUIRE_SHARED=1`` (as ``.ci/run`` sets it) a missing file fails
the test instead, so CI never passes by skipping.
"""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the thesis's `function/` imports work from the repository root only
SHARED = Path(os.environ.get("TFMAT_SHARED", ROOT.parent / "shared"))
REFERENCE = SHARED / "data" / "reference"
OPEN = SHARED / "data" / "open"
REQUIRE_SHARED = os.environ.get("TFMAT_REQUIRE_SHARED", "") not in ("", "0")

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def missing(path: Path) -> None:
    """Skip (or, with TFMAT_REQUIRE_SHARED=1, fail) the running test: ``path`` is absent."""
    reason = f"{path} is missing (the real data beside the checkout: ../shared or TFMAT_SHARED)"
    if REQUIRE_SHARED:
        pytest.fail(reason + "; TFMAT_REQUIRE_SHARED=1 makes this an error", pytrace=False)
    pytest.skip(reason)


def need(path: Path) -> Path:
    """A file beside the checkout that a test reads (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        missing(path)
    return path


def pytest_configure(config):
    config.addinivalue_line("markers", "shared: reads the real data in ../shared (skips on a bare clone)")


def pytest_runtest_setup(item):
    if item.get_closest_marker("shared") is not None and not SHARED.is_dir():
        missing(SHARED)
