"""Where the repository keeps its embedded data and shipped checkpoints."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TFMAT_DATA", ROOT / "data"))
CHECKPOINTS = Path(os.environ.get("TFMAT_CHECKPOINTS", ROOT / "check_point"))
