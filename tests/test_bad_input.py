"""One input policy for every command that reads formulas or labels, run against the same malformed files.

Rows are named by their file line (the header is line 1). A file that cannot be read at all (empty, header
only, no formula column) stops every command with exit 2. Commands that answer row by row (check, predict,
screen, evaluate --generated) keep every valid row and list the bad ones with their line; commands that learn
from or compare with a file (train-gan, train-ae, train-cnn, evaluate --data) stop at the first bad row with
its line and reason, unless --drop-bad-rows.
"""
import os
import subprocess
import sys

import pandas as pd
import pytest

from tfmat.cli import main

UNREADABLE = {"header_only": ("formula\n", "no data rows"), "empty": ("", "no data rows"),
              "wrong_column": ("name,value\nNaCl,1\nKBr,2\n", "no formula column")}
# line 3 is the bad row; lines 2, 4 and 5 are valid
BAD_ROW = {"fractional": ("Na1.5Cl", "fractional amount"),
           "huge": ("Na99999999999999999999Cl", "above the bound 1,000,000"),
           "unknown": ("Xx2O", "unknown element 'Xx'")}
VALID = ["NaCl", "KBr", "LiF"]


def _file(tmp_path, name):
    path = tmp_path / f"{name}.csv"
    if name in UNREADABLE:
        path.write_text(UNREADABLE[name][0])
    else:
        path.write_text("formula\n" + "\n".join([VALID[0], BAD_ROW[name][0], *VALID[1:]]) + "\n")
    return path


def _labelled(tmp_path, name, rows):
    path = tmp_path / f"{name}.csv"
    path.write_text("formula,band_gap\n" + "".join(f"{f},{v}\n" for f, v in rows))
    return path


EVALUATE = ["--dataset", "MP", "--tsne", "0", "--baseline-samples", "0"]
COMMANDS = {  # command → its arguments given the input file and an output path
    "check": lambda f, o: ["check", "--input", f, "-o", o + ".csv"],
    "predict": lambda f, o: ["predict", "--model", "MP_band_gap", "--input", f, "-o", o + ".csv"],
    "screen": lambda f, o: ["screen", "--input", f, "-o", o],
    "evaluate": lambda f, o: ["evaluate", "--generated", f, *EVALUATE, "-o", o],
    "evaluate --data": lambda f, o: ["evaluate", "--generated", f, *EVALUATE[2:], "--dataset", "ICSD", "--data", f,
                                     "-o", o],
    "train-gan --data": lambda f, o: ["train-gan", "ICSD", "--data", f, "--epochs", "1", "--batch-size", "2",
                                      "--select-samples", "0", "--progress", "0", "--out", o],
    "train-ae --data": lambda f, o: ["train-ae", "--dataset", "ICSD", "--data", f, "--epochs", "1",
                                     "--batch-size", "2", "--progress", "0", "--out", o],
    "train-cnn --data": lambda f, o: ["train-cnn", "--data", f, "--epochs", "1", "--out", o],
}
LEARNING = ("evaluate --data", "train-gan --data", "train-ae --data")


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("name", list(UNREADABLE))
def test_an_unreadable_file_stops_every_command_with_one_message(tmp_path, capsys, command, name):
    path, out = _file(tmp_path, name), tmp_path / "out"
    assert main(COMMANDS[command](str(path), str(out))) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and UNREADABLE[name][1] in err[0] and "Traceback" not in err[0]
    assert not list(tmp_path.glob("out*"))


