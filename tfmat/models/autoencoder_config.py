"""The autoencoder's run config (keras-free, so the command line can show its defaults)."""
from __future__ import annotations

from dataclasses import dataclass

from ..configs import SavedConfig
from ..gan.config import ARCHITECTURES

LAYOUTS = ("dense", "paper", *ARCHITECTURES)
LOSSES = ("bce", "dice")


@dataclass
class AutoencoderConfig(SavedConfig):
    """Defaults: the dense BCE autoencoder on MP. :data:`THESIS_STUDY` holds the thesis's Dice study."""

    dataset: str = "MP"
    architecture: str = "dense"
    loss: str = "bce"
    latent_dim: int = 128
    hidden: int = 512  # width of the dense layout's hidden layers
    code_noise: float = 0.2  # σ of the Gaussian noise on the code while training
    lr: float = 1e-3
    batch_size: int = 256
    epochs: int = 40
    seed: int = 0

    RERUN_FREE = ("epochs",)  # a rerun may extend a run


# thesis 3.4: OQMD, GAN-OQMD layers, Dice loss, Adam 1e-3, batch 1024, best test score within 1000 epochs
THESIS_STUDY = AutoencoderConfig(dataset="OQMD", architecture="oqmd", loss="dice", code_noise=0.0,
                                 batch_size=1024, epochs=1000)
