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


def test_matgan_flags_reach_the_config():
    """The MatGAN settings with their own flags land in the run's config; unset ones keep the DB's values."""
    import argparse

    from tfmat.cli import gan
    from tfmat.errors import UsageError

    parser = argparse.ArgumentParser()
    gan.register(parser.add_subparsers())
    cfg = gan.config_from_args(parser.parse_args(["train-gan", "MP", "--decoded-critic", "--critic-presence",
                                                  "--architecture", "mp_code", "--critic-norm", "batch",
                                                  "--generator-output", "softmax", "--sharpness", "0.5"]))
    assert (cfg.decoded_critic, cfg.critic_presence, cfg.architecture, cfg.critic_norm) == (True, True, "mp_code",
                                                                                           "batch")
    assert (cfg.generator_output, cfg.sharpness) == ("softmax", 0.5)
    plain = gan.config_from_args(parser.parse_args(["train-gan", "OQMD"]))
    assert (plain.decoded_critic, plain.critic_presence, plain.architecture, plain.batch_size) == (False, False,
                                                                                                  "oqmd", 512)
    assert (plain.generator_output, plain.sharpness) == ("sigmoid", 0.0)
    onehot = gan.config_from_args(parser.parse_args(["train-gan", "MP", "--generator-output", "onehot",
                                                     "--arity-condition"]))
    assert (onehot.generator_output, onehot.arity_condition, plain.arity_condition) == ("onehot", True, False)
    with pytest.raises(UsageError, match="--sharpness"):
        gan.config_from_args(parser.parse_args(["train-gan", "MP", "--sharpness", "-1"]))
    with pytest.raises(UsageError, match="needs --arity-condition"):
        gan.config_from_args(parser.parse_args(["train-gan", "MP", "--generator-output", "exact_arity_soft"]))
