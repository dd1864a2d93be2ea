"""Every command line answers --help, and bad input exits 2 with one sentence."""
import subprocess
import sys

import pytest

from conftest import ROOT


def run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("args", [["train_gan.py", "--help"], ["train_cnn.py", "--help"], ["screen.py", "--help"],
                                  ["-m", "tfmat", "--help"]])
def test_help(args):
    proc = run(*args)
    assert proc.returncode == 0 and "usage:" in proc.stdout


def test_subcommands_listed():
    out = run("-m", "tfmat", "--help").stdout
    for command in ("data", "screen", "train-gan", "generate", "train-cnn", "predict", "export", "evaluate"):
        assert command in out


def test_icsd_without_data_exits_2_with_guidance():
    proc = run("train_gan.py", "ICSD")
    assert proc.returncode == 2 and "--data PATH" in proc.stderr


def test_screen_bad_arguments_exit_2(tmp_path):
    proc = run("screen.py", "--input", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o"))
    assert proc.returncode == 2 and "no such file" in proc.stderr
    proc = run("screen.py", "--gap-min", "3", "-o", str(tmp_path / "o"))
    assert proc.returncode == 2 and "--gap-min" in proc.stderr
