"""Coverage (COV-R, COV-P) of the training structures of the 11 most frequent Mg–Mn–O compositions by
the shipped CCCGAN's samples for them, beside the random baseline.

The samples are those of ``cccgan_structures.py`` (100 per composition, seed 0);
fingerprints and cutoffs are those of :mod:`tfmat.structure.coverage`. Only
valid structures are fingerprinted (CrystalNN crawls on clashing atoms); the
others count as misses in COV-P. The
reference fingerprints (CrystalNN costs about 0.2 s per structure) are cached
in ``runs/cache/``, keyed by a hash of the data.

    python benchmarks/cccgan_coverage.py [--model check_point/CCCGAN/MgMnO] [--data PATH]

Writes ``benchmarks/cccgan_coverage.json``.
"""
from __future__ import annotations

import hashlib
import sys
import time

import numpy as np

from cccgan_structures import PER_COMPOSITION, ROOT, known_compositions, setup


def main() -> None:
    from tfmat.gan.cccgan import sample_matrices
    from tfmat.io import atomic_path, write_json
    from tfmat.structure.codec import decode
    from tfmat.structure.coverage import composition_fingerprints, coverage, structure_fingerprints
    from tfmat.structure.evaluation import formula_of, random_baseline
    from tfmat.structure.validity import is_valid

    args, generator, layout, _, data, train, label = setup(__doc__, "cccgan_coverage.json")
    known = known_compositions(data.counts)
    picked = np.flatnonzero((data.counts[:, None] == known[None]).all(axis=2).any(axis=1))
    reference = [train[i] for i in picked]

    start = time.time()
    key = hashlib.sha256(np.ascontiguousarray(data.matrices[picked]).tobytes()).hexdigest()[:16]
    cache = ROOT / "runs" / "cache" / f"cccgan_reference_fingerprints_{key}.npz"
    if cache.is_file():
        saved = np.load(cache)
        ref_s, ref_c = saved["structure"], saved["composition"]
    else:
        ref_s, ref_c = structure_fingerprints(reference), composition_fingerprints(reference)
        with atomic_path(cache) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, structure=ref_s, composition=ref_c)
    result = {"model": label,
              "compositions": [formula_of(k, layout.elements) for k in known], "reference_structures": len(reference),
              "per_composition": PER_COMPOSITION, "seed": 0}
    requested = np.repeat(known, PER_COMPOSITION, axis=0)
    sets = {"generated": decode(sample_matrices(generator, layout, requested, seed=0), layout).crystals,
            "random_baseline": random_baseline(requested, train, layout.elements, seed=0)}
    for name, crystals in sets.items():
        crystals = [c if c is not None and is_valid(c) else None for c in crystals]
        result[name] = coverage(structure_fingerprints(crystals), composition_fingerprints(crystals), ref_s, ref_c)
        print(name, result[name], file=sys.stderr)
    result["seconds"] = round(time.time() - start, 1)
    write_json(args.out, result)


if __name__ == "__main__":
    main()
