"""Where training runs: ``tf.distribute`` strategies, and a driver for the multi-worker one.

Strategies by name (:data:`STRATEGIES`):

* ``auto`` — MirroredStrategy over the GPUs when more than one is visible, else the default strategy;
* ``default`` — one device;
* ``mirrored`` — MirroredStrategy over all GPUs, or over all logical CPU devices when there is no GPU;
* ``multiworker`` — MultiWorkerMirroredStrategy over the cluster that ``TF_CONFIG`` describes.

Keras 3.15's ``fit()`` fails under MultiWorkerMirroredStrategy on TF 2.21
(its reduction of the per-replica logs raises "Invalid reduction dimension 0").
:func:`fit` therefore drives the model's own ``train_step`` with
``strategy.run`` in a ``tf.function`` there, calling the same callbacks at
the same points as ``fit()``; everywhere else it is ``model.fit``.
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


def is_multiworker(strategy) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def fit(model, dataset, epochs: int, callbacks=(), verbose: int = 0, strategy=None):
    """Train ``model`` on ``dataset`` for ``epochs`` with ``callbacks``; returns the History.

    ``model.fit`` unless ``strategy`` is multi-worker; then the loop below.
    """
    if strategy is None or not is_multiworker(strategy):
        return model.fit(dataset, epochs=epochs, callbacks=list(callbacks), verbose=verbose, shuffle=False)
    return _fit_multiworker(model, dataset, epochs, list(callbacks), verbose, strategy)


def _fit_multiworker(model, dataset, epochs, callbacks, verbose, strategy):
    import keras
    import tensorflow as tf

    batches = strategy.experimental_distribute_dataset(dataset)

    @tf.function
    def step(batch):
        strategy.run(model.train_step, args=(batch,))
        return {m.name: m.result() for m in model.metrics}

    steps = int(dataset.cardinality()) if int(dataset.cardinality()) > 0 else None
    listed = keras.callbacks.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, verbose=verbose,
                                          epochs=epochs, steps=steps, model=model)
    model.stop_training = False
    listed.on_train_begin()
    logs = {}
    # BackupAndRestore's on_train_begin sets the epoch a resumed run starts at, as fit() reads it
    for epoch in range(getattr(model, "_initial_epoch", None) or 0, epochs):
        model.reset_metrics()
        listed.on_epoch_begin(epoch)
        for i, batch in enumerate(batches):
            listed.on_train_batch_begin(i)
            logs = step(batch)
            listed.on_train_batch_end(i, logs)
            if model.stop_training:
                break
        logs = {k: float(v) for k, v in logs.items()}
        listed.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    listed.on_train_end(logs)
    return model.history
