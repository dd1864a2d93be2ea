"""Generative metrics, the enumeration baseline and ``tfmat evaluate`` on real (embedded) data."""
import json

import numpy as np
import pandas as pd
import pytest
from smact.screening import smact_validity

from tfmat import chemistry as ch
from tfmat.cli import main
from tfmat.composition import counts_of, encode_formulas
from tfmat.data import load_gan_dataset
from tfmat.elements import SYMBOL_TO_INDEX
from tfmat.evaluation import metrics
from tfmat.evaluation.enumeration import baseline, efficiency, enumerate_counts, sample_counts, space_size
from tfmat.evaluation.report import evaluate


@pytest.fixture(scope="module")
def mp():
    return load_gan_dataset("MP")


@pytest.fixture(scope="module")
def oqmd():
    return load_gan_dataset("OQMD")


@pytest.fixture(scope="module")
def generated(mp, oqmd):
    """500 training formulas (each twice), 200 left-out ones, 300 OQMD formulas MP lacks, in a fixed shuffle."""
    train, leave = mp.train().formulas, mp.leave_out().formulas
    known = set(mp.formulas)
    from_oqmd = [f for f in oqmd.formulas if f not in known][:300]
    texts = train[:500] * 2 + leave[:200] + from_oqmd
    order = np.random.default_rng(0).permutation(len(texts))
    return [texts[i] for i in order], from_oqmd


def test_uniqueness_curve():
    curve = metrics.uniqueness_curve(["NaCl", "KCl", "NaCl", "Fe2O3", "KCl", "KCl"])
    assert np.allclose(curve, [1, 1, 2 / 3, 3 / 4, 3 / 5, 3 / 6])
    assert metrics.curve_points(curve, 3)[-1] == [6, 0.5]


def test_novelty_and_recovery(mp, generated):
    texts, from_oqmd = generated
    enc = encode_formulas(texts)
    train, leave = mp.train(), mp.leave_out()
    nov = metrics.novelty(enc.formulas, metrics.arity_of(enc.counts), train.formulas, metrics.arity_of(train.counts),
                          leave.formulas, metrics.arity_of(leave.counts))
    assert nov["samples"] == 1500 and nov["distinct"] == 1000
    assert nov["train_recovered"] == pytest.approx(500 / len(train))
    assert nov["leave_out_recovered"] == pytest.approx(200 / len(leave))
    assert nov["new_samples"] == nov["new_distinct"] == 300
    assert nov["novel_share_of_distinct"] == pytest.approx(0.3)
    rows = nov["by_arity"]
    assert sum(r["generated_distinct"] for r in rows) == 1000
    assert sum(r["train"] for r in rows) == len(train)
    assert sum(round(r["train_recovered"] * r["train"]) for r in rows if r["train"]) == 500
    binary = next(r for r in rows if r["arity"] == 2)
    expected = sum(1 for f in set(from_oqmd) if len(encode_formulas([f]).counts[0].nonzero()[0]) == 2)
    assert round(binary["novel_share"] * binary["generated_distinct"]) == expected


def test_cross_database(mp, oqmd, generated):
    texts, from_oqmd = generated
    novel = metrics.novel_formulas(texts, mp.formulas)
    assert sorted(novel) == sorted(set(from_oqmd))
    assert metrics.cross_database(novel, {"OQMD": oqmd.formulas, "MP": mp.formulas}) == {"OQMD": 300, "MP": 0}


def test_validity_and_distributions(mp):
    train = mp.train()
    # Rb2Mg is neutral only as Mg2+ with Rb-, yet Rb (0.82) is less electronegative than Mg (1.31);
    # NaCl2 and CuZn have no neutral choice of smact14 states (and thesis rules take no alloy shortcut).
    hand = metrics.validity(counts_of(["NaCl", "Fe2O3", "Rb2Mg", "NaCl2", "CuZn"]))
    assert hand == {"n": 5, "cn": 3 / 5, "en": 2 / 5, "both": 2 / 5}
    sample = train.formulas[::200]
    kw = dict(oxidation_states_set="smact14", include_alloys=False)
    cn = np.array([smact_validity(f, use_pauling_test=False, **kw) for f in sample])
    en = np.array([smact_validity(f, **kw) for f in sample])
    assert metrics.validity(counts_of(sample)) == {"n": len(sample), "cn": cn.sum() / len(sample),
                                                   "en": en.sum() / len(sample), "both": (cn & en).sum() / len(sample)}
    same = metrics.distributions(train.counts, train.counts)
    assert same["element_total_variation"] == 0 and same["arity_total_variation"] == 0
    assert same["element_frequency"]["O"]["train"] == pytest.approx((train.counts[:, SYMBOL_TO_INDEX["O"]] > 0).mean())
    blind = metrics.distributions(sample_counts(5000, seed=1), train.counts)
    assert blind["element_total_variation"] > 0.2
    # only binaries: the arity distance is the share of training formulas that are not binary
    binaries = metrics.total_variations(train.counts[metrics.arity_of(train.counts) == 2], train.counts)
    assert binaries["arity_total_variation"] == pytest.approx(1 - (metrics.arity_of(train.counts) == 2).mean())
    # no formula at all is as far from the training mix as a mix can be
    assert metrics.total_variations(train.counts[:0], train.counts) == {"arity_total_variation": 1.0,
                                                                        "element_total_variation": 1.0}


