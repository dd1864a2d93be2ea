"""The Gaussian-process surrogate: latent code → property, with a posterior mean and standard deviation.

An exact GP with a constant mean (the labels' mean), a Matérn 5/2 or RBF
kernel with one length scale per latent dimension (ARD, via
``tfp.math.psd_kernels.FeatureScaled``) and Gaussian observation noise. The
amplitude, length scales and noise are fitted by maximising the log marginal
likelihood with Adam; the posterior is the closed form

    μ(x) = m + k(x, X) (K + σ²I)⁻¹ (y − m),  σ²(x) = k(x, x) − k(x, X) (K + σ²I)⁻¹ k(X, x),

computed through one Cholesky factor, and is differentiable in ``x`` (the
acquisition climbs it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

KERNELS = {"matern52": tfp.math.psd_kernels.MaternFiveHalves, "rbf": tfp.math.psd_kernels.ExponentiatedQuadratic}
JITTER = 1e-4  # added to the noise variance: keeps the Cholesky factor stable


@dataclass
class Hyperparameters:
    """Kernel amplitude, per-dimension length scales and observation-noise variance (label units)."""

    amplitude: float
    length_scales: np.ndarray
    noise: float


class GaussianProcess:
    """Exact GP regression on ``(x, y)``; :meth:`fit` tunes the hyperparameters, :meth:`posterior` predicts."""

    def __init__(self, x: np.ndarray, y: np.ndarray, kernel: str = "matern52",
                 hyper: Hyperparameters | None = None):
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
        self.kernel_name = kernel
        self.x = tf.constant(np.asarray(x, np.float64))
        y = np.asarray(y, np.float64)
        self.mean = float(y.mean())
        self.y = tf.constant(y - self.mean)
        if hyper is None:
            hyper = self.initial_hyperparameters(np.asarray(x), y)
        unconstrained = lambda v: np.log(np.expm1(np.maximum(np.asarray(v, np.float64), 1e-9)))  # noqa: E731
        self._amp = tf.Variable(unconstrained(hyper.amplitude), dtype=tf.float64)
        self._len = tf.Variable(unconstrained(hyper.length_scales), dtype=tf.float64)
        self._noise = tf.Variable(unconstrained(hyper.noise), dtype=tf.float64)
        self._factor()

    @staticmethod
    def initial_hyperparameters(x: np.ndarray, y: np.ndarray) -> Hyperparameters:
        """Amplitude = the labels' standard deviation, every length scale = the median distance between
        points, noise = 1% of the label variance."""
        x = np.asarray(x, np.float64)
        sample = x[np.random.default_rng(0).choice(len(x), min(len(x), 256), replace=False)]
        dist = np.sqrt(((sample[:, None] - sample[None]) ** 2).sum(-1))
        median = float(np.median(dist[np.triu_indices(len(sample), 1)])) if len(sample) > 1 else 1.0
        std = float(np.std(y)) or 1.0
        return Hyperparameters(std, np.full(x.shape[1], max(median, 1e-3)), 0.01 * std ** 2)

    @property
    def hyperparameters(self) -> Hyperparameters:
        sp = tf.math.softplus
        return Hyperparameters(float(sp(self._amp)), sp(self._len).numpy(), float(sp(self._noise)))

    def _kernel(self, amp=None, length=None):
        sp = tf.math.softplus
        base = KERNELS[self.kernel_name](amplitude=sp(self._amp if amp is None else amp))
        return tfp.math.psd_kernels.FeatureScaled(base, scale_diag=sp(self._len if length is None else length))

    def _noise_var(self, noise=None):
        return tf.math.softplus(self._noise if noise is None else noise) + JITTER

    def _log_marginal_likelihood(self, amp, length, noise) -> tf.Tensor:
        gp = tfp.distributions.GaussianProcess(self._kernel(amp, length), index_points=self.x,
                                               observation_noise_variance=self._noise_var(noise))
        return gp.log_prob(self.y)

    def log_marginal_likelihood(self) -> tf.Tensor:
        return self._log_marginal_likelihood(self._amp, self._len, self._noise)

    def fit(self, steps: int = 100) -> float:
        """Maximise the log marginal likelihood over the hyperparameters (L-BFGS, at most ``steps``
        iterations, from the current values); returns the maximum reached."""
        d = int(self._len.shape[0])

        def unpack(v):
            return v[0], v[1:1 + d], v[1 + d]

        @tf.function
        def value_and_gradient(v):
            with tf.GradientTape() as tape:
                tape.watch(v)
                loss = -self._log_marginal_likelihood(*unpack(v))
            return loss, tape.gradient(loss, v)

        start = tf.concat([self._amp[None], self._len, self._noise[None]], 0)
        result = tfp.optimizer.lbfgs_minimize(value_and_gradient, start, max_iterations=steps)
        best = result.position if bool(tf.reduce_all(tf.math.is_finite(result.position))) else start
        amp, length, noise = unpack(best)
        self._amp.assign(amp), self._len.assign(length), self._noise.assign(noise)
        self._factor()
        return float(self.log_marginal_likelihood())

    def _factor(self) -> None:
        n = int(self.x.shape[0])
        k = self._kernel().matrix(self.x, self.x) + self._noise_var() * tf.eye(n, dtype=tf.float64)
        self._chol = tf.linalg.cholesky(k)
        self._alpha = tf.linalg.cholesky_solve(self._chol, self.y[:, None])

    def posterior_tensors(self, xq: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Posterior mean and standard deviation (of the latent function, without observation noise)
        at ``xq`` (float64), as tensors, differentiable in ``xq``."""
        kernel = self._kernel()
        kq = kernel.matrix(xq, self.x)
        mean = self.mean + tf.linalg.matvec(kq, self._alpha[:, 0])
        v = tf.linalg.triangular_solve(self._chol, tf.transpose(kq), lower=True)
        var = kernel.apply(xq, xq) - tf.reduce_sum(v * v, axis=0)
        return mean, tf.sqrt(tf.maximum(var, 1e-12))

    def posterior(self, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self.posterior_tensors(tf.constant(np.asarray(xq, np.float64)))
        return mean.numpy(), std.numpy()
