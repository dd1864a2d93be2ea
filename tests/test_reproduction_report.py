"""The reproduction report prints what its benchmark JSON holds (tables 3.3 and 3.4, §4c)."""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _table(section: str) -> dict[str, dict[str, str]]:
    """The section's first markdown table as {row label: {column header: cell}}."""
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return {cells[0].strip("* "): dict(zip(header[1:], (c.strip("* ") for c in cells[1:])))
            for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines[2:])}


def test_tables_3_3_and_3_4_print_the_gan_reproduction_figures():
    figures = json.loads((ROOT / "benchmarks" / "gan_reproduction.json").read_text())
    report = (ROOT / "benchmarks" / "reproduction.md").read_text()
    table = _table(report.split("## 4c.")[1].split("\n## ")[0])
    columns = {"MP": "GAN-MP", "MP_exact": "GAN-MP, exact arity", "OQMD": "GAN-OQMD", "ICSD": "GAN-ICSD",
               "ICSD_Filter": "GAN-ICSD_Filter", "Bandgap": "GAN-Bandgap"}
    assert set(figures) == set(columns)
    for name, f in figures.items():
        column = columns[name]
        assert table["samples"][column] == f"{f['samples']:,}"
        assert table["decoded (2–8 elements)"][column] == f"{f['decoded']:.2f}"
        assert table["training recovered"][column] == f"{f['train_recovered']:.2f}"
        assert table["leave-out recovered"][column] == f"{f['leave_out_recovered']:.2f}"
        assert table["new samples (in neither set)"][column] == f"{f['new_samples']:,}"
        v = f["validity"]
        assert table["CN, training → generated"][column].split(" → ") == [
            f"{v['train']['cn']:g}" if v['train']['cn'] == 100 else f"{v['train']['cn']:.2f}",
            f"{v['generated']['cn']:.2f}"]
        assert table["arity / element distance from training"][column] == f"{f['arity_tv']:.3f} / {f['element_tv']:.3f}"
        for other, hits in f["cross_database"].items():
            assert table[f"table 3.4: novel formulas in {other}"][column] == f"{hits:,}"


# §4a's row labels → the settings of benchmarks/gan_mix.py
MIX_ROWS = {"shipped setting": "shipped", "thesis": "thesis", "5 critic steps": "critic5",
            "presence head": "presence", "decoded critic": "decoded_critic", "public code's layout": "code_layout",
            "row softmax": "row_softmax", "sharpness term": "sharpness", "one-hot rows": "onehot",
            "one-hot rows, 5 critic steps": "onehot_critic5", "arity condition": "arity_condition",
            "exact arity, one-hot rows": "exact_arity", "exact arity, softmax rows": "exact_arity_soft"}


def test_the_formula_mix_table_prints_the_gan_mix_figures():
    mix = json.loads((ROOT / "benchmarks" / "gan_mix.json").read_text())
    report = (ROOT / "benchmarks" / "reproduction.md").read_text()
    table = _table(report.split("### 4a.")[1].split("\n## ")[0])
    rows = {"enumeration baseline": mix["enumeration_baseline"]} | {
        label: mix["settings"][name] for label, name in MIX_ROWS.items()}
    assert set(table) == set(rows)
    for label, f in rows.items():
        row = table[label]
        assert row["decoded"] == f"{100 * f['decoded']:.1f}", label
        assert row["distinct per sample"] == f"{f['distinct_per_sample']:.3f}", label
        assert row["CN / CN+EN"] == f"{100 * f['cn']:.1f} / {100 * f['cn_en']:.1f}", label
        assert row["arity TV"] == f"{f['arity_tv']:.3f}", label
        assert row["element TV"] == f"{f['element_tv']:.3f}", label
        assert row["train / leave-out recovered"] == \
            f"{100 * f['train_recovered']:.2f} / {100 * f['leave_out_recovered']:.2f}", label
