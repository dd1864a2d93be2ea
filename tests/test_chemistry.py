"""tfmat.chemistry against SMACT itself, on real formulas."""
import warnings

import numpy as np
import pandas as pd
import pytest
from smact.screening import ICSD24FilterConfig, smact_validity

from conftest import OPEN, REFERENCE, need
from tfmat import chemistry as ch
from tfmat.composition import FormulaError, encode_formulas, formulas_from_counts
from tfmat.evaluation.enumeration import sample_counts


def _column(path, column, n, seed):
    values = pd.read_csv(need(path))[column].drop_duplicates()
    return values.sample(n, random_state=seed).tolist()


@pytest.fixture(scope="module")
def formulas():
    """20,000 real formulas (MP, OQMD, the thesis's lists) and uniformly sampled 85x8 compositions."""
    thesis = REFERENCE / "thesis"
    real = (_column(OPEN / "mp" / "mp_e_form.csv", "formula", 6000, 1)
            + _column(OPEN / "oqmd" / "formation_enthalpy_train.csv", "formula", 5000, 2)
            + _column(thesis / "OQMD" / "train_formula.csv", "formulas", 3000, 3)
            + _column(thesis / "ICSD" / "train_formula.csv", "formulas", 2000, 4)
            + _column(thesis / "MP" / "bandgap_formula.csv", "formulas", 1000, 5))
    sampled = formulas_from_counts(sample_counts(3000, arities=(2, 3, 4, 5), seed=6))
    return real + sampled


def _smact(texts, **kw):
    cn = np.array([smact_validity(t, use_pauling_test=False, **kw) for t in texts])
    en = np.array([smact_validity(t, **kw) for t in texts])
    return cn, en


def _assert_same(res, ref_cn, ref_en):
    bad = np.flatnonzero((res.cn != ref_cn) | (res.en != ref_en))
    assert not len(bad), [(res.texts[i], ref_cn[i], ref_en[i], res.cn[i], res.en[i]) for i in bad[:10]]


def test_agrees_with_smact_defaults(formulas):
    res = ch.check_formulas(formulas)
    assert len(res.texts) == 20000 and not res.rejects
    _assert_same(res, *_smact(res.texts))
    assert 0.5 < res.en.mean() < res.cn.mean() < 1  # both outcomes occur


def test_agrees_with_smact_thesis_rules(formulas):
    res = ch.check_formulas(formulas, ch.THESIS)
    _assert_same(res, *_smact(res.texts, oxidation_states_set="smact14", include_alloys=False))


@pytest.mark.parametrize("rules, kw", [
    (ch.Rules("icsd16"), dict(oxidation_states_set="icsd16")),
    (ch.Rules("pymatgen_sp", include_alloys=False), dict(oxidation_states_set="pymatgen_sp", include_alloys=False)),
    (ch.Rules(include_zero=True, consensus=1, commonality="medium"),
     dict(icsd_filter=ICSD24FilterConfig(include_zero=True, consensus=1, commonality="medium"))),
])
def test_other_options_agree(formulas, rules, kw):
    sample = formulas[::10]
    res = ch.check_formulas(sample, rules)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _assert_same(res, *_smact(res.texts, **kw))


def test_counts_path_matches_formula_path(formulas):
    enc = encode_formulas(formulas, min_elements=1)
    by_counts = ch.check(enc.counts, ch.THESIS)
    by_text = ch.check_formulas(enc.formulas, ch.THESIS)
    assert np.array_equal(by_counts.cn, by_text.cn) and np.array_equal(by_counts.en, by_text.en)
    # Unreduced counts are reduced first, as SMACT does: Fe2O4 is FeO2.
    doubled = ch.check(np.minimum(enc.counts[:500].astype(np.int64) * 2, 8), ch.THESIS)
    fits = (enc.counts[:500] <= 4).all(1)
    assert np.array_equal(doubled.cn[fits], by_counts.cn[:500][fits])


def test_thesis_rules_reproduce_thesis_training_share():
    """Thesis table: 55.8% of the GAN-OQMD training formulas are charge neutral."""
    texts = pd.read_csv(need(REFERENCE / "thesis" / "OQMD" / "train_formula.csv"))["formulas"]
    res = ch.check_formulas(texts, ch.THESIS)
    assert abs(100 * res.cn.mean() - 55.8) < 0.1


def test_special_cases():
    assert ch.check_formula("Fe") == (True, True)  # single element
    assert ch.check_formula("CuZn") == (True, True)  # alloy shortcut by default
    assert ch.check_formula("CuZn", ch.THESIS) == (False, False)
    assert ch.check_formula("NaCl") == (True, True)
    assert ch.check_formula("NaCl2") == (False, False)
    assert ch.check_formula("Fe2O4") == ch.check_formula("FeO2")
    assert ch.check_formula("PmO", ch.Rules("smact14")) == (True, False)  # Pm has no Pauling value
    assert ch.oxidation_states("O", ch.THESIS) == [-2, -1, 1, 2]
    with pytest.raises(FormulaError, match="fractional"):
        ch.check_formula("Fe0.5O")


def test_rejects_name_row_and_reason():
    res = ch.check_formulas(["NaCl", "Xx2O", "Fe0.5O", "OgO2", "K2O"])
    assert res.rows.tolist() == [0, 4]
    assert [(r.row, r.reason) for r in res.rejects] == [
        (1, "unknown element 'Xx'"), (2, "fractional amount"), (3, "element Og has no SMACT data")]


def test_custom_states_and_bad_options():
    rules = ch.Rules({"Na": [1], "Cl": [-1, 1]}, include_alloys=False)
    assert ch.check_formula("NaCl", rules) == (True, True)
    assert ch.check_formula("NaO", rules) == (False, False)  # O has no state here
    with pytest.raises(ValueError, match="unknown oxidation-state set"):
        ch.check_formula("NaCl", ch.Rules("nope"))
    with pytest.raises(ValueError, match=r"\(N, 85\)"):
        ch.check(np.zeros((2, 3), int))


def test_thesis_import_path():
    from function.Check_Formula import check_formula

    cn, en, both = check_formula(["NaCl", "NaCl2", "CuZn", "Fe2O3"])
    assert (cn, en, both) == (0.5, 0.5, 0.5)
