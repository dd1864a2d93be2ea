"""Evaluating generated formulas: validity, uniqueness, novelty, recovery and the enumeration baseline."""
