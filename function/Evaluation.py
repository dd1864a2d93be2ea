"""Thesis import path for evaluation: regression scores (``tfmat.models.cnn``) and the
generative measures (``tfmat.evaluation``)."""
from tfmat.evaluation.enumeration import baseline, efficiency
from tfmat.evaluation.metrics import (cross_database, distributions, novel_formulas, novelty, uniqueness_curve,
                                      validity)
from tfmat.models.cnn import scores

__all__ = ["scores", "validity", "uniqueness_curve", "novelty", "novel_formulas", "cross_database",
           "distributions", "baseline", "efficiency"]
