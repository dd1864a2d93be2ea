"""MatGAN trains under MultiWorkerMirroredStrategy: two worker processes on localhost (CPU, free ports)."""
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pandas as pd

from conftest import ROOT


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_matgan_and_hold_the_same_weights(tmp_path):
    import keras

    out = tmp_path / "run"
    cluster = {"worker": [f"localhost:{p}" for p in free_ports(2)]}
    cmd = [sys.executable, "train_gan.py", "MP", "--strategy", "multiworker", "--limit", "256", "--batch-size", "64",
           "--epochs", "2", "--select-samples", "500", "--progress", "0", "--out", str(out)]
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    try:
        results = [p.communicate(timeout=600) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (_, err) in zip(procs, results):
        assert p.returncode == 0, err[-3000:]
        assert "2 replica(s)" in err
    # the chief writes the run directory, worker 1 its own copy under workers/1
    worker = out / "workers" / "1"
    for run in (out, worker):
        assert pd.read_csv(run / "metrics.csv").epoch.tolist() == [0, 1]
        assert json.loads((run / "run.json").read_text())["config"]["replicas"] == 2
    assert pd.read_csv(out / "metrics.csv").equals(pd.read_csv(worker / "metrics.csv").assign(
        seconds=pd.read_csv(out / "metrics.csv").seconds))
    chief_g = keras.models.load_model(out / "generator_last.keras", compile=False)
    worker_g = keras.models.load_model(worker / "generator_last.keras", compile=False)
    for a, b in zip(chief_g.get_weights(), worker_g.get_weights()):
        np.testing.assert_array_equal(a, b)
    # and training moved them: 8 steps of one generator, not its initial weights
    keras.utils.set_random_seed(0)
    from tfmat.gan.matgan import build_generator
    initial = build_generator("mp")
    assert not np.allclose(initial.get_weights()[0], chief_g.get_weights()[0])
