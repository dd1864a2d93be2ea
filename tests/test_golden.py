"""``tfmat generate`` with the shipped GAN-MP writes the same bytes as when the golden hash was made."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).with_name("golden")))
from remake import GOLDEN, generate  # noqa: E402


def test_generate_matches_the_golden_file(tmp_path):
    golden = json.loads(GOLDEN.read_text())
    out = tmp_path / "mp.csv"
    assert generate(golden, out) == golden["sha256"]
    assert len(out.read_text().splitlines()) - 1 == golden["formulas"]
