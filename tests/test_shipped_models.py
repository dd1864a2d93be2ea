"""The shipped models do what their READMEs state.

The CNN ensembles score on their holdout what check_point/CNN/README.md states,
and a calibrated ensemble's 1σ covers 60-76% of its holdout errors.

Reads only the repository (``check_point/CNN/`` and the embedded ``data/``):
each ensemble is reloaded, its holdout rebuilt from the config saved beside it,
and the MAE / RMSE / R² printed in the README's Scores table (the bold
ensemble column), and a band-gap ensemble's MAE on the holdout's
non-metals, must be the recomputed figures, rounded as printed. The
band-gap members, rescored on their own validation folds, must give the
scores their training recorded.
"""
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CNN = ROOT / "check_point" / "CNN"
ROWS = {"MP_band_gap": "MP band gap", "MP_formation_energy": "MP formation energy", "OQMD_delta_e": "OQMD ΔH",
        "MP_band_gap_attention": "MP band gap, element attention",
        "MP_formation_energy_attention": "MP formation energy, element attention",
        "OQMD_delta_e_attention": "OQMD ΔH, element attention"}
NUMBER = r"(\d+(?:\.\d+)?)"


def quoted(label: str) -> list[str]:
    """The README's ensemble MAE, RMSE and R² (as printed) in the Scores row that starts with ``label``."""
    text = (CNN / "README.md").read_text(encoding="utf-8")
    scores = text.split("## Scores", 1)[1]
    row = next((line for line in scores.splitlines() if line.startswith(f"| {label} (")), None)
    assert row is not None, f"no Scores row for {label!r} in check_point/CNN/README.md"
    found = re.search(rf"\*\*{NUMBER}\*\* / {NUMBER} / {NUMBER}", row)
    assert found, f"no '**MAE** / RMSE / R²' ensemble figures in the row {row!r}"
    return list(found.groups())


