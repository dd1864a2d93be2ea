"""The thesis CNN: table 4.1 shapes, scaling, the protocol's splits, training, resume and prediction."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tfmat.cnn import CNNConfig, make_splits
from tfmat.cli import main

from tfmat.data import DataError, load_property_dataset
from tfmat.paths import DATA

from conftest import ROOT


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    """2,000 real MP band-gap compositions (the embedded table) as a user CSV."""
    frame = pd.read_csv(DATA / "mp_band_gap.csv.gz", keep_default_na=False).sample(2000, random_state=3)
    path = tmp_path_factory.mktemp("data") / "mp_small.csv"
    frame.to_csv(path, index=False)
    return path


def test_table_4_1_shapes():
    from tfmat.models.cnn import MagpieCNN

    model = MagpieCNN()
    x = np.random.default_rng(0).random((5, 22, 6)).astype("float32")
    shapes = {name: tuple(t.shape) for name, t in model.layer_outputs(x)}
    assert shapes == {"scaled": (5, 22, 6, 1), "row_scan": (5, 22, 1, 32), "pointwise": (5, 22, 1, 32),
                      "full": (5, 1, 1, 32), "flatten": (5, 32), "fc": (5, 32), "output": (5, 1)}
    kinds = [type(layer).__name__ for block in model.blocks for layer in block]
    assert kinds == ["Conv2D", "BatchNormalization", "ReLU"] * 3
    kernels = [block[0].kernel_size for block in model.blocks]
    assert kernels == [(1, 6), (1, 1), (22, 1)]
    assert model.hidden.activation.__name__ == "relu" and model.out.activation.__name__ == "linear"


def test_fraction_branch_variant():
    from tfmat.models.cnn import MagpieCNN

    model = MagpieCNN(dense=64, fraction_units=64)
    x = np.random.default_rng(0).random((3, 22, 6)).astype("float32")
    f = np.zeros((3, 118), "float32")
    f[:, [7, 25]] = [0.6, 0.4]
    shapes = {name: tuple(t.shape) for name, t in model.layer_outputs([x, f])}
    assert shapes["full"] == (3, 1, 1, 32) and shapes["with_fractions"] == (3, 96) and shapes["output"] == (3, 1)
    with pytest.raises(ValueError):
        model(x)


def test_scaling_fitted_on_training_rows_only():
    from tfmat.models.cnn import build_cnn

    x = np.random.default_rng(1).normal(size=(50, 22, 6)).astype("float32")
    x[:, 3, 2] = 7.0  # a constant feature
    model = build_cnn(x[:40])
    np.testing.assert_allclose(np.asarray(model.scaling.minimum), x[:40].min(axis=0))
    span = np.asarray(model.scaling.span)
    assert span[3, 2] == 1.0
    scaled = np.asarray(model.scaling(x[:40]))
    assert scaled.min() == pytest.approx(0) and scaled.max() == pytest.approx(1)


def test_table_4_2_defaults_and_bad_flags():
    assert (CNNConfig(attribute="band_gap").batch_size, CNNConfig(attribute="band_gap").lr) == (256, 0.01)
    fe = CNNConfig(attribute="formation_energy")
    assert (fe.batch_size, fe.lr) == (512, 0.1)
    assert CNNConfig(attribute="volume_pa").lr == 1e-3
    assert main(["train-cnn", "--data_name", "MP", "--attribute", "band_gap", "--folds", "2"]) == 2
    assert main(["train-cnn", "--data-name", "ICSD", "--attribute", "band_gap"]) == 2


def test_splits_are_disjoint_and_cover_every_composition():
    config = CNNConfig(folds=5, repeats=2, holdout=0.1, seed=520)
    holdout, splits = make_splits(1000, config)
    assert len(holdout) == 100 and len(splits) == 10
    for r in range(2):
        folds = splits[5 * r:5 * r + 5]
        validation = np.concatenate([s.validation for s in folds])
        assert sorted(validation.tolist()) == sorted(set(range(1000)) - set(holdout.tolist()))
        for s in folds:
            parts = [set(s.train.tolist()), set(s.test.tolist()), set(s.validation.tolist()), set(holdout.tolist())]
            assert sum(map(len, parts)) == len(set().union(*parts)) == 1000
            assert len(s.test) == round(0.1 * (900 - len(s.validation)))
    again = make_splits(1000, config)[1]
    assert all(np.array_equal(a.train, b.train) for a, b in zip(splits, again))


def test_train_cv_writes_outputs_resumes_and_predicts(tmp_path, small_csv):
    out, ck = tmp_path / "run", tmp_path / "model"
    args = ["train-cnn", "--data_name", "MP", "--attribute", "band_gap", "--data", str(small_csv), "--epochs", "3",
            "--folds", "3", "--holdout", "0.1", "--lr", "0.003", "--fractions", "16", "--out", str(out),
            "--checkpoint", str(ck)]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["folds"]) == 3 and metrics["validation_mean"]["n_models"] == 3
    assert set(metrics["holdout_ensemble"]) >= {"mae", "rmse", "r2", "mean_uncertainty"}
    epochs = pd.read_csv(out / "epochs.csv")
    assert len(epochs) == 9 and {"train_mae", "test_mae", "train_r2", "test_rmse"} <= set(epochs.columns)
    preds = pd.read_csv(out / "predictions.csv")
    assert set(preds["set"]) == {"validation", "holdout"}
    assert (out / "learning_curves.png").stat().st_size > 10_000 and (out / "parity.png").stat().st_size > 10_000
    assert len(list((ck / "members").glob("*.keras"))) == 3
    assert json.loads((ck / "domain.json").read_text())["max_elements"] >= 2
    scaler = json.loads((ck / "scaler.json").read_text())
    assert np.array(scaler["r0_k0.keras"]["minimum"]).shape == (22, 6)
    # Finished folds are not trained again.
    stamp = (out / "folds" / "r0_k1" / "model.keras").stat().st_mtime
    assert main(args) == 0
    assert (out / "folds" / "r0_k1" / "model.keras").stat().st_mtime == stamp
    # The run is bound to its rows and settings: other data or another seed is refused, nothing changes.
    other = tmp_path / "other.csv"
    pd.read_csv(small_csv).iloc[:1500].to_csv(other, index=False)
    before = (out / "run.json").read_text()
    for changed in (["--data", str(other)], ["--seed", "5"]):  # the last value of a flag wins
        assert main([*args, *changed]) == 2
    assert (out / "run.json").read_text() == before
    assert (out / "folds" / "r0_k1" / "model.keras").stat().st_mtime == stamp
    # The library predictor matches the validation predictions the run recorded.
    from tfmat.cnn import Predictor

    pred = Predictor(ck)
    holdout = preds[preds["set"] == "holdout"]
    frame = pred.predict(holdout["formula"].tolist())
    np.testing.assert_allclose(frame["prediction"], holdout["predicted"], rtol=1e-5, atol=1e-5)
    assert (frame["uncertainty"] > 0).all()


def test_keep_best_r2_restores_the_best_epoch(tmp_path, small_csv):
    from tfmat.cnn import load_features, train_member
    from tfmat.cnn.train import take

    config = CNNConfig(data_name="MP", attribute="band_gap", data=str(small_csv), epochs=3, lr=0.003)
    frame, x, fractions = load_features(config)
    y = frame["target"].to_numpy(np.float32)
    _, (split,) = make_splits(len(y), config)
    model = train_member((x, fractions), y, split, config, tmp_path / "w")
    history = pd.read_csv(tmp_path / "w" / "history.csv")
    best = json.loads((tmp_path / "w" / "best.weights.h5.json").read_text())
    assert best["val_r2"] == pytest.approx(history["val_r2"].max(), rel=1e-5)
    assert best["epoch"] < len(history) - 1  # the last epoch is worse, so restoring matters
    restored = model.evaluate(take((x, fractions), split.test), y[split.test], batch_size=config.batch_size,
                              return_dict=True, verbose=0)
    assert (tmp_path / "w" / "history.csv").exists()
    assert restored["r2"] == best["val_r2"]  # Keras's test R² of the returned model, bit for bit


def test_predict_cli_rows_rejects_and_exit_codes(tmp_path):
    model = ROOT / "check_point" / "CNN" / "MP_band_gap"
    src = tmp_path / "in.csv"
    src.write_text("formula\nGaAs\nnot a formula\nNaCl\nXx3\n")
    out = tmp_path / "out.csv"
    assert main(["predict", "--model", str(model), "--input", str(src), "-o", str(out)]) == 0
    got = pd.read_csv(out)
    assert got["formula"].tolist() == ["GaAs", "NaCl"] and got["line"].tolist() == [2, 4]
    assert got["band_gap"].between(-1, 12).all()
    rejects = pd.read_csv(tmp_path / "out.rejects.csv")
    assert rejects["line"].tolist() == [3, 5] and rejects["reason"].str.len().min() > 5
    bad = tmp_path / "bad.csv"
    bad.write_text("formula\nnope\n")
    assert main(["predict", "--model", str(model), "--input", str(bad), "-o", str(tmp_path / "o2.csv")]) == 2
    assert main(["predict", "--model", str(tmp_path), "NaCl"]) == 2


def test_predict_and_export_default_to_the_shipped_mp_band_gap_model(tmp_path, capsys):
    """With no ``--model``, ``predict`` and ``export`` use the shipped model of the default architecture."""
    from tfmat.cnn import DEFAULT_ARCH, model_name

    assert main(["predict", "--model", model_name("band_gap", DEFAULT_ARCH), "NaCl", "GaAs"]) == 0
    named = capsys.readouterr().out
    assert main(["predict", "NaCl", "GaAs"]) == 0
    assert capsys.readouterr().out == named and "NaCl" in named
    assert main(["export", "--out", str(tmp_path / "served")]) == 0
    assert (tmp_path / "served" / "saved_model.pb").is_file()


def test_predictions_outside_the_training_domain_are_marked_and_counted(tmp_path, capsys):
    """The shipped MP band-gap model (no domain.json: its domain comes from the embedded MP data): every
    training row lies inside; unseen elements, more elements than any training formula and features
    beyond the training range lie outside; a fractional formula is read as its proportions."""
    from tfmat.cnn import Predictor
    from tfmat.cnn.domain import Domain
    from tfmat.cnn.train import load_features

    predictor = Predictor("MP_band_gap")
    frame, x, fractions = load_features(CNNConfig(data_name="MP", attribute="band_gap"))
    assert (predictor.outside(x, fractions) == "").all()
    got = predictor.predict(["NaCl", "Na1.5Cl", "HeO", "Og2O", "Na1000000Cl"])
    assert got["in_domain"].tolist() == [True, True, False, False, False]
    assert got.attrs["outside"] == {"element": 2, "fraction": 1}
    out = tmp_path / "p.csv"
    assert main(["predict", "--model", "MP_band_gap", "NaCl", "HeO", "-o", str(out)]) == 0
    assert pd.read_csv(out)["in_domain"].tolist() == [True, False]
    assert "1 of 2 prediction(s) outside the model's training domain" in capsys.readouterr().err
    # a narrow domain, saved and read back: arity and the feature box
    narrow = Domain.of(x[:50], fractions[:50])
    narrow.save(tmp_path)
    again = Domain.load(tmp_path / "domain.json")
    assert (again.elements == narrow.elements).all() and again.max_elements == narrow.max_elements
    known = ~((fractions > 0) & ~narrow.elements).any(axis=1)
    many = (fractions > 0).sum(axis=1) > narrow.max_elements
    why = again.reasons(x, fractions)
    assert (why[~known] == "element").all() and (why[known & many] == "arity").all() and (known & many).any()
    rarest = np.where(fractions > 0, fractions, np.inf).min(axis=1)
    rare = known & ~many & (rarest < narrow.min_fraction * (1 - 1e-6))
    assert (why[rare] == "fraction").all() and rare.any()
    plain = known & ~many & ~rare
    boxed = ((x >= narrow.low) & (x <= narrow.high)).all(axis=(1, 2))
    assert (why[plain] == np.where(boxed[plain], "", "features")).all() and (why[plain] == "features").any()


def test_predictor_counts_match_formulas():
    from tfmat.cnn import Predictor
    from tfmat.composition import encode_formulas, parse_formulas
    from tfmat.features import magpie_features

    model = ROOT / "check_point" / "CNN" / "MP_formation_energy"
    pred = Predictor(model)
    enc = encode_formulas(["Fe2O3", "NaCl", "LiFePO4", "SrTiO3", "GaAs"])
    by_counts, _ = pred.predict_counts(enc.counts)
    by_text = pred.predict(enc.formulas)["prediction"].to_numpy()
    np.testing.assert_allclose(by_counts, by_text, rtol=1e-6, atol=1e-6)
    assert by_text[0] < 0  # Fe2O3 is strongly exothermic
    comps = parse_formulas(enc.formulas).compositions
    np.testing.assert_allclose(pred.predict_compositions(comps).mean(axis=1), by_text, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="element fractions"):
        pred.member_predictions(magpie_features(comps))


def test_train_cnn_wrapper_help():
    res = subprocess.run([sys.executable, str(ROOT / "train_cnn.py"), "--help"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert res.returncode == 0 and "--data_name" in res.stdout and "--attribute" in res.stdout


def test_interrupted_fold_resumes_from_its_backup(tmp_path, small_csv, monkeypatch):
    import keras

    import tfmat.cnn.train as train

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    original = train._callbacks
    monkeypatch.setattr(train, "_callbacks", lambda *a: original(*a) + [Interrupt()])
    config = CNNConfig(data_name="MP", attribute="band_gap", data=str(small_csv), epochs=4, lr=0.003)
    frame, x, fractions = train.load_features(config)
    y = frame["target"].to_numpy(np.float32)
    _, (split,) = make_splits(len(y), config)
    with pytest.raises(KeyboardInterrupt):
        train.train_member((x, fractions), y, split, config, tmp_path / "w")
    assert pd.read_csv(tmp_path / "w" / "history.csv")["epoch"].tolist() == [0, 1]
    monkeypatch.setattr(train, "_callbacks", original)
    train.train_member((x, fractions), y, split, config, tmp_path / "w")
    assert pd.read_csv(tmp_path / "w" / "history.csv")["epoch"].tolist() == [0, 1, 2, 3]


def _h5_arrays(path):
    import h5py

    found = {}
    with h5py.File(path) as f:
        f.visititems(lambda name, item: found.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None)
    return found


@pytest.mark.parametrize("arch", ["thesis", "attention"])
def test_a_fold_killed_mid_epoch_resumes_at_its_batch_and_ends_as_an_uninterrupted_one(tmp_path, small_csv,
                                                                                       monkeypatch, capsys, arch):
    """1,620 training rows in batches of 256 (7 batches an epoch; more in batches of one arity, for the
    attention model). A kill 4 batches into the second epoch resumes from the backup after batch 3 of that
    epoch, with the data order, optimizer and metric sums restored: the final weights and every epoch's
    losses equal an uninterrupted run's."""
    import keras

    import tfmat.cnn.train as train
    from tfmat.data.pipeline import arity_batches
    from tfmat.models.attention import formula_tokens

    class KilledAfter(keras.callbacks.Callback):
        def __init__(self, batches):
            super().__init__()
            self.left = batches

        def on_train_batch_end(self, batch, logs=None):
            self.left -= 1
            if self.left == 0:
                raise KeyboardInterrupt

    size = dict(arch="attention", width=16, heads=2, blocks=1, arity_batches=True, batch_size=256) \
        if arch == "attention" else {}
    config = CNNConfig(data_name="MP", attribute="band_gap", data=str(small_csv), epochs=3, lr=0.003, **size)
    frame, x, fractions = train.load_features(config)
    y = frame["target"].to_numpy(np.float32)
    _, (split,) = make_splits(len(y), config)
    assert len(split.train) == 1620 and config.batch_size == 256
    per_epoch = 7 if arch == "thesis" else \
        int(arity_batches(*formula_tokens(fractions[split.train]), y[split.train], 256, 0).cardinality())
    assert per_epoch >= 7
    whole = train.train_member((x, fractions), y, split, config, tmp_path / "whole", backup_every=3)

    original = train._callbacks
    monkeypatch.setattr(train, "_callbacks", lambda *a: original(*a) + [KilledAfter(per_epoch + 4)])
    with pytest.raises(KeyboardInterrupt):
        train.train_member((x, fractions), y, split, config, tmp_path / "killed", backup_every=3)
    state = json.loads((tmp_path / "killed" / "backup" / "training_metadata.json").read_text())
    assert state == {"epoch": 1, "batch": 3}
    monkeypatch.setattr(train, "_callbacks", original)
    capsys.readouterr()
    resumed = train.train_member((x, fractions), y, split, config, tmp_path / "killed", backup_every=3)
    assert "at epoch 2, batch 3" in capsys.readouterr().err
    a, b = _h5_arrays(tmp_path / "whole" / "backup" / "latest.weights.h5"), \
        _h5_arrays(tmp_path / "killed" / "backup" / "latest.weights.h5")
    assert a.keys() == b.keys() and len(a) > 10
    for name in a:
        np.testing.assert_allclose(b[name], a[name], atol=1e-6, err_msg=name)
    for w, r in zip(whole.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(r, w, atol=1e-6)
    history = [pd.read_csv(tmp_path / run / "history.csv") for run in ("whole", "killed")]
    assert history[1]["epoch"].tolist() == [0, 1, 2]
    np.testing.assert_allclose(history[1].drop(columns="epoch"), history[0].drop(columns="epoch"), rtol=1e-5)


BAD_LABELS = [("KCl", "abc", "label is not a number"), ("LiF", "nan", "label is not finite"),
              ("MgO", "-1e30", "label outside the band_gap range [0, 20]"), ("CaO", "inf", "label is not finite"),
              ("Xx2", "1.0", "unknown element"), ("SrO", "", "no label")]


def _labelled_file(tmp_path, small_csv, bad=BAD_LABELS):
    """The real MP rows of ``small_csv`` with ``bad`` rows inserted after line 11 (line 1 is the header)."""
    lines = small_csv.read_text().splitlines()
    path = tmp_path / "labels.csv"
    path.write_text("\n".join(lines[:11] + [f"{f},{v},1" for f, v, _ in bad] + lines[11:]) + "\n")
    return path, lines


def test_train_cnn_stops_on_a_bad_label_with_its_line_and_writes_nothing(tmp_path, small_csv, capsys):
    path, _ = _labelled_file(tmp_path, small_csv, [("MgO", "-1e30", "")])
    out = tmp_path / "run"
    args = ["train-cnn", "--data", str(path), "--epochs", "1", "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "line 12: '-1e30': label outside the band_gap range [0, 20]" in err and "--drop-bad-rows" in err
    assert not out.exists()
    assert main([*args, "--label-range=-1e31,20", "--epochs", "0"]) == 2  # flags are checked first
    assert not out.exists()
    assert main([*args, "--label-range=-1e31,20", "--folds", "3"]) == 0  # a wider range lets the row in
    assert json.loads((out / "metrics.json").read_text())["compositions"] == 2001


def test_every_kind_of_bad_row_is_named_and_the_valid_rows_are_kept(tmp_path, small_csv):
    path, lines = _labelled_file(tmp_path, small_csv)
    with pytest.raises(DataError, match=r"line 12: 'abc': label is not a number \(6 bad rows in all\)"):
        load_property_dataset("MP", "band_gap", path)
    frame = load_property_dataset("MP", "band_gap", path, drop_bad_rows=True)
    rejects = frame.attrs["rejects"]
    assert [(r.row, r.text) for r in rejects] == [(12 + i, (f if reason == "unknown element" else v))
                                                  for i, (f, v, reason) in enumerate(BAD_LABELS)]
    assert all(want in r.reason for r, (_, _, want) in zip(rejects, BAD_LABELS))
    clean = load_property_dataset("MP", "band_gap", small_csv)
    pd.testing.assert_frame_equal(frame, clean)  # every valid row is kept
    assert len(clean) == len(lines) - 1


def test_drop_bad_rows_trains_on_the_valid_rows_and_lists_the_rest(tmp_path, small_csv):
    path, _ = _labelled_file(tmp_path, small_csv)
    out = tmp_path / "run"
    assert main(["train-cnn", "--data", str(path), "--epochs", "1", "--drop-bad-rows", "--out", str(out)]) == 0
    rejects = pd.read_csv(out / "rejects.csv", keep_default_na=False)
    assert rejects.line.tolist() == list(range(12, 18))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["rejected_rows"] == 6 and metrics["compositions"] == 2000


def test_too_few_rows_for_the_folds_is_one_line_before_training(tmp_path, small_csv, capsys):
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("\n".join(small_csv.read_text().splitlines()[:3]) + "\n")  # two compositions
    out = tmp_path / "run"
    assert main(["train-cnn", "--data", str(tiny), "--folds", "5", "--epochs", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "2 compositions are too few for 5 fold(s)" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_jobs_train_the_folds_in_processes_as_one_at_a_time_does(tmp_path, small_csv):
    args = ["train-cnn", "--data", str(small_csv), "--epochs", "2", "--folds", "3", "--holdout", "0.1",
            "--fractions", "16", "--lr", "0.003", "--deterministic"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    assert main([*args, "--jobs", "2", "--out", str(tmp_path / "two")]) == 0
    one, two = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("one", "two"))
    assert [f["fold"] for f in two["folds"]] == ["r0_k0", "r0_k1", "r0_k2"]
    # the same split, seed and data order per fold; only the thread count (and so the float summation
    # order) differs between the worker processes and this one
    for a, b in zip(one["folds"], two["folds"]):
        for part in ("train", "test", "validation"):
            np.testing.assert_allclose(b[part]["mae"], a[part]["mae"], rtol=1e-2)
    from tfmat.cnn import Predictor

    assert len(Predictor(tmp_path / "two" / "model").members) == 3  # members from separate processes load as one


def test_jobs_refuse_a_fold_another_process_is_writing_and_keep_the_others(tmp_path, small_csv, capsys):
    import os
    import shutil

    from tfmat.io import output_lock

    out = tmp_path / "run"
    args = ["train-cnn", "--data", str(small_csv), "--epochs", "1", "--folds", "3", "--fractions", "16",
            "--jobs", "3", "--out", str(out)]
    assert main(args) == 0
    for fold in ("r0_k1", "r0_k2"):  # two folds unfinished again, the ensemble not yet made
        for name in ("scores.json", "model.keras"):
            (out / "folds" / fold / name).unlink()
    shutil.rmtree(out / "model")
    stamps = {"r0_k0": (out / "folds" / "r0_k0" / "model.keras").stat().st_mtime}
    with output_lock(out / "folds" / "r0_k1"):
        assert main(args) == 2
    err = capsys.readouterr().err
    assert f"folds/r0_k1 is being written by another tfmat process (pid {os.getpid()}" in err
    assert not (out / "folds" / "r0_k1" / "scores.json").exists() and not (out / "model").exists()
    assert main(args) == 0  # the rerun trains what is left and keeps the finished folds
    assert {n: (out / "folds" / n / "model.keras").stat().st_mtime for n in stamps} == stamps
    assert all((out / "folds" / f / "scores.json").exists() for f in ("r0_k1", "r0_k2"))
    assert len(list((out / "model" / "members").glob("*.keras"))) == 3
    assert main([*args[:-4], "--jobs", "0", "--out", str(tmp_path / "zero")]) == 2


def _processes() -> dict[int, tuple[int, bytes]]:
    """Every live (not zombie) process: pid → (parent pid, command line), from Linux's /proc."""
    from pathlib import Path

    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if state != "Z":
            found[int(stat.parent.name)] = (int(ppid), cmdline)
    return found


def test_jobs_workers_die_with_the_command(tmp_path, small_csv):
    import signal
    import time

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "tfmat", "train-cnn", "--data", str(small_csv), "--epochs", "200", "--folds", "3",
           "--fractions", "16", "--jobs", "2", "--out", str(out)]
    parent = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while not list(out.glob("folds/*/history.csv")) and parent.poll() is None and time.time() < deadline:
            time.sleep(0.5)  # the workers are training once a fold has an epoch
        workers = [pid for pid, (ppid, cmdline) in _processes().items()
                   if ppid == parent.pid and b"spawn_main" in cmdline]
        assert len(workers) == 2, workers
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.time() + 30
    while set(workers) & set(_processes()) and time.time() < deadline:
        time.sleep(0.2)
    assert not set(workers) & set(_processes())
