"""SavedModel serving: loaded in a fresh process without tfmat, it matches ``tfmat predict``."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd

from tfmat.cli import main

from conftest import ROOT

FORMULAS = ["GaAs", "NaCl", "Fe2O3", "LiFePO4", "SrTiO3", "Cu2ZnSnS4", "MgB2", "Si", "CsPbI3", "Al2O3"]

CLIENT = r"""
import json, re, sys
import numpy as np
import tensorflow as tf
folder, formulas = sys.argv[1], sys.argv[2:]
meta = json.load(open(folder + "/tfmat_serving.json"))
column = {s: i for i, s in enumerate(meta["columns"])}
amounts = np.zeros((len(formulas), len(column)), np.float32)
for row, text in enumerate(formulas):
    for sym, n in re.findall(r"([A-Z][a-z]?)(\d*\.?\d*)", text):
        amounts[row, column[sym]] += float(n) if n else 1.0
loaded = tf.saved_model.load(folder)  # keep a reference: its variables live in this object
served = loaded.serve(tf.constant(amounts))
print(json.dumps({"tfmat_imported": any(m.startswith("tfmat") for m in sys.modules),
                  **{k: np.asarray(v).ravel().tolist() for k, v in served.items()}}))
"""


def test_exported_model_serves_without_tfmat(tmp_path):
    model = ROOT / "check_point" / "CNN" / "MP_band_gap"
    saved = tmp_path / "served"
    assert main(["export", "--model", str(model), "--out", str(saved)]) == 0
    assert (saved / "saved_model.pb").is_file()
    out = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(model), *FORMULAS, "-o", str(out)]) == 0
    expected = pd.read_csv(out)

    res = subprocess.run([sys.executable, "-c", CLIENT, str(saved), *FORMULAS], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300, env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3",
                                                        "PYTHONNOUSERSITE": "1"})
    assert res.returncode == 0, res.stderr[-2000:]
    served = json.loads(res.stdout.strip().splitlines()[-1])
    assert served["tfmat_imported"] is False
    np.testing.assert_allclose(served["prediction"], expected["band_gap"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(served["uncertainty"], expected["uncertainty"], atol=1e-4, rtol=0)


def test_export_of_missing_model_is_a_usage_error(tmp_path):
    assert main(["export", "--model", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")]) == 2
