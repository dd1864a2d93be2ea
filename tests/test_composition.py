import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Composition

from tfmat.composition import (FormulaError, canonical, decode, encode, encode_formulas, formulas_of,
                               parse_formula, parse_formulas)
from tfmat.data import EMBEDDED_GAN, PROPERTIES, load_gan_dataset, load_property_dataset
from tfmat.elements import ELEMENTS, EXCLUDED, N_ELEMENTS, PERIODIC_TABLE

from conftest import OPEN, need


def test_element_table():
    assert N_ELEMENTS == 85 and len(set(ELEMENTS)) == 85
    assert ELEMENTS[0] == "H" and ELEMENTS[-1] == "Pu" and "Xe" in ELEMENTS
    assert not set(EXCLUDED) & set(ELEMENTS)
    z = [PERIODIC_TABLE.index(s) for s in ELEMENTS]
    assert z == sorted(z)


@pytest.mark.parametrize("text, expected", [
    ("Sr(AlH)2", {"Sr": 1, "Al": 2, "H": 2}),
    ("[Co(NH3)6]Cl3", {"Co": 1, "N": 6, "H": 18, "Cl": 3}),
    ("Fe2O3", {"Fe": 2, "O": 3}),
    (" Li Fe P O4 ", {"Li": 1, "Fe": 1, "P": 1, "O": 4}),
    ("Fe0.5O0.75", {"Fe": 0.5, "O": 0.75}),
    ("OFeO", {"O": 2, "Fe": 1}),
])
def test_parse_matches_pymatgen(text, expected):
    got = parse_formula(text)
    assert got == pytest.approx(expected)
    assert Composition(text).as_dict() == got


@pytest.mark.parametrize("text, reason", [
    ("", "empty"), ("Xx2O", "unknown element"), ("Fe2O3)", "unbalanced"), ("(FeO", "unbalanced"),
    ("Fe-O", "unexpected"), ("2Fe", "follows no element"), ("Fe0O", "not positive"),
])
def test_parse_errors(text, reason):
    with pytest.raises(FormulaError, match=reason):
        parse_formula(text)


@pytest.mark.shared
def test_canonical_agrees_with_pymatgen_on_real_formulas():
    frame = pd.read_csv(need(OPEN / "mp" / "mp_e_form.csv"), keep_default_na=False)
    texts = frame.formula.tolist()[:20000]
    ours = formulas_of(parse_formulas(texts).compositions)
    for text, formula in zip(texts, ours):
        ours_c, theirs = Composition(formula), Composition(text)
        g = np.gcd.reduce([int(v) for v in theirs.values()])  # MP's amounts are integers
        assert ours_c.as_dict() == {e: v / g for e, v in theirs.as_dict().items()}, text
        assert np.gcd.reduce([int(v) for v in ours_c.values()]) == 1, formula
        assert ours_c.num_atoms <= theirs.num_atoms + 1e-9, text
        assert formula == canonical(formula)  # idempotent


def test_amounts_above_the_bound_are_rejected_by_name_and_never_overflow():
    texts = ["Na1000000Cl", "Na1000001Cl", "Na99999999999999999999Cl", "Na(Cl2)600000", "NaCl"]
    for parse in (lambda t: parse_formulas(t), lambda t: parse_formulas([x + " " for x in t])):  # fast, general
        parsed = parse(texts)
        reasons = {r.row: r.reason for r in parsed.rejects}
        assert list(parsed.rows) == [0, 4] and set(reasons) == {1, 2, 3}
        assert reasons[1] == "amount of Na is 1,000,001, above the bound 1,000,000"
        assert reasons[2].startswith("amount of Na is ") and reasons[2].endswith("above the bound 1,000,000")
        assert "Cl is 1,200,000" in reasons[3]
        assert formulas_of(parsed.compositions) == ["Na1000000Cl", "NaCl"]
    with pytest.raises(FormulaError, match="above the bound"):
        parse_formula("Na99999999999999999999Cl")
    assert encode_formulas(["Na99999999999999999999Cl"]).formulas == []  # not silently Cl


def test_rejects_and_reasons():
    texts = ["Fe2O3", "HeO", "Fe0.5O", "Fe9O", "O", "Fe4O6", "junk!", "KrF2", "Fe16O2"]
    enc = encode_formulas(texts, min_elements=2)
    assert list(enc.rows) == [0, 5, 8]
    assert enc.formulas == ["Fe2O3", "Fe2O3", "Fe8O"]
    reasons = {r.row: r.reason for r in enc.rejects}
    assert set(reasons) == {1, 2, 3, 4, 6, 7}
    assert "He" in reasons[1] and "outside the 85" in reasons[1]
    assert reasons[2] == "fractional amount"
    assert "Fe9" in reasons[3] and "above 8" in reasons[3]
    assert reasons[4] == "single element"
    assert "unexpected" in reasons[6]
    assert "Kr" in reasons[7]


def test_encode_layout():
    enc = encode_formulas(["Fe2O3"])
    m = enc.onehot()
    assert m.shape == (1, 85, 8) and m.sum() == 2
    assert m[0, ELEMENTS.index("Fe"), 1] == 1 and m[0, ELEMENTS.index("O"), 2] == 1


def test_decode_threshold_and_best_column():
    m = np.zeros((4, 85, 8), np.float32)
    fe, o = ELEMENTS.index("Fe"), ELEMENTS.index("O")
    m[0, fe, 1], m[0, o, 2] = 0.9, 0.25          # both pass (>= 0.2)
    m[1, fe, 1], m[1, o, 2] = 0.9, 0.19          # O below threshold: single element
    m[2, fe, [0, 3]] = [0.3, 0.7]; m[2, o, 0] = 1  # best column of Fe is count 4
    m[3, fe, 3], m[3, o, 3] = 1, 1                # Fe4O4 reduces to FeO
    dec = decode(m)
    assert dec.formulas == ["Fe2O3", "Fe4O", "FeO"]
    assert list(dec.rows) == [0, 2, 3]
    assert [(r.row, r.reason) for r in dec.rejects] == [(1, "single element")]


def test_decode_rejects_more_than_eight_elements():
    m = np.zeros((1, 85, 8), np.float32)
    m[0, :9, 0] = 1
    dec = decode(m)
    assert dec.formulas == [] and "more than 8" in dec.rejects[0].reason


@pytest.mark.parametrize("name", EMBEDDED_GAN)
def test_round_trip_every_embedded_formula(name):
    ds = load_gan_dataset(name)
    dec = decode(ds.onehot())
    assert not dec.rejects
    assert dec.formulas == ds.formulas


def test_round_trip_every_representable_property_formula():
    """Every formula of every embedded table either round-trips or is rejected with a reason."""
    for source, attribute in PROPERTIES:
        formulas = load_property_dataset(source, attribute).formula.tolist()
        enc = encode_formulas(formulas, min_elements=2)
        assert len(enc.formulas) + len(enc.rejects) == len(formulas)
        assert all(r.reason for r in enc.rejects)
        assert decode(encode(enc.counts)).formulas == enc.formulas
        assert enc.formulas == [formulas[i] for i in enc.rows]  # stored formulas are canonical
