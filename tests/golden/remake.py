"""Remake the golden hash of ``tfmat generate`` with the shipped GAN-MP.

    python tests/golden/remake.py

Run it only when ``check_point/iMatGAN/MP`` is retrained: the hash pins the
file the shipped generator writes for a fixed seed, so that a refactor of
the GAN code that changes a single sampled formula fails
``tests/test_golden.py``.
"""
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
GOLDEN = Path(__file__).with_name("generate_mp.json")
SETTINGS = {"gan": "check_point/iMatGAN/MP", "n": 5000, "seed": 7}


def generate(settings: dict, out: Path) -> str:
    """sha256 of the CSV that ``tfmat generate`` writes for ``settings``."""
    from tfmat.cli import main

    code = main(["generate", "--gan", str(ROOT / settings["gan"]), "-n", str(settings["n"]),
                 "--seed", str(settings["seed"]), "-o", str(out)])
    if code != 0:
        raise SystemExit(f"tfmat generate exited {code}")
    return hashlib.sha256(out.read_bytes()).hexdigest()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "golden.csv"
        digest = generate(SETTINGS, out)
        lines = len(out.read_text().splitlines()) - 1
    from tfmat.io import write_json

    write_json(GOLDEN, {**SETTINGS, "formulas": lines, "sha256": digest,
                        "command": "python tests/golden/remake.py"})
    print(f"{GOLDEN.relative_to(ROOT)}: {lines} formulas, sha256 {digest}")
