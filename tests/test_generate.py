"""Streaming generation from a saved generator: ``tfmat generate`` and :mod:`tfmat.gan.sampling`."""
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tfmat.cli import main
from tfmat.composition import encode_formulas
from tfmat.chemistry import THESIS, check
from tfmat.gan.matgan import build_generator
from tfmat.gan.sampling import (GENERATOR_FILE, load_generator, sample_batches, sample_counts, sample_quality,
                                write_formulas)


@pytest.fixture(scope="module")
def gan_dir(tmp_path_factory):
    """A saved generator whose samples are a mix of decodable and undecodable matrices.

    The output bias is shifted down so that, depending on the noise, a few
    cells per sample pass the 0.2 threshold — as in a partly trained GAN.
    """
    tf.keras.utils.set_random_seed(11)
    g = build_generator("mp")
    last = g.get_layer("deconv4")
    kernel, bias = last.get_weights()
    last.set_weights([kernel * 40.0, bias - 3.0])
    path = tmp_path_factory.mktemp("gan")
    g.save(path / GENERATOR_FILE)
    return path


def test_cli_writes_decoded_formulas_and_counts_failures(gan_dir, tmp_path, capsys):
    out = tmp_path / "gen.csv"
    assert main(["generate", "--gan", str(gan_dir), "-n", "3000", "-o", str(out), "--batch-size", "700"]) == 0
    err = capsys.readouterr().err
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["formula"]
    written = len(frame)
    assert 0 < written < 3000
    assert f"wrote {written} formulas" in err and f"{3000 - written} of 3000 samples did not decode" in err
    enc = encode_formulas(frame.formula.tolist(), min_elements=2)
    assert not enc.rejects and enc.formulas == frame.formula.tolist()  # canonical, 2+ elements, counts ≤ 8


def test_same_seed_same_file_other_seed_other_file(gan_dir, tmp_path):
    paths = [tmp_path / f"{i}.csv" for i in range(3)]
    for path, seed in zip(paths, [5, 5, 6]):
        assert main(["generate", "--gan", str(gan_dir), "-n", "2000", "-o", str(path), "--seed", str(seed)]) == 0
    a, b, c = (p.read_bytes() for p in paths)
    assert a == b and a != c


def test_sample_counts_streams_bounded_batches(gan_dir, monkeypatch):
    import tfmat.gan.sampling as gen

    generator = load_generator(gan_dir)
    seen = []
    compiled = gen.compiled_forward

    def spy(model):
        forward = compiled(model)
        return lambda noise: (seen.append(len(noise)), forward(noise))[1]

    monkeypatch.setattr(gen, "compiled_forward", spy)
    batches = list(sample_counts(generator, 2500, seed=1, batch_size=1000))
    assert seen == [1000, 1000, 500]
    assert all(b.dtype == np.int8 and b.shape[1] == 85 and len(b) <= 1000 for b in batches)
    assert all(((b > 0).sum(axis=1) >= 2).all() and ((b > 0).sum(axis=1) <= 8).all() for b in batches)
    decoded = list(sample_batches(generator, 2500, seed=1, batch_size=1000))
    assert sum(len(d.rows) + len(d.rejects) for d in decoded) == 2500
    assert all(np.array_equal(x, d.counts) for x, d in zip(batches, decoded))


def test_write_formulas_report_adds_up(gan_dir, tmp_path):
    rep = write_formulas(load_generator(gan_dir), 1500, tmp_path / "x.csv", seed=2, batch_size=400)
    assert rep.samples == 1500 and rep.written + rep.not_decoded == 1500
    assert sum(rep.failures.values()) == rep.not_decoded
    assert len(pd.read_csv(tmp_path / "x.csv")) == rep.written


def test_missing_generator_exits_2(tmp_path, capsys):
    assert main(["generate", "--gan", str(tmp_path / "nothing"), "-n", "5", "-o", str(tmp_path / "o.csv")]) == 2
    assert "no trained generator" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("name", ["MP", "MP_exact", "OQMD"])
def test_shipped_generators_generate_as_their_readme_says(name):
    """The committed GAN-MP and GAN-OQMD generators load, and a fresh sample's decoding share matches
    quality.json."""
    import json

    from conftest import ROOT

    shipped = ROOT / "check_point" / "iMatGAN" / name
    quality = json.loads((shipped / "quality.json").read_text())
    generator = load_generator(shipped)
    batch = next(sample_batches(generator, 4000, seed=123, batch_size=4000))
    decoded = 100 * len(batch.formulas) / 4000
    assert abs(decoded - quality["decoded_pct"]) < 3.0, (decoded, quality["decoded_pct"])
    assert 100 * len(set(batch.formulas)) / max(len(batch.formulas), 1) > 0.9 * quality["unique_of_decoded_pct"]


def test_sample_quality_counts_what_sample_batches_yields(gan_dir):
    generator = load_generator(gan_dir)
    batches = list(sample_batches(generator, 2500, seed=3, batch_size=1000))
    formulas = [f for b in batches for f in b.formulas]
    counts = np.concatenate([b.counts for b in batches])
    q = sample_quality(generator, 2500, seed=3, batch_size=1000)
    assert (q.samples, q.decoded, q.unique) == (2500, len(formulas), len(set(formulas)))
    valid = check(counts, THESIS).en
    assert q.cn_en == int(valid.sum())
    assert q.unique_cn_en == len({f for f, v in zip(formulas, valid) if v}) > 0
    f = q.figures()
    n, distinct = len(formulas), len(set(formulas))
    distinct_valid = len({g for g, v in zip(formulas, valid) if v})
    assert f == {"decoded": n / 2500, "unique": distinct / n, "cn_en": int(valid.sum()) / n,
                 "distinct": distinct / 2500, "distinct_cn_en": distinct_valid / 2500}
    assert 0 < f["decoded"] < 1 and 0 < f["unique"] <= 1
    # against the training set: the total-variation distances of the decoded samples' arity and element mix
    from tfmat.data import load_gan_dataset

    train = load_gan_dataset("MP").train().counts
    mixed = sample_quality(generator, 2500, seed=3, batch_size=1000, reference=train).figures()
    arity = lambda c: np.bincount((c > 0).sum(axis=1), minlength=9)[1:9] / len(c)  # noqa: E731
    share = lambda c: (c > 0).sum(axis=0) / (c > 0).sum()  # noqa: E731
    assert mixed["arity_tv"] == pytest.approx(0.5 * np.abs(arity(counts) - arity(train)).sum(), abs=1e-12)
    assert mixed["element_tv"] == pytest.approx(0.5 * np.abs(share(counts) - share(train)).sum(), abs=1e-12)
    assert {k: mixed[k] for k in f} == f and 0 < mixed["arity_tv"] < 1
