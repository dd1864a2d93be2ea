"""The adversarial family: one base and the GANs built on it.

* :mod:`tfmat.gan.adversarial` — the base (:class:`~tfmat.gan.adversarial.Adversarial`): nested inputs,
  several generators and critics, per-critic gradient penalty, Wasserstein or log-loss, named loss terms.
* :mod:`tfmat.gan.config` — MatGAN's layer tables and thesis hyperparameters, the CCCGAN and CrystalGAN
  configs (plain data, no TensorFlow).
* :mod:`tfmat.gan.matgan` — MatGAN's generators and critics, and the compiled model.
* :mod:`tfmat.gan.cccgan` — CCCGAN: crystal structures conditioned on their composition.
* :mod:`tfmat.gan.crystalgan` — CrystalGAN: ternary hydrides from two binary domains, its baselines.
* :mod:`tfmat.gan.sampling` — formulas from a trained generator, in bounded memory.
* :mod:`tfmat.gan.run` — GAN training runs (MatGAN, CCCGAN, CrystalGAN): fresh start, resume, epoch selection.

Importing this package loads no TensorFlow; its modules do.
"""
