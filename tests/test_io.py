"""Durable outputs: the one atomic writer (:mod:`tfmat.io`) and the one keep-best callback."""
import json
import re

import keras
import numpy as np
import pytest

from conftest import ROOT
from tfmat.io import atomic_dir, atomic_path, save_atomically
from tfmat.training import Backup, KeepBest


def test_atomic_path_replaces_on_success_and_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "deep" / "model.weights.h5"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.endswith(".model.weights.h5") and tmp != target
        tmp.write_text("new")
    assert target.read_text() == "new"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "new" and sorted(p.name for p in target.parent.iterdir()) == ["model.weights.h5"]


def test_atomic_dir_swaps_whole_directories(tmp_path):
    out = tmp_path / "screen"
    with atomic_dir(out) as tmp:
        (tmp / "a.csv").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as tmp:
            (tmp / "b.csv").write_text("2")
            raise RuntimeError("killed")
    assert [p.name for p in out.iterdir()] == ["a.csv"]  # the old directory is untouched
    with atomic_dir(out) as tmp:
        (tmp / "c.csv").write_text("3")
    assert [p.name for p in out.iterdir()] == ["c.csv"]  # replaced, not merged
    assert [p.name for p in tmp_path.iterdir()] == ["screen"]  # no temporary left beside it


def test_save_atomically_satisfies_keras_suffix_checks(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    save_atomically(tmp_path / "m.keras", model.save)
    save_atomically(tmp_path / "m.weights.h5", model.save_weights)
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "m.keras").get_weights()[0],
                                  model.get_weights()[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras", "m.weights.h5"]


def test_the_package_renames_files_only_in_tfmat_io():
    renames = re.compile(r"os\.replace\(|os\.rename\(|\.rename\((?!columns=)|\.replace\(tmp|shutil\.move\(")  # not pandas
    found = [f"{p.relative_to(ROOT)}:{i}" for p in (ROOT / "tfmat").rglob("*.py") if p.name != "io.py"
             for i, line in enumerate(p.read_text().splitlines(), 1) if renames.search(line)]
    assert found == []


def _fit_with(callback, targets, epochs):
    """A linear model fit to ``targets[epoch]`` each epoch, so the test decides which epoch is best."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    x = np.ones((8, 1), np.float32)

    class Score(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["score"] = -abs(float(model.get_weights()[0][0, 0]) - 2.0)

    for epoch in range(epochs):
        model.fit(x, np.full((8, 1), targets[epoch], np.float32), epochs=epoch + 1, initial_epoch=epoch,
                  verbose=0, callbacks=[Score(), callback])
    return model


def test_keep_best_keeps_the_best_epoch_across_restarts_and_restores_it(tmp_path):
    path = tmp_path / "best.weights.h5"
    # the weight moves towards each epoch's target; the score is closeness to 2: epoch 1 (target 2) wins
    _fit_with(KeepBest(path, "score", weights_only=True), [0.0, 2.0, 8.0], 3)
    state = json.loads((tmp_path / "best.weights.h5.json").read_text())
    assert state["epoch"] == 1
    # a fresh callback (a resumed run) compares against the kept score instead of starting over
    model = _fit_with(KeepBest(path, "score", weights_only=True, restore=True), [9.0, 9.0], 2)
    assert json.loads((tmp_path / "best.weights.h5.json").read_text()) == state
    kept = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    kept.load_weights(path)
    np.testing.assert_array_equal(model.get_weights()[0], kept.get_weights()[0])  # restored at the end


def test_keep_best_adds_measured_figures_to_the_logs(tmp_path):
    logs = {"loss": 1.0}
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    cb = KeepBest(tmp_path / "m.keras", "score", measure=lambda: {"score": 0.5, "other": 3})
    cb.set_model(model)
    cb.on_epoch_end(0, logs)
    assert logs == {"loss": 1.0, "score": 0.5, "other": 3.0}
    assert cb.best() == {"epoch": 0, "loss": 1.0, "score": 0.5, "other": 3.0}
    assert (tmp_path / "m.keras").is_file()


def test_a_backup_interrupted_mid_write_leaves_the_previous_backup_whole(tmp_path):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer="sgd", loss="mse")
    model.set_weights([np.full((1, 1), 3.0, np.float32)])
    backup = Backup(tmp_path)
    backup.set_model(model)
    backup.on_epoch_end(0)
    saved = sorted(p.name for p in tmp_path.iterdir())

    def dies_mid_write(path, overwrite=True):  # a process killed half-way through writing its weights
        with open(path, "wb") as f:
            f.write(b"\x89HDF\r\n")
        raise KeyboardInterrupt

    model.set_weights([np.full((1, 1), 5.0, np.float32)])
    model.save_weights = dies_mid_write
    with pytest.raises(KeyboardInterrupt):
        backup.on_epoch_end(1)
    assert sorted(p.name for p in tmp_path.iterdir()) == saved
    resumed = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    resumed.compile(optimizer="sgd", loss="mse")
    restore = Backup(tmp_path)
    restore.set_model(resumed)
    assert restore.restore() == (1, 0)
    assert float(resumed.get_weights()[0][0, 0]) == 3.0


def test_two_screens_into_one_output_one_runs_the_other_is_refused(tmp_path):
    import os
    import subprocess
    import sys

    out = tmp_path / "same"
    cmd = [sys.executable, "-m", "tfmat", "screen", "-n", "20000", "-o", str(out)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    first = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = tmp_path / ".same.lock"
    deadline = __import__("time").time() + 120
    while not lock.exists() and first.poll() is None and __import__("time").time() < deadline:
        __import__("time").sleep(0.05)
    assert lock.read_text() == str(first.pid)
    second = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert second.returncode == 2 and f"pid {first.pid}" in second.stderr and str(lock) in second.stderr
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    import pandas as pd
    assert len(pd.read_csv(out / "candidates.csv")) == summary["counts"]["screened"] > 0  # complete
    assert not lock.exists()


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    from tfmat.io import OutputInUse, output_lock

    (tmp_path / ".out.lock").write_text("999999999")  # no such process
    with output_lock(tmp_path / "out") as lock:
        assert lock.read_text() == str(__import__("os").getpid())
        (tmp_path / ".busy.lock").write_text("1")  # pid 1 is alive
        with pytest.raises(OutputInUse, match="pid 1"):
            with output_lock(tmp_path / "busy"):
                pass
    assert not lock.exists()


@pytest.mark.parametrize("command", [["train-gan", "MP", "--limit", "64", "--batch-size", "64", "--epochs", "1"],
                                     ["train-cnn", "--epochs", "1"]])
def test_a_default_output_is_locked_as_a_given_one_is(tmp_path, monkeypatch, capsys, command):
    """Without --out a training command writes under runs/; another live process holding that path's
    lock makes it exit 2 naming that process, before it writes anything there."""
    import subprocess
    import sys

    import tfmat.cli.cnn
    import tfmat.cli.gan
    from tfmat.cli import main

    for module in (tfmat.cli.gan, tfmat.cli.cnn):
        monkeypatch.setattr(module, "RUNS", tmp_path)
    default = tmp_path / ("iMatGAN/MP" if command[0] == "train-gan" else "cnn/MP_band_gap")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        default.parent.mkdir(parents=True)
        (default.parent / f".{default.name}.lock").write_text(str(other.pid))
        assert main(command) == 2
        assert f"pid {other.pid}" in capsys.readouterr().err and not default.exists()
    finally:
        other.kill()
        other.wait()
