"""Where training runs: the ``tf.distribute`` strategies (the loop that runs on them is :func:`tfmat.training.fit`).

Strategies by name (:data:`STRATEGIES`):

* ``auto`` — MirroredStrategy over the GPUs when more than one is visible, else the default strategy;
* ``default`` — one device;
* ``mirrored`` — MirroredStrategy over all GPUs, or over all logical CPU devices when there is no GPU;
* ``multiworker`` — MultiWorkerMirroredStrategy over the cluster that ``TF_CONFIG`` describes.

(Keras 3.15's own ``Model.fit`` fails under MultiWorkerMirroredStrategy on
TF 2.21: its reduction of the per-replica logs raises "Invalid reduction
dimension 0". The project's loop reads the metrics instead.)
"""
from __future__ import annotations

import json
import os

STRATEGIES = ("auto", "default", "mirrored", "multiworker")


def select_strategy(name: str = "auto"):
    """The ``tf.distribute`` strategy called ``name`` (see the module docstring)."""
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--strategy multiworker needs TF_CONFIG to describe the cluster (see the README)")
        # gradients travel in packs of up to 32 MiB: one collective per pack instead of one per variable
        packing = tf.distribute.experimental.CommunicationOptions(bytes_per_pack=32 << 20)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=packing)
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    return tf.distribute.get_strategy()


def worker() -> tuple[int, bool]:
    """(this worker's index in ``TF_CONFIG``, whether it is the chief); (0, True) outside a cluster.

    The chief is worker 0, or the task of type ``chief`` when the cluster names one.
    """
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task", {})
    kind, index = task.get("type", "worker"), int(task.get("index", 0))
    has_chief = bool(config.get("cluster", {}).get("chief"))
    return index, kind == "chief" or (kind == "worker" and index == 0 and not has_chief)
