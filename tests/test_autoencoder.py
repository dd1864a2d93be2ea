"""Formula autoencoders: the layouts, losses, exact-decode metric, and ``tfmat train-ae`` on real formulas."""
import json

import keras
import numpy as np
import pytest

from tfmat.cli import main
from tfmat.cli.autoencoder import _subsample
from tfmat.composition import encode, decode_counts
from tfmat.data import load_gan_dataset
from tfmat.elements import SYMBOL_TO_INDEX
from tfmat.models.autoencoder import (THESIS_STUDY, AutoencoderConfig, ExactDecode, build_autoencoder, decodable,
                                      decode_codes, dice_loss, encode_counts)
from tfmat.gan.matgan import layer_shapes


@pytest.fixture(scope="module")
def counts():
    return load_gan_dataset("MP").train().counts[::200][:256]


def decodes_by_hand(model, counts):
    """Per formula: in every element row, the largest reconstructed cell reaches 0.2 exactly where the
    element is present, and sits at its count."""
    y = np.asarray(model(encode(counts)[..., None], training=False))[..., 0]
    return (np.where(y.max(-1) >= 0.2, y.argmax(-1) + 1, 0) == counts).all(1)


def test_the_thesis_study_follows_gan_oqmd():
    model = build_autoencoder(THESIS_STUDY)
    assert model.encoder.output.shape[1:] == (128,)
    enc = [s for _, s in layer_shapes(model.encoder)]
    assert enc == [(85, 8, 32), (43, 8, 32), (43, 8, 64), (22, 8, 64), (22, 8, 128), (11, 8, 128), (6, 4, 256)]
    dec = [s for _, s in layer_shapes(model.decoder)]
    assert dec[0] == (6, 4, 256) and dec[-1] == (85, 8, 1) and len(dec) == 8


def test_the_dense_code_lies_in_the_box_and_gets_noise_only_while_training(counts):
    model = build_autoencoder(AutoencoderConfig(code_noise=0.5))
    codes = encode_counts(model, counts)
    assert codes.shape == (len(counts), 128) and np.abs(codes).max() <= 1
    x = encode(counts[:8])[..., None]
    # no noise at inference (encoding all rows and decoding 8 of them batches the matmuls differently from
    # one pass over the 8, which may round the last bit differently on some CPUs)
    np.testing.assert_allclose(np.asarray(model(x)), decode_codes(model, codes[:8]), rtol=0, atol=1e-6)
    assert not np.allclose(np.asarray(model(x, training=True)), np.asarray(model(x, training=True)))
    assert [s for _, s in layer_shapes(model.decoder)][-1] == (85, 8, 1)


def test_the_papers_layout_has_two_convolutions_each_way():
    model = build_autoencoder(AutoencoderConfig(architecture="paper"))
    convs = [layer for layer in model.encoder.layers if isinstance(layer, keras.layers.Conv2D)]
    deconvs = [layer for layer in model.decoder.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert len(convs) == 2 and len(deconvs) == 2
    assert model.encoder.output.shape[1:] == (128,) and model.decoder.output.shape[1:] == (85, 8, 1)
    with pytest.raises(ValueError, match="unknown autoencoder architecture"):
        build_autoencoder(AutoencoderConfig(architecture="resnet"))


def test_dice_loss_and_exact_metric(counts):
    x = encode(counts)[..., None]
    assert np.allclose(np.asarray(dice_loss(x, x)), -1, atol=1e-5)
    assert np.allclose(np.asarray(dice_loss(x, np.zeros_like(x))), 0)
    stray = np.random.default_rng(0).random(x.shape) < 0.003  # a stray cell in an absent row breaks a formula
    noisy = np.where(stray, 0.5, 0.9 * x).astype(np.float32)
    metric = ExactDecode()
    metric.update_state(x, noisy)
    expected = (decode_counts(noisy) == counts).all(1).mean()
    assert float(metric.result()) == pytest.approx(expected)
    assert 0 < expected < 1  # the noise breaks some rows and not others


@pytest.mark.parametrize("config", [THESIS_STUDY, AutoencoderConfig()], ids=["thesis", "dense"])
def test_training_improves_reconstruction(counts, config):
    model = build_autoencoder(config)
    x = encode(counts)[..., None]
    history = model.fit(x, x, batch_size=64, epochs=4, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] - 0.02 if config.loss == "dice" else \
        history["loss"][-1] < 0.5 * history["loss"][0]
    assert np.array_equal(decodable(model, counts), decodes_by_hand(model, counts))
    o = SYMBOL_TO_INDEX["O"]
    stray = np.zeros((85, 8, 1), np.float32)
    stray[o, 4] = 0.5  # an O5 cell: it passes 0.2 but loses to a true O count (0.9)
    probe = keras.Sequential([keras.Input((85, 8, 1)), keras.layers.Lambda(lambda t: 0.9 * t + stray)])
    assert np.array_equal(decodable(probe, counts), counts[:, o] > 0)  # exactly the oxides decode


def test_cli_train_ae(tmp_path):
    out = tmp_path / "ae"
    generated = tmp_path / "generated.csv"
    mp_train = load_gan_dataset("MP").train()
    generated.write_text("formula\n" + "\n".join(mp_train.formulas[:3000]) + "\n")
    args = ["train-ae", "--dataset", "MP", "--limit", "128", "--test-limit", "64", "--batch-size", "64",
            "--generated", str(generated), "--epochs", "1", "--out", str(out), "--progress", "0"]
    assert main(args) == 0
    result = json.loads((out / "decodable.json").read_text())
    assert result["train_formulas"] == 128 and result["test_formulas"] == 64
    rec = result["gan_recovery"]
    assert rec["decodable"] + rec["undecodable"] == 128
    saved = keras.models.load_model(out / "autoencoder.keras", compile=False)
    train = _subsample(mp_train.counts, 128, 0)  # the CLI's --limit draw (seed 0)
    assert result["train_decodable"] == decodes_by_hand(saved, train).mean() and result["epochs_done"] == 1
    assert (out / "autoencoder.keras").is_file() and (out / "metrics.csv").is_file()
    assert json.loads((out / "config.json").read_text())["loss"] == "bce"
    assert main(args[:-4] + ["--epochs", "0"]) == 2
    # a rerun may add epochs; other training formulas or another layout is another run, refused
    assert main([*args, "--limit", "192"]) == 2 and main([*args, "--latent-dim", "32"]) == 2
    assert main([*args, "--epochs", "2"]) == 0
    assert json.loads((out / "decodable.json").read_text())["epochs_done"] == 2
    assert main(["train-ae", "--code-noise", "-1", "--out", str(tmp_path / "x")]) == 2


def test_cli_train_ae_thesis_preset(tmp_path):
    out = tmp_path / "thesis"
    args = ["train-ae", "--thesis", "--dataset", "MP", "--limit", "64", "--test-limit", "32", "--batch-size", "32",
            "--epochs", "1", "--out", str(out), "--progress", "0"]
    assert main(args) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert (cfg["architecture"], cfg["loss"], cfg["code_noise"], cfg["dataset"]) == ("oqmd", "dice", 0.0, "MP")
