"""Crystal structures shared by the crystal GANs.

Modules (import them directly; this package imports nothing heavy):

- :mod:`tfmat.structure.crystal`: :class:`Crystal`, an immutable periodic
  structure (lattice, species, fractional coordinates) that reads and writes
  CIF and POSCAR through pymatgen.
- :mod:`tfmat.structure.distances`: lattice matrices from cell parameters and
  minimum-image distances, in NumPy (exact) and TensorFlow (differentiable).
- :mod:`tfmat.structure.codec`: the CCCGAN matrix representation (cell
  parameters and scaled fractional coordinates in per-element slots of a
  :class:`SlotLayout`), atom counts and composition labels.
- :mod:`tfmat.structure.blocks`: the CrystalGAN block representation of a
  hydride ([lattice, H, A, B], 18×3 each) and :func:`load_domain`, binaries
  from the paper's ``.mat`` files or POSCAR files, with the rejects.
- :mod:`tfmat.structure.constraints`: the A–B, A–A′ and B–B′ nearest-neighbour
  distances (NumPy exact, TensorFlow differentiable), CrystalGAN's geometric
  terms and the evaluation of generated hydrides.
- :mod:`tfmat.structure.data`: :func:`load_structures`, matrices from the
  paper's ``.npy`` file or a directory of CIF/POSCAR files, with the rejects.
- :mod:`tfmat.structure.augment`: supercells, translations and axis swaps,
  and a seeded ``tf.data`` pipeline of augmented batches.
- :mod:`tfmat.structure.validity`: the structure-validity test.
- :mod:`tfmat.structure.matching`: uniqueness and novelty under pymatgen's
  StructureMatcher.
- :mod:`tfmat.structure.evaluation`: per-sample descriptions, the metrics of
  a generated set and the random-coordinate baseline.
- :mod:`tfmat.structure.output`: the CIF folder with ``structures.csv`` that
  structure generators write.
- :mod:`tfmat.structure.plots`: density and shortest-distance histograms.
"""
