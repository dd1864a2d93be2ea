"""Coverage of a reference set by generated crystals: COV-R and COV-P.

Each crystal gets two fingerprints:

- structure: matminer's CrystalNN site fingerprint (``"ops"`` preset, 61
  values) averaged over the sites;
- composition: Magpie element-property statistics (matminer
  ``ElementProperty``, 132 values), standardised with the reference set's
  mean and standard deviation.

With Euclidean distances, a reference crystal is *recalled* when its nearest
generated structure fingerprint is within ``structure_cutoff`` and its nearest
generated composition fingerprint within ``composition_cutoff`` (the two
nearest neighbours are taken separately); COV-R is the recalled share of the
reference set. COV-P is the share of all generated samples (those without a
fingerprint count as misses) whose nearest reference fingerprints are within
the same cutoffs. The default cutoffs, 0.4 and 10, are the ones CDVAE used for
MP-20.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

STRUCTURE_CUTOFF = 0.4
COMPOSITION_CUTOFF = 10.0


def structure_fingerprints(crystals: Sequence) -> np.ndarray:
    """(N, 61) site-averaged CrystalNN fingerprints; a NaN row for None or a crystal CrystalNN fails on."""
    from matminer.featurizers.site import CrystalNNFingerprint

    featurizer = CrystalNNFingerprint.from_preset("ops")
    width = len(featurizer.feature_labels())
    out = np.full((len(crystals), width), np.nan)
    for i, crystal in enumerate(crystals):
        if crystal is None:
            continue
        structure = crystal.to_pymatgen()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[i] = np.mean([featurizer.featurize(structure, k) for k in range(len(structure))], axis=0)
        except (ValueError, RuntimeError):
            pass
    return out


def composition_fingerprints(crystals: Sequence) -> np.ndarray:
    """(N, 132) Magpie element-property statistics of each crystal's composition; NaN rows for None."""
    from matminer.featurizers.composition import ElementProperty

    featurizer = ElementProperty.from_preset("magpie")
    out = np.full((len(crystals), len(featurizer.feature_labels())), np.nan)
    for i, crystal in enumerate(crystals):
        if crystal is not None:
            out[i] = featurizer.featurize(crystal.to_pymatgen().composition)
    return out


def _nearest(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each row of ``a`` to its nearest row of ``b`` and the reverse; NaN rows are never near."""
    from scipy.spatial.distance import cdist

    d = np.full((len(a), len(b)), np.inf)
    ok_a, ok_b = np.isfinite(a).all(axis=1), np.isfinite(b).all(axis=1)
    if ok_a.any() and ok_b.any():
        d[np.ix_(ok_a, ok_b)] = cdist(a[ok_a], b[ok_b])
    inf_a, inf_b = np.full(len(a), np.inf), np.full(len(b), np.inf)
    return (d.min(axis=1) if len(b) else inf_a), (d.min(axis=0) if len(a) else inf_b)


def coverage(generated_structure: np.ndarray, generated_composition: np.ndarray,
             reference_structure: np.ndarray, reference_composition: np.ndarray,
             structure_cutoff: float = STRUCTURE_CUTOFF, composition_cutoff: float = COMPOSITION_CUTOFF) -> dict:
    """``{"cov_recall", "cov_precision"}`` from the fingerprints of the generated and reference crystals
    (composition fingerprints unscaled; they are standardised here with the reference's statistics)."""
    ref_c = np.asarray(reference_composition, float)
    mean, std = np.nanmean(ref_c, axis=0), np.nanstd(ref_c, axis=0)
    std[~(std > 0)] = 1.0
    gen_c = (np.asarray(generated_composition, float) - mean) / std
    ref_c = (ref_c - mean) / std
    gen_s_near, ref_s_near = _nearest(np.asarray(generated_structure, float), np.asarray(reference_structure, float))
    gen_c_near, ref_c_near = _nearest(gen_c, ref_c)
    recalled = (ref_s_near <= structure_cutoff) & (ref_c_near <= composition_cutoff)
    precise = (gen_s_near <= structure_cutoff) & (gen_c_near <= composition_cutoff)
    return {"cov_recall": float(recalled.mean()) if len(recalled) else float("nan"),
            "cov_precision": float(precise.mean()) if len(precise) else float("nan"),
            "structure_cutoff": structure_cutoff, "composition_cutoff": composition_cutoff}
