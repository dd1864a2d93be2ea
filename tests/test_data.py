import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tfmat.composition import encode_formulas
from tfmat.data import (DataError, data_dir, gan_pipeline, leave_out_split, load_gan_dataset,
                        load_property_dataset, PROPERTIES)
from tfmat.data.rules import average_polymorphs, drop_outliers

from conftest import REFERENCE, ROOT, need

ICSD = REFERENCE / "thesis" / "ICSD" / "train_formula.csv"


def test_manifest_matches_embedded_files():
    manifest = json.loads((data_dir() / "MANIFEST.json").read_text())
    for name in ("MP", "OQMD", "Bandgap"):
        ds = load_gan_dataset(name)
        info = manifest["files"][f"gan_{name}.csv.gz"]
        assert len(ds) == info["formulas"] and len(ds.leave_out()) == info["leave_out"]
        assert abs(len(ds.leave_out()) / len(ds) - 0.1) < 1e-3


@pytest.mark.parametrize("name", ["MP", "OQMD", "Bandgap"])
def test_gan_sets_follow_thesis_rules(name):
    ds = load_gan_dataset(name)
    assert len(set(ds.formulas)) == len(ds)  # distinct
    n_elements = np.count_nonzero(ds.counts, axis=1)
    assert n_elements.min() >= 2  # no single-element compounds
    assert ds.counts.max() <= 8  # counts fit the matrix
    if name == "Bandgap":
        assert ds.labels.min() > 0
    if name == "OQMD":
        assert ds.labels is not None and np.isfinite(ds.labels).all()


def test_property_tables_are_distinct_compositions():
    for (source, attribute) in PROPERTIES:
        frame = load_property_dataset(source, attribute)
        assert frame.formula.is_unique and frame.target.notna().all()
        assert (frame.n_entries >= 1).all()
    assert "NaN" in set(load_property_dataset("MP", "stability").formula)  # sodium nitride, not a missing value


def test_polymorphs_are_averaged_and_outliers_dropped():
    frame, rejects = average_polymorphs(["Fe2O3", "Fe4O6", "FeO", "bad!"], [1.0, 2.0, 3.0, 4.0])
    assert frame.set_index("formula").loc["Fe2O3"].tolist() == [1.5, 2]
    assert [r.row for r in rejects] == [3]
    values = pd.DataFrame({"target": np.r_[np.zeros(50), 1.0, -1.0, 1000.0]})
    assert len(drop_outliers(values)) == 52


def test_leave_out_split_is_deterministic_and_order_free():
    formulas = [f"Fe{i}O" for i in range(1, 9)] + [f"Co{i}S" for i in range(1, 9)] * 1
    a = leave_out_split(formulas)
    b = leave_out_split(formulas[::-1])[::-1]
    assert (a == b).all() and (a == "leave_out").sum() == 2


def test_icsd_needs_user_data():
    with pytest.raises(DataError, match="--data PATH"):
        load_gan_dataset("ICSD")
    with pytest.raises(DataError, match="licensed"):
        load_property_dataset("ICSD", "band_gap")


@pytest.mark.shared
def test_icsd_reference_list():
    ds = load_gan_dataset("ICSD", data=need(ICSD))
    raw = pd.read_csv(ICSD, keep_default_na=False)
    assert len(ds) == len(set(encode_formulas(raw.iloc[:, 0], min_elements=2).formulas)) == 13527
    assert set(ds.split) == {"train", "leave_out"}


def test_thesis_layout_and_dict_literal_lines(tmp_path):
    folder = tmp_path / "train_data" / "ICSD"
    folder.mkdir(parents=True)
    (folder / "train_formula.csv").write_text(
        'reduced_cell_formula\n"{\'K\': 2.0, \'U\': 1.0, \'F\': 6.0}"\n{\'Fe\': 2.0, \'O\': 3.0}\nNaCl\n'
        "\nFe\nQq2O\n")
    with pytest.raises(DataError, match=r"line 6: 'Fe': single element \(2 bad rows in all\).*--drop-bad-rows"):
        load_gan_dataset("ICSD", data=tmp_path)
    ds = load_gan_dataset("ICSD", data=tmp_path, drop_bad_rows=True)
    assert sorted(ds.formulas) == sorted(["K2UF6", "Fe2O3", "NaCl"])
    assert [(r.row, r.reason) for r in ds.rejects] == [(6, "single element"), (7, "unknown element 'Qq'")]


def test_user_property_csv(tmp_path):
    path = tmp_path / "icsd.csv"
    path.write_text("pretty_formula,band_gap\nNaCl,5.0\nClNa,6.0\nGaAs,1.4\nbroken(,1\nSi,\n")
    with pytest.raises(DataError, match=r"line 5: 'broken\(': .*\(2 bad rows in all\)"):
        load_property_dataset("ICSD", "band_gap", data=path)
    frame = load_property_dataset("ICSD", "band_gap", data=path, drop_bad_rows=True)
    assert frame.set_index("formula").target.to_dict() == {"NaCl": 5.5, "GaAs": 1.4}
    assert [(r.row, r.reason) for r in frame.attrs["rejects"]][1] == (6, "no label")


def test_gan_pipeline_batches_onehot():
    ds = load_gan_dataset("MP")
    batches = list(gan_pipeline(ds.counts[:100], batch_size=32, seed=3))
    assert [tuple(b.shape) for b in batches] == [(32, 85, 8, 1)] * 3
    x = np.concatenate([b.numpy() for b in batches])[..., 0]
    assert set(np.unique(x)) == {0.0, 1.0} and (x.sum(axis=2) <= 1).all()
    expected = {tuple(r) for r in ds.onehot()[:100].reshape(100, -1).astype(int)}
    assert {tuple(r) for r in x.reshape(96, -1).astype(int)} <= expected


def test_cli_help_and_data_list():
    out = subprocess.run([sys.executable, "-m", "tfmat", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "data" in out.stdout
    out = subprocess.run([sys.executable, "-m", "tfmat", "data", "list"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "65,320" in out.stdout


@pytest.mark.shared
def test_rebuild_reproduces_embedded_data_byte_for_byte(tmp_path):
    from tfmat.data.build import build

    from conftest import OPEN
    build(need(OPEN), tmp_path, progress=lambda _: None)
    for path in sorted(data_dir().glob("*.csv.gz")) + [data_dir() / "MANIFEST.json"]:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name
