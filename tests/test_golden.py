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


def test_every_shipped_generator_loads():
    from conftest import ROOT
    from tfmat.gan.sampling import GENERATOR_FILE, LAST_GENERATOR_FILE, load_generator

    runs = sorted(p for p in (ROOT / "check_point" / "iMatGAN").iterdir() if p.is_dir())
    assert [p.name for p in runs] == ["Bandgap", "MP", "MP_exact", "OQMD"]
    for run in runs:
        for name in (GENERATOR_FILE, LAST_GENERATOR_FILE):
            generator = load_generator(run / name)
            assert generator.input_shape == (None, 128) and generator.output_shape == (None, 85, 8, 1)
