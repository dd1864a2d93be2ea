"""Thesis import path for the Magpie 22×6 CNN input (see :mod:`tfmat.features`)."""
from tfmat.features import (PROPERTIES, STATS, element_table, feature_labels, featurize_formulas,
                            magpie_features)

__all__ = ["PROPERTIES", "STATS", "element_table", "feature_labels", "featurize_formulas", "magpie_features"]
