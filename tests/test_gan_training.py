"""MatGAN training: the CLI, checkpoints and resume, MirroredStrategy, and real learning."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from conftest import REFERENCE, ROOT, need
from tfmat.chemistry import THESIS, check
from tfmat.cli import main
from tfmat.composition import decode, decode_counts
from tfmat.data import gan_pipeline, load_gan_dataset
from tfmat.gan.config import GanConfig
from tfmat.gan.matgan import build_matgan

QUICK = ["--limit", "256", "--batch-size", "64", "--progress", "0"]


def _run(*args, timeout=300):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_train_writes_checkpoint_config_metrics_and_logs(tmp_path):
    out = tmp_path / "run"
    assert main(["train-gan", "MP", *QUICK, "--epochs", "2", "--out", str(out), "--g-lr", "2e-3"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["dataset"] == "MP" and cfg["g_lr"] == 2e-3 and cfg["d_lr"] == 1e-2 and cfg["batch_size"] == 64
    assert json.loads((out / "run.json").read_text())["config"]["training_formulas"] == 256
    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics.epoch.tolist() == [0, 1]
    assert {"d_loss", "g_loss", "gp", "wasserstein", "decoded", "unique", "cn_en", "distinct",
            "distinct_cn_en", "arity_tv", "element_tv", "score", "seconds"} <= set(metrics.columns)
    assert metrics[["arity_tv", "element_tv"]].stack().between(0, 1).all()
    assert np.isfinite(metrics.drop(columns="epoch").to_numpy()).all() and (metrics.seconds > 0).all()
    assert (out / "generator.keras").is_file() and (out / "generator_last.keras").is_file()
    assert any((out / "logs").iterdir())
    best = json.loads((out / "generator.keras.json").read_text())
    assert best["score"] == metrics.score.max() and best["epoch"] in (0, 1)
    # rerunning a finished run does no more work; a larger --epochs extends it
    assert main(["train-gan", "MP", *QUICK, "--epochs", "3", "--out", str(out), "--g-lr", "2e-3"]) == 0
    assert pd.read_csv(out / "metrics.csv").epoch.tolist() == [0, 1, 2]
    # the backup holds the optimizers' state: changing a learning rate cannot resume silently
    assert main(["train-gan", "MP", *QUICK, "--epochs", "4", "--out", str(out)]) == 2


def test_the_kept_generator_is_the_best_scoring_epoch(tmp_path):
    """Selection scores fixed-noise samples: rescoring the kept generator gives its recorded figures."""
    from tfmat.gan.sampling import load_generator, sample_quality

    out = tmp_path / "run"
    assert main(["train-gan", "MP", "--limit", "3200", "--batch-size", "64", "--epochs", "3", "--out", str(out),
                 "--g-lr", "2e-3", "--d-lr", "2e-3", "--select-samples", "3000", "--progress", "0"]) == 0
    metrics = pd.read_csv(out / "metrics.csv")
    best = json.loads((out / "generator.keras.json").read_text())
    assert best["epoch"] == int(metrics.score.idxmax()) and best["distinct"] > 0
    # the score is the distinct share less both mix distances, less 4 outside 5 points of the training CN+EN share
    reference = check(load_gan_dataset("MP").train().counts[:3200], THESIS).shares()["en"]
    inside = (metrics.cn_en - reference).abs() <= 0.05
    assert np.allclose(metrics.score, metrics.distinct - metrics.arity_tv - metrics.element_tv
                       - np.where(inside, 0.0, 4.0))
    again = sample_quality(load_generator(out), 3000, seed=0).figures()
    assert again == pytest.approx({k: best[k] for k in again}, abs=2e-3)
    last = sample_quality(load_generator(out / "generator_last.keras"), 3000, seed=0).figures()
    assert last["distinct"] == pytest.approx(metrics.distinct.iloc[-1], abs=2e-3)


def test_selection_prefers_the_training_mix_over_more_distinct_many_element_formulas():
    """An epoch that is more distinct per sample but far from the training arity mix ranks below one
    close to it; any epoch outside the CN+EN gap ranks below every epoch inside."""
    from tfmat.gan.run import selection_score

    skewed = {"distinct": 0.95, "arity_tv": 0.40, "element_tv": 0.15, "cn_en": 0.60}
    matched = {"distinct": 0.80, "arity_tv": 0.05, "element_tv": 0.05, "cn_en": 0.60}
    assert selection_score(matched, 0.62) > selection_score(skewed, 0.62)
    worst_inside = {"distinct": 0.0, "arity_tv": 1.0, "element_tv": 1.0, "cn_en": 0.62}
    best_outside = {"distinct": 1.0, "arity_tv": 0.0, "element_tv": 0.0, "cn_en": 0.70}
    assert selection_score(worst_inside, 0.62) > selection_score(best_outside, 0.62)


def test_jit_compile_trains_through_the_training_loop(tmp_path):
    # XLA compiles the step, not the read of the next batch (which XLA cannot compile)
    out = tmp_path / "xla"
    assert main(["train-gan", "MP", *QUICK, "--epochs", "1", "--jit-compile", "--out", str(out)]) == 0
    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics.epoch.tolist() == [0] and np.isfinite(metrics[["d_loss", "g_loss"]].to_numpy()).all()


def test_a_run_without_backup_is_kept_unless_overwrite(tmp_path, capsys):
    """A finished run whose backup is gone (as a shipped one) is refused, then replaced with --overwrite,
    never appended to."""
    import shutil

    out = tmp_path / "run"
    assert main(["train-gan", "MP", *QUICK, "--epochs", "2", "--out", str(out)]) == 0
    shutil.rmtree(out / "backup")
    before = (out / "generator.keras").read_bytes()
    assert main(["train-gan", "MP", *QUICK, "--epochs", "1", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "generator.keras").read_bytes() == before
    assert main(["train-gan", "MP", *QUICK, "--epochs", "1", "--out", str(out), "--overwrite"]) == 0
    assert pd.read_csv(out / "metrics.csv").epoch.tolist() == [0]
    assert json.loads((out / "generator.keras.json").read_text())["epoch"] == 0


def test_a_rerun_with_other_data_or_settings_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train-gan", "MP", *QUICK, "--epochs", "1", "--out", str(out)]) == 0
    assert main(["train-gan", "MP", *QUICK, "--epochs", "2", "--out", str(out), "--architecture", "signal"]) == 2
    assert "different architecture" in capsys.readouterr().err
    # other training formulas (another --limit), another seed: another run, refused before any training
    assert main(["train-gan", "MP", *QUICK, "--limit", "320", "--epochs", "2", "--out", str(out)]) == 2
    assert "different data_sha256" in capsys.readouterr().err
    assert main(["train-gan", "MP", *QUICK, "--epochs", "2", "--out", str(out), "--seed", "3"]) == 2
    assert "different seed" in capsys.readouterr().err
    assert pd.read_csv(out / "metrics.csv").epoch.tolist() == [0]


def test_icsd_without_data_exits_2_with_guidance(capsys):
    assert main(["train-gan", "ICSD", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "licensed" in err and "--data" in err


@pytest.mark.shared
def test_icsd_from_a_user_file(tmp_path):
    src = need(REFERENCE / "thesis" / "ICSD" / "train_formula.csv")
    out = tmp_path / "icsd"
    assert main(["train-gan", "ICSD", "--data", str(src), *QUICK, "--epochs", "1", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["architecture"] == "mp"
    assert (out / "generator.keras").is_file()


def test_bad_flags_exit_2(tmp_path):
    assert main(["train-gan", "MP", "--epochs", "0", "--out", str(tmp_path)]) == 2
    assert main(["train-gan", "MP", "--limit", "10", "--out", str(tmp_path)]) == 2  # fewer than one batch


KILLED = {
    "MP": ["MP", "--limit", "768", "--batch-size", "64"],
    "CCCGAN": ["CCCGAN", "--limit", "192", "--width", "8", "--latent-dim", "16", "--critic-steps", "1",
               "--select-samples", "16"],
}


@pytest.mark.parametrize("model", [pytest.param("MP"), pytest.param("CCCGAN", marks=pytest.mark.shared)])
def test_killed_run_resumes_at_its_last_backup_and_ends_as_an_uninterrupted_one(tmp_path, model):
    """Killed (SIGKILL) after a mid-epoch backup of the second epoch, a rerun resumes at that batch; for
    MatGAN-MP the final state then equals an uninterrupted run's (``--deterministic``, same seed)."""
    out = tmp_path / "run"
    data = ["--data", str(need(REFERENCE / "crystal" / "mgmno_unique_sc.npy"))] if model == "CCCGAN" else []
    cmd = ["train_gan.py", *KILLED[model], *data, "--epochs", "3", "--out", str(out), "--backup-every", "4",
           "--progress", "0", "--deterministic"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen([sys.executable, *cmd], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    meta = out / "backup" / "training_metadata.json"
    deadline = time.time() + 240
    try:
        while time.time() < deadline:  # wait for a mid-epoch backup in the second epoch
            if meta.is_file():
                try:
                    state = json.loads(meta.read_text())
                except ValueError:
                    state = {}
                if state.get("epoch") == 1 and state.get("batch", 0) > 0:
                    break
            assert proc.poll() is None, "training ended before it could be interrupted"
            time.sleep(0.2)
        else:
            pytest.fail("no mid-epoch backup appeared")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert pd.read_csv(out / "metrics.csv").epoch.tolist() == [0]
    at = json.loads(meta.read_text())
    rerun = _run(*cmd)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "epochs 1→3" in rerun.stderr and f"at epoch 2, batch {at['batch']}" in rerun.stderr
    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics.epoch.tolist() == [0, 1, 2]
    if model != "MP":
        return
    # the resumed run ends where an uninterrupted one does: weights, optimizers, noise state and losses
    whole = tmp_path / "whole"
    straight = _run(*[str(whole) if a == str(out) else a for a in cmd])
    assert straight.returncode == 0, straight.stderr[-2000:]
    from test_cnn import _h5_arrays

    a, b = _h5_arrays(whole / "backup" / "latest.weights.h5"), _h5_arrays(out / "backup" / "latest.weights.h5")
    assert a.keys() == b.keys() and len(a) > 20
    for name in a:
        np.testing.assert_allclose(b[name], a[name], atol=1e-6, err_msg=name)
    with np.load(whole / "backup" / "state.npz") as x, np.load(out / "backup" / "state.npz") as y:
        assert x.files == y.files and all(np.array_equal(x[k], y[k]) for k in x.files)
    losses = ["d_loss", "g_loss", "gp", "wasserstein"]
    np.testing.assert_allclose(metrics[losses], pd.read_csv(whole / "metrics.csv")[losses], rtol=1e-5, atol=1e-6)


MIRRORED = r"""
import sys, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tfmat.gan.config import GanConfig
from tfmat.gan.matgan import build_matgan
from tfmat.distribute import select_strategy
strategy = select_strategy("mirrored")
assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
with strategy.scope():
    gan = build_matgan(GanConfig())
a, b = strategy.experimental_local_results(strategy.run(tf.function(lambda: gan.noise('generator', 4))))
assert not (a.numpy() == b.numpy()).all(), "replicas drew the same noise"
from tfmat.cli import main
sys.exit(main(["train-gan", "MP", "--limit", "256", "--batch-size", "64", "--epochs", "2", "--out", sys.argv[1],
               "--strategy", "mirrored", "--select-samples", "1000", "--progress", "0"]))
"""


def test_training_under_mirrored_strategy_on_two_logical_cpus(tmp_path):
    out = tmp_path / "mirrored"
    proc = _run("-c", MIRRORED, str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 replica(s)" in proc.stderr
    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics.epoch.tolist() == [0, 1] and np.isfinite(metrics.d_loss).all()
    assert json.loads((out / "run.json").read_text())["config"]["replicas"] == 2


def _presence_distance(generator, reference_rate, n=2000):
    x = generator(tf.random.stateless_normal((n, 128), seed=[7, 7]), training=False).numpy()
    present = (decode_counts(x) > 0).mean(axis=0)
    return float(np.abs(present - reference_rate).sum()), len(decode(x).formulas) / n


def test_short_training_moves_samples_towards_the_data():
    """Element occurrence rates of the samples approach the training set's, and samples start to decode."""
    counts = load_gan_dataset("MP").train().counts[:4096]
    reference = (counts > 0).mean(axis=0)
    gan = build_matgan(GanConfig(batch_size=64, g_lr=2e-3, d_lr=2e-3, seed=0))
    untrained = _presence_distance(gan.generator, reference)
    ds = gan_pipeline(counts, 64, seed=0)
    gan.fit(ds.take(50), epochs=1, verbose=0, shuffle=False)
    trained = []
    for _ in range(4):  # early WGAN training oscillates: judge the average of four snapshots
        gan.fit(ds.take(25), epochs=1, verbose=0, shuffle=False)
        trained.append(_presence_distance(gan.generator, reference))
    distance = np.mean([d for d, _ in trained])
    decoded = np.mean([s for _, s in trained])
    assert untrained[1] == 0.0 and untrained[0] > 50  # untrained: ~every element above threshold
    assert distance < 0.25 * untrained[0], (untrained, trained)
    assert decoded > 0.3, (untrained, trained)


def test_epoch_log_widens_its_csv_for_a_figure_that_appears_later(tmp_path):
    from tfmat.training import EpochLog

    log = EpochLog(tmp_path / "metrics.csv", tmp_path / "logs")
    for epoch, logs in enumerate([{"loss": 1.0}, {"loss": 0.5, "score": 0.2}, {"loss": 0.25}]):
        log.on_epoch_begin(epoch)
        log.on_epoch_end(epoch, dict(logs))
    log.on_train_end()
    table = pd.read_csv(tmp_path / "metrics.csv")
    assert list(table.columns) == ["epoch", "loss", "seconds", "score"]
    assert table["loss"].tolist() == [1.0, 0.5, 0.25] and table["epoch"].tolist() == [0, 1, 2]
    assert table["score"].isna().tolist() == [True, False, True] and table["score"][1] == 0.2
