"""MatGAN networks (SPEC §3 tables 3.1 / 3.2) and the adversarial base."""
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfmat.gan.adversarial import gradient_penalty
from tfmat.gan.config import ARCHITECTURES, THESIS_CONFIGS, GanConfig
from tfmat.gan.matgan import (MatGAN, _output_padding, build_critic, build_generator, build_matgan,
                              decoded_straight_through, layer_shapes)

# SPEC §3, written out from the thesis tables (not from ARCHITECTURES)
SPEC_SHAPES = {
    "oqmd": {
        "generator": [(6, 4, 256), (11, 8, 128), (22, 8, 128), (22, 8, 64), (43, 8, 64), (43, 8, 32),
                      (85, 8, 32), (85, 8, 1)],
        "critic": [(85, 8, 32), (43, 8, 32), (43, 8, 64), (22, 8, 64), (22, 8, 128), (11, 8, 128), (6, 4, 256)],
        "kernels": {"generator": [5, 3, 3, 3, 3, 3, 3], "critic": [3, 3, 3, 3, 3, 3, 5]},
    },
    "mp": {
        "generator": [(6, 4, 128), (11, 8, 64), (22, 8, 32), (43, 8, 16), (85, 8, 1)],
        "critic": [(43, 8, 16), (22, 8, 32), (11, 8, 64), (6, 4, 128)],
        "kernels": {"generator": [5, 3, 3, 3], "critic": [3, 3, 3, 5]},
    },
}


@pytest.mark.parametrize("arch", ["oqmd", "mp"])
def test_layer_shapes_match_thesis_tables(arch):
    spec = SPEC_SHAPES[arch]
    g = build_generator(arch)
    c = build_critic(arch)
    assert [s for _, s in layer_shapes(g)] == spec["generator"]
    assert [s for _, s in layer_shapes(c)] == spec["critic"]
    deconvs = [l for l in g.layers if isinstance(l, tf.keras.layers.Conv2DTranspose)]
    convs = [l for l in c.layers if isinstance(l, tf.keras.layers.Conv2D) and l not in deconvs]
    assert [l.kernel_size[0] for l in deconvs] == spec["kernels"]["generator"]
    assert [l.kernel_size[0] for l in convs] == spec["kernels"]["critic"]
    assert g.input_shape == (None, 128) and g.output_shape == (None, 85, 8, 1)
    assert c.output_shape == (None, 1)
    fc = g.get_layer("fc")
    assert fc.units == np.prod(spec["generator"][0])


def test_the_public_code_layouts_have_its_parameter_counts():
    """GAN-MP as the public code lays it out has 873,042 trainable parameters (generator + batch-norm
    critic); ours adds the 32 of a norm after the critic's first conv. The critic ends at (22, 4, 128)."""
    def trainable(model):
        return int(sum(np.prod(w.shape) for w in model.trainable_weights))

    g, c = build_generator("mp_code"), build_critic("mp_code", "batch")
    assert trainable(g) + trainable(c) - 2 * 16 == 873_042
    assert [s for _, s in layer_shapes(c)][-1] == (22, 4, 128)
    assert [s for _, s in layer_shapes(build_generator("oqmd_code"))] == [
        (6, 4, 256), (11, 8, 128), (11, 8, 128), (22, 8, 64), (22, 8, 64), (43, 8, 32), (43, 8, 32), (85, 8, 1)]


def test_signal_config_is_between_the_two_and_datasets_map_to_configs():
    sizes = {a: build_generator(a).count_params() + build_critic(a).count_params() for a in ("mp", "signal", "oqmd")}
    assert sizes["mp"] < sizes["signal"] < sizes["oqmd"]
    assert [s for _, s in layer_shapes(build_generator("signal"))][-1] == (85, 8, 1)
    assert {db: c.architecture for db, c in THESIS_CONFIGS.items()} == {
        "OQMD": "oqmd", "MP": "mp", "ICSD": "mp", "ICSD_Filter": "signal", "Bandgap": "signal"}
    assert THESIS_CONFIGS["OQMD"].batch_size == 512 and THESIS_CONFIGS["MP"].batch_size == 32
    c = THESIS_CONFIGS["MP"]
    assert (c.g_lr, c.d_lr, c.beta_1, c.beta_2, c.critic_steps, c.epochs, c.gp_weight, c.latent_dim) == \
        (1e-3, 1e-2, 0.5, 0.9, 1, 1000, 10.0, 128)


