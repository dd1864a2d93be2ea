"""The thesis's import paths (``function.one_hot_matrix`` ...), delegating to :mod:`tfmat`."""
