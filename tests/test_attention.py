"""The element-attention property model: masking, the non-negative head, both Keras backends, the CLI."""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tfmat.cli import main
from tfmat.paths import DATA

from conftest import ROOT


def fractions_of(formulas):
    from tfmat.composition import parse_formulas
    from tfmat.features import element_fractions, magpie_features

    comps = parse_formulas(formulas).compositions
    return [magpie_features(comps).astype("float32"), element_fractions(comps)]


def test_padding_is_masked_so_the_token_budget_does_not_change_a_prediction():
    from tfmat.models.attention import ElementAttention

    wide = ElementAttention(width=32, heads=2, blocks=2, max_elements=10)
    wide.build()
    narrow = ElementAttention(width=32, heads=2, blocks=2, max_elements=4)
    narrow.build()
    narrow.set_weights(wide.get_weights())
    inputs = fractions_of(["NaCl", "Fe2O3", "LiFePO4", "Cu"])
    np.testing.assert_allclose(np.asarray(wide(inputs)), np.asarray(narrow(inputs)), rtol=1e-5, atol=1e-6)
    # The amounts matter: another stoichiometry of the same elements gives another prediction.
    other = fractions_of(["FeO"])
    assert not np.allclose(np.asarray(wide(other)), np.asarray(wide(fractions_of(["Fe2O3"]))))


def test_a_formula_beyond_the_token_budget_keeps_its_largest_fractions():
    from tfmat.models.attention import ElementAttention

    model = ElementAttention(width=16, heads=2, blocks=1, max_elements=3)
    model.build()
    z, frac, mask = (np.asarray(t) for t in model.tokens(fractions_of(["Na4Cl3K2Br1"])[1]))
    assert sorted(z[0].tolist()) == [11, 17, 19] and mask.all()  # Na, Cl, K; Br (the smallest) left out
    np.testing.assert_allclose(np.sort(frac[0]), [0.2, 0.3, 0.4], rtol=1e-6)


def test_arity_batches_hold_one_arity_each_cut_to_it_and_predict_as_the_fractions_do():
    """An epoch of :func:`arity_batches` holds every row once; its full batches hold one arity each, and the
    rows left over pool into batches cut to their largest arity, so the batches take one shape per arity
    and one more; the order is the seed's; and the model predicts the tokens as it predicts the fractions."""
    from tfmat.data.pipeline import arity_batches
    from tfmat.models.attention import ElementAttention, formula_tokens

    frame = pd.read_csv(DATA / "mp_band_gap.csv.gz", keep_default_na=False).sample(700, random_state=2)
    fractions = fractions_of(frame.formula.tolist())[1]
    z, fraction = formula_tokens(fractions)
    y = np.arange(len(frame), dtype=np.float32)  # the row number, to find each row in the batches
    model = ElementAttention(width=16, heads=2, blocks=1)
    model.build()
    arity = (fractions > 0).sum(axis=1)
    seen, shapes, mixed = [], set(), 0
    for tokens, target in arity_batches(z, fraction, y, 64, seed=3):
        rows = target.numpy().astype(int)
        assert arity[rows].max() == tokens["z"].shape[1] and (tokens["z"].numpy() > 0).any(axis=1).all()
        mixed += len(set(arity[rows])) > 1
        shapes.add(tokens["z"].shape)
        np.testing.assert_allclose(np.asarray(model(tokens)), np.asarray(model(fractions_of(
            frame.formula.iloc[rows].tolist()))), rtol=1e-5, atol=1e-6)
        seen.extend(rows)
    assert sorted(seen) == list(range(len(frame))) and len(set(arity)) > 2
    assert 0 < mixed < 4 and len(shapes) <= len(set(arity)) + 1
    again = [t.numpy().astype(int).tolist() for _, t in arity_batches(z, fraction, y, 64, seed=3)]
    other = [t.numpy().astype(int).tolist() for _, t in arity_batches(z, fraction, y, 64, seed=4)]
    assert sum(again, []) == seen and sum(other, []) != seen
    assert int(arity_batches(z, fraction, y, 64, seed=3).cardinality()) == len(again)


