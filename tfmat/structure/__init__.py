"""Crystal structures shared by the crystal GANs.

Modules (import them directly; this package imports nothing heavy):

- :mod:`tfmat.structure.crystal`: :class:`Crystal`, an immutable periodic
  structure (lattice, species, fractional coordinates) that reads and writes
  CIF and POSCAR through pymatgen.
- :mod:`tfmat.structure.distances`: lattice matrices from cell parameters and
  minimum-image distances, in NumPy (exact) and TensorFlow (differentiable).
"""
