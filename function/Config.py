"""MatGAN run configuration (thesis import path): :class:`tfmat.gan.config.GanConfig` as ``Config``."""
from tfmat.gan.config import THESIS_CONFIGS, GanConfig as Config

__all__ = ["Config", "THESIS_CONFIGS"]