def test_generator_output_is_a_probability_matrix():
    g = build_generator("mp")
    x = g(tf.random.normal((16, 128)), training=False).numpy()
    assert x.shape == (16, 85, 8, 1) and x.min() >= 0 and x.max() <= 1


def test_output_padding_rejects_impossible_sizes():
    assert _output_padding(6, 11, 5, 2) == 0 and _output_padding(11, 22, 3, 2) == 1
    with pytest.raises(ValueError):
        _output_padding(6, 14, 3, 2)


@pytest.mark.parametrize("norm,layer", [("batch", tf.keras.layers.BatchNormalization),
                                        ("layer", tf.keras.layers.LayerNormalization)])
def test_critic_normalisation_option(norm, layer):
    c = build_critic("mp", norm)
    assert sum(isinstance(l, layer) for l in c.layers) == 4
    with pytest.raises(ValueError):
        build_critic("mp", "group")


def test_presence_head_scores_which_elements_a_sample_holds():
    """With the presence head the critic's score moves with a row's largest cell alone: adding a faint
    element (0.3 in one cell) changes it through the head, with the conv path held fixed at zero."""
    import keras

    plain, c = build_critic("mp"), build_critic("mp", presence=True)
    assert c.count_params() == plain.count_params() + 85 * 64 + 64 + 64
    assert c.get_layer("presence").output.shape[1:] == (85,)
    for layer in c.layers:  # silence everything but the presence path
        if layer.name.startswith("conv") and layer.weights:
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    x = np.zeros((2, 85, 8, 1), np.float32)
    x[:, 10, 0] = x[:, 7, 2] = 1.0
    x[1, 30, 4] = 0.3
    score = keras.ops.convert_to_numpy(c(x, training=False))[:, 0]
    rows = x[..., 0].max(-1)
    w1, b1 = c.get_layer("presence_fc").get_weights()
    h = rows @ w1 + b1
    h = np.where(h > 0, h, 0.2 * h)
    w, b = c.get_layer("score").get_weights()
    assert np.allclose(score, h @ w[-64:, 0] + b[0], atol=1e-4)
    assert abs(score[1] - score[0]) > 1e-6


def test_gradient_penalty_of_a_linear_critic():
    # D(x) = <w, x>: the gradient is w everywhere, so GP = (‖w‖ − 1)² exactly
    w = tf.constant(np.random.default_rng(0).normal(size=(85, 8, 1)), tf.float32)
    critic = lambda x, training=True: tf.reduce_sum(x * w, axis=[1, 2, 3])  # noqa: E731
    real = tf.random.uniform((5, 85, 8, 1))
    fake = tf.random.uniform((5, 85, 8, 1))
    gp = gradient_penalty(critic, real, fake, seed=tf.constant([1, 2]))
    np.testing.assert_allclose(gp.numpy(), (np.linalg.norm(w.numpy()) - 1) ** 2, rtol=1e-5)


def test_gradient_penalty_interpolates_uniformly_per_sample():
    # D(x) = ‖x‖²/2 has gradient x̂ itself; with real = 0, fake = 1, x̂ = ε·1 and ‖∇‖ = ε·√680
    seen = []

    def critic(x, training=True):
        seen.append(x)
        return 0.5 * tf.reduce_sum(x * x, axis=[1, 2, 3])

    real = tf.zeros((4000, 85, 8, 1))
    gradient_penalty(critic, real, tf.ones_like(real), seed=tf.constant([3, 4]))
    eps = seen[0].numpy().reshape(4000, -1)
    assert np.allclose(eps, eps[:, :1])  # one weight per sample
    e = eps[:, 0]
    assert e.min() >= 0 and e.max() <= 1 and abs(e.mean() - 0.5) < 0.02 and abs(e.var() - 1 / 12) < 0.005