def close(printed: str, value: float) -> bool:
    """``value`` rounds to ``printed`` (half a unit in its last printed decimal, plus float slack)."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(value - float(printed)) <= 0.5 * 10 ** -decimals + 1e-9


@pytest.mark.parametrize("name", list(ROWS))
def test_shipped_ensemble_holdout_matches_readme(name):
    from tfmat.cnn import score_holdout

    printed = quoted(ROWS[name])
    got = score_holdout(CNN / name)
    ens = got["holdout_ensemble"]
    assert got["holdout_rows"] == ens["n"] == round(0.1 * got["compositions"])
    for key, text in zip(("mae", "rmse", "r2"), printed):
        assert close(text, ens[key]), f"{name}: README says {key} {text}, the shipped model scores {ens[key]:.6f}"
    if (CNN / name / "calibration.json").is_file():  # a calibrated σ covers about 68% of the holdout's errors
        assert 0.60 <= ens["coverage_1sigma"] <= 0.76, (name, ens["coverage_1sigma"])
    if "band_gap" in name:  # and its MAE on the holdout's non-metals, as the README prints it
        nonmetals = (CNN / "README.md").read_text(encoding="utf-8").split("Non-metals", 1)[1].split("\n\n", 1)[0]
        found = re.search(rf"{re.escape(ROWS[name])} {NUMBER} eV", " ".join(nonmetals.split()))
        assert found, f"no non-metal MAE for {ROWS[name]!r} in check_point/CNN/README.md"
        assert close(found.group(1), ens["mae_nonmetals"]), (name, found.group(1), ens["mae_nonmetals"])
        assert f"{ens['nonmetal_rows']:,} of {ens['n']:,}" in nonmetals


def test_rescored_validation_folds_match_the_training_record():
    """Each member rescored on its own validation fold gives the scores training recorded in metrics.json
    (raw outputs, as training scored them: the README's figures are clipped at 0)."""
    import json

    from tfmat.cnn import score_holdout

    model = CNN / "MP_band_gap"
    recorded = json.loads((model / "metrics.json").read_text())
    got = score_holdout(model, validation=True, clip=False)
    for key in ("validation_mean", "validation_pooled", "holdout_ensemble", "holdout_members"):
        for stat, value in recorded[key].items():
            assert got[key][stat] == pytest.approx(value, rel=1e-5, abs=1e-6), (key, stat)


def test_shipped_cccgan_makes_valid_structures_of_the_requested_composition():
    """check_point/CCCGAN/MgMnO, 100 seeded samples for a known and a new composition: every sample
    has the requested counts and at least 90% are valid structures (the bar its README reports on)."""
    from tfmat.gan.cccgan import load_structure_generator, sample_matrices
    from tfmat.structure.codec import composition_from_string, counts, decode
    from tfmat.structure.validity import is_valid

    generator, layout, config = load_structure_generator(ROOT / "check_point" / "CCCGAN" / "MgMnO")
    for formula in ("Mg4Mn4O8", "Mg3Mn2O7"):
        wanted = np.repeat(composition_from_string(formula, layout)[None], 100, axis=0)
        matrices = sample_matrices(generator, layout, wanted, seed=0)
        np.testing.assert_array_equal(counts(matrices, layout), wanted)
        valid = np.mean([c is not None and is_valid(c) for c in decode(matrices, layout).crystals])
        assert valid >= 0.9, f"{formula}: {valid:.0%} valid"


@pytest.mark.shared
def test_shipped_crystalgan_generates_the_figures_its_readme_states(tmp_path):
    """check_point/CrystalGAN/PdNiH translating the 35 + 35 reference binaries: ``tfmat generate-structures``
    writes CIF and POSCAR files that pymatgen reads, and the in-range, ternary and no-clash shares are the
    ones check_point/CrystalGAN/README.md prints for the shipped model."""
    import pandas as pd
    from pymatgen.core import Structure

    from conftest import REFERENCE, need
    from tfmat.cli import main

    crystal = REFERENCE / "crystal"
    out = tmp_path / "out"
    assert main(["generate-structures", "--model", str(ROOT / "check_point" / "CrystalGAN" / "PdNiH"),
                 "--data-a", str(need(crystal / "crystalgan_PdH_dataset.mat")),
                 "--data-b", str(need(crystal / "crystalgan_NiH_dataset.mat")), "-n", "70", "-o", str(out)]) == 0
    table = pd.read_csv(out / "structures.csv", keep_default_na=False)
    files = [f for f in table["file"] if f]
    for name in files:
        cif = Structure.from_file(out / name)
        poscar = Structure.from_file(out / "poscar" / (Path(name).stem + ".vasp"))
        assert cif.composition == poscar.composition
    d = table[["d_A_B", "d_A_A", "d_B_B"]].replace("", np.nan).astype(float).to_numpy()
    shares = {"in range": np.mean(np.all((d >= 1.8) & (d <= 3.0), axis=1)),
              "ternary": np.mean(np.isfinite(d[:, 0])),
              "no clash": np.mean(table["min_distance"].replace("", np.nan).astype(float) > 0.5)}
    text = (ROOT / "check_point" / "CrystalGAN" / "README.md").read_text(encoding="utf-8")
    for label, value in shares.items():
        found = re.search(rf"\| {label} \| \*\*{NUMBER}%\*\*", text)
        assert found, f"no '| {label} | **x%**' row in check_point/CrystalGAN/README.md"
        assert close(found.group(1), 100 * value), f"{label}: README {found.group(1)}%, model {100 * value:.2f}%"


def test_shipped_autoencoder_decodes_the_held_out_mp_formulas_its_readme_states():
    import json

    import keras

    from tfmat.data import load_gan_dataset
    from tfmat.models.autoencoder import decodable

    folder = ROOT / "check_point" / "autoencoder" / "MP"
    model = keras.models.load_model(folder / "autoencoder.keras", compile=False)
    held_out = load_gan_dataset("MP").leave_out().counts
    share = float(decodable(model, held_out).mean())
    assert len(held_out) == 6532 and share >= 0.95
    assert share == pytest.approx(json.loads((folder / "decodable.json").read_text())["test_decodable"], abs=1e-12)
    row = next(line for line in (folder.parent / "README.md").read_text().splitlines() if line.startswith("| `MP/`"))
    assert f"**{100 * share:.2f}%**" in row


def test_no_shipped_band_gap_model_predicts_a_negative_gap_on_100k_generated_formulas():
    """100,000 GAN-MP samples (the decodable ones): every shipped band-gap model's predictions are ≥ 0,
    while the thesis CNN's raw outputs do go negative there."""
    from tfmat.cnn import Predictor
    from tfmat.composition import Compositions
    from tfmat.features import element_fractions, magpie_features
    from tfmat.gan.sampling import load_generator, sample_counts

    counts = np.concatenate(list(sample_counts(load_generator(ROOT / "check_point" / "iMatGAN" / "MP"), 100_000,
                                               seed=7)))
    assert len(counts) > 90_000
    comps = Compositions.from_counts(counts)
    x, f = magpie_features(comps), element_fractions(comps)
    models = [p for p in sorted(CNN.iterdir()) if (p / "config.json").is_file()
              and '"attribute": "band_gap"' in (p / "config.json").read_text()]
    assert models
    for path in models:
        predictor = Predictor(path)
        prediction, sigma = predictor.estimate(predictor.member_predictions(x, f))
        assert prediction.min() >= 0 and sigma.min() >= 0, path.name
        if predictor.info["config"].get("arch", "thesis") == "thesis":
            assert (predictor.member_predictions(x, f, clip=False) < 0).any(), path.name


@pytest.mark.parametrize("name, dataset", [("MP_exact", "MP"), ("OQMD", "OQMD")])
def test_the_exact_arity_generators_draw_the_element_counts_of_their_training_sets(name, dataset):
    """The shipped exact-arity generators (GAN-MP, exact arity, and GAN-OQMD): ≥ 99.9% of 20,000 samples
    decode, and their element counts follow their training set's shares (arity distance < 0.02; the
    shipped GAN-MP's is 0.40)."""
    from tfmat.data import load_gan_dataset
    from tfmat.evaluation.metrics import total_variations
    from tfmat.gan.sampling import load_generator, sample_counts

    generator = load_generator(ROOT / "check_point" / "iMatGAN" / name)
    counts = np.concatenate(list(sample_counts(generator, 20_000, seed=3)))
    assert len(counts) >= 19_980
    assert total_variations(counts, load_gan_dataset(dataset).train().counts)["arity_total_variation"] < 0.02
