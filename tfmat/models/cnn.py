"""The thesis's screening CNN (table 4.1) on the 22×6 Magpie matrix.

=========================  ==============
layer                      output
=========================  ==============
min–max scaling            (22, 6, 1)
conv 32, 1×6 (row scan)    (22, 1, 32)
conv 32, 1×1               (22, 1, 32)
conv 32, 22×1 (full)       (1, 1, 32)
flatten, FC 32             (32,)
FC 1                       (1,)
=========================  ==============

Each convolution is followed by batch normalisation and ReLU; the hidden
fully connected layer uses ReLU, the output is linear. The scaling layer
holds the per-feature minimum and range fitted on training data, so a saved
model carries its scaler.

Beyond the thesis, ``fraction_units > 0`` adds a second input: the element
fractions (batch, 118) (column z-1), passed through a ReLU layer of that width
and concatenated with the flattened convolution output before the hidden
layer. The Magpie statistics alone cannot tell apart compositions whose
element properties average alike; the fractions can.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers

from ..elements import N_Z
from ..features import SHAPE


@keras.saving.register_keras_serializable(package="tfmat")
class MinMaxScaling(layers.Layer):
    """``(x - min) / range`` per feature, with ``min``/``range`` set by :meth:`adapt`."""

    def __init__(self, shape=SHAPE, **kwargs):
        super().__init__(**kwargs)
        self.feature_shape = tuple(shape)
        self.minimum = self.add_weight(shape=self.feature_shape, initializer="zeros", trainable=False,
                                       name="minimum")
        self.span = self.add_weight(shape=self.feature_shape, initializer="ones", trainable=False, name="span")

    def adapt(self, features: np.ndarray) -> None:
        """Fit to training features (N, *shape); constant features get range 1."""
        lo, hi = np.min(features, axis=0), np.max(features, axis=0)
        span = hi - lo
        self.minimum.assign(lo.astype("float32"))
        self.span.assign(np.where(span > 0, span, 1.0).astype("float32"))

    def call(self, x):
        return (x - self.minimum) / self.span

    def get_config(self):
        return {**super().get_config(), "shape": self.feature_shape}


@keras.saving.register_keras_serializable(package="tfmat")
class MagpieCNN(keras.Model):
    """Table 4.1: (batch, 22, 6) Magpie features → (batch, 1) property.

    With ``fraction_units > 0`` the input is ``(features, fractions)`` and the
    fraction branch joins before the hidden layer (see the module docstring).
    """

    def __init__(self, filters: int = 32, dense: int = 32, fraction_units: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.dense, self.fraction_units = filters, dense, fraction_units
        rows, stats = SHAPE
        self.scaling = MinMaxScaling(SHAPE, name="scaling")
        self.to_image = layers.Reshape((rows, stats, 1), name="to_image")

        def block(kernel, name):
            return [layers.Conv2D(filters, kernel, name=f"{name}_conv"),
                    layers.BatchNormalization(name=f"{name}_bn"),
                    layers.ReLU(name=f"{name}_relu")]

        self.blocks = [block((1, stats), "row_scan"), block((1, 1), "pointwise"), block((rows, 1), "full")]
        self.flatten = layers.Flatten(name="flatten")
        self.fractions = layers.Dense(fraction_units, activation="relu", name="fractions") if fraction_units else None
        self.hidden = layers.Dense(dense, activation="relu", name="fc")
        self.out = layers.Dense(1, name="output")

    def build(self, input_shape):
        if self.fraction_units:
            self.layer_outputs([keras.ops.zeros((1, *SHAPE)), keras.ops.zeros((1, N_Z))])
        else:
            self.layer_outputs(keras.ops.zeros((1, *SHAPE)))
        self.built = True

    def layer_outputs(self, inputs, training=False):
        """(name, tensor) after each stage, for inspecting table 4.1 shapes.

        ``inputs`` is the (batch, 22, 6) features, or ``(features, fractions)``;
        the thesis model ignores the fractions.
        """
        if isinstance(inputs, (tuple, list)):
            x, fractions = inputs
        else:
            x, fractions = inputs, None
        x = self.to_image(self.scaling(x))
        stages = [("scaled", x)]
        for conv, norm, relu in self.blocks:
            x = relu(norm(conv(x), training=training))
            stages.append((conv.name.removesuffix("_conv"), x))
        x = self.flatten(x)
        stages.append(("flatten", x))
        if self.fractions is not None:
            if fractions is None:
                raise ValueError("this model takes (features, fractions)")
            x = keras.ops.concatenate([x, self.fractions(fractions)], axis=-1)
            stages.append(("with_fractions", x))
        x = self.hidden(x)
        stages.append(("fc", x))
        stages.append(("output", self.out(x)))
        return stages

    def call(self, x, training=False):
        return self.layer_outputs(x, training=training)[-1][1]

    @property
    def needs_fractions(self) -> bool:
        return bool(self.fraction_units)

    def input_shapes(self):
        """The shape(s) ``build`` expects: features, plus fractions for the fraction variant."""
        return [(None, *SHAPE), (None, N_Z)] if self.fraction_units else (None, *SHAPE)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "dense": self.dense,
                "fraction_units": self.fraction_units}


def regression_metrics():
    """MAE, RMSE and R², the thesis's three scores."""
    return [keras.metrics.MeanAbsoluteError(name="mae"), keras.metrics.RootMeanSquaredError(name="rmse"),
            keras.metrics.R2Score(name="r2")]


def build_cnn(features: np.ndarray, lr: float = 1e-3, loss: str = "mse", filters: int = 32, dense: int = 32,
              fraction_units: int = 0, seed: int | None = None) -> MagpieCNN:
    """A compiled :class:`MagpieCNN` with its scaling fitted to ``features`` (training rows only)."""
    if seed is not None:
        keras.utils.set_random_seed(seed)
    model = MagpieCNN(filters=filters, dense=dense, fraction_units=fraction_units)
    model.build(model.input_shapes())
    model.scaling.adapt(features)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss=loss, metrics=regression_metrics())
    return model


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE and R² of predictions, in NumPy."""
    y_true, y_pred = np.asarray(y_true, float).ravel(), np.asarray(y_pred, float).ravel()
    err = y_pred - y_true
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2))),
            "r2": float(1 - np.sum(err ** 2) / ss_tot) if ss_tot > 0 else float("nan"), "n": int(len(err))}


__all__ = ["MinMaxScaling", "MagpieCNN", "build_cnn", "regression_metrics", "scores"]