def test_nonneg_head_never_predicts_a_negative_value():
    from tfmat.models.attention import ElementAttention

    model = ElementAttention(width=16, heads=2, blocks=1, head="nonneg")
    model.build()
    kernel, bias = model.out.get_weights()
    model.out.set_weights([kernel, bias - 50.0])  # a head pushed far below zero
    frame = pd.read_csv(DATA / "mp_band_gap.csv.gz", keep_default_na=False).sample(500, random_state=1)
    pred = np.asarray(model(fractions_of(frame.formula.tolist())))
    assert pred.shape == (500, 1) and (pred >= 0).all()
    linear = ElementAttention(width=16, heads=2, blocks=1, head="linear")
    linear.build()
    linear.set_weights(model.get_weights())
    assert (np.asarray(linear(fractions_of(frame.formula.tolist()))) < 0).all()


BACKEND_SCRIPT = r"""
import sys
import numpy as np, pandas as pd, keras
from tfmat.composition import parse_formulas
from tfmat.features import element_fractions, magpie_features
from tfmat.models.attention import build_attention
frame = pd.read_csv(sys.argv[1], keep_default_na=False).sample(1024, random_state=0)
comps = parse_formulas(frame.formula.tolist()).compositions
x, f, y = magpie_features(comps).astype("float32"), element_fractions(comps), frame.iloc[:, 1].to_numpy("float32")
model = build_attention(width=32, heads=2, blocks=1, head="nonneg", lr=2e-3)  # (seeding would import TF)
first = model.evaluate([x, f], y, verbose=0, batch_size=256)[0]
model.fit([x, f], y, batch_size=128, epochs=3, verbose=0)
last = model.evaluate([x, f], y, verbose=0, batch_size=256)[0]
trained_without_tf = "tensorflow" not in sys.modules  # (Keras's own saving may use TensorFlow's file API)
model.save(sys.argv[2])
again = keras.saving.load_model(sys.argv[2])
same = np.allclose(np.asarray(model.predict([x, f], verbose=0)), np.asarray(again.predict([x, f], verbose=0)), atol=1e-5)
print(keras.backend.backend(), first, last, same, trained_without_tf, model.jit_compile)
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_trains_saves_and_reloads_under_each_keras_backend(backend, tmp_path):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    res = subprocess.run([sys.executable, "-c", BACKEND_SCRIPT, str(DATA / "mp_band_gap.csv.gz"),
                          str(tmp_path / "m.keras")], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    name, first, last, same, without_tf, xla = res.stdout.split()[-6:]
    assert name == backend and same == "True" and xla == "True"  # XLA-compiled under both (CPU TF included)
    assert float(last) < 0.9 * float(first), (first, last)  # the MAE falls by more than 10% in 3 epochs
    if backend == "jax":
        assert without_tf == "True"  # building, training and predicting never reach TensorFlow


def test_train_cnn_arch_attention_calibrates_its_uncertainty_on_rows_set_apart(tmp_path):
    """A 3-member attention ensemble trained on 6,000 real MP compositions: its σ, scaled on calibration
    rows that neither trained nor chose an epoch, covers 60-76% of the holdout's errors."""
    from tfmat.cnn import CNNConfig, Predictor, make_splits, set_aside

    frame = pd.read_csv(DATA / "mp_band_gap.csv.gz", keep_default_na=False).sample(6000, random_state=4)
    data = tmp_path / "mp.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "run"
    args = ["train-cnn", "--arch", "attention", "--data", str(data), "--epochs", "3", "--folds", "3",
            "--holdout", "0.2", "--calibration", "0.2", "--width", "32", "--heads", "2", "--blocks", "1",
            "--lr", "2e-3", "--out", str(out)]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    cal = json.loads((out / "model" / "calibration.json").read_text())
    assert cal["rows"] == 1200 and cal["scale"] > 1 and cal["raw_coverage"] < 0.6  # the raw spread is too narrow
    assert 0.60 <= metrics["holdout_ensemble"]["coverage_1sigma"] <= 0.76
    assert (out / "calibration.png").stat().st_size > 10_000
    # The calibration rows are on no fold's side and apart from the holdout.
    config = CNNConfig.from_dict(metrics["config"])
    holdout, calibration, _ = set_aside(6000, config)
    _, splits = make_splits(6000, config)
    used = np.concatenate([np.concatenate([s.train, s.test, s.validation]) for s in splits])
    assert not np.intersect1d(calibration, used).size and not np.intersect1d(calibration, holdout).size
    # predict reports the calibrated σ, and band gaps are never negative.
    predictor = Predictor(out / "model")
    each = predictor.member_predictions(*fractions_of(["NaCl", "Cu", "GaAs"]))
    got = predictor.predict(["NaCl", "Cu", "GaAs"])
    np.testing.assert_allclose(got["uncertainty"], cal["scale"] * each.std(axis=1), rtol=1e-5)
    assert (got["prediction"] >= 0).all()
    # A promoted copy keeps the calibration (and its plot).
    assert main(["promote", str(out), str(tmp_path / "shipped")]) == 0
    assert (tmp_path / "shipped" / "calibration.png").is_file()
    np.testing.assert_allclose(Predictor(tmp_path / "shipped").predict(["NaCl", "Cu", "GaAs"])["uncertainty"],
                               got["uncertainty"], rtol=1e-6)
    # The SavedModel serves the same prediction and calibrated σ.
    import tensorflow as tf

    from tfmat.composition import parse_formulas

    assert main(["export", "--model", str(out), "--out", str(tmp_path / "served")]) == 0
    amounts = parse_formulas(["NaCl", "Cu", "GaAs"]).compositions.dense().astype("float32")
    served = tf.saved_model.load(str(tmp_path / "served")).signatures["serve"](amounts=tf.constant(amounts))
    np.testing.assert_allclose(served["prediction"].numpy(), got["prediction"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(served["uncertainty"].numpy(), got["uncertainty"], rtol=1e-5, atol=1e-6)


def test_an_element_no_training_formula_holds_keeps_a_zero_learned_vector():
    """Learned element vectors start at zero, so an element never seen in training is read from its Magpie
    properties alone (what a leave-cluster-out split relies on)."""
    from tfmat.elements import Z_OF
    from tfmat.models.attention import build_attention

    frame = pd.read_csv(DATA / "mp_band_gap.csv.gz", keep_default_na=False).sample(3000, random_state=2)
    frame = frame[~frame.formula.str.contains("Ce")].iloc[:1000]
    inputs = fractions_of(frame.formula.tolist())
    model = build_attention(width=16, heads=2, blocks=1, lr=1e-2, seed=0)
    model.fit(inputs, frame.target.to_numpy("float32"), batch_size=100, epochs=1, verbose=0)
    table = np.asarray(model.element.embeddings)
    assert np.abs(table[Z_OF["Ce"]]).max() == 0
    assert np.abs(table[Z_OF["O"]]).max() > 0


def test_architecture_defaults_and_bad_flags():
    from tfmat.cnn import CNNConfig
    from tfmat.errors import UsageError

    thesis, attention = CNNConfig(), CNNConfig(arch="attention")
    assert (thesis.batch_size, thesis.lr, thesis.loss, thesis.schedule) == (256, 0.01, "mse", "constant")
    assert (attention.batch_size, attention.lr, attention.loss, attention.schedule) == (256, 5e-4, "mae", "cosine")
    # a run recorded before these settings existed keeps its identity
    assert "arch" not in thesis.identity() and attention.identity()["arch"] == "attention"
    assert "arity_batches" not in attention.identity()
    assert CNNConfig(arch="attention", arity_batches=True).identity()["arity_batches"] is True
    for bad in (dict(arch="transformer"), dict(arch="attention", width=30), dict(calibration=0.6),
                dict(arity_batches=True)):
        with pytest.raises(UsageError):
            CNNConfig(**bad)


def test_a_single_model_is_calibrated_to_a_constant_sigma():
    """With one member there is no spread: σ is the 68.27th percentile of the calibration errors."""
    from tfmat.cnn import calibration

    errors = np.random.default_rng(0).standard_normal(10_000) * 0.3
    fitted = calibration.fit(errors, np.zeros_like(errors))
    assert fitted["scale"] is None and fitted["constant"] == pytest.approx(0.3, rel=0.05)
    sigma = calibration.sigma(fitted, np.zeros(4))
    assert np.allclose(sigma, fitted["constant"])
    assert calibration.coverage(errors, calibration.sigma(fitted, np.zeros_like(errors))) == pytest.approx(0.6827,
                                                                                                             abs=1e-3)


def test_screen_arch_attention_reads_the_attention_runs_under_models(tmp_path):
    """``screen --arch attention --models DIR`` predicts with DIR's ``MP_*_attention`` runs (and leaves
    the thesis CNN's folders beside them alone)."""
    from tfmat.cnn import Predictor

    runs = tmp_path / "runs"
    for attribute in ("band_gap", "formation_energy"):
        frame = pd.read_csv(DATA / f"mp_{attribute}.csv.gz", keep_default_na=False).sample(600, random_state=1)
        frame.to_csv(tmp_path / f"{attribute}.csv", index=False)
        assert main(["train-cnn", "--arch", "attention", "--attribute", attribute, "--data",
                     str(tmp_path / f"{attribute}.csv"), "--epochs", "1", "--width", "16", "--heads", "1",
                     "--blocks", "1", "--out", str(runs / f"MP_{attribute}_attention")]) == 0
    source = tmp_path / "mine.csv"
    source.write_text("formula\nNaCl\nGaAs\nZnO\nLiFePO4\n")
    out = tmp_path / "screened"
    assert main(["screen", "--input", str(source), "--require", "none", "--arch", "attention",
                 "--models", str(runs), "-o", str(out)]) == 0
    config = json.loads((out / "summary.json").read_text())["config"]
    assert config["arch"] == "attention"
    assert config["band_gap_model"] == str(runs / "MP_band_gap_attention")
    cand = pd.read_csv(out / "candidates.csv", keep_default_na=False).set_index("formula")
    expected = Predictor(runs / "MP_band_gap_attention").predict(list(cand.index))
    np.testing.assert_allclose(cand["band_gap"].to_numpy(), expected["prediction"], atol=1e-4)  # written to 4 decimals


def test_predictor_reads_attention_members_one_arity_at_a_time_as_it_reads_the_fractions(tmp_path, monkeypatch):
    """An attention ensemble's Predictor groups rows by arity and reads them as element tokens cut to it,
    full chunks XLA-compiled and the rest not: its predictions are the ensemble's on the padded fractions,
    for formulas of 1 to 10 elements (beyond the 8-token budget too), and progress counts every row."""
    import tfmat.cnn.predict
    from tfmat.cnn import Predictor

    frame = pd.read_csv(DATA / "mp_band_gap.csv.gz", keep_default_na=False).sample(600, random_state=5)
    frame.to_csv(tmp_path / "mp.csv", index=False)
    assert main(["train-cnn", "--arch", "attention", "--data", str(tmp_path / "mp.csv"), "--epochs", "1",
                 "--folds", "3", "--width", "16", "--heads", "1", "--blocks", "1", "--out", str(tmp_path / "run")]) == 0
    monkeypatch.setattr(tfmat.cnn.predict, "TOKEN_CHUNK", 64)  # both kinds of call on a few hundred rows
    predictor = Predictor(tmp_path / "run")
    assert predictor.tokens
    formulas = frame.formula.tolist() + ["Cu", "Fe", "LiNaKRbCsBeMgCaSr", "LiNaKRbCsBeMgCaSrBa2"]
    x, f = fractions_of(formulas)
    seen = []
    each = predictor.member_predictions(x, f, progress=seen.append, clip=False)
    padded = np.asarray(predictor.ensemble([x, f], training=False))
    assert each.shape == (len(formulas), 3) and sum(seen) == len(formulas)
    assert len(set((f > 0).sum(axis=1))) >= 6
    np.testing.assert_allclose(each, padded, rtol=1e-5, atol=1e-5)
