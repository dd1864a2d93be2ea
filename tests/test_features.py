"""Magpie 22×6 features against matminer, and the in-graph Keras layer."""
import numpy as np
import pandas as pd
import pytest

from tfmat.composition import Compositions, parse_formulas
from tfmat.features import (PROPERTIES, SHAPE, STATS, feature_labels,
                            featurize_formulas, magpie_features)

from tfmat.paths import DATA

N_ORACLE = 10_000


def _max_rel(ours, ref):
    """Largest |ours - ref| / |ref| (entries where ref == 0 must be exactly 0 too)."""
    nz = ref != 0
    assert np.all(ours[~nz] == 0) or np.abs(ours[~nz]).max() < 1e-12
    return float((np.abs(ours - ref)[nz] / np.abs(ref[nz])).max())


@pytest.fixture(scope="module")
def formulas():
    frame = pd.read_csv(DATA / "mp_band_gap.csv.gz", keep_default_na=False)  # distinct MP compositions
    distinct = frame["formula"]
    return distinct.sample(N_ORACLE, random_state=5).tolist()


def test_matches_matminer_on_10000_formulas(formulas):
    from matminer.featurizers.composition import ElementProperty
    from pymatgen.core import Composition

    featurizer = ElementProperty.from_preset("magpie")
    assert featurizer.feature_labels() == feature_labels()
    ours, rows, rejects = featurize_formulas(formulas)
    assert rejects == [] and len(rows) == N_ORACLE and ours.shape == (N_ORACLE, *SHAPE)
    ref = np.array([featurizer.featurize(Composition(f)) for f in formulas])
    assert _max_rel(ours.reshape(N_ORACLE, -1), ref) <= 1e-6


def test_mode_ties_and_weights():
    # Na and Cl tie on amount: mode is the smaller value; NaCl2 → Cl alone.
    x = magpie_features(parse_formulas(["NaCl", "NaCl2", "Fe"]).compositions)
    number = PROPERTIES.index("Number")
    mode, mean, dev = STATS.index("mode"), STATS.index("mean"), STATS.index("avg_dev")
    assert x[0, number, mode] == 11 and x[1, number, mode] == 17
    assert x[1, number, mean] == pytest.approx((11 + 2 * 17) / 3)
    assert x[2, number, dev] == 0 and x[2, number, mode] == 26


def test_element_fractions():
    from tfmat.features import element_fractions

    f = element_fractions(parse_formulas(["Fe2O3", "NaCl"]).compositions)
    assert f.shape == (2, 118) and f[0, 25] == pytest.approx(0.4) and f[0, 7] == pytest.approx(0.6)
    np.testing.assert_allclose(f.sum(axis=1), 1.0, rtol=1e-6)


def test_bad_rows_are_rejected_not_fatal():
    x, rows, rejects = featurize_formulas(["Fe2O3", "Xx2", "", "LiFePO4"])
    assert list(rows) == [0, 3] and x.shape == (2, *SHAPE)
    assert [r.row for r in rejects] == [1, 2]


def test_keras_layer_matches_numpy(formulas):
    from tfmat.features import MagpieLayer

    comps = parse_formulas(formulas[:500] + ["Fe", "H2O", "NaCl"]).compositions
    amounts = comps.dense().astype(np.float32)
    graph = np.asarray(MagpieLayer()(amounts))
    ref = magpie_features(comps)
    assert graph.shape == ref.shape
    np.testing.assert_allclose(graph, ref, rtol=2e-6, atol=1e-4)
    back = magpie_features(Compositions.from_dense(amounts))
    np.testing.assert_allclose(back, ref, rtol=1e-6)