def test_evaluate_library(mp, oqmd, generated):
    texts, _ = generated
    ev = evaluate(texts + ["Xx2O"], mp, {"OQMD": oqmd.formulas}, baseline_share=0.25)
    s = ev.summary
    assert s["generated"] == {"rows": 1501, "formulas": 1500, "rejected": 1}
    assert ev.rejects[0].row == 1500 and "Xx" in ev.rejects[0].reason
    assert s["cross_database"] == {"OQMD": 300}
    assert s["uniqueness"]["final"] == pytest.approx(1000 / 1500)
    assert s["efficiency_vs_enumeration"]["ratio"] == pytest.approx(s["validity"]["generated"]["both"] / 0.25)


def test_enumeration_space_and_sampling():
    every = enumerate_counts(2)
    assert len(every) == space_size(2) == 85 * 84 // 2 * 64
    reduced = np.gcd.reduce(every.astype(int), axis=1) == 1
    assert reduced.sum() == space_size(2, reduced=True)
    drawn = sample_counts(3000, arities=(2, 3, 4), seed=3, reduced=True)
    assert np.bincount(np.count_nonzero(drawn, 1)).tolist() == [0, 0, 1000, 1000, 1000]
    assert (np.gcd.reduce(drawn.astype(int), axis=1) == 1).all() and drawn.max() <= 8
    b = baseline(ch.THESIS, arities=(2, 3), samples=4000, seed=0)
    binary = b["by_arity"][0]
    assert binary["method"] == "exhaustive" and binary["en"] == pytest.approx(ch.check(every, ch.THESIS).en.mean())
    assert 0 < b["pooled"]["en"] < b["pooled"]["cn"] < 1
    assert efficiency(0.6224, 0.0078) == pytest.approx(6224 / 78) and efficiency(0.75, 0.03125) == 24.0


def test_cli_evaluate(tmp_path, generated, capsys):
    texts, _ = generated
    gen = tmp_path / "gen.csv"
    pd.DataFrame({"formula": texts + ["Fe0.5O"]}).to_csv(gen, index=False)
    out = tmp_path / "ev"
    code = main(["evaluate", "--generated", str(gen), "--dataset", "mp", "-o", str(out), "--tsne", "60",
                 "--baseline-samples", "2000"])
    assert code == 0
    s = json.loads((out / "evaluation.json").read_text())
    assert s["cross_database"] == {"OQMD": 300}
    assert s["novelty"]["new_samples"] == 300
    assert s["enumeration_baseline"]["by_arity"][0]["method"] == "exhaustive"
    for name in ("uniqueness.png", "uniqueness.csv", "validity.png", "distributions.png", "tsne.png", "tsne.csv",
                 "rejects.csv", "run.json"):
        assert (out / name).stat().st_size > 0, name
    tsne = pd.read_csv(out / "tsne.csv")
    assert tsne.group.value_counts().to_dict() == {"training": 60, "leave-out": 60, "generated": 60}
    assert "training recovered" in capsys.readouterr().err


def test_cli_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,score\nNaCl,1\n")
    assert main(["evaluate", "--generated", str(bad), "--dataset", "MP", "-o", str(tmp_path / "o")]) == 2
    assert "has no formula column" in capsys.readouterr().err
    good = tmp_path / "good.csv"
    good.write_text("formula\nNaCl\n")
    assert main(["evaluate", "--generated", str(good), "--dataset", "XYZ", "-o", str(tmp_path / "o")]) == 2
    assert "unknown dataset" in capsys.readouterr().err
    assert main(["evaluate", "--generated", str(tmp_path / "missing.csv"), "--dataset", "MP",
                 "-o", str(tmp_path / "o")]) == 2
    assert main(["check", "Xx2"]) == 2
    assert main(["check", "NaCl", "CuZn"]) == 0
    shown = capsys.readouterr().out.splitlines()  # named as predict names them: argument 1, 2, ...
    assert shown == ["argument,formula,cn,en", "1,NaCl,True,True", "2,CuZn,True,True"]


@pytest.mark.parametrize("text, message", [
    ("formula\n", "has no data rows"), ("", "has no data rows"),
    ("name,score\nNaCl,1\n", "has no formula column"),
])
def test_every_formula_reader_refuses_an_unusable_file_the_same_way(tmp_path, capsys, text, message):
    path = tmp_path / "f.csv"
    path.write_text(text)
    for argv in (["check", "--input", str(path)],
                 ["evaluate", "--generated", str(path), "--dataset", "MP", "-o", str(tmp_path / "o")],
                 ["predict", "--model", "MP_band_gap", "--input", str(path)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)


def test_check_names_rows_by_their_line_in_the_file(tmp_path, capsys):
    path = tmp_path / "f.csv"
    path.write_text("NaCl\nXx2\n\nCuZn\nNa99999999999999999999Cl\n")  # one column, the first line its header
    out = tmp_path / "checked.csv"
    assert main(["check", "--input", str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "line 2 'Xx2': unknown element 'Xx'" in err and "line 5 'Na99999999999999999999Cl'" in err
    frame = pd.read_csv(out)
    assert frame.columns.tolist()[:2] == ["line", "formula"] and frame.line.tolist() == [4]


def test_recovery_by_decodability():
    train = ["NaCl", "KCl", "Fe2O3", "MgO"]
    got = metrics.recovery_by_decodability(train, np.array([True, True, True, False]), ["KCl", "MgO", "KCl", "CaO"])
    assert got == {"decodable": 3, "undecodable": 1, "decodable_recovered": pytest.approx(1 / 3),
                   "undecodable_recovered": 1.0}