def test_each_command_exits_2_as_a_process(tmp_path):
    """One process per command on the header-only file: the exit status the shell sees."""
    path = _file(tmp_path, "header_only")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    procs = {c: subprocess.Popen([sys.executable, "-m", "tfmat", *make(str(path), str(tmp_path / f"out{i}"))],
                                 env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, (c, make) in enumerate(COMMANDS.items())}
    for command, proc in procs.items():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 2, (command, err[-2000:])
        assert "no data rows" in err and "Traceback" not in err, command


def _rejects(path):
    table = pd.read_csv(path, keep_default_na=False)
    assert list(table.columns) == ["line", "text", "reason"]
    return table


@pytest.mark.parametrize("name", list(BAD_ROW))
def test_row_by_row_commands_keep_every_valid_row_and_name_the_bad_line(tmp_path, capsys, name):
    path = _file(tmp_path, name)
    text, reason = BAD_ROW[name]
    o = str(tmp_path / "o")

    assert main(COMMANDS["check"](str(path), o + "-check")) == 0  # check needs integer formulas
    checked = pd.read_csv(o + "-check.csv")
    assert checked.formula.tolist() == VALID and checked.line.tolist() == [2, 4, 5]
    assert f"line 3 {text!r}: " in capsys.readouterr().err

    assert main(COMMANDS["predict"](str(path), o + "-predict")) == 0
    predicted = pd.read_csv(o + "-predict.csv")
    if name == "fractional":  # a property model reads the proportions, inside its domain
        assert predicted.formula.tolist() == [VALID[0], text, *VALID[1:]] and predicted.in_domain.all()
    else:
        assert predicted.formula.tolist() == VALID and predicted.line.tolist() == [2, 4, 5]
        bad = _rejects(o + "-predict.rejects.csv")
        assert bad.line.tolist() == [3] and reason in bad.reason[0]

    assert main(COMMANDS["screen"](str(path), o + "-screen")) == 0
    assert set(pd.read_csv(o + "-screen/candidates.csv").formula) == set(VALID)
    bad = _rejects(o + "-screen/rejects.csv")
    assert bad.line.tolist() == [3] and reason in bad.reason[0]

    assert main(COMMANDS["evaluate"](str(path), o + "-evaluate")) == 0
    bad = _rejects(o + "-evaluate/rejects.csv")
    assert bad.line.tolist() == [3] and bad.text.tolist() == [text]


@pytest.mark.parametrize("name", list(BAD_ROW))
@pytest.mark.parametrize("command", LEARNING)
def test_a_bad_row_stops_training_and_reference_files_with_its_line(tmp_path, capsys, command, name):
    path, out = _file(tmp_path, name), tmp_path / "out"
    assert main(COMMANDS[command](str(path), str(out))) == 2
    err = capsys.readouterr().err
    assert f"line 3: {BAD_ROW[name][0]!r}: " in err and BAD_ROW[name][1] in err and "--drop-bad-rows" in err
    assert not out.exists()


@pytest.mark.parametrize("command", ["train-gan --data", "train-ae --data"])
def test_drop_bad_rows_trains_on_the_valid_rows_and_lists_the_rest(tmp_path, capsys, command):
    path, out = _file(tmp_path, "unknown"), tmp_path / "out"
    assert main([*COMMANDS[command](str(path), str(out)), "--drop-bad-rows"]) == 0
    assert "1 bad row(s)" in capsys.readouterr().err
    bad = _rejects(out / "rejects.csv")
    assert bad.line.tolist() == [3] and bad.text.tolist() == ["Xx2O"]
    run = pd.read_json(out / "run.json", typ="series")["config"]
    assert run.get("training_formulas", run.get("train_formulas")) == 3


LABELS = {"text": ("abc", "label is not a number"), "nan": ("nan", "label is not finite"),
          "inf": ("inf", "label is not finite"), "absurd": ("-1e30", "outside the band_gap range"),
          "huge formula": (None, "above the bound"), "unknown element": (None, "unknown element")}


@pytest.mark.parametrize("case", list(LABELS))
def test_train_cnn_stops_at_a_bad_label_or_formula_and_writes_nothing(tmp_path, capsys, case):
    value, reason = LABELS[case]
    formula = {"huge formula": BAD_ROW["huge"][0], "unknown element": "Xx2O"}.get(case, "MgO")
    rows = [("NaCl", 8.5), (formula, value or 1.0), ("KBr", 7.4), ("LiF", 13.6)]
    path, out = _labelled(tmp_path, case.replace(" ", "_"), rows), tmp_path / "out"
    assert main(COMMANDS["train-cnn --data"](str(path), str(out))) == 2
    err = capsys.readouterr().err
    assert "line 3: " in err and reason in err and "--drop-bad-rows" in err
    assert not out.exists()


def test_files_smaller_than_the_folds_or_a_batch_stop_before_training(tmp_path, capsys):
    path = _labelled(tmp_path, "three", [("NaCl", 8.5), ("KBr", 7.4), ("LiF", 13.6)])
    out = tmp_path / "cnn"
    assert main([*COMMANDS["train-cnn --data"](str(path), str(out)), "--folds", "5"]) == 2
    assert "too few for 5 fold(s)" in capsys.readouterr().err and not out.exists()
    formulas = _file(tmp_path, "fractional")
    formulas.write_text("formula\n" + "\n".join(VALID) + "\n")
    out = tmp_path / "gan"
    assert main([*COMMANDS["train-gan --data"](str(formulas), str(out)), "--batch-size", "32"]) == 2
    assert "fewer than one batch of 32" in capsys.readouterr().err and not out.exists()
