"""Datasets: the thesis's GAN formula sets, property tables, and tf.data pipelines."""
from .errors import DataError
from .pipeline import gan_pipeline
from .registry import (EMBEDDED_GAN, GAN_DATASETS, ICSD_GUIDANCE, PROPERTIES, FormulaSet, data_dir,
                       load_gan_dataset, load_property_dataset, normalise_attribute)
from .rules import average_polymorphs, drop_outliers, gan_formulas, leave_out_split

__all__ = ["DataError", "gan_pipeline", "EMBEDDED_GAN", "GAN_DATASETS", "ICSD_GUIDANCE", "PROPERTIES",
           "FormulaSet", "data_dir", "load_gan_dataset", "load_property_dataset", "normalise_attribute",
           "average_polymorphs", "drop_outliers", "gan_formulas", "leave_out_split"]