def test_the_decoded_critic_sees_what_decoding_reads_with_the_matrices_gradient():
    """Forward: the one-hot matrix of the counts decode_counts reads (a faint 0.3 cell counts, a 0.1
    one does not); backward: the gradient passes as through the identity."""
    from tfmat.composition import decode_counts

    m = np.random.default_rng(0).uniform(0, 0.19, (64, 85, 8, 1)).astype(np.float32)
    m[:, 3, 2] = 0.95
    m[:, 20, 0] = 0.3
    m[::2, 40, 5] = 0.7
    x = tf.constant(m)
    with tf.GradientTape() as tape:
        tape.watch(x)
        hard = decoded_straight_through(x)
        loss = tf.reduce_sum(2.0 * hard)
    counts = decode_counts(m)
    want = np.zeros_like(m[..., 0])
    rows, elements = np.nonzero(counts)
    want[rows, elements, counts[rows, elements] - 1] = 1
    assert np.array_equal(hard.numpy()[..., 0], want)
    assert np.allclose(tape.gradient(loss, x).numpy(), 2.0)


def test_the_decoded_critic_setting_trains_and_survives_its_config():
    gan = build_matgan(GanConfig(batch_size=8, seed=1, decoded_critic=True))
    assert isinstance(gan, MatGAN) and gan.decoded_critic
    real = tf.one_hot(tf.random.uniform((8, 85), 0, 3, dtype=tf.int32) - 1, 8)[..., None]
    assert np.isfinite(float(gan.train_step(real)["d_loss"]))
    assert MatGAN.from_config(gan.get_config()).decoded_critic


def test_the_row_softmax_generator_holds_at_most_one_strong_cell_per_element_row(tmp_path):
    """With ``generator_output="softmax"`` each element row is a softmax over absent and the 8 counts:
    its cells sum to at most 1, so no row holds two cells above 0.5; the setting trains and the saved
    generator loads back with the same output."""
    import keras

    g = build_generator("mp", output="softmax")
    logits = np.random.default_rng(0).normal(0, 4, (16, 85, 8, 1)).astype(np.float32)
    m = g.get_layer("row_softmax")(tf.constant(logits)).numpy()[..., 0]
    want = np.exp(logits[..., 0]) / (1 + np.exp(logits[..., 0]).sum(-1, keepdims=True))
    assert np.allclose(m, want, atol=1e-6)
    out = g(tf.random.normal((32, 128)), training=False).numpy()[..., 0]
    assert out.shape == (32, 85, 8) and (out.sum(-1) < 1).all() and ((out > 0.5).sum(-1) <= 1).all()
    gan = build_matgan(GanConfig(batch_size=8, seed=1, generator_output="softmax"))
    real = tf.one_hot(tf.random.uniform((8, 85), 0, 3, dtype=tf.int32) - 1, 8)[..., None]
    assert np.isfinite(float(gan.train_step(real)["g_loss"]))
    gan.generator.save(tmp_path / "g.keras")
    z = tf.random.normal((4, 128))
    assert np.allclose(keras.models.load_model(tmp_path / "g.keras")(z, training=False), gan.generator(z, training=False))
    # a fresh process loads it through the sampling module alone
    load = f"from tfmat.gan.sampling import load_generator; load_generator({str(tmp_path / 'g.keras')!r})"
    proc = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with pytest.raises(ValueError, match="generator output"):
        build_generator("mp", output="tanh")


def test_the_onehot_generator_emits_0_1_matrices_and_trains_through_the_softmax_gradient(tmp_path):
    """With ``generator_output="onehot"`` each element row is the one-hot of its most likely choice
    among absent and the 8 counts (all zeros when absent wins), while the gradient is the row softmax's;
    the setting trains and the saved generator loads back with the same output."""
    import keras

    from tfmat.gan.matgan import RowSoftmax

    logits = np.random.default_rng(0).normal(0, 4, (16, 85, 8, 1)).astype(np.float32)
    full = np.concatenate([np.zeros((16, 85, 1), np.float32), logits[..., 0]], axis=-1)
    want = np.eye(9, dtype=np.float32)[full.argmax(-1)][..., 1:]
    x = tf.Variable(logits)
    weights = tf.random.normal(x.shape, seed=3)
    grads = []
    for onehot in (True, False):
        with tf.GradientTape() as tape:
            y = RowSoftmax(onehot=onehot)(x)
            loss = tf.reduce_sum(y * weights)
        if onehot:
            assert np.array_equal(y.numpy()[..., 0], want)
        grads.append(tape.gradient(loss, x).numpy())
    assert np.allclose(grads[0], grads[1], atol=1e-6) and np.abs(grads[0]).max() > 0
    gan = build_matgan(GanConfig(batch_size=8, seed=1, generator_output="onehot"))
    out = gan.generator(tf.random.normal((32, 128)), training=False).numpy()[..., 0]
    assert set(np.unique(out)) <= {0.0, 1.0} and (out.sum(-1) <= 1).all()
    real = tf.one_hot(tf.random.uniform((8, 85), 0, 3, dtype=tf.int32) - 1, 8)[..., None]
    g0 = [v.numpy().copy() for v in gan.generator.trainable_variables]
    assert np.isfinite(float(gan.train_step(real)["g_loss"]))
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(g0, gan.generator.trainable_variables))
    gan.generator.save(tmp_path / "g.keras")
    z = tf.random.normal((4, 128))
    assert np.array_equal(keras.models.load_model(tmp_path / "g.keras")(z, training=False),
                          gan.generator(z, training=False))


