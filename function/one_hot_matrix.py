"""Thesis import path for the 85×8 one-hot encoding (see :mod:`tfmat.composition`)."""
from tfmat.composition import decode, encode_formulas
from tfmat.elements import ELEMENTS, MAX_COUNT


def get_one_hot_matrix(formulas, periodic_table=ELEMENTS, max_count=MAX_COUNT):
    """(N, 85, 8) matrices of the representable ``formulas`` (bad rows are left out)."""
    if tuple(periodic_table) != ELEMENTS or max_count != MAX_COUNT:
        raise ValueError("tfmat encodes with its 85-element table and counts 1..8")
    return encode_formulas(formulas).onehot()


__all__ = ["get_one_hot_matrix", "decode", "ELEMENTS"]
