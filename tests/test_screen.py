"""The discovery pipeline end to end on the shipped models."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tfmat.chemistry import THESIS, check_formulas
from tfmat.data import load_gan_dataset
from tfmat.screen import ScreenConfig, screen

from conftest import ROOT

CANDIDATE_COLUMNS = ["formula", "arity", "cn", "en", "formation_energy", "formation_energy_uncertainty",
                     "band_gap", "band_gap_uncertainty", "in_domain"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("screen") / "out"
    proc = subprocess.run([sys.executable, "screen.py", "-n", "3000", "--seed", "7", "--batch-size", "1000",
                           "-o", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_outputs_and_counts_add_up(generated):
    summary = json.loads((generated / "summary.json").read_text())
    c = summary["counts"]
    assert c["samples"] == 3000
    assert c["decoded"] + c["not_decoded"] == c["samples"]
    assert c["known_recovered"] + c["novel"] == c["unique"] <= c["decoded"]
    assert c["cn_and_en"] <= c["charge_neutral"] <= c["novel"]
    assert c["screened"] == c["cn_and_en"]
    seconds = summary["seconds"]
    stages = {"load_models", "generate_and_decode", "deduplicate", "known", "chemistry", "featurise", "predict",
              "domain", "write"}
    assert set(seconds) == stages | {"total"} and min(seconds.values()) >= 0
    assert sum(seconds[s] for s in stages) <= seconds["total"] + 0.0005 * 10  # disjoint stages; 3-decimal rounding
    with Image.open(generated / "histograms.png") as png:
        assert (png.format, png.size) == ("PNG", (1100, 440))  # 10 x 4 inches at 110 dpi

    cand = pd.read_csv(generated / "candidates.csv", keep_default_na=False)
    assert list(cand.columns) == CANDIDATE_COLUMNS and len(cand) == c["screened"]
    assert cand.formula.is_unique and cand.cn.all() and cand.en.all()
    outside = summary["outside_domain"]  # in_domain: inside both models' training domains
    assert set(outside) == {"formation_energy", "band_gap"}
    assert max(outside.values()) <= (~cand.in_domain).sum() <= sum(outside.values())
    assert not set(cand.formula) & set(load_gan_dataset("MP").formulas)  # known ones set aside
    assert (cand.arity == [len([ch for ch in f if ch.isupper()]) for f in cand.formula]).all()
    checked = check_formulas(cand.formula.tolist(), THESIS)
    assert checked.en.all()  # SMACT-valid by the string path too

    t51 = pd.read_csv(generated / "table_5_1.csv", keep_default_na=False)
    for arity, part in t51.groupby("arity"):
        assert arity in (2, 3, 4) and len(part) <= 20
        pool = cand[cand.arity == arity].formation_energy
        assert np.allclose(np.sort(part.formation_energy.to_numpy()), np.sort(pool.nsmallest(len(part)).to_numpy()),
                           atol=1e-4)
    t52 = pd.read_csv(generated / "table_5_2.csv", keep_default_na=False)
    assert summary["table_5_2_rows"] == len(t52)
    assert (t52.formation_energy < 0).all() and t52.band_gap.between(1.0, 2.0).all()
    gap_off = np.abs(np.rint(t52.band_gap.to_numpy() * 1e4).astype(int) - 14_000)  # in 1e-4 eV, as written
    assert (np.diff(gap_off) >= 0).all()
    expected = ((cand.formation_energy < 0) & cand.band_gap.between(1.0, 2.0)).sum()
    assert len(t52) == expected


def test_same_seed_same_outputs(generated, tmp_path):
    proc = subprocess.run([sys.executable, "screen.py", "-n", "3000", "--seed", "7", "--batch-size", "1000",
                           "-o", str(tmp_path / "again")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("candidates.csv", "table_5_1.csv", "table_5_2.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (generated / name).read_bytes()


def test_existing_output_is_kept_without_overwrite(generated):
    before = (generated / "candidates.csv").read_bytes()
    proc = subprocess.run([sys.executable, "screen.py", "-n", "10", "-o", str(generated)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "--overwrite" in proc.stderr
    assert (generated / "candidates.csv").read_bytes() == before


def test_input_file_with_bad_rows(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("formula\nGaAs\nZnO\nFe2O3\nNaCl\nZnO\nnot a formula\nFe0.5O\nCu\nXy2O\nLiFePO4\nCs3Sb\n")
    out = tmp_path / "out"
    summary = screen(ScreenConfig(input=str(path), require="none"), out)
    rejects = pd.read_csv(out / "rejects.csv", keep_default_na=False)
    assert rejects.line.tolist() == [7, 8, 9, 10]
    assert [r.split(" ")[0] for r in rejects.reason] == ["unexpected", "fractional", "single", "unknown"]
    cand = pd.read_csv(out / "candidates.csv", keep_default_na=False)
    assert sorted(cand.formula) == sorted(["GaAs", "ZnO", "Fe2O3", "NaCl", "LiFePO4", "Cs3Sb"])
    assert summary["counts"] == {"rows": 11, "rejected": 4, "distinct": 6, "charge_neutral": 6, "cn_and_en": 6,
                                 "screened": 6}
    pred = cand.set_index("formula")
    assert pred.loc["NaCl", "formation_energy"] < -1.0 and pred.loc["NaCl", "band_gap"] > 3.0
    assert pred.loc["GaAs", "band_gap"] < pred.loc["ZnO", "band_gap"]