def random_counts(rng, n: int = 1000) -> np.ndarray:
    """(n, 85) formulas of 2–5 random elements (shares 0.2 / 0.5 / 0.25 / 0.05), counts 1–8."""
    counts = np.zeros((n, 85), np.int8)
    for i, k in enumerate(rng.choice([2, 3, 4, 5], n, p=[0.2, 0.5, 0.25, 0.05])):
        counts[i, rng.choice(85, k, replace=False)] = rng.integers(1, 9, k)
    return counts


def test_the_arity_conditioned_matgan_draws_the_training_sets_element_counts(tmp_path):
    """With ``arity_condition`` plain N(0, 1) noise draws element counts with the training set's shares;
    in training each fake is drawn for the count of a real sample (the noise lands in that count's class)
    and the critic judges each sample against the count it is told; the generator still loads from one file."""
    from tfmat.evaluation.metrics import arity_distribution
    from tfmat.gan.matgan import ARITIES, arity_index, arity_noise
    from tfmat.gan.sampling import load_generator

    rng = np.random.default_rng(0)
    counts = random_counts(rng)
    with pytest.raises(ValueError, match="training counts"):
        build_matgan(GanConfig(batch_size=8, arity_condition=True))
    gan = build_matgan(GanConfig(batch_size=8, seed=1, arity_condition=True), counts)
    layer = gan.generator.get_layer("arity")
    drawn = layer(tf.random.normal((100_000, 128), seed=2)).numpy().mean(axis=0)
    assert np.abs(drawn - arity_distribution(counts)[:ARITIES]).max() < 0.01
    real = tf.one_hot(tf.cast(counts[:8], tf.int32) - 1, 8)[..., None]
    index = arity_index(real).numpy()
    assert np.array_equal(index, (counts[:8] > 0).sum(axis=1) - 1)
    z0 = arity_noise(layer.cuts, tf.constant(np.repeat(np.arange(1, 5), 500), tf.int32), tf.constant([3, 4]))
    told = layer(tf.concat([z0[:, None], tf.zeros((2000, 127))], axis=1)).numpy().argmax(axis=1)
    assert np.array_equal(told, np.repeat(np.arange(1, 5), 500))
    fakes = gan.generate(real, training=False)
    (inp,) = gan.critic_inputs(real, fakes).values()
    assert np.array_equal(inp.condition.numpy().argmax(axis=1), index)
    # the count interacts with the sample: how much the score moves with the count differs per sample
    other = tf.one_hot((index + 2) % ARITIES, ARITIES)
    moved = (gan.critic([real, inp.condition]) - gan.critic([real, other])).numpy().ravel()
    assert np.abs(moved).max() > 0 and np.ptp(moved[index == index[0]]) > 1e-4 * np.abs(moved).max()
    g0 = [v.numpy().copy() for v in gan.generator.trainable_variables]
    assert np.isfinite(float(gan.train_step(real)["d_loss"]))
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(g0, gan.generator.trainable_variables))
    assert MatGAN.from_config(gan.get_config()).arity_condition
    gan.generator.save(tmp_path / "g.keras")
    z = tf.random.normal((4, 128))
    assert np.allclose(load_generator(tmp_path / "g.keras")(z, training=False), gan.generator(z, training=False))


