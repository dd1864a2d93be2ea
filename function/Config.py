"""MatGAN run configuration (thesis import path): :class:`tfmat.models.matgan.GanConfig` as ``Config``."""
from tfmat.models.matgan import THESIS_CONFIGS, GanConfig as Config

__all__ = ["Config", "THESIS_CONFIGS"]
