"""Thesis import path for the formula checks; the rules live in :mod:`tfmat.chemistry`."""
from tfmat.chemistry import THESIS, check_formulas


def check_formula(formula, rules=THESIS):
    """Shares of ``formula`` (a list of strings) that are charge neutral, electronegativity
    balanced, and both, as the thesis's ``check_formula`` returns them."""
    shares = check_formulas(formula, rules).validity.shares()
    return shares["cn"], shares["en"], shares["en"]