def test_the_exact_arity_generator_keeps_the_drawn_count_of_elements(tmp_path):
    """``generator_output="exact_arity"`` keeps, per sample, as many element rows as the drawn count: the
    rows least likely absent, each one-hot at its most likely count (``exact_arity_soft``: the row
    softmax's counts). The one-hot's gradient is the row softmax's,
    generated matrices hold exactly the counts the noise draws, and the setting trains and loads back."""
    from tfmat.gan.matgan import ARITIES, ExactArityRows, RowSoftmax, arity_index
    from tfmat.gan.sampling import load_generator

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 4, (16, 85, 8, 1)).astype(np.float32)
    k = rng.integers(0, ARITIES, 16)
    full = np.concatenate([np.zeros((16, 85, 1), np.float32), logits[..., 0]], axis=-1)
    p = np.exp(full - full.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    want, kept = np.zeros((16, 85, 8), np.float32), np.zeros((16, 85, 8), np.float32)
    for i in range(16):
        for e in np.argsort(-(1 - p[i, :, 0]))[:k[i] + 1]:
            want[i, e, p[i, e, 1:].argmax()] = 1
            kept[i, e] = p[i, e, 1:]
    soft = ExactArityRows(onehot=False)(logits, tf.one_hot(k, ARITIES)).numpy()[..., 0]
    assert np.allclose(soft, kept, atol=1e-6)
    x = tf.Variable(logits)
    weights = tf.random.normal(x.shape, seed=3)
    grads = []
    for layer in (ExactArityRows(), RowSoftmax()):
        with tf.GradientTape() as tape:
            y = layer(x, tf.one_hot(k, ARITIES)) if isinstance(layer, ExactArityRows) else layer(x)
            loss = tf.reduce_sum(y * weights)
        if isinstance(layer, ExactArityRows):
            assert np.array_equal(y.numpy()[..., 0], want)
        grads.append(tape.gradient(loss, x).numpy())
    assert np.allclose(grads[0], grads[1], atol=1e-6) and np.abs(grads[0]).max() > 0

    counts = random_counts(rng)
    with pytest.raises(ValueError, match="arity condition"):
        build_generator("mp", output="exact_arity")
    gan = build_matgan(GanConfig(batch_size=8, seed=1, arity_condition=True, generator_output="exact_arity"), counts)
    z = tf.random.normal((256, 128), seed=4)
    out = gan.generator(z, training=False)
    assert np.array_equal(arity_index(out).numpy(), gan.generator.get_layer("arity")(z).numpy().argmax(axis=1))
    real = tf.one_hot(tf.cast(counts[:8], tf.int32) - 1, 8)[..., None]
    assert np.array_equal(arity_index(gan.generate(real)).numpy(), arity_index(real).numpy())
    g0 = [v.numpy().copy() for v in gan.generator.trainable_variables]
    assert np.isfinite(float(gan.train_step(real)["g_loss"]))
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(g0, gan.generator.trainable_variables))
    gan.generator.save(tmp_path / "g.keras")
    assert np.array_equal(load_generator(tmp_path / "g.keras")(z, training=False), gan.generator(z, training=False))


def test_the_sharpness_term_is_zero_on_real_matrices_and_pushes_faint_cells_down():
    """ambiguity() is 0 on one-hot matrices and Σ x(1 − x) per sample otherwise; with ``sharpness`` the
    generator's loss carries it, tracked by name, and its gradient lowers a faint cell and raises a strong one."""
    from tfmat.gan.matgan import ambiguity

    real = tf.one_hot(tf.random.uniform((8, 85), 0, 3, dtype=tf.int32) - 1, 8)[..., None]
    assert float(ambiguity(real)) == 0.0
    m = np.zeros((2, 85, 8, 1), np.float32)
    m[:, 3, 1], m[:, 7, 0] = 0.3, 0.9
    x = tf.Variable(m)
    with tf.GradientTape() as tape:
        value = ambiguity(x)
    assert np.isclose(float(value), 0.3 * 0.7 + 0.9 * 0.1)
    grad = tape.gradient(value, x).numpy()
    assert grad[0, 3, 1, 0] > 0 > grad[0, 7, 0, 0]  # descent lowers 0.3, raises 0.9
    gan = build_matgan(GanConfig(batch_size=8, seed=1, sharpness=2.0))
    assert gan.generator_weights == {"sharpness": 2.0}
    logs = gan.train_step(real)
    assert np.isfinite(float(logs["sharpness"])) and float(logs["sharpness"]) > 0
    assert build_matgan(GanConfig(batch_size=8, seed=1)).generator_weights == {}


