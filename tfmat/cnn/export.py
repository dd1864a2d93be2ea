"""SavedModel export for serving without tfmat.

The serving signature takes per-element amounts, not formula strings:
``amounts`` is a float32 (batch, 118) tensor whose column ``z - 1`` holds the
amount of element ``z`` (any scale: "Fe2O3" and "Fe0.4O0.6" give the same
prediction). Parsing formula text in-graph would need a second
implementation of the formula grammar (parentheses, hydrates, fractional
amounts) in string ops; a client turns a formula into 118 numbers with a few
lines of code in any language, and the Magpie statistics and the network run
in-graph. Outputs: ``prediction`` (batch,) and ``uncertainty`` (batch,), the
mean and standard deviation over the fold models, as :class:`Predictor`
reports them (non-negative properties clipped at 0, the spread calibrated).
"""
from __future__ import annotations

import json
from pathlib import Path

from ..elements import N_Z, PERIODIC_TABLE
from ..io import write_json
from .predict import Predictor


def serving_model(predictor: Predictor):
    """Keras model: amounts (batch, 118) → {"prediction", "uncertainty"}."""
    import keras

    from ..features import MagpieLayer

    amounts = keras.Input((N_Z,), name="amounts")
    positive = keras.ops.relu(amounts)
    fractions = positive / keras.ops.sum(positive, axis=1, keepdims=True)
    each = predictor.ensemble([MagpieLayer(name="magpie")(amounts), fractions])
    if predictor.non_negative:
        each = keras.ops.maximum(each, 0.0)
    mean = keras.ops.mean(each, axis=1)
    std = keras.ops.std(each, axis=1)
    cal = predictor.calibration
    if cal is not None:
        std = std * cal["scale"] if cal["scale"] is not None else keras.ops.zeros_like(std) + cal["constant"]
    return keras.Model(amounts, {"prediction": mean, "uncertainty": std}, name="tfmat_cnn_serving")


def export_model(model_dir: str | Path, out: str | Path) -> Path:
    """Write a SavedModel with a ``serve`` signature (see module docstring) to ``out``, built in a
    temporary sibling and renamed into place (a failed export leaves what was there)."""
    import tensorflow as tf

    from ..io import atomic_dir

    predictor = Predictor(model_dir)
    model = serving_model(predictor)
    with atomic_dir(out) as tmp:
        model.export(str(tmp), format="tf_saved_model", verbose=False,
                     input_signature=[tf.TensorSpec((None, N_Z), tf.float32, name="amounts")])
        _describe(tmp, predictor)
    return Path(out)


def _describe(out: Path, predictor) -> None:
    write_json(out / "tfmat_serving.json", {
        "signature": "serve",
        "input": {"amounts": f"float32 (batch, {N_Z}); column z-1 = amount of element z"},
        "columns": list(PERIODIC_TABLE),
        "outputs": {"prediction": predictor.unit, "uncertainty": predictor.unit},
        "attribute": predictor.attribute,
        "source_model": json.loads((predictor.model_dir / "config.json").read_text())["config"],
    })
