"""What a newcomer meets first: the README's training examples leave the shipped models alone, a wheel
installs and runs anywhere, the commands are quiet, the bare-clone test policy holds, and big objects
print short."""
import hashlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import venv
from pathlib import Path

import pandas as pd
import pytest

from tfmat.cli import main

from conftest import ROOT

TF_LOG_LINE = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages before absl)|cuInit|cudart_stub", re.M)


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def readme_training_examples() -> list[list[str]]:
    """Every training command line in the README's code blocks, as argv for ``tfmat.cli.main``; the
    multi-worker example needs a cluster and has its own test (test_multiworker.py), the CCCGAN and
    CrystalGAN ones the reference structures (test_cccgan.py, test_crystalgan.py)."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"^    (python train_gan\.py .*|python train_cnn\.py .*|tfmat train-\w+.*)$", text, re.M)
    wrappers = {"train_gan.py": "train-gan", "train_cnn.py": "train-cnn"}
    commands = []
    for line in blocks:
        argv = shlex.split(line.split("#")[0])
        argv = [wrappers[argv[1]], *argv[2:]] if argv[0] == "python" else argv[1:]
        if "multiworker" not in argv and "CCCGAN" not in argv and "CrystalGAN" not in argv:
            commands.append(argv)
    return commands


SHORTENED = {  # appended to each example (argparse keeps the last value of a repeated flag)
    "train-gan": ["--epochs", "1", "--limit", "64", "--batch-size", "32", "--select-samples", "100",
                  "--progress", "0"],
    "train-cnn": ["--data", "small.csv", "--epochs", "1", "--folds", "3"],
    "train-ae": ["--limit", "64", "--test-limit", "32", "--batch-size", "32", "--epochs", "1", "--progress", "0"],
}


def test_readme_training_examples_leave_check_point_byte_identical(tmp_path, monkeypatch):
    """Run from a directory whose check_point/ is the repository's own (a link), so a default writing to
    ``check_point/...`` would land in the shipped models."""
    examples = readme_training_examples()
    assert {e[0] for e in examples} == set(SHORTENED), examples
    before = tree_digest(ROOT / "check_point")
    (tmp_path / "check_point").symlink_to(ROOT / "check_point")
    embedded = pd.read_csv(ROOT / "data" / "mp_band_gap.csv.gz", keep_default_na=False)
    embedded.sample(300, random_state=0).to_csv(tmp_path / "small.csv", index=False)
    from tfmat.data import load_gan_dataset
    (tmp_path / "my_icsd_formulas.csv").write_text(  # a formula list the 85 × 8 matrix holds, as the ICSD's
        "formula\n" + "\n".join(load_gan_dataset("MP").formulas[:200]) + "\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TFMAT_RUNS", raising=False)
    for argv in examples:
        assert main([*argv, *SHORTENED[argv[0]]]) == 0, argv
    assert tree_digest(ROOT / "check_point") == before
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["autoencoder", "cnn", "iMatGAN"]


def test_promote_is_the_way_into_check_point(tmp_path, capsys):
    run, dest = tmp_path / "runs" / "gan", tmp_path / "check_point" / "iMatGAN" / "MP"
    assert main(["train-gan", "MP", "--epochs", "1", "--limit", "64", "--select-samples", "100",
                 "--progress", "0", "--out", str(run)]) == 0
    assert main(["promote", str(run), str(dest)]) == 0
    shipped = {p.name for p in dest.iterdir()}
    assert shipped == {"generator.keras", "generator.keras.json", "generator_last.keras", "config.json", "run.json",
                       "metrics.csv", "logs", "MODEL_CARD.md"}
    assert (dest / "generator.keras").read_bytes() == (run / "generator.keras").read_bytes()
    card = (dest / "MODEL_CARD.md").read_text()
    command = json.loads((run / "run.json").read_text())["command"]
    assert f"trained by: `{command}`" in card and "Materials Project" in card and "selected epoch: 1" in card
    before = tree_digest(dest)
    assert main(["promote", str(run), str(dest)]) == 2  # an existing model is kept ...
    assert "--overwrite" in capsys.readouterr().err and tree_digest(dest) == before
    assert main(["promote", str(run), str(dest), "--overwrite"]) == 0  # ... unless asked
    assert not list(dest.parent.glob(".*"))  # no temporary sibling left behind
    assert main(["promote", str(tmp_path / "runs"), str(tmp_path / "x")]) == 2  # not a run


def test_shipped_cnn_run_folders_resolve(tmp_path):
    from tfmat.cnn import resolve_model
    from tfmat.paths import CHECKPOINTS

    assert resolve_model("MP_band_gap") == CHECKPOINTS / "CNN" / "MP_band_gap"
    (tmp_path / "model").symlink_to(CHECKPOINTS / "CNN" / "MP_band_gap")
    assert resolve_model(tmp_path) == tmp_path / "model"  # a train-cnn run folder


def test_wheel_installs_and_runs_from_anywhere(tmp_path):
    """Build the wheel, install it (no downloads) into a fresh venv, and run it from a temporary directory."""
    wheels = tmp_path / "wheels"
    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if files.returncode == 0:
        for name in files.stdout.splitlines():
            if (ROOT / name).is_file():
                (src / name).parent.mkdir(parents=True, exist_ok=True)
                (src / name).write_bytes((ROOT / name).read_bytes())
    else:  # not a git checkout: the packaging inputs only
        import shutil
        for name in ("setup.cfg", "pyproject.toml", "README.md", "tfmat", "data", "check_point"):
            (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, src / name)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-q", "-w", str(wheels), str(src)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("tfmat-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFMAT_") and k != "PYTHONPATH"}
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                              "--no-index", "-q", str(wheel)], capture_output=True, text=True, env=env)
    assert install.returncode == 0, install.stderr[-2000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([str(python), "-c", "import tfmat, tfmat.paths as p; print(tfmat.__file__); "
                            "print(p.DATA); print(p.CHECKPOINTS); import importlib.util as u; "
                            "print(u.find_spec('function'))"], cwd=work, capture_output=True, text=True, env=env)
    assert where.returncode == 0, where.stderr[-2000:]
    module, data, checkpoints, function = where.stdout.split("\n")[:4]
    assert Path(module).is_relative_to(env_dir) and Path(data).is_relative_to(env_dir)
    assert Path(checkpoints).is_relative_to(env_dir) and function == "None"  # no top-level 'function' package
    tfmat = str(env_dir / "bin" / "tfmat")
    screen = subprocess.run([tfmat, "screen", "-n", "1000", "-o", "out"], cwd=work, capture_output=True, text=True,
                            env=env)
    assert screen.returncode == 0, screen.stderr[-3000:]
    assert len(pd.read_csv(work / "out" / "candidates.csv")) > 0
    assert not TF_LOG_LINE.search(screen.stderr), TF_LOG_LINE.findall(screen.stderr)
    predict = subprocess.run([tfmat, "predict", "--model", "MP_band_gap", "GaAs", "NaCl", "Fe2O3"], cwd=work,
                             capture_output=True, text=True, env=env)
    assert predict.returncode == 0, predict.stderr[-2000:]
    assert pd.read_csv(io.StringIO(predict.stdout)).formula.tolist() == ["GaAs", "NaCl", "Fe2O3"]


def test_screen_is_quiet_and_verbose_brings_tensorflow_logs_back(tmp_path):
    env = {**os.environ}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    quiet = subprocess.run([sys.executable, str(ROOT / "screen.py"), "-n", "20000", "-o", str(tmp_path / "q")],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert not TF_LOG_LINE.search(quiet.stderr), TF_LOG_LINE.findall(quiet.stderr)
    assert re.search(r"generate: 100%.*sample/s", quiet.stderr)  # a progress bar with its rate
    loud = subprocess.run([sys.executable, "-m", "tfmat", "predict", "--verbose", "--model", "MP_band_gap", "NaCl"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert loud.returncode == 0 and TF_LOG_LINE.search(loud.stderr)


def test_bare_clone_policy(tmp_path):
    """Without ../shared a marked test skips and names the missing path; TFMAT_REQUIRE_SHARED=1 fails it."""
    base = {**os.environ, "TFMAT_SHARED": str(tmp_path / "nowhere")}
    base.pop("TFMAT_REQUIRE_SHARED", None)
    test = "tests/test_data.py::test_icsd_reference_list"
    bare = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", test], cwd=ROOT,
                          capture_output=True, text=True, env=base)
    assert bare.returncode == 0 and "1 skipped" in bare.stdout and str(tmp_path / "nowhere") in bare.stdout
    strict = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test], cwd=ROOT,
                            capture_output=True, text=True, env={**base, "TFMAT_REQUIRE_SHARED": "1"})
    assert strict.returncode == 1 and "TFMAT_REQUIRE_SHARED=1" in strict.stdout


def test_large_objects_print_short():
    from tfmat.chemistry import check_formulas
    from tfmat.composition import decode, encode_formulas, parse_formulas
    from tfmat.data import load_gan_dataset

    mp = load_gan_dataset("MP")
    enc = encode_formulas(mp.formulas)
    objects = [mp, enc, parse_formulas(mp.formulas), parse_formulas(mp.formulas).compositions,
               decode(enc.onehot()[:20000]), check_formulas(mp.formulas[:20000])]
    assert repr(mp) == "FormulaSet('MP', 65,320 formulas: 58,788 train, 6,532 leave-out)"
    assert all(len(repr(o)) < 100 for o in objects), [repr(o)[:200] for o in objects]


def test_setup_cfg_lists_every_package():
    from setuptools import find_packages

    listed = re.search(r"^packages =\n((?:    .*\n)+)", (ROOT / "setup.cfg").read_text(), re.M).group(1).split()
    found = find_packages(str(ROOT), include=["tfmat", "tfmat.*"])
    assert set(listed) == set(found) | {"tfmat.shipped.data", "tfmat.shipped.check_point"}