def test_train_step_updates_both_networks_and_tracks_metrics():
    gan = build_matgan(GanConfig(batch_size=8, seed=1))
    g0 = [v.numpy().copy() for v in gan.generator.trainable_variables]
    d0 = [v.numpy().copy() for v in gan.critic.trainable_variables]
    real = tf.one_hot(tf.random.uniform((8, 85), 0, 3, dtype=tf.int32) - 1, 8)[..., None]
    logs = gan.train_step(real)
    assert set(logs) == {"d_loss", "g_loss", "gp", "wasserstein"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(g0, gan.generator.trainable_variables))
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(d0, gan.critic.trainable_variables))
    assert int(gan.optimizers["critic"].iterations) == 1 and int(gan.optimizers["generator"].iterations) == 1


def test_critic_steps_per_generator_step():
    gan = build_matgan(GanConfig(batch_size=4, critic_steps=3))
    gan.train_step(tf.zeros((4, 85, 8, 1)))
    assert int(gan.optimizers["critic"].iterations) == 3 and int(gan.optimizers["generator"].iterations) == 1


def test_config_round_trip():
    gan = build_matgan(GanConfig(critic_steps=2, gp_weight=5.0, seed=3))
    clone = type(gan).from_config(gan.get_config())
    assert (clone.critic_steps, clone.gp_weight, clone.seed, clone.loss_name) == (2, 5.0, 3, "wasserstein")
    assert [s for _, s in layer_shapes(clone.generator)] == [s for _, s in layer_shapes(gan.generator)]
    assert clone.generator.input_shape == (None, 128)  # the latent size lives in the generator only
    cfg = GanConfig(dataset="Bandgap", architecture="signal", epochs=7)
    assert GanConfig.from_dict(cfg.to_dict()) == cfg


def test_a_run_recorded_before_the_added_settings_resumes_at_their_defaults(tmp_path):
    """A run directory whose identity predates critic_presence and decoded_critic binds a default config
    (they made what the defaults make) but refuses one that turns either on, naming it."""
    import json

    from tfmat.errors import UsageError
    from tfmat.io import claim_run

    cfg = GanConfig()
    old = {k: v for k, v in cfg.to_dict().items() if k not in (*GanConfig.RERUN_FREE, *GanConfig.ADDED)}
    (tmp_path / "identity.json").write_text(json.dumps(old))
    claim_run(tmp_path, cfg.identity())
    with pytest.raises(UsageError, match="decoded_critic"):
        claim_run(tmp_path, GanConfig(decoded_critic=True).identity())
    assert "critic_presence" in GanConfig(critic_presence=True).identity()


def test_gradient_penalty_of_a_nested_sample_shares_one_weight_per_sample():
    # D(x, y) = (‖x‖² + ‖y‖²)/2 has gradient (x̂, ŷ); with real = 0, fake = 1 both are ε·1, one ε per sample
    seen = []

    def critic(pair, training=True):
        seen.append(pair)
        return 0.5 * sum(tf.reduce_sum(t * t, axis=[1, 2]) for t in pair)

    real = (tf.zeros((3000, 5, 3)), tf.zeros((3000, 5, 3)))
    gp = gradient_penalty(critic, real, (tf.ones((3000, 5, 3)), tf.ones((3000, 5, 3))), seed=tf.constant([5, 6]))
    x, y = (t.numpy().reshape(3000, -1) for t in seen[0])
    assert np.allclose(x, x[:, :1]) and np.allclose(x, y)  # one ε per sample, shared by both tensors
    e = x[:, 0]
    assert abs(e.mean() - 0.5) < 0.02 and abs(e.var() - 1 / 12) < 0.005
    # ‖∇‖ = ε·√30 over both tensors together
    np.testing.assert_allclose(gp.numpy(), np.mean((e * np.sqrt(30) - 1) ** 2), rtol=1e-4)
